"""Who owns which parameter, and what it is called.

Names follow the contract: ``named_parameters()`` / ``named_modules()`` of the model that owns
the optimized parameters. In zero-code mode that model is discovered, not given: it is a *root*
module (one called in a forward pass that no other called module contains) holding at least one
parameter some optimizer steps. A parameter that optimizers step before any module holding it
was called (the forward inside ``optimizer.step(closure)``: Lightning, LBFGS) names its owner
from the live modules (``live_owners``), never an anonymous optimizer slot that a later layout
would rename. One parameter is one entity: a wrapper that exposes the model twice is looked
through (``unwrap``).
"""

from __future__ import annotations

import gc
import sys
import weakref
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

import torch
from torch import nn

from ...core import records

# Activation modules by family: what "dead" or "saturated" means depends on the family.
RELU_FAMILY: tuple[type[nn.Module], ...] = (nn.ReLU, nn.ReLU6, nn.RReLU, nn.Threshold)
SATURATING: dict[type[nn.Module], str] = {
    nn.Tanh: "tanh", nn.Sigmoid: "sigmoid", nn.Hardtanh: "tanh", nn.Hardsigmoid: "sigmoid",
    nn.Softsign: "tanh", nn.LogSigmoid: "logsigmoid",
}
OTHER_ACTIVATIONS: dict[type[nn.Module], str] = {
    nn.LeakyReLU: "leaky_relu", nn.ELU: "elu", nn.SELU: "selu", nn.GELU: "gelu",
    nn.SiLU: "silu", nn.Mish: "mish", nn.PReLU: "leaky_relu", nn.Softplus: "softplus",
    nn.CELU: "elu",
}
NORMALIZATION = (
    nn.modules.batchnorm._BatchNorm, nn.GroupNorm, nn.LayerNorm,
    nn.modules.instancenorm._InstanceNorm,
)


_KINDS: tuple[tuple[tuple[type[nn.Module], ...], str], ...] = (
    ((nn.modules.batchnorm._BatchNorm,), records.BATCH_NORM),
    ((nn.LayerNorm,), records.LAYER_NORM),
    ((nn.GroupNorm, nn.modules.instancenorm._InstanceNorm, *(
        (nn.RMSNorm,) if hasattr(nn, "RMSNorm") else ())), records.OTHER_NORM),
    ((nn.Embedding, nn.EmbeddingBag), records.EMBEDDING),
    ((nn.RNNBase, nn.RNNCellBase), records.RECURRENT),
    ((nn.modules.conv._ConvNd,), records.CONV),
    ((nn.Linear, nn.Bilinear), records.LINEAR),
    ((nn.MultiheadAttention,), records.ATTENTION),
)


def is_transposed_linear(module: nn.Module) -> bool:
    """A linear layer whose weight is stored (in, out): Hugging Face's ``Conv1D`` (GPT-2's
    attention and MLP projections), known by its ``nf`` output width, not by importing it."""
    weight = getattr(module, "weight", None)
    return (type(module).__name__ == "Conv1D" and isinstance(weight, torch.Tensor)
            and weight.ndim == 2 and getattr(module, "nf", None) == weight.shape[1])


def module_kind(module: nn.Module) -> str:
    """The framework-neutral kind of a module (``records.LINEAR``, ``records.CONV``, ...)."""
    if is_transposed_linear(module):
        return records.LINEAR
    for classes, kind in _KINDS:
        if isinstance(module, classes):
            return kind
    if activation_kind(module) is not None:
        return records.ACTIVATION
    return records.OTHER


def activation_kind(module: nn.Module) -> str | None:
    """``relu``, ``tanh``, ``sigmoid``, ... for activation modules, else ``None``."""
    if isinstance(module, RELU_FAMILY):
        return "relu"
    for table in (SATURATING, OTHER_ACTIVATIONS):
        for cls, kind in table.items():
            if isinstance(module, cls):
                return kind
    return None


# Parameter-free leaves that only move, drop or pool values: their statistics repeat their
# neighbours' (a Flatten is a view of the pool before it) and cost as much to compute.
STRUCTURAL = (
    nn.Flatten, nn.Unflatten, nn.Identity, nn.modules.dropout._DropoutNd,
    nn.modules.pooling._MaxPoolNd, nn.modules.pooling._AvgPoolNd,
    nn.modules.pooling._AdaptiveMaxPoolNd, nn.modules.pooling._AdaptiveAvgPoolNd,
)


def is_watched_module(module: nn.Module) -> bool:
    """Leaves and modules with their own parameters: the layers a person thinks in."""
    if module._parameters:
        return True
    return not module._modules and not isinstance(module, STRUCTURAL)


