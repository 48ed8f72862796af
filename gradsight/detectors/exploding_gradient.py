"""``exploding_gradient``: gradient norms that grow by orders of magnitude to a size that dwarfs
the weights they update.

Judged per weight tensor (biases and gains can sit near zero, which makes any ratio against them
meaningless) on two numbers at each recorded step, both of which must hold:

- growth: |g| against the same tensor's |g| at the start of the run (median of its first
  ``BASELINE_STEPS`` recorded gradients). Healthy runs keep it within an order of magnitude or
  two; a run whose gradients only shrink from a large initialization (N(0, 1) CNNs start near
  1e4 and settle) never grows, so it is poor_initialization's business, not this one's.
- scale: the step was violent against the weight. Either |g|/|w| is above ``RATIO_LIMIT`` (an
  SGD step at lr 0.1 would move the weight by more than its own size), or the recorded update
  was at least ``UPDATE_LIMIT`` of the weight (healthy training moves ~1e-3 per step). The
  update test is the one that catches SGD blowing up at a large learning rate: the weight norm
  is recorded *after* the step, and once the updates dominate it |g|/|w| settles near 1/lr
  (1.25 at lr 0.8) however large the gradients get. An update that exceeds the weight it was
  added to leaves ||w_after|| < 2||u||, so the ratio to the recorded weight is then above 0.5.
  Growth alone is not enough: a network started at N(0, 1e-3) (seed 000/001) sees its gradients
  grow ~500x as it starts to learn, at |g|/|w| ~3 and updates ~3e-3 of the weight.
  Under an adaptive optimizer (Adam, RMSprop, Adagrad, ...) |g|/|w| says nothing of the step:
  the step is normalized per element, so a loss summed over 784 pixels (a VAE) has |g|/|w| of
  20 while every update stays ~1e-3 of its weight, and an encoder whose gradients start near 0
  "grows" 4,000x as the decoder begins to use it. There the ratio counts only with harm done:
  the run went non-finite, or the loss, within ``HARM_AFTER`` steps, rose to ``LOSS_JUMP`` times
  its median over the ``HARM_BEFORE`` steps before (an explosion that matters moves the loss);
  the update test stands as it is.

Gradients are judged as backward computed them, *before* any clipping (clip_grad_norm_,
clip_grad_value_ are tapped), and the clipped norms the optimizer applied are reported beside
them. An explosion that clipping contains (the run stays finite and no step moved a weight by
``UPDATE_LIMIT`` of itself) is worth knowing but not a problem: severity info. Once the run goes
non-finite a tenth of the growth suffices: gradients that grew ``NONFINITE_GROWTH_LIMIT``x and
then broke the numbers are the explosion's usual end.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..core.finding import Finding, Severity
from ..core.scenarios import Scenario
from ..core.synthetic import healthy_loss, when
from ..core.run_view import RunView
from ..core.series import Series
from ..core import advice, records
from ..core.advice import Fix
from ._common import (MIN_STEPS, ParamSeries, first_nonfinite_step, fmt, forward_position,
                      owner_of, param_series, ratio)

KIND = "exploding_gradient"
PRIORITY = 25
EXPLAINED_IF_EARLIER = ("attention_logit_growth", "output_logit_divergence")
EXPLAINED_BY = ("poor_initialization",)

BASELINE_STEPS = 3  # the start of the run that growth is measured against
GROWTH_LIMIT = 100.0  # two orders of magnitude over the run's own start
NONFINITE_GROWTH_LIMIT = 10.0  # one order, when NaN/Inf follows
RATIO_LIMIT = 10.0  # |g|/|w|: an SGD step at lr 0.1 would exceed the weight
UPDATE_LIMIT = 0.5  # |u|/|w_after|: the step was about as large as the weight itself
ERROR_GROWTH = 1e4  # four orders of magnitude: training is broken, not merely shaky
LOSS_JUMP = 2.0  # adaptive optimizers: the loss doubled against its recent median ...
HARM_BEFORE, HARM_AFTER = 20, 10  # ... over the steps before, within the steps after



def detect(run: RunView) -> list[Finding]:
    params = param_series(run)
    nonfinite_step = first_nonfinite_step(run)
    flagged: list[tuple[ParamSeries, int, dict[str, float]]] = []
    flagged_layers = set()
    loss_jumped = LossJump(run.loss)
    for p in params:
        if not p.is_matrix:
            continue
        judged = _judge(p, nonfinite_step, loss_jumped)
        if judged is not None:
            flagged.append((p, *judged))
            flagged_layers.add(p.entity.get("module"))
    if not flagged:
        return []
    for p in params:  # a flagged layer's bias, when its gradient exploded alike
        if not p.is_matrix and p.entity.get("module") in flagged_layers:
            numbers = _growth(p)
            if numbers is not None and numbers["growth"] >= GROWTH_LIMIT:
                flagged.append((p, int(numbers["peak_step"]), numbers))
    flagged.sort(key=lambda item: forward_position(run, item[0].entity))
    clipping = any(bool(p.clipped.any()) for p, _, _ in flagged)
    step = min(s for _, s, _ in flagged)
    matrices = [(p, n) for p, _, n in flagged if p.is_matrix]
    worst, worst_numbers = max(matrices, key=lambda item: item[1]["growth"])
    growth = worst_numbers["growth"]
    evidence = {
        "first_grad_norm": {p.name: n["first"] for p, _, n in flagged},
        "peak_grad_norm": {p.name: n["peak"] for p, _, n in flagged},
        "peak_step": {p.name: int(n["peak_step"]) for p, _, n in flagged},
        "growth_factor": {p.name: n["growth"] for p, _, n in flagged},
        "grad_to_weight_at_peak": {p.name: n["ratio"] for p, n in matrices},
        "update_to_weight_at_peak": {p.name: n["update_ratio"] for p, n in matrices},
        "growth_limit": GROWTH_LIMIT if nonfinite_step is None else NONFINITE_GROWTH_LIMIT,
        "grad_to_weight_limit": RATIO_LIMIT,
        "update_to_weight_limit": UPDATE_LIMIT,
        "first_nonfinite_step": nonfinite_step,
        "measured": "before gradient clipping" if clipping else "at optimizer.step",
        "optimizer": worst.entity.get("optimizer_type"),
    }
    if clipping:
        evidence["clipped_grad_norm_at_peak"] = {p.name: n["applied"] for p, n in matrices}
    summary = (
        f"gradients explode: {worst.name}'s gradient norm grew {fmt(growth)}x, from "
        f"{fmt(worst_numbers['first'])} to {fmt(worst_numbers['peak'])} at step "
        f"{int(worst_numbers['peak_step'])} ({fmt(worst_numbers['ratio'])}x its weight's norm; "
        f"that step moved the weight by {fmt(worst_numbers['update_ratio'])} of its size)"
        + (f", and the run went non-finite at step {nonfinite_step}" if nonfinite_step else "")
    )
    recurrent = any(p.entity.get("module_kind") == records.RECURRENT for p, _, _ in flagged)
    clip = Fix(advice.CLIP_GRAD_NORM, {"max_norm": 1.0, "recurrent": recurrent,
                                       "owner": owner_of(run)})
    lr = worst.lr[np.isfinite(worst.lr)]
    lower = Fix(advice.LOWER_LR, {"factor": 10, "current": float(lr.max()),
                                  "new": float(lr.max()) / 10} if lr.size else {"factor": 10})
    fixes = [clip, lower] if recurrent or nonfinite_step is not None else [lower, clip]
    fixes.append(Fix(advice.ADD_NORMALIZATION, {"layer": None}))
    fixes.append(Fix(advice.INIT_ALL, {"layer": {"owner": owner_of(run)}}))
    severe = nonfinite_step is not None or growth >= ERROR_GROWTH
    severity = Severity.ERROR if severe else Severity.WARNING
    contained = nonfinite_step is None and all(
        n["clipped"] and not n["update_ratio"] >= UPDATE_LIMIT for _, n in matrices
    )
    if contained:  # clipping does its job: the applied steps stay sane
        severity = Severity.INFO
        summary += (f"; clipping held the applied gradient at {fmt(worst_numbers['applied'])}, "
                    "and training stayed stable")
        fixes = [f for f in fixes if f.action != advice.CLIP_GRAD_NORM]
    back = None if nonfinite_step is not None else _recovered(worst)
    if back is not None and severity != Severity.INFO:
        # a burst the run came back from (one bad batch): loss_spike's story, worth knowing
        severity = Severity.INFO
        summary += (f"; a burst: the gradient norm was back within {fmt(RECOVERED)}x of its "
                    f"start by step {back} and stayed there")
    return [
        Finding(
            KIND,
            severity,
            [p.name for p, _, _ in flagged],
            step,
            summary,
            evidence,
            advice=fixes,
        )
    ]


class LossJump:
    """Whether the loss rose to LOSS_JUMP x its median of the HARM_BEFORE steps before a step
    within HARM_AFTER steps of it (no recorded loss: no harm shown).

    Built once per run and asked per (parameter, step): the windows are found by bisection and
    each step's answer is kept, so a long run costs O(steps · log losses), not steps x losses.
    """

    def __init__(self, loss: Series) -> None:
        finite = np.isfinite(loss.values)
        self._steps, self._values = loss.steps[finite], loss.values[finite]
        self._known: dict[int, bool] = {}

    def __call__(self, step: int) -> bool:
        known = self._known.get(step)
        if known is None:
            known = self._known[step] = self._jumped(step)
        return known

    def _jumped(self, step: int) -> bool:
        start = np.searchsorted(self._steps, step - HARM_BEFORE, side="left")
        at = np.searchsorted(self._steps, step, side="left")
        end = np.searchsorted(self._steps, step + HARM_AFTER, side="right")
        if at == start or end == at:
            return False
        base = float(np.median(self._values[start:at]))
        return base > 0 and float(self._values[at:end].max()) >= LOSS_JUMP * base


RECOVERED = 10.0  # back within this factor of the run's start ...
RECOVERED_FOR = 50  # ... for this many steps to the end of the run: a transient burst


def _recovered(p: ParamSeries) -> int | None:
    """The step after which the gradient stayed within RECOVERED x of its start (None: it
    never came back, or the run ended too soon after to tell)."""
    ok = p.has_grad & np.isfinite(p.grad) & (p.grad > 0)
    grad, steps = p.grad[ok], p.steps[ok]
    if grad.size < BASELINE_STEPS + RECOVERED_FOR:
        return None
    first = float(np.median(grad[:BASELINE_STEPS]))
    high = np.nonzero(grad > RECOVERED * first)[0]
    if not high.size:
        return None
    after = high[-1] + 1
    if after >= grad.size or steps[-1] - steps[after] < RECOVERED_FOR:
        return None
    return int(steps[after])


def _growth(p: ParamSeries) -> dict[str, float] | None:
    """|g| at its peak against the run's start; None when there is not enough to judge."""
    ok = p.has_grad & np.isfinite(p.grad) & (p.grad > 0)
    if ok.sum() < MIN_STEPS:
        return None
    grad, steps, weight = p.grad[ok], p.steps[ok], p.weight[ok]
    first = float(np.median(grad[:BASELINE_STEPS]))
    later = grad[BASELINE_STEPS:]
    if later.size == 0:
        return None
    i = BASELINE_STEPS + int(np.argmax(later))
    return {
        "first": first,
        "peak": float(grad[i]),
        "peak_step": float(steps[i]),
        "growth": float(grad[i] / first),
        "ratio": float(ratio(grad[i], weight[i])),
    }


