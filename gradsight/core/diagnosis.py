"""A run's diagnosis: findings root cause first, with the key numbers, from a stored run folder.

``diagnose_folder`` reads any run folder (finished, crashed, killed). When the run started
worker processes that recorded (``processes/<pid>/``), the diagnosis is the job's
(``core.job``): every rank is diagnosed as it saw the job (sharded parameters whole, every
rank's store at hand for what only a job has), and the ranks' findings are merged into one list:
rank 0's first, then what another rank adds; a finding that holds on some ranks only says on
which (``evidence.rank``). A worker process outside the process group (a plain ``subprocess``
that trained) adds its findings marked with its pid (``evidence.process``).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable

from .detect import diagnose
from .finding import Finding, findings_document
from .job import PROCESSES, Job, JobView, stored_status
from .run_view import RunView
from .store import DB_NAME, RunDataError
from .summary import key_numbers

FINDINGS_FILE = "findings.json"
__all__ = ["Diagnosis", "diagnose_folder", "write_findings", "stored_status", "PROCESSES",
           "FINDINGS_FILE", "open_view"]


DIAGNOSIS_FAILED = "diagnosis_failed"  # in numbers and the findings JSON: why, where it failed


@dataclass
class Diagnosis:
    """What a run concluded: findings (root cause first) and the key numbers."""

    findings: list[Finding]
    framework: str
    steps: int
    folder: Path
    status: str
    numbers: dict[str, Any] = field(default_factory=dict)
    job: dict[str, Any] | None = None  # ranks, how each ended, the first that died

    @classmethod
    def failed(cls, reason: str, framework: str, steps: int, folder: Path,
               status: str) -> "Diagnosis":
        """No verdict: gradsight could not diagnose the run (``reason``). Reports say so, never
        "no problem found", and ``--fail-on`` fails: a check that could not be made."""
        return cls([], framework, steps, folder, status, {DIAGNOSIS_FAILED: reason})

    @property
    def failure(self) -> str | None:
        """Why no diagnosis could be made, or None."""
        return self.numbers.get(DIAGNOSIS_FAILED)

    def document(self) -> dict[str, Any]:
        doc = findings_document(self.findings, self.framework, self.steps)
        if self.job is not None:
            doc["job"] = self.job
        if self.failure is not None:
            doc[DIAGNOSIS_FAILED] = self.failure
        return doc

    def __repr__(self) -> str:
        head = (f"{type(self).__name__}({self.framework}, {self.steps} steps, run "
                f"{self.status}, {self.folder}")
        if not self.findings:
            return head + ": no finding)"
        lines = [f"  {f.severity.value} {f.kind} at {', '.join(f.where[:4])}"
                 f"{' …' if len(f.where) > 4 else ''} (step {f.step})" for f in self.findings]
        return head + ":\n" + "\n".join(lines) + ")"


def diagnose_folder(folder: str | Path, status: str | None = None, *,
                    merge_children: bool = True,
                    connection: sqlite3.Connection | None = None) -> Diagnosis:
    """Diagnose a stored run folder, together with the worker processes it started unless
    ``merge_children`` is off. ``connection``: the run's store, when it is not the folder's
    file (a run kept in memory, ``RunStore.snapshot``); it is closed here."""
    view = RunView(connection, Path(folder)) if connection is not None else RunView.open(folder)
    try:
        own = _diagnose_view(view, Path(folder), status or stored_status(view.meta))
        if view.damage:  # values the readers set aside: the diagnosis is of the rest
            own.numbers["damaged"] = view.damage.summary()
        parent_meta = dict(view.meta)
    except sqlite3.DatabaseError as exc:  # damage past the pages that open() reads
        raise RunDataError(f"{Path(folder) / DB_NAME} is damaged ({exc}); nothing was changed."
                           ) from exc
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError) as exc:
        # values no reader expected (``tolerant`` sets aside those it knows of)
        raise RunDataError(f"{Path(folder) / DB_NAME} holds values gradsight cannot read "
                           f"({type(exc).__name__}: {exc}); nothing was changed. If the run "
                           "folder was not edited, this is a gradsight bug: please report it."
                           ) from exc
    finally:
        view.close()
    if not merge_children:
        return own
    job = Job.open(folder, parent_meta)
    if job is None:
        return own
    try:
        return _diagnose_job(own, job)
    except sqlite3.DatabaseError as exc:
        raise RunDataError(f"a worker store under {Path(folder) / PROCESSES} is damaged "
                           f"({exc}); nothing was changed.") from exc
    finally:
        job.close()


def open_view(folder: str | Path) -> tuple[Any, Any]:
    """What a report draws for ``folder``: (view, closer). A job's parent records nothing
    itself, so its report shows rank 0's view of the job."""
    job = Job.open(folder)
    if job is not None and job.ranks:
        return job.view(), job
    if job is not None:
        job.close()
    view = RunView.open(folder)
    return view, view


