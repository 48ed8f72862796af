"""``stalled_weights``: optimized, with gradients, yet each step moves it by almost nothing.

Judged on the per-step relative update ||w_after - w_before|| / ||w||. The usual rule of thumb
(CS231n) puts healthy training near 1e-3 per step; 1e-5, a hundred times less, moves a weight
by 1% in a thousand steps. Steps whose learning rate is below a tenth of the run's peak are
left out, so warm-up from 0 and schedules that decay to ~0 at the end are not stalls; so are the
steps after the loss reached its floor (``converged_step``: 100x below its start): a layer
that stops moving once there is nothing left to learn is done, not stalled (a full-batch Adam
run whose loss goes 1.1 -> 6e-6 moves its output bias ~1e-2 of its size per step until then,
and ~1e-6 after, where Adam's steps follow gradients that fell under its epsilon); and the steps
after the whole gradient, or the parameter's own, fell 10x below its start (``_stationary``); so
are the steps at which the weight stands ``INFLATED`` times above its first recorded norm, and
every step after the run went NaN/Inf: an explosion that blew a weight up 100x leaves updates that
are tiny against it (float32 rounds them away entirely past ~1e7x), which is the explosion's
finding, not a rate too small (a tanh RNN whose weights grew 1e10x then "moved" 0 a step). A
matrix far larger than its network's typical weight (constants held in it) is judged against 10x
the typical size at its shape (``_scale``), not its own norm.

A stall has one cause no learning rate tuning reaches: weights stored in bfloat16 or float16
round every update smaller than half the spacing of the numbers at their size back to the same
number (bfloat16 near 1.0: spacing 2^-7, so AdamW's ~1e-4 steps on LayerNorm gains are lost
whole). Where a stalled parameter's dtype says so and its step per element (about the learning
rate under an adaptive optimizer, lr x its gradient's rms under SGD) is below that half
spacing at its weights' rms, the finding says it and advises float32 weights under mixed
precision, not a learning rate 10,000x higher.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..core.finding import Finding, Severity
from ..core.records import LOW_PRECISION_BITS, SGD
from ..core.scenarios import Scenario
from ..core.synthetic import when
from ..core.run_view import RunView
from ..core import advice
from ..core.advice import Fix
from ._common import (
    MIN_STEPS,
    always_zero,
    converged_step,
    first_fall,
    first_nonfinite_step,
    fmt,
    forward_position,
    is_bias_before_batchnorm,
    layer_ref,
    owner_of,
    ParamSeries,
    is_embedding,
    param_series,
    ratio,
)
from ._scale import align_steps, bounded_norms

KIND = "stalled_weights"
PRIORITY = 60
EXPLAINED_BY = ("vanishing_gradient", "poor_initialization", "no_gradient", "dead_units")

def _stationary_step(series: list[ParamSeries]) -> int | None:
    """The first step from which the model's whole gradient (the root of its parameters'
    summed squared norms) is ``STATIONARY_FACTOR`` below its start (``_stationary``)."""
    series = [p for p in series if p.has_grad.any()]
    if not series:
        return None
    steps = np.unique(np.concatenate([p.steps[p.has_grad] for p in series]))
    total = np.zeros(len(steps))
    with np.errstate(over="ignore", invalid="ignore"):  # a gradient that overflowed: inf
        for p in series:
            grad = align_steps(np.where(p.has_grad, p.grad, np.nan), p.steps, steps)
            total += np.nan_to_num(grad, nan=0.0, posinf=np.inf) ** 2
    return _stationary(np.sqrt(total), steps)


def _stationary(norms: np.ndarray, steps: np.ndarray) -> int | None:
    """The first step at which a gradient's norm (a running median of ``CONVERGED_WINDOW``
    steps, ``first_fall``) is ``STATIONARY_FACTOR`` below its start: a stationary point of the
    loss, where nothing moves whatever the rate (a linear model on two circles settles on the best
    constant: its gradient goes 2e-3 -> 7e-8 while its loss stays at ln 2; its first layer's
    bias, whose gradient is the mean residual, gets there first). The stall there is the
    consequence; the level the loss stopped at is the finding (``loss_not_decreasing``'s). A
    rate too small to move the weights leaves the gradient where it started. Judged for the
    whole model and for each parameter in its own coordinates."""
    return first_fall(norms, steps, STATIONARY_FACTOR)


def _capped_norms(series: list[ParamSeries]) -> dict[str, np.ndarray]:
    """Weight norms at most 10x the network's typical at their shape (``_scale``), on each
    parameter's own steps: a matrix holding huge constants (a CRF's -1e4 transitions) moves its
    learnable entries normally by a step its norm makes look like nothing. No floor: a
    near-zero weight that does not move is stalled."""
    matrices = [p for p in series if p.is_matrix and not is_embedding(p.entity) and len(p.steps)]
    if len(matrices) < 2:
        return {}
    steps = np.unique(np.concatenate([p.steps for p in matrices]))
    bounded = bounded_norms(matrices, steps, floor=False)
    return {p.name: align_steps(bounded[p.name], steps, p.steps)
            for p in matrices if p.name in bounded}


# A gradient that fell tenfold from its start was changed by the parameter's own steps: it moved
# towards a stationary point, however small its steps look against its norm (the circles
# model's first-layer bias: gradient 7e-4 -> 7e-5 in ~50 steps, steps 9e-5 -> 1e-5 of its size).
# A rate too small to matter leaves the gradient where it was (1x); so does a vanishing one.
STATIONARY_FACTOR = 10.0
STALL_RATIO = 1e-5
HEALTHY_RATIO = 1e-3
LR_ACTIVE_FRACTION = 0.1
# Under an adaptive optimizer each element steps by about lr x m / sqrt(v), the same fraction of
# the learning rate for every parameter with a steady gradient (a tiny BERT fine-tuned with AdamW
# at 2e-5: 0.14-0.27 of it for all 40 parameters). A parameter whose step per element is within
# this factor of the network's typical one moves as fast as its learning rate allows.
RATE_SPREAD = 10.0
INFLATED = 100.0  # a weight this many times its first norm was blown up: not judged there


def detect(run: RunView) -> list[Finding]:
    stalled = []
    medians = {}
    judged: dict[str, tuple[float, float]] = {}  # name -> (median update/weight, step / lr)
    active_of: dict[str, np.ndarray] = {}  # a stalled parameter's judged steps
    matrices: list[float] = []  # the weight matrices' medians (the 1e-3 rule is about them)
    converged = converged_step(run)
    series = param_series(run)
    stationary = _stationary_step(series)
    if stationary is not None:
        converged = stationary if converged is None else min(converged, stationary)
    capped = _capped_norms(series)
    # once the loss or a weight is NaN/Inf, what an update reads says nothing of the rate
    # (nonfinite's finding): only the steps before the run broke are judged
    broke = first_nonfinite_step(run)
    for p in series:
        if (not p.entity.get("optimized") or is_bias_before_batchnorm(run, p.entity)
                or always_zero(p)):  # no gradient at all: no_gradient's finding
            continue
        known = np.isfinite(p.lr)
        peak = p.lr[known].max(initial=0.0)
        if known.all() and peak <= 0:
            continue  # lr 0 throughout is not_optimized's finding
        # an lr the adapter could not read (NaN) counts as active: the updates still tell
        lr_active = ~known | (p.lr >= LR_ACTIVE_FRACTION * peak)
        active = p.has_grad & lr_active & np.isfinite(p.update)
        own = _stationary(p.grad[p.has_grad], p.steps[p.has_grad])
        until = min((s for s in (converged, own) if s is not None), default=None)
        if until is not None:
            active &= p.steps < until
        if broke is not None:
            active &= p.steps < broke
        start = p.weight[np.isfinite(p.weight)][:1]
        if start.size and start[0] > 0:
            with np.errstate(invalid="ignore"):
                active &= ~(p.weight > INFLATED * start[0])
        if active.sum() < MIN_STEPS:
            continue
        weight = capped.get(p.name, p.weight)[active]
        update = p.update[active]
        # a zero weight that does not move is stalled; one that moves is not
        rel = np.where(weight > 0, ratio(update, weight), np.where(update > 0, np.inf, 0.0))
        median = float(np.median(rel))
        judged[p.name] = (median, _step_per_element(p, active))
        if p.is_matrix:
            matrices.append(median)
        if median < STALL_RATIO:
            stalled.append((p, int(p.steps[active][0])))
            active_of[p.name] = active
            medians[p.name] = median
    at_full_rate = _full_rate_test(judged)
    stalled = [(p, step) for p, step in stalled if not at_full_rate(p)]
    if not stalled:
        return []
    stalled.sort(key=lambda item: forward_position(run, item[0].entity))
    first = stalled[0][0]
    lr0 = float(np.nanmax(first.lr)) if np.isfinite(first.lr).any() else float("nan")
    factor = min(HEALTHY_RATIO / max(medians[first.name], 1e-12), 1e4)
    rounded = {p.name: numbers for p, _ in stalled
               if (numbers := _rounded_away(p, active_of[p.name])) is not None}
    moves = ("does not move at all" if medians[first.name] == 0 else
             f"moves only {fmt(medians[first.name])} of its size per step")
    summary = (
        f"{first.name} is optimized but {moves} (healthy training is near "
        f"{HEALTHY_RATIO:g}), so it effectively does not train"
    )
    if first.name in rounded:
        low = rounded[first.name]
        summary = (
            f"{first.name} is stored in {low['dtype']} and {moves}: its steps (about "
            f"{fmt(low['step_per_element'])} per element) are below half the spacing of "
            f"{low['dtype']} numbers at its weights' size ({fmt(low['half_spacing'])}), so "
            "each update rounds away"
        )
    # the whole network slow (its weight matrices' median 10x under healthy): the rate is too
    # small for all of it, and a param group for the slowest few would leave the rest crawling
    network = float(np.median(matrices if len(matrices) >= 2 else
                              [rel for rel, _ in judged.values()]))
    everywhere = network < HEALTHY_RATIO / RATE_SPREAD
    if everywhere:
        summary += (f"; the whole network moves only {fmt(network)} of its size per step (the "
                    "median of its weight matrices): the learning rate is too small for all of it")
    fixes = [
        Fix(advice.CHECK_OTHER_FINDINGS, {"why": "if gradients vanish at these layers (see "
                                          "vanishing_gradient), fix the initialization first: "
                                          "the updates follow"}),
        Fix(advice.RAISE_LR, {"factor": float(factor), "layer": layer_ref(run, first.entity),
                              "current": lr0, "new": lr0 * min(factor, 100),
                              "optimizer": first.entity.get("optimizer_type")}),
    ]
    if everywhere:
        whole = min(HEALTHY_RATIO / max(network, 1e-12), 1e4)
        fixes[1] = Fix(advice.RAISE_LR, {"factor": float(whole), "current": lr0,
                                         "new": lr0 * min(whole, 100)})
        fixes.insert(0, fixes.pop(1))
    if first.entity.get("optimizer_kind") == SGD:
        fixes.append(Fix(advice.USE_OPTIMIZER, {"name": "adam", "lr": 1e-3,
                                                "owner": owner_of(run)}))
    if rounded:
        precision = Fix(advice.FLOAT32_WEIGHTS, {"dtype": rounded[next(iter(rounded))]["dtype"],
                                                 "owner": owner_of(run)})
        # a higher rate would only move the smallest entries, and by whole spacings
        fixes = [precision] if len(rounded) == len(stalled) else [precision, *fixes]
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
                **({"rounded_away": rounded} if rounded else {}),
                "network_update_to_weight_median": network,
            },
            advice=fixes,
        )
    ]


def _step_per_element(p: ParamSeries, active: np.ndarray) -> float:
    """The median of a parameter's step per element (root mean square) over its learning rate;
    NaN where the rate or the size is unknown."""
    numel = int(np.prod(p.entity.get("shape") or [0]))
    rate = p.lr[active]
    if numel <= 0 or not np.isfinite(rate).all() or (rate <= 0).any():
        return float("nan")
    return float(np.median(p.update[active] / np.sqrt(numel) / rate))


def _rounded_away(p: ParamSeries, active: np.ndarray) -> dict[str, Any] | None:
    """Its dtype, step per element and the half spacing of its numbers at its weights' rms,
    where the step is below that half spacing (the update rounds away); else None."""
    dtype = p.entity.get("dtype")
    bits = LOW_PRECISION_BITS.get(dtype or "")
    numel = int(np.prod(p.entity.get("shape") or [0]))
    rate = p.lr[active]
    if bits is None or numel <= 0 or not np.isfinite(rate).any():
        return None
    lr = float(np.nanmax(rate))
    if p.entity.get("optimizer_kind") == SGD:
        step = lr * float(np.median(p.grad[active])) / np.sqrt(numel)
    else:  # adaptive: each element steps by about the learning rate
        step = lr
    rms = float(np.median(p.weight[active])) / np.sqrt(numel)
    if not (rms > 0 and step > 0):
        return None
    half = 2.0 ** (np.floor(np.log2(rms)) - bits)
    if step >= half:
        return None
    return {"dtype": dtype, "step_per_element": step, "half_spacing": float(half),
            "weight_rms": rms}


def _full_rate_test(judged: dict[str, tuple[float, float]]) -> Callable[[ParamSeries], bool]:
    """Whether a parameter that looks stalled is only large-valued: under an adaptive optimizer
    its step per element is within ``RATE_SPREAD`` of the network's typical one, and the same
    learning rate moves the network's parameters at a healthy relative rate (their median at
    least ``STALL_RATIO``). Norm gains at 1 then move ~lr of their size a step (4.6e-6 in that
    BERT fine-tune, whose matrices of ~0.05 move 1.5e-4). A gradient starved below the
    optimizer's epsilon, or cancelling from step to step, has a step far below the others';
    a learning rate too small for everything (a 1e-8 typo) leaves the network's median below
    ``STALL_RATIO`` as well: both stay stalled. Plain SGD has no such typical step. The
    network's figures are taken once; the test returned judges one parameter."""
    steps = [step for _, step in judged.values() if np.isfinite(step)]
    typical = float(np.median(steps)) if steps else float("nan")
    network = float(np.median([rel for rel, _ in judged.values()])) if judged else 0.0

    def at_full_rate(p: ParamSeries) -> bool:
        if p.entity.get("optimizer_kind") in (None, SGD) or not steps:
            return False
        own = judged.get(p.name, (0.0, float("nan")))[1]
        return bool(np.isfinite(own)) and network >= STALL_RATIO and own >= typical / RATE_SPREAD

    return at_full_rate


