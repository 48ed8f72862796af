"""What the Lightning and Hugging Face callbacks share: one watched run per rank, merged on
rank 0, and the findings as numbers a logger can take.

Under a multi-process strategy every rank watches its own process: rank 0 makes the run folder
and tells the others (``share``), each other rank records into ``<folder>/processes/rank<r>``,
and rank 0 diagnoses the folder after every rank has closed its store (the same merge as
``gradsight run`` under ``torchrun``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable

from .core.diagnosis import FINDINGS_FILE, PROCESSES, Diagnosis, diagnose_folder, \
    write_findings
from .core.finding import Finding, Severity
from .run.session import default_folder
from .run.watch import Watch


class RankedWatch:
    """The watch of one rank of a (possibly distributed) training run."""

    def __init__(self, out: str | Path | None, every: int | None, stem: str) -> None:
        self._out, self._every, self._stem = out, every, stem
        self.watch: Watch | None = None
        self.folder: Path | None = None
        self.diagnosis: Diagnosis | None = None
        self.rank = 0

    def start(self, model: Any, rank: int, share: Callable[[str], str]) -> None:
        """Watch ``model`` from now on; ``share`` sends rank 0's string to every rank."""
        if self.watch is not None:  # a second fit() with the same callback: a new run
            self.close("finished")
        self.rank = rank
        mine = str(default_folder(self._stem) if self._out is None and rank == 0
                   else Path(self._out or "."))
        self.folder = Path(share(mine))
        out = self.folder if rank == 0 else self.folder / PROCESSES / f"rank{rank}"
        self.watch = Watch(model, None, out=out, every=self._every)
        self.watch.session.store.set_meta(rank=rank)
        self.diagnosis = None

    def close(self, status: str, barrier: Callable[[], None] | None = None) -> Diagnosis | None:
        """Stop watching; on rank 0, after ``barrier``, the merged diagnosis of every rank."""
        if self.watch is None:
            return self.diagnosis
        own = self.watch.close(status)
        self.watch = None
        if barrier is not None:
            barrier()
        if self.rank == 0 and self.folder is not None and (self.folder / PROCESSES).is_dir():
            own = diagnose_folder(self.folder, status)  # every rank's store, merged
            write_findings(self.folder / FINDINGS_FILE, own)
        self.diagnosis = own
        return own

    @property
    def findings(self) -> list[Finding]:
        if self.diagnosis is not None:
            return self.diagnosis.findings
        return self.watch.findings if self.watch is not None else []


class WatchedRun:
    """What a callback shows of its run: ``findings``, ``diagnosis`` and ``folder``."""

    _run: RankedWatch | None = None

    @property
    def diagnosis(self) -> Diagnosis | None:
        return self._run.diagnosis if self._run is not None else None

    @property
    def findings(self) -> list[Finding]:
        """Findings so far (while training) or final (after training)."""
        return self._run.findings if self._run is not None else []

    @property
    def folder(self) -> Path | None:
        return self._run.folder if self._run is not None else None


def finding_metrics(findings: list[Finding], prefix: str = "gradsight/") -> dict[str, float]:
    """Counts a metrics logger can plot: errors, warnings, and the places of each kind."""
    out = {f"{prefix}errors": 0.0, f"{prefix}warnings": 0.0}
    for f in findings:
        if f.severity == Severity.ERROR:
            out[f"{prefix}errors"] += 1
        elif f.severity == Severity.WARNING:
            out[f"{prefix}warnings"] += 1
        key = f"{prefix}{f.kind}"
        out[key] = out.get(key, 0.0) + float(max(len(f.where), 1))
    return out


def findings_markdown(diagnosis: Diagnosis) -> str:
    """The findings as markdown text (TensorBoard's text tab renders it)."""
    if not diagnosis.findings:
        return f"no finding in {diagnosis.steps} steps"
    lines = []
    for f in diagnosis.findings:
        where = ", ".join(f"`{w}`" for w in f.where[:6])
        lines.append(f"- **{f.severity.value} {f.kind}** (step {f.step}) at {where}: "
                     f"{f.summary}")
        if f.fixes:
            lines.append(f"  - fix: {f.fixes[0]}")
    return "\n".join(lines)


def print_report(diagnosis: Diagnosis) -> None:
    """The terse terminal report, on stderr (stdout belongs to the training script)."""
    from rich.console import Console

    from .reports.terminal import render

    render(diagnosis, Console(file=sys.stderr))
