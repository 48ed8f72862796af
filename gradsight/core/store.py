"""The run store: one SQLite file per run, append-only, schema-versioned.

Why SQLite: it is in the standard library, a reader can open the file while training writes to
it (WAL mode), and a run killed with ``kill -9`` leaves a readable database that loses at most
the rows of the last commit interval. ``pandas.read_sql("select * from stats", con)`` works on it.

Tables (long format, so a new statistic is a new ``metric`` value, not a schema change):

- ``meta(key, value)``: JSON values (framework, script, status, schema version, ...)
- ``entities(role, name, ord, info)``: one row per parameter/module, ``info`` is JSON
- ``detail(step, role, layout, data)``: the detail tier, one row per detail record (a step's
  numbers for a set of parameters or modules): ``data`` a ``codec`` blob of shape (names,
  metrics) of ``layout``. A row per number (``stats``) costs ~60-100 bytes in SQLite; a
  500-parameter model's detail step would be 3,750 rows, 1M steps ~3 GB. As blobs: a few bytes
  a number.
- ``stats(step, role, name, metric, value)``: single numbers in long format (what stores of
  schema 1-2 kept every detail number in, and synthetic runs write); NaN is stored as NULL
- ``loss(step, value)``: the training loss at every optimizer step
- ``events(step, kind, name, detail)``: things that happened once (an exception, ...)
- ``hists(step, role, name, metric, lo, hi, counts)``: compact value histograms on sampled steps
  (``counts`` a JSON list of equal-width bin counts over ``[lo, hi]``), what the report's
  distribution views are drawn from
- ``layouts(id, names, metrics)`` and ``param_steps(first, count, layout, summary, data)``: the
  always-on tier, every optimizer step's ``metrics.STEP_METRICS`` per parameter, a chunk of
  consecutive steps per row (``data``: a ``codec`` blob of shape (count, parameters, metrics)
  with the names and metrics of ``layout``). A ``summary`` chunk holds instead the minimum,
  maximum and mean over its steps, shape (3, parameters, metrics): long runs keep every step
  in full for their first ``recorder.FULL_STEPS`` steps and around every triggered window, and
  summaries elsewhere.

Schema 2 added the always-on tables (schema 1 kept every parameter number in ``stats``); schema
3 the ``detail`` table (schema 2 kept detail numbers in ``stats``); a reader reads every older
schema too. A table added later without changing what the
others mean is optional to readers (a store without ``hists`` simply has no histograms).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import queue
import sqlite3
import threading
import time
import weakref
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from .codec import encode
from .metrics import EXACT_METRICS, STEP_METRICS

_EXACT = [STEP_METRICS.index(k) for k in EXACT_METRICS]  # float64 columns of param_steps

SCHEMA_VERSION = 3
DB_NAME = "run.sqlite"
COMMIT_INTERVAL_S = 0.5  # the longest a written row waits for its commit (the recorder asks sooner)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entities (
    role TEXT NOT NULL, name TEXT NOT NULL, ord INTEGER NOT NULL, info TEXT NOT NULL,
    PRIMARY KEY (role, name));
CREATE TABLE IF NOT EXISTS stats (
    step INTEGER NOT NULL, role TEXT NOT NULL, name TEXT NOT NULL,
    metric TEXT NOT NULL, value REAL);
CREATE INDEX IF NOT EXISTS stats_by_metric ON stats (metric, role, name, step);
CREATE TABLE IF NOT EXISTS loss (step INTEGER NOT NULL, value REAL);
CREATE TABLE IF NOT EXISTS events (
    step INTEGER NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL, detail TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS hists (
    step INTEGER NOT NULL, role TEXT NOT NULL, name TEXT NOT NULL, metric TEXT NOT NULL,
    lo REAL, hi REAL, counts TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS layouts (
    id INTEGER PRIMARY KEY, names TEXT NOT NULL, metrics TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS param_steps (
    first INTEGER NOT NULL, count INTEGER NOT NULL, layout INTEGER NOT NULL,
    summary INTEGER NOT NULL, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS detail (
    step INTEGER NOT NULL, role TEXT NOT NULL, layout INTEGER NOT NULL, data BLOB NOT NULL);
"""

