"""The Keras MNIST MLP of Data Science Stack Exchange 18667 with ReLU instead of sigmoid:
784 raw pixels (0..255, never divided by 255) -> Dense(100) -> relu -> Dense(10) -> softmax,
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
    "question": "Why does my MNIST MLP reach 95% with sigmoid but under 50% when I switch the "
                "hidden activation to ReLU?",
    "changes": ["MNIST replaced by scikit-learn's digits blown up to 28x28 and scaled to 0..255 "
                "like mnist.load_data() (the poster never divides by 255), 1,797 images",
                "np_utils.to_categorical -> keras.utils.to_categorical, input_dim -> keras.Input; "
                "keras.utils.set_random_seed(0)"],
    "pair": "keras_mnist_raw_pixels_sigmoid_sgd",
    "category": "positive",
    "architecture": "MLP",
    "fast": False,
    "expected": [{"kind": "dead_units", "where": ["sequential/dense/kernel"], "step_max": 10}, {"kind": "loss_not_decreasing", "where": []}],
    "allowed": ["exploding_gradient", "loss_spike", "stalled_weights", "vanishing_gradient"],
    "root_cause": 'dead_units',
    "why": 'raw 0..255 pixels: the hidden pre-activations have rms 86 at step 0 and the first SGD(0.01) updates are |g|/|w| = 77..100; 8% of the 100 ReLUs are dead at step 0, 99% for every input over the last 20 steps; from then on every hidden-layer gradient is exactly 0 (median |g|/|w| = 0) and only the output bias moves: the loss sits at 2.302 = the class-prior entropy (2.30, 1.00x) from the second epoch on',
    "measured": {"loss_first": 208.1, "loss_start": 2.3, "loss_end": 2.3, "best_constant_loss": 2.3, "loss_end_over_best_constant": 1.0, "dead_step0": 0.08, "dead_end": 0.99}
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
model.add(Activation('relu'))
model.add(Dense(10))
model.add(Activation('softmax'))
model.compile(loss='categorical_crossentropy', metrics=['accuracy'], optimizer='sgd')
history = model.fit(X_train, Y_train, batch_size=batch_size, epochs=epochs, verbose=0)
print("loss", [round(v, 4) for v in history.history["loss"]],
      "acc", [round(v, 3) for v in history.history["accuracy"]])
