"""Keras runs get what PyTorch runs get: exploding gradients judged on every step's norms (also
between detail steps, and in short runs), norms before ``clipnorm``/``global_clipnorm``, detail
forced after the first NaN, and histograms of weights, gradients and layer outputs.

The script trains with a custom ``tf.function`` loop and measures, with its own tape, each
step's loss and gradient norms as backward gave them (before the optimizer clips them), and the
first kernel's gradient at step 0 and weights after step 5: the oracles.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pytest

from gradsight.core.run_view import RunView
from gradsight.core.schedule import Schedule
from tests.tf.conftest import gradsight_run, problems

SCRIPT = """
import json, sys
import keras, numpy as np, tensorflow as tf

keras.utils.set_random_seed(0)
mode, out = sys.argv[1], sys.argv[2]
jump, high, steps = {"between": (40, 0.3, 64), "short": (1, 1.0, 30), "clipnorm": (40, 0.3, 64),
                     "global_clipnorm": (40, 0.3, 64), "healthy": (40, 0.01, 64)}[mode]
rng = np.random.default_rng(0)
x = rng.normal(size=(2048, 8)).astype("float32")
y = (x @ rng.normal(size=(8, 1))).astype("float32") * 3
model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(32, activation="relu"),
                          keras.layers.Dense(32, activation="relu"), keras.layers.Dense(1)])
clip = {mode: 1.0} if "clipnorm" in mode else {}
opt = keras.optimizers.SGD(keras.optimizers.schedules.PiecewiseConstantDecay(
    [jump], [0.01, high]), **clip)


@tf.function
def step(xb, yb):
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(keras.losses.mean_squared_error(yb, model(xb, training=True)))
    grads = tape.gradient(loss, model.trainable_variables)
    opt.apply_gradients(zip(grads, model.trainable_variables))
    return loss, [tf.norm(g) for g in grads], grads[0]


log = {"loss": [], "norms": [], "names": [v.path for v in model.trainable_variables]}
for i in range(steps):
    loss, norms, grad0 = step(x[32 * i:32 * (i + 1)], y[32 * i:32 * (i + 1)])
    log["loss"].append(float(loss))
    log["norms"].append([float(n) for n in norms])
    if i == 0:
        log["grad0"] = [float(np.min(grad0)), float(np.max(grad0))]
    if i == 5:
        kernel = model.trainable_variables[0].numpy()
        log["kernel5"] = [float(kernel.min()), float(kernel.max())]
json.dump(log, open(out, "w"))
"""


def run(tmp_path: Path, mode: str) -> tuple[dict, dict]:
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(SCRIPT))
    doc = gradsight_run(tmp_path, script, mode, str(tmp_path / "log.json"))
    return doc, json.loads((tmp_path / "log.json").read_text())


def growth(log: dict) -> float:
    """The first kernel's largest finite gradient norm over its first step's (measured)."""
    norms = np.array([n[0] for n in log["norms"]])
    return float(np.nanmax(np.where(np.isfinite(norms), norms, np.nan)) / norms[0])


def test_an_explosion_between_detail_steps_is_found_and_detail_follows_the_nan(
        tmp_path: Path) -> None:
    doc, log = run(tmp_path, "between")
    assert growth(log) > 1e4 and not np.isfinite(log["loss"][-1])  # the case, measured
    found = {f["kind"]: f for f in problems(doc)}
    exploding, nonfinite = found["exploding_gradient"], found["nonfinite"]
    assert not Schedule().scheduled(exploding["step"])  # seen in the always-on tier only
    assert exploding["step"] < nonfinite["step"]
    view = RunView.open(tmp_path / "run")
    try:  # the steps after the first NaN got layer statistics: a forced window, in the graph
        recorded = view.metric("module", "act_nonfinite")["sequential/dense_2"].steps
        after = [s for s in recorded if s > nonfinite["step"]]
        assert len(after) >= 10 and not any(Schedule().scheduled(s) for s in after)
    finally:
        view.close()


def test_a_short_run_that_explodes_at_once_is_found(tmp_path: Path) -> None:
    doc, log = run(tmp_path, "short")
    assert growth(log) > 100  # the case
    assert "exploding_gradient" in {f["kind"] for f in problems(doc)}


@pytest.mark.parametrize("mode", ["clipnorm", "global_clipnorm"])
def test_norms_before_the_optimizer_clips_are_recorded(tmp_path: Path, mode: str) -> None:
    doc, log = run(tmp_path, mode)
    view = RunView.open(tmp_path / "run")
    try:
        pre = view.metric("param", "grad_norm_preclip")
        applied = view.metric("param", "grad_norm")
        measured = np.array(log["norms"])
        for j, name in enumerate(log["names"]):
            finite = np.isfinite(measured[: len(pre[name].values), j])
            np.testing.assert_allclose(pre[name].values[finite],
                                       measured[: len(pre[name].values), j][finite], rtol=1e-4)
        total = np.sqrt((measured ** 2).sum(1))
        assert total.max() > 10  # the case: the raw gradients blew past the clip
        kernel = log["names"][0]
        if mode == "clipnorm":  # each gradient clipped at 1 on its own
            assert np.nanmax(applied[kernel].values) <= 1.0 + 1e-6
    finally:
        view.close()
    # clipping kept the applied steps sane: at most a contained (info) explosion
    assert "exploding_gradient" not in {f["kind"] for f in problems(doc)}


def test_histograms_of_weights_gradients_and_outputs(tmp_path: Path) -> None:
    doc, log = run(tmp_path, "healthy")
    assert "exploding_gradient" not in {f["kind"] for f in problems(doc)}
    view = RunView.open(tmp_path / "run")
    try:
        kernel = log["names"][0]
        grads, weights = view.histograms("param", "grad"), view.histograms("param", "weight")
        acts = view.histograms("module", "act")
        assert list(grads[kernel].steps) == list(weights[kernel].steps) == [0, 5]
        assert [grads[kernel].lo[0], grads[kernel].hi[0]] == pytest.approx(log["grad0"])
        assert [weights[kernel].lo[1], weights[kernel].hi[1]] == pytest.approx(log["kernel5"])
        assert weights[kernel].counts.sum(1) == pytest.approx([8 * 32] * 2)
        assert list(acts["sequential/dense"].steps) == [0, 5]
        assert acts["sequential/dense"].counts[0].sum() == 32 * 32  # batch x units
    finally:
        view.close()
