"""The loss function's levels against its reference, the loss of the best constant prediction.

Shared by the detectors that ask whether a run learned anything from its inputs
(``loss_not_decreasing`` judges it, ``loss_diverging`` and ``saturated_activation`` read it):
the loss the adapter measured per loss-function call, merged into windows of at least
``MIN_WINDOW`` steps, its step-to-step noise, and whether it is still coming down.
"""

from __future__ import annotations

import numpy as np

from ..core import metrics as m
from ..core.run_view import RunView

MIN_WINDOW = 10  # loss values in the smallest window a median is taken over
# A start level this small is already converged; there is nothing left to decrease.
CONVERGED_LEVEL = 1e-6
# Against the reference: a loss 10% below the best constant prediction's has explained a tenth
# of what there is to explain (10 balanced classes: 2.07 against 2.30 nats, above chance); one
# that never got there learned nothing usable. A knowing-nothing model sits at or just above
# the reference (the prior is hard to hit), above 0.9 of it; healthy runs go far below.
LEARNED_FRACTION = 0.9
# A window's mean carries the batches' noise: per step the loss scatters by a relative rho (a
# batch of 32's variance +-25%), a window of W steps by rho / sqrt(W). A window is below the mark
# only by this many standard errors: a know-nothing model's lowest noisy window is no learning.
NOISE_SIGMAS = 3.0


def probability_inputs(run: RunView, family: str) -> float | None:
    """The median share of the loss calls whose inputs were probabilities (None: unmeasured)."""
    series = run.metric(m.LOSS_ROLE, m.PROBABILITY_INPUTS).get(family)
    values = series.values[np.isfinite(series.values)] if series is not None else np.zeros(0)
    return float(np.median(values)) if values.size else None


def ends_below_reference(run: RunView) -> bool:
    """The loss function's last window ended below ``LEARNED_FRACTION`` of the best constant
    prediction's loss, and not below 0 (a cross-entropy can't be: targets outside its
    domain)."""
    measured = criterion_levels(run)
    if measured is None:
        return False
    _, levels, _, reference, _ = measured
    return 0.0 <= float(levels[-1]) < LEARNED_FRACTION * reference


def reference_loss(run: RunView) -> float | None:
    """The best constant prediction's loss for the run's loss function, where measured."""
    measured = criterion_levels(run)
    return None if measured is None else measured[3]


def still_falling(levels: np.ndarray, counts: np.ndarray, noise: float,
                  reference: float) -> bool:
    """Whether the loss is still coming down on the run's own time scale: its windows over the
    second half of the run fall beyond noise (a weighted line's slope NOISE_SIGMAS standard
    errors below 0; a window's error is the per-step scatter over the root of its steps), fast
    enough to reach the learned mark within as many steps again as the run has had. A
    skip-gram over characters (no model of them does better than 0.87x the prior) falls every
    epoch, 0.937x to 0.923x over its last 500 of 1,800 steps; a softmax applied twice creeps
    0.9% below the prior in 300 steps, a tenth of that pace. Judged only below the reference
    (the caller's): a loss above it learned nothing from its inputs, whatever its trend."""
    ends = np.cumsum(counts)
    half = ends - counts / 2 >= ends[-1] / 2
    if half.sum() < 3:
        return False  # too few windows in the second half to tell a trend from noise
    x, y = ends[half] - counts[half] / 2, levels[half]
    weight = 1.0 / np.maximum(noise * y / np.sqrt(counts[half]), 1e-12 * y) ** 2
    x_mean = float(np.sum(weight * x) / np.sum(weight))
    spread = float(np.sum(weight * (x - x_mean) ** 2))
    slope = float(np.sum(weight * (x - x_mean) * y)) / spread
    beyond_noise = -slope * np.sqrt(spread) > NOISE_SIGMAS
    return beyond_noise and -slope * float(ends[-1]) >= levels[-1] - LEARNED_FRACTION * reference


def relative_noise(values: np.ndarray) -> float:
    """The loss's step-to-step scatter relative to its level: a robust std from the median
    absolute difference of consecutive steps (a trend barely moves it), over the median level."""
    finite = values[np.isfinite(values)]
    if finite.size < 3 or np.median(np.abs(finite)) <= 0:
        return 0.0
    spread = 1.4826 * float(np.median(np.abs(np.diff(finite)))) / np.sqrt(2)
    return spread / float(np.median(np.abs(finite)))


def criterion_levels(run: RunView) -> tuple[str, np.ndarray, np.ndarray, float, int] | None:
    """(family, window levels of at least MIN_WINDOW steps each and their step counts, the
    reference over all the targets, steps covered) of the loss function the adapter measured;
    None when there is no usable reference (none measured, non-finite, or a degenerate one such
    as a single class)."""
    values = run.metric(m.LOSS_ROLE, m.CRITERION_LOSS)
    if not values:
        return None
    family = max(values, key=lambda k: len(values[k]))
    loss = values[family]
    refs = run.metric(m.LOSS_ROLE, m.REFERENCE_LOSS).get(family)
    covered = run.metric(m.LOSS_ROLE, m.CRITERION_STEPS).get(family)
    if refs is None or covered is None or len(covered) != len(loss):
        return None
    finite_refs = refs.values[np.isfinite(refs.values)]
    if not finite_refs.size or finite_refs[-1] <= CONVERGED_LEVEL:
        return None
    if not np.isfinite(loss.values).all():
        return None  # a non-finite loss is nonfinite's finding
    windows: list[list[float]] = []  # [sum of value x steps, steps], MIN_WINDOW steps or more
    for value, count in zip(loss.values, covered.values):
        if windows and windows[-1][1] < MIN_WINDOW:
            windows[-1][0] += value * count
            windows[-1][1] += count
        else:
            windows.append([value * count, count])
    if len(windows) > 1 and windows[-1][1] < MIN_WINDOW:  # a short last window joins
        last = windows.pop()
        windows[-1] = [windows[-1][0] + last[0], windows[-1][1] + last[1]]
    levels = np.array([total / max(count, 1) for total, count in windows])
    counts = np.array([max(count, 1) for _, count in windows])
    return family, levels, counts, float(finite_refs[-1]), int(covered.values.sum())
