"""Reading a stored run: what detectors and reports see.

A ``RunView`` loads the store into numpy arrays once. Detectors are pure functions of it, so a
killed run can be diagnosed again without re-training.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from .codec import decode
from .metrics import HAS_GRAD
from .records import legacy_kind, optimizer_kind
from .series import AlwaysOn, Series, overlay
from .store import DB_NAME, SCHEMA_VERSION, RunDataError


@dataclass(frozen=True)
class Entity:
    """A parameter or module as the framework names it, with what the adapter knew of it."""

    role: str
    name: str
    order: int
    info: dict[str, Any] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        return self.info.get(key, default)


@dataclass(frozen=True)
class Histograms:
    """Value histograms of one tensor on sampled steps: ``counts[i]`` has equal-width bins
    over ``[lo[i], hi[i]]`` (counts of a uniform sample for very large tensors)."""

    steps: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    counts: np.ndarray  # (steps, bins)

    def __len__(self) -> int:
        return len(self.steps)


class RunView:
    """Read-only view of one run folder; each table is read once, so a view is a consistent
    snapshot even while training still writes. Open it again to see newer rows.

    >>> # view = RunView.open("gradsight-runs/train-20260101-120000")
    >>> # view.metric("param", "grad_norm")["0.weight"].values
    """

    def __init__(self, con: sqlite3.Connection, folder: Path) -> None:
        self.folder = folder
        self._con = con
        self._metrics: dict[tuple[str, str], dict[str, Series]] = {}

    @classmethod
    def open(cls, folder: str | Path) -> "RunView":
        path = Path(folder)
        db = path / DB_NAME
        if not path.is_dir():
            raise RunDataError(f"{path} is not a folder; expected a gradsight run folder.")
        if not db.is_file():
            raise RunDataError(
                f"{path} has no {DB_NAME}; expected a folder written by `gradsight run` or "
                "`gradsight.watch(..., out=...)`."
            )
        con = sqlite3.connect(db)
        try:
            con.execute("PRAGMA query_only=ON")
            rows = dict(con.execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.DatabaseError as exc:
            con.close()
            raise RunDataError(
                f"{db} is not a readable gradsight store ({exc}). The file may be truncated "
                "or overwritten; nothing was changed."
            ) from exc
        version = json.loads(rows.get("schema_version", "null"))
        if version is None or version > SCHEMA_VERSION:
            con.close()
        if version is None:
            raise RunDataError(f"{db} has no schema version; it was not written by gradsight.")
        if version > SCHEMA_VERSION:
            raise RunDataError(
                f"{db} uses store schema {version}, newer than this gradsight ({SCHEMA_VERSION}); "
                "upgrade gradsight to read it."
            )
        return cls(con, path)

    def close(self) -> None:
        self._con.close()

    # -- metadata -------------------------------------------------------------------------
    @cached_property
    def meta(self) -> dict[str, Any]:
        return {k: json.loads(v) for k, v in self._con.execute("SELECT key, value FROM meta")}

    @cached_property
    def _entities(self) -> dict[tuple[str, str], Entity]:
        rows = self._con.execute("SELECT role, name, ord, info FROM entities ORDER BY ord")
        return {(r, n): Entity(r, n, o, _with_kinds(r, json.loads(i))) for r, n, o, i in rows}

    def entities(self, role: str) -> list[Entity]:
        """Entities of a role in their recorded order (forward order for modules)."""
        return sorted(
            (e for (r, _), e in self._entities.items() if r == role), key=lambda e: e.order
        )

    def entity(self, role: str, name: str) -> Entity | None:
        return self._entities.get((role, name))

    # -- numbers --------------------------------------------------------------------------
    def metric(self, role: str, metric: str) -> dict[str, Series]:
        """All values of one metric, per entity name (read once, then cached)."""
        cached = self._metrics.get((role, metric))
        if cached is None:
            cached = self._metrics[(role, metric)] = self._read_metric(role, metric)
        return cached

    def _read_metric(self, role: str, metric: str) -> dict[str, Series]:
        detail = self._read_stats(role, metric)
        if role != "param" or metric not in self._always_on:
            return detail
        out = self._always_on.metric(metric)
        for name, exact in detail.items():  # detail steps' exact values win over estimates
            out[name] = overlay(out[name], exact) if name in out else exact
        return out

    @cached_property
    def _always_on(self) -> AlwaysOn:
        return AlwaysOn.read(self._con) if self._has_table("param_steps") else AlwaysOn({})

    def _has_table(self, name: str) -> bool:
        return self._con.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?",
                                 (name,)).fetchone() is not None

    def _read_stats(self, role: str, metric: str) -> dict[str, Series]:
        rows = self._con.execute(
            "SELECT name, step, value FROM stats WHERE metric=? AND role=? "
            "ORDER BY name, step, rowid",
            (metric, role),
        ).fetchall()
        blobs = self._detail.get(role, {}).get(metric)
        if blobs:  # the detail tier's blobs (schema 3), in the order they were written
            rows = sorted(rows + blobs, key=lambda r: (r[0], r[1]))
        out: dict[str, Series] = {}
        start = 0
        for i in range(1, len(rows) + 1):
            if i == len(rows) or rows[i][0] != rows[start][0]:
                chunk = _last_per_step(rows[start:i])
                out[chunk[0][0]] = Series(
                    np.array([r[1] for r in chunk], dtype=np.int64),
                    np.array([np.nan if r[2] is None else r[2] for r in chunk], dtype=np.float64),
                )
                start = i
        return out

    @cached_property
    def _detail(self) -> dict[str, dict[str, list[_Row]]]:
        """The ``detail`` table decoded once: role -> metric -> (name, step, value) rows."""
        out: dict[str, dict[str, list[_Row]]] = {}
        if not self._has_table("detail"):
            return out
        layouts = {i: (json.loads(n), json.loads(k)) for i, n, k in
                   self._con.execute("SELECT id, names, metrics FROM layouts")}
        for step, role, layout, data in self._con.execute(
                "SELECT step, role, layout, data FROM detail ORDER BY rowid"):
            names, metrics = layouts[layout]
            values = decode(data, (len(names), len(metrics)))
            per_role = out.setdefault(role, {})
            for j, metric in enumerate(metrics):
                column = values[:, j]
                per_role.setdefault(metric, []).extend(
                    (name, step, None if np.isnan(v) else float(v))
                    for name, v in zip(names, column.tolist()))
        return out

    @cached_property
    def _detail_steps(self) -> np.ndarray:
        if not self._has_table("detail"):
            return np.zeros(0, dtype=np.int64)
        rows = self._con.execute("SELECT DISTINCT step FROM detail").fetchall()
        return np.array([r[0] for r in rows], dtype=np.int64)

    def histograms(self, role: str, metric: str, keep: int | None = None
                   ) -> dict[str, Histograms]:
        """Stored histograms of one metric ("weight", "grad", "act") per entity name;
        ``keep`` spreads at most that many steps over each run (first and last included) and
        decodes only those, which is what a report of a long run needs.

        Stores written before histograms existed have no ``hists`` table: they read as empty.
        """
        if not self._has_table("hists"):
            return {}
        rows = self._con.execute(
            "SELECT name, step, lo, hi, counts FROM hists WHERE role=? AND metric=? "
            "ORDER BY name, step, rowid",
            (role, metric),
        ).fetchall()
        grouped: dict[str, dict[int, tuple[Any, Any, str]]] = {}
        for name, step, lo, hi, counts in rows:  # the later of two rows for a step wins
            grouped.setdefault(name, {})[step] = (lo, hi, counts)
        out: dict[str, Histograms] = {}
        for name, by_step in grouped.items():
            steps = sorted(by_step)
            if keep is not None and len(steps) > keep:
                picks = np.unique(np.linspace(0, len(steps) - 1, max(keep, 1)).round())
                steps = [steps[int(i)] for i in picks]
            decoded = [json.loads(by_step[s][2]) for s in steps]
            counts = np.zeros((len(steps), max(map(len, decoded))), dtype=np.float64)
            for i, row in enumerate(decoded):
                counts[i, : len(row)] = row
            out[name] = Histograms(
                np.array(steps, dtype=np.int64),
                np.array([_nan_if_none(by_step[s][0]) for s in steps], dtype=np.float64),
                np.array([_nan_if_none(by_step[s][1]) for s in steps], dtype=np.float64),
                counts,
            )
        return out

    @cached_property
    def loss(self) -> Series:
        rows = self._con.execute("SELECT step, value FROM loss ORDER BY step").fetchall()
        return Series(
            np.array([r[0] for r in rows], dtype=np.int64),
            np.array([np.nan if r[1] is None else r[1] for r in rows], dtype=np.float64),
        )

    @cached_property
    def watched_steps(self) -> np.ndarray:
        """Every step with numbers: the always-on tier's steps (or, in a schema 1 store, the
        recorded ones) and the detail steps."""
        steps = [self.recorded_steps]
        for series in self._always_on.metric(HAS_GRAD).values():
            steps.append(series.steps)
        return np.unique(np.concatenate(steps)) if steps else np.zeros(0, dtype=np.int64)

    @cached_property
    def recorded_steps(self) -> np.ndarray:
        rows = self._con.execute("SELECT DISTINCT step FROM stats ORDER BY step").fetchall()
        return np.union1d(np.array([r[0] for r in rows], dtype=np.int64), self._detail_steps)

    @cached_property
    def steps(self) -> int:
        """Number of optimizer steps the run took (known even for a killed run)."""
        declared = self.meta.get("steps")
        if isinstance(declared, int):
            return declared
        (loss_max,) = self._con.execute("SELECT MAX(step) FROM loss").fetchone()
        (stat_max,) = self._con.execute("SELECT MAX(step) FROM stats").fetchone()
        known = [v for v in (loss_max, stat_max) if v is not None]
        known += [int(self._detail_steps.max())] if self._detail_steps.size else []
        if self._has_table("param_steps"):
            (chunk_max,) = self._con.execute(
                "SELECT MAX(first + count - 1) FROM param_steps").fetchone()
            known += [chunk_max] if chunk_max is not None else []
        return int(max(known)) + 1 if known else 0

    def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        query = "SELECT step, kind, name, detail FROM events"
        rows = (
            self._con.execute(query + " WHERE kind=? ORDER BY step", (kind,))
            if kind
            else self._con.execute(query + " ORDER BY step")
        )
        return [{"step": s, "kind": k, "name": n, **json.loads(d)} for s, k, n, d in rows]


_Row = tuple[str, int, "float | None"]


def _with_kinds(role: str, info: dict[str, Any]) -> dict[str, Any]:
    """Records of an older gradsight carry class names only: fill in the neutral kinds."""
    if role == "param":
        if "module_kind" not in info:
            info["module_kind"] = legacy_kind(info.get("module_type"))
        if "optimizer_kind" not in info:
            info["optimizer_kind"] = optimizer_kind(info.get("optimizer_type"))
    elif "kind" not in info:
        info["kind"] = legacy_kind(info.get("type"))
    return info


def _nan_if_none(value: float | None) -> float:
    return np.nan if value is None else value


def _last_per_step(chunk: list[_Row]) -> list[_Row]:
    """One value per step: a parameter two optimizers hold is written twice; the later wins."""
    out: list[_Row] = []
    for row in chunk:
        if out and out[-1][1] == row[1]:
            out[-1] = row
        else:
            out.append(row)
    return out
