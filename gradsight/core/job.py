"""A job: the ranks of one ``torch.distributed`` run (``torchrun``, ``mp.spawn``), read together.

Each rank records its own store (``<run>/processes/<pid>/``, written by ``run/workers.py``)
and nothing crosses ranks while training. The job is put together here, at diagnosis:

- ``JobView`` reads like a ``RunView`` of one rank (detectors and reports take either), except
  that a parameter sharded across ranks (FSDP2: ``placement`` ``shard(...)``) has the norms of
  the whole parameter: each rank's shard holds disjoint elements, so the whole norm is the
  square root of the ranks' summed squared norms, step by step. ``ranks`` gives every rank's
  own view, for what only a job has (replicas that differ, a NaN on one rank).
- ``RankRecord`` says how each rank ended (finished, crashed with its error, killed: a store
  left ``running`` by a process that is gone) and how many steps it recorded; ``Job.failure``
  names the rank that died first, by the launcher's word where it gave one.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from . import metrics as m
from .run_view import RunView
from .series import Series
from .store import DB_NAME, RunDataError

PROCESSES = "processes"  # <run>/processes/<pid>/: one store per watched worker process
# Norms whose square adds up over disjoint shards (the update too: it is a norm of a difference).
_ADDITIVE = (m.GRAD_NORM, m.GRAD_NORM_PRECLIP, m.WEIGHT_NORM, m.UPDATE_NORM, m.WEIGHT_NORM_INIT)
_ENDED_BADLY = ("crashed", "killed", "interrupted")


@dataclass(frozen=True)
class RankRecord:
    """How one worker process of the job ended."""

    rank: int | None  # None: a worker that never joined a process group (a plain subprocess)
    pid: str
    status: str  # finished, crashed, killed, interrupted, running
    steps: int  # optimizer steps it recorded (it was in step ``steps`` when it stopped)
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


class Job:
    """The worker processes of a run folder: ranked ones (by rank) and the others."""

    def __init__(self, folder: Path, views: dict[str, RunView], parent_meta: dict[str, Any]
                 ) -> None:
        self.folder = folder
        self._views = views  # pid -> view
        self.parent_meta = parent_meta
        self.records = [_record(pid, view) for pid, view in views.items()]
        by_rank: dict[int, RankRecord] = {}
        for record in self.records:  # a rank restarted by its launcher: its longest record
            if record.rank is not None and record.steps > (
                    by_rank[record.rank].steps if record.rank in by_rank else -1):
                by_rank[record.rank] = record
        self.ranks = {r: views[rec.pid] for r, rec in sorted(by_rank.items()) if rec.steps > 0}
        self.ranked = [by_rank[r] for r in sorted(by_rank)]
        self.others = {rec.pid: views[rec.pid] for rec in self.records
                       if rec.rank is None and rec.steps > 0}

    @classmethod
    def open(cls, folder: str | Path, parent_meta: dict[str, Any] | None = None
             ) -> "Job | None":
        """The job under ``folder``, or None when it has no rank and no worker that recorded a
        step. A damaged worker store is skipped with a message."""
        root = Path(folder) / PROCESSES
        if not root.is_dir():
            return None
        views: dict[str, RunView] = {}
        for sub in sorted(root.iterdir(), key=lambda p: p.name):
            if not (sub / DB_NAME).is_file():
                continue
            try:
                views[sub.name] = RunView.open(sub)
            except RunDataError as exc:
                import sys

                print(f"gradsight: skipping a worker process's run: {exc}", file=sys.stderr)
        if parent_meta is None:
            parent_meta = _meta_of(Path(folder))
        if isinstance(parent_meta.get("rank"), int):  # the launcher trained as a rank itself
            try:
                views[_parent_key(parent_meta)] = RunView.open(folder)
            except RunDataError:
                pass
        job = cls(Path(folder), views, parent_meta)
        if not job.ranked and not job.others:
            job.close()
            return None
        return job

    def view(self, rank: int | None = None) -> "JobView":
        """The job as rank ``rank`` (default: the lowest) saw it."""
        return JobView(self, min(self.ranks) if rank is None else rank)

    @property
    def parent_is_rank(self) -> bool:
        """Whether the launching process is one of the ranks (its store, the run folder's)."""
        key = _parent_key(self.parent_meta)
        return any(rec.pid == key for rec in self.ranked)

    @property
    def world_size(self) -> int:
        sizes = [v.meta.get("world_size") for v in self._views.values()]
        known = [s for s in sizes if isinstance(s, int)]
        return max(known) if known else len(self.ranked)

    @cached_property
    def failure(self) -> dict[str, Any] | None:
        """The rank that died first and the step it was in; None when none did."""
        bad = [r for r in self.ranked if r.status in _ENDED_BADLY]
        if not bad:
            return None
        told = self.parent_meta.get("failed_process")
        first = None
        if isinstance(told, dict):
            first = next((r for r in bad if r.pid == str(told.get("pid"))), None)
        if first is None:  # a kill leaves no error: it went before the ranks it took down
            first = min(bad, key=lambda r: (r.steps, r.status != "killed", r.rank))
        pid = int(first.pid) if first.pid.isdigit() else None
        out: dict[str, Any] = {"rank": first.rank, "pid": pid, "step": first.steps,
                               "status": first.status}
        if isinstance(told, dict) and told.get("pid") == out["pid"]:
            out.update({k: told[k] for k in ("signal", "exit_code") if k in told})
        if first.error:
            out["error"] = first.error
        return out

    def summary(self) -> dict[str, Any]:
        """The findings JSON's ``job`` object."""
        out: dict[str, Any] = {"world_size": self.world_size,
                               "ranks": [r.as_dict() for r in self.ranked]}
        if self.failure is not None:
            out["failed"] = self.failure
        return out

    def close(self) -> None:
        for view in self._views.values():
            view.close()


class JobView:
    """One rank's view of the job, read like a ``RunView`` (see the module docstring)."""

    def __init__(self, job: Job, rank: int) -> None:
        self.job = job
        self.rank = rank
        self._own = job.ranks[rank]
        self._merged: dict[tuple[str, str], dict[str, Series]] = {}

    @property
    def ranks(self) -> dict[int, RunView]:
        return self.job.ranks

    @property
    def folder(self) -> Path:
        return self.job.folder

    @cached_property
    def meta(self) -> dict[str, Any]:
        """This rank's, with the job's script and how the job ended (the parent's)."""
        parent = {k: v for k, v in self.job.parent_meta.items()
                  if k in ("script", "argv", "status", "started", "ended")}
        return {**self._own.meta, **parent, "rank": self.rank}

    @cached_property
    def sharded(self) -> list[str]:
        return [e.name for e in self._own.entities("param")
                if str(e.get("placement") or "").startswith("shard")]

    def metric(self, role: str, metric: str) -> dict[str, Series]:
        own = self._own.metric(role, metric)
        if role != "param" or metric not in _ADDITIVE or not self.sharded:
            return own
        key = (role, metric)
        if key not in self._merged:
            merged = dict(own)
            for name in self.sharded:
                parts = [view.metric(role, metric).get(name) for view in self.ranks.values()]
                if all(p is not None for p in parts):
                    merged[name] = root_sum_squares([p for p in parts if p is not None])
            self._merged[key] = merged
        return self._merged[key]

    def __getattr__(self, name: str) -> Any:  # everything else: this rank's own store
        return getattr(self._own, name)


def root_sum_squares(parts: list[Series]) -> Series:
    """sqrt(sum of squares) of several series, at the steps all of them have."""
    steps = parts[0].steps
    for p in parts[1:]:
        steps = np.intersect1d(steps, p.steps)
    total = np.zeros(len(steps), dtype=np.float64)
    for p in parts:
        total += p.values[np.searchsorted(p.steps, steps)] ** 2
    return Series(steps, np.sqrt(total))


def stored_status(meta: dict[str, Any]) -> str:
    """A run still marked "running" whose process is gone was killed (kill -9, OOM, power)."""
    status = str(meta.get("status", "unknown"))
    if status == "running" and not _alive(meta.get("pid")):
        return "killed"
    return status


def _parent_key(meta: dict[str, Any]) -> str:
    """The launching process's key among the job's processes: its pid, as a worker's is."""
    return str(meta.get("pid", "parent"))


def _meta_of(folder: Path) -> dict[str, Any]:
    try:
        view = RunView.open(folder)
    except RunDataError:
        return {}
    try:
        return dict(view.meta)
    finally:
        view.close()


def _record(pid: str, view: RunView) -> RankRecord:
    meta = view.meta
    rank = meta.get("rank", meta.get("spawn_index"))
    error = meta.get("error")
    return RankRecord(rank if isinstance(rank, int) else None, pid, stored_status(meta),
                      int(view.steps), str(error).splitlines()[0][:300] if error else None)


def _alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
