"""gradsight: why isn't my network learning?

Watches training (``gradsight run train.py`` or ``gradsight.watch(model, optimizer)``), then
diagnoses per layer what stops it from learning and what to change. Importing this package
imports no deep-learning framework: every name below loads on first use.

>>> import gradsight
>>> gradsight.Severity("error").at_least(gradsight.Severity.WARNING)
True
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .core.finding import Finding, Severity

__version__ = "0.1.0"
__all__ = ["watch", "run_script", "load_run", "probe", "check", "Finding", "Severity"]

# name -> (module, attribute); attribute None: the module itself (``gradsight.keras``, ...),
# which imports its framework, so it loads only when asked for.
_LAZY: dict[str, tuple[str, str | None]] = {
    "watch": (".run.watch", "watch"),
    "run_script": (".run.runner", "run_script"),
    "load_run": (".reports.notebook", "load_run"),
    "probe": (".probing.api", "probe"),
    "check": (".step_check", "check"),  # not .check: the module would shadow the function
    "keras": (".keras", None),
    "lightning": (".lightning", None),
    "hf": (".hf", None),
}

if TYPE_CHECKING:
    from . import hf, keras, lightning
    from .step_check import check
    from .reports.notebook import load_run
    from .probing.api import probe
    from .run.runner import run_script
    from .run.watch import watch


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'gradsight' has no attribute {name!r}")
    module_name, attribute = _LAZY[name]
    module = importlib.import_module(module_name, __name__)
    return module if attribute is None else getattr(module, attribute)


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
