"""``saturated_activation``: tanh/sigmoid units stuck near their asymptotes."""

from __future__ import annotations

import numpy as np
import pytest

from gradsight.core.finding import Severity
from gradsight.detectors._common import MIN_STEPS, median_over_steps
from gradsight.detectors.saturated_activation import (
    ERROR_FRACTION,
    KIND,
    WARN_FRACTION,
    detect,
)

from .synthetic import NAN, SyntheticRun, only

STEPS = range(0, 100, 5)


def tanh_mlp(tmp_path, name="run"):
    return SyntheticRun(tmp_path, name).mlp([4, 16, 16, 1], activation="tanh")


def binary_classifier(tmp_path):
    """Linear, tanh, Linear, sigmoid: the sigmoid's output goes to the loss, no module."""
    return (
        SyntheticRun(tmp_path).layer("0", shape=(16, 4)).act("1", "tanh")
        .layer("2", shape=(1, 16)).act("3", "sigmoid")
    )


def test_healthy_tanh_net_has_no_finding(tmp_path):
    act = {"1": {"act_saturated_frac": 0.1}, "3": {"act_saturated_frac": 0.15}}
    assert detect(tanh_mlp(tmp_path).steps(STEPS, act=act).open()) == []


def test_saturated_hidden_layer(tmp_path):
    act = {"1": {"act_saturated_frac": 0.7}}
    finding = only(detect(tanh_mlp(tmp_path).steps(STEPS, act=act).open()))
    assert finding.kind == KIND == "saturated_activation"
    assert finding.severity == Severity.WARNING
    assert finding.where == ["0.weight", "0.bias", "1"]
    assert finding.step == 0
    assert finding.evidence["saturated_fraction_median"] == pytest.approx({"1": 0.7})
    assert any('xavier_normal_(model[0].weight, gain=torch.nn.init.calculate_gain("tanh"))'
               in f for f in finding.fixes)
    assert any("LayerNorm" in f for f in finding.fixes)


def test_fully_saturated_is_an_error_and_layers_come_in_forward_order(tmp_path):
    act = {"3": {"act_saturated_frac": 0.99}, "1": {"act_saturated_frac": 0.6}}
    finding = only(detect(tanh_mlp(tmp_path).steps(STEPS, act=act).open()))
    assert finding.severity == Severity.ERROR
    assert finding.where == ["0.weight", "0.bias", "1", "2.weight", "2.bias", "3"]


@pytest.mark.parametrize("factor, fires", [(0.99, False), (1.0, True), (1.01, True)])
def test_boundary_at_warn_fraction(tmp_path, factor, fires):
    act = {"1": {"act_saturated_frac": WARN_FRACTION * factor}}
    findings = detect(tanh_mlp(tmp_path).steps(STEPS, act=act).open())
    assert [f.severity for f in findings] == ([Severity.WARNING] if fires else [])


@pytest.mark.parametrize("factor, severity", [(0.99, Severity.WARNING), (1.0, Severity.ERROR)])
def test_boundary_at_error_fraction(tmp_path, factor, severity):
    act = {"1": {"act_saturated_frac": ERROR_FRACTION * factor}}
    assert only(detect(tanh_mlp(tmp_path).steps(STEPS, act=act).open())).severity == severity


@pytest.mark.parametrize("n, fires", [(MIN_STEPS, True), (MIN_STEPS - 1, False)])
def test_boundary_at_min_steps(tmp_path, n, fires):
    act = {"1": {"act_saturated_frac": 1.0}}
    assert len(detect(tanh_mlp(tmp_path).steps(range(n), act=act).open())) == int(fires)


def test_saturation_that_recovers_by_the_end_is_no_finding(tmp_path):
    act = {"1": {"act_saturated_frac": lambda s: 0.9 if s < 80 else 0.05}}
    assert detect(tanh_mlp(tmp_path).steps(STEPS, act=act).open()) == []


def test_a_brief_saturation_is_no_finding(tmp_path):
    act = {"1": {"act_saturated_frac": lambda s: 0.9 if s >= 80 else 0.05}}
    assert detect(tanh_mlp(tmp_path).steps(STEPS, act=act).open()) == []


def test_confident_sigmoid_output_late_in_training_is_not_saturation(tmp_path):
    act = {"3": {"act_saturated_frac": lambda s: 0.0 if s < 30 else 0.95}}
    assert detect(binary_classifier(tmp_path).steps(STEPS, act=act).open()) == []


def test_sigmoid_output_saturated_from_the_start_is_at_most_a_warning(tmp_path):
    act = {"3": {"act_saturated_frac": 1.0}}
    finding = only(detect(binary_classifier(tmp_path).steps(STEPS, act=act).open()))
    assert finding.severity == Severity.WARNING
    assert finding.where == ["2.weight", "2.bias", "3"]
    assert finding.evidence["output_layer"] == ["3"]


def test_relu_modules_are_not_judged(tmp_path):
    act = {"1": {"act_saturated_frac": 1.0}}
    assert detect(SyntheticRun(tmp_path).mlp([4, 16, 1]).steps(STEPS, act=act).open()) == []


def test_nonfinite_values_are_skipped(tmp_path):
    act = {"1": {"act_saturated_frac": NAN}}
    assert detect(tanh_mlp(tmp_path).steps(STEPS, act=act).open()) == []


# The default schedule's records of a 435-step run: steps 0-9, then one in 100, and the last.
SCHEDULE = [*range(10), 100, 200, 300, 400, 434]


def test_saturation_from_step_50_on_is_judged_over_the_steps_not_the_records(tmp_path):
    """Saturated from step 50 to the end (96%), under 5% in the first ten steps: ten of the
    fifteen records are of those first steps, a plain median over the records reads 5%."""
    act = {"1": {"act_saturated_frac": lambda s: 0.96 if s >= 50 else 0.05}}
    finding = only(detect(tanh_mlp(tmp_path).steps(SCHEDULE, act=act).open()))
    assert finding.kind == KIND and finding.evidence["saturated_fraction_median"]["1"] == 0.96


def test_saturated_only_in_the_first_steps_is_not_a_finding(tmp_path):
    act = {"1": {"act_saturated_frac": lambda s: 0.96 if s < 10 else 0.05}}
    assert detect(tanh_mlp(tmp_path).steps(SCHEDULE, act=act).open()) == []


@pytest.mark.parametrize("seed", range(5))
def test_median_over_steps_against_repeated_values(seed):
    """Oracle: numpy's median of each record repeated once per step it stands for (until the
    next record; the last stands for itself). The steps span an odd count, so numpy's median
    is one of the values."""
    rng = np.random.default_rng(seed)
    steps = np.sort(rng.choice(1000, size=int(rng.integers(3, 40)), replace=False))
    if (steps[-1] - steps[0]) % 2:
        steps = steps[:-1]
    values = rng.normal(size=steps.size)
    repeated = np.repeat(values, np.diff(steps, append=steps[-1] + 1))
    order = rng.permutation(steps.size)  # records in any order
    assert median_over_steps(steps[order], values[order]) == float(np.median(repeated))
