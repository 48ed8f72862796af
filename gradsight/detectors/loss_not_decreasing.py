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
reference (below that, a short run may simply not have started learning yet), and only for a
plateau: a loss level with its start, or one that came down and settled at the reference (the
last two windows level, within ``AT_REFERENCE`` of it). One still coming down from a large start
(a bad init, dead units the output bias works around) or one that went up (``loss_diverging``)
is not flat.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..core import metrics as m
from ..core.finding import Finding, Severity
from ..core.scenarios import Scenario
from ..core.run_view import RunView
from ..core import advice
from ..core.advice import Fix
from ._common import fmt, owner_of

KIND = "loss_not_decreasing"
PRIORITY = 50
EXPLAINED_BY = (
    "poor_initialization", "vanishing_gradient", "no_gradient", "stalled_weights",
    "dead_units", "not_optimized", "saturated_activation",
)

# Fewer loss values than this and a flat loss is just a short run (the first few hundred steps
# of many healthy runs look flat under noise).
MIN_LOSS_STEPS = 200
MIN_WINDOW = 10  # loss values in the smallest window a median is taken over
HEAD_FRACTION = 0.01
START_FRACTION = 0.1
END_FRACTION = 0.1
# The end within 10% of the start: no measurable progress (the 3-layer seed: 0.264 vs 0.259).
PLATEAU_RATIO = 0.9
# A window median anywhere below half the start: the loss did come down at some point.
DIP_RATIO = 0.5
# A start level this small is already converged; there is nothing left to decrease.
CONVERGED_LEVEL = 1e-6
# Against the reference: a loss 10% below the best constant prediction's has explained a tenth
# of what there is to explain (for 10 balanced classes: 2.07 against 2.30 nats, accuracy
# clearly above chance); one that never got there has learned nothing usable from its inputs.
# A knowing-nothing model sits at or just above the reference (the prior is hard to hit
# exactly), so its window means stay above 0.9 of it; healthy runs go far below.
LEARNED_FRACTION = 0.9
# Steps after which a loss still at the reference is a finding: half of MIN_LOSS_STEPS, since a
# level against a reference needs no trend; a healthy MNIST/digits MLP is far below it by then.
MIN_REFERENCE_STEPS = MIN_LOSS_STEPS // 2
# Earlier than that, only a flat loss this far above the reference (a one-unit softmax, a
# loss that cannot move): healthy short runs start near the reference, not at twice it.
FAR_ABOVE = 2.0
# A loss that settled within this factor of the reference sits at the level of knowing nothing
# (such runs end within a few percent of it: 0.99-1.06x measured), whatever came before; one
# still several times above it is busy with something else (a bad init's excess, dead units).
AT_REFERENCE = 1.5
MIN_FLAT_STEPS = 2 * MIN_WINDOW
# A window's mean carries the batches' noise: per step the loss scatters by a relative rho
# (a batch of 32's variance +-25% about the population's), a window of W steps by rho / sqrt(W).
# A window counts as below the mark only when it is there by this many standard errors, so the
# lowest of a few noisy windows of a model that learned nothing does not pass for learning.
NOISE_SIGMAS = 3.0
WHAT_THE_REFERENCE_IS = {
    m.FAMILY_CLASSES: "predicting the class frequencies of the labels gives",
    m.FAMILY_BINARY: "predicting each output's positive rate gives",
    m.FAMILY_SQUARED: "predicting the targets' mean gives (their variance)",
    m.FAMILY_ABSOLUTE: "predicting the targets' median gives (their mean absolute deviation)",
}


def detect(run: RunView) -> list[Finding]:
    against = _against_reference(run)
    if against is not None:
        return against
    return _plateau(run)


