"""Real Keras training: activations applied as functions inside a model's ``call``
(``tf.nn.relu(self.fc1(x))``, ``tf.math.tanh``) get dead-unit and saturation statistics,
measured in the graph at the layer that consumes them and credited to the layer they were
applied to (``fc1``), through ``Flatten``/pooling layers that only move values.

Oracle: a custom ``tf.function`` loop returns the activation it fed to the next layer; its dead
and saturated fractions at step 0, recomputed in numpy, are what the store holds. Cases: a
learning rate of 3 kills the ReLUs (measured by the script on the whole data set after
training); a 3-std init saturates the tanh units; the same model at lr 0.1 is healthy.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pytest

from gradsight.core.run_view import RunView
from tests.conftest import read_json, run_gradsight
from tests.tf.conftest import TF_ENV, problems

SCRIPT = """
import json, sys
import keras, numpy as np, tensorflow as tf
from keras import layers
from sklearn.datasets import load_digits

keras.utils.set_random_seed(0)
act, lr, epochs, std, out = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
f = {"relu": tf.nn.relu, "tanh": tf.math.tanh}[act]
init = "glorot_uniform" if std == "default" else keras.initializers.RandomNormal(stddev=float(std))


class Net(keras.Model):
    def __init__(self):
        super().__init__()
        self.conv = layers.Conv2D(8, 3, padding="same", kernel_initializer=init)
        self.pool, self.flat = layers.MaxPooling2D(2), layers.Flatten()
        self.fc1 = layers.Dense(64, kernel_initializer=init)
        self.fc2 = layers.Dense(10)

    def hidden(self, x):
        return f(self.fc1(self.flat(self.pool(f(self.conv(x))))))

    def call(self, x):
        return self.fc2(self.hidden(x))


x, y = load_digits(return_X_y=True)
x = (x / 16).astype("float32").reshape(-1, 8, 8, 1)
model = Net()
loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
if epochs:  # fit
    model.compile(optimizer=keras.optimizers.SGD(lr), loss=loss_fn)
    model.fit(x, y, epochs=epochs, batch_size=64, verbose=0)
    h = model.hidden(x).numpy()
    json.dump({"dead": float(1 - (h > 0).any(0).mean()),
               "saturated": float((np.abs(h) > 0.99).mean())}, open(out, "w"))
else:  # a custom loop whose first step hands back what fc2 took as input
    opt = keras.optimizers.SGD(lr)

    @tf.function
    def step(xb, yb):
        with tf.GradientTape() as tape:
            h = model.hidden(xb)
            loss = loss_fn(yb, model.fc2(h))
        grads = tape.gradient(loss, model.trainable_variables)
        opt.apply_gradients(zip(grads, model.trainable_variables))
        return h

    first = step(x[:64], y[:64]).numpy()
    for i in range(1, 3):
        step(x[64 * i:64 * (i + 1)], y[64 * i:64 * (i + 1)])
    json.dump({"dead": float(1 - (first > 0).any(0).mean()),
               "saturated": float((np.abs(first) > 0.99).mean())}, open(out, "w"))
"""


def run(tmp_path: Path, *args: str) -> tuple[dict, dict]:
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(SCRIPT))
    out = tmp_path / "run"
    proc = run_gradsight("run", "--out", str(out), "--json", str(tmp_path / "f.json"),
                         "--every", "20", str(script), *args, str(tmp_path / "m.json"),
                         env=TF_ENV)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return read_json(tmp_path / "f.json"), json.loads((tmp_path / "m.json").read_text())


@pytest.mark.parametrize("act", ["relu", "tanh"])
def test_statistics_at_step_0_match_numpy(tmp_path: Path, act: str) -> None:
    _, measured = run(tmp_path, act, "0.1", "0", "0.5")
    view = RunView.open(tmp_path / "run")
    try:
        # (layers called one by one, outside the model's own call, are named without it)
        modules = {e.name: e.get("activation") for e in view.entities("module")}
        assert modules["dense"] == modules["conv2d"] == act  # applied as a function
        follows = {e.name: e.get("followed_by") for e in view.entities("param")}
        assert follows["dense/kernel"] == act
        metric = "dead_frac" if act == "relu" else "act_saturated_frac"
        series = view.metric("module", metric)["dense"]
        assert series.steps[0] == 0
        expected = measured["dead" if act == "relu" else "saturated"]
        assert series.values[0] == pytest.approx(expected, abs=1e-7)  # float32 in the store
    finally:
        view.close()


def test_relus_killed_by_a_too_high_learning_rate_are_dead_units(tmp_path: Path) -> None:
    doc, measured = run(tmp_path, "relu", "3", "8", "default")
    assert measured["dead"] >= 0.95  # the case: fc1's units fire for no digit at the end
    (found,) = [f for f in problems(doc) if f["kind"] == "dead_units"]
    assert {"net/dense/kernel", "net/dense"} <= set(found["where"])


def test_tanh_driven_into_saturation_is_saturated_activation(tmp_path: Path) -> None:
    doc, measured = run(tmp_path, "tanh", "0.05", "3", "3")
    assert measured["saturated"] > 0.5  # the case
    (found,) = [f for f in problems(doc) if f["kind"] == "saturated_activation"]
    assert "net/dense" in found["where"]


def test_the_same_model_trained_sanely_is_healthy(tmp_path: Path) -> None:
    doc, measured = run(tmp_path, "relu", "0.1", "8", "default")
    assert measured["dead"] < 0.5
    kinds = {f["kind"] for f in problems(doc)}
    assert not kinds & {"dead_units", "saturated_activation"}, kinds
