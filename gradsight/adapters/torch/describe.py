"""What the detectors are told about each parameter and module: ``ParamInfo``/``ModuleInfo``.

Besides shapes and optimizers, this carries the data flow seen in a forward pass: which module
consumed which module's output. That is how a detector knows a ReLU follows a layer (to advise
He init) or a batch norm does (so the layer's bias is redundant), without guessing from names.
"""

from __future__ import annotations

from typing import Mapping

import torch

from ...core import metrics as m
from ...core.records import ModuleInfo, ParamInfo, optimizer_kind
from ...core.recorder import Recorder
from .layout import Layout, activation_kind, is_transposed_linear, module_kind


def describe(
    recorder: Recorder,
    layout: Layout,
    forward_order: Mapping[int, int],
    edges: Mapping[int, set[int]],
    optimizers: Mapping[torch.optim.Optimizer, int],
    placements: Mapping[int, str] | None = None,
    functional: Mapping[int, str] | None = None,
) -> None:
    """Declare every module and parameter of ``layout`` to the recorder. ``functional``: the
    activation a module's output goes through as a function (``F.relu(self.fc1(x))``), by
    id(module): the module is described as applying it."""
    kinds: dict[str, str | None] = {}
    applies: dict[str, str] = {}
    neutral: dict[str, str] = {}
    consumers: dict[str, list[str]] = {}
    for name, ref in layout.modules.items():
        module = ref()
        if module is None:
            continue
        kinds[name] = activation_kind(module)
        neutral[name] = module_kind(module)
        if kinds[name] is None and (functional or {}).get(id(module)):
            applies[name] = (functional or {})[id(module)]
        producers = sorted(
            layout.module_names[p] for p in edges.get(id(module), ()) if p in layout.module_names
        )
        for producer in producers:
            consumers.setdefault(producer, []).append(name)
        recorder.describe(ModuleInfo(
            name, forward_order.get(id(module), len(forward_order)), type(module).__name__,
            neutral[name], kinds[name] or applies.get(name), tuple(producers),
            layout.module_owner.get(name)))
    for owner in layout.by_hand:  # told once per relayout; the detectors ask whether any was
        recorder.event(0, m.EVENT_MANUAL_OPTIMIZATION, owner, {})
    opt_of = {
        id(p): (index, type(o).__name__)
        for o, index in optimizers.items() for group in o.param_groups for p in group["params"]
    }
    lrs = {k: v for o in optimizers for k, v in learning_rates(o).items()}
    for i, (name, p) in enumerate(layout.params.items()):
        module = layout.param_module.get(name)
        feeds = consumers.get(module or "", [])
        following = [applies[module]] if module in applies else [
            kinds[c] for c in feeds if kinds.get(c)]
        ref = layout.modules.get(module) if module is not None else None
        owner_module = ref() if ref is not None else None
        index, optimizer_type = opt_of.get(id(p), (None, None))
        recorder.describe(ParamInfo(
            name, i, tuple(int(d) for d in p.shape),
            requires_grad=p.requires_grad,
            module=module,
            module_type=type(owner_module).__name__ if owner_module is not None else None,
            module_kind=neutral.get(module or "") if owner_module is not None else None,
            followed_by=following[0] if following else None,
            feeds=tuple(feeds),
            optimizer=index,
            optimizer_type=optimizer_type,
            optimizer_kind=optimizer_kind(optimizer_type),
            lr=lrs.get(id(p)),
            optimized=id(p) in layout.optimized,
            placement=(placements or {}).get(id(p)),
            # a weight stored (in, out) says its fan-in, as the TF adapters' kernels do
            fan_in=int(p.shape[0]) if owner_module is not None and p.ndim == 2
            and is_transposed_linear(owner_module) and p is owner_module.weight else None,
            dtype=str(p.dtype).removeprefix("torch."),
        ))


def learning_rates(optimizer: torch.optim.Optimizer) -> dict[int, float]:
    """Each parameter's learning rate; NaN where it is a device tensor (reading it would sync)."""
    out = {}
    for group, lr in zip(optimizer.param_groups, group_learning_rates(optimizer)):
        for p in group["params"]:
            out[id(p)] = lr
    return out


def group_learning_rates(optimizer: torch.optim.Optimizer) -> list[float]:
    """Each param group's learning rate, as a host number (NaN: a device tensor)."""
    out = []
    for group in optimizer.param_groups:
        lr = group.get("lr", float("nan"))
        if isinstance(lr, torch.Tensor):
            out.append(float(lr) if not lr.is_cuda else float("nan"))
        else:
            try:
                out.append(float(lr))
            except (TypeError, ValueError):
                out.append(float("nan"))
    return out
