"""Run a callback right after a module finishes importing, without importing it ourselves.

This is how ``gradsight run`` attaches the PyTorch adapter only if the script imports torch,
so that ``import gradsight`` stays fast and a TensorFlow-only script never loads torch.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
from types import ModuleType
from typing import Callable


class AfterImport(importlib.abc.MetaPathFinder):
    """A ``sys.meta_path`` entry that wraps one module's loader to call ``callback`` after it.

    >>> hook = AfterImport("json", lambda module: None)  # doctest: +SKIP
    """

    def __init__(self, name: str, callback: Callable[[ModuleType], None]) -> None:
        self.name = name
        self.callback = callback
        self._busy = False

    def install(self) -> "AfterImport":
        module = sys.modules.get(self.name)
        if module is not None:  # already imported: nothing to wait for
            self.callback(module)
        else:
            sys.meta_path.insert(0, self)
        return self

    def remove(self) -> None:
        if self in sys.meta_path:
            sys.meta_path.remove(self)

    def find_spec(self, fullname, path=None, target=None):  # type: ignore[no-untyped-def]
        if fullname != self.name or self._busy:
            return None
        self._busy = True
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            self._busy = False
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        original = spec.loader.exec_module
        hook = self

        def exec_module(module: ModuleType) -> None:
            original(module)
            # Only now, once: a spec that was looked up but never executed (TensorFlow probes
            # for keras with importlib.util.find_spec) or an import that failed (and may be
            # retried) leaves the hook waiting for the import that succeeds.
            if hook in sys.meta_path:
                hook.remove()
                hook.callback(module)

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec
