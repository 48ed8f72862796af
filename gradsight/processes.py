"""Watching the worker processes a script starts (``mp.spawn``, ``torchrun``, ``subprocess``).

``gradsight run`` watches its own process in-process; a worker is a new interpreter that knows
nothing of that. So the runner puts ``gradsight/_bootstrap`` first on ``PYTHONPATH`` and names a
folder in ``GRADSIGHT_PROCESSES``: the ``sitecustomize`` there runs at every child
interpreter's start-up and, only if that child imports torch, records it into its own run
folder ``<run>/processes/<pid>/``, closed at exit. A child that never imports torch leaves
nothing behind; a child where any of this fails runs exactly as it would without gradsight.

The parent's diagnosis then reads every process's store: the process that trained (rank 0
first, else the one with most steps) gives the findings; another process's findings are added
when they say something new (a kind or place rank 0 did not show), marked with their rank.
Under DDP every rank applies the same averaged gradients, so ranks mostly agree.
"""

from __future__ import annotations

import atexit
import os
import sys
from pathlib import Path
from typing import Any

from .core.store import DB_NAME, RunDataError

ENV_FOLDER = "GRADSIGHT_PROCESSES"
ENV_EVERY = "GRADSIGHT_EVERY"
PROCESSES = "processes"
BOOTSTRAP = Path(__file__).resolve().parent / "_bootstrap"


def child_environment(run_folder: Path, every: int | None) -> dict[str, str]:
    """What the runner adds to ``os.environ`` so that child interpreters are watched."""
    path = os.environ.get("PYTHONPATH")
    env = {
        ENV_FOLDER: str(Path(run_folder).resolve() / PROCESSES),
        "PYTHONPATH": str(BOOTSTRAP) + (os.pathsep + path if path else ""),
    }
    if every is not None:
        env[ENV_EVERY] = str(every)
    return env


def attach_child() -> None:
    """Called by the bootstrap ``sitecustomize`` in a child interpreter."""
    folder = os.environ.get(ENV_FOLDER)
    if not folder:
        return
    from ._after_import import AfterImport

    AfterImport("torch", lambda _module: _watch_this_process(Path(folder))).install()


def _watch_this_process(folder: Path) -> None:
    from .runner import _attach_torch
    from .session import Session

    every = os.environ.get(ENV_EVERY)
    session = Session(folder / str(os.getpid()), int(every) if every else None,
                      mode="process", argv=list(sys.argv))
    _attach_torch(session)
    _note_rank_at_first_step(session)
    atexit.register(session.finish, "finished")


def _note_rank_at_first_step(session: Any) -> None:
    """The rank is known between ``init_process_group`` and ``destroy_process_group``, and
    ``mp.spawn`` sets no ``RANK`` variable: read it once, when the first optimizer steps."""
    from torch.optim.optimizer import register_optimizer_step_post_hook

    def once(*_args: Any) -> None:
        handle.remove()
        rank = _rank()
        if rank is not None:
            session.store.set_meta(rank=rank)

    handle = register_optimizer_step_post_hook(once)


def _rank() -> int | None:
    try:
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            return int(dist.get_rank())
    except Exception:
        pass
    value = os.environ.get("RANK")
    return int(value) if value and value.isdigit() else None


def process_folders(run_folder: Path) -> list[Path]:
    """Run folders of the child processes that recorded something."""
    root = Path(run_folder) / PROCESSES
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if (p / DB_NAME).is_file())


def merge(own: Any, children: list[Any]) -> Any:
    """One diagnosis for the whole run: see the module docstring. Arguments are Diagnoses."""
    from dataclasses import replace

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


def _rank_of(diagnosis: Any) -> int:
    rank = diagnosis.numbers.get("rank") if isinstance(diagnosis.numbers, dict) else None
    return int(rank) if isinstance(rank, int) else 10**9


def diagnose_children(run_folder: Path) -> list[Any]:
    """Every child's diagnosis; a damaged child store is skipped with a message."""
    from .session import diagnose_folder

    out = []
    for folder in process_folders(run_folder):
        try:
            out.append(diagnose_folder(folder, merge_children=False))
        except RunDataError as exc:
            print(f"gradsight: skipping a worker process's run: {exc}", file=sys.stderr)
    return out
