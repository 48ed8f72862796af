"""``not_optimized``: a parameter gets gradients but no optimizer updates it.

Two mechanisms: it is in no optimizer's param groups (a layer created after the optimizer, an
optimizer built from ``model.head.parameters()`` only), or its learning rate is 0 at every
recorded step (a warm-up from 0 for a few steps is not that). A parameter that moved at some
recorded step was updated by an optimizer: one that trained it in an earlier phase and is gone
(a distillation's teacher, whose gradients stay on it from its last step), not this.
"""

from __future__ import annotations

import numpy as np

from ..core.finding import Finding, Severity
from ..core.scenarios import Scenario
from ..core.synthetic import when
from ..core.run_view import RunView
from ..core import advice
from ..core.advice import Fix
from ._common import forward_position, layer_ref, param_series

KIND = "not_optimized"
PRIORITY = 20


def detect(run: RunView) -> list[Finding]:
    outside, zero_lr = [], []
    for p in param_series(run):
        if not p.has_grad.any() or not np.nan_to_num(p.grad, nan=0.0).any():
            continue
        if not p.entity.get("optimized"):
            if not (np.nan_to_num(p.update, nan=0.0) > 0).any():  # moved: it was optimized
                outside.append(p)
        elif np.all(p.lr == 0):  # NaN (an lr the adapter could not read) is not 0
            zero_lr.append(p)
    findings = []
    if outside:
        outside.sort(key=lambda p: forward_position(run, p.entity))
        first = outside[0]
        findings.append(
            Finding(
                KIND,
                Severity.WARNING,
                [p.name for p in outside],
                int(first.steps[first.has_grad][0]),
                f"{first.name} receives gradients but is in no optimizer's parameter groups, so it "
                "never changes",
                {
                    "grad_norm_median": {p.name: float(np.nanmedian(p.grad)) for p in outside},
                    "reason": "not in any optimizer",
                },
                advice=[
                    Fix(advice.OPTIMIZE_ALL, {"layer": layer_ref(run, first.entity)}),
                    Fix(advice.ADD_PARAM_GROUP, {"layer": layer_ref(run, first.entity)}),
                    Fix(advice.FREEZE_EXPLICITLY, {"layer": layer_ref(run, first.entity)}),
                ],
            )
        )
    if zero_lr:
        zero_lr.sort(key=lambda p: forward_position(run, p.entity))
        findings.append(
            Finding(
                KIND,
                Severity.WARNING,
                [p.name for p in zero_lr],
                int(zero_lr[0].steps[0]),
                f"{zero_lr[0].name} receives gradients but its learning rate is 0 at every "
                "recorded step",
                {"reason": "learning rate 0", "recorded_steps": int(len(zero_lr[0].steps))},
                advice=[Fix(advice.POSITIVE_LR)],
            )
        )
    return findings


STEPS = range(0, 100, 5)
SCENARIOS = {
    "positive_in_no_optimizer": Scenario(
        lambda run: run.layer("0", shape=(16, 4)).act("1")
        .layer("2", shape=(1, 16), optimized=False).steps(STEPS),
        Severity.WARNING, where=("2.weight",), first="2.weight"),
    "positive_lr_zero": Scenario(
        lambda run: run.mlp([4, 16, 1]).steps(STEPS, lr={"0.weight": 0.0, "0.bias": 0.0}),
        Severity.WARNING, where=("0.weight",)),
    "healthy": Scenario(lambda run: run.mlp([4, 16, 1]).steps(STEPS)),
    "boundary_trained_in_an_earlier_phase": Scenario(
        lambda run: run.layer("0", shape=(16, 4)).act("1")
        .layer("2", shape=(1, 16), optimized=False).steps(
            STEPS, extra={"update_norm": when(lambda s: s < 50, 1e-3, 0.0)}),
        why="it moved while its optimizer lived (a teacher's first phase); the gradient left on "
            "it after is no gradient received"),
    "boundary_warmup_from_zero": Scenario(
        lambda run: run.mlp([4, 16, 1]).steps(STEPS, lr=when(lambda s: s < 10, 0.0, 0.1)),
        why="an lr that starts at 0 and rises is a warm-up, not a parameter left out"),
}
