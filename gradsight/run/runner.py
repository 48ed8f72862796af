"""``gradsight run``: run a script as ``python SCRIPT ARGS`` would, watched, and diagnose it.

Adapters attach when the script imports their framework (``frameworks``). Whatever way the
script ends (normally, ``sys.exit``, an exception, Ctrl-C, SIGTERM) the diagnosis runs in
``finally``: a run that dies is the run that most needs a report.
"""

from __future__ import annotations

import os
import signal
import sys
import traceback
from pathlib import Path
from typing import Any, Callable

from ..core.finding import Severity
from .frameworks import Attachments, RunOptions
from .script import (EXIT_INTERRUPTED, ScriptNotFound, as_main, exec_as_main, exit_code,
                     find_script, user_frames)
from .session import Diagnosis, Session, default_folder
from .workers import child_environment, first_failure

__all__ = ["run_script", "exit_status", "ScriptNotFound", "EXIT_INTERRUPTED"]


def run_script(
    script: str | Path,
    args: list[str] | None = None,
    *,
    out: str | Path | None = None,
    every: int | None = None,
    tf1: bool | None = None,
    on_diagnosis: Callable[[Diagnosis], None] | None = None,
    tensorboard: str | Path | None = None,
) -> tuple[int, Diagnosis]:
    """Run ``script`` watched; returns (the script's exit status, the diagnosis).

    ``tf1``: run a TensorFlow script as TF1 (``tensorflow`` is ``tensorflow.compat.v1``); by
    default decided from the script's source (``adapters.tf_common.tf1_mode``).
    """
    path = find_script(script)
    session = Session(out or default_folder(path.stem), every, tensorboard=tensorboard,
                      mode="run", script=str(path), argv=[str(script), *(args or [])])
    attachments = Attachments(session, RunOptions(script=path, tf1=tf1))
    saved_sigterm = _install_sigterm()
    child_env = child_environment(session.folder, every)  # worker processes are watched too
    saved_env = {key: os.environ.get(key) for key in child_env}
    os.environ.update(child_env)
    status, code, detail = "finished", 0, {}
    live = _start_live(session)
    try:
        attachments.install()
        with as_main(script, path, args):
            exec_as_main(path)
    except SystemExit as exc:
        code = exit_code(exc)
        status = "finished" if code == 0 else "failed"
    except KeyboardInterrupt:
        status, code = "interrupted", EXIT_INTERRUPTED
        print("\nKeyboardInterrupt", file=sys.stderr)
    except BaseException as exc:  # the script's own error: show it as Python would
        status, code = "crashed", 1
        traceback.print_exception(type(exc), exc, user_frames(exc.__traceback__))
        detail = {"error": f"{type(exc).__name__}: {exc}"}
        failed = first_failure(exc)  # a worker that died: which one, by the launcher's word
        if failed is not None:
            detail["failed_process"] = failed
    finally:
        if live is not None:
            live.stop()
        attachments.remove()
        _restore_sigterm(saved_sigterm)
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        diagnosis = session.finish(status, exit_code=code, **detail)
        if on_diagnosis is not None:
            on_diagnosis(diagnosis)
    return code, diagnosis


def exit_status(code: int, diagnosis: Diagnosis, fail_on: Severity | None) -> int:
    """The contract: the script's non-zero status; else 1 if ``--fail-on`` is met; else 0."""
    if code != 0:
        return code
    if fail_on is not None and any(f.severity.at_least(fail_on) for f in diagnosis.findings):
        return 1
    return 0


def _start_live(session: Session) -> Any:
    """The one-line live status on stderr, only when stderr is a terminal (not piped, not CI)."""
    from ..reports.live import LiveStatus

    return LiveStatus.start_if_terminal(session.store.path, lambda: session.step)


def _install_sigterm() -> Any:
    """SIGTERM (a job scheduler's kill) ends the script through ``finally`` like Ctrl-C."""
    try:
        return signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:  # not the main thread
        return None


def _on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


def _restore_sigterm(previous: Any) -> None:
    if previous is not None:
        try:
            signal.signal(signal.SIGTERM, previous)
        except ValueError:
            pass
