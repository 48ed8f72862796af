"""``dead_units``: ReLU units that output zero for every input, to the end of the run.

Judged per ReLU-family module on ``dead_frac_window``: the fraction of its units that were never
positive for any input over a window of recorded steps (the adapter's ``DEAD_WINDOW``, 5). A
dead unit passes no signal and gets no gradient, so it cannot come back. A healthy ReLU layer
has some dead units (typically under 10-20%); half of a layer dead is a warning, and a layer
with essentially every unit dead passes nothing on: an error. Only a stretch of windows that
lasts to the end of the run counts, so units that die and recover (a transient) are no finding.

When the windows show no such stretch (a short run, or units that died after the dense start
of the schedule, when one window spans 500 steps), the per-step ``dead_frac`` decides: the dead
sets of the steps overlap in at least ``1 - sum(1 - dead_frac)`` of the units, a lower bound on
the units dead throughout, so a small batch (whose units look dead by chance) cannot make a
finding. A layer that is partly dead (under ``ERROR_FRACTION``) in a run whose loss still fell by
``LEARNED_FACTOR`` or more is reported as info: the remaining units carried the learning (seed
000/001's 2-layer net can lose half its 16 ReLUs during its plateau and still fit the identity
400x better). LeakyReLU/GELU units keep a gradient for negative inputs and are not judged, and
neither is a module whose outputs went NaN/Inf (NaN is never positive, but it is not death:
that is ``nonfinite``'s finding). Only the steps before the run broke (its first non-finite
loss or weight) are judged: TensorFlow's ReLU turns a NaN input into 0, so after NaN weights a
layer's outputs are zeros that say nothing about its units.

A ReLU whose output the training loss takes (``metrics.EVENT_ACTIVATION_AT_LOSS``: a ReLU on
the class scores, measured at the loss call) is the output layer's, judged by the same rule,
and said to be: each dead unit there is a class the model can never predict. (One output unit
is too few to judge on: a live class's score can be non-positive on every sampled batch of a
window, as in the first steps of a Fashion-MNIST MLP whose classes all fire later.)
"""

from __future__ import annotations

import numpy as np

from ..core.finding import Finding, Severity
from ..core.scenarios import Scenario
from ..core.run_view import Entity, RunView, Series
from ..core import advice
from ..core.advice import Fix
from ..core.metrics import (DEAD_CONFIRMATIONS, DEAD_SUSPECT, DEAD_WINDOW,
                            EVENT_ACTIVATION_AT_LOSS, RELU_FAMILY)
from ._common import MIN_STEPS, first_nonfinite_step, fmt, layer_ref

KIND = "dead_units"
PRIORITY = 35
EXPLAINED_BY = ("poor_initialization",)
# a loss that jumped up first: one huge update pushes pre-activations below 0 for every input
EXPLAINED_IF_EARLIER = ("loss_diverging",)

WARN_FRACTION = DEAD_SUSPECT  # half the layer never fires: its width is wasted; it spreads
ERROR_FRACTION = 0.95  # essentially the whole layer is zero for every input: it passes nothing
MIN_WINDOWS = DEAD_CONFIRMATIONS  # one window can be a bad stretch; two to the end persist
WINDOW = DEAD_WINDOW  # detail steps per dead_frac_window
# The loss fell two orders of magnitude (median of the last tenth of the run against the first
# tenth): the network learned despite its dead units. Healthy digits runs measure ~40-130x;
# the dead-unit failures measured 1-12x.
LEARNED_FACTOR = 100.0
JUMPED = 5.0  # loss_diverging's jump: a first tenth this far above the first loss jumped up
FAMILIES = RELU_FAMILY  # exactly-zero outputs with a zero gradient; leaky variants cannot die


