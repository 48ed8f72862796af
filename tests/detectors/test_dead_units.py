"""``dead_units``: ReLU units that output zero for every input, to the end of the run."""

from __future__ import annotations

import pytest

from gradsight.core.finding import Severity
from gradsight.detectors._common import MIN_STEPS
from gradsight.detectors.dead_units import (
    ERROR_FRACTION,
    KIND,
    LEARNED_FACTOR,
    MIN_WINDOWS,
    WARN_FRACTION,
    WINDOW,
    detect,
)

from .synthetic import NAN, SyntheticRun, only

STEPS = list(range(40))  # 8 windows of 5 recorded steps


def window(value, every=WINDOW):
    """``dead_frac_window`` as the adapter writes it: at every WINDOW-th recorded step."""

    def spec(step):
        if (step + 1) % every:
            return None
        return value(step) if callable(value) else value

    return spec


def mlp(tmp_path, name="run"):
    return SyntheticRun(tmp_path, name).mlp([4, 16, 16, 1])


def test_healthy_relu_net_has_no_finding(tmp_path):
    act = {"1": {"dead_frac": 0.2, "dead_frac_window": window(0.1)},
           "3": {"dead_frac": 0.3, "dead_frac_window": window(0.15)}}
    assert detect(mlp(tmp_path).steps(STEPS, act=act).open()) == []


def test_whole_layer_dead_is_an_error(tmp_path):
    act = {"1": {"dead_frac": 1.0, "dead_frac_window": window(1.0)}}
    finding = only(detect(mlp(tmp_path).steps(STEPS, act=act).open()))
    assert finding.kind == KIND == "dead_units"
    assert finding.severity == Severity.ERROR
    assert finding.where == ["0.weight", "0.bias", "1"]
    assert finding.step == 0
    assert finding.evidence["dead_fraction"] == {"1": pytest.approx(1.0)}
    assert finding.evidence["units"] == {"1": 16}
    assert "passes nothing" in finding.summary
    assert any('kaiming_normal_(model[0].weight, nonlinearity="relu")' in f
               for f in finding.fixes)
    assert any("constant_(model[0].bias" in f for f in finding.fixes)
    assert any("LeakyReLU" in f for f in finding.fixes)


def test_half_dead_is_a_warning_and_layers_come_in_forward_order(tmp_path):
    act = {"3": {"dead_frac_window": window(0.6)}, "1": {"dead_frac_window": window(0.7)}}
    finding = only(detect(mlp(tmp_path).steps(STEPS, act=act).open()))
    assert finding.severity == Severity.WARNING
    assert finding.where == ["0.weight", "0.bias", "1", "2.weight", "2.bias", "3"]
    assert finding.evidence["dead_fraction"] == pytest.approx({"1": 0.7, "3": 0.6})


def test_units_that_recover_are_a_transient(tmp_path):
    act = {"1": {"dead_frac_window": window(lambda s: 1.0 if s < 30 else 0.1)}}
    assert detect(mlp(tmp_path).steps(STEPS, act=act).open()) == []


def test_step_is_the_start_of_the_first_window_of_the_stretch_to_the_end(tmp_path):
    """Dead from step 20 on: windows end at 24, 29, ...; the one ending at 24 began at 20;
    an earlier dead window (ending at 4) that recovered does not count."""
    act = {"1": {"dead_frac_window": window(lambda s: 1.0 if s >= 20 or s < 5 else 0.0)}}
    assert only(detect(mlp(tmp_path).steps(STEPS, act=act).open())).step == 20


@pytest.mark.parametrize("factor, fires", [(0.99, False), (1.0, True), (1.01, True)])
def test_boundary_at_warn_fraction(tmp_path, factor, fires):
    act = {"1": {"dead_frac_window": window(WARN_FRACTION * factor)}}
    findings = detect(mlp(tmp_path).steps(STEPS, act=act).open())
    assert [(f.where, f.severity) for f in findings] == (
        [(["0.weight", "0.bias", "1"], Severity.WARNING)] if fires else [])


