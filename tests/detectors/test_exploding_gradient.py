"""``exploding_gradient``: gradient norms that grow by orders of magnitude to a violent size."""

from __future__ import annotations

import numpy as np
import pytest

from gradsight.core.finding import Severity
from gradsight.detectors.exploding_gradient import (
    BASELINE_STEPS,
    ERROR_GROWTH,
    GROWTH_LIMIT,
    KIND,
    NONFINITE_GROWTH_LIMIT,
    RATIO_LIMIT,
    UPDATE_LIMIT,
    detect,
)

from .synthetic import NAN, SyntheticRun, healthy_loss, only, when

STEPS = range(0, 100, 5)
START = 5 * (BASELINE_STEPS - 1)  # the last baseline step (steps 0, 5, 10)


def mlp(tmp_path, name="run", **kw):
    return SyntheticRun(tmp_path, name, **kw).mlp([4, 16, 16, 1])


def after_start(later, early):
    return when(lambda s: s > START, later, early)


def test_healthy_run_has_no_finding(tmp_path):
    assert detect(mlp(tmp_path).steps(STEPS).open()) == []


def test_gradients_growing_by_orders_of_magnitude(tmp_path):
    grow = lambda s: 0.1 * 10 ** (s / 25)  # noqa: E731  x10 every 25 steps
    run = mlp(tmp_path).steps(STEPS, grad_to_weight=grow, weight_norm=2.0).open()
    finding = only(detect(run))
    assert finding.kind == KIND == "exploding_gradient"
    assert finding.severity == Severity.WARNING  # ~4000x: below ERROR_GROWTH, still finite
    assert finding.where == ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"]
    # |g|/|w| >= 10 from step 50, growth >= 100x over the median of steps 0-10 from step 55
    assert finding.step == 55
    ev = finding.evidence
    assert ev["first_grad_norm"]["0.weight"] == pytest.approx(2 * grow(5))
    assert ev["peak_step"]["0.weight"] == 95
    assert ev["growth_factor"]["0.weight"] == pytest.approx(grow(95) / grow(5))
    assert ev["grad_to_weight_at_peak"]["0.weight"] == pytest.approx(grow(95))
    assert ev["first_nonfinite_step"] is None
    assert ev["measured"] == "at optimizer.step" and "clipped_grad_norm_at_peak" not in ev
    assert "clip_grad_norm_(model.parameters(), max_norm=1.0)" in " ".join(finding.fixes)
    assert finding.fixes[0].startswith("lower the learning rate about 10x (from 0.1 to 0.01)")


def test_growth_beyond_error_growth_is_an_error(tmp_path):
    run = mlp(tmp_path).steps(STEPS, grad_to_weight=after_start(1e-3 * ERROR_GROWTH * 2, 1e-3),
                              update_to_weight=after_start(1.0, 1e-3)).open()
    assert only(detect(run)).severity == Severity.ERROR


@pytest.mark.parametrize("factor, fires", [(0.99, False), (1.0, True), (1.01, True)])
def test_boundary_at_growth_limit(tmp_path, factor, fires):
    """|g|/|w| is far above the limit after the start; only the growth decides."""
    base = 2 * RATIO_LIMIT / GROWTH_LIMIT
    run = mlp(tmp_path).steps(
        STEPS, grad_to_weight={"0.weight": after_start(base * GROWTH_LIMIT * factor, base)}
    ).open()
    assert [f.where for f in detect(run)] == ([["0.weight"]] if fires else [])


@pytest.mark.parametrize("factor, fires", [(0.99, False), (1.0, True), (1.01, True)])
def test_boundary_at_ratio_limit(tmp_path, factor, fires):
    """Grown 1e4x; the updates stay healthy, so |g|/|w| decides."""
    run = mlp(tmp_path).steps(
        STEPS, grad_to_weight={"2.weight": after_start(RATIO_LIMIT * factor, RATIO_LIMIT * 1e-4)},
        update_to_weight={"2.weight": 1e-3}).open()
    assert [f.where for f in detect(run)] == ([["2.weight"]] if fires else [])


