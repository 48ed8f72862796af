"""``loss_not_decreasing``: the loss plateaus from the start and never comes down.

Judged on robust levels of the recorded loss (medians, so per-sample noise does not matter):
the *head* (first 1% of steps), the *start* (first 10%) and the *end* (last 10%). The run is
flat when the end is still above ``PLATEAU_RATIO`` of both the head and the start, and the loss
never went far below its start anywhere in between (a loss that came down and then went back
up is loss_diverging's finding, and a plateau that is later left, as in the 2-layer seed net
flat for 4,000 of 10,000 steps then 400x lower, is judged against the whole run).
"""

from __future__ import annotations

import numpy as np

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


def detect(run: RunView) -> list[Finding]:
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
    where = [p.name for p in run.entities("param")
             if p.get("requires_grad", True) and p.get("optimized", True)]
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


SCENARIOS = {
    "positive_flat": Scenario(_ending_at(1.0).build, Severity.WARNING),
    "healthy": Scenario(lambda run: run.mlp([4, 16, 1]).steps([0, 100, 200], loss=None).loss(LOSS_STEPS)),
    "boundary_falls_enough": _ending_at(0.8),
    "boundary_falls_too_little": Scenario(_ending_at(0.97).build, Severity.WARNING),
}
