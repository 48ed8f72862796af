"""What the stability detectors share: causal smoothing of an every-step series, the step the loss
broke, normalization gains, and the fixes for a run that is blowing up.

Every rule here is *causal*: whether it holds at step ``t`` depends on values up to ``t`` only,
so the step a finding reports is the step a run watched live would have been warned at, not a
step found by looking back from the end.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core import advice, records
from ..core.advice import Fix
from ..core.run_view import Entity, RunView
from ..core.series import Series
from ._common import lower_lr_fix, owner_of, uses_clipping

SMOOTH = 5  # steps in the trailing median that smooths one step's sampled value
# The loss broke where its trailing mean over LOSS_SMOOTH steps stands LOSS_RISE times above the
# best such mean before it: 15% is far above the step-to-step noise of a 10-step mean of a
# training loss, and well below the rises the existing kinds judge (loss_spike: 10x).
LOSS_RISE = 1.15
LOSS_SMOOTH = 10
LOSS_FIRST = 3  # the first mean is of this many losses (a blow-up in the first steps counts)
GAIN_GROWTH = 2.0  # a normalization's gains (rms) grown this much since the start: say so


def trailing_median(values: np.ndarray, width: int = SMOOTH) -> np.ndarray:
    """The median of each value and the ``width - 1`` before it (fewer at the start); NaN
    where none of them is finite."""
    out = np.full(len(values), np.nan)
    for i in range(len(values)):
        window = values[max(0, i - width + 1):i + 1]
        window = window[np.isfinite(window)]
        if window.size:
            out[i] = float(np.median(window))
    return out


def module_series(run: RunView, metric: str) -> dict[str, Series]:
    """One stability metric per module, in forward order of the modules."""
    series = run.metric("module", metric)
    order = {e.name: e.order for e in run.entities("module")}
    return {name: series[name] for name in sorted(series, key=lambda n: (order.get(n, 10**9), n))}


def loss_broke(run: RunView, since: int | None = None) -> int | None:
    """The first step at which the loss is non-finite or its trailing mean stands ``LOSS_RISE``
    times above the best trailing mean before it, or above the first loss (a loss above where
    it started is broken, also when that happened in the first steps); None if it never did
    (or it is not positive, so no ratio means anything). ``since``: the first such step from
    there on, against the best trailing mean from ``LOSS_SMOOTH`` steps before it (a break
    after an event, whatever the loss did earlier)."""
    steps, values = run.loss.steps, run.loss.values
    if since is not None:
        keep = np.searchsorted(steps, since) - LOSS_SMOOTH
        steps, values = steps[max(keep, 0):], values[max(keep, 0):]
    if not len(values):
        return None
    bad = ~np.isfinite(values)
    best = float(values[0]) if np.isfinite(values[0]) and values[0] > 0 else np.inf  # the start
    if since is not None:
        best = np.inf  # judged against the trailing means from here on, not one batch's loss
    for i in range(len(values)):
        if bad[i]:
            return int(steps[i])
        if i + 1 < LOSS_FIRST:
            continue
        mean = float(np.mean(values[max(0, i + 1 - LOSS_SMOOTH):i + 1]))
        if mean <= 0:
            return None
        if mean > best * LOSS_RISE:
            return int(steps[i])
        best = min(best, mean)
    return None


def norm_gains(run: RunView, prefix: str = "", until: int | None = None) -> dict[str, float]:
    """Growth of the normalization layers' gains (weight rms against its initial value) under
    ``prefix``, up to step ``until``, where it is at least ``GAIN_GROWTH``."""
    out = {}
    init = run.metric("param", "weight_norm_init")
    norms = run.metric("param", "weight_norm")
    for p in run.entities("param"):
        if p.get("module_kind") not in records.NORMS or not p.name.startswith(prefix) or \
                not p.name.endswith(("weight", "gamma", "scale")):
            continue
        start, series = init.get(p.name), norms.get(p.name)
        if start is None or series is None or not len(start) or start.values[0] <= 0:
            continue
        values = series.values[series.steps <= until] if until is not None else series.values
        if values.size and np.isfinite(values[-1]):
            growth = float(values[-1] / start.values[0])
            if growth >= GAIN_GROWTH:
                out[p.name] = growth
    return out


def parent(name: str) -> str:
    """``blocks.1.attn`` -> ``blocks.1.``: where a layer's neighbours (its norms) live."""
    return name.rsplit(".", 1)[0] + "." if "." in name else ""


def blowup_fixes(run: RunView, gains: dict[str, float]) -> list[Fix]:
    """What holds back any of these instabilities: a lower or warmed-up learning rate,
    clipping, weight decay on the normalizations' gains when they grew."""
    fixes = [lower_lr_fix(run, factor=3), Fix(advice.WARMUP_LR, {"steps": 1000})]
    if not uses_clipping(run):
        fixes.append(Fix(advice.CLIP_GRAD_NORM, {"max_norm": 1.0, "owner": owner_of(run)}))
    if gains:
        fixes.append(Fix(advice.NORM_WEIGHT_DECAY, {"layers": sorted(gains), "value": 0.1,
                                                    "owner": owner_of(run)}))
    return fixes


def entity_order(run: RunView, name: str) -> tuple[int, str]:
    entity: Entity | None = run.entity("module", name) or run.entity("param", name)
    return (entity.order if entity is not None else 10**9, name)


def rounded(values: dict[str, Any]) -> dict[str, Any]:
    return {k: float(f"{v:.4g}") if isinstance(v, float) else v for k, v in values.items()}
