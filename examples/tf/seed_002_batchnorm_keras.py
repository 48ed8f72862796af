"""Seed 002 in Keras 3: "batch norm blocks backprop" -- it doesn't.

The posted actor normalizes its input with a BatchNormalization whose output is never used, so
that layer's gamma/beta get ``None`` gradients (Keras drops them with only a warning). The batch
norm after ``layer_1`` passes gradients fine; ``layer_1``'s bias, right before it, gets a zero
gradient by construction (the norm subtracts the batch mean), which is redundant, not vanishing.

    gradsight run examples/tf/seed_002_batchnorm_keras.py
"""

import argparse

import keras
import numpy as np

parser = argparse.ArgumentParser()
parser.add_argument("--steps", type=int, default=300)
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--dropout", type=float, default=0.1)
args = parser.parse_args()

keras.utils.set_random_seed(args.seed)


class Actor(keras.Model):
    def __init__(self, hidden=185, action_dim=2, dropout_rate=0.1):
        super().__init__(name="actor")
        self.input_norm = keras.layers.BatchNormalization(name="input_norm")
        self.layer_1 = keras.layers.Dense(hidden, name="layer_1")
        self.normalizer = keras.layers.BatchNormalization(name="normalizer_actor_layer1")
        self.act = keras.layers.LeakyReLU()
        self.dropout = keras.layers.Dropout(dropout_rate)
        self.action = keras.layers.Dense(action_dim, use_bias=False, name="action")

    def call(self, s, training=False):
        self.input_norm(s, training=training)  # output never used: never reaches the loss
        h = self.normalizer(self.layer_1(s), training=training)
        return self.action(self.dropout(self.act(h), training=training))


rng = np.random.default_rng(args.seed)
expert = rng.standard_normal((4, 2)).astype("float32")
states = rng.standard_normal((64 * args.steps, 4)).astype("float32")
actions = np.tanh(states @ expert)

actor = Actor(dropout_rate=args.dropout)
actor.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01, momentum=0.9), loss="mse")
history = actor.fit(states, actions, batch_size=64, epochs=1, shuffle=False, verbose=0)
print("final imitation loss", float(history.history["loss"][-1]))
