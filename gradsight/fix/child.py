"""One ``gradsight fix`` trial, in its own process: ``python -m gradsight.fix.child``.

Reads the trial (script, args, run folder, budget, repair) from ``GRADSIGHT_FIX_TRIAL`` (JSON),
installs the repair through hooks when the script imports torch, runs the script watched exactly
as ``gradsight run`` does, ends it cleanly after ``budget`` optimizer steps (before the next
update), and writes ``trial.json`` into the run folder. A fresh process per trial means every
trial starts from the same seeds (the script's own) and the same data order.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

from ..run.after_import import AfterImport
from ..run.runner import run_script
from .repairs import TrialHooks
from .space import resolve

ENV = "GRADSIGHT_FIX_TRIAL"
TRIAL_FILE = "trial.json"
LOSS_TAIL = 0.1  # the trial's loss: mean of the last 10% of its recorded losses


class _Trial:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.hooks = TrialHooks(spec.get("activations") or {})
        self.steps = 0
        self.clock: Any = None
        self.start: dict[str, Any] = {}
        self.root: Any = None

    def attach(self, torch: Any) -> None:
        from torch.optim.optimizer import register_optimizer_step_pre_hook

        if self.spec.get("repair"):
            resolve(self.spec["repair"]).install(torch, self.hooks)
        self._forward = torch.nn.modules.module.register_module_forward_pre_hook(
            self._first_forward)
        register_optimizer_step_pre_hook(self._pre_step)
        self.torch = torch

    def _first_forward(self, module: Any, args: Any) -> None:
        if not self.torch.is_grad_enabled() or not any(True for _ in module.parameters()):
            return
        self._forward.remove()
        self.root = module
        for fn in self.hooks.first_forward:
            fn(module, args, {})  # (global pre-hooks do not see keyword arguments)

    def _pre_step(self, optimizer: Any, args: Any, kwargs: Any) -> None:
        if self.clock is None:
            self.clock = optimizer
            names = {id(p): n for n, p in self.root.named_parameters()} if self.root else {}
            for group in optimizer.param_groups:
                for p in group["params"]:
                    if id(p) in names:
                        self.start[names[id(p)]] = (p, p.detach().clone())
        if optimizer is self.clock:
            if self.steps >= self.spec["budget"]:
                raise SystemExit(0)  # the budget is spent: end like a script that finished
            self.steps += 1
        for fn in self.hooks.step:
            fn(optimizer, args, kwargs)

    def weight_change(self) -> dict[str, float]:
        """Per parameter, ‖w_end − w_start‖ / ‖w_start‖ over the trial."""
        out = {}
        for name, (param, before) in self.start.items():
            base = float(before.double().norm())
            moved = float((param.detach().double() - before.double()).norm())
            out[name] = moved / base if base > 0 else moved
        return out


def main() -> int:
    spec = json.loads(os.environ[ENV])
    folder = Path(spec["out"])
    trial = _Trial(spec)
    hook = AfterImport("torch", trial.attach).install()
    started = time.perf_counter()
    try:
        code, diagnosis = run_script(spec["script"], spec.get("args") or [], out=folder)
    finally:
        hook.remove()
    seconds = time.perf_counter() - started
    problems = [f for f in diagnosis.findings if f.severity.value in ("error", "warning")]
    result = {
        "repair": spec.get("repair") or "none",
        "exit_code": code,
        "status": diagnosis.status,
        "steps": diagnosis.steps,
        "seconds": seconds,
        "findings": [f.to_dict() for f in problems],
        "loss": final_loss(folder),
        "weight_change": trial.weight_change(),
        "model": {**model_info(folder), "framework": diagnosis.framework},
    }
    (folder / TRIAL_FILE).write_text(json.dumps(result, indent=2) + "\n")
    return 0


def final_loss(folder: Path) -> float | None:
    """Mean of the last 10% of the recorded losses; None when they are not finite."""
    from ..core.run_view import RunView

    view = RunView.open(folder)
    try:
        values = view.loss.values
    finally:
        view.close()
    if len(values) == 0:
        return None
    tail = values[-max(1, int(math.ceil(len(values) * LOSS_TAIL))):]
    mean = float(sum(tail) / len(tail))
    return mean if math.isfinite(mean) else None


def model_info(folder: Path) -> dict[str, Any]:
    """What repairs need to know about the model: activations, optimizers, Linear layers."""
    from ..core.run_view import RunView

    view = RunView.open(folder)
    try:
        activations: dict[str, str | None] = {}
        optimizers: list[str] = []
        for p in view.entities("param"):
            if p.get("module") is not None and len(p.get("shape") or []) >= 2:
                activations[p.get("module")] = p.get("followed_by")
            kind = p.get("optimizer_type")
            if kind and kind not in optimizers:
                optimizers.append(kind)
        linear = sum(1 for m in view.entities("module") if m.get("type") == "Linear")
    finally:
        view.close()
    return {"activations": activations, "optimizers": optimizers, "linear_layers": linear}


if __name__ == "__main__":
    sys.exit(main())
