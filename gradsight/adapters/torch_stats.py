"""Batched statistics on the tensors' own device, shipped to the host once per recorded step.

Norms are computed in float64: a float32 norm squares its inputs first, and the 1e-32-scale
gradients of a collapsed deep stack (seed 003) square to 1e-64, below float32's range, giving 0.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Sequence

import torch

from ..core.recorder import Key, Recorder

F64 = torch.float64

# Layout of the per-call activation vector.
ACT_METRICS = ("act_mean", "act_std", "act_zero_frac", "act_nonfinite", "act_saturated_frac")
SATURATION_LEVEL = 0.99  # |tanh| or sigmoid distance from its asymptotes, per the usual 0.99/0.01


def norms(tensors: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """L2 norms as float64 0-dim tensors, batched with ``torch._foreach_norm`` where possible."""
    out: list[torch.Tensor | None] = [None] * len(tensors)
    dense = [i for i, t in enumerate(tensors) if t.layout == torch.strided]
    if dense:
        for i, n in zip(dense, torch._foreach_norm([tensors[i] for i in dense], 2, dtype=F64)):
            out[i] = n
    for i, t in enumerate(tensors):
        if out[i] is None:  # sparse gradients (nn.Embedding(sparse=True))
            out[i] = torch.linalg.vector_norm(t.coalesce().values(), dtype=F64)
    return [n for n in out if n is not None]


def nonfinite_counts(tensors: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """Non-finite element counts; per tensor, so used only once non-finite values appeared."""
    return [(~torch.isfinite(t)).sum().to(F64) for t in tensors]


def activation_vector(output: torch.Tensor, family: str | None) -> torch.Tensor:
    """mean, std, fraction exactly zero, non-finite count, fraction saturated (float64)."""
    d = output.detach()
    x = d.to(F64)
    std, mean = torch.std_mean(x, correction=0)
    numel = max(d.numel(), 1)
    zero = (d == 0).sum().to(F64) / numel
    nonfinite = (~torch.isfinite(d)).sum().to(F64)
    if family == "tanh":
        saturated = (x.abs() > SATURATION_LEVEL).sum().to(F64) / numel
    elif family == "sigmoid":
        saturated = ((x < 1 - SATURATION_LEVEL) | (x > SATURATION_LEVEL)).sum().to(F64) / numel
    else:
        saturated = torch.zeros((), dtype=F64, device=d.device)
    return torch.stack([mean, std, zero, nonfinite, saturated])


def active_units(output: torch.Tensor) -> torch.Tensor:
    """Per unit, whether it was positive for any input: features are the last dimension of a
    (batch, features) or (batch, time, features) output and the channel of an image output."""
    active = output.detach() > 0
    if active.ndim <= 1:
        return active.reshape(-1)
    if active.ndim == 2:
        return active.any(dim=0)
    if active.ndim == 3:
        return active.any(dim=(0, 1))
    return active.any(dim=tuple(d for d in range(active.ndim) if d != 1))


class _HostCopy:
    """A device->pinned-host copy started now and read later, waiting only on its own event."""

    def __init__(self, values: torch.Tensor) -> None:
        self._host = torch.empty(values.shape, dtype=values.dtype, pin_memory=True)
        self._host.copy_(values, non_blocking=True)
        self._event = torch.cuda.Event()
        self._event.record()

    def tolist(self) -> list[float]:
        self._event.synchronize()
        return self._host.tolist()


class Batch:
    """Collects (keys, device values) for one recorded step, one vector per device."""

    def __init__(self) -> None:
        self._keys: dict[torch.device, list[Key]] = defaultdict(list)
        self._values: dict[torch.device, list[torch.Tensor]] = defaultdict(list)

    def add(self, keys: Sequence[Key], values: Sequence[torch.Tensor] | torch.Tensor) -> None:
        if isinstance(values, torch.Tensor):
            vector = values.reshape(-1).to(F64)
        elif values:
            vector = torch.stack([v.reshape(()).to(F64) for v in values])
        else:
            return
        if vector.numel() != len(keys):
            raise ValueError(f"{vector.numel()} values for {len(keys)} keys")
        self._keys[vector.device].extend(keys)
        self._values[vector.device].append(vector)

    def submit(self, recorder: Recorder) -> None:
        for device, keys in self._keys.items():
            values = torch.cat(self._values[device])
            recorder.defer(keys, _HostCopy(values) if values.is_cuda else values)
        recorder.end_batch()
        self._keys.clear()
        self._values.clear()
