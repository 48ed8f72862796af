"""Running a script as ``python SCRIPT ARGS`` would: shared by ``run``, ``probe`` and ``fix``.

The script runs in this process as a fresh ``__main__`` with its own ``sys.argv`` (``argv[0]``
exactly as typed) and its folder first on ``sys.path`` *instead of* this program's entry, as
python itself does; everything is put back afterwards.
"""

from __future__ import annotations

import builtins
import os
import shutil
import sys
import tokenize
import traceback
import types
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

EXIT_INTERRUPTED = 130  # what a shell reports for a Ctrl-C'd program
_HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the gradsight package


class ScriptNotFound(Exception):
    pass


def find_script(script: str | Path) -> Path:
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


@contextmanager
def as_main(script: str | Path, path: Path, args: list[str] | None) -> Iterator[None]:
    """``sys.argv`` and ``sys.path`` as the script expects them, restored afterwards."""
    saved_argv, saved_path = sys.argv, list(sys.path)
    sys.argv = [str(script), *(args or [])]
    sys.path[0:1] = [str(path.resolve().parent)]
    try:
        yield
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path


def exec_as_main(path: Path) -> None:
    """What ``python SCRIPT`` does: a fresh ``__main__`` module, absolute ``__file__``.

    (``runpy.run_path`` would also rewrite ``sys.argv[0]``, which must stay as typed.)
    """
    path = path.resolve()
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


def exit_code(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    print(exc.code, file=sys.stderr)
    return 1


def print_user_traceback(exc: BaseException) -> None:
    """The script's exception on stderr as Python shows it, without gradsight's frames: the
    runner's own, and those of the wrappers (around ``backward()``, ``step()``) the error
    passed through on its way up (also in chained exceptions)."""
    report = traceback.TracebackException.from_exception(exc)
    for part in _chain(report):
        part.stack = traceback.StackSummary.from_list(
            [frame for frame in part.stack if not _ours(frame.filename)])
    sys.stderr.write("".join(report.format()))


def _chain(report: traceback.TracebackException) -> Iterator[traceback.TracebackException]:
    seen: set[int] = set()
    todo = [report]
    while todo:
        part = todo.pop()
        if id(part) in seen:
            continue
        seen.add(id(part))
        yield part
        todo += [p for p in (part.__cause__, part.__context__) if p is not None]
        todo += list(getattr(part, "exceptions", None) or [])  # an ExceptionGroup's


def _ours(filename: str) -> bool:
    return filename.startswith(_HERE + os.sep)
