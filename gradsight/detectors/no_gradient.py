"""``no_gradient``: a parameter that requires a gradient never receives one.

Backpropagation gives ``None`` to parameters the loss does not depend on: a layer whose output
is never used (seed 002: the batch norm applied to the input, then dropped), a ``.detach()``, a
detour through numpy. Parameters frozen on purpose (``requires_grad=False``) are not findings.
"""

from __future__ import annotations

from ..core.finding import Finding, Severity
from ..core.scenarios import Scenario
from ..core.run_view import RunView
from ..core import advice
from ..core.advice import Fix
from ._common import forward_position, layer_ref, param_series

KIND = "no_gradient"
PRIORITY = 10


def detect(run: RunView) -> list[Finding]:
    missing = [
        p for p in param_series(run)
        if p.entity.get("requires_grad", True) and len(p.steps) and not p.has_grad.any()
    ]
    if not missing:
        return []
    missing.sort(key=lambda p: forward_position(run, p.entity))
    by_module: dict[str, list[str]] = {}
    for p in missing:
        by_module.setdefault(p.entity.get("module") or p.name, []).append(p.name)
    first = missing[0]
    module_name = first.entity.get("module")
    module = run.entity("module", module_name) if module_name is not None else None
    unused_output = module is not None and not first.entity.get("feeds")
    what = f"{module_name} ({module.get('type')})" if module is not None else first.name
    reaches = first.entity.get("reaches_loss")  # TF1: a backward walk of the graph from the loss
    if reaches is True:
        reason = ("it reaches the loss only through non-differentiable ops (a stop-gradient, "
                  "argmax, rounding, integer casts), so no gradient flows back")
    elif unused_output:
        reason = "its output is never used by the rest of the model, so it does not reach the loss"
    else:
        reason = "it is not connected to the loss (unused, detached, or computed outside autograd)"
    summary = f"{what} never receives a gradient in {len(first.steps)} recorded steps: {reason}"
    ref = layer_ref(run, first.entity)
    fixes = [Fix(advice.USE_OUTPUT, {"layer": ref}), Fix(advice.FIND_DETACH),
             Fix(advice.FREEZE_EXPLICITLY, {"layer": ref})]
    stopped = _ddp_stopped(run)
    if stopped or any(p.entity.get("placement") == "replicate" for p in missing):
        fixes.insert(0, Fix(advice.DDP_UNUSED, {"stopped": bool(stopped)}))
    evidence = {
        "recorded_steps": int(len(first.steps)),
        "by_module": by_module,
        "module_output_used": not unused_output if module is not None else None,
        "optimized": bool(first.entity.get("optimized")),
    }
    if stopped:
        evidence["stopped_the_job"] = stopped
        summary += "; DDP stopped the job on it"
    known = {p.name: p.entity.get("reaches_loss") for p in missing
             if p.entity.get("reaches_loss") is not None}
    if known:
        evidence["reaches_loss"] = known
    severity = Severity.WARNING
    return [Finding(KIND, severity, [p.name for p in missing], int(first.steps[0]), summary,
                    evidence, advice=fixes)]


# What DDP (torch >= 1.8) says when it stops a job over parameters that got no gradient.
_DDP_UNUSED = ("did not receive grad", "were not used in producing loss")


def _ddp_stopped(run: RunView) -> str | None:
    """The first line of DDP's error, where it ended this process or a rank of its job."""
    views = list((getattr(run, "ranks", None) or {}).values()) or [run]
    for view in views:
        error = str(view.meta.get("error") or "")
        if any(phrase in error for phrase in _DDP_UNUSED):
            return error.split(". ")[0][:200]
    return None


STEPS = range(0, 100, 5)
SCENARIOS = {
    "positive_unused_batchnorm": Scenario(
        lambda run: run.batchnorm("bn", 4, used=False).mlp([4, 16, 1]).steps(
            STEPS, has_grad={"bn.weight": 0.0, "bn.bias": 0.0}),
        Severity.WARNING, where=("bn.weight", "bn.bias"), first="bn.weight"),
    "healthy": Scenario(lambda run: run.mlp([4, 16, 1]).steps(STEPS)),
    "boundary_frozen_on_purpose": Scenario(
        lambda run: run.layer("0", shape=(16, 4), requires_grad=False).act("1")
        .layer("2", shape=(1, 16)).steps(STEPS),
        why="requires_grad=False: no gradient is what was asked for"),
}
