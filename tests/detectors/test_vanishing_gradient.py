"""``vanishing_gradient``: |g|/|w| of some layers far below the best layer's."""

from __future__ import annotations

import pytest

from gradsight.core.finding import Severity
from gradsight.detectors._common import MIN_STEPS
from gradsight.detectors.vanishing_gradient import ERROR_LIMIT, KIND, RELATIVE_LIMIT, detect

from .synthetic import HEALTHY_GRAD_TO_WEIGHT, SyntheticRun, only, when

STEPS = range(0, 100, 5)
BEST = HEALTHY_GRAD_TO_WEIGHT  # every healthy layer's |g|/|w|; the reference


def mlp(tmp_path, name="run", widths=(4, 16, 16, 1)):
    return SyntheticRun(tmp_path, name).mlp(list(widths))


def test_healthy_run_has_no_finding(tmp_path):
    assert detect(mlp(tmp_path).steps(STEPS).open()) == []


def test_first_layer_starved_of_gradient(tmp_path):
    """Seed 000/001: N(0, 1e-3) init, the first layer's |g|/|w| ~1e-4 of the last one's."""
    run = (
        mlp(tmp_path)
        .steps(STEPS, grad_to_weight={"0.weight": BEST * 1e-4, "0.bias": BEST * 1e-4})
        .open()
    )
    finding = only(detect(run))
    assert finding.kind == KIND == "vanishing_gradient"
    assert finding.severity == Severity.ERROR
    assert finding.where == ["0.weight", "0.bias"]
    assert finding.step == 0
    ev = finding.evidence
    tiny = BEST * 1e-4
    assert ev["grad_to_weight_median"] == pytest.approx({"0.weight": tiny, "0.bias": tiny})
    assert ev["reference_param"] == "2.weight"  # the first of the equally best layers
    assert ev["reference_grad_to_weight"] == pytest.approx(BEST)
    assert ev["times_smaller_than_reference"] == pytest.approx({"0.weight": 1e4, "0.bias": 1e4})
    assert ev["steps_judged"] == len(STEPS)
    assert set(ev["grad_rms_median"]) == {"0.weight", "0.bias"}
    assert finding.summary.startswith("gradients vanish before reaching 0.weight")
    assert any("kaiming_normal_(model[0].weight" in fix for fix in finding.fixes)  # ReLU follows
    assert any("Adam" in fix for fix in finding.fixes)  # SGD run


def test_where_is_in_forward_order_weight_then_bias(tmp_path):
    small = BEST * 1e-3
    run = (
        SyntheticRun(tmp_path)
        .module("a", "Linear").act("r1").module("b", "Linear").act("r2").module("c", "Linear")
        # registered c, b, a: forward order must win
        .param("c.weight", (1, 16), module="c").param("c.bias", (1,), module="c")
        .param("b.weight", (16, 16), module="b").param("b.bias", (16,), module="b")
        .param("a.weight", (16, 4), module="a").param("a.bias", (16,), module="a")
        .steps(STEPS, grad_to_weight={"a.weight": small, "a.bias": small, "b.weight": small,
                                      "b.bias": small})
        .open()
    )
    assert only(detect(run)).where == ["a.weight", "a.bias", "b.weight", "b.bias"]


@pytest.mark.parametrize("factor, fires", [(0.99, True), (1.0, True), (1.01, False)])
def test_boundary_at_relative_limit(tmp_path, factor, fires):
    small = BEST * RELATIVE_LIMIT * factor
    run = mlp(tmp_path).steps(STEPS, grad_to_weight={"0.weight": small},
                              update_to_weight={"0.weight": 1e-6}).open()  # it barely moves
    findings = detect(run)
    if fires:
        finding = only(findings)
        assert finding.where == ["0.weight"]
        assert finding.severity == Severity.WARNING  # above ERROR_LIMIT
        assert finding.evidence["times_smaller_than_reference"]["0.weight"] == pytest.approx(
            1 / (RELATIVE_LIMIT * factor))
    else:
        assert findings == []


@pytest.mark.parametrize("factor, severity", [(0.99, Severity.ERROR), (1.01, Severity.WARNING)])
def test_boundary_at_error_limit(tmp_path, factor, severity):
    small = BEST * ERROR_LIMIT * factor
    run = mlp(tmp_path).steps(STEPS, grad_to_weight={"0.weight": small}).open()
    assert only(detect(run)).severity == severity


@pytest.mark.parametrize("n, fires", [(MIN_STEPS, True), (MIN_STEPS - 1, False)])
def test_boundary_at_min_steps(tmp_path, n, fires):
    run = mlp(tmp_path).steps(range(n), grad_to_weight={"0.weight": BEST * 1e-4}).open()
    assert [f.where for f in detect(run)] == ([["0.weight"]] if fires else [])


