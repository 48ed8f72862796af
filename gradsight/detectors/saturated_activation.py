"""``saturated_activation``: tanh/sigmoid units stuck near their asymptotes.

Judged per tanh/sigmoid-family module on ``act_saturated_frac``: the fraction of its outputs
within 0.01 of an asymptote (|tanh| > 0.99; sigmoid < 0.01 or > 0.99). There the local
gradient is below ~0.02 (tanh) or ~0.01 (sigmoid), so a saturated unit passes almost no
gradient back. A healthy tanh/sigmoid hidden layer keeps this under ~0.1-0.2; half of the
outputs saturated over the run, and still at the end, is a warning; nine in ten is an error
(the layer blocks backpropagation), unless the loss function ended below 0.9 of the best
constant prediction's: then the model learned through it anyway (raw 0-255 pixels into
saturated sigmoids: the large inputs make up for the small derivative), and it stays a warning.

An activation whose output no module consumes is the network's output (a sigmoid feeding a
binary loss): becoming confident as training succeeds saturates it legitimately, so it is
judged only when it was saturated from the start of training, and never as an error. Even then
it can be right: an output for a rare class started at its prior on purpose (the bias at
log(pos/neg), as the TensorFlow imbalanced-data tutorial does) sits below 0.01 from step 0, and
a loss computed from the logits passes its gradient p - y whatever the saturation. Where the
loss function ends below 0.9 of the best constant prediction's loss (``metrics.
REFERENCE_LOSS``) the output's confidence is what it learned, and it is not a finding.

Nor is any saturation in a run whose loss converged (``converged_step``: 100x below its start):
the loss fell through it, so it blocked nothing. Large-margin fits saturate their hidden units
on the way (Adam at 0.1 on two circles: hidden sigmoids 53% saturated at step 100 and 78% at
the end, while the loss fell 400x to 0.0025x the best constant's).

The median is over the run's steps (``median_over_steps``), not over its records, which the
schedule packs into the first ten steps."""

from __future__ import annotations

import numpy as np

from ..core.finding import Finding, Severity
from ..core.scenarios import Scenario
from ..core.run_view import Entity, RunView
from ..core import advice, records
from ..core.advice import Fix
from ._common import (MIN_STEPS, converged_step, fmt, layer_ref, median_over_steps,
                      min_steps)
from .dead_units import feeding_params
from ._loss_reference import ends_below_reference

KIND = "saturated_activation"
PRIORITY = 35
EXPLAINED_BY = ("poor_initialization",)

WARN_FRACTION = 0.5  # median over the run's steps: half the outputs pass ~no gradient
ERROR_FRACTION = 0.9  # nearly every output is flat: the layer blocks backpropagation
FAMILIES = ("tanh", "sigmoid")


def detect(run: RunView) -> list[Finding]:
    if converged_step(run) is not None:
        return []  # the loss fell 100x through whatever saturated: it blocked nothing
    series = run.metric("module", "act_saturated_frac")
    modules = [m for m in run.entities("module") if m.get("kind") != records.OP]  # layers only
    consumed = {p for m in modules for p in m.get("inputs_from") or []}
    if not consumed and modules:
        consumed = {m.name for m in modules[:-1]}  # no data flow recorded: the last is the output
    flagged = []
    for module in run.entities("module"):
        s = series.get(module.name)
        if module.get("activation") not in FAMILIES or s is None:
            continue
        keep = np.isfinite(s.values)
        values, steps = s.values[keep], s.steps[keep]
        if len(values) < min_steps(run):
            continue
        median = median_over_steps(steps, values)
        end = float(np.median(values[-min_steps(run):]))
        if median < WARN_FRACTION or end < WARN_FRACTION:
            continue  # not saturated for most of the run, or recovered by its end
        output = module.name not in consumed
        if output and float(np.median(values[:min_steps(run)])) < WARN_FRACTION:
            continue  # an output layer that became confident as it learned
        if output and ends_below_reference(run):
            continue  # confident from the start, and right: the loss beat the best constant
        first = int(steps[np.nonzero(values >= WARN_FRACTION)[0][0]])
        flagged.append((module, median, first, output))
    if not flagged:
        return []
    module, median, _, _ = flagged[0]
    hidden = [m for m, med, _, out in flagged if not out]
    worst = max((med for _, med, _, out in flagged if not out), default=0.0)
    blocked = worst >= ERROR_FRACTION and not ends_below_reference(run)
    severity = Severity.ERROR if blocked else Severity.WARNING
    where: list[str] = []
    for m, *_ in flagged:
        for name in feeding_params(run, m) + [m.name]:
            if name not in where:
                where.append(name)
    kind = module.get("activation")
    summary = (
        f"{fmt(100 * median)}% of the {kind} outputs of {module.name} sit at their asymptotes "
        "(median over training), where the gradient through them is ~0"
    )
    evidence = {
        "saturated_fraction_median": {m.name: med for m, med, _, _ in flagged},
        "saturated_fraction_at_end": {
            m.name: float(np.median(_finite(series[m.name].values)[-MIN_STEPS:]))
            for m, *_ in flagged
        },
        "activation": {m.name: m.get("activation") for m, *_ in flagged},
        "output_layer": [m.name for m, _, _, out in flagged if out],
        "hidden_layers": [m.name for m in hidden],
        "warn_fraction": WARN_FRACTION,
        "error_fraction": ERROR_FRACTION,
    }
    return [
        Finding(
            KIND,
            severity,
            where,
            min(s for _, _, s, _ in flagged),
            summary,
            evidence,
            advice=_fixes(run, module),
        )
    ]


