"""MNIST with one sigmoid output unit and binary cross-entropy, fed the digit labels 0..9 and
raw 0..255 pixels: the loss goes negative and freezes.

Data Science Stack Exchange 38604 ("Too low accuracy on MNIST dataset using a neural network"):
784 -> Dense(64, relu) -> Dense(1, sigmoid), Adam, binary_crossentropy, labels 0..9 straight
from mnist.load_data(), pixels not scaled; the poster's loss sits at -55.03 from epoch 2 on.
"""
import keras
import numpy as np
from keras.layers import Dense
from keras.models import Sequential
from _wild_data import mnist_like

LABEL = {
    "framework": "keras",
    "source": "https://datascience.stackexchange.com/questions/38604/too-low-accuracy-on-mnist-dataset-using-a-neural-network",
    "question": "Why does the loss of my one-hidden-layer MNIST network not change at all after any "
                "epoch?",
    "changes": ["MNIST replaced by scikit-learn's digits blown up to 28x28 and scaled to 0..255 "
                "(the poster never divides by 255), labels 0..9 as given",
                "keras.utils.set_random_seed(0); verbose=0 and a print"],
    "pair": None,
    "category": "positive",
    "architecture": "MLP",
    "fast": False,
    "expected": [{"kind": "saturated_activation", "where": ["sequential/dense_1/kernel"], "step_max": 0}, {"kind": "dead_units", "where": ["sequential/dense/kernel"]}],
    "allowed": ["exploding_gradient", "loss_diverging", "loss_not_decreasing"],
    "root_cause": 'saturated_activation',
    "why": 'binary cross-entropy on targets 0..9 has no minimum: Keras 3 computes it from the sigmoid logits, so -y*log(p) with y > 1 falls without bound as the logit grows; the loss goes 901 (step 0) -> -1.2e6, the output sigmoid is at an asymptote for 100% of rows from step 0 to the end (raw 0..255 pixels: hidden rms 104 at step 0, 1.3e4 at the end), the output kernel gradient grows 163x, and 62.5% of the 64 hidden ReLUs are dead for every input over the last 20 steps (7.8% at step 0)',
    "measured": {"loss_first": 901.1, "loss_end": -1200000.0, "output_saturated_init": 1.0, "output_saturated_end": 1.0, "dead_step0": 0.0781, "dead_end": 0.625, "output_kernel_grad_growth": 163}
}

keras.utils.set_random_seed(0)

input_nodes = 784
hl1_nodes = 64
output_nodes = 1

images, y_train = mnist_like()
X_train = (images * 255.0).astype("float32")
X_train_reshaped = X_train.reshape(X_train.shape[0], 784)

model = Sequential()
model.add(keras.Input(shape=(input_nodes,)))
model.add(Dense(hl1_nodes, activation='relu'))
model.add(Dense(output_nodes, activation='sigmoid'))

model.compile(optimizer='adam', loss='binary_crossentropy', metrics=['accuracy'])

history = model.fit(x=X_train_reshaped, y=y_train, validation_split=0.33, verbose=0, epochs=10)
print("loss per epoch", [round(v, 4) for v in history.history["loss"]])
