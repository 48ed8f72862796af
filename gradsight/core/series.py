"""Series of numbers by step, and the always-on tier read back from its compact chunks.

A ``Series`` is one metric of one parameter or module, ordered by step. ``AlwaysOn`` decodes the
store's ``param_steps`` chunks (``codec``) into series, once per view, and keeps of each metric
only the steps where it exists: the rows hold NaN for "not measured" (no gradient, no clipping,
a parameter no optimizer stepped), which is not the same as a measured NaN.
"""

from __future__ import annotations

import sqlite3
import zlib
from dataclasses import dataclass
from typing import Mapping

import numpy as np

from .codec import decode
from .tolerant import MISSING, Damage, from_json, integer
from .metrics import (EXACT_METRICS, GRAD_NORM, GRAD_NORM_PRECLIP, HAS_GRAD, LR, OPTIMIZED,
                      UPDATE_NORM, WEIGHT_NORM, exact_columns)


@dataclass(frozen=True)
class Series:
    """Values of one metric for one entity, ordered by step (NaN where the value was NaN).

    Past ``recorder.FULL_STEPS``, quiet stretches of the always-on tier are stored as
    summaries: one point at the stretch's first step holding its mean, with its maximum in
    ``peaks`` (``peaks`` equals ``values`` wherever every step is kept; None: no summaries).
    """

    steps: np.ndarray
    values: np.ndarray
    peaks: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.steps)

    @property
    def highs(self) -> np.ndarray:
        """The largest value each point stands for (its own value where kept in full)."""
        return self.values if self.peaks is None else self.peaks


class AlwaysOn:
    """The always-on tier of one store, by metric and parameter name."""

    def __init__(self, raw: dict[str, dict[str, Series]]) -> None:
        self._raw = raw

    def __contains__(self, metric: str) -> bool:
        return metric in self._raw

    @classmethod
    def read(cls, con: sqlite3.Connection, damage: Damage | None = None) -> "AlwaysOn":
        """Every step's ``STEP_METRICS`` per parameter (schema 2), decoded once. A chunk that
        cannot be decoded (damaged: see ``tolerant``) is left out and counted in ``damage``."""
        damage = damage if damage is not None else Damage()
        layouts = read_layouts(con, damage)
        parts: dict[str, dict[str, list[tuple[np.ndarray, np.ndarray, np.ndarray]]]] = {}
        rows = con.execute(
            "SELECT first, count, layout, summary, data FROM param_steps ORDER BY first, rowid")
        for first, count, layout, summary, data in rows:
            chunk = _chunk(layouts.get(layout), integer(first), integer(count), summary, data)
            if chunk is None:
                damage.note("param_steps")
                continue
            names, metrics, steps, values, peaks = chunk
            for j, metric in enumerate(metrics):
                per = parts.setdefault(metric, {})
                for i, name in enumerate(names):
                    per.setdefault(name, []).append((steps, values[:, i, j], peaks[:, i, j]))
        out: dict[str, dict[str, Series]] = {}
        for metric, per in parts.items():
            out[metric] = {}
            for name, pieces in per.items():
                series = _joined(pieces)
                if len(series):
                    out[metric][name] = series
        return cls(out)

    def metric(self, metric: str) -> dict[str, Series]:
        """One metric per parameter, at the steps where it exists (see ``_present``)."""
        return {name: kept for name, series in self._raw.get(metric, {}).items()
                if len(kept := self._present(metric, name, series))}

    def _present(self, metric: str, name: str, series: Series) -> Series:
        """The steps where ``metric`` exists for ``name``: a gradient norm where there was a
        gradient, a pre-clip norm where clipping ran, weight/update/lr of optimized parameters
        only (elsewhere NaN means "not measured"; a NaN where the metric exists is a value)."""
        if metric == GRAD_NORM:
            has = self._raw.get(HAS_GRAD, {}).get(name)
            keep = has.values > 0.5 if has is not None else np.isfinite(series.values)
        elif metric == GRAD_NORM_PRECLIP:
            keep = ~np.isnan(series.values)
        elif metric in (WEIGHT_NORM, UPDATE_NORM, LR):
            stepped = self._raw.get(OPTIMIZED, {}).get(name)
            keep = stepped.values > 0.5 if stepped is not None else np.ones(len(series), bool)
        else:
            return series
        return Series(series.steps[keep], series.values[keep],
                      series.peaks[keep] if series.peaks is not None else None)