@pytest.mark.parametrize("factor, severity", [(0.99, Severity.WARNING), (1.0, Severity.ERROR)])
def test_boundary_at_error_fraction(tmp_path, factor, severity):
    act = {"1": {"dead_frac_window": window(min(ERROR_FRACTION * factor, 1.0))}}
    assert only(detect(mlp(tmp_path).steps(STEPS, act=act).open())).severity == severity


@pytest.mark.parametrize("n, fires", [(MIN_WINDOWS, True), (MIN_WINDOWS - 1, False)])
def test_boundary_at_min_windows(tmp_path, n, fires):
    """The last n windows dead (earlier ones healthy), with per-step values that alone would
    not make a finding."""
    last = len(STEPS) // WINDOW - n
    act = {"1": {"dead_frac": 0.4,
                 "dead_frac_window": window(lambda s: 1.0 if s // WINDOW >= last else 0.0)}}
    assert len(detect(mlp(tmp_path).steps(STEPS, act=act).open())) == (1 if fires else 0)


def test_small_batches_that_look_dead_step_by_step_are_not_dead(tmp_path):
    """A tiny batch leaves most units at zero at each step, but different ones: the windows
    (the union over 5 steps) show the layer alive."""
    act = {"1": {"dead_frac": 0.8, "dead_frac_window": window(0.2)}}
    assert detect(mlp(tmp_path).steps(STEPS, act=act).open()) == []


def test_short_run_without_windows_falls_back_on_per_step_dead_fraction(tmp_path):
    act = {"1": {"dead_frac": 1.0}}
    finding = only(detect(mlp(tmp_path).steps(range(MIN_STEPS), act=act).open()))
    assert finding.severity == Severity.ERROR
    assert finding.evidence["judged_on"] == {"1": "per_step_bound"}
    assert finding.where == ["0.weight", "0.bias", "1"]


def test_short_run_fallback_needs_min_steps(tmp_path):
    act = {"1": {"dead_frac": 1.0}}
    assert detect(mlp(tmp_path).steps(range(MIN_STEPS - 1), act=act).open()) == []


@pytest.mark.parametrize("per_step, fires", [(0.9, True), (0.8, False)])
def test_short_run_fallback_uses_a_lower_bound_on_units_dead_throughout(tmp_path, per_step,
                                                                        fires):
    """Per-step dead sets over 3 steps overlap in at least 1 - 3 x (1 - f) of the units:
    0.7 for f = 0.9 (a warning), 0.4 for f = 0.8 (could be different units: no finding)."""
    act = {"1": {"dead_frac": per_step}}
    findings = detect(mlp(tmp_path).steps(range(3), act=act).open())
    assert [f.severity for f in findings] == ([Severity.WARNING] if fires else [])


def test_leaky_relu_is_not_judged(tmp_path):
    run = (
        SyntheticRun(tmp_path).mlp([4, 16, 16, 1], activation="leaky_relu")
        .steps(STEPS, act={"1": {"dead_frac": 1.0, "dead_frac_window": window(1.0)}})
        .open()
    )
    assert detect(run) == []


def test_nonfinite_windows_are_not_dead(tmp_path):
    act = {"1": {"dead_frac": NAN, "dead_frac_window": window(NAN)}}
    assert detect(mlp(tmp_path).steps(STEPS, act=act).open()) == []


def test_relu_after_a_batchnorm_names_the_norm_as_the_feeding_layer(tmp_path):
    run = (
        SyntheticRun(tmp_path)
        .layer("0", shape=(16, 4)).batchnorm("1", 16).act("2").layer("3", shape=(1, 16))
        .steps(STEPS, act={"2": {"dead_frac_window": window(1.0)}})
        .open()
    )
    assert only(detect(run)).where == ["1.weight", "1.bias", "2"]


def test_without_recorded_data_flow_the_nearest_earlier_layer_feeds(tmp_path):
    """``gradsight.watch`` may describe modules before a forward pass: no ``inputs_from``."""
    run = (
        SyntheticRun(tmp_path)
        .layer("0", shape=(16, 4), inputs_from=[]).act("1", inputs_from=[])
        .layer("2", shape=(1, 16), inputs_from=[])
        .steps(STEPS, act={"1": {"dead_frac_window": window(1.0)}})
        .open()
    )
    assert only(detect(run)).where == ["0.weight", "0.bias", "1"]


def test_units_that_die_after_the_dense_start_are_found(tmp_path):
    """Default schedule, 600 steps: recorded 0-9, then every 100. Units die at step ~50: the
    windows (written every 5th recorded step: 4, 9, 500) show alive, alive, then one dead
    window spanning 500 steps; the per-step bound decides."""
    steps = list(range(10)) + list(range(100, 700, 100))
    dead = lambda s: 0.99 if s >= 100 else 0.1  # noqa: E731
    windows = {4: 0.05, 9: 0.05, 500: 0.99}
    act = {"1": {"dead_frac": dead, "dead_frac_window": lambda s: windows.get(s)}}
    finding = only(detect(mlp(tmp_path).steps(steps, act=act).open()))
    assert finding.severity == Severity.ERROR
    assert finding.step == 100
    assert finding.evidence["judged_on"] == {"1": "per_step_bound"}
    assert finding.evidence["dead_fraction"]["1"] >= ERROR_FRACTION


@pytest.mark.parametrize("dead_at_end, fires", [(0.99, True), (0.6, False)])
def test_bound_after_a_single_dead_window(tmp_path, dead_at_end, fires):
    """Boundary: one dead window is not enough; the per-step bound must reach WARN_FRACTION
    (0.99 dead at 6 steps: bound 0.94; 0.6 dead: far below 0)."""
    steps = list(range(10)) + list(range(100, 700, 100))
    dead = lambda s: dead_at_end if s >= 100 else 0.1  # noqa: E731
    windows = {4: 0.05, 9: 0.05, 500: dead_at_end}
    act = {"1": {"dead_frac": dead, "dead_frac_window": lambda s: windows.get(s)}}
    findings = detect(mlp(tmp_path).steps(steps, act=act).open())
    assert bool(findings) is fires


def test_nan_activations_are_not_dead_units(tmp_path):
    """NaN is never positive, so a NaN layer looks 100% dead: that is nonfinite's finding."""
    act = {"1": {"dead_frac": 1.0, "dead_frac_window": window(1.0),
                 "act_nonfinite": lambda s: 1.0 if s >= 20 else 0.0}}
    assert detect(mlp(tmp_path).steps(STEPS, act=act).open()) == []


@pytest.mark.parametrize("fell, severity", [
    (LEARNED_FACTOR * 1.01, Severity.INFO), (LEARNED_FACTOR * 0.99, Severity.WARNING)])
def test_half_dead_layer_in_a_run_that_learned_anyway_is_info(tmp_path, fell, severity):
    """Boundary at LEARNED_FACTOR: the loss (every step) falls from 1 to 1/fell."""
    act = {"1": {"dead_frac": 0.6, "dead_frac_window": window(0.6)}}
    run = mlp(tmp_path).steps(STEPS, act=act, loss=None)
    run.loss(range(200), lambda s: 1.0 if s < 20 else 1.0 / fell)
    finding = only(detect(run.open()))
    assert finding.severity == severity
    assert finding.evidence["loss_fell_factor"] == pytest.approx(fell)


def test_a_whole_dead_layer_stays_an_error_however_the_loss_fell(tmp_path):
    act = {"1": {"dead_frac": 1.0, "dead_frac_window": window(1.0)}}
    run = mlp(tmp_path).steps(STEPS, act=act, loss=None)
    run.loss(range(200), lambda s: 1.0 if s < 20 else 1e-4)
    assert only(detect(run.open())).severity == Severity.ERROR
