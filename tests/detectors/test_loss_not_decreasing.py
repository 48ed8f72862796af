"""``loss_not_decreasing``: the loss plateaus from the start and never comes down."""

from __future__ import annotations

import numpy as np
import pytest

from gradsight.core.finding import Severity
from gradsight.detectors.loss_not_decreasing import (
    CONVERGED_LEVEL,
    DIP_RATIO,
    KIND,
    MIN_LOSS_STEPS,
    PLATEAU_RATIO,
    detect,
)

from .synthetic import NAN, SyntheticRun, healthy_loss, only

N = 1000


def run_with(tmp_path, losses, name="run"):
    losses = list(losses)
    return (
        SyntheticRun(tmp_path, name).mlp([4, 16, 1])
        .steps(range(10), loss=None)
        .loss(range(len(losses)), losses)
        .open()
    )


def noisy(level, n=N, seed=0, spread=0.5):
    rng = np.random.default_rng(seed)
    return level * (1 + spread * rng.uniform(-1, 1, n))


def test_flat_noisy_loss_fires(tmp_path):
    finding = only(detect(run_with(tmp_path, noisy(0.33))))
    assert finding.kind == KIND and finding.severity == Severity.WARNING
    assert finding.step == 0
    assert finding.where == ["0.weight", "0.bias", "2.weight", "2.bias"]
    ev = finding.evidence
    assert ev["start_level"] == pytest.approx(0.33, rel=0.1)
    assert ev["end_to_start"] == pytest.approx(1.0, abs=0.1)
    assert ev["loss_steps"] == N
    assert any("learning rate" in fix for fix in finding.fixes)
    assert any("Adam" in fix for fix in finding.fixes)  # the synthetic optimizer is SGD


def test_healthy_decreasing_loss(tmp_path):
    assert detect(run_with(tmp_path, [healthy_loss(s) for s in range(N)])) == []


def test_healthy_noisy_decrease(tmp_path):
    losses = noisy(1.0) * np.linspace(2.0, 0.5, N)
    assert detect(run_with(tmp_path, losses)) == []


def test_plateau_then_drop_is_judged_against_the_whole_run(tmp_path):
    """The 2-layer seed net: flat for 40% of the run, then 400x lower."""
    losses = np.where(np.arange(N) < 400, noisy(0.25), noisy(0.25 / 400, seed=1))
    assert detect(run_with(tmp_path, losses)) == []


def test_fast_convergence_then_flat_is_healthy(tmp_path):
    """Converges within the first 2% of steps: the start window is already at the floor, but
    the head (first 1%) is far above it."""
    losses = [0.05 + 3.0 * 0.5**s for s in range(N)]
    assert detect(run_with(tmp_path, losses)) == []


def test_dip_then_back_up_is_not_a_plateau(tmp_path):
    losses = np.concatenate([noisy(1.0, 300), noisy(0.3, 400, seed=1), noisy(1.0, 300, seed=2)])
    assert detect(run_with(tmp_path, losses)) == []


def test_already_converged_loss(tmp_path):
    assert detect(run_with(tmp_path, noisy(CONVERGED_LEVEL * 0.5))) == []


def test_nonfinite_loss_is_left_to_nonfinite(tmp_path):
    losses = list(noisy(0.33))
    losses[500] = NAN
    assert detect(run_with(tmp_path, losses)) == []


@pytest.mark.parametrize("n, fires", [(MIN_LOSS_STEPS, True), (MIN_LOSS_STEPS - 1, False)])
def test_boundary_at_min_loss_steps(tmp_path, n, fires):
    assert len(detect(run_with(tmp_path, [1.0] * n))) == (1 if fires else 0)


@pytest.mark.parametrize("factor, fires", [(1.01, True), (0.99, False)])
def test_boundary_at_plateau_ratio(tmp_path, factor, fires):
    """Constant 1.0, then the last 10% at PLATEAU_RATIO x factor."""
    losses = [1.0] * 900 + [PLATEAU_RATIO * factor] * 100
    assert len(detect(run_with(tmp_path, losses))) == (1 if fires else 0)


@pytest.mark.parametrize("factor, fires", [(1.01, True), (0.99, False)])
def test_boundary_at_dip_ratio(tmp_path, factor, fires):
    losses = [1.0] * 400 + [DIP_RATIO * factor] * 100 + [1.0] * 500
    assert len(detect(run_with(tmp_path, losses))) == (1 if fires else 0)
