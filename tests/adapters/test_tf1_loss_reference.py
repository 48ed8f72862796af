"""The TF1 loss against its reference (the best constant prediction's loss).

Graph-level: real TF1 graphs (``tf.Graph`` + ``Session``), each loss form the adapter reads,
fed a few batches; the reference it fetches is checked against a numpy oracle computed from the
fed targets (entropy of the class counts, per-output binary entropy, the targets' variance),
at the loss's own scale (a ``reduce_sum`` over the batch is the batch's element count times the
per-element reference). Forms it does not know give no reference at all.

Run-level: a TF1 MLP on digits with shuffled labels never gets below the class prior and gets
``loss_not_decreasing`` saying so; the same script on the true labels learns and gets nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from gradsight.adapters.tf1 import criterion as tf1_criterion  # noqa: E402
from gradsight.core import metrics as m  # noqa: E402
from gradsight.core.run_view import RunView  # noqa: E402

v1 = tf.compat.v1
RNG = np.random.default_rng(0)
BATCHES = [32, 32, 17]  # a last partial batch: a sum's scale follows the batch


def entropy(counts: np.ndarray) -> float:
    p = counts / counts.sum()
    return float(-(p[p > 0] * np.log(p[p > 0])).sum())


def binary_entropy(targets: np.ndarray) -> float:
    q = targets.reshape(-1, targets.shape[-1]).mean(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -(np.where(q > 0, q * np.log(q), 0) + np.where(q < 1, (1 - q) * np.log(1 - q), 0))
    return float(h.mean())


def variance(targets: np.ndarray) -> float:
    return float(targets.reshape(len(targets), -1).var(0).mean())


def fetched(make_loss: Callable, target_shape: tuple, target_dtype, draw: Callable
            ) -> tuple[list[float], list[np.ndarray], tf1_criterion.Criterion | None]:
    """Build ``make_loss(prediction, target)`` over a 4-feature linear model, feed BATCHES of
    ``draw(n)`` targets; the reference fetched after each run, and the targets fed."""
    graph = tf.Graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, [None, 4])
        y = v1.placeholder(target_dtype, [None, *target_shape])
        width = 3 if not target_shape else target_shape[-1]
        w = v1.get_variable("w", [4, width])
        loss = make_loss(tf.matmul(x, w), y)
        crit = tf1_criterion.build(loss, [w])
        if crit is None:
            return [], [], None
        with v1.Session() as sess:
            sess.run([v1.global_variables_initializer(), crit.init])
            refs, fed = [], []
            for n in BATCHES:
                targets = draw(n)
                fed.append(targets)
                refs.append(float(sess.run(crit.reference, {x: RNG.standard_normal((n, 4)),
                                                            y: targets})))
    return refs, fed, crit


def onehot(n: int) -> np.ndarray:
    return np.eye(3, dtype=np.float32)[RNG.choice(3, n, p=[0.6, 0.3, 0.1])]


def binary(n: int) -> np.ndarray:
    return (RNG.random((n, 3)) < [0.1, 0.5, 0.8]).astype(np.float32)


def real(n: int) -> np.ndarray:
    return (RNG.standard_normal((n, 3)) * [1.0, 2.0, 0.5] + 3).astype(np.float32)


CASES = {
    # name: (loss, target shape, dtype, draw, family, oracle(all targets) -> per element, scale)
    "mse_mean": (lambda p, y: tf.reduce_mean(tf.square(y - p)), (3,), tf.float32, real,
                 m.FAMILY_SQUARED, variance, lambda n: 1),
    "mse_sum": (lambda p, y: tf.reduce_sum(tf.math.squared_difference(p, y)), (3,),
                tf.float32, real, m.FAMILY_SQUARED, variance, lambda n: 3 * n),
    "half_sse_per_sample": (lambda p, y: 0.5 * tf.reduce_mean(tf.reduce_sum(
        tf.square(p - y), 1)), (3,), tf.float32, real, m.FAMILY_SQUARED, variance,
        lambda n: 1.5),
    "softmax_ce_one_hot": (lambda p, y: tf.reduce_mean(
        tf.nn.softmax_cross_entropy_with_logits(labels=y, logits=p)), (3,), tf.float32,
        onehot, m.FAMILY_CLASSES, lambda t: entropy(t.sum(0)), lambda n: 1),
    "sparse_softmax_ce": (lambda p, y: tf.reduce_mean(
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=p)), (), tf.int64,
        lambda n: RNG.choice(3, n, p=[0.6, 0.3, 0.1]), m.FAMILY_CLASSES,
        lambda t: entropy(np.bincount(t.astype(int), minlength=3)), lambda n: 1),
    "sigmoid_ce": (lambda p, y: tf.reduce_mean(
        tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=p)), (3,), tf.float32, binary,
        m.FAMILY_BINARY, binary_entropy, lambda n: 1),
    "hand_written_log_loss": (lambda p, y: tf.reduce_mean(
        -tf.reduce_sum(y * tf.math.log(tf.nn.softmax(p)), 1)), (3,), tf.float32, onehot,
        m.FAMILY_CLASSES, lambda t: entropy(t.sum(0)), lambda n: 1),
    "hand_written_log_loss_summed": (lambda p, y: -tf.reduce_sum(y * tf.math.log(tf.nn.softmax(p))),
                                     (3,), tf.float32, onehot, m.FAMILY_CLASSES,
                                     lambda t: entropy(t.sum(0)), lambda n: n),
    "hand_written_clipped_bce": (lambda p, y: tf.reduce_mean(tf.reduce_sum(
        -y * tf.math.log(tf.clip_by_value(tf.sigmoid(p), 1e-10, 1.0))
        - (1 - y) * tf.math.log(tf.clip_by_value(1 - tf.sigmoid(p), 1e-10, 1.0)), 1)),
        (3,), tf.float32, binary, m.FAMILY_BINARY, binary_entropy, lambda n: 3),
}


@pytest.mark.parametrize("name", list(CASES))
def test_reference_matches_a_numpy_oracle_at_the_loss_scale(name: str) -> None:
    make, shape, dtype, draw, family, oracle, scale = CASES[name]
    refs, fed, crit = fetched(make, shape, dtype, draw)
    assert crit is not None and crit.family == family
    for k in range(len(BATCHES)):  # the reference over every target so far
        seen = np.concatenate(fed[:k + 1]).astype(np.float64)
        assert refs[k] == pytest.approx(scale(BATCHES[k]) * oracle(seen), rel=1e-6)


def test_targets_broadcast_against_the_prediction_give_one_constant() -> None:
    """(n,) targets minus an (n, 1) prediction is an (n, n) loss: every prediction meets every
    target, the best constant is their mean, the reference their variance."""
    refs, fed, crit = fetched(lambda p, y: tf.reduce_mean(tf.square(y - p[:, :1])), (),
                              tf.float32, lambda n: real(n)[:, 0])
    assert crit is not None
    every_pair = np.concatenate([np.tile(f, len(f)) for f in fed]).astype(np.float64)
    assert refs[-1] == pytest.approx(float(every_pair.var()), rel=1e-6)


def test_absolute_error_about_the_running_median() -> None:
    refs, fed, crit = fetched(lambda p, y: tf.reduce_mean(tf.abs(p - y)), (3,), tf.float32,
                              real)
    assert crit is not None and crit.family == m.FAMILY_ABSOLUTE
    # the median is estimated as the running mean of the batches' lower medians (as in the
    # PyTorch and Keras adapters), each batch's deviations taken about the estimate so far
    medians, deviations, count = np.zeros(3), np.zeros(3), 0
    for k, batch in enumerate(fed):
        t = batch.astype(np.float64)
        medians += np.sort(t, 0)[(len(t) - 1) // 2]
        deviations += np.abs(t - medians / (k + 1)).sum(0)
        count += len(t)
    assert refs[-1] == pytest.approx(float((deviations / count).mean()), rel=1e-6)


@pytest.mark.parametrize("make", [
    lambda p, y: tf.reduce_mean(p),  # no target at all
    lambda p, y: tf.reduce_mean(tf.maximum(0.0, 1.0 - y * p)),  # hinge: no known constant
    lambda p, y: -tf.reduce_mean(tf.square(y - p)),  # maximised: not a loss we know
    lambda p, y: tf.reduce_mean(tf.square(p - 2.0 * p)),  # both sides are the model's
], ids=["no_target", "hinge", "negated", "no_target_side"])
def test_unknown_forms_get_no_reference(make: Callable) -> None:
    assert fetched(make, (3,), tf.float32, real)[2] is None


SCRIPT = """
import json, sys
import numpy as np
import tensorflow.compat.v1 as tf
from sklearn.datasets import load_digits