STEPS = range(0, 100, 5)


def _moving(ratio: float) -> Scenario:
    return Scenario(lambda run: run.mlp([4, 16, 16, 1]).steps(
        STEPS, update_to_weight={"2.weight": ratio}))


def _adam(gain_step: float, lr: float = 2e-5) -> Scenario:
    """An MLP and a LayerNorm's gains (16 ones: norm 4) trained by Adam at ``lr``: every element
    steps 0.2 x lr, the gains' ``gain_step`` x lr (other weights of norm 1)."""
    def build(run):  # type: ignore[no-untyped-def]
        run.optimizer_type, run.lr = "Adam", lr
        run.mlp([4, 16, 16, 1]).layer("norm", "LayerNorm", (16,))
        gain = {n: n == "norm.weight" for n in run.params}
        norms = {n: 4.0 if gain[n] else 1.0 for n in run.params}
        steps = {n: (gain_step if gain[n] else 0.2) * lr * float(np.sqrt(info["numel"]))
                 for n, info in run.params.items()}
        return run.steps(STEPS, weight_norm=norms, update_norm=steps)
    return Scenario(build)


SCENARIOS = {
    # a fine-tune's learning rate: the gains move 4e-6 of their size, at Adam's full rate
    "boundary_adam_gains_at_full_rate": Scenario(
        _adam(0.2).build, why="norm gains at 1 moving at the rate Adam moves every weight"),
    "positive_adam_gains_starved": Scenario(_adam(0.002).build, Severity.WARNING,
                                            where=("norm.weight",), first="norm.weight"),
    "positive_adam_rate_too_small_everywhere": Scenario(_adam(0.2, lr=1e-7).build,
                                                        Severity.WARNING,
                                                        where=("norm.weight", "2.weight")),
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
    # a 16x16 matrix of norm 1e4 (constants held in it) whose steps of 0.01 move its ~1-sized
    # entries normally: judged against the ceiling (40), not stalled; 1e4x smaller steps are
    # the gradient falls 20x (2e-3 -> 1e-4) by step 40 while the steps shrink with it: a
    # stationary point, not a rate too small; the same tiny steps with a gradient that fell
    # only 5x, or not at all, are a stall
    "boundary_stops_at_a_stationary_point": Scenario(
        lambda run: run.mlp([4, 16, 16, 1]).steps(
            range(100), grad_norm=when(lambda s: s >= 40, 1e-4, 2e-3),
            update_to_weight=when(lambda s: s >= 40, 1e-8, 1e-3)),
        why="the whole gradient fell 20x: a stationary point, nothing moves whatever the rate"),
    "boundary_gradient_fell_only_5x": Scenario(
        lambda run: run.mlp([4, 16, 16, 1]).steps(
            range(100), grad_norm=when(lambda s: s >= 40, 4e-4, 2e-3),
            update_to_weight=when(lambda s: s >= 40, 1e-8, 1e-3)),
        Severity.WARNING),
    # one parameter at its own stationary point (a first-layer bias whose gradient, the mean
    # residual, falls 1000x once the output bias fits the class balance)
    "boundary_one_parameter_at_its_stationary_point": Scenario(
        lambda run: run.mlp([4, 16, 16, 1]).steps(
            range(100), grad_norm={"0.bias": when(lambda s: s >= 20, 1e-6, 1e-3)},
            update_to_weight={"0.bias": when(lambda s: s >= 20, 1e-9, 1e-3)}),
        why="its own gradient fell 1000x: nothing left for it to move towards"),
    "positive_tiny_steps_with_a_level_gradient": Scenario(
        lambda run: run.mlp([4, 16, 16, 1]).steps(
            range(100), grad_norm=2e-3, update_to_weight=when(lambda s: s >= 40, 1e-8, 1e-3)),
        Severity.WARNING),
    "boundary_still_after_the_run_broke": Scenario(
        lambda run: run.mlp([4, 16, 16, 1]).steps(
            range(100), update_to_weight=when(lambda s: s >= 6, 0.0, 1e-3),
            loss=None).loss(range(100), when(lambda s: s >= 6, float("nan"), 1.0)),
        why="weights that read as still after the loss went NaN broke; they did not stall"),
    "boundary_updates_lost_on_weights_an_explosion_inflated": Scenario(
        lambda run: run.mlp([4, 16, 16, 1]).steps(
            range(100), weight_norm=when(lambda s: s >= 5, 1e12, 1.0),
            update_to_weight=when(lambda s: s >= 5, 0.0, 1e-3)),
        why="weights blown up 1e12x: float32 rounds their updates away; the explosion's doing"),
    "positive_stalled_without_growing": Scenario(
        lambda run: run.mlp([4, 16, 16, 1]).steps(
            range(100), weight_norm=when(lambda s: s >= 5, 50.0, 1.0),
            update_to_weight=when(lambda s: s >= 5, 0.0, 1e-3)),
        Severity.WARNING, why="50x its first norm is under INFLATED: still judged, stalled"),
    "healthy_huge_constants_moving": Scenario(lambda run: run.mlp([4, 16, 16, 1]).steps(
        STEPS, weight_norm={"2.weight": 1e4}, update_to_weight={"2.weight": 1e-6})),
    "positive_huge_constants_stalled": Scenario(lambda run: run.mlp([4, 16, 16, 1]).steps(
        STEPS, weight_norm={"2.weight": 1e4}, update_to_weight={"2.weight": 1e-10}),
        Severity.WARNING, first="2.weight"),
}
