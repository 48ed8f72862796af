"""``loss_diverging``: the loss grows, jumps up and stays up, or grows until it is NaN/Inf."""

from __future__ import annotations

import numpy as np
import pytest

from gradsight.core.finding import Severity
from gradsight.detectors.loss_diverging import (
    GROWTH_LIMIT,
    JUMP_LIMIT,
    KIND,
    MAX_WINDOW,
    MIN_LOSSES,
    detect,
)

from .synthetic import INF, NAN, SyntheticRun, healthy_loss, only, when

STEPS = range(0, 100, 5)
EVERY = range(300)


def run_with(tmp_path, spec, steps=EVERY):
    return SyntheticRun(tmp_path).mlp([4, 16, 1]).loss(steps, spec).open()


def test_healthy_run_has_no_finding(tmp_path):
    assert detect(SyntheticRun(tmp_path).mlp([4, 16, 1]).steps(STEPS).open()) == []


def test_loss_that_falls_then_grows(tmp_path):
    def loss(s):
        return 2.0 * 0.98**s if s < 150 else 2.0 * 0.98**150 * 1.05 ** (s - 150)

    finding = only(detect(run_with(tmp_path, loss)))
    assert finding.kind == KIND == "loss_diverging"
    assert finding.severity == Severity.WARNING
    assert finding.where == ["loss"]
    # where it turned: the last time within 2x of the minimum (150 + one doubling, ~14 steps),
    # moved back half a window for the lag of the trailing median
    assert 140 <= finding.step <= 170
    ev = finding.evidence
    assert 140 <= ev["min_loss_step"] <= 170
    assert ev["min_loss"] == pytest.approx(loss(150), rel=0.3)  # a median over the V
    assert ev["final_loss"] > GROWTH_LIMIT * ev["min_loss"]
    assert ev["growth_factor"] == pytest.approx(ev["final_loss"] / ev["min_loss"])
    assert ev["peak_loss_step"] == 299
    assert ev["first_nonfinite_step"] is None
    assert ev["smoothing_window"] == 30
    assert finding.fixes[0] == "lower the learning rate about 10x"
    assert any("clip_grad_norm_" in fix for fix in finding.fixes)
    assert any("schedule" in fix for fix in finding.fixes)


@pytest.mark.parametrize("factor, fires", [(0.99, False), (1.0, False), (1.01, True)])
def test_boundary_at_growth_limit(tmp_path, factor, fires):
    """Starts at 0.5, sits at 0.1 in the middle, ends at factor x GROWTH_LIMIT x 0.1 (> start)."""
    low = 0.1
    run = run_with(tmp_path, lambda s: 0.5 if s < 60 else low if s < 180 else
                   low * GROWTH_LIMIT * factor)
    findings = detect(run)
    assert [f.kind for f in findings] == ([KIND] if fires else [])
    if fires:
        assert findings[0].evidence["min_loss"] == pytest.approx(low)


def test_ending_above_the_minimum_but_below_the_start_is_not_divergence(tmp_path):
    run = run_with(tmp_path, lambda s: 100.0 if s < 60 else 0.01 if s < 180 else 5.0)
    assert detect(run) == []


def test_a_brief_spike_that_recovers(tmp_path):
    run = run_with(tmp_path, lambda s: 1e4 if 100 <= s < 110 else healthy_loss(s))
    assert detect(run) == []


def test_warm_up_bump_then_descent(tmp_path):
    run = run_with(tmp_path, lambda s: 2.0 + s / 10 if s < 30 else 5.0 * 0.98 ** (s - 30))
    assert detect(run) == []


