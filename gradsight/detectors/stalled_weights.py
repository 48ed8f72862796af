"""``stalled_weights``: optimized, with gradients, yet each step moves it by almost nothing.

Judged on the per-step relative update ||w_after - w_before|| / ||w||. The usual rule of thumb
(CS231n) puts healthy training near 1e-3 per step; 1e-5, a hundred times less, moves a weight
by 1% in a thousand steps. Steps whose learning rate is below a tenth of the run's peak are
left out, so warm-up from 0 and schedules that decay to ~0 at the end are not stalls; so are the
steps after the loss reached its floor (``converged_step``: 100x below its start): a layer
that stops moving once there is nothing left to learn is done, not stalled (a full-batch Adam
run whose loss goes 1.1 -> 6e-6 moves its output bias ~1e-2 of its size per step until then,
and ~1e-6 after, where Adam's steps follow gradients that fell under its epsilon).
"""

from __future__ import annotations

import numpy as np

from ..core.finding import Finding, Severity
from ..core.scenarios import Scenario
from ..core.synthetic import when
from ..core.run_view import RunView
from ..core import advice
from ..core.advice import Fix
from ._common import (
    MIN_STEPS,
    converged_step,
    fmt,
    forward_position,
    is_bias_before_batchnorm,
    layer_ref,
    owner_of,
    param_series,
    ratio,
)

KIND = "stalled_weights"
PRIORITY = 60
EXPLAINED_BY = ("vanishing_gradient", "poor_initialization")

STALL_RATIO = 1e-5
HEALTHY_RATIO = 1e-3
LR_ACTIVE_FRACTION = 0.1


def detect(run: RunView) -> list[Finding]:
    stalled = []
    medians = {}
    converged = converged_step(run)
    for p in param_series(run):
        if not p.entity.get("optimized") or is_bias_before_batchnorm(run, p.entity):
            continue
        known = np.isfinite(p.lr)
        peak = p.lr[known].max(initial=0.0)
        if known.all() and peak <= 0:
            continue  # lr 0 throughout is not_optimized's finding
        # an lr the adapter could not read (NaN) counts as active: the updates still tell
        lr_active = ~known | (p.lr >= LR_ACTIVE_FRACTION * peak)
        active = p.has_grad & lr_active & np.isfinite(p.update)
        if converged is not None:
            active &= p.steps < converged
        if active.sum() < MIN_STEPS:
            continue
        weight = p.weight[active]
        update = p.update[active]
        # a zero weight that does not move is stalled; one that moves is not
        rel = np.where(weight > 0, ratio(update, weight), np.where(update > 0, np.inf, 0.0))
        median = float(np.median(rel))
        if median < STALL_RATIO:
            stalled.append((p, int(p.steps[active][0])))
            medians[p.name] = median
    if not stalled:
        return []
    stalled.sort(key=lambda item: forward_position(run, item[0].entity))
    first = stalled[0][0]
    lr0 = float(np.nanmax(first.lr)) if np.isfinite(first.lr).any() else float("nan")
    factor = min(HEALTHY_RATIO / max(medians[first.name], 1e-12), 1e4)
    summary = (
        f"{first.name} is optimized but moves only {fmt(medians[first.name])} of its size per "
        f"step (healthy training is near {HEALTHY_RATIO:g}), so it effectively does not train"
    )
    fixes = [
        Fix(advice.CHECK_OTHER_FINDINGS, {"why": "if gradients vanish at these layers (see "
                                          "vanishing_gradient), fix the initialization first: "
                                          "the updates follow"}),
        Fix(advice.RAISE_LR, {"factor": float(factor), "layer": layer_ref(run, first.entity),
                              "current": lr0, "new": lr0 * min(factor, 100),
                              "optimizer": first.entity.get("optimizer_type")}),
    ]
    if first.entity.get("optimizer_kind") == "sgd":
        fixes.append(Fix(advice.USE_OPTIMIZER, {"name": "adam", "lr": 1e-3,
                                                "owner": owner_of(run)}))
    return [
        Finding(
            KIND,
            Severity.WARNING,
            [p.name for p, _ in stalled],
            min(step for _, step in stalled),
            summary,
            {
                "update_to_weight_median": medians,
                "threshold": STALL_RATIO,
                "learning_rate": lr0,
                "optimizer": first.entity.get("optimizer_type"),
                **({"judged_before_converged_step": converged} if converged is not None
                   else {}),
            },
            advice=fixes,
        )
    ]


STEPS = range(0, 100, 5)


def _moving(ratio: float) -> Scenario:
    return Scenario(lambda run: run.mlp([4, 16, 16, 1]).steps(
        STEPS, update_to_weight={"2.weight": ratio}))


SCENARIOS = {
    "positive_stalled_layer": Scenario(_moving(1e-8).build, Severity.WARNING,
                                       where=("2.weight",), first="2.weight"),
    "healthy": Scenario(lambda run: run.mlp([4, 16, 16, 1]).steps(STEPS)),
    "boundary_below": Scenario(_moving(0.5 * STALL_RATIO).build, Severity.WARNING),
    "boundary_above": _moving(2 * STALL_RATIO),
    "boundary_stops_after_converging": Scenario(
        lambda run: run.mlp([4, 16, 16, 1]).steps(
            STEPS, update_to_weight={"2.weight": when(lambda s: s >= 30, 1e-8, 1e-3)},
            loss=None).loss(range(100), when(lambda s: s >= 25, 1e-5, 1.0)),
        why="a layer that stops once the loss reached its floor is done, not stalled"),
    "positive_stalled_before_converging": Scenario(
        lambda run: run.mlp([4, 16, 16, 1]).steps(
            STEPS, update_to_weight={"2.weight": 1e-8},
            loss=None).loss(range(100), when(lambda s: s >= 60, 1e-5, 1.0)),
        Severity.WARNING, where=("2.weight",)),
}