def _judge(p: ParamSeries, nonfinite_step: int | None, loss_jumped: Callable[[int], bool]
           ) -> tuple[int, dict[str, float]] | None:
    """First step where both growth and scale held, with the peak numbers; else None."""
    numbers = _growth(p)
    if numbers is None:
        return None
    ok = p.has_grad & np.isfinite(p.grad) & (p.grad > 0)
    grad, steps, weight, update = p.grad[ok], p.steps[ok], p.weight[ok], p.update[ok]
    limit = GROWTH_LIMIT if nonfinite_step is None else NONFINITE_GROWTH_LIMIT
    rel = ratio(grad, weight)
    moved = ratio(update, weight)
    large = np.isfinite(rel) & (rel >= RATIO_LIMIT)
    if p.entity.get("optimizer_kind") in records.ADAPTIVE and nonfinite_step is None:
        # the step is normalized: a large ratio counts only with harm done
        large &= np.array([bool(big) and loss_jumped(int(s)) for s, big in zip(steps, large)],
                          dtype=bool)
    violent = large | (np.isfinite(moved) & (moved >= UPDATE_LIMIT))
    hits = np.nonzero(
        (np.arange(grad.size) >= BASELINE_STEPS) & (grad >= limit * numbers["first"]) & violent
    )[0]
    if not hits.size:
        return None
    # the peak among the steps that qualified, so that the evidence shows the explosion
    best = hits[int(np.argmax(grad[hits]))]
    numbers.update(
        peak=float(grad[best]), peak_step=float(steps[best]),
        growth=float(grad[best] / numbers["first"]), ratio=float(rel[best]),
        update_ratio=float(moved[best]), applied=float(p.grad_applied[ok][best]),
        clipped=float(p.clipped[ok][best]),
    )
    return int(steps[hits[0]]), numbers