def test_noisy_single_sample_losses_on_a_plateau_then_a_drop(tmp_path):
    """Seed 000/001 depth 2: x^2 for x ~ U(-1, 1) each step (0 to 1, often ~0), then ~0."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, size=3000)
    noise = rng.uniform(0, 1, size=3000)
    losses = [x[i] ** 2 if i < 2000 else 1e-4 * noise[i] ** 2 for i in range(3000)]
    assert detect(run_with(tmp_path, losses, range(3000))) == []


def test_window_is_capped(tmp_path):
    def loss(s):
        return 1.0 if s < 2000 else 1.0 * 1.01 ** (s - 2000)

    finding = only(detect(run_with(tmp_path, loss, range(3000))))
    assert finding.evidence["smoothing_window"] == MAX_WINDOW


def test_growth_then_nonfinite_is_an_error(tmp_path):
    run = run_with(tmp_path, lambda s: 1.0 * 3.0**s if s < 8 else NAN, range(20))
    finding = only(detect(run))
    assert finding.severity == Severity.ERROR
    assert finding.step == 0
    ev = finding.evidence
    assert ev["first_nonfinite_step"] == 8
    assert ev["final_loss"] == pytest.approx(3.0**7)
    assert ev["min_loss"] == pytest.approx(1.0)
    assert "non-finite at step 8" in finding.summary


def test_healthy_loss_that_suddenly_turns_nonfinite_is_left_to_nonfinite(tmp_path):
    run = run_with(tmp_path, when(lambda s: s >= 150, INF, healthy_loss))
    assert detect(run) == []


@pytest.mark.parametrize("n, fires", [(MIN_LOSSES, True), (MIN_LOSSES - 1, False)])
def test_boundary_at_min_losses(tmp_path, n, fires):
    run = run_with(tmp_path, lambda s: 10.0**s, range(n))
    assert [f.kind for f in detect(run)] == ([KIND] if fires else [])


def test_a_loss_that_reaches_zero_or_below_is_not_judged(tmp_path):
    run = run_with(tmp_path, lambda s: -1.0 if s < 150 else 50.0)
    assert detect(run) == []


@pytest.mark.parametrize("factor, fires", [(0.99, False), (1.01, True)])
def test_a_jump_that_stays_up(tmp_path, factor, fires):
    """Adam at lr 1: cross-entropy 2.3 (chance) jumps to ~21 and stays: 9.3x, under
    GROWTH_LIMIT but JUMP_LIMIT above both the start and the best."""
    run = run_with(tmp_path, lambda s: 2.3 if s < 20 else 2.3 * JUMP_LIMIT * factor)
    assert [f.kind for f in detect(run)] == ([KIND] if fires else [])
    if fires:
        assert only(detect(run)).evidence["jump_limit"] == JUMP_LIMIT


def test_a_jump_with_two_optimizers_is_left_alone(tmp_path):
    """A GAN's recorded loss mixes two objectives: a generator loss rising 0.7 -> 5 is no
    failure. The 10x rule still applies; the jump rule does not."""
    run = SyntheticRun(tmp_path).mlp([4, 16, 1])
    run.param("d.weight", [1, 4], optimizer_type="Adam")
    run.params["d.weight"]["optimizer"] = 1
    view = run.loss(EVERY, lambda s: 0.7 if s < 20 else 0.7 * JUMP_LIMIT * 1.5).open()
    assert detect(view) == []


def test_a_run_that_breaks_within_a_few_steps(tmp_path):
    """SGD at lr 1e3: 267, 146, 7e5, 3e16, NaN: four finite losses, judged unsmoothed."""
    values = [267.0, 146.0, 6.9e5, 3.1e16]
    run = run_with(tmp_path, lambda s: values[s] if s < 4 else NAN, range(6))
    finding = only(detect(run))
    assert finding.severity == Severity.ERROR
    assert finding.evidence["min_loss"] == 146.0
    assert finding.evidence["first_nonfinite_step"] == 4
    assert finding.evidence["smoothing_window"] == 1


def test_one_finite_loss_then_nan_is_left_to_nonfinite(tmp_path):
    run = run_with(tmp_path, lambda s: 2.3 if s < 1 else NAN, range(6))
    assert detect(run) == []


def test_a_jump_of_the_median_alone_is_a_change_of_shape(tmp_path):
    """The scenario's medians alone would call it a jump (5x above the start and the minimum,
    under the growth limit); its means did not move 5x, so there is no finding."""
    import numpy as np

    from gradsight.detectors import loss_diverging as L

    values = np.array([L._reshaped(s) for s in L.RESHAPED_STEPS])
    window = int(np.clip(round(len(values) * L.WINDOW_FRACTION), L.MIN_WINDOW, L.MAX_WINDOW))
    smooth = L._moving_median(values, window)
    head = int(np.clip(np.ceil((L._log_noise(values) / L.LEVEL_PRECISION) ** 2), 1, window))
    start, lowest, end = smooth[head - 1], smooth[head - 1:].min(), smooth[-1]
    assert end > L.JUMP_LIMIT * start and end > L.JUMP_LIMIT * lowest  # the medians jumped
    assert not end > L.GROWTH_LIMIT * lowest  # (the growth rule needs no mean)
    assert not L._mean_agrees(values, window, head)
    run = L.SCENARIOS["healthy_median_moves_mean_does_not"].run(tmp_path, "run")
    assert L.detect(run) == []
