"""Keras subclassed model whose call() feeds every layer the input and returns the last one.

tensorflow/tensorflow issue 36880 ("No gradients for bias and kernels in Dense layer"): a
``keras.Model`` subclass with four Dense layers; ``call`` computes ``output = layerN(x)`` for each
of them from the same input ``x`` and returns the fourth, so layers 1-3 never reach the loss.
Keras warns "Gradients do not exist for variables [layer1/kernel, ...]" at every step and only
layer4 trains. The answer: chain them (``output = layer2(output)`` ...).
"""
import keras
import numpy as np
import tensorflow as tf

LABEL = {
    "framework": "keras",
    "source": "https://github.com/tensorflow/tensorflow/issues/36880",
    "question": "Why do the Dense layers of my subclassed Keras model get no gradients?",
    "changes": ["the poster's flight-delay CSV (from a private S3 bucket) replaced by seeded "
                "synthetic regression data: 12 standardized features, a nonlinear target",
                "layer widths 64/32/16/1 (not in the post), Adam, mean squared error, 5 epochs of "
                "batch 64; float64 as posted (keras.backend.set_floatx)",
                "keras.utils.set_random_seed(0)"],
    "pair": "keras_subclass_chained_layers",
    "category": "positive",
    "architecture": "MLP",
    "fast": True,
    "expected": [{"kind": "no_gradient",
                  "where": ["flight/layer1/kernel",
 "flight/layer1/bias",
 "flight/layer2/kernel",
 "flight/layer2/bias",
 "flight/layer3/kernel",
 "flight/layer3/bias"]}],
    "allowed": ["loss_not_decreasing"],
    "root_cause": "no_gradient",
    "why": "layers 1-3 are computed from the input but their outputs are overwritten, never used: "
           "no path to the loss, None gradients at every step",
    "measured": {"loss_first": 2.55, "loss_start": 3.3, "loss_end": 1.76,
                 "best_constant_loss": 0.915, "loss_end_over_best_constant": 1.92},
}

keras.utils.set_random_seed(0)
keras.backend.set_floatx('float64')


class Flight(tf.keras.Model):
    def __init__(self):
        super(Flight, self).__init__(name="flight")
        self.layer1 = tf.keras.layers.Dense(64, activation='relu', name="layer1")
        self.layer2 = tf.keras.layers.Dense(32, activation='relu', name="layer2")
        self.layer3 = tf.keras.layers.Dense(16, activation='relu', name="layer3")
        self.layer4 = tf.keras.layers.Dense(1, name="layer4")

    def call(self, x):
        output = self.layer1(x)
        output = self.layer2(x)
        output = self.layer3(x)
        output = self.layer4(x)
        return output


rng = np.random.default_rng(0)
features = rng.standard_normal((4000, 12))
delay = (np.tanh(features[:, 0] * features[:, 1]) + 0.5 * features[:, 2] ** 2
         + 0.3 * features[:, 3] + 0.1 * rng.standard_normal(4000))[:, None]

model = Flight()
model.compile(optimizer=tf.keras.optimizers.Adam(), loss='mse')
history = model.fit(features, delay, batch_size=64, epochs=5, verbose=0)
print("loss per epoch", [round(v, 4) for v in history.history["loss"]])
