"""Seed 004 in TensorFlow 2 / Keras 3: "why doesn't my first conv layer change?"

The posted MNIST CNN draws every weight and bias from N(0, 1) (``tf.random_normal``) and trains
with Adam at 1e-3. MNIST cannot be downloaded here, so this uses scikit-learn's bundled 8x8
digits with the same architecture shape: conv 5x5 (32) -> pool -> conv 5x5 (64) -> pool ->
fc 1024 -> dropout -> 10, in a custom ``tf.GradientTape`` loop as the original's ``sess.run``.

The honest diagnosis is not vanishing gradients (the first layer's are ~1e4): N(0, 1) makes the
logits ~1e5, so the softmax saturates (exactly zero gradients on many batches), while Adam
moves each weight by about the learning rate, ~1e-3 of its N(0, 1) scale per step.
"""

import argparse

import keras
import numpy as np
import tensorflow as tf
from sklearn.datasets import load_digits

parser = argparse.ArgumentParser()
parser.add_argument("--steps", type=int, default=1500)
parser.add_argument("--batch-size", type=int, default=128)
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--glorot", action="store_true", help="Glorot weights, zero biases")
args = parser.parse_args()

keras.utils.set_random_seed(args.seed)
digits = load_digits()
x_all = (digits.images / 16.0).astype("float32")[..., None]
y_all = digits.target.astype("int64")

init = "glorot_uniform" if args.glorot else keras.initializers.RandomNormal(0.0, 1.0)
bias = "zeros" if args.glorot else keras.initializers.RandomNormal(0.0, 1.0)
L = keras.layers
model = keras.Sequential([
    keras.Input((8, 8, 1)),
    L.Conv2D(32, 5, padding="same", activation="relu", kernel_initializer=init,
             bias_initializer=bias, name="wc1"),
    L.MaxPooling2D(2),
    L.Conv2D(64, 5, padding="same", activation="relu", kernel_initializer=init,
             bias_initializer=bias, name="wc2"),
    L.MaxPooling2D(2),
    L.Flatten(),
    L.Dense(1024, activation="relu", kernel_initializer=init, bias_initializer=bias, name="wd1"),
    L.Dropout(0.25),
    L.Dense(10, kernel_initializer=init, bias_initializer=bias, name="out"),
], name="conv_net")

first = model.get_layer("wc1").kernel.numpy().copy()
optimizer = keras.optimizers.Adam(learning_rate=0.001)
loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
rng = np.random.default_rng(args.seed)


@tf.function
def train_step(x, y):
    with tf.GradientTape() as tape:
        logits = model(x, training=True)
        cost = loss_fn(y, logits)
    grads = tape.gradient(cost, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
    return cost, logits


for step in range(args.steps):
    idx = rng.integers(0, len(x_all), args.batch_size)
    cost, logits = train_step(x_all[idx], y_all[idx])
    if step % 100 == 0:
        acc = float(np.mean(np.argmax(logits.numpy(), 1) == y_all[idx]))
        print(f"step {step} loss {float(cost):.4g} accuracy {acc:.3f}")

after = model.get_layer("wc1").kernel.numpy()
change = np.linalg.norm(after - first) / np.linalg.norm(first)
print(f"first conv layer changed by {100 * change:.1f}% of its norm")
