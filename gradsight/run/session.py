"""A watched run: one run folder, its recorder, the adapters feeding it, and the diagnosis.

Both ``gradsight run`` and ``gradsight.watch`` go through this class, so they record and
diagnose identically.
"""

from __future__ import annotations

import datetime as _dt
import os
import sqlite3
import sys
from pathlib import Path
from typing import Any, Protocol

from ..core.diagnosis import FINDINGS_FILE, Diagnosis, diagnose_folder, write_findings
from ..core.recorder import Recorder
from ..core.schedule import Schedule
from ..core.store import RunDataError, RunStore
from ..reports.text import inert, inert_findings

__all__ = ["Session", "default_folder", "run_folder", "Diagnosis", "FINDINGS_FILE"]


class Adapter(Protocol):
    framework: str  # the contract's name: "torch", "tensorflow"
    api: str  # whose words its advice is in: "torch", "keras", "tf1"
    step: int  # optimizer steps completed

    def stop(self) -> None: ...


def default_folder(stem: str, root: str | Path = "gradsight-runs") -> Path:
    """A new folder ``root/<stem>-<time>[-n]``, created now (atomically: two runs started in
    the same second never share one)."""
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path(root) / f"{stem}-{stamp}"
    base.parent.mkdir(parents=True, exist_ok=True)
    n = 1
    while True:
        candidate = base if n == 1 else base.with_name(f"{base.name}-{n}")
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            n += 1


def run_folder(out: str | Path | None, stem: str) -> Path:
    """``out``, or a new default folder; where none can be made (a read-only working
    directory) the default's name, which the session then reports and keeps in memory."""
    if out is not None:
        return Path(out)
    try:
        return default_folder(stem)
    except OSError:
        stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        return Path("gradsight-runs") / f"{stem}-{stamp}"


class Session:
    """One watched run. ``problems`` lists gradsight's own failures (a folder it could not
    write), each already said in one line on stderr: the run goes on, kept in memory if need
    be, and the diagnosis is made all the same."""

    def __init__(self, folder: str | Path, every: int | None = None, *,
                 tensorboard: str | Path | None = None, **meta: Any) -> None:
        self.folder = Path(folder)
        self.tensorboard = tensorboard  # a LOGDIR to export to when the run ends
        self.problems: list[str] = []
        self._started_in_memory = False
        self.store = self._open_store()
        self.recorder = Recorder(self.store, Schedule(every))
        self.adapters: list[Adapter] = []
        self.store.set_meta(status="running",
                            started=_dt.datetime.now().isoformat(timespec="seconds"),
                            pid=os.getpid(), every=every, **meta)
        self._finished: Diagnosis | None = None
        self._closed = False

    def _open_store(self) -> RunStore:
        """The folder's store; one that cannot be created (a read-only folder, a full disk)
        leaves the run in memory. A folder that already holds a run is refused (RunDataError):
        a recorded run is never overwritten."""
        try:
            return RunStore.create(self.folder)
        except (OSError, sqlite3.Error) as exc:
            reason = _reason(exc)
            self._started_in_memory = True
            self.problem(f"cannot create the run folder {self.folder} ({reason}); the run is "
                         "kept in memory: its diagnosis is printed, nothing is saved")
            return RunStore.in_memory(self.folder, reason)

    def problem(self, line: str) -> None:
        """One line on stderr for a failure of gradsight's own (never the script's)."""
        self.problems.append(line)
        try:
            print(f"gradsight: {inert(line)}", file=sys.stderr, flush=True)
        except (OSError, ValueError):  # stderr closed: the line stays in ``problems``
            pass

    @property
    def framework(self) -> str:
        names = sorted({a.framework for a in self.adapters})
        return "+".join(names) if names else "none"

    @property
    def step(self) -> int:
        return max((a.step for a in list(self.adapters)), default=0)

    @property
    def api(self) -> str:
        """Whose words the advice is in: the adapter that saw the most steps."""
        if not self.adapters:
            return "none"
        return max(self.adapters, key=lambda a: a.step).api

    @property
    def saved(self) -> bool:
        """Whether the run folder holds the whole run (not when it went on in memory)."""
        return not self.store.in_memory_now

    def attach(self, adapter: Adapter) -> None:
        self.adapters.append(adapter)
        self.store.set_meta(framework=self.framework, api=self.api)

    def diagnose_now(self) -> Diagnosis:
        """Diagnose what is recorded so far, without stopping."""
        self.recorder.flush()
        self.store.flush()
        return self._diagnose("running")

    def close(self, status: str = "finished", **detail: Any) -> None:
        """Stop every adapter and commit everything, with how the run ended; no diagnosis
        (a worker process's: its parent diagnoses the job). Idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            for adapter in self.adapters:
                adapter.stop()
        finally:
            self._close_store(status, detail)

    def finish(self, status: str = "finished", *, reports: bool = True,
               **detail: Any) -> Diagnosis:
        """Stop every adapter, commit everything, diagnose, write findings.json and (unless
        ``reports`` is off: ``write_reports`` later) the reports. Idempotent."""
        if self._finished is not None:
            return self._finished
        self.close(status, **detail)
        self._finished = self._diagnose(status)
        if self.saved:
            try:
                write_findings(self.folder / FINDINGS_FILE, self._finished)
            except OSError as exc:
                self.problem(f"could not write {self.folder / FINDINGS_FILE} ({_reason(exc)})")
        if reports:
            self.write_reports()
        return self._finished

    def write_reports(self) -> None:
        """report.html and the TensorBoard export; a failure is one line, never a lost run."""
        if self._finished is None or not self.saved:
            return
        from ..reports.html import write_report_or_warn  # jinja2 loads only now

        write_report_or_warn(self.folder, self._finished)
        if self.tensorboard is not None:
            from ..reports.tensorboard import export_or_warn

            export_or_warn(self.folder, self.tensorboard)

    def _close_store(self, status: str, detail: dict[str, Any]) -> None:
        try:
            self.recorder.close()
            self.store.set_meta(status=status,
                                ended=_dt.datetime.now().isoformat(timespec="seconds"),
                                steps=self.step, framework=self.framework, api=self.api,
                                **detail)
        finally:
            try:
                self.store.close()
            except RunDataError as exc:  # even memory failed: diagnose what the file has
                self.problem(str(exc))
        if self.store.moved and not self._started_in_memory:
            self.problem(f"could not write {self.store.path} ({self.store.moved}); the rest "
                         f"of the run was kept in memory: the diagnosis covers every step, "
                         f"{self.folder} only what was written before")

    def _diagnose(self, status: str) -> Diagnosis:
        """The diagnosis from the store (or its copy in memory); one line and an empty
        diagnosis if nothing can be read, so that the script's own result still stands."""
        try:
            diagnosis = diagnose_folder(self.folder, status, connection=self.store.snapshot())
        except (RunDataError, sqlite3.Error, OSError) as exc:
            self.problem(f"could not diagnose the run: {_reason(exc)}")
            diagnosis = Diagnosis.failed(_reason(exc), self.framework, self.step, self.folder,
                                         status)
        if not self.saved:
            diagnosis.numbers["unsaved"] = True
        return inert_findings(diagnosis)


def _reason(exc: BaseException) -> str:
    """``PermissionError: [Errno 13] Permission denied`` without the repeated path."""
    if isinstance(exc, OSError) and exc.strerror:
        return f"{type(exc).__name__}: {exc.strerror}"
    return f"{type(exc).__name__}: {exc}"
