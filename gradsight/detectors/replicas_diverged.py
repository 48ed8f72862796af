"""``replicas_diverged``: data-parallel replicas whose parameters should be identical differ.

Under DDP every rank holds the whole model: DDP broadcasts rank 0's parameters when it wraps
the model, and every step each rank applies the same all-reduced gradient with the same
optimizer, so the replicas stay identical to the bit. They drift apart when a step's gradient
is not all-reduced (forward/backward through the raw module, ``model.module``, instead of the
DDP wrapper), when they never started equal (initialized after wrapping, or with a
rank-dependent seed, in a job that averages gradients by hand), or when what the forward
depends on is not synchronized (buffers with ``broadcast_buffers=False``). Each rank then
trains a different model, and a checkpoint saved by rank 0 is not the one the others trained.

Each rank records a *fingerprint* of every whole (not sharded) parameter on detail steps: the
float64 sum of a fixed sample of its elements (``adapters/torch/distributed.py``); nothing
crosses ranks while training. Here the ranks' fingerprints are compared step by step. A
parameter counts as a replica when a DDP wrapper replicates it, when its gradient is
synchronized by hand (its gradient norm equal on every rank at some step), or when the ranks of
one process group all started from the same weights (every parameter's exact initial norm equal
on every rank, a randomly drawn matrix among them, so not only zero biases and unit gains): a
job whose hand-written average never runs has no synchronized step at all, and its replicas,
alike at the start, drift from the first update. Ranks training different models on purpose
(an ensemble: different seeds, or processes in no group, such as a sweep under ``mp.spawn``)
have none of these, and are left alone.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core import advice
from ..core.advice import Fix
from ..core.finding import Finding, Severity
from ..core.metrics import (EVENT_MANUAL_OPTIMIZATION, FINGERPRINT, GRAD_NORM, HAS_GRAD,
                            UPDATE_SAMPLE, WEIGHT_NORM, WEIGHT_NORM_INIT)
from ..core.records import BATCH_NORM
from ..core.run_view import RunView
from ..core.scenarios import Scenario
from ..core.series import Series
from ._common import fmt, forward_position

KIND = "replicas_diverged"
PRIORITY = 3  # a root cause: every rank's other numbers are of a different model
REPLICATE = "replicate"
# Alike replicas give a difference of exactly 0 (same elements, same float64 sum, same order).
# A difference above 1e-6 of the sample's scale is ~16x float32's rounding of one weight
# (6e-8), so it is no reduction-order artifact of one kernel: the replicas are different.
DIFFERENT = 1e-6
# From here the replicas are measurably different models (0.1% of their weights' scale): an
# error; below it (they have begun to drift) a warning.
DIFFERENT_MODELS = 1e-3
SHOWN = 5  # parameters named in the summary's evidence


def detect(run: RunView) -> list[Finding]:
    ranks: dict[int, RunView] = getattr(run, "ranks", None) or {}
    if len(ranks) < 2:
        return []
    base = min(ranks)
    diffs: dict[str, tuple[int, float, float, int]] = {}  # name -> first step, last, max, rank
    synced: dict[str, bool] = {}
    same_start = _started_alike(run, ranks)
    for entity in sorted(run.entities("param"), key=lambda e: forward_position(run, e)):
        placement = entity.get("placement")
        if placement not in (None, REPLICATE):
            continue  # a shard: ranks hold different elements by design
        grads = [v.metric("param", GRAD_NORM).get(entity.name) for v in ranks.values()]
        synced[entity.name] = _ever_equal(grads)
        if placement is None and not synced[entity.name] and not same_start:
            continue  # not a replica: nothing synchronizes it across ranks
        found = _divergence(run, entity, ranks, base)
        if found is not None:
            diffs[entity.name] = found
    if not diffs:
        return []
    where = sorted(diffs, key=lambda n: diffs[n][0])  # first to differ first (forward order)
    name = where[0]
    step, last, _, rank = diffs[name]
    worst = max(diffs.values(), key=lambda d: d[1])
    severity = Severity.ERROR if worst[1] >= DIFFERENT_MODELS else Severity.WARNING
    at_init = [n for n in where if _init_differs(n, ranks, base)]
    unsynced = _unsynced_steps(run, ranks, [n for n in where if synced.get(n)] or where)
    replicas = sum(1 for e in run.entities("param") if e.get("placement") in (None, REPLICATE))
    summary = (f"data-parallel replicas differ across ranks from step {step}: {name} on rank "
               f"{rank} differs from rank {base}'s by {fmt(diffs[name][2])} of its scale"
               f"{' (already at initialization)' if name in at_init else ''}; "
               f"{len(where)} of {replicas} replicated parameters differ, by up to "
               f"{fmt(worst[2])}")
    unused = _never_a_gradient(run)
    if unused:  # DDP cannot finish averaging a step in which a replica got no gradient
        summary += f"; DDP could not average their gradients: {unused[0]} never got one"
    evidence: dict[str, Any] = {
        "first_step": step,
        "ranks_compared": sorted(ranks),
        "relative_difference_at_end": {n: diffs[n][1] for n in where[:SHOWN]},
        "differ_at_initialization": at_init[:SHOWN],
        "steps_gradients_not_synchronized": unsynced[:10],
    }
    if unused:
        evidence["caused_by"] = "no_gradient"
    return [Finding(KIND, severity, where, step, summary, evidence,
                    advice=_fixes(run, ranks, bool(unsynced), bool(at_init)))]


def _started_alike(run: RunView, ranks: dict[int, RunView]) -> bool:
    """Whether the ranks, all in one process group, started from the same weights: every
    parameter's exact initial norm equal on every rank, a matrix among them."""
    if not all(view.meta.get("backend") for view in ranks.values()):
        return False  # no process group: independent processes (a sweep), not a job
    matrices = 0
    for entity in run.entities("param"):
        inits = [v.metric("param", WEIGHT_NORM_INIT).get(entity.name) for v in ranks.values()]
        values = [float(s.values[0]) for s in inits if s is not None and len(s)]
        if len(values) < len(ranks) or not np.isfinite(values).all():
            return False
        if max(values) - min(values) > DIFFERENT * max(abs(v) for v in values):
            return False
        matrices += len(entity.get("shape") or ()) >= 2 and max(values) > 0
    return matrices > 0


