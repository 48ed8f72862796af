"""``vanishing_gradient``: some layers' gradients are orders of magnitude too small.

Judged per weight tensor on |g|/|w| (gradient against its own weight, so that layers of any
size compare), relative to the best weight tensor at the same step: in a healthy network the
layers' ratios stay within about an order of magnitude of each other; two orders below the best
layer means the layer learns ~100x slower than the rest of the network. Seed 000/001 (3-layer,
N(0, 1e-3) init) measures ~1e-3 for the first layer against ~2.4 for the last.

A weight far smaller than the rest of its network (a near-zero init, a zero-initialized branch)
has a |g|/|w| inflated by its own smallness: as the reference it would make every healthy layer
look vanishing and get named. So each weight's norm is floored at ``NEAR_ZERO`` of the size the
network's typical weight would have at its shape (weights compared as rms x sqrt(fan_in), the
scale He/Glorot set): within a factor ``1 / NEAR_ZERO`` of the typical scale nothing changes;
below it the gradient is judged against that floor, a scale no near-zero weight can distort.
Biases are never the reference (``ParamSeries.is_matrix``).
"""

from __future__ import annotations

import warnings

import numpy as np

from ..core.finding import Finding, Severity
from ..core.scenarios import Scenario
from ..core.run_view import RunView
from ..core import advice
from ..core.advice import Fix
from ._common import (
    ParamSeries,
    fmt,
    forward_position,
    init_fixes,
    is_bias_before_batchnorm,
    is_embedding,
    layer_ref,
    fan_in,
    min_steps,
    owner_of,
    param_series,
    ratio,
)

KIND = "vanishing_gradient"
PRIORITY = 30
# Dead ReLUs pass no gradient back: the layers behind them see it vanish as a consequence.
EXPLAINED_BY = ("poor_initialization", "dead_units")

RELATIVE_LIMIT = 1e-2  # 100x below the best layer: a warning
ERROR_LIMIT = 1e-3  # 1000x below: the layer is effectively not learning
# The effect, where the run has updates: the layer's steps must have collapsed too. A small
# |g|/|w| the optimizer still turns into steps is no vanishing gradient.
# - plain and momentum SGD move a weight by ~lr x g: its median update/weight must be below
#   1e-4 a step (a tenth of the usual ~1e-3; the report's band). A layer before a batch norm
#   (seed 002) gets gradients ~1/|w| that momentum SGD turns into ~2e-4 steps while the output
#   layer's |g|/|w| is ~200x larger: no finding.
# - adaptive optimizers (Adam, RMSprop, ...) divide each gradient by its own running scale, so
#   the step does not follow |g|: a healthy AdamW transformer's attention weights measured
#   |g|/|w| ~200x below its classifier's and steps of ~7e-5. There the layer's steps must be
#   100x below the reference layer's (gradients under the optimizer's epsilon do that).
UPDATE_FLOOR = 1e-4
ADAPTIVE_UPDATE_RELATIVE = 1e-2
# A weight more than 10x below its network's typical fan-in-relative scale is near zero: He and
# Glorot differ by sqrt(2), healthy layers by a few times, so 10x is no ordinary spread; and
# seed 000/001's N(0, 1e-3) layers, all equally small, are 4x apart at most (fan-in 1 vs 16).
NEAR_ZERO = 0.1