@dataclass
class Layout:
    """Names and ownership resolved at one moment; rebuilt when the parameter set changes."""

    param_names: dict[int, str] = field(default_factory=dict)  # id(param) -> name
    params: dict[str, torch.Tensor] = field(default_factory=dict)  # name -> param (tracked)
    param_module: dict[str, str] = field(default_factory=dict)  # param name -> module name
    module_names: dict[int, str] = field(default_factory=dict)  # id(module) -> name
    modules: dict[str, "weakref.ref[nn.Module]"] = field(default_factory=dict)
    optimized: set[int] = field(default_factory=set)  # id(param) of every optimized param
    owners: list[str] = field(default_factory=list)  # labels of the owning models
    module_owner: dict[str, str] = field(default_factory=dict)  # module name -> owner label
    by_hand: list[str] = field(default_factory=list)  # owners optimizing by hand (Lightning)
    signature: tuple[int, ...] = ()

    def name_of(self, param: torch.Tensor) -> str | None:
        return self.param_names.get(id(param))


def optimizer_params(optimizer: torch.optim.Optimizer) -> list[torch.Tensor]:
    return [p for group in optimizer.param_groups for p in group["params"]]


def roots_among(seen: Iterable[nn.Module]) -> list[nn.Module]:
    """Modules from ``seen`` that no other module in ``seen`` contains, in ``seen``'s order."""
    seen = list(seen)
    inner: set[int] = set()
    for module in seen:
        for child in module.modules():
            if child is not module:
                inner.add(id(child))
    return [m for m in seen if id(m) not in inner]


def live_owners(wanted: set[int]) -> list[nn.Module]:
    """The outermost live modules holding any parameter in ``wanted`` (ids).

    For parameters an optimizer steps before any module holding them was called: a closure
    that runs the forward inside ``optimizer.step(closure)`` (Lightning's automatic
    optimization, LBFGS), or a model whose forward is not a module call (a LightningModule's
    ``training_step`` calls its layers, never itself). One pass over the garbage collector's
    objects, done only while such parameters exist.
    """
    # type(), not isinstance(): a weakref.proxy of a module passes isinstance
    modules = [o for o in gc.get_objects() if issubclass(type(o), nn.Module)]
    holding = [m for m in modules
               if any(id(p) in wanted for p in m._parameters.values() if p is not None)]
    if not holding:
        return []
    return [m for m in roots_among(modules)
            if any(id(p) in wanted for p in m.parameters())]


# Frames of a module call in progress: torch's call of any module, a ``forward``, and Lightning's
# ``training_step`` (what its trainer runs in place of the LightningModule's forward).
RUNNING_FRAMES = ("_call_impl", "forward", "training_step")
MAX_FRAMES = 512


def running_modules() -> list[nn.Module]:
    """Modules whose call is in progress on this thread's stack, outermost first.

    A forward hook sees a module only when its call returns, so an optimizer stepped inside a
    call (a DDP wrapper whose forward runs a whole training step: Lightning's manual
    optimization, whose ``training_step`` calls ``self.layer(x)``, ``backward`` and
    ``opt.step()``) would otherwise be named after the layer it called, not after the model
    that holds it. Read only when the layout is resolved, never per step."""
    found: list[nn.Module] = []
    frame = sys._getframe(1)
    for _ in range(MAX_FRAMES):
        if frame is None:
            break
        code = frame.f_code  # a method's first argument; f_locals only then (it builds a dict)
        if code.co_name in RUNNING_FRAMES and code.co_argcount and \
                code.co_varnames[0] == "self":
            candidate = frame.f_locals.get("self")
            if issubclass(type(candidate), nn.Module) and all(candidate is not m for m in found):
                found.append(candidate)
        frame = frame.f_back
    return found[::-1]


def unwrap(model: nn.Module) -> nn.Module:
    """The model inside wrappers that expose it twice (Lightning Fabric's ``_FabricModule``
    registers it as ``_forward_module`` and ``_original_module``; with DDP, once bare and once
    inside the DDP wrapper): a parameter seen through two owners is one entity, named by the
    module that holds it plainly. A model that registers one submodule once keeps its names."""
    while not model._parameters or not any(True for p in model._parameters.values()
                                           if p is not None):
        paths: dict[int, int] = {}
        for _, module in model.named_modules(remove_duplicate=False):
            paths[id(module)] = paths.get(id(module), 0) + 1
        mine = {id(p) for p in model.parameters()}
        inner = next((child for child in dict.fromkeys(model.children())
                      if paths.get(id(child), 0) > 1
                      and {id(p) for p in child.parameters()} == mine), None)
        if inner is None or not mine:
            return model
        model = inner
    return model


def optimizes_by_hand(module: nn.Module) -> bool:
    """A LightningModule with ``automatic_optimization`` off (told by its class's lineage, so
    Lightning need not be imported): its training_step calls the optimizers itself, and only
    ``self.manual_backward(loss)`` lets a DDP strategy average the gradients."""
    lineage = {cls.__name__ for cls in type(module).__mro__}
    return "LightningModule" in lineage and getattr(module, "automatic_optimization", True) is False