def _never_a_gradient(run: RunView) -> list[str]:
    """Replicated parameters that no step gave a gradient (DDP waits for them in vain)."""
    has = run.metric("param", HAS_GRAD)
    return [e.name for e in run.entities("param") if e.get("placement") == REPLICATE
            and e.get("requires_grad", True) and e.name in has and len(has[e.name])
            and not (has[e.name].values > 0.5).any()]


def _divergence(run: RunView, entity: Any, ranks: dict[int, RunView], base: int
                ) -> tuple[int, float, float, int] | None:
    """(first step, difference at the last common step, largest, a rank) where the ranks'
    fingerprints differ by more than DIFFERENT of the sample's scale; None if they never do."""
    series = {r: v.metric("param", FINGERPRINT).get(entity.name) for r, v in ranks.items()}
    if any(s is None or not len(s) for s in series.values()):
        return None
    steps = series[base].steps
    for s in series.values():
        steps = np.intersect1d(steps, s.steps)  # type: ignore[union-attr]
    if not len(steps):
        return None
    scale = _sample_scale(run, entity, steps)
    ref = _at(series[base], steps)
    rel = np.zeros(len(steps))
    worst_rank = base
    for rank, s in series.items():
        if rank == base:
            continue
        with np.errstate(invalid="ignore", divide="ignore"):
            d = np.abs(_at(s, steps) - ref) / scale  # type: ignore[arg-type]
        d = np.where(np.isfinite(d), d, 0.0)  # NaN on a rank is nonfinite's finding
        if d.max() > rel.max():
            worst_rank = rank
        rel = np.maximum(rel, d)
    hits = np.nonzero(rel > DIFFERENT)[0]
    if not hits.size:
        return None
    return int(steps[hits[0]]), float(rel[-1]), float(rel.max()), worst_rank


def _sample_scale(run: RunView, entity: Any, steps: np.ndarray) -> np.ndarray:
    """The L2 norm expected of the fingerprint's sample: |w| x sqrt(sampled / numel)."""
    numel = max(int(entity.get("numel") or np.prod(entity.get("shape") or [1])), 1)
    weight = run.metric("param", WEIGHT_NORM).get(entity.name)
    w = _at(weight, steps) if weight is not None else np.full(len(steps), np.nan)
    scale = w * np.sqrt(min(UPDATE_SAMPLE, numel) / numel)
    return np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)


def _at(series: Series, steps: np.ndarray) -> np.ndarray:
    index = np.searchsorted(series.steps, steps)
    index = np.clip(index, 0, max(len(series.steps) - 1, 0))
    out = series.values[index].astype(np.float64)
    return np.where(series.steps[index] == steps, out, np.nan)


def _ever_equal(grads: list[Series | None]) -> bool:
    """Whether the ranks' gradient norms were equal (a synchronized gradient) at some step."""
    if any(g is None or not len(g) for g in grads):
        return False
    steps = grads[0].steps  # type: ignore[union-attr]
    for g in grads[1:]:
        steps = np.intersect1d(steps, g.steps)  # type: ignore[union-attr]
    if not len(steps):
        return False
    values = np.stack([_at(g, steps) for g in grads])  # type: ignore[arg-type]
    ok = np.isfinite(values).all(axis=0) & (values[0] > 0)
    spread = np.abs(values - values[0]).max(axis=0)
    return bool((ok & (spread <= DIFFERENT * np.abs(values[0]))).any())