def read_layouts(con: sqlite3.Connection, damage: Damage) -> dict[int, tuple[list[str],
                                                                           list[str]]]:
    """The ``layouts`` table: id -> (names, metrics); damaged rows left out and counted."""
    layouts = {}
    for i, n, k in con.execute("SELECT id, names, metrics FROM layouts"):
        names, metrics = from_json(n, damage, "layouts", list), from_json(k, damage,
                                                                         "layouts", list)
        if names is not MISSING and metrics is not MISSING:
            layouts[i] = ([str(x) for x in names], [str(x) for x in metrics])
    return layouts


def read_detail(con: sqlite3.Connection, damage: Damage
                ) -> dict[str, dict[str, list[tuple[str, int, float]]]]:
    """The ``detail`` table (schema 3): role -> metric -> (name, step, value) rows in the
    order they were written; a record that cannot be decoded is left out and counted."""
    layouts = read_layouts(con, damage)
    out: dict[str, dict[str, list[tuple[str, int, float]]]] = {}
    for step, role, layout, data in con.execute(
            "SELECT step, role, layout, data FROM detail ORDER BY rowid"):
        known, number = layouts.get(layout), integer(step)
        values = None
        if known is not None and number is not None and isinstance(data, bytes) \
                and isinstance(role, str):
            try:
                values = decode(data, (len(known[0]), len(known[1])),
                                exact_columns(known[1]))
            except (ValueError, IndexError, zlib.error):
                values = None
        if values is None:
            damage.note("detail")
            continue
        names, metrics = known  # type: ignore[misc]
        per_role = out.setdefault(role, {})
        for j, metric in enumerate(metrics):
            per_role.setdefault(metric, []).extend(
                (name, number, v) for name, v in zip(names, values[:, j].tolist()))
    return out


def _chunk(layout: tuple[list[str], list[str]] | None, first: int | None, count: int | None,
           summary: object, data: object) -> tuple[list[str], list[str], np.ndarray, np.ndarray,
                                                   np.ndarray] | None:
    """One stored chunk decoded: (names, metrics, steps, values, peaks); None if damaged."""
    if layout is None or first is None or count is None or count < 1 or \
            not isinstance(data, bytes):
        return None
    names, metrics = layout
    exact = [metrics.index(k) for k in EXACT_METRICS if k in metrics]
    try:
        if summary:
            block = decode(data, (3, len(names), len(metrics)), exact)
            return names, metrics, np.array([first], dtype=np.int64), block[2][None], \
                block[1][None]
        values = decode(data, (count, len(names), len(metrics)), exact)
    except (ValueError, IndexError, zlib.error):  # a blob that is not what its row says
        return None
    return names, metrics, np.arange(first, first + count, dtype=np.int64), values, values


def _joined(pieces: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> Series:
    """One series from its chunks, in step order. A step written twice (a parameter first
    seen as held by no optimizer, then by the one that steps it) keeps its last measured
    value, NaN only where no row measured it."""
    steps = np.concatenate([p[0] for p in pieces])
    values = np.concatenate([p[1] for p in pieces])
    peaks = np.concatenate([p[2] for p in pieces])
    if len(pieces) > 1 and (len(np.unique(steps)) < len(steps) or np.any(np.diff(steps) < 0)):
        measured = ~np.isnan(values)
        order = np.lexsort((np.arange(len(steps)), measured, steps))  # measured rows last
        steps, values, peaks = steps[order], values[order], peaks[order]
        last = np.r_[steps[1:] != steps[:-1], True]
        steps, values, peaks = steps[last], values[last], peaks[last]
    summarized = not np.array_equal(values, peaks, equal_nan=True)
    return Series(steps, values, peaks if summarized else None)


def overlay(base: Series, exact: Series) -> Series:
    """``base`` with ``exact``'s values at the steps ``exact`` has (steps of both, sorted)."""
    steps = np.union1d(base.steps, exact.steps)
    values = np.full(len(steps), np.nan)
    values[np.searchsorted(steps, base.steps)] = base.values
    values[np.searchsorted(steps, exact.steps)] = exact.values
    peaks = None
    if base.peaks is not None:
        peaks = values.copy()
        peaks[np.searchsorted(steps, base.steps)] = base.peaks
        peaks[np.searchsorted(steps, exact.steps)] = exact.values
    return Series(steps, values, peaks)




def ratio_series(num: Mapping[str, Series], den: Mapping[str, Series]) -> dict[str, Series]:
    """Per name, num/den on the steps both have (e.g. |g|/|w|, |update|/|w|)."""
    out = {}
    for name, a in num.items():
        b = den.get(name)
        if b is None:
            continue
        steps, ia, ib = np.intersect1d(a.steps, b.steps, return_indices=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            values = a.values[ia] / b.values[ib]
        values = np.where((a.values[ia] == 0) & (b.values[ib] != 0), 0.0, values)
        out[name] = Series(steps, values)
    return out
