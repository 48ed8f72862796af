"""``poor_initialization``: the signal explodes or collapses with depth at initialization."""

from __future__ import annotations

import math

import pytest

from gradsight.core.detect import diagnose
from gradsight.core.finding import Severity
from gradsight.detectors.poor_initialization import (
    GRADIENT_DEFICIT,
    DEPTH_ERROR,
    DEPTH_LIMIT,
    KIND,
    OUTPUT_ERROR,
    OUTPUT_LIMIT,
    WEIGHT_OFF,
    detect,
)

from gradsight.core.synthetic_specs import HEALTHY_GRAD_TO_WEIGHT

from .synthetic import SyntheticRun, only

STEPS = range(10)
WIDTHS = [16, 16, 16, 16, 1]  # 4 Linear layers, ReLU between: 0, 2, 4, 6


def norm_for(shape, followed_by, scale):
    """weight_norm whose std is ``scale`` x the He/Glorot std for the shape."""
    numel = math.prod(shape)
    gain = math.sqrt(2.0) if followed_by == "relu" else 1.0
    return scale * gain / math.sqrt(math.prod(shape[1:])) * math.sqrt(numel)


def mlp_run(tmp_path, scales, name="run", act=None, skips=False):
    """Weights ``scales`` x He/Glorot; the gradient reaching each layer scaled by the product of
    the later layers' scales, as a chain gives it (``skips``: carried past them unscaled)."""
    run = SyntheticRun(tmp_path, name).mlp(WIDTHS)
    norms, ratios = {}, {}
    for i, s in enumerate(scales):
        layer = str(2 * i)
        shape = run.params[f"{layer}.weight"]["shape"]
        followed = "relu" if i < len(scales) - 1 else None
        norms[f"{layer}.weight"] = norm_for(shape, followed, s)
        ratios[f"{layer}.weight"] = HEALTHY_GRAD_TO_WEIGHT * (
            1.0 if skips else math.prod(scales[i + 1:]))
    if skips and act is None:  # the stream keeps its scale: every layer's output measured at 1
        act = {str(2 * i): {"act_mean": 0.0, "act_std": 1.0} for i in range(len(scales))}
    return run.steps(STEPS, weight_norm=norms, grad_to_weight=ratios, act=act or {}).open()


def test_he_init_has_no_finding(tmp_path):
    assert detect(mlp_run(tmp_path, [1, 1, 1, 1])) == []


def test_tiny_init_collapses_and_names_the_first_layer(tmp_path):
    run = mlp_run(tmp_path, [1e-3] * 4)
    finding = only(detect(run))
    assert finding.kind == KIND
    assert finding.severity == Severity.ERROR  # 1e-9 across the three later layers
    assert finding.where[:2] == ["0.weight", "0.bias"]
    assert finding.step == 0
    ev = finding.evidence
    assert ev["depth_gain"] == pytest.approx(1e-9, rel=1e-6)
    assert ev["weight_std_vs_recommended"]["0.weight"] == pytest.approx(1e-3)
    assert ev["gain_per_layer_median"] == pytest.approx(1e-3)
    assert "collapses" in finding.summary
    assert any("kaiming_normal_(model[0].weight" in fix for fix in finding.fixes)


def test_huge_init_explodes(tmp_path):
    finding = only(detect(mlp_run(tmp_path, [30] * 4)))
    assert "explodes" in finding.summary and finding.severity == Severity.ERROR


def test_single_tiny_layer_is_not_a_depth_problem(tmp_path):
    """Like the 2-layer seed net: one small layer after the first is a plateau, not a collapse."""
    assert detect(mlp_run(tmp_path, [1e-3, 4e-3, 1, 1])) == []


@pytest.mark.parametrize("factor, fires, severity", [
    (1.01, True, Severity.WARNING), (0.99, False, None),
])
def test_boundary_at_depth_limit(tmp_path, factor, fires, severity):
    """Two later layers off by WEIGHT_OFF (so two layers are 10x off) and a third making the
    product exactly DEPTH_LIMIT x factor."""
    third = DEPTH_LIMIT * factor / WEIGHT_OFF**2
    findings = detect(mlp_run(tmp_path, [1, WEIGHT_OFF, WEIGHT_OFF, third]))
    if fires:
        assert only(findings).severity == severity
        assert only(findings).evidence["depth_gain"] == pytest.approx(DEPTH_LIMIT * factor)
    else:
        assert findings == []


def test_error_at_depth_error(tmp_path):
    s = (DEPTH_ERROR * 1.01) ** (1 / 3)
    assert only(detect(mlp_run(tmp_path, [1, s, s, s]))).severity == Severity.ERROR


