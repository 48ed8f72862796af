"""``gradsight run``: run a script as ``python SCRIPT ARGS`` would, watched, and diagnose it.

Adapters attach when the script imports their framework (``frameworks``). Whatever way the
script ends (normally, ``sys.exit``, an exception, Ctrl-C, SIGTERM) the diagnosis runs in
``finally``: a run that dies is the run that most needs a report. The script's own result
stands whatever happens to gradsight: its exit status is returned even when the diagnosis
fails (one line says why).

Ctrl-C while gradsight wraps up: see ``ending``.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any, Callable

from ..core.finding import Severity
from .frameworks import Attachments, RunOptions
from .script import (EXIT_INTERRUPTED, ScriptNotFound, as_main, exec_as_main, exit_code,
                     find_script, print_user_traceback)
from .ending import WrapUp
from .session import Diagnosis, Session, run_folder
from .workers import child_environment, first_failure, watch_forked_workers

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
    session = Session(run_folder(out, path.stem), every, tensorboard=tensorboard,
                      mode="run", script=str(path), argv=[str(script), *(args or [])])
    attachments = Attachments(session, RunOptions(script=path, tf1=tf1))
    saved_sigterm = _install_sigterm()
    child_env = child_environment(session.folder, every)  # worker processes are watched too
    saved_env = {key: os.environ.get(key) for key in child_env}
    os.environ.update(child_env)
    status, code, detail = "finished", 0, {}
    live = _start_live(session)
    unfork = watch_forked_workers(session, attachments)
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
        print_user_traceback(exc)
        detail = {"error": f"{type(exc).__name__}: {exc}"}
        failed = first_failure(exc)  # a worker that died: which one, by the launcher's word
        if failed is not None:
            detail["failed_process"] = failed
    finally:
        wrap_up = WrapUp()
        try:
            if live is not None:
                live.stop()
            attachments.remove()
            unfork()
            _restore_sigterm(saved_sigterm)
            for key, value in saved_env.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            diagnosis = _finish(session, status, code, detail)
            if on_diagnosis is not None:
                on_diagnosis(diagnosis)
            wrap_up.reports(session)
        finally:
            wrap_up.restore()
    return code, diagnosis


def exit_status(code: int, diagnosis: Diagnosis, fail_on: Severity | None) -> int:
    """The contract: the script's non-zero status; else 1 if ``--fail-on`` is met (or the
    diagnosis failed); else 0."""
    if code != 0:
        return code
    if fail_on is not None and (diagnosis.failure is not None or any(
            f.severity.at_least(fail_on) for f in diagnosis.findings)):
        return 1  # a diagnosis that failed cannot pass a check
    return 0


def _finish(session: Session, status: str, code: int, detail: dict[str, Any]) -> Diagnosis:
    """The session's diagnosis; a failure of gradsight's own is one line and an empty
    diagnosis, never the end of the script's result."""
    try:
        return session.finish(status, reports=False, exit_code=code, **detail)
    except Exception as exc:  # noqa: BLE001 - a bug of ours must not take the script's status
        reason = f"{type(exc).__name__}: {exc}"
        session.problem(f"could not finish the diagnosis: {reason}")
        return Diagnosis.failed(reason, session.framework, session.step, session.folder,
                                status)


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