STEPS = range(0, 100, 5)


def _growing(peak: float, optimizer: str = "SGD", jump: float = 1.0) -> Scenario:
    """0.weight's gradient ``peak`` x its start from step 50 (weights of norm 1), under
    ``optimizer``; the loss times ``jump`` from step 50 too."""
    def build(run):  # type: ignore[no-untyped-def]
        run.optimizer_type = optimizer
        return run.mlp([4, 16, 16, 1]).steps(
            STEPS, grad_norm={"0.weight": when(lambda s: s >= 50, peak, 1.0)},
            loss=lambda s: healthy_loss(s) * (jump if s >= 50 else 1.0))
    return Scenario(build)


SCENARIOS = {
    "positive_thousandfold": Scenario(_growing(1e3).build, Severity.WARNING,
                                      first="0.weight"),
    "healthy": Scenario(lambda run: run.mlp([4, 16, 16, 1]).steps(STEPS)),
    "boundary_below_the_growth_limit": _growing(0.5 * GROWTH_LIMIT),
    "boundary_above_the_growth_limit": Scenario(_growing(2 * GROWTH_LIMIT).build,
                                                Severity.WARNING),
    "positive_adam_and_the_loss_jumps": Scenario(
        _growing(1e3, "Adam", jump=3 * LOSS_JUMP).build, Severity.WARNING, first="0.weight"),
    "boundary_adam_loss_falls": Scenario(
        _growing(1e3, "Adam").build,
        why="Adam normalizes each step: a gradient 1000x its start, at |g|/|w| 1000, moved "
            "nothing violently, and the loss kept falling"),
}
