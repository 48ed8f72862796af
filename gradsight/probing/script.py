"""``gradsight probe SCRIPT ARGS``: run a script up to its first optimizer step, then audit.

The script runs in this process exactly as under ``gradsight run`` (as ``__main__``, its own
``sys.argv``). When it imports torch, global hooks measure every module's forward and backward;
at the first ``optimizer.step()`` (before any update) a private ``BaseException`` ends the
script, so nothing trains: what is measured is the initialization. A script that never steps
runs to its end and everything it ran forward with gradients enabled is measured.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from ..run.after_import import AfterImport
from ..run.script import ScriptNotFound, exec_as_main as _exec_as_main, exit_code as _exit_code
from .api import with_prediction
from .result import ProbeResult


class _FirstStep(BaseException):
    """Raised from the first optimizer step's pre-hook: the probe has what it needs."""


class _ScriptProbe:
    def __init__(self) -> None:
        self.collector: Any = None
        self.optimizer: Any = None
        self._handles: list[Any] = []
        self.loss: float | None = None
        self._restore: Any = None

    def attach(self, _torch_module: Any) -> None:
        from torch.optim.optimizer import register_optimizer_step_pre_hook

        from .measure import Collector

        self.collector = Collector().start()
        self._handles.append(register_optimizer_step_pre_hook(self._pre_step))
        original = _torch_module.autograd.backward

        def backward(tensors: Any, *args: Any, **kwargs: Any) -> Any:
            # loss.backward() enters here: the loss at initialization, as ``run`` sees it
            if isinstance(tensors, _torch_module.Tensor) and tensors.numel() == 1:
                self.loss = float(tensors.detach().double())
            return original(tensors, *args, **kwargs)

        _torch_module.autograd.backward = backward
        self._restore = lambda: setattr(_torch_module.autograd, "backward", original)

    def _pre_step(self, optimizer: Any, args: Any, kwargs: Any) -> None:
        self.optimizer = optimizer
        raise _FirstStep()

    def detach(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []
        if self._restore is not None:
            self._restore()
            self._restore = None
        if self.collector is not None:
            self.collector.stop()

    def result(self, status: str, predict: bool = True) -> ProbeResult:
        if self.collector is None:
            return ProbeResult([], [], [], None, status,
                               {"note": "the script never imported torch: nothing to probe"})
        from ..adapters.torch.layout import resolve_layout, roots_among
        from .measure import predict as predict_profile

        main = sys.modules.get("__main__")
        namespace = vars(main) if main is not None else {}
        optimizers = [self.optimizer] if self.optimizer is not None else []
        layout = resolve_layout(optimizers, roots_among(self.collector.seen()), namespace)
        from .measure import param_stats
        from .store import profile_findings

        grads = {name: p.grad for name, p in layout.params.items()}
        layers = self.collector.layers(layout.module_names, layout.params, grads)
        params = param_stats(layout.params, grads, layout.module_names)
        for p in params:  # the layout knows each parameter's module
            p.module = layout.param_module.get(p.name, p.module)
        prediction = []
        root = self.collector.root() if self.collector.root is not None else None
        if predict and root is not None and self.collector.root_args is not None and layers:
            args, kwargs = self.collector.root_args
            root_names = {id(m): n for n, m in root.named_modules()}
            rename = {root_names[k]: layout.module_names[k] for k in root_names
                      if k in layout.module_names}
            measured = predict_profile(root, args, kwargs, _renamed(layers, rename, back=True))
            prediction = _renamed(measured, rename)
        owner = layout.owners[0] if len(layout.owners) == 1 else "model"
        loss = self.loss
        detail = {"stopped_at": "first optimizer step" if self.optimizer is not None
                  else "end of script (it never stepped an optimizer)"}
        label = owner if owner.isidentifier() and owner[0].islower() else None
        found = with_prediction(profile_findings(layers, params, loss, "torch", "torch", label),
                                prediction)
        return ProbeResult(layers, prediction, found, loss, status, detail)


def probe_script(script: str | Path, args: list[str] | None = None,
                 predict: bool = True) -> tuple[int, ProbeResult]:
    """Run ``script`` up to its first optimizer step; returns (exit status, result)."""
    path = Path(script)
    if not path.is_file():
        raise ScriptNotFound(f"no such script: {script} (expected a Python file to run)")
    state = _ScriptProbe()
    hook = AfterImport("torch", state.attach)
    saved_argv, saved_path = sys.argv, list(sys.path)
    status, code = "finished", 0
    try:
        hook.install()
        sys.argv = [str(script), *(args or [])]
        sys.path[0:1] = [str(path.resolve().parent)]
        _exec_as_main(path.resolve())
    except _FirstStep:
        status = "probed"
    except SystemExit as exc:
        code = _exit_code(exc)
        status = "finished" if code == 0 else "failed"
    except KeyboardInterrupt:
        status, code = "interrupted", 130
    except Exception as exc:  # the script's own error: the profile so far is still useful
        import traceback

        traceback.print_exception(type(exc), exc, exc.__traceback__)
        status, code = "crashed", 1
    finally:
        hook.remove()
        state.detach()
        sys.argv, sys.path[:] = saved_argv, saved_path
    try:
        return code, state.result(status, predict)
    finally:
        state.detach()


def _renamed(layers: list[Any], rename: dict[str, str], back: bool = False) -> list[Any]:
    """Between the root's own module names and the run's (prefixed when several models)."""
    import copy

    table = {v: k for k, v in rename.items()} if back else rename
    out = []
    for layer in layers:
        twin = copy.copy(layer)
        twin.name = table.get(layer.name, layer.name)
        out.append(twin)
    return out

