"""``nonfinite``: NaN or Inf in the loss, activations, gradients or weights.

The first module in forward order whose output is non-finite at the first recorded step where
any is comes first in ``where``: that is where the numbers broke. Non-finite *gradients* alone
(finite loss, finite weights) are what mixed-precision loss scaling produces on purpose when it
skips a step, so they count only once the weights or loss are hit too.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..core.finding import Finding, Severity
from ..core.scenarios import Scenario
from ..core.synthetic import INF, NAN, healthy_loss, when
from ..core.run_view import RunView
from ..core import advice
from ..core.advice import Fix
from ._common import lower_lr_fix, owner_of, uses_clipping

KIND = "nonfinite"
PRIORITY = 0
# NaN is where an explosion or a divergence ends: when one of those began at an earlier step,
# it is the cause (wherever the NaN first showed), and this finding follows it.
EXPLAINED_IF_EARLIER = ("exploding_gradient", "loss_diverging", "attention_logit_growth",
                        "output_logit_divergence", "update_spike")


def detect(run: RunView) -> list[Finding]:
    """In a job, judged on the rank where the values broke first (``_origin``): every rank's
    view of the job gives the same finding."""
    origin = _origin(run)
    if origin is None:
        return _detect(run)
    first, later = origin
    found = _detect(run.job.view(first[0]))  # type: ignore[attr-defined]
    if len(first) == len(run.ranks):  # type: ignore[attr-defined]
        return found  # every rank at once: nothing rank-specific
    how = "then on the others through the gradients they average" if later else "only"
    mark = {"rank": first[0]} if len(first) == 1 else {"ranks": first}
    label = ", ".join(map(str, first))
    return [replace(f, summary=f"on rank{'s' if len(first) > 1 else ''} {label} {how}: "
                    f"{f.summary}", evidence={**f.evidence, **mark, "ranks_later": later})
            for f in found]


def _origin(run: RunView) -> tuple[list[int], list[int]] | None:
    """(the ranks whose own loss or layer outputs went non-finite first, the ranks that
    followed) in a job where any did; None otherwise."""
    ranks: dict[int, RunView] = getattr(run, "ranks", None) or {}
    first = {}
    for rank, view in ranks.items():
        loss = _first_bad(view.loss.steps, ~np.isfinite(view.loss.values))
        steps = [s for s in (loss, *_bad_activations(view).values()) if s is not None]
        if steps:
            first[rank] = min(steps)
    if len(ranks) < 2 or not first:
        return None
    step = min(first.values())
    at_once = sorted(r for r, s in first.items() if s == step)
    return at_once, sorted(r for r in first if r not in at_once)


def _detect(run: RunView) -> list[Finding]:
    loss_step = _first_bad(run.loss.steps, ~np.isfinite(run.loss.values))
    weight_bad = _bad_by_name(run.metric("param", "weight_norm"))
    act_bad = _bad_activations(run)
    candidates = [s for s in (loss_step, *weight_bad.values(), *act_bad.values()) if s is not None]
    if not candidates:
        return []
    step = min(candidates)
    modules = {e.name: e for e in run.entities("module")}
    where: list[str] = []
    module_step = None
    at_first: list[str] = []
    if act_bad:
        module_step = min(act_bad.values())
        at_first = [n for n, s in act_bad.items() if s == module_step]
        at_first.sort(key=lambda n: modules[n].order if n in modules else 10**9)
        where.extend(at_first)
    # Gradients that broke before the run did are loss-scaling overflows that a GradScaler
    # skipped; they say nothing about where the run broke.
    grad_bad = {n: s for n, s in _bad_by_name(run.metric("param", "grad_norm"), step).items()}
    first_params = sorted(
        {**grad_bad, **weight_bad}.items(), key=lambda kv: (kv[1], _order(run, kv[0]))
    )
    where.extend(name for name, _ in first_params if name not in where)
    what = where[0] if where else "the loss"
    last_finite = _last_finite_loss(run, step)
    summary = (
        f"non-finite values (NaN/Inf) from step {step}"
        + (f"; first produced by {what} in forward order" if act_bad else f", first in {what}")
    )
    evidence = {
        "first_nonfinite_loss_step": loss_step,
        "first_nonfinite_activation_step": module_step,
        "first_nonfinite_weight_step": min(weight_bad.values()) if weight_bad else None,
        "modules_nonfinite_at_that_step": at_first,
        "module_index": (list(modules).index(at_first[0]) if at_first and at_first[0] in modules
                         else None),  # its position in forward order
        "last_finite_loss": last_finite,
        "max_finite_grad_norm": _max_finite(run.metric("param", "grad_norm")),
    }
    fixes = [lower_lr_fix(run)]
    if not uses_clipping(run):
        fixes.append(Fix(advice.CLIP_GRAD_NORM, {"max_norm": 1.0, "owner": owner_of(run)}))
    fixes += [Fix(advice.CHECK_INPUTS_FINITE), Fix(advice.GUARD_NUMERICS)]
    return [Finding(KIND, Severity.ERROR, where or ["loss"], step, summary, evidence,
                    advice=fixes)]


def _first_bad(steps: np.ndarray, bad: np.ndarray) -> int | None:
    hits = np.nonzero(bad)[0]
    return int(steps[hits[0]]) if hits.size else None


def _bad_by_name(series: dict, since: int = 0) -> dict[str, int]:
    out = {}
    for name, s in series.items():
        step = _first_bad(s.steps, ~np.isfinite(s.values) & (s.steps >= since))
        if step is not None:
            out[name] = step
    return out


def _bad_activations(run: RunView) -> dict[str, int]:
    out = {}
    counts = run.metric("module", "act_nonfinite")
    for name, s in counts.items():
        step = _first_bad(s.steps, ~np.isfinite(s.values) | (s.values > 0))
        if step is not None:
            out[name] = step
    return out


def _order(run: RunView, name: str) -> int:
    entity = run.entity("param", name)
    return entity.order if entity is not None else 10**9


def _last_finite_loss(run: RunView, step: int) -> float | None:
    before = (run.loss.steps < step) & np.isfinite(run.loss.values)
    return float(run.loss.values[before][-1]) if before.any() else None


def _max_finite(series: dict) -> float | None:
    values = [v for s in series.values() for v in s.values if np.isfinite(v)]
    return float(max(values)) if values else None


STEPS = range(0, 100, 5)
SCENARIOS = {
    "positive_nan_from_a_layer": Scenario(
        lambda run: run.mlp([4, 16, 16, 1]).steps(
            STEPS, act={"2": {"act_nonfinite": when(lambda s: s >= 50, 1, 0)}},
            weight_norm={"2.weight": when(lambda s: s >= 55, NAN, 1.0)},
            loss=when(lambda s: s >= 55, NAN, healthy_loss)),
        Severity.ERROR, first="2"),
    "healthy": Scenario(lambda run: run.mlp([4, 16, 16, 1]).steps(STEPS)),
    "boundary_inf_gradients_alone": Scenario(  # loss scaling overflows: the step is skipped
        lambda run: run.mlp([4, 16, 1]).steps(
            STEPS, grad_norm={"0.weight": when(lambda s: s in (10, 20), INF, 0.1)}),
        why="non-finite gradients with a finite loss and weights are AMP skipping a step"),
}
