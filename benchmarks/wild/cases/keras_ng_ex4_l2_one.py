"""Andrew Ng's exercise 4 (400-25-10 sigmoid network on 20x20 digits) redone in Keras with
kernel_regularizer=l2(1) on both layers, sigmoid outputs, categorical cross-entropy, plain SGD,
full batch.

Stack Overflow 53654360 ("Exercise 4 by Andrew Ng in Keras"): "when I train the network I get a
10% accuracy on the training dataset". The course's lambda = 1 multiplies sum(w^2) / (2m) with
m = 5000; Keras' l2(1) adds 1 * sum(w^2) to every batch's loss, 10,000x stronger.
"""
import keras
import numpy as np
from keras import regularizers
from keras.layers import Dense
from keras.models import Sequential
from sklearn.datasets import load_digits
from scipy.ndimage import zoom

LABEL = {
    "framework": "keras",
    "source": "https://stackoverflow.com/questions/53654360/exercise-4-by-andrew-ng-in-keras",
    "question": "Why does my Keras version of Andrew Ng's exercise 4 network stay at 10% training "
                "accuracy?",
    "changes": ["ex4data1.mat (5,000 20x20 digit images, one-hot labels) replaced by "
                "scikit-learn's 1,797 8x8 digits resized to 20x20 (values 0..1)",
                "input_shape -> keras.Input; keras.utils.set_random_seed(0); verbose=0 and a print"],
    "pair": None,
    "category": "positive",
    "architecture": "MLP",
    "fast": False,
    "expected": [{"kind": "loss_not_decreasing", "where": []}],
    "allowed": [],
    "root_cause": 'loss_not_decreasing',
    "why": 'l2(1) adds 1 x sum(w^2) to the loss: the printed loss falls 64.6 -> 3.9 only because the weights shrink; every kernel gradient is the regularizer (|g|/|w| = 2.04 = 2 x lambda at every step), the data cross-entropy stays at 2.30 = the class-prior entropy (2.30) and accuracy at 14-18%',
    "measured": {"total_loss_start": 55.3, "total_loss_end": 3.7, "data_loss_end": 2.3, "best_constant_loss": 2.3, "kernel_grad_over_weight_median": 2.04}
}

keras.utils.set_random_seed(0)

d = load_digits()
X = np.stack([zoom(im / 16.0, 2.5, order=1) for im in d.images]).reshape(len(d.images), 400)
X = X.astype("float32")
y = keras.utils.to_categorical(d.target, 10)

model = Sequential()
model.add(keras.Input(shape=(400,)))
model.add(Dense(25, use_bias=True, kernel_regularizer=regularizers.l2(1), activation='sigmoid',
                kernel_initializer='glorot_uniform'))
model.add(Dense(10, use_bias=True, kernel_regularizer=regularizers.l2(1), activation='sigmoid',
                kernel_initializer='glorot_uniform'))
model.compile(loss='categorical_crossentropy', optimizer='sgd', metrics=['accuracy'])
h = model.fit(X, y, batch_size=5000, epochs=100, verbose=0)
print("loss", [round(v, 4) for v in h.history["loss"][::10]],
      "acc", [round(v, 3) for v in h.history["accuracy"][::10]])
