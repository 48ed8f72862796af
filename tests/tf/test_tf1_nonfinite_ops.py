"""TF1: a NaN born in an op that is no layer (a log of a negative linear output, the square root
of a negative hidden value) is named by that op, the first in forward order, not by "the loss"
or by the layer after it; a log that stays finite is watched and never flagged."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow")

SCRIPT = """
import json, sys
import numpy as np
import tensorflow.compat.v1 as tf
tf.disable_v2_behavior()
mode, out = sys.argv[1], sys.argv[2]
tf.set_random_seed(0)
rng = np.random.default_rng(0)
data = rng.normal(size=(256, 8)).astype(np.float32)
labels = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 256)]
x = tf.placeholder(tf.float32, [None, 8])
y = tf.placeholder(tf.float32, [None, 3])
W1 = tf.Variable(tf.random_normal([8, 16], stddev=0.5))
pre = tf.matmul(x, W1)
if mode == "sqrt_hidden":
    hidden = tf.sqrt(pre)  # half the pre-activations are negative
else:
    hidden = tf.nn.relu(pre)
W2 = tf.Variable(tf.random_normal([16, 3], stddev=0.5))
out_layer = tf.matmul(hidden, W2)
if mode == "log_linear":
    loss = tf.reduce_mean(-tf.reduce_sum(y * tf.log(out_layer), 1))
else:
    loss = tf.reduce_mean(-tf.reduce_sum(y * tf.log(tf.nn.softmax(out_layer) + 1e-10), 1))
train = tf.train.GradientDescentOptimizer(0.05).minimize(loss)
losses = []
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for i in range(40):
        rows = slice(32 * (i % 8), 32 * (i % 8 + 1))
        _, value = sess.run([train, loss], {x: data[rows], y: labels[rows]})
        losses.append(float(value))
json.dump({"losses": losses}, open(out, "w"))
"""


def _run(tmp_path: Path, mode: str) -> tuple[dict, dict]:
    from tests.tf.conftest import logged_run

    return logged_run(tmp_path, SCRIPT, mode)


def _nonfinite(doc: dict) -> list[dict]:
    return [f for f in doc["findings"] if f["kind"] == "nonfinite"]


def test_a_log_of_a_negative_linear_output_is_named_by_its_op(tmp_path: Path) -> None:
    doc, log = _run(tmp_path, "log_linear")
    assert not np.isfinite(log["losses"][0])  # the case: NaN from the first step
    (finding,) = _nonfinite(doc)
    assert finding["severity"] == "error" and finding["step"] == 0
    assert finding["where"][0] == "Log", finding["where"]


def test_a_root_of_a_negative_hidden_value_is_named_before_the_layer_after_it(
        tmp_path: Path) -> None:
    doc, log = _run(tmp_path, "sqrt_hidden")
    assert not np.isfinite(log["losses"][0])
    (finding,) = _nonfinite(doc)
    assert finding["step"] == 0
    assert finding["where"][0] == "Sqrt", finding["where"]
    # the output layer (named by its activation op, as TF1 layers are) propagates the NaN
    assert finding["where"].index("Sqrt") < finding["where"].index("Softmax")


def test_a_log_that_stays_finite_is_watched_and_not_flagged(tmp_path: Path) -> None:
    from gradsight.core import records
    from gradsight.core.run_view import RunView

    doc, log = _run(tmp_path, "softmax_log")
    assert all(np.isfinite(log["losses"]))
    assert _nonfinite(doc) == []
    view = RunView.open(tmp_path / "run")
    try:
        ops = [e.name for e in view.entities("module") if e.get("kind") == records.OP]
        flags = view.metric("module", "act_nonfinite")
    finally:
        view.close()
    assert "Log" in ops and float(np.nanmax(flags["Log"].values)) == 0.0