def resolve_layout(
    optimizers: list[torch.optim.Optimizer],
    candidates: list[nn.Module],
    namespace: Mapping[str, Any] | None,
    trained: "dict[int, weakref.ref[torch.Tensor]] | None" = None,
    previous: Layout | None = None,
) -> Layout:
    """Find the owning models among ``candidates`` and name everything they hold. ``trained``
    gathers every parameter an optimizer of the run held: one whose optimizer is gone (a
    teacher's, after its phase) is still optimized, not "in no optimizer". What ``previous``
    named keeps its name: a second model trained after the first gets its label as a prefix,
    and the first's rows, already recorded, are not split between two names."""
    layout = Layout()
    kept_params = {id(p): n for n, p in (previous.params if previous else {}).items()}
    kept_modules = {id(r()): n for n, r in (previous.modules if previous else {}).items() if r()}
    kept_param_names, kept_module_names = set(kept_params.values()), set(kept_modules.values())
    optimized = [p for opt in optimizers for p in optimizer_params(opt)]
    if trained is not None:  # (by id: a weak set would compare tensors with ==)
        trained.update((id(p), weakref.ref(p)) for p in optimized)
    layout.optimized = {id(p) for p in optimized} | {
        key for key, ref in (trained or {}).items() if ref() is not None}
    layout.signature = tuple(len(optimizer_params(o)) for o in optimizers)
    # Every called root with trainable parameters owns its names, optimized yet or not: an
    # optimizer that first steps later (a GAN's second one) must not rename what is recorded.
    owners = [
        m for m in candidates
        if any(id(p) in layout.optimized or p.requires_grad for p in m.parameters())
    ]
    owners = list(dict.fromkeys(unwrap(m) for m in owners))
    labels = _model_labels(owners, namespace)
    for model, label in zip(owners, labels):
        prefix = f"{label}." if len(owners) > 1 else ""
        if kept_params and any(id(p) in kept_params for p in model.parameters()):
            prefix = ""  # named before: a model alone until now keeps its unprefixed names
        layout.owners.append(label)
        if optimizes_by_hand(model):
            layout.by_hand.append(label)
        for mname, module in model.named_modules():
            # one name per module, the first given (a module two models share is one entity);
            # a new one that a kept name holds (a model wrapping the first: its head "1" beside
            # the first model's kept "1") takes its model's label
            full = layout.module_names.setdefault(id(module), kept_modules.get(id(module)) or (
                _unclaimed(prefix + mname, label, kept_module_names) if mname else
                (label if prefix else "")))
            layout.module_owner.setdefault(full or type(module).__name__, label)
            if is_watched_module(module):
                layout.modules.setdefault(full or type(module).__name__, weakref.ref(module))
            for pname, param in module._parameters.items():
                if param is not None and id(param) not in layout.param_names:
                    name = kept_params.get(id(param)) or _unclaimed(
                        prefix + (f"{mname}.{pname}" if mname else pname), label,
                        kept_param_names)
                    layout.param_names[id(param)] = name
                    layout.params[name] = param
                    layout.param_module[name] = full
    loose = [p for p in optimized if id(p) not in layout.param_names]
    for name, param in _names_from_namespace(loose, namespace, optimizers).items():
        layout.param_names[id(param)] = name
        layout.params[name] = param
    return layout


def _unclaimed(name: str, label: str, kept: set[str]) -> str:
    """``name``, or, where a name kept from before holds it, the same under the model's label."""
    while name in kept:
        name = f"{label}.{name}"
    return name


def _model_labels(models: list[nn.Module], namespace: Mapping[str, Any] | None) -> list[str]:
    by_id = {}
    for key, value in (namespace or {}).items():
        if isinstance(value, nn.Module) and not key.startswith("_"):
            by_id.setdefault(id(value), key)
    labels, used = [], set()
    for i, model in enumerate(models):
        label = by_id.get(id(model)) or type(model).__name__
        if label in used:
            label = f"{label}{i}"
        used.add(label)
        labels.append(label)
    return labels


def _names_from_namespace(
    loose: list[torch.Tensor],
    namespace: Mapping[str, Any] | None,
    optimizers: list[torch.optim.Optimizer],
) -> dict[str, torch.Tensor]:
    """Name raw tensors (``W = torch.randn(..., requires_grad=True)``) by the script's variables."""
    wanted = {id(p): p for p in loose}
    found: dict[str, torch.Tensor] = {}
    for key, value in (namespace or {}).items():
        if key.startswith("_"):
            continue
        items: list[tuple[str, Any]] = [(key, value)]
        if isinstance(value, dict):
            items = [(f"{key}.{k}", v) for k, v in value.items()]
        elif isinstance(value, (list, tuple)) and len(value) < 10_000:
            items = [(f"{key}.{i}", v) for i, v in enumerate(value)]
        for name, obj in items:
            if isinstance(obj, torch.Tensor) and id(obj) in wanted:
                found.setdefault(name, wanted.pop(id(obj)))
    for oi, opt in enumerate(optimizers):  # whatever the script keeps out of sight
        for gi, group in enumerate(opt.param_groups):
            for pi, p in enumerate(group["params"]):
                if id(p) in wanted:
                    found[f"optimizer{oi}.group{gi}.param{pi}"] = wanted.pop(id(p))
    return found