def write_findings(path: str | Path, diagnosis: Diagnosis) -> None:
    """The findings JSON, written atomically (a reader never sees half a file)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(json.dumps(diagnosis.document(), indent=2) + "\n")
    tmp.replace(target)


def _diagnose_view(view: RunView | JobView, folder: Path, status: str) -> Diagnosis:
    numbers = key_numbers(view)  # type: ignore[arg-type]
    findings = diagnose(view)  # type: ignore[arg-type]
    return Diagnosis(findings, str(view.meta.get("framework", "none")), view.steps, folder,
                     status, numbers)


def _diagnose_job(own: Diagnosis, job: Job) -> Diagnosis:
    if not job.ranks:  # no rank recorded a step: workers outside a process group, if any
        others = [_diagnose_view(v, own.folder, own.status) for v in job.others.values()]
        base = replace(own, job=job.summary()) if job.ranked else own
        return _with_others(base, list(zip(job.others, others)), len(others))
    per_rank = {r: _diagnose_view(job.view(r), own.folder, own.status) for r in job.ranks}
    primary = per_rank[min(per_rank)]
    findings = merge_ranks({r: d.findings for r, d in per_rank.items()})
    numbers = dict(primary.numbers)
    numbers["rank"] = min(per_rank)
    numbers["ranks"] = job.world_size
    merged = replace(own, findings=findings, framework=primary.framework, steps=primary.steps,
                     numbers=numbers, job=job.summary())
    others = [(pid, _diagnose_view(v, own.folder, own.status)) for pid, v in job.others.items()]
    if own.steps > 0 and not job.parent_is_rank:  # the launching process trained too
        others.insert(0, (str(job.parent_meta.get("pid", "parent")), own))
    return _with_others(merged, others, len(job.ranks) + len(others))


def merge_ranks(by_rank: dict[int, list[Finding]]) -> list[Finding]:
    """One list for the job: each (kind, where) once, in the lowest rank's words and order,
    marked with the ranks it held on when that is not all of them."""
    ranks = sorted(by_rank)
    first: dict[tuple[str, tuple[str, ...]], Finding] = {}
    held: dict[tuple[str, tuple[str, ...]], list[int]] = {}
    for rank in ranks:
        for finding in by_rank[rank]:
            key = (finding.kind, tuple(finding.where))
            first.setdefault(key, finding)
            held.setdefault(key, []).append(rank)
    out = []
    for key, finding in first.items():
        on = held[key]
        if len(on) < len(ranks) and "rank" not in finding.evidence:
            mark: dict[str, Any] = {"rank": on[0]} if len(on) == 1 else {"ranks": on}
            label = f"rank {on[0]}" if len(on) == 1 else "ranks " + ", ".join(map(str, on))
            finding = replace(finding, evidence={**finding.evidence, **mark},
                              summary=f"on {label} only: {finding.summary}")
        out.append(finding)
    return out


def _with_others(base: Diagnosis, others: Iterable[tuple[str, Diagnosis]], count: int
                 ) -> Diagnosis:
    """``base`` plus what processes outside the job add, marked with their pid."""
    others = [(pid, d) for pid, d in others if d.steps > 0]
    if base.steps == 0 and others:  # the parent trained nothing: the first worker speaks
        pid, first = max(others, key=lambda item: item[1].steps)
        base = replace(base, findings=list(first.findings), framework=first.framework,
                       steps=first.steps, numbers=dict(first.numbers))
        others = [(p, d) for p, d in others if p != pid]
    findings = list(base.findings)
    seen = {(f.kind, tuple(f.where)) for f in findings}
    for pid, other in others:
        for finding in other.findings:
            key = (finding.kind, tuple(finding.where))
            if key not in seen:
                seen.add(key)
                findings.append(replace(finding, evidence={**finding.evidence,
                                                           "process": f"pid {pid}"}))
    numbers = dict(base.numbers)
    numbers["processes"] = max(count, 1)
    return replace(base, findings=findings, numbers=numbers)
