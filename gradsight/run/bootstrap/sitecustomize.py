"""Start-up hook for the worker processes of a script run by ``gradsight run``.

This folder is put first on ``PYTHONPATH`` (see ``gradsight/run/workers.py``), so every child
interpreter imports this module at start-up. It arranges for the child to be watched if it
imports torch, then runs the ``sitecustomize`` this one shadows, if there is one. Any failure
leaves the child exactly as it would be without gradsight.
"""

import os as _os
import sys as _sys


def _watch() -> None:
    try:
        from gradsight.run.workers import attach_child

        attach_child()
    except Exception:
        pass


def _chain() -> None:
    """Run the next ``sitecustomize`` on the path, as Python would have without us."""
    import importlib.machinery
    import importlib.util

    here = _os.path.dirname(_os.path.abspath(__file__))
    rest = [p for p in _sys.path if _os.path.abspath(p or ".") != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    _sys.modules["sitecustomize"] = module
    spec.loader.exec_module(module)


if _os.environ.get("GRADSIGHT_PROCESSES"):
    _watch()
try:
    _chain()
except Exception as _exc:  # the shadowed file's own error, reported as Python would
    print(f"Error in sitecustomize; set PYTHONVERBOSE for traceback:\n{_exc!r}", file=_sys.stderr)