def _finite(values: np.ndarray) -> np.ndarray:
    return values[np.isfinite(values)]


def _fixes(run: RunView, module: Entity) -> list[Fix]:
    params = [run.entity("param", n) for n in feeding_params(run, module)]
    weight = next((p for p in params if p is not None and len(p.get("shape") or []) >= 2), None)
    kind = module.get("activation")
    ref = layer_ref(run, weight) if weight is not None else None
    fixes = [Fix(advice.INIT_LAYER, {"layer": ref, "scheme": "xavier", "activation": kind})] \
        if ref is not None else []
    return fixes + [
        Fix(advice.NORMALIZE_INPUTS),
        Fix(advice.SATURATION_NORM, {"layer": ref}),
        Fix(advice.LOWER_LR, {"factor": 10, "why": "large updates push pre-activations out to "
                              "the asymptotes"}),
        Fix(advice.CHANGE_ACTIVATION, {"current": kind, "to": "relu"}),
    ]


STEPS = range(0, 100, 5)
DETAIL = [*range(10), 100, 200, 299]


def _output(level: float) -> Scenario:
    """An MLP whose output sigmoid is 97% saturated from step 0, and its binary cross-entropy
    flat at ``level`` x the best constant prediction's (learned below 0.9: no finding)."""
    def build(run):  # type: ignore[no-untyped-def]
        run.mlp([4, 16, 1]).act("3", "sigmoid")
        run.steps(DETAIL, act={"3": {"act_saturated_frac": 0.97}}, loss=None)
        return run.loss(range(300), 0.0144 * level).criterion(DETAIL, 0.0144 * level, 0.0144)
    return Scenario(build, Severity.WARNING if level >= 0.9 else None,
                    where=("2.weight", "2.bias", "3") if level >= 0.9 else ())


def _saturated(fraction: float) -> Scenario:
    return Scenario(lambda run: run.mlp([4, 16, 16, 1], activation="tanh").steps(
        STEPS, act={"1": {"act_saturated_frac": fraction}}))


SCENARIOS = {
    "positive_hidden_tanh": Scenario(_saturated(0.6).build, Severity.WARNING,
                                     where=("0.weight", "1"), first="0.weight"),
    "positive_blocked": Scenario(_saturated(0.95).build, Severity.ERROR),
    "healthy": _saturated(0.05),
    "boundary_below": _saturated(0.45),
    "positive_blocked_but_learned_anyway": Scenario(
        lambda run: _saturated(0.95).build(run).criterion(DETAIL, 0.0144 * 0.3, 0.0144),
        Severity.WARNING),
    # an output sigmoid saturated from step 0 (a rare class's prior set in its bias): judged
    # by the loss function against the best constant prediction's (binary entropy 0.0144)
    "positive_output_saturated_from_the_start": _output(1.0),
    "healthy_output_at_its_prior_that_learned": _output(0.43),
    "boundary_output_just_above_learned": _output(0.95),
    "boundary_blocked_in_a_run_whose_loss_fell_1000x": Scenario(
        lambda run: _saturated(0.95).build(run).loss(range(100), lambda s: 2.0 * 0.92 ** s),
        why="the loss fell 1000x through the saturated layer: a confident fit, nothing blocked"),
}
