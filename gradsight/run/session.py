"""A watched run: one run folder, its recorder, the adapters feeding it, and the diagnosis.

Both ``gradsight run`` and ``gradsight.watch`` go through this class, so they record and
diagnose identically.
"""

from __future__ import annotations

import datetime as _dt
import os
from pathlib import Path
from typing import Any, Protocol

from ..core.diagnosis import FINDINGS_FILE, Diagnosis, diagnose_folder, write_findings
from ..core.recorder import Recorder
from ..core.schedule import Schedule
from ..core.store import RunStore

__all__ = ["Session", "default_folder", "Diagnosis", "FINDINGS_FILE"]


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


class Session:
    def __init__(self, folder: str | Path, every: int | None = None, *,
                 tensorboard: str | Path | None = None, **meta: Any) -> None:
        self.folder = Path(folder)
        self.tensorboard = tensorboard  # a LOGDIR to export to when the run ends
        self.store = RunStore.create(self.folder)
        self.recorder = Recorder(self.store, Schedule(every))
        self.adapters: list[Adapter] = []
        self.store.set_meta(status="running",
                            started=_dt.datetime.now().isoformat(timespec="seconds"),
                            pid=os.getpid(), every=every, **meta)
        self._finished: Diagnosis | None = None
        self._closed = False

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

    def attach(self, adapter: Adapter) -> None:
        self.adapters.append(adapter)
        self.store.set_meta(framework=self.framework, api=self.api)

    def diagnose_now(self) -> Diagnosis:
        """Diagnose what is recorded so far, without stopping."""
        self.recorder.flush()
        self.store.flush()
        return diagnose_folder(self.folder, "running")

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
            self.recorder.close()
            self.store.set_meta(status=status,
                                ended=_dt.datetime.now().isoformat(timespec="seconds"),
                                steps=self.step, framework=self.framework, api=self.api,
                                **detail)
            self.store.close()

    def finish(self, status: str = "finished", **detail: Any) -> Diagnosis:
        """Stop every adapter, commit everything, diagnose, write findings.json and the
        reports. Idempotent."""
        if self._finished is not None:
            return self._finished
        self.close(status, **detail)
        self._finished = diagnose_folder(self.folder, status)
        write_findings(self.folder / FINDINGS_FILE, self._finished)
        from ..reports.html import write_report_or_warn  # jinja2 loads only now

        write_report_or_warn(self.folder, self._finished)
        if self.tensorboard is not None:
            from ..reports.tensorboard import export_or_warn

            export_or_warn(self.folder, self.tensorboard)
        return self._finished
