"""Fixes fit the context: never advise what the script already does."""

from __future__ import annotations

import math

import pytest

from gradsight.detectors import loss_diverging, nonfinite, vanishing_gradient
from gradsight.detectors._common import (
    INIT_TOLERANCE,
    init_fixes,
    init_is_fine,
    initial_scale,
    recommended_std,
    uses_clipping,
)

from gradsight.core.advice import phrase

from .synthetic import NAN, SyntheticRun, only, when

STEPS = range(0, 100, 5)


def sigmoid_mlp(tmp_path, scale, name="run"):
    """4 -> 16 -> 16 -> 1 with sigmoids; ``scale``: first weight's std over Glorot's."""
    run = SyntheticRun(tmp_path, name).mlp([4, 16, 16, 1], activation="sigmoid")
    std = scale * 1.0 / math.sqrt(4)  # sigmoid: gain 1, fan_in 4
    return run, std * math.sqrt(16 * 4)  # the weight norm of a 16x4 matrix at that std


@pytest.mark.parametrize("scale, fine", [
    (1.0, True), (INIT_TOLERANCE * 0.99, True), (INIT_TOLERANCE * 1.01, False),
    (1 / (INIT_TOLERANCE * 1.01), False), (1e-3, False),
])
def test_init_advice_only_when_the_init_is_off(tmp_path, scale, fine):
    run, norm = sigmoid_mlp(tmp_path, scale)
    view = run.steps(STEPS, weight_norm={"0.weight": norm}).open()
    weight = view.entity("param", "0.weight")
    assert recommended_std(weight) == pytest.approx(0.5)
    assert initial_scale(view, weight) == pytest.approx(scale)
    assert init_is_fine(view, weight) is fine
    advice = init_fixes(view, weight)
    assert (advice == []) is fine
    if not fine:
        assert "xavier_normal_(model[0].weight" in str(phrase(advice[0], "torch"))


def test_vanishing_gradient_with_a_glorot_init_blames_the_activation(tmp_path):
    run, norm = sigmoid_mlp(tmp_path, 1.0)
    view = run.steps(STEPS, weight_norm={"0.weight": norm},
                     grad_to_weight={"0.weight": 1e-6, "0.bias": 1e-6}).open()
    finding = only(vanishing_gradient.detect(view))
    assert not any("xavier_normal_" in f or "kaiming_normal_" in f for f in finding.fixes)
    assert "ReLU" in finding.fixes[0]


def test_vanishing_gradient_with_a_tiny_init_advises_the_init(tmp_path):
    run, norm = sigmoid_mlp(tmp_path, 1e-3)
    view = run.steps(STEPS, weight_norm={"0.weight": norm},
                     grad_to_weight={"0.weight": 1e-6, "0.bias": 1e-6}).open()
    finding = only(vanishing_gradient.detect(view))
    assert "xavier_normal_(model[0].weight" in finding.fixes[0]


def _clipped(run: SyntheticRun) -> SyntheticRun:
    for step in STEPS:
        for name in run.params:
            run.rows.append((step, "param", name, "clip_norm_limit", 1.0))
    return run


@pytest.mark.parametrize("clipping", [False, True])
def test_clipping_is_not_advised_to_a_script_that_clips(tmp_path, clipping):
    blow_up = when(lambda s: s >= 60, NAN, lambda s: 1.0 if s < 30 else 10 ** (s / 10))
    run = SyntheticRun(tmp_path).mlp([4, 16, 1])
    run.steps(STEPS, loss=blow_up)
    view = (_clipped(run) if clipping else run).open()
    assert uses_clipping(view) is clipping
    for detector in (nonfinite, loss_diverging):
        finding = only(detector.detect(view))
        advises_clip = any("clip_grad_norm_" in f for f in finding.fixes)
        assert advises_clip is not clipping, (detector.KIND, finding.fixes)
        assert finding.fixes[0].startswith("lower the learning rate about 10x (from 0.1 to")
