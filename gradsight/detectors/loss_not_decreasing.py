"""``loss_not_decreasing``: the loss plateaus from the start and never comes down.

Judged on robust levels of the recorded loss (medians, so per-sample noise does not matter):
the *head* (first 1% of steps), the *start* (first 10%) and the *end* (last 10%). The run is
flat when the end is still above ``PLATEAU_RATIO`` of both the head and the start, and the loss
never went far below its start anywhere in between (a loss that came down and then went back
up is loss_diverging's finding, and a plateau that is later left, as in the 2-layer seed net
flat for 4,000 of 10,000 steps then 400x lower, is judged against the whole run).

Where the adapter measured the loss function's reference, the loss of the best constant
prediction (``metrics.REFERENCE_LOSS``: the entropy of the class frequencies for cross-entropy,
the targets' variance for MSE, ...), the level is judged against it instead: a loss that got
below ``LEARNED_FRACTION`` of it learned something from the inputs (no finding, however short
the run or flat its curve); one that never did learned nothing, whatever its trajectory
(shuffled or misaligned labels, a one-unit softmax, a model that predicts the prior). That is
said after ``MIN_REFERENCE_STEPS`` steps, or earlier for a flat loss stuck ``FAR_ABOVE`` the
reference (below that, a short run may simply not have started learning yet) or where another
finding explains why it cannot learn (``NEEDS_CAUSE``: a vanishing gradient, a dead layer; the
diagnosis drops it without one), and only for a plateau: a loss level with its start, or one
that came down (or back) and settled above the mark (the last two windows level, or the last one
level step by step; a clipped sigmoid output's loss fell from 21.7 to 16.1 and stayed, 5x the
reference). Still coming down from a large start (a bad init) or gone up (``loss_diverging``)
is not flat. A loss identical to the last digit at every step is judged from
``MIN_FLAT_STEPS``: nothing moves it.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from ..core import metrics as m
from ..core.finding import NEEDS_CAUSE, Finding, Severity
from ..core.scenarios import Scenario
from ..core.run_view import RunView
from ..core import advice
from ..core.advice import Fix
from ._common import adversarial, fmt, owner_of
from ._loss_reference import (
    CONVERGED_LEVEL, LEARNED_FRACTION, MIN_WINDOW, NOISE_SIGMAS, criterion_levels,
    probability_inputs, relative_noise, still_falling,
)

KIND = "loss_not_decreasing"
PRIORITY = 50
EXPLAINED_BY = (
    "poor_initialization", "vanishing_gradient", "no_gradient", "stalled_weights",
    "dead_units", "not_optimized", "saturated_activation",
)

# Fewer loss values than this and a flat loss is just a short run (the first few hundred steps
# of many healthy runs look flat under noise).
MIN_LOSS_STEPS = 200
HEAD_FRACTION = 0.01
START_FRACTION = 0.1
END_FRACTION = 0.1
# The end within 10% of the start: no measurable progress (the 3-layer seed: 0.264 vs 0.259).
PLATEAU_RATIO = 0.9
# A window median anywhere below half the start: the loss did come down at some point.
DIP_RATIO = 0.5
# Steps after which a loss still at the reference is a finding: half of MIN_LOSS_STEPS, since a
# level against a reference needs no trend; a healthy MNIST/digits MLP is far below it by then.
MIN_REFERENCE_STEPS = MIN_LOSS_STEPS // 2
# Earlier than that, only a flat loss this far above the reference (a one-unit softmax, a
# loss that cannot move): healthy short runs start near the reference, not at twice it.
FAR_ABOVE = 2.0
MIN_FLAT_STEPS = 2 * MIN_WINDOW
WHAT_THE_REFERENCE_IS = {
    m.FAMILY_CLASSES: "predicting the class frequencies of the labels gives",
    m.FAMILY_BINARY: "predicting each output's positive rate gives",
    m.FAMILY_SQUARED: "predicting the targets' mean gives (their variance)",
    m.FAMILY_ABSOLUTE: "predicting the targets' median gives (their mean absolute deviation)",
}


def detect(run: RunView) -> list[Finding]:
    if adversarial(run):  # a GAN's losses are a game's, not minimized
        return []
    against = _against_reference(run)
    if against is not None:
        return against
    return _plateau(run)


def _level_at_end(values: np.ndarray, count: int) -> bool:
    """Whether the every-step loss over the last window's ``count`` steps is level: its second
    half within PLATEAU_RATIO of its first, within noise. Where the detail windows are coarse
    (a 100-step run has two: steps 0-9 and 10-99), a loss that came down early in the last one
    and then stopped is seen settled only at the finer grain of every step."""
    finite = values[np.isfinite(values)][-count:]
    half = finite.size // 2
    if half < MIN_WINDOW:
        return False
    first, second = float(np.mean(finite[:half])), float(np.mean(finite[half:]))
    slack = NOISE_SIGMAS * relative_noise(finite) / np.sqrt(half)
    return second * (1 + slack) >= PLATEAU_RATIO * first * max(1 - slack, 0.0)


def _came_down_to(values: np.ndarray, end: float) -> bool:
    """Whether the loss settled no higher than its first step (within the plateau's tolerance):
    one that jumped up (Adam at lr 1: 2.3, ~60 over ten steps, settling at ~21) and came part of
    the way back diverged (``loss_diverging``); one back at its first level (2.34, 16 for 16
    steps, then 2.46, the reference 2.30) stopped decreasing where it began."""
    finite = values[np.isfinite(values)]
    return bool(finite.size) and end * PLATEAU_RATIO < float(finite[0])


def _identical(values: np.ndarray) -> bool:
    """The same loss to the last digit at every step: it depends on neither batches nor weights
    (an output that is a constant), however few steps the run had."""
    finite = values[np.isfinite(values)]
    return finite.size >= MIN_FLAT_STEPS and finite.size == values.size and \
        bool(np.all(finite == finite[0]))


def _against_reference(run: RunView) -> list[Finding] | None:
    """The judgement against the best constant prediction's loss; None: no reference known
    (the plateau rule judges)."""
    measured = criterion_levels(run)
    if measured is None:
        return None
    family, levels, counts, reference, steps = measured
    lowest, start, end = float(levels.min()), float(levels[0]), float(levels[-1])
    noise = relative_noise(run.loss.values)
    slack = NOISE_SIGMAS * noise / np.sqrt(counts)  # each window's relative standard error x 3
    high, low = levels * (1 + slack), levels * np.clip(1 - slack, 0, None)
    if high.min() < LEARNED_FRACTION * reference:
        return []  # it learned from its inputs: no flat-loss finding, however short or flat
    # A plateau, within noise: level with its start (flat from the start, at any height), or
    # settled (the last two windows level, or the last one level at the grain of every step): a
    # loss that came down from a bad start and stopped, never below the level of knowing
    # nothing. Still coming down, or going up (loss_diverging's), is no plateau.
    from_start = high[-1] >= PLATEAU_RATIO * low[0]
    # the last two windows level; where the one before is too short to compare with (a
    # 100-step run's windows are steps 0-9 and 10-99), the last one level step by step
    coarse = len(levels) < 2 or counts[-2] < counts[-1] / 2
    settled = (_level_at_end(run.loss.values, int(counts[-1])) if coarse else
               high[-1] >= PLATEAU_RATIO * low[-2]) and _came_down_to(run.loss.values, end)
    if not (from_start or settled) or low[-1] > high[0] / PLATEAU_RATIO:
        return []
    if high[-1] < reference and still_falling(levels, counts, noise, reference):
        return []  # below the reference and still coming down at a pace that matters: learning
    # Too early to tell a slow start from a model that learns nothing, unless the loss is
    # stuck far above the reference or to the last digit, or another finding explains it (a
    # vanishing gradient, a dead layer: NEEDS_CAUSE, kept by the diagnosis only then).
    short = steps < MIN_REFERENCE_STEPS and not (steps >= MIN_FLAT_STEPS and (
        lowest >= FAR_ABOVE * reference or _identical(run.loss.values)))
    if short and steps < MIN_FLAT_STEPS:
        return []
    what = WHAT_THE_REFERENCE_IS.get(family, "the best constant prediction gives")
    mark = (f"{fmt(reference)}, what {what}" if lowest >= reference else
            f"{fmt(LEARNED_FRACTION * reference)}, {LEARNED_FRACTION:.0%} of what {what} "
            f"({fmt(reference)})")
    summary = (f"the loss never got below {mark}: the model learned nothing usable from its "
               f"inputs (its loss was {fmt(lowest)} at its lowest and {fmt(end)} at the end of "
               f"{steps} steps)")
    evidence = {
        "loss_function": family,
        "reference_loss": reference,
        "lowest_level": lowest,
        "start_level": start,
        "end_level": end,
        "lowest_to_reference": lowest / reference,
        "learned_fraction": LEARNED_FRACTION,
        "relative_noise_per_step": noise,
        "steps_judged": steps,
    }
    if short:
        evidence[NEEDS_CAUSE] = True
    fixes = [
        Fix(advice.CHECK_LABELS),
        Fix(advice.CHECK_OUTPUT_LAYER, {"loss": family}),
        Fix(advice.CHECK_OTHER_FINDINGS),
        Fix(advice.RAISE_LR, {"factor": "3-10", "why": "check the loss moves in the first "
                              "steps"}),
    ]
    probabilities = probability_inputs(run, family)
    if probabilities is not None and probabilities >= 0.5:
        # a softmax before a loss that applies one: its gradients are squeezed through twice
        summary += ("; the loss function was given probabilities (rows in [0, 1] summing to "
                    "1) where it takes logits or log-probabilities: a softmax applied twice")
        evidence["probability_inputs"] = probabilities
        fixes.insert(0, fixes.pop(1))
    first = int(run.loss.steps[0]) if len(run.loss.steps) else 0
    return [Finding(KIND, Severity.WARNING, _where(run), first, summary, evidence,
                    advice=fixes)]


def _where(run: RunView) -> list[str]:
    return [p.name for p in run.entities("param")
            if p.get("requires_grad", True) and p.get("optimized", True)]


def _plateau(run: RunView) -> list[Finding]:
    loss = run.loss
    values = loss.values
    n = len(values)
    if n < MIN_LOSS_STEPS or not np.isfinite(values).all():
        return []  # short run, or a non-finite loss (nonfinite's finding)
    head_n = max(MIN_WINDOW, int(n * HEAD_FRACTION))
    start_n = max(MIN_WINDOW, int(n * START_FRACTION))
    end_n = max(MIN_WINDOW, int(n * END_FRACTION))
    head = float(np.median(values[:head_n]))
    start = float(np.median(values[:start_n]))
    end = float(np.median(values[-end_n:]))
    if start <= CONVERGED_LEVEL or head <= CONVERGED_LEVEL:
        return []  # converged already (or a loss that can be negative: ratios mean nothing)
    lowest = min(
        float(np.median(values[i:i + start_n])) for i in range(0, n - start_n + 1, start_n)
    )
    if end < PLATEAU_RATIO * max(head, start) or lowest < DIP_RATIO * start:
        return []
    where = _where(run)
    summary = (
        f"the loss does not decrease: {fmt(start)} over the first {start_n} steps, "
        f"{fmt(end)} over the last {end_n} of {n}"
    )
    evidence = {
        "head_level": head,
        "start_level": start,
        "end_level": end,
        "end_to_start": end / start,
        "lowest_window_level": lowest,
        "plateau_ratio": PLATEAU_RATIO,
        "loss_steps": n,
        "window": start_n,
    }
    optimizers = {p.get("optimizer_kind") for p in run.entities("param")} - {None}
    fixes = [
        Fix(advice.CHECK_OTHER_FINDINGS),
        Fix(advice.RAISE_LR, {"factor": "3-10", "why": "check the loss moves in the first "
                              "steps"}),
        Fix(advice.CHECK_LABELS),
    ]
    if "sgd" in optimizers:
        fixes.append(Fix(advice.USE_OPTIMIZER, {"name": "adam", "lr": 1e-3,
                                                "owner": owner_of(run)}))
    return [Finding(KIND, Severity.WARNING, where, int(loss.steps[0]), summary, evidence,
                    advice=fixes)]


LOSS_STEPS = range(300)


def _ending_at(fraction: float) -> Scenario:
    """A loss that goes from 1.0 straight down to ``fraction`` of it."""
    return Scenario(lambda run: run.mlp([4, 16, 1]).steps([0, 100, 200], loss=None).loss(
        LOSS_STEPS, lambda s: 1.0 - (1.0 - fraction) * s / 299))


# The schedule's detail steps over a 300-step run: the dense start, then one in 100, and the end.
DETAIL = [*range(10), 100, 200, 299]


def _against(level: float, steps: Sequence[int] = DETAIL) -> Scenario:
    """Cross-entropy with 10 balanced classes (reference ln 10), flat at ``level`` x it."""
    return Scenario(lambda run: run.mlp([4, 16, 1]).steps([0, 5], loss=None).loss(
        range(steps[-1] + 1), 2.3 * level).criterion(steps, 2.3 * level, 2.3026))


def _curve(loss: Callable[[int], float], reference: float, steps: int = 300,
           detail: Sequence[int] = DETAIL, widths: Sequence[int] = (4, 16, 1)) -> Scenario:
    """A run whose every-step loss and loss-function windows both follow ``loss``."""
    return Scenario(lambda run: run.mlp(list(widths)).steps([0, 5], loss=None).loss(
        range(steps), loss).criterion(detail, loss, reference))


def _long_fall(level: float, fall: float) -> Scenario:
    """1,800 steps of cross-entropy (reference ln 10) on the default schedule: from 1.8x the
    reference in the first steps, then down linearly from ``level`` x it by ``fall`` x it."""
    return _curve(lambda s: 2.3026 * (level - fall * s / 1800 + 0.8 * np.exp(-s / 20)),
                  2.3026, 1800, [*range(10), *range(100, 1800, 100), 1799])


def _xor_like(s: int) -> float:
    """0.47 falling to 0.265 by step 20, then level (within 1%, alternating)."""
    return max(0.265, 0.47 - 0.0103 * s) * (1 + 0.01 * (-1) ** s)


SCENARIOS = {
    "positive_at_the_reference": Scenario(_against(1.0).build, Severity.WARNING,
                                          first="0.weight"),
    "healthy_learned_below_the_reference": _against(0.3),
    "boundary_just_below_learned": _against(0.95 * LEARNED_FRACTION),
    "boundary_just_above_learned": Scenario(_against(1.02 * LEARNED_FRACTION).build,
                                            Severity.WARNING),
    "boundary_short_run_at_the_reference": Scenario(
        lambda run: run.mlp([4, 16, 1]).steps([0, 5], loss=None).loss(
            range(50), lambda s: 2.3 * (1 + 0.001 * (-1) ** s)).criterion(
            [*range(10), 49], 2.3, 2.3026),
        why="50 steps at the reference, moving in the last digits as batches do, may be a "
            "slow start, not a model that learns nothing"),
    # 50 steps of one loss to the last digit: an output that is a constant, not a slow start
    "positive_short_run_identical_loss": Scenario(
        lambda run: run.mlp([4, 16, 1]).steps([0, 5], loss=None).loss(
            range(50), lambda s: 1.0986123).criterion([*range(10), 49], lambda s: 1.0986123,
                                                     1.0986123),
        Severity.WARNING),
    "positive_short_flat_far_above": Scenario(_against(3.5, [*range(10), 49]).build,
                                              Severity.WARNING),
    "positive_came_down_and_settled_far_above": Scenario(
        _curve(lambda s: 2.3026 * max(5.0, 9 - s / 10), 2.3026).build, Severity.WARNING),
    # 2.3 at step 0, up to 60 in the next steps, then down to a steady 21: it went up
    "boundary_jumped_up_and_settled": Scenario(
        _curve(lambda s: 2.3 if s == 0 else 21.0 + (40.0 if s < 10 else 0.0), 2.3026).build,
        why="a loss that jumped above its start and came part of the way back diverged"),
    # 2.34 at step 0, ~16 for the next 16 steps, back at 2.46 (the reference's 1.07x) to the end
    "positive_jumped_up_and_settled_back_at_the_reference": Scenario(
        _curve(lambda s: 2.34 if s == 0 else (16.0 if s < 17 else 2.46), 2.3026).build,
        Severity.WARNING),
    # 100 steps, windows 0-9 and 10-99: XOR on a linear net comes down to 0.265 by step 20
    # and stays (reference 0.25); the same net still coming down to the end is no plateau
    "positive_settled_inside_a_coarse_window": Scenario(
        _curve(_xor_like, 0.25, 100, [*range(10), 99], (2, 4, 1)).build, Severity.WARNING),
    "boundary_coming_down_through_a_coarse_window": Scenario(
        _curve(lambda s: 0.47 - 0.002 * s, 0.25, 100, [*range(10), 99], (2, 4, 1)).build,
        why="still falling step by step through its last window: not settled"),
    "positive_came_down_and_settled_at_the_reference": Scenario(
        _curve(lambda s: 2.3026 * max(1.0, 3 - s / 10), 2.3026).build, Severity.WARNING),
    "boundary_still_coming_down_to_the_reference": Scenario(
        _curve(lambda s: 2.3 * (5 - 3.8 * s / 299), 2.3026).build,
        why="a loss falling 4x towards the reference from a large start is learning (a bad "
            "init's story), not flat"),
    "positive_flat": Scenario(_ending_at(1.0).build, Severity.WARNING),
    "healthy": Scenario(lambda run: run.mlp([4, 16, 1]).steps([0, 100, 200], loss=None).loss(
        LOSS_STEPS)),
    "boundary_falls_enough": _ending_at(0.8),
    "boundary_falls_too_little": Scenario(_ending_at(0.97).build, Severity.WARNING),
    # 1,800 steps from 1.8x the reference down to 0.92x, 0.02x in its second half: still
    # coming down (it would reach 0.9x within the run's length again), below the prior
    "healthy_below_the_reference_and_still_falling": _long_fall(0.96, 0.04),
    "positive_below_the_reference_creeping": Scenario(_long_fall(0.99, 0.009).build,
                                                      Severity.WARNING),
    "boundary_above_the_reference_and_still_falling": Scenario(
        _long_fall(1.08, 0.04).build, Severity.WARNING,
        why="a loss above the best constant prediction's learned nothing from its inputs, "
            "however steadily it nears it (a broadcast MSE nearing the targets' variance)"),
}
