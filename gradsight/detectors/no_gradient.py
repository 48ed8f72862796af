"""``no_gradient``: a parameter that requires a gradient never receives one.

Backpropagation gives ``None`` to parameters the loss does not depend on: a layer whose output
is never used (seed 002: the batch norm applied to the input, then dropped), a ``.detach()``, a
detour through numpy. Parameters frozen on purpose (``requires_grad=False``) are not findings.

A gradient that is *exactly* zero, in every element of every parameter at every step, is the
same fact seen from the other side: backpropagation reached the parameters, but the loss does
not depend on them, because the output it is computed from is a constant (a softmax or
log-softmax over one unit or over an axis of size 1 is identically 1 or 0). That is said at the
output layer, where the gradient stops. Floating point makes an exactly-zero gradient of a
whole model no accident: any dependence, however weak, leaves some nonzero digit. Dead ReLUs
silence a model too: a layer whose outputs are 0 for every input at every recorded step (a
ReLU output unit, or a whole hidden layer, dead from the start) passes no gradient back. That
is ``dead_units``' finding, with its cause; said here as well, it would blame the output layer
("a softmax over one unit") for what a dead layer did, so it is not.

One parameter whose gradient is exactly 0 at every step while the rest of the model learns is
the same fact for that parameter alone: it only ever multiplies zeros. The commonest is a
recurrent layer fed sequences one step long (a window of 8 values given as one step of 8
features): its recurrent weights multiply the previous state, which is the zero initial state
at the only step, so no learning rate can move them (``stalled_weights`` would advise one).
"""

from __future__ import annotations

import numpy as np

from ..core import metrics, records
from ..core.finding import Finding, Severity
from ..core.scenarios import Scenario
from ..core.run_view import RunView
from ..core import advice
from ..core.advice import Fix
from ._common import (ParamSeries, always_zero, forward_position, is_bias_before_batchnorm,
                      layer_ref, param_series)

KIND = "no_gradient"
PRIORITY = 10
EXPLAINED_BY = ("dead_units",)  # (only ever overlaps the all-zero case: a dead layer's params)


def detect(run: RunView) -> list[Finding]:
    missing = [
        p for p in param_series(run)
        if p.entity.get("requires_grad", True) and len(p.steps) and not p.has_grad.any()
    ]
    if not missing:
        return _all_exactly_zero(run) or _zero_alone(run) or _stopped_by_ddp(run)
    missing.sort(key=lambda p: forward_position(run, p.entity))
    by_module: dict[str, list[str]] = {}
    for p in missing:
        by_module.setdefault(p.entity.get("module") or p.name, []).append(p.name)
    first = missing[0]
    module_name = first.entity.get("module")
    module = run.entity("module", module_name) if module_name is not None else None
    cut = module_name is not None and any(
        e["name"] == module_name for e in run.events(metrics.EVENT_OUTPUT_WITHOUT_GRAD))
    unused_output = module is not None and not first.entity.get("feeds") and not cut
    what = f"{module_name} ({module.get('type')})" if module is not None else first.name
    reaches = first.entity.get("reaches_loss")  # TF1: a backward walk of the graph from the loss
    if cut:
        reason = ("its output carried no gradient in training: it ran in a no-grad context, or "
                  "on weights or inputs detached from the graph (.detach(), .data, a numpy round "
                  "trip), so nothing flows back to it")
    elif reaches is True:
        reason = ("it reaches the loss only through non-differentiable ops (a stop-gradient, "
                  "argmax, rounding, integer casts), so no gradient flows back")
    elif unused_output:
        reason = "its output is never used by the rest of the model, so it does not reach the loss"
    else:
        reason = "it is not connected to the loss (unused, detached, or computed outside autograd)"
    never_ran = _never_ran(run, missing)
    trained = _trained_instead(run, missing, never_ran)
    if trained:
        others = f" and {len(trained) - 1} more" if len(trained) > 1 else ""
        reason = (f"the optimizer holds it but the loss never reaches it"
                  f"{' (it never ran in training)' if never_ran else ''}, "
                  f"while {trained[0].name}{others}, which get gradients, are in no optimizer: "
                  f"the optimizer was built from the wrong model's parameters")
    summary = f"{what} never receives a gradient in {len(first.steps)} recorded steps: {reason}"
    ref = layer_ref(run, first.entity)
    fixes = [Fix(advice.USE_OUTPUT, {"layer": ref}), Fix(advice.FIND_DETACH),
             Fix(advice.FREEZE_EXPLICITLY, {"layer": ref})]
    if cut:
        fixes = fixes[1:]  # the output is used: what cuts it off is the fix
    if trained:
        fixes = [Fix(advice.OPTIMIZE_ALL, {"layer": layer_ref(run, trained[0].entity)})]
    stopped = _ddp_stopped(run)
    if stopped or any(p.entity.get("placement") == "replicate" for p in missing):
        fixes.insert(0, Fix(advice.DDP_UNUSED, {"stopped": bool(stopped)}))
    evidence = {
        "recorded_steps": int(len(first.steps)),
        "by_module": by_module,
        "module_output_used": not unused_output if module is not None else None,
        "output_without_grad": cut,
        "optimized": bool(first.entity.get("optimized")),
    }
    if trained:  # the root cause is the optimizer's: not_optimized says which it lacks
        evidence.update(never_ran=never_ran, caused_by="not_optimized",
                        trained_instead=[p.name for p in trained])
    if stopped:
        evidence["stopped_the_job"] = stopped
        summary += "; DDP stopped the job on it"
    known = {p.name: p.entity.get("reaches_loss") for p in missing
             if p.entity.get("reaches_loss") is not None}
    if known:
        evidence["reaches_loss"] = known
    severity = Severity.WARNING
    return [Finding(KIND, severity, [p.name for p in missing], int(first.steps[0]), summary,
                    evidence, advice=fixes), *_zero_alone(run)]


