"""Per-layer statistics of forward/backward passes at initialization (the torch side of probe).

A global forward pre-hook gives the forward order (and the outermost module's arguments, for
replaying the batch on a re-initialized copy); a global forward hook measures each layer's input
and output; a tensor hook on each output measures the gradient flowing back into it. Nothing
here changes a tensor the model uses.
"""

from __future__ import annotations

import copy
import math
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch import nn

from ..adapters.torch import stats as ts
from ..adapters.torch.init import fan_in_out, init_model, weight_layers
from ..adapters.torch.layout import activation_kind, is_watched_module
from .layer_stats import LayerStats, ParamStats, _ratio, _rms  # noqa: F401 (re-exported)

F64 = torch.float64
# A script that never steps may run forward for a long time: a probe of the initialization
# needs a few batches, so each module is measured on its first calls only, and output tensors
# are kept alive (for the data-flow edges) only up to a bound.
MAX_CALLS = 8
MAX_KEPT = 4096


@dataclass
class _Acc:
    module: "weakref.ref[nn.Module]"
    order: int
    calls: int = 0
    sums: list[float] = field(default_factory=lambda: [0.0] * 9)
    nonfinite: bool = False
    active: torch.Tensor | None = None
    grad_calls: int = 0
    grad_std: float = 0.0