def detect(run: RunView) -> list[Finding]:
    broken = first_nonfinite_step(run)
    windows = _before(run.metric("module", "dead_frac_window"), broken)
    per_step = _before(run.metric("module", "dead_frac"), broken)
    nonfinite = run.metric("module", "act_nonfinite")
    at_loss = {e["name"] for e in run.events(EVENT_ACTIVATION_AT_LOSS)}
    flagged = []
    for module in run.entities("module"):
        if module.get("activation") not in FAMILIES:
            continue
        broken = nonfinite.get(module.name)
        if broken is not None and len(broken) and np.nanmax(broken.values, initial=0.0) > 0:
            continue
        judged = _judge(windows.get(module.name), per_step.get(module.name))
        if judged is not None:
            flagged.append((module, *judged))
    if not flagged:
        return []
    worst = max(flagged, key=lambda item: item[1])
    module, fraction, _, _ = flagged[0]
    where: list[str] = []
    for m, *_ in flagged:
        for name in feeding_params(run, m) + [m.name]:
            if name not in where:
                where.append(name)
    severity = Severity.ERROR if worst[1] >= ERROR_FRACTION else Severity.WARNING
    fell = _loss_fell(run)
    units = _units(run, module)
    unit_text = f" ({round(fraction * units)} of {units} units)" if units else ""
    summary = (
        f"{fmt(100 * fraction)}% of the ReLU units after {_producer_label(run, module)}"
        f"{unit_text} output zero for every input through the end of training"
        + (": the layer passes nothing on" if fraction >= ERROR_FRACTION else
           ", so they neither pass a signal nor get a gradient")
    )
    evidence = {
        "dead_fraction": {m.name: f for m, f, _, _ in flagged},
        "units": {m.name: _units(run, m) for m, *_ in flagged},
        "first_step": {m.name: s for m, _, s, _ in flagged},
        "judged_on": {m.name: src for m, _, _, src in flagged},
        "window_recorded_steps": WINDOW,
        "warn_fraction": WARN_FRACTION,
        "error_fraction": ERROR_FRACTION,
        "loss_fell_factor": fell,
    }
    fixes = _fixes(run, module)
    if module.name in at_loss:
        summary += ("; the loss takes this ReLU's output, so each dead unit is an output (a "
                    "class) the model can never predict")
        evidence["feeds_the_loss"] = True
        fixes.insert(0, Fix(advice.CHECK_OUTPUT_LAYER, {"loss": None}))
    if severity == Severity.WARNING and fell is not None and fell >= LEARNED_FACTOR:
        severity = Severity.INFO
        summary += f"; the loss still fell {fmt(fell)}x, so the remaining units carried it"
    return [
        Finding(
            KIND,
            severity,
            where,
            min(s for _, _, s, _ in flagged),
            summary,
            evidence,
            advice=fixes,
        )
    ]


def _before(series: dict[str, Series], step: int | None) -> dict[str, Series]:
    """Each series up to (not including) ``step``; all of it when ``step`` is None."""
    if step is None:
        return series
    return {name: Series(s.steps[s.steps < step], s.values[s.steps < step])
            for name, s in series.items()}