def test_needs_two_weight_matrices(tmp_path):
    run = (
        SyntheticRun(tmp_path).layer("0", shape=(1, 4)).batchnorm("1", 1)
        .steps(STEPS, grad_to_weight={"0.bias": 1e-9, "1.weight": 1e-9})
        .open()
    )
    assert detect(run) == []


def test_embeddings_are_not_compared(tmp_path):
    """Embedding rows get sparse gradients: a tiny |g|/|w| there is normal."""
    run = (
        SyntheticRun(tmp_path)
        .layer("emb", "Embedding", (1000, 16), bias=False).mlp([16, 16, 1])
        .steps(STEPS, grad_to_weight={"emb.weight": 1e-8})
        .open()
    )
    assert detect(run) == []
    alone = (
        SyntheticRun(tmp_path, "alone")
        .layer("emb", "Embedding", (1000, 16), bias=False).layer("0", shape=(1, 16))
        .steps(STEPS, grad_to_weight={"0.weight": 1e-8})
        .open()
    )
    assert detect(alone) == []  # one Linear matrix is nothing to compare against


def test_bias_before_batchnorm_is_skipped(tmp_path):
    """The norm subtracts the batch mean: that bias's gradient is ~0 by construction."""
    build = lambda name: (  # noqa: E731
        SyntheticRun(tmp_path, name)
        .layer("0", shape=(16, 4)).batchnorm("1", 16).act("2").layer("3", shape=(1, 16))
    )
    bias_only = build("bias_only").steps(STEPS, grad_to_weight={"0.bias": 1e-9}).open()
    assert detect(bias_only) == []
    both = build("both").steps(STEPS, grad_to_weight={"0.weight": BEST * 1e-4, "0.bias": 1e-9})
    both = both.open()
    assert only(detect(both)).where == ["0.weight"]


def test_bias_is_flagged_only_with_its_weight(tmp_path):
    tiny = BEST * 1e-4
    bias_alone = mlp(tmp_path, "bias_alone").steps(STEPS, grad_to_weight={"2.bias": tiny}).open()
    assert detect(bias_alone) == []
    with_weight = (
        mlp(tmp_path, "with_weight")
        .steps(STEPS, grad_to_weight={"2.weight": tiny, "2.bias": tiny, "0.bias": tiny})
        .open()
    )
    assert only(detect(with_weight)).where == ["2.weight", "2.bias"]  # 0.bias: its weight is fine


def test_healthy_bias_of_a_vanishing_layer_is_not_flagged(tmp_path):
    run = mlp(tmp_path).steps(STEPS, grad_to_weight={"0.weight": BEST * 1e-4}).open()
    assert only(detect(run)).where == ["0.weight"]


def test_step_is_the_first_step_the_layer_fell_behind(tmp_path):
    run = (
        mlp(tmp_path)
        .steps(STEPS, grad_to_weight={"2.weight": when(lambda s: s >= 30, BEST * 1e-3, BEST)})
        .open()
    )
    finding = only(detect(run))
    assert (finding.where, finding.step) == (["2.weight"], 30)


@pytest.mark.parametrize("table", ["Embedding", "EmbeddingBag"])
def test_lookup_tables_are_not_judged(tmp_path, table):
    """A batch touches a few rows of a 10k-row table: |g|/|w| ~1e-4 by construction."""
    run = SyntheticRun(tmp_path).module("emb", table).param("emb.weight", [10_000, 16],
                                                               module="emb")
    run.mlp([16, 16, 1])
    view = run.steps(STEPS, grad_to_weight={"emb.weight": BEST * 1e-4}).open()
    assert detect(view) == []


def test_a_near_zero_weight_is_judged_against_the_floor(tmp_path):
    """The output weight is 1e-4 in size: without the floor it would be the reference and
    every layer (Adam, healthy steps) would look vanishing; with it only the starved first layer
    is named, and the evidence says which weight was floored."""
    from gradsight.detectors.vanishing_gradient import NEAR_ZERO, SCENARIOS

    run = SCENARIOS["positive_vanishing_beside_a_near_zero_weight"].run(tmp_path, "run")
    finding = only(detect(run))
    assert finding.where == ["0.weight"]
    assert finding.evidence["reference_param"] == "4.weight"
    # 4.weight (1, 16): typical scale rms x sqrt(fan_in) is 0.25, its own 1e-4: floored
    floor = NEAR_ZERO * 0.25
    assert finding.evidence["near_zero_weight_to_floor"] == pytest.approx({"4.weight": 1e-4 / floor})
    assert finding.evidence["reference_grad_to_weight"] == pytest.approx(0.1 / floor)
