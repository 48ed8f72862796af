"""The loss against its reference (the best constant prediction's loss) in real Keras runs.

Oracle: the script records the targets each training step used and the loss it reported; the
reference is recomputed from them in numpy (entropy of the class counts, variance of the
targets), the window means from the losses. A validation pass (no gradient tape) never counts.
Digits with shuffled labels never gets below the class prior: ``loss_not_decreasing`` says so;
the same script on the true labels learns in as few steps, and is no finding.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pytest

from gradsight.core import metrics as m
from gradsight.core.run_view import RunView
from tests.tf.conftest import gradsight_run, problems

SCRIPT = """
import json, sys
import keras, numpy as np, tensorflow as tf
from sklearn.datasets import load_digits

keras.utils.set_random_seed(0)
case, out = sys.argv[1], sys.argv[2]
x, y = load_digits(return_X_y=True)
x = (x / 16).astype("float32")
if case == "shuffled":
    y = np.random.default_rng(0).permutation(y)
seen, losses = [], []
if case in ("fit", "shuffled", "labels"):  # the compiled loss of fit, with a validation pass
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(64, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")

    class Log(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            losses.append(float(logs["loss"]))

    model.fit(x[:960], y[:960], epochs=4, batch_size=32, shuffle=False, verbose=0,
              validation_data=(x[960:], y[960:]), callbacks=[Log()])
    seen = np.tile(y[:960], 4).tolist()
    # fit's logged loss is the running mean over the epoch: back to per-step values
    per_epoch = np.array(losses).reshape(4, 30) * np.arange(1, 31)
    losses = np.diff(np.c_[np.zeros(4), per_epoch], axis=1).reshape(-1).tolist()
else:  # a custom tf.function loop calling the keras.losses function
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(2)])
    opt = keras.optimizers.SGD(0.01)
    targets = np.c_[x[:, 10:20].sum(1), x[:, 30:33].sum(1) * 3].astype("float32")

    @tf.function
    def step(xb, yb):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(keras.losses.mean_squared_error(yb, model(xb, training=True)))
        grads = tape.gradient(loss, model.trainable_variables)
        opt.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    for i in range(50):
        rows = slice(32 * (i % 30), 32 * (i % 30 + 1))
        losses.append(float(step(x[rows], targets[rows])))
        seen.extend(targets[rows].tolist())
json.dump({"seen": seen, "losses": losses}, open(out, "w"))
"""


def recorded(folder: Path) -> tuple[str, np.ndarray, np.ndarray, np.ndarray]:
    view = RunView.open(folder)
    try:
        (family, loss), = view.metric(m.LOSS_ROLE, m.CRITERION_LOSS).items()
        ref = view.metric(m.LOSS_ROLE, m.REFERENCE_LOSS)[family].values
        covered = view.metric(m.LOSS_ROLE, m.CRITERION_STEPS)[family].values
        return family, loss.values, ref, covered
    finally:
        view.close()


def run(tmp_path: Path, case: str) -> tuple[dict, dict]:
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(SCRIPT))
    doc = gradsight_run(tmp_path, script, case, str(tmp_path / "log.json"))
    return doc, json.loads((tmp_path / "log.json").read_text())


@pytest.mark.parametrize("case", ["fit", "loop"])
def test_reference_and_window_means_match_a_numpy_oracle(tmp_path: Path, case: str) -> None:
    _, log = run(tmp_path, case)
    family, means, refs, covered = recorded(tmp_path / "run")
    seen = np.array(log["seen"], dtype=np.float64)
    if case == "fit":
        assert family == "cross_entropy"
        p = np.bincount(seen.astype(int), minlength=10) / len(seen)
        expected = float(-(p[p > 0] * np.log(p[p > 0])).sum())
    else:
        assert family == "mse"
        expected = float(seen.var(0).mean())
    assert refs[-1] == pytest.approx(expected, rel=1e-6)
    assert covered.sum() == len(log["losses"])  # every training step, no validation step
    bounds = np.cumsum(covered).astype(int)
    losses = np.array(log["losses"])
    assert means == pytest.approx([losses[a:b].mean() for a, b in
                                   zip(np.r_[0, bounds[:-1]], bounds)], rel=1e-4)


def test_shuffled_labels_never_get_below_the_class_prior(tmp_path: Path) -> None:
    doc, log = run(tmp_path, "shuffled")
    prior = np.log(10) * 0.999  # digits' ten classes are balanced to within a few samples
    assert min(np.convolve(log["losses"], np.ones(30) / 30, "valid")) > 0.9 * prior
    (finding,) = [f for f in problems(doc) if f["kind"] == "loss_not_decreasing"]
    assert "class frequencies" in finding["summary"]
    assert finding["evidence"]["reference_loss"] == pytest.approx(np.log(10), rel=0.01)


def test_the_same_run_on_true_labels_learned_and_is_no_finding(tmp_path: Path) -> None:
    doc, log = run(tmp_path, "labels")
    assert np.mean(log["losses"][-30:]) < 0.5 * np.log(10)  # the case: it learned
    assert problems(doc) == [], problems(doc)