def _loss_fell(run: RunView) -> float | None:
    """Median loss of the run's first tenth over its last tenth (None: too short or not
    positive); from the first loss where the first tenth is ``JUMPED`` times above it: a loss
    that jumped up in its first steps (RMSprop at lr 1: 2.3, then 1e5, a first tenth at 6e3)
    and came part of the way back fell from 2.3, not from the jump. (A warm-up bump of a few
    steps, 2.3 to 21 and back by step 8 of 120, leaves the first tenth's median at 4.6.)"""
    values = run.loss.values[np.isfinite(run.loss.values)]
    if values.size < 20:
        return None
    n = max(values.size // 10, 1)
    start = float(np.median(values[:n]))
    if start > JUMPED * float(values[0]):  # it jumped up first: the fall is from where it began
        start = float(values[0])
    end = float(np.median(values[-n:]))
    return start / end if start > 0 and end > 0 else None


def _judge(windows: Series | None, per_step: Series | None) -> tuple[float, int, str] | None:
    """(dead fraction, first step it held, source) when the module is dead to the end."""
    if windows is not None and len(windows) >= MIN_WINDOWS:
        values = windows.values
        held = np.isfinite(values) & (values >= WARN_FRACTION)
        start = len(values)
        while start > 0 and held[start - 1]:
            start -= 1
        if len(values) - start >= MIN_WINDOWS:
            tail = values[-MIN_WINDOWS:]
            first = _window_start(int(windows.steps[start]), per_step)
            return float(np.min(tail)), first, "window"
    if per_step is None or len(per_step) < MIN_STEPS:
        return None
    # no two windows yet (a short run): a lower bound on the units dead at every recorded step
    alive = np.cumsum((1 - per_step.values)[::-1])[::-1]  # alive[i]: sum over steps i..end
    bound = 1 - alive
    span = np.arange(len(bound), 0, -1)
    ok = np.nonzero(np.isfinite(bound) & (bound >= WARN_FRACTION) & (span >= MIN_STEPS))[0]
    if ok.size == 0:
        return None
    first = int(ok[0])
    tail_bound = float(bound[len(bound) - MIN_STEPS])
    return tail_bound, int(per_step.steps[first]), "per_step_bound"


def _window_start(step: int, per_step: Series | None) -> int:
    """A window is written at its last recorded step; it began WINDOW - 1 recorded steps back."""
    if per_step is None:
        return step
    index = np.nonzero(per_step.steps == step)[0]
    if index.size == 0:
        return step
    return int(per_step.steps[max(int(index[0]) - (WINDOW - 1), 0)])


def _producers(run: RunView, module: Entity) -> list[str]:
    """The modules whose output this one takes; without recorded data flow (none known for
    any module), the nearest earlier module with parameters, as in a ``Sequential``."""
    given = list(module.get("inputs_from") or [])
    if given or any(m.get("inputs_from") for m in run.entities("module")):
        return given
    owners = {p.get("module") for p in run.entities("param")}
    names = [m.name for m in run.entities("module")]
    earlier = [n for n in names[: names.index(module.name)] if n in owners]
    return earlier[-1:]


def feeding_params(run: RunView, module: Entity) -> list[str]:
    """Parameters of the layer(s) feeding ``module``, in recorded order; a layer with its own
    activation (Keras ``Dense(..., activation="relu")``) is its own producer."""
    own = [p.name for p in run.entities("param") if p.get("module") == module.name]
    if own:
        return own
    producers = set(_producers(run, module))
    return [p.name for p in run.entities("param") if p.get("module") in producers]


def _producer_label(run: RunView, module: Entity) -> str:
    if any(p.get("module") == module.name for p in run.entities("param")):
        return module.name
    producers = _producers(run, module)
    return f"{producers[0]} ({module.name})" if producers else module.name


def _units(run: RunView, module: Entity) -> int | None:
    """Width of the producing layer: the first dimension of its weight (out features/channels)."""
    for name in feeding_params(run, module):
        entity = run.entity("param", name)
        shape = entity.get("shape") if entity is not None else None
        if entity is not None and entity.get("fan_in") and shape:  # TF layout: (..., out)
            return int(shape[-1])
        if name.endswith("weight") and shape:
            return int(shape[0])
    return None


def _fixes(run: RunView, module: Entity) -> list[Fix]:
    params = [run.entity("param", n) for n in feeding_params(run, module)]
    weight = next((p for p in params if p is not None and len(p.get("shape") or []) >= 2), None)
    ref = layer_ref(run, weight) if weight is not None else None
    fixes = []
    if ref is not None:
        fixes += [Fix(advice.CHECK_NEGATIVE_BIAS, {"layer": ref}),
                  Fix(advice.POSITIVE_BIAS, {"layer": ref, "value": 0.01}),
                  Fix(advice.INIT_LAYER, {"layer": ref, "scheme": "he", "activation": "relu"})]
    return fixes + [
        Fix(advice.LOWER_LR, {"factor": 10, "why": "one large update can push a unit's "
                              "pre-activation below zero for every input, and a dead unit gets "
                              "no gradient to recover"}),
        Fix(advice.LEAKY_ACTIVATION),
    ]


STEPS = range(0, 100, 5)


def _dead(fraction: float) -> Scenario:
    def build(run):  # type: ignore[no-untyped-def]
        return run.mlp([4, 16, 16, 1]).steps(STEPS, act={"1": {
            "dead_frac": fraction,
            "dead_frac_window": lambda s: fraction if s % 25 == 20 else None}})
    return Scenario(build)


SCENARIOS = {
    "positive_most_units_dead": Scenario(_dead(0.7).build, Severity.WARNING,
                                         where=("0.weight", "1"), first="0.weight"),
    "positive_layer_dead": Scenario(_dead(1.0).build, Severity.ERROR),
    "healthy": _dead(0.05),
    "boundary_below_half": _dead(0.45),
    "boundary_above_half": Scenario(_dead(0.55).build, Severity.WARNING),
}
