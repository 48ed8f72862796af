"""Step columns for the report's charts: long runs bucketed to a fixed number of columns on a
real step axis, per-layer values averaged per column (in log space for norms), quantized."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

import numpy as np

from ..core.run_view import Entity, RunView, Series

MAX_COLUMNS = 300  # step columns of the heat maps and per-layer lines
MIN_COLUMNS = 40
MAX_LOSS_POINTS = 2000
QUANT = 20  # log10 values are stored as round(QUANT * log10(x)): 0.05-decade steps
LOG_FLOOR = -40.0  # log10 of an exact zero (drawn darkest)


@dataclass(frozen=True)
class Columns:
    """Step buckets: column ``j`` holds the recorded steps in ``[edges[j], edges[j+1])``."""

    edges: np.ndarray
    labels: list[int]  # the first recorded step of each bucket

    def index(self, steps: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.edges, steps, side="right") - 1

    def __len__(self) -> int:
        return len(self.labels)


def make_columns(recorded: np.ndarray, limit: int) -> Columns:
    """At most ``limit`` columns over the recorded steps; each bucket spans an equal range of
    steps (so the x axis stays linear in steps), and empty buckets are dropped."""
    steps = np.unique(np.asarray(recorded, dtype=np.int64))
    if len(steps) == 0:
        return Columns(np.array([0], dtype=np.int64), [])
    if len(steps) <= limit:
        return Columns(steps, [int(s) for s in steps])
    edges = np.unique(np.linspace(steps[0], steps[-1] + 1, limit + 1).astype(np.int64))
    which = np.searchsorted(edges, steps, side="right") - 1
    used = np.unique(which)
    firsts = [int(steps[np.argmax(which == j)]) for j in used]
    return Columns(np.array(firsts, dtype=np.int64), firsts)


def bucket_means(columns: Columns, series: Series | None) -> np.ndarray:
    """Mean of the finite values per column (NaN where a column has none)."""
    out = np.full(len(columns), np.nan)
    if series is None or len(series) == 0 or len(columns) == 0:
        return out
    idx = columns.index(series.steps)
    ok = (idx >= 0) & np.isfinite(series.values)
    sums = np.bincount(idx[ok], weights=series.values[ok], minlength=len(columns))
    counts = np.bincount(idx[ok], minlength=len(columns))
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums / counts
    out[: len(means)] = means[: len(columns)]
    return out


def log_matrix(
    columns: Columns, names: list[str], metric: Mapping[str, Series]
) -> list[list[int | None]]:
    """Per name and column, ``round(QUANT * log10(geometric mean))``; None where unknown.

    Averaged in log space because these numbers span decades; an exact zero is LOG_FLOOR.
    """
    rows = []
    for name in names:
        s = metric.get(name)
        if s is not None and len(s):
            with np.errstate(divide="ignore", invalid="ignore"):
                logs = np.log10(np.abs(s.values))
            logs = np.where(s.values == 0, LOG_FLOOR, logs)
            s = Series(s.steps, np.clip(logs, LOG_FLOOR, -LOG_FLOOR))
        rows.append(_quantized(bucket_means(columns, s), QUANT))
    return rows


def frac_matrix(
    columns: Columns, names: list[str], metric: Mapping[str, Series]
) -> list[list[int | None]] | None:
    """Fractions as per-mille integers per name and column; None when nothing was recorded."""
    if not any(name in metric for name in names):
        return None
    return [_quantized(bucket_means(columns, metric.get(name)), 1000) for name in names]


def loss_points(loss: Series) -> dict[str, list[Any]]:
    """The loss as at most MAX_LOSS_POINTS buckets: mean, min and max of each (spikes stay)."""
    steps, values = loss.steps, loss.values
    if len(steps) <= MAX_LOSS_POINTS:
        vals = [_num(v) for v in values]
        return {"steps": steps.tolist(), "mean": vals, "min": None, "max": None}
    columns = make_columns(steps, MAX_LOSS_POINTS)
    idx = columns.index(steps)
    ok = np.isfinite(values)
    mean = bucket_means(columns, Series(steps, values))
    lo = np.full(len(columns), np.inf)
    hi = np.full(len(columns), -np.inf)
    np.minimum.at(lo, idx[ok], values[ok])
    np.maximum.at(hi, idx[ok], values[ok])
    return {
        "steps": columns.labels,
        "mean": [_num(v) for v in mean],
        "min": [_num(v) for v in lo],
        "max": [_num(v) for v in hi],
    }


def forward_key(view: RunView, entity: Entity) -> tuple[int, int]:
    """Parameters in forward order: their module's forward position, then their own order."""
    module = entity.get("module")
    owner = view.entity("module", module) if module is not None else None
    return (owner.order if owner is not None else 10**9, entity.order)


def _quantized(values: Iterable[float], scale: float) -> list[int | None]:
    return [int(round(v * scale)) if math.isfinite(v) else None for v in values]


def _num(value: Any, digits: int = 4) -> float | None:
    value = float(value)
    return float(f"{value:.{digits}g}") if math.isfinite(value) else None


