"""``nonfinite``: NaN/Inf in loss, activations or weights; gradients alone (AMP) are not one."""

from __future__ import annotations

import pytest

from gradsight.core.finding import Severity
from gradsight.detectors.nonfinite import KIND, detect

from .synthetic import INF, NAN, SyntheticRun, healthy_loss, only, when


def three_modules(tmp_path, name="run"):
    """Forward order stem -> relu -> head: alphabetical order (head, relu, stem) differs."""
    return (
        SyntheticRun(tmp_path, name)
        .layer("stem", shape=(16, 4)).act("relu", "relu").layer("head", shape=(1, 16))
    )


def test_healthy_run_has_no_finding(tmp_path):
    run = SyntheticRun(tmp_path).mlp([4, 16, 16, 1]).steps(range(0, 100, 5)).open()
    assert detect(run) == []


@pytest.mark.parametrize("bad", [NAN, INF, -INF])
def test_nonfinite_loss_at_step_k_gives_step_k(tmp_path, bad):
    k = 37
    run = (
        SyntheticRun(tmp_path).mlp([4, 16, 1])
        .steps(range(0, 100, 10), loss=None)  # full stats on a schedule ...
        .loss(range(100), when(lambda s: s >= k, bad, healthy_loss))  # ... the loss every step
        .open()
    )
    finding = only(detect(run))
    assert finding.kind == KIND == "nonfinite"
    assert finding.severity == Severity.ERROR
    assert finding.step == k
    assert finding.where == ["loss"]
    assert finding.evidence["first_nonfinite_loss_step"] == k
    assert finding.evidence["first_nonfinite_activation_step"] is None
    assert finding.evidence["first_nonfinite_weight_step"] is None
    assert finding.evidence["last_finite_loss"] == pytest.approx(healthy_loss(k - 1))
    assert str(k) in finding.summary
    assert finding.fixes


def test_first_module_in_forward_order_comes_first(tmp_path):
    bad_from_30 = when(lambda s: s >= 30, 3.0, 0.0)
    run = (
        three_modules(tmp_path)
        .steps(range(0, 60, 5), act={"head": {"act_nonfinite": bad_from_30},
                                     "stem": {"act_nonfinite": bad_from_30},
                                     "relu": {"act_nonfinite": bad_from_30}})
        .open()
    )
    finding = only(detect(run))
    assert finding.step == 30
    assert finding.where[:3] == ["stem", "relu", "head"]
    assert finding.evidence["first_nonfinite_activation_step"] == 30
    assert finding.evidence["modules_nonfinite_at_that_step"] == ["stem", "relu", "head"]
    assert "stem" in finding.summary


def test_the_module_that_broke_first_leads_even_if_later_in_forward_order(tmp_path):
    run = (
        three_modules(tmp_path)
        .steps(range(0, 60, 5), act={"head": {"act_nonfinite": when(lambda s: s >= 20, 1, 0)},
                                     "stem": {"act_nonfinite": when(lambda s: s >= 30, 1, 0)}})
        .open()
    )
    finding = only(detect(run))
    assert finding.step == 20
    assert finding.where[0] == "head"
    assert "stem" not in finding.where  # only the modules broken at the first such step


def test_a_nan_activation_count_counts_as_nonfinite(tmp_path):
    run = (
        three_modules(tmp_path)
        .steps(range(0, 60, 5), act={"relu": {"act_nonfinite": when(lambda s: s >= 45, NAN, 0)}})
        .open()
    )
    finding = only(detect(run))
    assert (finding.step, finding.where[0]) == (45, "relu")


def test_activation_count_boundary_zero_is_fine_one_element_is_not(tmp_path):
    """The threshold is "any": a count of 0 never fires, a single bad element does."""
    zero = three_modules(tmp_path, "zero").steps(
        range(0, 40, 5), act={"stem": {"act_nonfinite": 0.0}}).open()
    one = three_modules(tmp_path, "one").steps(
        range(0, 40, 5), act={"stem": {"act_nonfinite": when(lambda s: s == 35, 1.0, 0.0)}}).open()
    assert detect(zero) == []
    finding = only(detect(one))
    assert (finding.step, finding.where) == (35, ["stem"])