@pytest.mark.parametrize("factor, fires", [(0.99, False), (1.0, True), (1.01, True)])
def test_boundary_at_update_limit(tmp_path, factor, fires):
    """|g|/|w| ~1, as SGD's post-step weights give once the updates dominate them (1/lr): the
    relative update decides."""
    run = mlp(tmp_path).steps(
        STEPS,
        grad_to_weight={"2.weight": after_start(1.0, 1e-3)},
        update_to_weight={"2.weight": after_start(UPDATE_LIMIT * factor, 1e-3)},
    ).open()
    assert [f.where for f in detect(run)] == ([["2.weight"]] if fires else [])


def test_growth_from_a_tiny_start_at_a_gentle_scale_is_not_an_explosion(tmp_path):
    """Seed 000/001 (N(0, 1e-3) init): gradients grow ~500x as it learns, at |g|/|w| ~3."""
    run = mlp(tmp_path).steps(STEPS, grad_to_weight=after_start(3.0, 3.0 / 500)).open()
    assert detect(run) == []


def test_large_init_that_settles_is_not_an_explosion(tmp_path):
    run = mlp(tmp_path).steps(
        STEPS, grad_to_weight=lambda s: 1e3 * 0.9**s, update_to_weight=lambda s: 0.9**s
    ).open()
    assert detect(run) == []


def test_adam_with_big_but_steady_raw_gradients_is_not_an_explosion(tmp_path):
    """N(0, 1)-init CNN under Adam: raw |g|/|w| in the hundreds, updates ~1e-3 of the weight."""
    run = mlp(tmp_path, optimizer_type="Adam").steps(
        STEPS, grad_to_weight=lambda s: 300 * 0.99**s
    ).open()
    assert detect(run) == []


def test_clipped_gradients_that_keep_training_stable(tmp_path):
    """Recorded after clip_grad_norm_(max_norm=1): raw growth beyond 1 never shows."""
    run = mlp(tmp_path).steps(
        STEPS, grad_norm=after_start(1.0, 1e-2), weight_norm=3.0,
        update_to_weight=after_start(0.1 / 3, 1e-3),
    ).open()
    assert detect(run) == []


@pytest.mark.parametrize("violent_updates", [False, True])
def test_explosion_is_judged_before_clipping(tmp_path, violent_updates):
    """clip_grad_norm_(max_norm=1): the optimizer sees ~1, backward computed ~1e3. Contained
    (updates ~1e-3 of the weight) it is info; with updates as large as the weight, a warning."""
    update = UPDATE_LIMIT * 1.5 if violent_updates else 1e-3
    run = mlp(tmp_path).steps(
        STEPS, grad_norm=after_start(1.0, 0.1), grad_norm_preclip=after_start(1e3, 0.1),
        weight_norm=3.0, update_to_weight=after_start(update, 1e-3),
    ).open()
    finding = only(detect(run))
    # 1e4x growth: an error when it reaches the weights, info when clipping contains it
    assert finding.severity == (Severity.ERROR if violent_updates else Severity.INFO)
    ev = finding.evidence
    assert ev["measured"] == "before gradient clipping"
    assert ev["peak_grad_norm"]["0.weight"] == pytest.approx(1e3)
    assert ev["clipped_grad_norm_at_peak"]["0.weight"] == pytest.approx(1.0)
    assert ev["growth_factor"]["0.weight"] == pytest.approx(1e4)
    clip_advice = any(f.startswith("clip the gradient norm") for f in finding.fixes)
    assert clip_advice == violent_updates  # never advise what the script already does


def test_clipping_that_never_engages_changes_nothing(tmp_path):
    """Pre-clip norms equal to the applied ones (below the limit): judged as without a tap."""
    run = mlp(tmp_path).steps(STEPS, grad_norm_preclip=0.1, grad_norm=0.1).open()
    assert detect(run) == []


