"""The one table of how gradsight attaches to each framework.

``gradsight run``, the worker processes it watches and ``gradsight.watch`` all read it: a new
framework is one row here and one adapter package. Each row says which imports mean a script
uses the framework (gradsight attaches when the import finishes, so it never imports a
framework the script does not), how to attach zero-code to a whole process, and how to watch
one model the user hands over.
"""

from __future__ import annotations

import sys
import tokenize
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

from .after_import import AfterImport
from .session import Session


@dataclass(frozen=True)
class Framework:
    name: str
    modules: tuple[str, ...]  # an import of any of these attaches
    attach: Callable[[Session, "RunOptions"], Callable[[ModuleType], None]]
    owns: Callable[[Any], bool]  # is this object one of its models?
    watch: Callable[[Session, Any, Any], Any]  # an adapter for one model (and optimizer)


@dataclass(frozen=True)
class RunOptions:
    script: Path | None = None
    tf1: bool | None = None  # TensorFlow as TF1: None decides from the script's source


def _torch_attach(session: Session, options: RunOptions) -> Callable[[ModuleType], None]:
    handles: list[Any] = []  # torch's global hooks gradsight added: removed by ``restore``

    def attach(_module: ModuleType) -> None:
        from ..adapters.torch.distributed import note_job_at_first_step
        from ..adapters.torch.watcher import TorchWatcher

        def script_globals() -> dict[str, Any]:  # read when needed: the script is __main__
            main = sys.modules.get("__main__")
            return vars(main) if main is not None else {}

        session.attach(TorchWatcher(session.recorder, namespace=script_globals).start())
        handles.append(note_job_at_first_step(session.store.set_meta))  # a job's rank?

    def restore() -> None:
        while handles:
            handles.pop().remove()

    attach.restore = restore  # type: ignore[attr-defined]
    return attach


def _torch_owns(model: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(model, torch.nn.Module)


def _torch_watch(session: Session, model: Any, optimizer: Any) -> Any:
    from ..adapters.torch.watcher import TorchWatcher

    return TorchWatcher(session.recorder, model=model, optimizer=optimizer).start()


def _tf_attach(session: Session, options: RunOptions) -> Callable[[ModuleType], None]:
    from ..adapters.tf_common import TFAttachment, tf1_mode  # imports no TensorFlow

    tf1 = options.tf1
    if tf1 is None and options.script is not None:
        with tokenize.open(options.script) as source:
            tf1 = tf1_mode(source.read())
    return TFAttachment(session, bool(tf1))


def _keras_owns(model: Any) -> bool:
    keras = sys.modules.get("keras")
    return keras is not None and isinstance(model, keras.Model)


def _keras_watch(session: Session, model: Any, optimizer: Any) -> Any:
    from ..adapters.keras.watcher import KerasWatcher
    from ..adapters.tf_common import TFWatcher

    watcher = TFWatcher()
    watcher.add(KerasWatcher(session.recorder, model=model, optimizer=optimizer))
    return watcher


FRAMEWORKS = (
    Framework("torch", ("torch",), _torch_attach, _torch_owns, _torch_watch),
    Framework("tensorflow", ("tensorflow", "keras"), _tf_attach, _keras_owns, _keras_watch),
)


class Attachments:
    """The import hooks that attach every framework of FRAMEWORKS to a session."""

    def __init__(self, session: Session, options: RunOptions,
                 only: tuple[str, ...] | None = None) -> None:
        self._hooks: list[AfterImport] = []
        self._callbacks: list[Any] = []
        for framework in FRAMEWORKS:
            if only is not None and framework.name not in only:
                continue
            callback = framework.attach(session, options)
            self._callbacks.append(callback)
            self._hooks += [AfterImport(name, callback) for name in framework.modules]

    def install(self) -> "Attachments":
        for hook in self._hooks:
            hook.install()
        return self

    def remove(self) -> None:
        for hook in self._hooks:
            hook.remove()
        for callback in self._callbacks:
            restore = getattr(callback, "restore", None)
            if restore is not None:
                restore()


def adapter_for(session: Session, model: Any, optimizer: Any) -> Any:
    """The adapter that watches ``model`` (``gradsight.watch``)."""
    for framework in FRAMEWORKS:
        if framework.owns(model):
            return framework.watch(session, model, optimizer)
    raise TypeError(
        f"gradsight.watch got a {type(model).__module__}.{type(model).__name__}; expected a "
        "torch.nn.Module or a keras.Model.")
