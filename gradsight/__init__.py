"""gradsight: why isn't my network learning?

Watches training (``gradsight run train.py`` or ``gradsight.watch(model, optimizer)``), then
diagnoses per layer what stops it from learning and what to change. Importing this package
imports no deep-learning framework.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .core.finding import Finding, Severity

__version__ = "0.1.0"
__all__ = ["watch", "run_script", "load_run", "probe", "Finding", "Severity"]

if TYPE_CHECKING:
    from .probing.api import probe
    from .core.diagnosis import diagnose_folder as load_run
    from .run.runner import run_script
    from .run.watch import watch


def __getattr__(name: str) -> Any:
    # Lazy: these pull in the store and detectors (numpy), not any framework.
    if name == "watch":
        from .run.watch import watch

        return watch
    if name == "run_script":
        from .run.runner import run_script

        return run_script
    if name == "load_run":
        from .core.diagnosis import diagnose_folder

        return diagnose_folder
    if name == "probe":
        from .probing.api import probe

        return probe
    raise AttributeError(f"module 'gradsight' has no attribute {name!r}")