tf.disable_v2_behavior()
tf.set_random_seed(0)
case, out = sys.argv[1], sys.argv[2]
images, labels = load_digits(return_X_y=True)
images = (images / 16).astype("float32")
if case == "shuffled":
    labels = np.random.default_rng(0).permutation(labels)
x = tf.placeholder(tf.float32, [None, 64])
y = tf.placeholder(tf.int64, [None])
w1 = tf.get_variable("w1", [64, 64])
w2 = tf.get_variable("w2", [64, 10])
logits = tf.matmul(tf.nn.relu(tf.matmul(x, w1)), w2)
loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
train = tf.train.AdamOptimizer(1e-3).minimize(loss)
losses = []
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for i in range(150):
        rows = slice(32 * (i % 50), 32 * (i % 50 + 1))
        _, value = sess.run([train, loss], {x: images[rows], y: labels[rows]})
        losses.append(float(value))
json.dump({"losses": losses, "seen": np.tile(labels[:1600], 3)[:4800].tolist()},
          open(out, "w"))
"""


def run(tmp_path: Path, case: str) -> tuple[dict, dict]:
    from tests.tf.conftest import logged_run

    return logged_run(tmp_path, SCRIPT, case)


def test_shuffled_labels_never_get_below_the_class_prior(tmp_path: Path) -> None:
    from tests.tf.conftest import problems

    doc, log = run(tmp_path, "shuffled")
    view = RunView.open(tmp_path / "run")
    try:
        (family, series), = view.metric(m.LOSS_ROLE, m.CRITERION_LOSS).items()
        means = series.values
        refs = view.metric(m.LOSS_ROLE, m.REFERENCE_LOSS)[family].values
        covered = view.metric(m.LOSS_ROLE, m.CRITERION_STEPS)[family].values
    finally:
        view.close()
    assert family == m.FAMILY_CLASSES
    assert refs[-1] == pytest.approx(entropy(np.bincount(log["seen"], minlength=10)), rel=1e-6)
    assert covered.sum() == len(log["losses"])
    bounds = np.cumsum(covered).astype(int)
    losses = np.array(log["losses"])
    assert means == pytest.approx([losses[a:b].mean() for a, b in
                                   zip(np.r_[0, bounds[:-1]], bounds)], rel=1e-5)
    assert min(np.convolve(losses, np.ones(10) / 10, "valid")) > 0.9 * refs[-1]  # the case
    (finding,) = [f for f in problems(doc) if f["kind"] == "loss_not_decreasing"]
    assert "class frequencies" in finding["summary"]


def test_the_same_run_on_true_labels_learned_and_is_no_finding(tmp_path: Path) -> None:
    from tests.tf.conftest import problems

    doc, log = run(tmp_path, "labels")
    assert np.mean(log["losses"][-20:]) < 0.5 * np.log(10)  # the case: it learned
    assert problems(doc) == [], problems(doc)
