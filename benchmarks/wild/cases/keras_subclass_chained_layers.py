"""The fix of tensorflow/tensorflow issue 36880: the subclassed model's layers chained.

``output = self.layer2(output)`` and so on, as the answer wrote: every layer reaches the loss
and the four-layer MLP fits the synthetic delays.
"""
import keras
import numpy as np
import tensorflow as tf

LABEL = {
    "framework": "keras",
    "source": "https://github.com/tensorflow/tensorflow/issues/36880",
    "question": "Why do the Dense layers of my subclassed Keras model get no gradients? (the "
                "answer's fix)",
    "changes": ["the poster's flight-delay CSV (from a private S3 bucket) replaced by seeded "
                "synthetic regression data: 12 standardized features, a nonlinear target",
                "layer widths 64/32/16/1 (not in the post), Adam, mean squared error, 5 epochs of "
                "batch 64; float64 as posted (keras.backend.set_floatx)",
                "keras.utils.set_random_seed(0)"],
    "pair": "keras_subclass_unused_layers",
    "category": "healthy",
    "architecture": "MLP",
    "fast": False,
    "expected": [],
    "allowed": [],
    "root_cause": None,
    "why": "all four layers reach the loss and learn; the loss ends at 9% of what predicting the "
           "mean gives",
    "measured": {"loss_first": 0.639, "loss_start": 0.745, "loss_end": 0.0827,
                 "best_constant_loss": 0.915, "loss_end_over_best_constant": 0.0904},
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
        output = self.layer2(output)
        output = self.layer3(output)
        output = self.layer4(output)
        return output


rng = np.random.default_rng(0)
features = rng.standard_normal((4000, 12))
delay = (np.tanh(features[:, 0] * features[:, 1]) + 0.5 * features[:, 2] ** 2
         + 0.3 * features[:, 3] + 0.1 * rng.standard_normal(4000))[:, None]

model = Flight()
model.compile(optimizer=tf.keras.optimizers.Adam(), loss='mse')
history = model.fit(features, delay, batch_size=64, epochs=5, verbose=0)
print("loss per epoch", [round(v, 4) for v in history.history["loss"]])
