"""``not_optimized``: gradients arrive but no optimizer updates the parameter."""

from __future__ import annotations


from gradsight.core.finding import Severity
from gradsight.detectors.not_optimized import KIND, detect

from .synthetic import NAN, SyntheticRun, only, when

STEPS = range(0, 100, 5)
ZERO_LR_0 = {"0.weight": 0.0, "0.bias": 0.0}


def test_healthy_run_has_no_finding(tmp_path):
    run = SyntheticRun(tmp_path).mlp([4, 16, 16, 1]).steps(STEPS).open()
    assert detect(run) == []


def test_parameters_in_no_optimizer(tmp_path):
    """A head created after the optimizer was built from model.parameters()."""
    run = (
        SyntheticRun(tmp_path)
        .mlp([4, 16, 16])
        .act("3").layer("head", shape=(1, 16), optimized=False)
        .steps(STEPS, grad_norm={"head.weight": 0.25, "head.bias": 0.5})
        .open()
    )
    finding = only(detect(run))
    assert finding.kind == KIND == "not_optimized"
    assert finding.severity == Severity.WARNING
    assert finding.where == ["head.weight", "head.bias"]
    assert finding.step == 0
    assert finding.evidence["reason"] == "not in any optimizer"
    assert finding.evidence["grad_norm_median"] == {"head.weight": 0.25, "head.bias": 0.5}
    assert finding.summary.startswith("head.weight")
    assert any("model.head.weight" in fix for fix in finding.fixes)


def test_step_is_the_first_step_with_a_gradient(tmp_path):
    run = (
        SyntheticRun(tmp_path).mlp([4, 16, 1])
        .layer("aux", shape=(3, 16), optimized=False, inputs_from=["1"])
        .steps(STEPS, has_grad={"aux.weight": when(lambda s: s >= 35, 1.0, 0.0),
                                "aux.bias": when(lambda s: s >= 40, 1.0, 0.0)})
        .open()
    )
    finding = only(detect(run))
    assert finding.where == ["aux.weight", "aux.bias"]
    assert finding.step == 35


def test_frozen_parameters_outside_the_optimizer_are_fine(tmp_path):
    run = (
        SyntheticRun(tmp_path)
        .layer("0", shape=(16, 4), requires_grad=False, optimized=False)
        .act("1").layer("2", shape=(1, 16))
        .steps(STEPS)
        .open()
    )
    assert detect(run) == []


def test_zero_gradients_outside_the_optimizer_are_not_gradients(tmp_path):
    run = (
        SyntheticRun(tmp_path).mlp([4, 16, 1])
        .layer("aux", shape=(3, 16), optimized=False, inputs_from=["1"])
        .steps(STEPS, grad_norm={"aux.weight": 0.0, "aux.bias": 0.0})
        .open()
    )
    assert detect(run) == []


def test_learning_rate_zero_at_every_step(tmp_path):
    run = (
        SyntheticRun(tmp_path).mlp([4, 16, 16, 1])
        .steps(range(3, 100, 5), lr=ZERO_LR_0, update_to_weight=ZERO_LR_0)
        .open()
    )
    finding = only(detect(run))
    assert finding.severity == Severity.WARNING
    assert finding.where == ["0.weight", "0.bias"]
    assert finding.step == 3
    assert finding.evidence["reason"] == "learning rate 0"
    assert finding.evidence["recorded_steps"] == 20
    assert "learning rate is 0" in finding.summary


def test_warm_up_from_zero_is_not_a_finding(tmp_path):
    warm_up = lambda s: min(s / 50, 1.0) * 0.1  # noqa: E731  (0 at step 0)
    run = SyntheticRun(tmp_path).mlp([4, 16, 1]).steps(STEPS, lr=warm_up).open()
    assert run.metric("param", "lr")["0.weight"].values[0] == 0
    assert detect(run) == []


def test_boundary_one_positive_lr_step_is_enough(tmp_path):
    last = STEPS[-1]
    almost = (
        SyntheticRun(tmp_path, "almost").mlp([4, 16, 1])
        .steps(STEPS, lr={"0.weight": when(lambda s: s == last, 1e-3, 0.0)})
        .open()
    )
    always = (
        SyntheticRun(tmp_path, "always").mlp([4, 16, 1])
        .steps(STEPS, lr={"0.weight": 0.0})
        .open()
    )
    assert detect(almost) == []
    assert only(detect(always)).where == ["0.weight"]


def test_both_mechanisms_give_two_findings_in_forward_order(tmp_path):
    run = (
        SyntheticRun(tmp_path)
        .layer("0", shape=(16, 4), lr=0.0)
        .act("1")
        .layer("2", shape=(16, 16))
        .act("3")
        .layer("4", shape=(1, 16), optimized=False)
        .steps(STEPS)
        .open()
    )
    outside, zero_lr = detect(run)
    assert outside.where == ["4.weight", "4.bias"]
    assert outside.evidence["reason"] == "not in any optimizer"
    assert zero_lr.where == ["0.weight", "0.bias"]
    assert zero_lr.evidence["reason"] == "learning rate 0"


def test_unknown_learning_rate_is_not_zero(tmp_path):
    run = (
        SyntheticRun(tmp_path).mlp([4, 16, 1])
        .steps(STEPS, lr=NAN)  # healthy updates, 1e-3 of the weight per step
        .open()
    )
    assert detect(run) == []