@pytest.mark.parametrize("bad", [INF, NAN])
def test_nonfinite_gradients_alone_are_amp_loss_scaling_not_a_finding(tmp_path, bad):
    """GradScaler skips steps whose gradients overflowed: loss and weights stay finite."""
    skipped = {0, 1, 2, 15, 40}
    run = (
        three_modules(tmp_path)
        .steps(range(60), grad_norm=lambda s: bad if s in skipped else 0.5)
        .open()
    )
    assert detect(run) == []


def test_nonfinite_weights_give_the_step_and_the_params_in_order(tmp_path):
    k = 40
    run = (
        SyntheticRun(tmp_path).mlp([4, 16, 16, 1])
        .steps(range(0, 80, 5),
               grad_norm={"4.weight": when(lambda s: s >= k, NAN, 0.5),
                          "0.weight": when(lambda s: s >= k, INF, 0.5)},
               weight_norm={"4.weight": when(lambda s: s >= k, NAN, 1.0)})
        .open()
    )
    finding = only(detect(run))
    assert finding.step == k
    assert finding.where == ["0.weight", "4.weight"]  # same step: parameter order
    assert finding.evidence["first_nonfinite_weight_step"] == k
    assert finding.evidence["first_nonfinite_loss_step"] is None
    assert finding.evidence["max_finite_grad_norm"] == pytest.approx(0.5)
    assert "0.weight" in finding.summary


def test_activations_lead_parameters_in_where(tmp_path):
    k = 25
    run = (
        three_modules(tmp_path)
        .steps(range(0, 50, 5),
               act={"head": {"act_nonfinite": when(lambda s: s >= k, 16, 0)}},
               weight_norm={"stem.weight": when(lambda s: s >= k, NAN, 1.0)},
               loss=when(lambda s: s >= k, NAN, healthy_loss))
        .open()
    )
    finding = only(detect(run))
    assert finding.step == k
    assert finding.where == ["head", "stem.weight"]
    assert finding.evidence["first_nonfinite_loss_step"] == k
    assert finding.evidence["first_nonfinite_activation_step"] == k


def test_step_is_the_earliest_of_loss_weights_and_activations(tmp_path):
    run = (
        three_modules(tmp_path)
        .steps(range(0, 50, 5),
               act={"stem": {"act_nonfinite": when(lambda s: s >= 30, 1, 0)}},
               weight_norm={"head.weight": when(lambda s: s >= 20, INF, 1.0)},
               loss=when(lambda s: s >= 35, NAN, healthy_loss))
        .open()
    )
    finding = only(detect(run))
    assert finding.step == 20
    assert finding.where[0] == "stem"  # a module that produced non-finite output leads
    assert "head.weight" in finding.where


def test_evidence_modules_at_first_step_lists_only_modules(tmp_path):
    run = (
        three_modules(tmp_path)
        .steps(range(0, 60, 5),
               act={"head": {"act_nonfinite": when(lambda s: s >= 20, 1, 0)},
                    "stem": {"act_nonfinite": when(lambda s: s >= 30, 1, 0)}},
               grad_norm={"head.weight": when(lambda s: s >= 20, NAN, 0.5)},
               weight_norm={"head.weight": when(lambda s: s >= 20, NAN, 1.0)})
        .open()
    )
    finding = only(detect(run))
    assert finding.where[:2] == ["head", "head.weight"]
    assert finding.evidence["modules_nonfinite_at_that_step"] == ["head"]


def test_amp_skipped_steps_before_the_break_do_not_lead_where(tmp_path):
    k = 50
    run = (
        SyntheticRun(tmp_path).mlp([4, 16, 16, 1])
        .steps(range(60),
               # step 3: loss scaling overflow in the early layers' backward (skipped by GradScaler)
               grad_norm={"0.weight": lambda s: INF if s == 3 else 0.5},
               weight_norm={"4.weight": when(lambda s: s >= k, NAN, 1.0)},
               loss=when(lambda s: s >= k, NAN, healthy_loss))
        .open()
    )
    finding = only(detect(run))
    assert finding.step == k
    assert finding.where[0] == "4.weight"


def test_nonfinite_loss_from_the_first_step(tmp_path):
    """Bad inputs: the loss is NaN before any update; nothing finite came before it."""
    run = SyntheticRun(tmp_path).mlp([4, 16, 1]).steps(range(5), loss=NAN).open()
    finding = only(detect(run))
    assert (finding.step, finding.where) == (0, ["loss"])
    assert finding.evidence["last_finite_loss"] is None
