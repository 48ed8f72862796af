"""Initialization schemes, applied in place, shared by ``gradsight probe`` and ``gradsight fix``.

The probe uses them to *predict* (by measuring a copy) what a network looks like with the init
it recommends; ``fix`` applies them to the user's own model through a hook. Both draw from a
private ``torch.Generator``, never the global RNG: a re-initialized run must see the same data
order (the script's own ``torch.rand`` calls) as the baseline it is compared with.
"""

from __future__ import annotations

import math
from typing import Iterable

import torch
from torch import nn

from ...core.init_schemes import RELU_LIKE as _RELU_LIKE  # noqa: F401 (re-exported)
from ...core.init_schemes import SCHEMES, scheme_for  # noqa: F401 (re-exported)


def weight_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Modules with their own weight of 2+ dimensions (Linear, Conv, RNN ...), by name order.

    Embeddings and normalization layers are left alone: their scale is not a fan-in choice.
    """
    out = []
    for name, module in model.named_modules():
        if isinstance(module, (nn.Embedding, nn.EmbeddingBag)) or "Norm" in type(module).__name__:
            continue
        if any(p is not None and p.ndim >= 2 for p in module._parameters.values()):
            out.append((name, module))
    return out


def recommended_std(scheme: str, fan_in: int, fan_out: int, activation: str | None) -> float:
    """The weight std a scheme gives a layer (uniform schemes: the same variance)."""
    if scheme == "he":
        return math.sqrt(2.0 / fan_in)
    if scheme == "xavier":
        return _gain(activation) * math.sqrt(2.0 / (fan_in + fan_out))
    return 1.0 / math.sqrt(fan_in)  # lecun; orthogonal keeps norms (std ~1/sqrt(fan))


def init_module(module: nn.Module, scheme: str, activation: str | None = None,
                bias: float = 0.0, generator: torch.Generator | None = None) -> None:
    """Re-draw one layer's weights with ``scheme``; biases become ``bias``. In place, so any
    optimizer holding the parameters keeps holding them."""
    with torch.no_grad():
        for pname, p in module._parameters.items():
            if p is None:
                continue
            if p.ndim >= 2:
                recurrent = pname.startswith("weight_hh")
                _init_weight(p, "orthogonal" if recurrent and scheme == "auto" else scheme,
                             activation, generator)
            elif pname.startswith("bias"):
                p.fill_(bias)


def init_model(model: nn.Module, scheme: str, activations: dict[str, str | None] | None = None,
               bias: float = 0.0, seed: int = 0) -> list[str]:
    """Re-initialize every weight layer of ``model``; returns the names re-initialized.

    ``activations`` maps a module name to the activation that follows it (``"relu"``, ...).
    """
    generator = torch.Generator().manual_seed(seed)
    names = []
    for name, module in weight_layers(model):
        act = (activations or {}).get(name)
        chosen = scheme_for(act) if scheme == "auto" else scheme
        init_module(module, chosen, act, bias, generator)
        names.append(name)
    return names


def _init_weight(p: torch.Tensor, scheme: str, activation: str | None,
                 generator: torch.Generator | None) -> None:
    device_ok = generator is None or p.device.type == "cpu"
    if not device_ok:  # a CPU generator cannot draw on an accelerator: draw on CPU, copy
        tmp = torch.empty(p.shape, dtype=p.dtype)
        _init_weight(tmp, scheme, activation, generator)
        p.copy_(tmp)
        return
    if scheme == "he":
        nn.init.kaiming_normal_(p, nonlinearity="relu", generator=generator)
    elif scheme == "xavier":
        nn.init.xavier_uniform_(p, gain=_gain(activation), generator=generator)
    elif scheme == "orthogonal":
        nn.init.orthogonal_(p, generator=generator)
    elif scheme == "lecun":
        nn.init.kaiming_normal_(p, nonlinearity="linear", generator=generator)
    elif scheme == "auto":
        _init_weight(p, scheme_for(activation), activation, generator)
    else:
        raise ValueError(f"unknown init scheme {scheme!r}; known: {', '.join(SCHEMES)}")


def _gain(activation: str | None) -> float:
    if activation in ("tanh", "sigmoid"):  # as init_advice says; ReLUs get He instead
        return nn.init.calculate_gain(activation)
    return 1.0


def fan_in_out(weight: torch.Tensor) -> tuple[int, int]:
    receptive = math.prod(weight.shape[2:]) if weight.ndim > 2 else 1
    return int(weight.shape[1]) * receptive, int(weight.shape[0]) * receptive


def parameters_of(modules: Iterable[nn.Module]) -> list[torch.Tensor]:
    return [p for m in modules for p in m.parameters()]