class Collector:
    """Global hooks that measure every (or only ``only``'s) module while started."""

    def __init__(self, only: nn.Module | None = None) -> None:
        self._only = {id(m) for m in only.modules()} if only is not None else None
        self._accs: dict[int, _Acc] = {}
        self._order: dict[int, int] = {}
        self._seen: dict[int, "weakref.ref[nn.Module]"] = {}
        self._flow: dict[int, int] = {}  # id(output tensor) -> id(producer)
        self._keep: list[torch.Tensor] = []  # outputs kept alive so ids stay unique
        self.edges: dict[int, set[int]] = {}
        self.root: "weakref.ref[nn.Module] | None" = None
        self.root_args: tuple[Any, Any] | None = None
        self._handles: list[Any] = []

    def start(self) -> "Collector":
        self._handles = [
            nn.modules.module.register_module_forward_pre_hook(self._pre),
            nn.modules.module.register_module_forward_hook(self._post),
        ]
        return self

    def stop(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []
        self._keep = []

    def modules(self) -> list[nn.Module]:
        """Measured modules still alive, in forward order."""
        out = []
        for acc in sorted(self._accs.values(), key=lambda a: a.order):
            module = acc.module()
            if module is not None:
                out.append(module)
        return out

    def seen(self) -> list[nn.Module]:
        """Every module called forward (containers too), in forward order."""
        return [m for m in (ref() for ref in self._seen.values()) if m is not None]

    def _wanted(self, module: nn.Module) -> bool:
        return torch.is_grad_enabled() and (self._only is None or id(module) in self._only)

    def _pre(self, module: nn.Module, args: Any, kwargs: Any = None) -> None:
        if not self._wanted(module):
            return
        if id(module) not in self._order:
            self._order[id(module)] = len(self._order)
            self._seen[id(module)] = weakref.ref(module)
        if self.root is None and any(True for _ in module.parameters()):
            self.root = weakref.ref(module)
            self.root_args = (_detached(args), _detached(kwargs or {}))

    def _post(self, module: nn.Module, inputs: Any, output: Any) -> None:
        if not self._wanted(module) or not is_watched_module(module):
            return
        key = id(module)
        acc = self._accs.get(key)
        if acc is None:
            acc = self._accs[key] = _Acc(weakref.ref(module), self._order.get(key, 10**9))
        first = inputs[0] if inputs and isinstance(inputs[0], torch.Tensor) else None
        if first is not None and id(first) in self._flow:
            self.edges.setdefault(key, set()).add(self._flow[id(first)])
        if not isinstance(output, torch.Tensor) or not output.is_floating_point():
            return
        if acc.calls >= MAX_CALLS:
            return
        if len(self._keep) < MAX_KEPT:
            self._flow[id(output)] = key
            self._keep.append(output)
        family = activation_kind(module)
        out_v = ts.activation_vector(output, family)
        if first is not None and first.is_floating_point():
            in_v = ts.activation_vector(first, None)[:2]
        else:
            in_v = torch.full((2,), math.nan, dtype=F64)
        values = torch.cat([in_v.to(F64).cpu(), out_v.cpu()]).tolist()
        in_mean, in_std, mean, std, zero, bad, sat = values[:7]
        acc.calls += 1
        for i, v in enumerate((in_mean, in_std, _rms(in_mean, in_std), mean, std,
                               _rms(mean, std), zero, sat)):
            acc.sums[i] += v
        acc.nonfinite = acc.nonfinite or bad > 0 or not math.isfinite(std)
        if family == "relu":
            units = ts.active_units(output)
            acc.active = units if acc.active is None or acc.active.shape != units.shape else (
                acc.active | units)
        if output.requires_grad:
            output.register_hook(lambda grad, acc=acc: self._on_grad(acc, grad))

    def _on_grad(self, acc: _Acc, grad: torch.Tensor) -> None:
        acc.grad_calls += 1
        acc.grad_std += float(ts.activation_vector(grad, None)[1])

    def layers(self, names: dict[int, str], params: dict[str, torch.Tensor],
               grads: dict[str, torch.Tensor | None]) -> list[LayerStats]:
        """The measured modules as ``LayerStats``, named by ``names`` (id(module) -> name)."""
        out = []
        kinds = {k: activation_kind(a.module()) for k, a in self._accs.items()
                 if a.module() is not None}
        for key, acc in sorted(self._accs.items(), key=lambda kv: kv[1].order):
            module = acc.module()
            if module is None or key not in names or acc.calls == 0:
                continue
            n = acc.calls
            s = [v / n for v in acc.sums]
            layer = LayerStats(
                names[key] or type(module).__name__, type(module).__name__, acc.order,
                activation=kinds.get(key), in_mean=s[0], in_std=s[1], in_rms=s[2],
                out_mean=s[3], out_std=s[4], out_rms=s[5], zero_frac=s[6],
                nonfinite=acc.nonfinite,
            )
            if layer.activation in ("tanh", "sigmoid"):
                layer.saturated_frac = s[7]
            if acc.active is not None:
                layer.dead_frac = float(1 - acc.active.to(F64).mean())
            if acc.grad_calls:
                layer.out_grad_std = acc.grad_std / acc.grad_calls
            consumers = [c for c, producers in self.edges.items() if key in producers]
            following = [kinds.get(c) for c in sorted(consumers, key=self._order.get)
                         if kinds.get(c)]
            layer.followed_by = following[0] if following else None
            _add_weight(layer, module, names[key], params, grads)
            out.append(layer)
        return out


def _add_weight(layer: LayerStats, module: nn.Module, mname: str,
                params: dict[str, torch.Tensor], grads: dict[str, torch.Tensor | None]) -> None:
    prefix = f"{mname}." if mname else ""
    layer.params = [prefix + p for p, v in module._parameters.items() if v is not None]
    if not any(m is module for _, m in weight_layers(module)):
        return
    wname = next((p for p, v in module._parameters.items() if v is not None and v.ndim >= 2))
    layer.weight = prefix + wname
    layer.recurrent = wname.startswith("weight_hh")
    w = module._parameters[wname]
    assert w is not None
    with torch.no_grad():
        wd = w.detach().to(F64)
        layer.weight_std = float(wd.std()) if wd.numel() > 1 else float(wd.abs().mean())
        layer.fan_in, layer.fan_out = fan_in_out(w)
        g = grads.get(layer.weight)
        if g is not None:
            gd = g.detach().to(F64)
            layer.grad_std = float(gd.std()) if gd.numel() > 1 else float(gd.abs().mean())
            layer.grad_to_weight = _ratio(float(gd.norm()), float(wd.norm()))


def param_stats(params: dict[str, torch.Tensor], grads: dict[str, torch.Tensor | None],
                module_names: dict[int, str], root: nn.Module | None = None) -> list[ParamStats]:
    """Each parameter's norm and its gradient's (None: it got none), and its module."""
    owner: dict[int, str] = {}
    modules = root.named_modules() if root is not None else ()
    for mname, module in modules:
        for p in module._parameters.values():
            if p is not None:
                owner.setdefault(id(p), mname)
    out = []
    with torch.no_grad():
        for name, p in params.items():
            g = grads.get(name)
            module = owner.get(id(p), name.rsplit(".", 1)[0] if "." in name else "")
            out.append(ParamStats(
                name, tuple(int(d) for d in p.shape), module,
                float(torch.linalg.vector_norm(p.detach(), dtype=F64)),
                float(torch.linalg.vector_norm(g.detach(), dtype=F64)) if g is not None else None,
                bool(p.requires_grad)))
    return out


def names_of(model: nn.Module) -> tuple[dict[int, str], dict[str, torch.Tensor]]:
    names = {id(m): n for n, m in model.named_modules()}
    return names, dict(model.named_parameters())


def measure(model: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any],
            loss_fn: Callable[[Any], torch.Tensor] | None
            ) -> tuple[list[LayerStats], list[ParamStats], float | None]:
    """One forward (and backward) of ``model`` on the batch; the model is left as it was.

    Gradients come from ``torch.autograd.grad`` (``.grad`` is not touched). Without a loss the
    backward pass starts from a unit-normal output gradient from a private generator, which
    shows how the gradient scale changes with depth just the same. Buffers (batch-norm running
    statistics) and the global RNG state are restored afterwards.
    """
    buffers = [(b, b.detach().clone()) for b in model.buffers()]
    collector = Collector(only=model).start()
    loss_value = None
    try:
        with torch.random.fork_rng(devices=_devices(model)), torch.enable_grad():
            output = model(*args, **kwargs)
            params = [p for p in model.parameters() if p.requires_grad]
            tensor_out = _first_tensor(output)
            target = None
            if loss_fn is not None:
                target = loss_fn(output)
                loss_value = float(target.detach())
                grad_out = None
            elif tensor_out is not None and tensor_out.requires_grad:
                gen = torch.Generator().manual_seed(0)
                grad_out = torch.randn(tensor_out.shape, generator=gen, dtype=tensor_out.dtype)
                target = tensor_out
                grad_out = grad_out.to(tensor_out.device)
            grads: list[torch.Tensor | None] = [None] * len(params)
            if target is not None and params and target.requires_grad:
                grads = list(torch.autograd.grad(target, params, grad_outputs=grad_out,
                                                 allow_unused=True))
    finally:
        collector.stop()
        with torch.no_grad():
            for buffer, saved in buffers:
                buffer.copy_(saved)
    names, named = names_of(model)
    by_name = {n: g for (n, p), g in zip(
        [(n, p) for n, p in named.items() if p.requires_grad], grads)}
    return (collector.layers(names, named, by_name), param_stats(named, by_name, names, model),
            loss_value)


def predict(model: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any],
            layers: list[LayerStats],
            loss_fn: Callable[[Any], torch.Tensor] | None = None) -> list[LayerStats]:
    """Measure a copy of ``model`` re-initialized as recommended per layer, on the same batch."""
    clone = copy.deepcopy(model)
    activations = {layer.name: layer.followed_by for layer in layers}
    init_model(clone, "auto", activations)
    measured, _, _ = measure(clone, args, kwargs, loss_fn)
    return measured


def _devices(model: nn.Module) -> list[int]:
    return sorted({p.device.index or 0 for p in model.parameters() if p.device.type == "cuda"})


def _first_tensor(output: Any) -> torch.Tensor | None:
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, (list, tuple)):
        for item in output:
            found = _first_tensor(item)
            if found is not None:
                return found
    if isinstance(output, dict):
        for item in output.values():
            found = _first_tensor(item)
            if found is not None:
                return found
    return None


def _detached(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.detach()
    if isinstance(value, tuple):
        return tuple(_detached(v) for v in value)
    if isinstance(value, list):
        return [_detached(v) for v in value]
    if isinstance(value, dict):
        return {k: _detached(v) for k, v in value.items()}
    return value