def _trained_instead(run: RunView, missing: list[ParamSeries], never_ran: bool
                     ) -> list[ParamSeries]:
    """Parameters that got gradients but are in no optimizer, where the optimizer was made
    from other parameters (empty otherwise): every parameter without a gradient is an
    optimized one, and either none of the optimized ones ever got a gradient, or they belong
    to models that never ran in training (``never_ran``: no output of theirs at any recorded
    step, while other layers' were recorded)."""
    series = param_series(run)
    if not all(p.entity.get("optimized") for p in missing):
        return []
    trained = [p for p in series if not p.entity.get("optimized")  # not_optimized's "outside"
               and p.has_grad.any() and np.nan_to_num(p.grad, nan=0.0).any()
               and not (np.nan_to_num(p.update, nan=0.0) > 0).any()]
    if not trained:
        return []
    without = {p.name for p in missing}
    if all(p.name in without for p in series if p.entity.get("optimized")):
        return trained
    return trained if never_ran else []


def _never_ran(run: RunView, params: list[ParamSeries]) -> bool:
    """The models these parameters belong to produced no recorded output, while others did."""
    ran = set(run.metric("module", metrics.ACT_MEAN))
    owners = {p.entity.get("module") or "" for p in params}
    return bool(ran) and all(o and not any(r == o or r.startswith(o + ".") for r in ran)
                             for o in owners)


def _zero_alone(run: RunView) -> list[Finding]:
    """Parameters whose gradient is exactly 0 at every step while others' are not."""
    series = [p for p in param_series(run) if p.entity.get("requires_grad", True)]
    zero = [p for p in series if always_zero(p) and not is_bias_before_batchnorm(run, p.entity)]
    learning = [p for p in series if (p.grad[p.has_grad] > 0).any()]
    if not zero or not learning or _a_layer_always_zero(run):
        return []  # every gradient 0 is said above; a dead layer is dead_units'
    zero.sort(key=lambda p: forward_position(run, p.entity))
    first = zero[0]
    steps = int(first.has_grad.sum())
    recurrent = first.entity.get("module_kind") == records.RECURRENT
    why = ("a recurrent layer's weights on its previous state get none when every sequence is "
           "one step long (the state they multiply is the zero initial state): check the "
           "input's time axis" if recurrent else
           "it only ever multiplies zeros (an input that is always 0, or a state never set)")
    summary = (f"{first.name}'s gradient is exactly 0 in every element at all {steps} recorded "
               f"steps while the rest of the model learns: the loss does not depend on it, so "
               f"no learning rate can move it; {why}")
    fixes = [Fix(advice.SEQUENCE_STEPS)] if recurrent else []
    fixes += [Fix(advice.CHECK_DATA), Fix(advice.FREEZE_EXPLICITLY,
                                          {"layer": layer_ref(run, first.entity)})]
    evidence = {"exactly_zero_gradients": [p.name for p in zero], "recorded_steps": steps,
                "recurrent": recurrent}
    return [Finding(KIND, Severity.WARNING, [p.name for p in zero],
                    int(first.steps[first.has_grad][0]), summary, evidence, advice=fixes)]


def _all_exactly_zero(run: RunView) -> list[Finding]:
    """Every gradient of the model exactly 0 at every step: the loss does not depend on it."""
    reached = [p for p in param_series(run)
               if p.entity.get("requires_grad", True) and p.has_grad.any()]
    losses = run.loss.values[np.isfinite(run.loss.values)]
    if not reached or (losses.size and not (losses != 0).any()):
        return []  # a loss of exactly 0 (a hinge already satisfied) has nothing to say
    for p in reached:
        norms = p.grad[p.has_grad]
        if not np.isfinite(norms).all() or (norms != 0).any():
            return []
    if _a_layer_always_zero(run):
        return []
    # the output layer first, its parameters in their own order (the weight before the bias)
    reached.sort(key=lambda p: (-forward_position(run, p.entity)[0],
                                forward_position(run, p.entity)[1]))
    steps = sorted({int(s) for p in reached for s in p.steps[p.has_grad]})
    last = reached[0]
    what = last.entity.get("module") or last.name
    summary = (f"every gradient is exactly 0, in all {len(reached)} parameters at all "
               f"{len(steps)} steps: the loss does not depend on the model's parameters, so "
               f"nothing can learn; the output it is computed from (after {what}) is a constant, "
               f"e.g. a softmax or log-softmax over one unit or over an axis of size 1")
    evidence = {
        "recorded_steps": len(steps),
        "exactly_zero_gradients": [p.name for p in reached],
        "output_layer": what,
    }
    family = _loss_family(run)
    fixes = [Fix(advice.CHECK_OUTPUT_LAYER, {"loss": family}), Fix(advice.FIND_DETACH)]
    return [Finding(KIND, Severity.ERROR, [p.name for p in reached], steps[0], summary,
                    evidence, advice=fixes)]