def _unsynced_steps(run: RunView, ranks: dict[int, RunView], names: list[str]) -> list[int]:
    """Steps at which these replicas' gradients differed across ranks: steps whose gradients
    were not all-reduced."""
    out: set[int] = set()
    for name in names:
        grads = [v.metric("param", GRAD_NORM).get(name) for v in ranks.values()]
        if any(g is None or not len(g) for g in grads):
            continue
        steps = grads[0].steps  # type: ignore[union-attr]
        for g in grads[1:]:
            steps = np.intersect1d(steps, g.steps)  # type: ignore[union-attr]
        values = np.stack([_at(g, steps) for g in grads])  # type: ignore[arg-type]
        with np.errstate(invalid="ignore"):
            spread = np.abs(values - values[0]).max(axis=0) / np.abs(values[0])
        out.update(int(s) for s in steps[np.isfinite(spread) & (spread > DIFFERENT)])
    return sorted(out)


def _init_differs(name: str, ranks: dict[int, RunView], base: int) -> bool:
    """The replicas differed before the first update (their exact initial norms differ)."""
    inits = [v.metric("param", WEIGHT_NORM_INIT).get(name) for v in ranks.values()]
    values = [float(s.values[0]) for s in inits if s is not None and len(s)]
    if len(values) < 2 or not all(np.isfinite(values)):
        return False
    return max(values) - min(values) > DIFFERENT * max(abs(v) for v in values)


def _fixes(run: RunView, ranks: dict[int, RunView], unsynced: bool, at_init: bool
           ) -> list[Fix]:
    """The classic causes, the one the numbers point at first. A model that optimizes by hand
    (Lightning's manual optimization, told by any rank) bypasses DDP's averaging through its
    backward call, not its forward."""
    by_hand = any(v.events(EVENT_MANUAL_OPTIMIZATION) for v in (run, *ranks.values()))
    bypass = Fix(advice.DDP_FORWARD, {"owner": _owner(run), "manual_backward": by_hand})
    init = Fix(advice.SAME_INIT, {})
    buffers = Fix(advice.SYNC_BUFFERS, {"batch_norm": any(
        m.get("kind") == BATCH_NORM for m in run.entities("module"))})
    if at_init and not unsynced:
        return [init, bypass, buffers]
    if not any(e.get("placement") == REPLICATE for e in run.entities("param")):
        return [Fix(advice.ALL_REDUCE_GRADS, {}), init, buffers]  # no wrapper: by hand
    return [bypass, init, buffers]


def _owner(run: RunView) -> str | None:
    owners = {m.get("owner") for m in run.entities("module")} - {None}
    return owners.pop() if len(owners) == 1 else None


STEPS = range(0, 40, 2)


def _job(drift: float, start: int = 10, *, ranks: int = 2, replicate: bool = True,
         unsynced: Any = lambda step: False, init_spread: float = 0.0, group: bool = True
         ) -> Any:
    """A ``ranks``-rank job of a small MLP whose rank > 0 replicas drift by ``drift`` (of the
    fingerprint's scale) per step from step ``start``; gradients differ across ranks at the
    steps ``unsynced`` picks, initial norms by ``init_spread``; ``group``: the ranks joined a
    process group (else independent processes numbered by their launcher)."""
    def rank_run(run: Any, rank: int) -> Any:
        if group:
            run.set_meta(backend="gloo")
        def fingerprint(step: int) -> float:
            return 0.3 + rank * drift * max(0, step - start + 1)

        def grad(step: int) -> float:
            return 0.05 * (1 + 0.2 * rank * bool(unsynced(step)))

        def init(step: int) -> float | None:
            return 1.0 + rank * init_spread if step == 0 else None

        return run.mlp([4, 16, 1]).steps(
            STEPS, grad_norm=grad, extra={FINGERPRINT: fingerprint, WEIGHT_NORM_INIT: init})
    return lambda run: run.job(ranks, rank_run, placement=REPLICATE if replicate else None)


SCENARIOS = {
    "positive_ddp_bypass_drift": Scenario(
        _job(0.01, unsynced=lambda step: step % 4 == 2), Severity.ERROR,
        where=("0.weight", "2.weight"), first="0.weight"),
    "positive_rank_seeded_init_four_ranks": Scenario(
        _job(0.05, start=0, ranks=4, replicate=False, init_spread=0.1), Severity.ERROR,
        first="0.weight"),
    "healthy": Scenario(_job(0.0)),
    "boundary_rounding_level": Scenario(
        _job(1e-8), why="a difference at float32 rounding of one weight is not a drift"),
    "positive_hand_written_average_never_runs": Scenario(
        _job(0.05, start=0, replicate=False, unsynced=lambda step: True), Severity.ERROR,
        first="0.weight"),
    "boundary_ensemble_not_replicas": Scenario(
        _job(0.05, start=0, replicate=False, unsynced=lambda step: True, init_spread=0.1),
        why="ranks that start from different weights and never synchronize a gradient train "
            "different models on purpose"),
    "boundary_independent_processes_alike": Scenario(
        _job(0.05, start=0, replicate=False, unsynced=lambda step: True, group=False),
        why="processes in no process group (a sweep under mp.spawn) that start alike are no "
            "job's replicas"),
}
