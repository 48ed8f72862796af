"""A watched run: one run folder, its recorder, the adapters feeding it, and the diagnosis.

Both ``gradsight run`` and ``gradsight.watch`` go through this class, so they record and
diagnose identically.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .core.detect import diagnose
from .core.finding import Finding, findings_document
from .core.recorder import Recorder, Schedule
from .core.run_view import RunView
from .core.store import DB_NAME, RunDataError, RunStore
from .core.summary import key_numbers

FINDINGS_FILE = "findings.json"


class Adapter(Protocol):
    framework: str
    step: int  # optimizer steps completed

    def stop(self) -> None: ...


@dataclass
class Diagnosis:
    """What a run concluded: findings (root cause first) and the key numbers."""

    findings: list[Finding]
    framework: str
    steps: int
    folder: Path
    status: str
    numbers: dict[str, Any] = field(default_factory=dict)

    def document(self) -> dict[str, Any]:
        return findings_document(self.findings, self.framework, self.steps)


def default_folder(stem: str, root: str | Path = "gradsight-runs") -> Path:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path(root) / f"{stem}-{stamp}"
    candidate, n = base, 1
    while candidate.exists():
        n += 1
        candidate = base.with_name(f"{base.name}-{n}")
    return candidate


class Session:
    def __init__(self, folder: str | Path, every: int | None = None, *,
                 tensorboard: str | Path | None = None, **meta: Any) -> None:
        self.folder = Path(folder)
        self.tensorboard = tensorboard  # a LOGDIR to export to when the run ends
        self.store = RunStore.create(self.folder)
        self.recorder = Recorder(self.store, Schedule(every))
        self.adapters: list[Adapter] = []
        self.store.set_meta(
            status="running",
            started=_dt.datetime.now().isoformat(timespec="seconds"),
            pid=os.getpid(),
            every=every,
            **meta,
        )
        self._finished: Diagnosis | None = None

    @property
    def framework(self) -> str:
        names = sorted({a.framework for a in self.adapters})
        return "+".join(names) if names else "none"

    def attach(self, adapter: Adapter) -> None:
        self.adapters.append(adapter)
        self.store.set_meta(framework=self.framework)

    def diagnose_now(self) -> Diagnosis:
        """Diagnose what is recorded so far, without stopping."""
        self.recorder.convert_pending()
        self.store.flush()
        return self._diagnose("running")

    def finish(self, status: str = "finished", **detail: Any) -> Diagnosis:
        """Stop every adapter, commit everything, diagnose, write findings.json. Idempotent."""
        if self._finished is not None:
            return self._finished
        try:
            for adapter in self.adapters:
                adapter.stop()
        finally:
            self.recorder.close()
            self.store.set_meta(
                status=status,
                ended=_dt.datetime.now().isoformat(timespec="seconds"),
                steps=max((a.step for a in self.adapters), default=0),
                framework=self.framework,
                **detail,
            )
            self.store.close()
        self._finished = self._diagnose(status)
        write_findings(self.folder / FINDINGS_FILE, self._finished)
        from .reports.html import write_report_or_warn  # jinja2 loads only now

        write_report_or_warn(self.folder, self._finished)
        if self.tensorboard is not None:
            from .reports.tensorboard import export_or_warn

            export_or_warn(self.folder, self.tensorboard)
        return self._finished

    def _diagnose(self, status: str) -> Diagnosis:
        return diagnose_folder(self.folder, status)


def diagnose_folder(folder: str | Path, status: str | None = None, *,
                    merge_children: bool = True) -> Diagnosis:
    """Diagnose any stored run folder (a finished, crashed or killed one), together with the
    worker processes it started (``gradsight.processes``) unless ``merge_children`` is off."""
    view = RunView.open(folder)
    try:
        numbers = key_numbers(view)
        if isinstance(view.meta.get("rank"), int):
            numbers["rank"] = view.meta["rank"]
        own = Diagnosis(
            diagnose(view),
            str(view.meta.get("framework", "none")),
            view.steps,
            Path(folder),
            status or _stored_status(view.meta),
            numbers,
        )
    except sqlite3.DatabaseError as exc:  # damage past the pages that open() reads
        raise RunDataError(
            f"{Path(folder) / DB_NAME} is damaged ({exc}); nothing was changed."
        ) from exc
    finally:
        view.close()
    if not merge_children:
        return own
    from .processes import diagnose_children, merge

    children = diagnose_children(Path(folder))
    return merge(own, children) if children else own


def write_findings(path: str | Path, diagnosis: Diagnosis) -> None:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(json.dumps(diagnosis.document(), indent=2) + "\n")
    tmp.replace(target)


def _stored_status(meta: dict[str, Any]) -> str:
    """A run still marked "running" whose process is gone was killed (kill -9, OOM, power)."""
    status = str(meta.get("status", "unknown"))
    if status == "running" and not _alive(meta.get("pid")):
        return "killed"
    return status


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
