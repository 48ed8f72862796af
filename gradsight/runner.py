"""``gradsight run``: run a script as ``python SCRIPT ARGS`` would, watched, and diagnose it.

The script runs in this process as ``__main__`` with its own ``sys.argv`` and its folder first
on ``sys.path``. Adapters attach when the script imports their framework. Whatever way the
script ends (normally, ``sys.exit``, an exception, Ctrl-C, SIGTERM) the diagnosis runs in
``finally``: a run that dies is the run that most needs a report.
"""

from __future__ import annotations

import builtins
import os
import shutil
import signal
import sys
import tokenize
import traceback
import types
from pathlib import Path
from typing import Any, Callable

from ._after_import import AfterImport
from .core.finding import Severity
from .processes import child_environment
from .session import Diagnosis, Session, default_folder

EXIT_INTERRUPTED = 130  # what a shell reports for a Ctrl-C'd program


class ScriptNotFound(Exception):
    pass


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
    default decided from the script's source (``adapters.tf.tf1_mode``).
    """
    path = _find_script(script)
    session = Session(out or default_folder(path.stem), every, tensorboard=tensorboard,
                      mode="run", script=str(path), argv=[str(script), *(args or [])])
    tf_attachment = _tf_attachment(session, path, tf1)
    hooks = [AfterImport("torch", lambda _module: _attach_torch(session)),
             AfterImport("tensorflow", tf_attachment), AfterImport("keras", tf_attachment)]
    saved_argv, saved_path = sys.argv, list(sys.path)
    saved_sigterm = _install_sigterm()
    child_env = child_environment(session.folder, every)  # worker processes are watched too
    saved_env = {key: os.environ.get(key) for key in child_env}
    os.environ.update(child_env)
    status, code, detail = "finished", 0, {}
    live = _start_live(session)
    try:
        for hook in hooks:
            hook.install()
        sys.argv = [str(script), *(args or [])]  # argv[0] exactly as typed, like python
        # python puts the script's folder first on sys.path *instead of* its own entry
        # (the cwd under `python -m`, the venv's bin under the console script)
        sys.path[0:1] = [str(path.resolve().parent)]
        _exec_as_main(path.resolve())
    except SystemExit as exc:
        code = _exit_code(exc)
        status = "finished" if code == 0 else "failed"
    except KeyboardInterrupt:
        status, code = "interrupted", EXIT_INTERRUPTED
        print("\nKeyboardInterrupt", file=sys.stderr)
    except BaseException as exc:  # the script's own error: show it as Python would
        status, code = "crashed", 1
        traceback.print_exception(type(exc), exc, _user_frames(exc.__traceback__))
        detail = {"error": f"{type(exc).__name__}: {exc}"}
    finally:
        if live is not None:
            live.stop()
        for hook in hooks:
            hook.remove()
        tf_attachment.restore()
        sys.argv, sys.path[:] = saved_argv, saved_path
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


def _find_script(script: str | Path) -> Path:
    """The script's path; a name that is no file but a Python program on ``PATH``
    (``torchrun``, ``accelerate``) is run from there, so ``gradsight run torchrun ...`` works."""
    path = Path(script)
    if path.is_file():
        return path
    found = shutil.which(str(script)) if os.sep not in str(script) else None
    if found is not None:
        with open(found, "rb") as head:
            first = head.readline(200)
        if first.startswith(b"#!") and b"python" in first:
            return Path(found)
    raise ScriptNotFound(f"no such script: {script} (expected a Python file to run)")


def _start_live(session: Session) -> Any:
    """The one-line live status on stderr, only when stderr is a terminal (not piped, not CI)."""
    from .reports.live import LiveStatus

    def step() -> int:
        return max((a.step for a in list(session.adapters)), default=0)

    return LiveStatus.start_if_terminal(session.store.path, step)


def _exec_as_main(path: Path) -> None:
    """What ``python SCRIPT`` does: a fresh ``__main__`` module, absolute ``__file__``.

    (``runpy.run_path`` would also rewrite ``sys.argv[0]``, which must stay as typed.)
    """
    with tokenize.open(path) as source:  # honours a coding declaration, like python
        code = compile(source.read(), str(path), "exec")
    main = types.ModuleType("__main__")
    main.__dict__.update(__file__=str(path), __builtins__=builtins, __spec__=None,
                         __cached__=None, __loader__=None)
    saved = sys.modules.get("__main__")
    sys.modules["__main__"] = main
    try:
        exec(code, main.__dict__)
    finally:
        if saved is not None:
            sys.modules["__main__"] = saved


def exit_status(code: int, diagnosis: Diagnosis, fail_on: Severity | None) -> int:
    """The contract: the script's non-zero status; else 1 if ``--fail-on`` is met; else 0."""
    if code != 0:
        return code
    if fail_on is not None and any(f.severity.at_least(fail_on) for f in diagnosis.findings):
        return 1
    return 0


def _attach_torch(session: Session) -> None:
    from .adapters.torch import TorchWatcher

    def script_globals() -> dict[str, Any]:  # read when needed: the script is __main__ then
        main = sys.modules.get("__main__")
        return vars(main) if main is not None else {}

    watcher = TorchWatcher(session.recorder, namespace=script_globals)
    session.attach(watcher.start())


def _tf_attachment(session: Session, path: Path, tf1: bool | None) -> Any:
    from .adapters.tf import TFAttachment, tf1_mode  # imports no TensorFlow

    if tf1 is None:
        with tokenize.open(path) as source:
            tf1 = tf1_mode(source.read())
    return TFAttachment(session, tf1)


def _exit_code(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    print(exc.code, file=sys.stderr)
    return 1


def _user_frames(tb: Any) -> Any:
    """Skip gradsight's own frames so the traceback starts in the user's script."""
    while tb is not None and _is_ours(tb.tb_frame.f_code.co_filename):
        tb = tb.tb_next
    return tb


def _is_ours(filename: str) -> bool:
    here = os.path.dirname(os.path.abspath(__file__))
    return filename.startswith(here)


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
