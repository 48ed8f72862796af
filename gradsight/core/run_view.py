"""Reading a stored run: what detectors and reports see.

A ``RunView`` loads the store into numpy arrays once. Detectors are pure functions of it, so a
killed run can be diagnosed again without re-training.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from .metrics import HAS_GRAD
from .records import legacy_kind, optimizer_kind
from .series import AlwaysOn, Series, overlay, read_detail
from .store import DB_NAME, SCHEMA_VERSION, RunDataError
from .tolerant import MISSING, Damage, from_json, integer, real


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
        self.damage = Damage()  # values set aside as unreadable (``tolerant``)

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
        try:
            con, rows = _connect(db)
        except sqlite3.DatabaseError as exc:
            raise RunDataError(
                f"{db} is not a readable gradsight store ({exc}). The file may be truncated "
                "or overwritten; nothing was changed."
            ) from exc
        version = from_json(rows.get("schema_version", "null"), Damage(), "meta")
        if integer(version) is None:
            con.close()
            raise RunDataError(f"{db} has no schema version; it was not written by gradsight.")
        if version > SCHEMA_VERSION:
            con.close()
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
        """The run's metadata; a value that is not JSON is left out (and counted)."""
        out = {}
        for key, text in self._con.execute("SELECT key, value FROM meta"):
            value = from_json(text, self.damage, "meta")
            if value is not MISSING and isinstance(key, str):
                out[key] = value
        return out

    @cached_property
    def _entities(self) -> dict[tuple[str, str], Entity]:
        out = {}
        for role, name, order, info in self._con.execute(
                "SELECT role, name, ord, info FROM entities ORDER BY ord"):
            known = from_json(info, self.damage, "entities", dict)
            if not isinstance(role, str) or not isinstance(name, str):
                self.damage.note("entities")
                continue
            number = integer(order)
            out[(role, name)] = Entity(role, name, 10**9 if number is None else number,
                                       _with_kinds(role, {} if known is MISSING else known))
        return out

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
        if not self._has_table("param_steps"):
            return AlwaysOn({})
        return AlwaysOn.read(self._con, self.damage)

    def _has_table(self, name: str) -> bool:
        return self._con.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?",
                                 (name,)).fetchone() is not None

    def _read_stats(self, role: str, metric: str) -> dict[str, Series]:
        rows = self._clean(self._con.execute(
            "SELECT name, step, value FROM stats WHERE metric=? AND role=? "
            "ORDER BY name, step, rowid",
            (metric, role),
        ), "stats")
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
                    np.array([r[2] for r in chunk], dtype=np.float64),
                )
                start = i
        return out

    @cached_property
    def _detail(self) -> dict[str, dict[str, list[_Row]]]:
        """The ``detail`` table (schema 3) decoded once: role -> metric -> rows."""
        return read_detail(self._con, self.damage) if self._has_table("detail") else {}

    @cached_property
    def _detail_steps(self) -> np.ndarray:
        if not self._has_table("detail"):
            return np.zeros(0, dtype=np.int64)
        rows = self._con.execute(
            "SELECT DISTINCT step FROM detail WHERE typeof(step)='integer'").fetchall()
        return np.array([r[0] for r in rows], dtype=np.int64)

    def _clean(self, rows: Iterable[tuple[Any, Any, Any]], table: str) -> list[_Row]:
        """(name, step, value) rows whose name is text and step a whole number (others set
        aside), the value a float (NaN where it is no number)."""
        out = []
        for name, step, value in rows:
            number = integer(step)
            if number is None or not isinstance(name, str):
                self.damage.note(table)
                continue
            out.append((name, number, real(value, self.damage, table)))
        return out

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
        grouped: dict[str, dict[int, tuple[float, float, list[Any]]]] = {}
        for name, step, lo, hi, counts in rows:  # the later of two rows for a step wins
            bins = from_json(counts, self.damage, "hists", list)
            number = integer(step)
            if bins is MISSING:
                continue
            if number is None or not isinstance(name, str) or not all(
                    isinstance(c, (int, float)) and not isinstance(c, bool) for c in bins):
                self.damage.note("hists")
                continue
            grouped.setdefault(name, {})[number] = (real(lo, self.damage, "hists"),
                                                    real(hi, self.damage, "hists"), bins)
        out: dict[str, Histograms] = {}
        for name, by_step in grouped.items():
            steps = sorted(by_step)
            if keep is not None and len(steps) > keep:
                picks = np.unique(np.linspace(0, len(steps) - 1, max(keep, 1)).round())
                steps = [steps[int(i)] for i in picks]
            decoded = [by_step[s][2] for s in steps]
            counts = np.zeros((len(steps), max(map(len, decoded), default=0)), dtype=np.float64)
            for i, row in enumerate(decoded):
                counts[i, : len(row)] = row
            out[name] = Histograms(
                np.array(steps, dtype=np.int64),
                np.array([by_step[s][0] for s in steps], dtype=np.float64),
                np.array([by_step[s][1] for s in steps], dtype=np.float64),
                counts,
            )
        return out

    @cached_property
    def loss(self) -> Series:
        rows = self._clean((("loss", s, v) for s, v in self._con.execute(
            "SELECT step, value FROM loss ORDER BY step")), "loss")
        return Series(
            np.array([r[1] for r in rows], dtype=np.int64),
            np.array([r[2] for r in rows], dtype=np.float64),
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
        rows = self._con.execute("SELECT DISTINCT step FROM stats WHERE typeof(step)='integer' "
                                 "ORDER BY step").fetchall()
        return np.union1d(np.array([r[0] for r in rows], dtype=np.int64), self._detail_steps)

    @cached_property
    def full_detail_steps(self) -> np.ndarray:
        """The steps with per-parameter detail (the schedule's and the triggered ones); a
        module metric kept every step (the output logits' log-sum-exp) does not make one."""
        rows = self._con.execute("SELECT DISTINCT step FROM stats WHERE typeof(step)='integer'"
                                 ).fetchall()
        if self._has_table("detail"):
            rows += self._con.execute("SELECT DISTINCT step FROM detail WHERE role='param' AND "
                                      "typeof(step)='integer'").fetchall()
        return np.unique(np.array([r[0] for r in rows], dtype=np.int64))

    @cached_property
    def steps(self) -> int:
        """Number of optimizer steps the run took (known even for a killed run)."""
        declared = integer(self.meta.get("steps"))
        if declared is not None and declared >= 0:
            return declared
        known = [int(self.loss.steps.max())] if len(self.loss) else []
        known += [int(self.recorded_steps.max())] if len(self.recorded_steps) else []
        if self._has_table("param_steps"):
            (chunk_max,) = self._con.execute(
                "SELECT MAX(first + count - 1) FROM param_steps WHERE typeof(first)='integer' "
                "AND typeof(count)='integer'").fetchone()
            known += [chunk_max] if chunk_max is not None else []
        return int(max(known)) + 1 if known else 0

    def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        query = "SELECT step, kind, name, detail FROM events"
        rows = (
            self._con.execute(query + " WHERE kind=? ORDER BY step", (kind,))
            if kind
            else self._con.execute(query + " ORDER BY step")
        )
        out = []
        for step, kind_, name, detail in rows:
            known = from_json(detail, self.damage, "events", dict)
            out.append({**({} if known is MISSING else known), "step": integer(step) or 0,
                        "kind": str(kind_), "name": str(name)})
        return out


_Row = tuple[str, int, float]


def _connect(db: Path) -> tuple[sqlite3.Connection, dict[Any, Any]]:
    """A read-only connection and the meta rows. A store in a folder this process cannot
    write (a read-only copy) cannot get SQLite's WAL index file: with no WAL left to read
    (a run that ended cleanly), it is opened as immutable instead."""
    con = sqlite3.connect(db)
    try:
        con.execute("PRAGMA query_only=ON")
        return con, dict(con.execute("SELECT key, value FROM meta").fetchall())
    except sqlite3.OperationalError as exc:
        con.close()
        wal = db.with_name(db.name + "-wal")
        if "readonly" not in str(exc) or (wal.exists() and wal.stat().st_size):
            raise
    con = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
    try:
        return con, dict(con.execute("SELECT key, value FROM meta").fetchall())
    except sqlite3.DatabaseError:
        con.close()
        raise


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


def _last_per_step(chunk: list[_Row]) -> list[_Row]:
    """One value per step: a parameter two optimizers hold is written twice; the later wins."""
    out: list[_Row] = []
    for row in chunk:
        if out and out[-1][1] == row[1]:
            out[-1] = row
        else:
            out.append(row)
    return out