def test_slightly_small_layers_need_measured_confirmation(tmp_path):
    """0.2x per layer: no layer is 10x off; fires only when activations confirm the collapse."""
    assert detect(mlp_run(tmp_path, [0.2] * 4, "plain")) == []  # 8e-3: not deep enough anyway
    run = SyntheticRun(tmp_path, "deep").mlp([16] * 8 + [1])
    norms = {f"{2 * i}.weight": norm_for((16, 16), "relu", 0.2) for i in range(7)}
    norms["14.weight"] = norm_for((1, 16), None, 0.2)
    flat = run.steps(STEPS, weight_norm=norms).open()  # activations all rms ~1: not confirmed
    assert detect(flat) == []
    run = SyntheticRun(tmp_path, "deep2").mlp([16] * 8 + [1])
    act = {"14": {"act_std": 1e-4, "act_mean": 0.0}}
    confirmed = run.steps(STEPS, weight_norm=norms, act=act).open()
    finding = only(detect(confirmed))
    assert finding.where[:2] == ["0.weight", "0.bias"]  # no layer stands out: the first
    assert finding.evidence["crossing_layer"] == "14"


@pytest.mark.parametrize("factor, fires", [(1.01, True), (0.99, False)])
def test_boundary_at_output_limit(tmp_path, factor, fires):
    """Huge logits with one layer 10x too large; the depth gain alone (10) would not fire."""
    act = {"6": {"act_std": OUTPUT_LIMIT * factor, "act_mean": 0.0}}
    findings = detect(mlp_run(tmp_path, [1, 1, 1, WEIGHT_OFF], act=act))
    if fires:
        finding = only(findings)
        assert finding.severity == Severity.WARNING
        assert finding.where == ["6.weight", "6.bias"]
        assert finding.evidence["output_rms"] == pytest.approx(OUTPUT_LIMIT * factor)
    else:
        assert findings == []


def test_huge_output_with_well_scaled_weights_is_data_not_init(tmp_path):
    act = {"6": {"act_std": OUTPUT_ERROR * 10, "act_mean": 0.0}}
    assert detect(mlp_run(tmp_path, [1, 1, 1, 1], act=act)) == []


def test_normalization_resets_the_scale(tmp_path):
    """Each Linear is 30x too large, but a BatchNorm sits between every pair."""
    run = SyntheticRun(tmp_path)
    norms = {}
    for i in range(4):
        run.layer(f"l{i}", shape=(16, 16)).batchnorm(f"bn{i}", 16).act(f"r{i}")
        norms[f"l{i}.weight"] = norm_for((16, 16), None, 30)
    assert detect(run.steps(STEPS, weight_norm=norms).open()) == []


def test_diagnose_links_vanishing_gradient_to_it(tmp_path):
    run = SyntheticRun(tmp_path).mlp(WIDTHS)
    norms = {f"{2 * i}.weight": norm_for(run.params[f"{2 * i}.weight"]["shape"],
                                          "relu" if i < 3 else None, 1e-3) for i in range(4)}
    view = run.steps(STEPS, weight_norm=norms, grad_to_weight={"0.weight": 1e-5}).open()
    findings = diagnose(view)
    assert findings[0].kind == KIND
    vanishing = only(findings, "vanishing_gradient")
    assert vanishing.evidence["caused_by"] == KIND


def test_small_layers_the_gradient_passes_by_are_not_a_collapse(tmp_path):
    """Residual branches initialized small on purpose: the weights' product predicts 1e-9, but
    the first layer's gradient is as large as the last's (it comes through the skips)."""
    assert detect(mlp_run(tmp_path, [1, 1e-3, 1e-3, 1], skips=True)) == []
    assert only(detect(mlp_run(tmp_path, [1, 1e-3, 1e-3, 1], name="chain"))).kind == KIND


@pytest.mark.parametrize("deficit, fires", [(0.5 * GRADIENT_DEFICIT, False),
                                            (2.0 * GRADIENT_DEFICIT, True)])
def test_boundary_at_the_gradient_deficit(tmp_path, deficit, fires):
    """The first layer's |g|/|w| ``deficit`` x below the last's, under weights 1e-3 x Glorot."""
    run = SyntheticRun(tmp_path, "run").mlp(WIDTHS)
    norms, ratios = {}, {}
    for i in range(4):
        shape = run.params[f"{2 * i}.weight"]["shape"]
        norms[f"{2 * i}.weight"] = norm_for(shape, "relu" if i < 3 else None, 1e-3)
        ratios[f"{2 * i}.weight"] = HEALTHY_GRAD_TO_WEIGHT / (deficit if i == 0 else 1.0)
    flat = {str(2 * i): {"act_mean": 0.0, "act_std": 1.0} for i in range(4)}
    found = detect(run.steps(STEPS, weight_norm=norms, grad_to_weight=ratios, act=flat).open())
    assert bool(found) is fires


def test_a_collapse_the_outputs_show_is_said_whatever_the_gradients(tmp_path):
    """Zero biases (Keras' default) collapse every layer alike: |g|/|w| is the same at the first
    layer and the last (all tiny), but the middle layer's output is 1000x under the first's."""
    outputs = {"0": 1.0, "2": 1e-3, "4": 1e-6, "6": 1e-2}  # the last: its bias, learned
    act = {m: {"act_mean": 0.0, "act_std": v} for m, v in outputs.items()}
    assert only(detect(mlp_run(tmp_path, [1e-3] * 4, act=act, skips=True))).kind == KIND