StatRow = tuple[int, str, str, str, float]
HistRow = tuple[int, str, str, str, float, float, Sequence[float]]  # step role name metric lo hi


class RunDataError(Exception):
    """A run folder that cannot be read: missing, not a gradsight run, corrupt, or too new."""


def _db_value(value: float) -> float | None:
    # SQLite turns NaN into NULL on its own; doing it here makes the convention explicit.
    return None if isinstance(value, float) and math.isnan(value) else value


class RunStore:
    """Writes one run. Rows are queued and committed by a background thread in batches.

    The training thread only enqueues; all SQLite work happens off the hot path.

    When the file cannot be written (a read-only folder, a full disk) the run goes on in memory:
    ``in_memory`` starts there, and a write that fails mid-run copies what the file holds into
    memory, replays the rows since the last commit and carries on (``moved`` says why). Either
    way nothing recorded is lost and ``snapshot`` reads it; the file keeps what was committed.

    >>> import tempfile
    >>> store = RunStore.create(tempfile.mkdtemp())
    >>> store.add_stats([(0, "param", "0.weight", "grad_norm", 0.5)])
    >>> store.close()
    """

    def __init__(self, folder: Path, memory: sqlite3.Connection | None = None) -> None:
        self.folder = folder
        self.path = folder / DB_NAME
        self.moved: str | None = None  # why the run went on in memory, if it did
        self._memory = memory
        self._queue: queue.Queue[tuple[str, Any] | None] = queue.Queue()
        self._error: BaseException | None = None
        self._closed = False
        self._orphan = False  # a forked child's copy of its parent's store: writes nothing
        self._thread = threading.Thread(
            target=self._write_loop, name="gradsight-store", daemon=True
        )
        self._thread.start()
        if hasattr(os, "register_at_fork"):
            me = weakref.ref(self)
            os.register_at_fork(after_in_child=lambda: _orphaned(me()))

    @classmethod
    def create(cls, folder: str | Path) -> "RunStore":
        """Create the run folder and its schema now, so even an instantly killed run is readable.

        The database file is created exclusively (``O_EXCL``): of two processes given the same
        folder, exactly one records there; the other gets ``RunDataError``.
        """
        path = Path(folder)
        path.mkdir(parents=True, exist_ok=True)
        db = path / DB_NAME
        try:
            os.close(os.open(db, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
        except FileExistsError:
            raise RunDataError(
                f"{db} already exists; gradsight never overwrites a recorded run. "
                "Choose another --out folder or remove the old one."
            ) from None
        try:
            con = sqlite3.connect(db)
            try:
                con.execute("PRAGMA journal_mode=WAL")
                _initialize(con)
            finally:
                con.close()
        except BaseException:  # e.g. a full disk: leave no half-made store behind
            for leftover in (db, db.with_name(DB_NAME + "-wal"), db.with_name(DB_NAME + "-shm")):
                leftover.unlink(missing_ok=True)
            raise
        return cls(path)

    @classmethod
    def in_memory(cls, folder: str | Path, reason: str) -> "RunStore":
        """A store that never touches ``folder`` (it could not be written): the run is kept in
        memory, for ``snapshot`` to diagnose."""
        con = sqlite3.connect(":memory:", check_same_thread=False)
        _initialize(con)
        store = cls(Path(folder), memory=con)
        store.moved = reason
        return store

    @property
    def in_memory_now(self) -> bool:
        return self._memory is not None

    @property
    def closed(self) -> bool:
        return self._closed

    # -- producer side (any thread) -------------------------------------------------------
    def set_meta(self, **values: Any) -> None:
        self._put("meta", [(k, json.dumps(v, default=str)) for k, v in values.items()])

    def add_entities(self, rows: Iterable[tuple[str, str, int, dict[str, Any]]]) -> None:
        self._put("entities", [(r, n, o, json.dumps(i, default=str)) for r, n, o, i in rows])

    def add_stats(self, rows: Sequence[StatRow]) -> None:
        self._put("stats", [(s, r, n, m, _db_value(v)) for s, r, n, m, v in rows])

    def add_losses(self, rows: Sequence[tuple[int, float]]) -> None:
        self._put("loss", [(s, _db_value(v)) for s, v in rows])

    def add_hists(self, rows: Sequence[HistRow]) -> None:
        self._put("hists", [
            (s, r, n, m, _db_value(lo), _db_value(hi), json.dumps([int(c) for c in counts]))
            for s, r, n, m, lo, hi, counts in rows
        ])

    def add_layout(self, layout: int, names: Sequence[str], metrics: Sequence[str]) -> None:
        self._put("layouts", [(layout, json.dumps(list(names)), json.dumps(list(metrics)))])

    def add_param_steps(self, first: int, count: int, layout: int, summary: bool,
                        values: np.ndarray) -> None:
        """One chunk of the always-on tier; encoded by the writer thread, off the hot path."""
        self._put("param_steps", [(first, count, layout, int(summary), values)])

    def add_detail(self, step: int | Sequence[int], role: str, layout: int, values: np.ndarray,
                   exact: Sequence[int] = ()) -> None:
        """One detail record (names x metrics of ``layout``; ``exact``: the columns kept as
        float64, ``metrics.exact_columns``); encoded off the hot path. With ``step`` a sequence,
        one record per step (``values``: steps x names x metrics), handed over at once."""
        exact = tuple(exact)
        if isinstance(step, (int, np.integer)):
            self._put("detail", [(int(step), role, layout, values, exact)])
        else:
            self._put("detail", [(int(s), role, layout, v, exact) for s, v in zip(step, values)])

    def add_event(self, step: int, kind: str, name: str, detail: dict[str, Any]) -> None:
        self._put("events", [(step, kind, name, json.dumps(detail, default=str))])

    def commit(self) -> None:
        """Commit what is queued as soon as the writer reaches it (without waiting for it)."""
        if not self._closed and self._error is None:
            self._queue.put(("commit", None))

    def flush(self) -> None:
        """Block until everything queued so far is committed."""
        done = threading.Event()
        self._queue.put(("flush", done))
        while not done.wait(0.05):
            if not self._thread.is_alive():
                break
        self._raise_if_failed()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._thread.join()
        self._raise_if_failed()

    def snapshot(self) -> sqlite3.Connection | None:
        """A private copy of a run kept in memory (None when the file has it all), for a
        ``RunView``: the copy is the reader's to close."""
        if self._memory is None:
            return None
        copy = sqlite3.connect(":memory:")
        self._memory.backup(copy)
        return copy

    def _put(self, table: str, rows: list[tuple[Any, ...]]) -> None:
        if self._orphan:
            return
        if self._closed:
            raise RuntimeError(f"run store {self.path} is closed")
        if rows and self._error is None:  # a failed writer takes nothing more in
            self._queue.put((table, rows))

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise RunDataError(f"could not write {self.path}: {self._error}") from self._error

    # -- consumer side (writer thread) ----------------------------------------------------
    _INSERTS = {
        "meta": "INSERT OR REPLACE INTO meta VALUES (?, ?)",
        "entities": "INSERT OR REPLACE INTO entities VALUES (?, ?, ?, ?)",
        "stats": "INSERT INTO stats VALUES (?, ?, ?, ?, ?)",
        "loss": "INSERT INTO loss VALUES (?, ?)",
        "events": "INSERT INTO events VALUES (?, ?, ?, ?)",
        "hists": "INSERT INTO hists VALUES (?, ?, ?, ?, ?, ?, ?)",
        "layouts": "INSERT OR REPLACE INTO layouts VALUES (?, ?, ?)",
        "param_steps": "INSERT INTO param_steps VALUES (?, ?, ?, ?, ?)",
        "detail": "INSERT INTO detail VALUES (?, ?, ?, ?)",
    }

    def _write_loop(self) -> None:
        con: sqlite3.Connection | None = None
        try:
            try:
                con = self._memory or self._connect()
            except sqlite3.Error as exc:
                con = self._to_memory(None, [], exc)
            self._run(con)
        except BaseException as exc:  # reported to the producer on flush/close
            self._error = exc
            self._drain_after_failure()
        finally:
            current = self._memory
            if con is not None and con is not current:
                con.close()

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=NORMAL")
        return con

    def _run(self, con: sqlite3.Connection) -> None:
        pending: list[tuple[str, list[tuple[Any, ...]]]] = []  # since the last commit
        last_commit = time.monotonic()
        while True:
            try:
                item = self._queue.get(timeout=COMMIT_INTERVAL_S)
            except queue.Empty:
                item = ("tick", None)
            if item is None:
                break
            table, payload = item
            if table in self._INSERTS:
                if table == "param_steps":
                    payload = [(*row[:4], encode(row[4], _EXACT)) for row in payload]
                elif table == "detail":
                    payload = [(*row[:3], encode(row[3], row[4])) for row in payload]
                pending.append((table, payload))
                try:
                    con.executemany(self._INSERTS[table], payload)
                except sqlite3.Error as exc:
                    con = self._to_memory(con, pending, exc)
            due = time.monotonic() - last_commit >= COMMIT_INTERVAL_S
            if pending and (table in ("flush", "commit") or due):
                con = self._commit(con, pending)
                last_commit = time.monotonic()
            if table == "flush":
                payload.set()
        self._commit(con, pending)

    def _commit(self, con: sqlite3.Connection, pending: list[Any]) -> sqlite3.Connection:
        try:
            con.commit()
        except sqlite3.Error as exc:  # e.g. the disk filled up while the WAL grew
            con = self._to_memory(con, pending, exc)
            con.commit()
        pending.clear()
        return con

    def _to_memory(self, con: sqlite3.Connection | None, pending: list[Any],
                   exc: sqlite3.Error) -> sqlite3.Connection:
        """Carry on in memory: what the file holds (its last commit), then the rows since."""
        if con is not None and con is self._memory:
            raise exc  # memory itself failed: nothing left to fall back on
        if con is not None:
            with contextlib.suppress(sqlite3.Error):
                con.close()  # rolls the failed transaction back
        memory = sqlite3.connect(":memory:", check_same_thread=False)
        try:
            source = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
            try:
                source.backup(memory)
            finally:
                source.close()
        except sqlite3.Error:  # the file cannot even be read back: start from the schema
            memory.close()
            memory = sqlite3.connect(":memory:", check_same_thread=False)
            _initialize(memory)
        for table, rows in pending:
            memory.executemany(self._INSERTS[table], rows)
        self.moved = f"{type(exc).__name__}: {exc}"
        self._memory = memory
        return memory

    def _drain_after_failure(self) -> None:
        """Keep draining so producers waiting on a flush do not hang."""
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not None and item[0] == "flush":
                item[1].set()


def _orphaned(store: "RunStore | None") -> None:
    """In a forked child: the store is its parent's. Its writer thread did not come along, and
    the queue's lock may have been held by that thread at the fork, for ever: the child gets a
    queue of its own and drops what it would write (its own watching, if any, has a store of its
    own)."""
    if store is not None:
        store._queue = queue.Queue()
        store._orphan = True


def _initialize(con: sqlite3.Connection) -> None:
    con.executescript(_SCHEMA)
    con.execute("INSERT INTO meta VALUES ('schema_version', ?)", (json.dumps(SCHEMA_VERSION),))
    con.commit()
