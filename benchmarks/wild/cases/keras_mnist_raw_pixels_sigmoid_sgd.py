"""The Keras MNIST MLP of Data Science Stack Exchange 18667 as posted (sigmoid hidden layer):
784 raw pixels (0..255, never divided by 255) -> Dense(100) -> sigmoid -> Dense(10) -> softmax,
plain SGD (lr 0.01), categorical cross-entropy, batch 100.

The poster: "This gives about 95% accuracy [with sigmoid], but if I change the sigmoid with the
ReLU, I get less than 50% accuracy. Why is that?" The answers: the inputs are not scaled, so the
ReLU pre-activations are in the thousands and SGD's first updates are huge.
"""
import keras
import numpy as np
from keras.layers import Activation, Dense
from keras.models import Sequential
from _wild_data import mnist_like

LABEL = {
    "framework": "keras",
    "source": "https://datascience.stackexchange.com/questions/18667/relu-vs-sigmoid-in-mnist-example",
    "question": "The sigmoid half of the question: the same MLP as posted, which the poster "
                "says reaches 95%.",
    "changes": ["MNIST replaced by scikit-learn's digits blown up to 28x28 and scaled to 0..255 "
                "like mnist.load_data() (the poster never divides by 255), 1,797 images",
                "np_utils.to_categorical -> keras.utils.to_categorical, input_dim -> keras.Input; "
                "keras.utils.set_random_seed(0)"],
    "pair": "keras_mnist_raw_pixels_relu_sgd",
    "category": 'positive',
    "architecture": "MLP",
    "fast": False,
    "expected": [{"kind": "saturated_activation", "where": ["sequential/dense/kernel"], "step_max": 0}],
    "allowed": [],
    "root_cause": 'saturated_activation',
    "why": 'raw 0..255 pixels: 97.5% of the hidden sigmoid outputs are within 0.01 of 0 or 1 at step 0, 98% median and 98.6% at the end, so the hidden layer acts as a binary threshold layer; it still learns (loss 1.95 -> 0.564, 0.245x the class-prior entropy) because the raw inputs are large enough to offset the small sigmoid derivative (first-layer |g|/|w| median 0.46, larger than the output layer 0.16)',
    "measured": {"loss_start": 1.95, "loss_end": 0.564, "best_constant_loss": 2.3, "loss_end_over_best_constant": 0.245, "saturated_init": 0.975, "saturated_med": 0.981, "saturated_end": 0.986, "dense_kernel_grad_over_weight_median": 0.457}
}

keras.utils.set_random_seed(0)
classes = 10

images, labels = mnist_like()
X_train = (images * 255.0).astype("float32")
Y_train = labels
X_train = X_train.reshape(X_train.shape[0], 784)
Y_train = keras.utils.to_categorical(Y_train, classes)
batch_size = 100
epochs = 15

model = Sequential()
model.add(keras.Input(shape=(784,)))
model.add(Dense(100))
model.add(Activation('sigmoid'))
model.add(Dense(10))
model.add(Activation('softmax'))
model.compile(loss='categorical_crossentropy', metrics=['accuracy'], optimizer='sgd')
history = model.fit(X_train, Y_train, batch_size=batch_size, epochs=epochs, verbose=0)
print("loss", [round(v, 4) for v in history.history["loss"]],
      "acc", [round(v, 3) for v in history.history["accuracy"]])
