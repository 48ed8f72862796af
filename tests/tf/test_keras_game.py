"""Keras two-player training: a GAN's discriminator and generator each apply the gradients of a
loss of their own, and the generator's tape runs the discriminator. Its losses are not meant to
fall, so the loss rules leave it alone, and the run's loss is the first optimizer's own (the
store held both players' losses at the same step numbers). One objective applied by two
optimizers, and two models trained side by side, are no game and keep every loss rule.
Real training under ``gradsight run``; the scripts log their own losses."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gradsight.core.run_view import RunView
from tests.tf.conftest import logged_run

LOSS_KINDS = {"loss_not_decreasing", "loss_diverging", "loss_spike"}

PLAYERS = """
import json, sys
import keras, numpy as np, tensorflow as tf
from sklearn.datasets import load_digits

keras.utils.set_random_seed(0)
x = (load_digits().images.reshape(-1, 64) / 8.0 - 1.0).astype("float32")
disc = keras.Sequential([keras.Input((64,)), keras.layers.Dense(64),
                         keras.layers.LeakyReLU(0.2), keras.layers.Dense(1)])
gen = keras.Sequential([keras.Input((16,)), keras.layers.Dense(64, activation="relu"),
                        keras.layers.Dense(64, activation="tanh")])
bce = keras.losses.BinaryCrossentropy(from_logits=True)
"""

# The TensorFlow DCGAN tutorial's step: both tapes open around both players, both gradients
# taken, then the generator's update applied first (so it is the clock).
TUTORIAL = PLAYERS + """
opt_g, opt_d = keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3)

@tf.function
def train_step(images):
    noise = tf.random.normal([64, 16])
    with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
        fake = gen(noise, training=True)
        real_out, fake_out = disc(images, training=True), disc(fake, training=True)
        gen_loss = bce(tf.ones_like(fake_out), fake_out)
        disc_loss = bce(tf.ones_like(real_out), real_out) + bce(tf.zeros_like(fake_out),
                                                                fake_out)
    g_grads = gen_tape.gradient(gen_loss, gen.trainable_variables)
    d_grads = disc_tape.gradient(disc_loss, disc.trainable_variables)
    opt_g.apply_gradients(zip(g_grads, gen.trainable_variables))
    opt_d.apply_gradients(zip(d_grads, disc.trainable_variables))
    return gen_loss

rng = np.random.default_rng(0)
g_losses = [float(train_step(x[rng.integers(0, len(x), 64)])) for _ in range(600)]
json.dump({"losses": g_losses}, open(sys.argv[1], "w"))
"""

# keras.io's DCGAN: a Model subclass whose train_step applies the discriminator's update, then
# the generator's; fit traces it once. The discriminator's loss of each step is logged.
FIT = PLAYERS + """
class GAN(keras.Model):
    def __init__(self):
        super().__init__()
        self.disc, self.gen = disc, gen
        self.d_opt, self.g_opt = keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3)

    def train_step(self, real):
        n = tf.shape(real)[0]
        fake = self.gen(tf.random.normal((n, 16)))
        labels = tf.concat([tf.ones((n, 1)), tf.zeros((n, 1))], axis=0)
        with tf.GradientTape() as tape:
            d_loss = bce(labels, self.disc(tf.concat([fake, real], axis=0)))
        grads = tape.gradient(d_loss, self.disc.trainable_weights)
        self.d_opt.apply_gradients(zip(grads, self.disc.trainable_weights))
        with tf.GradientTape() as tape:
            g_loss = bce(tf.zeros((n, 1)), self.disc(self.gen(tf.random.normal((n, 16)))))
        grads = tape.gradient(g_loss, self.gen.trainable_weights)
        self.g_opt.apply_gradients(zip(grads, self.gen.trainable_weights))
        return {"d_loss": d_loss, "g_loss": g_loss}

class Log(keras.callbacks.Callback):
    losses = []
    def on_train_batch_end(self, batch, logs=None):
        self.losses.append(float(logs["d_loss"]))

gan = GAN()
gan.compile()
gan.fit(x, epochs=8, batch_size=32, verbose=0, shuffle=False, callbacks=[Log()])
json.dump({"losses": Log.losses}, open(sys.argv[1], "w"))
"""

# An encoder and a head with an optimizer each at a rate too small to learn (SGD 1e-7) on
# shuffled labels: one loss differentiated twice on a persistent tape and applied by both
# ("shared"), or two separate models each on its own loss.
TWO_OPTIMIZERS = """
import json, sys
import keras, numpy as np, tensorflow as tf
from sklearn.datasets import load_digits

keras.utils.set_random_seed(0)
shared = sys.argv[1] == "shared"
x = load_digits().data.astype("float32") / 16
y = np.random.default_rng(0).integers(0, 10, len(x))
enc = keras.Sequential([keras.Input((64,)), keras.layers.Dense(32, activation="relu")])
head = keras.Sequential([keras.Input((32,)), keras.layers.Dense(10)])
other = keras.Sequential([keras.Input((64,)), keras.layers.Dense(10)])
opt_a, opt_b = keras.optimizers.SGD(1e-7), keras.optimizers.SGD(1e-7)
ce = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
b_vars = head.trainable_variables if shared else other.trainable_variables

@tf.function
def step(xb, yb):
    with tf.GradientTape(persistent=True) as tape:
        loss = ce(yb, head(enc(xb)))
        loss_b = loss if shared else ce(yb, other(xb))
    grads_a = tape.gradient(loss, enc.trainable_variables)
    grads_b = tape.gradient(loss_b, b_vars)
    opt_a.apply_gradients(zip(grads_a, enc.trainable_variables))
    opt_b.apply_gradients(zip(grads_b, b_vars))
    return loss

rng = np.random.default_rng(1)
losses = []
for _ in range(200):
    rows = rng.integers(0, len(x), 64)
    losses.append(float(step(x[rows], y[rows])))
json.dump({"losses": losses}, open(sys.argv[2], "w"))
"""


def _stored(tmp_path: Path) -> tuple[list, np.ndarray]:
    view = RunView.open(tmp_path / "run")
    try:
        return view.events("adversarial"), np.asarray(view.loss.values, dtype=float)
    finally:
        view.close()


@pytest.mark.parametrize("source", [TUTORIAL, FIT], ids=["tutorial-loop", "fit-train-step"])
def test_a_gan_is_a_game_whose_loss_is_the_first_players_own(tmp_path, source):
    doc, log = logged_run(tmp_path, source)
    events, recorded = _stored(tmp_path)
    assert len(events) == 1
    np.testing.assert_allclose(recorded, log["losses"], rtol=1e-5)
    assert not LOSS_KINDS & {f["kind"] for f in doc["findings"]}


@pytest.mark.parametrize("layout", ["shared", "side-by-side"])
def test_two_optimizers_without_a_game_keep_the_loss_rules(tmp_path, layout):
    doc, log = logged_run(tmp_path, TWO_OPTIMIZERS, layout)
    events, recorded = _stored(tmp_path)
    assert events == []
    np.testing.assert_allclose(recorded, log["losses"], rtol=1e-5)  # the first optimizer's
    assert "loss_not_decreasing" in {f["kind"] for f in doc["findings"]}
