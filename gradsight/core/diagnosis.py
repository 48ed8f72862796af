"""A run's diagnosis: findings root cause first, with the key numbers, from a stored run folder.

``diagnose_folder`` reads any run folder (finished, crashed, killed) and the folders of the
worker processes it started (``processes/<pid>/``), and merges them into one diagnosis: the
process that trained (rank 0 first, else the one with most steps) gives the findings; another
process's findings are added when they say something new (a kind or place rank 0 did not
show), marked with its rank. Under DDP every rank applies the same averaged gradients, so
ranks mostly agree.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .detect import diagnose
from .finding import Finding, findings_document
from .run_view import RunView
from .store import DB_NAME, RunDataError
from .summary import key_numbers

FINDINGS_FILE = "findings.json"
PROCESSES = "processes"  # <run>/processes/<pid>/: one run folder per watched worker process


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

    def __repr__(self) -> str:
        head = (f"{type(self).__name__}({self.framework}, {self.steps} steps, run "
                f"{self.status}, {self.folder}")
        if not self.findings:
            return head + ": no finding)"
        lines = [f"  {f.severity.value} {f.kind} at {', '.join(f.where[:4])}"
                 f"{' …' if len(f.where) > 4 else ''} (step {f.step})" for f in self.findings]
        return head + ":\n" + "\n".join(lines) + ")"


def diagnose_folder(folder: str | Path, status: str | None = None, *,
                    merge_children: bool = True) -> Diagnosis:
    """Diagnose a stored run folder, together with the worker processes it started unless
    ``merge_children`` is off."""
    view = RunView.open(folder)
    try:
        numbers = key_numbers(view)
        if isinstance(view.meta.get("rank"), int):
            numbers["rank"] = view.meta["rank"]
        own = Diagnosis(diagnose(view), str(view.meta.get("framework", "none")), view.steps,
                        Path(folder), status or stored_status(view.meta), numbers)
    except sqlite3.DatabaseError as exc:  # damage past the pages that open() reads
        raise RunDataError(f"{Path(folder) / DB_NAME} is damaged ({exc}); nothing was changed."
                           ) from exc
    finally:
        view.close()
    if not merge_children:
        return own
    children = diagnose_children(Path(folder))
    return merge(own, children) if children else own


def write_findings(path: str | Path, diagnosis: Diagnosis) -> None:
    """The findings JSON, written atomically (a reader never sees half a file)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(json.dumps(diagnosis.document(), indent=2) + "\n")
    tmp.replace(target)


def process_folders(run_folder: Path) -> list[Path]:
    """Run folders of the child processes that recorded something."""
    root = Path(run_folder) / PROCESSES
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if (p / DB_NAME).is_file())


def diagnose_children(run_folder: Path) -> list[Diagnosis]:
    """Every child's diagnosis; a damaged child store is skipped with a message."""
    out = []
    for folder in process_folders(run_folder):
        try:
            out.append(diagnose_folder(folder, merge_children=False))
        except RunDataError as exc:
            print(f"gradsight: skipping a worker process's run: {exc}", file=sys.stderr)
    return out


def merge(own: Diagnosis, children: list[Diagnosis]) -> Diagnosis:
    """One diagnosis for the whole run: see the module docstring."""
    runs = [d for d in [own, *children] if d.steps > 0]
    if not runs:
        return own
    primary = min(runs, key=lambda d: (_rank_of(d), -d.steps))
    findings = list(primary.findings)
    seen = {(f.kind, tuple(f.where)) for f in findings}
    for other in runs:
        if other is primary:
            continue
        for finding in other.findings:
            key = (finding.kind, tuple(finding.where))
            if key in seen:
                continue
            seen.add(key)
            label = _rank_of(other)
            process = f"rank {label}" if label < 10**9 else f"pid {other.folder.name}"
            findings.append(replace(finding, evidence={**finding.evidence, "process": process}))
    numbers = dict(primary.numbers)
    numbers["processes"] = len(runs)
    return replace(own, findings=findings, framework=primary.framework, steps=primary.steps,
                   numbers=numbers)


def stored_status(meta: dict[str, Any]) -> str:
    """A run still marked "running" whose process is gone was killed (kill -9, OOM, power)."""
    status = str(meta.get("status", "unknown"))
    if status == "running" and not _alive(meta.get("pid")):
        return "killed"
    return status


def _rank_of(diagnosis: Diagnosis) -> int:
    rank = diagnosis.numbers.get("rank")
    return int(rank) if isinstance(rank, int) else 10**9


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
