"""``gradients_not_reset``: ``.grad`` is never reset between optimizer steps (no ``zero_grad()``),
so every step applies the sum of all gradients so far.

Judged on two things the always-on tier records every step: the adapter's ``grad_reset`` flag
(0 when a step's backward added to the gradient the previous step had used: no ``zero_grad``,
no new ``.grad``), and the effect, the gradient norm growing with the step count (the sum of
t gradients that point roughly the same way is ~t times one of them). Both must hold from the
second step on for ``MIN_ACCUMULATED`` steps: the flag alone would misread a script that zeroes
its gradients by hand, and growth alone is what a healthy start can look like. Deliberate
accumulation (several backward passes, then a reset and a step) is reset every step: no finding.
"""

from __future__ import annotations

import numpy as np

from ..core import advice
from ..core.advice import Fix
from ..core.finding import Finding, Severity
from ..core.run_view import RunView
from ..core.scenarios import Scenario
from ._common import param_series

KIND = "gradients_not_reset"
PRIORITY = 3  # the root cause of whatever it does to the updates after it
MIN_ACCUMULATED = 3  # steps in a row whose gradients were added to, not reset
GROWTH = 2.0  # the accumulated gradient's norm over the first step's, at its median


def detect(run: RunView) -> list[Finding]:
    resets = run.metric("param", "grad_reset")
    if not resets:
        return []
    optimized = run.metric("param", "optimized")
    flagged = []
    for p in param_series(run):
        series = resets.get(p.name)
        if series is None or len(series) < MIN_ACCUMULATED + 1:
            continue
        # only a gradient an optimizer applies does harm when it accumulates: one that no
        # optimizer holds yet (a param group added later) is summed, but never used
        applied = optimized.get(p.name)
        if applied is None:  # a store without the per-step flag: the parameter's description
            used = set(series.steps.tolist()) if p.entity.get("optimized") else set()
        else:
            used = {int(s) for s, v in zip(applied.steps, applied.values) if v > 0.5}
        flags = {int(s): v for s, v in zip(series.steps.tolist(), series.values.tolist())
                 if int(s) in used}
        steps = [int(s) for s in p.steps]
        accumulated = [s for s in steps if flags.get(s) == 0.0]
        first = next((i for i, s in enumerate(steps) if flags.get(s) == 0.0), None)
        if first is None or first == 0:
            continue
        run_length = 0
        for s in steps[first:]:
            if flags.get(s) != 0.0:
                break
            run_length += 1
        grad = p.grad[first:first + run_length]
        base = p.grad[first - 1]  # the step before: a gradient of one backward
        if run_length < MIN_ACCUMULATED or not np.isfinite(base) or base <= 0:
            continue
        growth = float(np.nanmedian(grad) / base)
        if growth >= GROWTH:
            flagged.append((p, steps[first], growth, len(accumulated)))
    if not flagged:
        return []
    step = min(s for _, s, _, _ in flagged)
    worst = max(flagged, key=lambda item: item[2])
    summary = (f"the gradients are never reset between optimizer steps: from step {step} each "
               f"backward adds to the previous steps' gradients (no zero_grad()), so "
               f"{worst[0].name}'s gradient norm grew {worst[2]:.3g}x and every update applies "
               "the sum of all gradients so far")
    evidence = {"first_accumulated_step": step,
                "growth_over_one_backward": {p.name: g for p, _, g, _ in flagged},
                "accumulated_steps": {p.name: n for p, _, _, n in flagged}}
    return [Finding(KIND, Severity.ERROR, [p.name for p, _, _, _ in flagged], step, summary,
                    evidence, advice=[Fix(advice.RESET_GRADIENTS)])]


STEPS = range(30)


def _accumulating(reset: float, grow: bool) -> Scenario:
    return Scenario(lambda run: run.mlp([4, 16, 1]).steps(
        STEPS, grad_norm=(lambda s: 0.1 * (s + 1)) if grow else 0.1,
        extra={"grad_reset": lambda s: float("nan") if s == 0 else reset}))


SCENARIOS = {
    "positive_no_zero_grad": Scenario(_accumulating(0.0, True).build, Severity.ERROR,
                                      where=("0.weight",), first="0.weight"),
    "healthy": _accumulating(1.0, False),
    "boundary_zeroed_by_hand": _accumulating(0.0, False),  # flagged, but nothing accumulates
    "boundary_deliberate_accumulation": _accumulating(1.0, True),
}