def _against_reference(run: RunView) -> list[Finding] | None:
    """The judgement against the best constant prediction's loss; None: no reference known
    (the plateau rule judges)."""
    measured = _criterion(run)
    if measured is None:
        return None
    family, levels, counts, reference, steps = measured
    lowest, start, end = float(levels.min()), float(levels[0]), float(levels[-1])
    noise = _relative_noise(run.loss.values)
    slack = NOISE_SIGMAS * noise / np.sqrt(counts)  # each window's relative standard error x 3
    high, low = levels * (1 + slack), levels * np.clip(1 - slack, 0, None)
    if high.min() < LEARNED_FRACTION * reference:
        return []  # it learned from its inputs: no flat-loss finding, however short or flat
    # A plateau, within noise: level with its start (flat from the start, at any height), or
    # settled at the reference (the last two windows level, the end within AT_REFERENCE of it:
    # a loss that came down from a bad start to the level of knowing nothing and stayed). Still
    # coming down, or going up (loss_diverging's), is no plateau.
    from_start = high[-1] >= PLATEAU_RATIO * low[0]
    settled = len(levels) >= 2 and high[-1] >= PLATEAU_RATIO * low[-2] and \
        end <= AT_REFERENCE * reference
    if not (from_start or settled) or low[-1] > high[0] / PLATEAU_RATIO:
        return []
    if steps < MIN_REFERENCE_STEPS and not (
            steps >= MIN_FLAT_STEPS and lowest >= FAR_ABOVE * reference):
        return []  # too early to tell a slow start from a model that learns nothing
    what = WHAT_THE_REFERENCE_IS.get(family, "the best constant prediction gives")
    summary = (f"the loss never got below {fmt(reference)}, what {what}: the model learned "
               f"nothing from its inputs (its loss was {fmt(lowest)} at its lowest and "
               f"{fmt(end)} at the end of {steps} steps)")
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
    fixes = [
        Fix(advice.CHECK_LABELS),
        Fix(advice.CHECK_OUTPUT_LAYER, {"loss": family}),
        Fix(advice.CHECK_OTHER_FINDINGS),
        Fix(advice.RAISE_LR, {"factor": "3-10", "why": "check the loss moves in the first "
                              "steps"}),
    ]
    first = int(run.loss.steps[0]) if len(run.loss.steps) else 0
    return [Finding(KIND, Severity.WARNING, _where(run), first, summary, evidence,
                    advice=fixes)]


def _relative_noise(values: np.ndarray) -> float:
    """The loss's step-to-step scatter relative to its level: a robust std from the median
    absolute difference of consecutive steps (a trend barely moves it), over the median level."""
    finite = values[np.isfinite(values)]
    if finite.size < 3 or np.median(np.abs(finite)) <= 0:
        return 0.0
    spread = 1.4826 * float(np.median(np.abs(np.diff(finite)))) / np.sqrt(2)
    return spread / float(np.median(np.abs(finite)))


def _criterion(run: RunView) -> tuple[str, np.ndarray, np.ndarray, float, int] | None:
    """(family, window levels of at least MIN_WINDOW steps each and their step counts, the
    reference over all the targets, steps covered) of the loss function the adapter measured; None when there is no
    usable reference (none measured, non-finite, or a degenerate one such as a single class)."""
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
    if len(windows) > 1 and windows[-1][1] < MIN_WINDOW:  # a short last window joins the one before
        last = windows.pop()
        windows[-1] = [windows[-1][0] + last[0], windows[-1][1] + last[1]]
    levels = np.array([total / max(count, 1) for total, count in windows])
    counts = np.array([max(count, 1) for _, count in windows])
    return family, levels, counts, float(finite_refs[-1]), int(covered.values.sum())


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


SCENARIOS = {
    "positive_at_the_reference": Scenario(_against(1.0).build, Severity.WARNING,
                                          first="0.weight"),
    "healthy_learned_below_the_reference": _against(0.3),
    "boundary_just_below_learned": _against(0.95 * LEARNED_FRACTION),
    "boundary_just_above_learned": Scenario(_against(1.02 * LEARNED_FRACTION).build,
                                            Severity.WARNING),
    "boundary_short_run_at_the_reference": Scenario(
        _against(1.0, [*range(10), 49]).build,
        why="50 steps at the reference may be a slow start, not a model that learns nothing"),
    "positive_short_flat_far_above": Scenario(_against(3.5, [*range(10), 49]).build,
                                              Severity.WARNING),
    "positive_came_down_and_settled_at_the_reference": Scenario(
        lambda run: run.mlp([4, 16, 1]).steps([0, 5], loss=None).loss(
            range(300), lambda s: 2.3026 * max(1.0, 3 - s / 10)).criterion(
            DETAIL, lambda s: 2.3026 * max(1.0, 3 - s / 10), 2.3026),
        Severity.WARNING),
    "boundary_still_coming_down_to_the_reference": Scenario(
        lambda run: run.mlp([4, 16, 1]).steps([0, 5], loss=None).loss(
            range(300), lambda s: 2.3 * (5 - 3.8 * s / 299)).criterion(
            DETAIL, lambda s: 2.3 * (5 - 3.8 * s / 299), 2.3026),
        why="a loss falling 4x towards the reference from a large start is learning (a bad "
            "init's story), not flat"),
    "positive_flat": Scenario(_ending_at(1.0).build, Severity.WARNING),
    "healthy": Scenario(lambda run: run.mlp([4, 16, 1]).steps([0, 100, 200], loss=None).loss(LOSS_STEPS)),
    "boundary_falls_enough": _ending_at(0.8),
    "boundary_falls_too_little": Scenario(_ending_at(0.97).build, Severity.WARNING),
}
