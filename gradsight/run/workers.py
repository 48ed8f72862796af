"""Watching the worker processes a script starts (``mp.spawn``, ``torchrun``, ``subprocess``).

``gradsight run`` watches its own process in-process; a worker is a new interpreter that knows
nothing of that. So the runner puts ``gradsight/run/bootstrap`` first on ``PYTHONPATH`` and names
a folder in ``GRADSIGHT_PROCESSES``: the ``sitecustomize`` there runs at every child
interpreter's start-up and, only if that child imports a framework, records it into its own
run folder ``<run>/processes/<pid>/``, closed at exit. A child that never imports one leaves
nothing behind; a child where any of this fails runs exactly as it would without gradsight.
The parent's diagnosis reads every process's store (``core.diagnosis``).
"""

from __future__ import annotations

import atexit
import os
import sys
from pathlib import Path
from typing import Any

from ..core.diagnosis import PROCESSES

ENV_FOLDER = "GRADSIGHT_PROCESSES"
ENV_EVERY = "GRADSIGHT_EVERY"
BOOTSTRAP = Path(__file__).resolve().parent / "bootstrap"


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
    from .after_import import AfterImport

    AfterImport("torch", lambda _module: _watch_this_process(Path(folder))).install()


def _watch_this_process(folder: Path) -> None:
    from .frameworks import Attachments, RunOptions
    from .session import Session

    every = os.environ.get(ENV_EVERY)
    session = Session(folder / str(os.getpid()), int(every) if every else None,
                      mode="process", argv=list(sys.argv))
    Attachments(session, RunOptions(), only=("torch",)).install()
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