@pytest.mark.parametrize("nan, fires", [(True, True), (False, False)])
def test_a_tenth_of_the_growth_suffices_when_the_run_goes_nonfinite(tmp_path, nan, fires):
    growth = (NONFINITE_GROWTH_LIMIT + GROWTH_LIMIT) / 2
    run = mlp(tmp_path).steps(
        STEPS,
        grad_to_weight=when(lambda s: s >= 80, NAN, after_start(growth, 1.0)) if nan
        else after_start(growth, 1.0),
        update_to_weight=after_start(1.0, 1e-3),
        loss=when(lambda s: s >= 80, NAN, healthy_loss) if nan else healthy_loss,
    ).open()
    findings = detect(run)
    if not fires:
        assert findings == []
        return
    finding = only(findings)
    assert finding.severity == Severity.ERROR
    assert finding.step == START + 5
    assert finding.evidence["first_nonfinite_step"] == 80
    assert finding.evidence["growth_limit"] == NONFINITE_GROWTH_LIMIT
    assert finding.fixes[0].startswith("clip the gradient norm")


def test_where_is_in_forward_order_with_the_layers_own_bias(tmp_path):
    run = (
        SyntheticRun(tmp_path)
        .module("a", "Linear").act("r").module("b", "Linear")
        .param("b.weight", (1, 16), module="b").param("a.weight", (16, 4), module="a")
        .param("a.bias", (16,), module="a")
        .steps(STEPS, grad_to_weight=after_start(1e3, 1.0))
        .open()
    )
    assert only(detect(run)).where == ["a.weight", "a.bias", "b.weight"]


def test_a_bias_that_does_not_grow_is_left_out(tmp_path):
    run = mlp(tmp_path).steps(
        STEPS, grad_to_weight={"0.weight": after_start(1e3, 1.0), "0.bias": 1.0}
    ).open()
    assert only(detect(run)).where == ["0.weight"]


def test_recurrent_nets_are_told_to_clip_first(tmp_path):
    run = (
        SyntheticRun(tmp_path)
        .layer("rnn", "LSTM", shape=(64, 16)).layer("head", shape=(1, 16))
        .steps(STEPS, grad_to_weight={"rnn.weight": after_start(1e3, 1.0)})
        .open()
    )
    finding = only(detect(run))
    assert finding.where == ["rnn.weight"]
    assert finding.fixes[0].startswith("clip the gradient norm")
    assert "recurrent" in finding.fixes[0]


def test_too_few_steps_to_have_a_start_and_a_later(tmp_path):
    run = mlp(tmp_path).steps(range(BASELINE_STEPS), grad_to_weight=1e6).open()
    assert detect(run) == []


def test_loss_jump_matches_its_definition_at_every_step() -> None:
    """The bisected, memoized windows give what the definition gives by masks over every loss:
    several losses per step, non-finite losses, gaps and the run's two ends included."""
    from gradsight.core.series import Series
    from gradsight.detectors.exploding_gradient import (HARM_AFTER, HARM_BEFORE, LOSS_JUMP,
                                                        LossJump)

    rng = np.random.default_rng(3)
    steps = np.sort(np.concatenate([rng.choice(400, 300, replace=False),
                                    rng.choice(400, 60)])).astype(np.int64)
    values = np.exp(rng.normal(0, 0.6, steps.size))
    values[rng.choice(steps.size, 15, replace=False)] = np.nan
    values[rng.choice(steps.size, 5, replace=False)] = np.inf
    jump = LossJump(Series(steps, values))

    def by_definition(step: int) -> bool:
        before = values[(steps < step) & (steps >= step - HARM_BEFORE)]
        after = values[(steps >= step) & (steps <= step + HARM_AFTER)]
        before, after = before[np.isfinite(before)], after[np.isfinite(after)]
        if not before.size or not after.size:
            return False
        base = float(np.median(before))
        return base > 0 and float(after.max()) >= LOSS_JUMP * base

    answers = [jump(s) for s in range(-30, 440)]
    assert answers == [by_definition(s) for s in range(-30, 440)]
    assert 0 < sum(answers) < len(answers)  # both answers occur: the comparison means something
    assert [jump(s) for s in range(-30, 440)] == answers  # asked again: the kept answers
