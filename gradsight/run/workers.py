"""Watching the worker processes a script starts (``mp.spawn``, ``torchrun``, ``subprocess``).

``gradsight run`` watches its own process in-process; a worker is a new interpreter that knows
nothing of that. So the runner puts ``gradsight/run/bootstrap`` first on ``PYTHONPATH`` and names
a folder in ``GRADSIGHT_PROCESSES``: the ``sitecustomize`` there runs at every child
interpreter's start-up and, only if that child imports a framework, records it into its own
store ``<run>/processes/<pid>/``, closed at exit. A child that never imports one leaves
nothing behind; a child where any of this fails runs exactly as it would without gradsight.

A worker only records: the job is diagnosed once, by the parent, from every rank's store
(``core.job``), so that sharded parameters are judged whole and ranks are compared. What a
worker adds for that: its rank and the job's size (``meta``), and how it ended: an exception
that ends it (``torchrun``: ``sys.excepthook``; ``mp.spawn`` catches it in its ``_wrap``, so
the function it runs is wrapped) marks it ``crashed`` with the error; a kill leaves it
``running`` with a dead pid, which reads as ``killed``. The launcher's own report of the first
process that failed is kept by the parent (``first_failure``).
"""

from __future__ import annotations

import atexit
import importlib
import os
import sys
from pathlib import Path
from typing import Any, Callable

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


def _watch_this_process(folder: Path) -> "_Ending":
    from .frameworks import Attachments, RunOptions
    from .session import Session

    every = os.environ.get(ENV_EVERY)
    session = Session(folder / str(os.getpid()), int(every) if every else None,
                      mode="process", argv=list(sys.argv), **_launcher_rank())
    Attachments(session, RunOptions(), only=("torch",)).install()
    ending = _Ending(session)
    _note_exceptions(ending)
    atexit.register(ending.finish)
    return ending


def watch_forked_workers(session: Any, attachments: Any) -> Callable[[], None]:
    """Processes that ``multiprocessing`` forks from this one (its default start method on
    Linux: a ``torch.multiprocessing.Process``, as the distributed tutorial starts its ranks)
    inherit this process's watching but not the thread that writes its store: they recorded
    nothing. Each forked process that is no DataLoader worker now stops the watching it
    inherited (what that writes goes nowhere; the parent's store is untouched) and watches
    itself into its own store, as a spawned worker does; multiprocessing ends it with
    ``os._exit``, after its finalizers (no ``atexit``), so the store is closed by one. Only
    where every adapter watching is PyTorch's: stopping a TensorFlow adapter reads its
    variables, and TensorFlow's runtime does not survive a fork (such a child is left as it
    was). Returns the undo (for the parent, when the script is over)."""
    from multiprocessing import process

    original = process.BaseProcess._bootstrap
    parent = os.getpid()

    def _bootstrap(self: Any, *args: Any, **kwargs: Any) -> Any:
        folder = os.environ.get(ENV_FOLDER)
        torch_only = all(getattr(a, "framework", "") == "torch" for a in session.adapters)
        if os.getpid() != parent and folder and torch_only and not _loader_worker(self):
            try:
                attachments.remove()
                for adapter in list(session.adapters):
                    adapter.stop()
                _note_run(self, _watch_this_process(Path(folder)))
            except Exception:  # noqa: BLE001 - the worker runs as it would without gradsight
                pass
        return original(self, *args, **kwargs)

    process.BaseProcess._bootstrap = _bootstrap  # type: ignore[method-assign]
    return lambda: setattr(process.BaseProcess, "_bootstrap", original)


def _loader_worker(proc: Any) -> bool:
    """A DataLoader's worker: it loads batches, never trains."""
    target = getattr(proc, "_target", None)
    return getattr(target, "__module__", "").startswith("torch.utils.data")


def _note_run(proc: Any, ending: "_Ending") -> None:
    """A forked process's ``run``, noted: its end closes the store by a multiprocessing
    finalizer (registered once ``run`` begins: the bootstrap clears the registry before), and
    its exception, which multiprocessing catches (printed, exit code 1) where
    ``sys.excepthook`` never sees it, marks it crashed."""
    from multiprocessing import util

    run = proc.run

    def noted() -> Any:
        util.Finalize(None, ending.finish, exitpriority=0)
        try:
            return run()
        except BaseException as exc:
            ending.crashed(exc)
            raise

    proc.run = noted


class _Ending:
    """How this worker ends: ``finished`` unless an exception ended it first."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.status = "finished"
        self.detail: dict[str, Any] = {}

    def crashed(self, exc: BaseException) -> None:
        if isinstance(exc, SystemExit) and exc.code in (None, 0):
            return
        if isinstance(exc, KeyboardInterrupt):
            self.status = "interrupted"
            return
        self.status = "crashed"
        self.detail = {"error": f"{type(exc).__name__}: {exc}"[:4000]}

    def finish(self) -> None:
        self.session.close(self.status, **self.detail)


def _launcher_rank() -> dict[str, Any]:
    """What ``torchrun`` tells a worker before it joins the group (``mp.spawn``: nothing)."""
    out: dict[str, Any] = {}
    for key, env in (("rank", "RANK"), ("world_size", "WORLD_SIZE")):
        value = os.environ.get(env, "")
        if value.isdigit():
            out[key] = int(value)
    return out


def _note_exceptions(ending: _Ending) -> None:
    """Keep the exception that ends this worker (see the module docstring); the exception
    itself goes on exactly as before."""
    previous = sys.excepthook

    def hook(kind: Any, value: Any, tb: Any) -> None:
        if isinstance(value, BaseException):
            ending.crashed(value)
        previous(kind, value, tb)

    sys.excepthook = hook
    try:  # (the package's ``spawn`` attribute is the function: take the module itself)
        spawn = importlib.import_module("torch.multiprocessing.spawn")
    except ImportError:
        return
    original = getattr(spawn, "_wrap", None)
    if not callable(original):
        return

    def _wrap(fn: Callable[..., Any], i: int, *rest: Any, **kwargs: Any) -> Any:
        ending.session.store.set_meta(spawn_index=i)

        def noted(*args: Any, **kw: Any) -> Any:
            try:
                return fn(*args, **kw)
            except BaseException as exc:
                ending.crashed(exc)
                raise

        return original(noted, i, *rest, **kwargs)

    spawn._wrap = _wrap  # resolved by name when this worker unpickles its target, just after


def first_failure(exc: BaseException) -> dict[str, Any] | None:
    """The launcher's own word on which worker failed first, from the exception that ended
    the script: ``mp.spawn``'s ``ProcessExitedException`` / ``ProcessRaisedException``
    (``error_pid``), ``torchrun``'s ``ChildFailedError`` (``get_first_failure``)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        pid = getattr(current, "error_pid", None)
        if isinstance(pid, int):
            out: dict[str, Any] = {"pid": pid, "index": getattr(current, "error_index", None)}
            if getattr(current, "signal_name", None):
                out["signal"] = str(current.signal_name)  # type: ignore[attr-defined]
            if isinstance(getattr(current, "exit_code", None), int):
                out["exit_code"] = current.exit_code  # type: ignore[attr-defined]
            return out
        first = getattr(current, "get_first_failure", None)
        if callable(first):
            try:
                rank, failure = first()
                out = {"pid": int(failure.pid), "rank": int(rank),
                       "exit_code": int(failure.exitcode)}
                if failure.exitcode < 0:
                    out["signal"] = str(failure.signal_name())
                return out
            except Exception:  # noqa: BLE001 - a launcher of another version: no detail
                return None
        current = current.__cause__ or current.__context__
    return None