def detect(run: RunView) -> list[Finding]:
    params = [p for p in param_series(run) if not is_bias_before_batchnorm(run, p.entity)]
    matrices = [p for p in params if p.is_matrix and not is_embedding(p.entity)]
    if len(matrices) < 2:
        return []  # nothing to compare a single layer against
    steps = np.unique(np.concatenate([p.steps for p in matrices]))
    floored = _floored_weights(matrices, steps)
    per_step = {p.name: _on_steps(p, steps, floored.get(p.name)) for p in params}
    reference = np.fmax.reduce(np.vstack([per_step[p.name] for p in matrices]), axis=0)
    relative = {name: ratio(r, reference) for name, r in per_step.items()}
    medians = {name: _median(rel) for name, rel in relative.items()}
    moves = _update_ratios(matrices, steps, floored)
    best_matrix = max(matrices, key=lambda p: np.nan_to_num(_median(per_step[p.name]), nan=-1))
    reference_update = moves.get(best_matrix.name, float("nan"))
    flagged_layers = set()
    flagged: list[ParamSeries] = []
    for p in matrices:
        if medians[p.name] <= RELATIVE_LIMIT and _judged(relative[p.name]) >= min_steps(run) \
                and not _moves_normally(moves, p, reference_update):
            flagged.append(p)
            flagged_layers.add(p.entity.get("module"))
    for p in params:  # a flagged layer's own bias/gain, when it vanishes too
        if not p.is_matrix and p.entity.get("module") in flagged_layers:
            if medians[p.name] <= RELATIVE_LIMIT:
                flagged.append(p)
    if not flagged:
        return []
    flagged.sort(key=lambda p: forward_position(run, p.entity))
    first = flagged[0]
    best_index = int(np.nanargmax([_median(per_step[p.name]) for p in matrices]))
    best = matrices[best_index]
    worst = min(medians[p.name] for p in flagged)
    first_step = min(_first_step(relative[p.name], steps) for p in flagged)
    evidence = {
        "grad_to_weight_median": {p.name: _median(per_step[p.name]) for p in flagged},
        "reference_param": best.name,
        "reference_grad_to_weight": _median(per_step[best.name]),
        "times_smaller_than_reference": {p.name: 1 / medians[p.name] for p in flagged},
        "grad_rms_median": {p.name: _median(_rms(p)) for p in flagged},
        "reference_grad_rms": _median(_rms(best)),
        "steps_judged": int(len(steps)),
    }
    near_zero = {p.name: _median(ratio(p.weight, _align(floored[p.name], steps, p.steps)))
                 for p in matrices if p.name in floored}
    near_zero = {k: v for k, v in near_zero.items() if v < 1}
    if near_zero:  # judged against the floor instead of their own norm
        evidence["near_zero_weight_to_floor"] = near_zero
    steps_made = {p.name: moves[p.name] for p in flagged
                  if p.is_matrix and np.isfinite(moves.get(p.name, np.nan))}
    if steps_made:  # the effect, where the run made updates (a probe at init has none)
        evidence["update_to_weight_median"] = steps_made
        evidence["median_layer_update_to_weight"] = float(
            np.median([v for v in moves.values() if np.isfinite(v)]))
    summary = (
        f"gradients vanish before reaching {first.name}: its |grad|/|weight| is "
        f"{fmt(_median(per_step[first.name]))}, {fmt(1 / medians[first.name])}x smaller than "
        f"{best.name} ({fmt(_median(per_step[best.name]))}), so it barely learns"
    )
    fixes = _fixes(run, first)
    return [
        Finding(
            KIND,
            Severity.ERROR if worst <= ERROR_LIMIT else Severity.WARNING,
            [p.name for p in flagged],
            first_step,
            summary,
            evidence,
            advice=fixes,
        )
    ]


def _fixes(run: RunView, first: ParamSeries) -> list[Fix]:
    ref = layer_ref(run, first.entity)
    act = first.entity.get("followed_by")
    fixes = init_fixes(run, first.entity)
    if fixes:
        fixes.append(Fix(advice.INIT_ALL, {"layer": ref, "activation": act}))
    elif act in ("sigmoid", "tanh"):  # the init is fine: the activation's derivative is not
        fixes.append(Fix(advice.CHANGE_ACTIVATION, {
            "current": act, "to": "relu",
            "why": f"the init is already scaled for {act}; its derivative (at most "
                   f"{'0.25' if act == 'sigmoid' else '1, less off zero'}) still shrinks the "
                   "gradient at every layer"}))
    fixes.append(Fix(advice.ADD_NORMALIZATION, {"layer": ref}))
    if first.entity.get("optimizer_kind") == "sgd":
        fixes.append(Fix(advice.USE_OPTIMIZER, {"name": "adam", "lr": 1e-3,
                                                "owner": owner_of(run)}))
    return fixes


def _floored_weights(matrices: list[ParamSeries], steps: np.ndarray) -> dict[str, np.ndarray]:
    """Per weight, on ``steps``: its norm, raised to ``NEAR_ZERO`` of the norm the network's
    typical weight (median rms x sqrt(fan_in) at that step) would have at its shape. Only
    weights that needed the floor somewhere are returned."""
    sizes, scales = [], []
    for p in matrices:
        fan = fan_in(p.entity) or 1
        numel = max(int(p.entity.get("numel") or 1), 1)
        size = np.sqrt(numel / fan)  # |w| of a weight whose rms x sqrt(fan_in) is 1
        sizes.append(size)
        scales.append(_align(p.weight, p.steps, steps) / size)
    with warnings.catch_warnings():  # a step where no weight was recorded: NaN, as it should
        warnings.simplefilter("ignore", RuntimeWarning)
        typical = np.nanmedian(np.vstack(scales), axis=0)
    out = {}
    for p, size, scale in zip(matrices, sizes, scales):
        floor = NEAR_ZERO * typical * size
        if np.any(scale * size < floor):
            out[p.name] = np.fmax(scale * size, floor)
    return out


def _align(values: np.ndarray, have: np.ndarray, want: np.ndarray) -> np.ndarray:
    """``values`` (at steps ``have``) at steps ``want``, NaN where absent."""
    out = np.full(len(want), np.nan)
    idx = np.searchsorted(have, want)
    ok = (idx < len(have)) & (have[np.minimum(idx, len(have) - 1)] == want)
    out[ok] = values[idx[ok]]
    return out