def _a_layer_always_zero(run: RunView) -> bool:
    """Some layer's outputs were exactly 0 for every input at every recorded step (dead)."""
    for series in run.metric("module", metrics.ACT_ZERO_FRAC).values():
        values = series.values[np.isfinite(series.values)]
        if values.size and (values >= 1.0).all():
            return True
    return False


def _loss_family(run: RunView) -> str | None:
    """The loss function's family where the adapter tapped it (``metrics.LOSS_ROLE`` rows)."""
    values = run.metric(metrics.LOSS_ROLE, metrics.CRITERION_LOSS)
    return max(values, key=lambda k: len(values[k])) if values else None


# What DDP (torch >= 1.8) says when it stops a job over parameters that got no gradient, and
# what Lightning says instead ("...were not used in producing the loss returned by
# training_step...", its own wording of DDP's error).
_DDP_UNUSED = ("did not receive grad", "not used in producing", "find_unused_parameters")


def _stopped_by_ddp(run: RunView) -> list[Finding]:
    """DDP stopped the job over parameters without a gradient that no recorded step shows:
    the job died before their optimizer stepped. Those switched off (requires_grad=False) when
    they were described are named: switching one optimizer's parameters off for another's step
    (Lightning's toggle_optimizer in a GAN) leaves DDP waiting for their gradients."""
    stopped = _ddp_stopped(run)
    if not stopped:
        return []
    off = sorted((e for e in run.entities("param") if e.get("requires_grad") is False),
                 key=lambda e: forward_position(run, e))
    summary = "DDP stopped the job: parameters it registered got no gradient in a step"
    if off:
        summary += (f"; {len(off)} parameters, from {off[0].name}, were switched off "
                    "(requires_grad=False) when their step came: a step that trains one part "
                    "of the model (one optimizer of several) gives the others no gradient")
    lightning = "LightningModule" in stopped or "ddp_find_unused" in stopped
    evidence = {"stopped_the_job": stopped, "switched_off": [e.name for e in off]}
    return [Finding(KIND, Severity.WARNING, [e.name for e in off], 0, summary, evidence,
                    advice=[Fix(advice.DDP_UNUSED, {"stopped": True, "lightning": lightning})])]


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
    # exactly 0 in every element: 1e-30 would still be a dependence (vanishing_gradient's)
    "positive_every_gradient_exactly_zero": Scenario(
        lambda run: run.mlp([4, 16, 1]).steps(STEPS, grad_norm=0.0),
        Severity.ERROR, first="2.weight"),
    "boundary_dead_layer_silences_everything": Scenario(
        lambda run: run.mlp([4, 16, 1]).steps(STEPS, grad_norm=0.0,
                                              act={"1": {"act_zero_frac": 1.0}}),
        why="a layer whose outputs are 0 for every input stops every gradient: dead_units "
            "says so, with its cause"),
    "boundary_zero_loss": Scenario(
        lambda run: run.mlp([4, 16, 1]).steps(STEPS, grad_norm=0.0, loss=0.0),
        why="a loss of exactly 0 (every margin met) has a zero gradient and nothing to learn"),
    "boundary_tiny_but_not_zero": Scenario(
        lambda run: run.mlp([4, 16, 1]).steps(STEPS, grad_norm=1e-30),
        why="a gradient of 1e-30 still depends on the parameters: vanishing, not missing"),
    # one parameter alone: a recurrent layer's weights on the (zero) state of 1-step sequences
    "positive_one_parameter_exactly_zero": Scenario(
        lambda run: run.mlp([4, 16, 1]).steps(STEPS, grad_norm={"0.weight": 0.0}),
        Severity.WARNING, where=("0.weight",), first="0.weight"),
    "boundary_one_parameter_tiny_but_not_zero": Scenario(
        lambda run: run.mlp([4, 16, 1]).steps(STEPS, grad_norm={"0.weight": 1e-30}),
        why="1e-30 is a dependence, however weak: vanishing_gradient's business"),
    "boundary_one_parameter_zero_until_it_is_not": Scenario(
        lambda run: run.mlp([4, 16, 1]).steps(
            STEPS, grad_norm={"0.weight": lambda s: 0.0 if s < 50 else 1e-3}),
        why="a gradient that arrives later (a layer unfrozen, a state that fills) is not none"),
    "boundary_frozen_on_purpose": Scenario(
        lambda run: run.layer("0", shape=(16, 4), requires_grad=False).act("1")
        .layer("2", shape=(1, 16)).steps(STEPS),
        why="requires_grad=False: no gradient is what was asked for"),
}