def _update_ratios(matrices: list[ParamSeries], steps: np.ndarray,
                   floored: dict[str, np.ndarray]) -> dict[str, float]:
    """Each weight's median update/weight ratio over its steps, against its floored norm
    (NaN: no updates recorded)."""
    out = {}
    for p in matrices:
        weight = p.weight if p.name not in floored else _align(floored[p.name], steps, p.steps)
        out[p.name] = _median(ratio(p.update, weight))
    return out


def _moves_normally(moves: dict[str, float], p: ParamSeries, reference: float) -> bool:
    """The layer's steps did not collapse (see UPDATE_FLOOR); with no updates recorded (a
    probe at initialization) the gradient alone decides."""
    mine = moves.get(p.name, float("nan"))
    if not np.isfinite(mine):
        return False
    kind = p.entity.get("optimizer_kind")
    if kind is not None and kind != "sgd":
        return bool(np.isfinite(reference) and mine >= ADAPTIVE_UPDATE_RELATIVE * reference)
    return mine >= UPDATE_FLOOR


def _on_steps(p: ParamSeries, steps: np.ndarray, floored: np.ndarray | None) -> np.ndarray:
    """|g|/|w| on ``steps`` (|w| floored for a near-zero weight)."""
    # An exactly-zero gradient is a disconnected or dead layer, not a vanishing one.
    grad = _align(np.where(p.grad == 0, np.nan, p.grad), p.steps, steps)
    weight = floored if floored is not None else _align(p.weight, p.steps, steps)
    return ratio(grad, weight)


def _rms(p: ParamSeries) -> np.ndarray:
    numel = max(int(p.entity.get("numel") or 1), 1)
    return p.grad / np.sqrt(numel)


def _median(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(np.median(finite)) if finite.size else float("nan")


def _judged(values: np.ndarray) -> int:
    return int(np.isfinite(values).sum())


def _first_step(relative: np.ndarray, steps: np.ndarray) -> int:
    hits = np.nonzero(np.isfinite(relative) & (relative <= RELATIVE_LIMIT))[0]
    return int(steps[hits[0]]) if hits.size else int(steps[0])


STEPS = range(0, 100, 5)
_HEALTHY = 0.1  # the synthetic runs' |g|/|w| of a healthy layer


def _first_layer_at(relative: float) -> Scenario:
    return Scenario(lambda run: run.mlp([4, 16, 16, 1]).steps(
        STEPS, grad_to_weight={"0.weight": _HEALTHY * relative}))


def _adam_with_near_zero_output(first_layer: float) -> Scenario:
    """Adam; the output weight 1e-4 in size (its |g|/|w| 1e4x the healthy layers'); the first
    layer's |g|/|w| and steps at ``first_layer`` x healthy."""
    def build(run):  # type: ignore[no-untyped-def]
        run.optimizer_type = "Adam"
        return run.mlp([4, 16, 16, 1]).steps(
            STEPS, weight_norm={"4.weight": 1e-4},
            grad_norm={"4.weight": 0.1, "0.weight": _HEALTHY * first_layer},
            update_norm={"4.weight": 1e-2, "0.weight": 1e-3 * first_layer})
    return Scenario(build)


SCENARIOS = {
    "positive_collapsed_first_layer": Scenario(
        lambda run: run.mlp([4, 16, 16, 1]).steps(
            STEPS, grad_to_weight={"0.weight": 1e-5, "0.bias": 1e-5}),
        Severity.ERROR, where=("0.weight",), first="0.weight"),
    "healthy": Scenario(lambda run: run.mlp([4, 16, 16, 1]).steps(STEPS)),
    "boundary_just_below_the_limit": Scenario(
        _first_layer_at(0.9 * RELATIVE_LIMIT).build, Severity.WARNING, first="0.weight"),
    "boundary_just_above_the_limit": _first_layer_at(1.1 * RELATIVE_LIMIT),
    "boundary_tiny_gradient_healthy_steps": Scenario(  # Adam: the step does not follow |g|
        lambda run: run.mlp([4, 16, 16, 1]).steps(
            STEPS, grad_to_weight={"0.weight": 1e-5}, update_to_weight={"0.weight": 1e-3}),
        why="a layer whose steps stay in the healthy band learns, whatever its raw gradient"),
    "boundary_near_zero_weight_is_no_reference": Scenario(
        _adam_with_near_zero_output(1.0).build,
        why="a near-zero weight's |g|/|w| measures its own smallness: against it every healthy "
            "layer would look vanishing"),
    "positive_vanishing_beside_a_near_zero_weight": Scenario(
        _adam_with_near_zero_output(1e-4).build, Severity.ERROR, where=("0.weight",),
        first="0.weight"),
}
