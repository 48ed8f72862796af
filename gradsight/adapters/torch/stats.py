"""Batched statistics on the tensors' own device; nothing here reads a value back to the host.

Norms are computed in float64 where it matters: a float32 norm squares its inputs first, and
the 1e-32-scale gradients of a collapsed deep stack (seed 003) square to 1e-64, below float32's
range, giving 0.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Sequence

import numpy as np
import torch

from ...core.metrics import HIST_BINS, HIST_SAMPLE, SATURATION_LEVEL

F64 = torch.float64

try:  # DTensor (FSDP2): public since torch 2.4; absent where torch.distributed is not built
    from torch.distributed.tensor import DTensor as _DTensor
except ImportError:  # pragma: no cover - depends on the torch build
    _DTensor = None


def is_dtensor(tensor: Any) -> bool:
    return _DTensor is not None and isinstance(tensor, _DTensor)


def local(tensor: torch.Tensor) -> torch.Tensor:
    """The tensor statistics are computed on: a ``DTensor``'s local shard (a view; computing
    on the DTensor itself would communicate, or fail), any other tensor itself. The core
    merges the shards' numbers into the whole parameter's (``core/job.py``)."""
    if _DTensor is not None and isinstance(tensor, _DTensor):
        return tensor._local_tensor  # type: ignore[no-any-return]
    return tensor


# float32 represents a norm exactly enough inside this range; outside it (underflowing
# squares of 1e-32-scale gradients, overflowing ones of 1e20-scale) the norm is redone in float64.
_F32_SAFE = (2.0**-60, 2.0**60)


def norms(tensors: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """L2 norms as float64 0-dim tensors, batched with ``torch._foreach_norm`` per device
    (``_dense_norms``); sparse gradients (``nn.Embedding(sparse=True)``) one by one."""
    tensors = [local(t) for t in tensors]
    out: list[torch.Tensor | None] = [None] * len(tensors)
    by_device: dict[torch.device, list[int]] = {}
    for i, t in enumerate(tensors):
        if t.layout == torch.strided:
            by_device.setdefault(t.device, []).append(i)
        else:
            out[i] = torch.linalg.vector_norm(t.coalesce().values(), dtype=F64)
    for index in by_device.values():
        for i, n in zip(index, _dense_norms([tensors[i] for i in index]).unbind()):
            out[i] = n
    return [n for n in out if n is not None]


def norm_vector(tensors: Sequence[torch.Tensor]) -> torch.Tensor:
    """``norms`` as one float64 vector on the tensors' device, in a few batched operations
    rather than a few per tensor: the always-on tier takes every parameter's gradient norm at
    every step, and per-tensor conversions there cost ~1 us each per parameter (0.5 ms a step for
    a model of 500 tensors). Tensors on several devices or sparse ones go through ``norms``."""
    tensors = [local(t) for t in tensors]
    if not tensors:
        return torch.zeros(0, dtype=F64)
    device = tensors[0].device
    if all(t.layout == torch.strided and t.device == device for t in tensors):
        return _dense_norms(tensors)
    # a model split across devices: gathered on the first one, without waiting for the copies
    return torch.stack([n.to(device, non_blocking=True) for n in norms(tensors)])


def _dense_norms(tensors: list[torch.Tensor]) -> torch.Tensor:
    """The norms of dense tensors on one device, as a float64 vector there. On an accelerator
    they are computed in float64 outright (memory-bound there, and reading back which ones need
    it would be a host sync). On the CPU a float64 norm costs ~8x a float32 one, and reading a
    CPU value is free, so each is taken in float32 (large float32 tensors by
    ``_square_sum``, the rest by one ``_foreach_norm``) and only those outside float32's safe
    range are redone in float64."""
    if tensors[0].device.type != "cpu":
        return torch.stack(torch._foreach_norm(tensors, 2, dtype=F64))
    chunkable = [_chunkable(t) for t in tensors]
    large = [i for i, c in enumerate(chunkable) if c]
    if large:
        rest = [i for i, c in enumerate(chunkable) if not c]
        out = torch.empty(len(tensors), dtype=F64)
        out[torch.tensor(large)] = torch.stack([_square_sum(tensors[i]) for i in large]).sqrt()
        if rest:
            out[torch.tensor(rest)] = _foreach_f32(tensors[i] for i in rest)
        stacked = out
    else:
        out = stacked = _foreach_f32(tensors)
    redo = [i for i, v in enumerate(stacked.tolist()) if not _F32_SAFE[0] < v < _F32_SAFE[1]]
    if redo:
        exact = torch._foreach_norm([tensors[i] for i in redo], 2, dtype=F64)
        out[torch.tensor(redo)] = torch.stack(exact)
    return out


def _foreach_f32(tensors: Iterable[torch.Tensor]) -> torch.Tensor:
    """Norms in each tensor's own precision, as a float64 vector (a float64 one stays exact)."""
    fast = torch._foreach_norm(list(tensors), 2)
    if len({n.dtype for n in fast}) == 1:
        return torch.stack(fast).to(F64)
    return torch.stack([n.to(F64) for n in fast])


# Elements per partial sum of a large float32 tensor on the CPU (``_square_sum``).
_CHUNK = 8192


def _chunkable(t: torch.Tensor) -> bool:
    return t.dtype == torch.float32 and t.numel() >= 8 * _CHUNK and t.is_contiguous()


def _square_sum(t: torch.Tensor) -> torch.Tensor:
    """Sum of squares of a contiguous float32 CPU tensor, float64, 0-dim: the norms of its
    ``_CHUNK``-element rows in one float32 reduction, squared and added in float64.

    Why not one ``torch.linalg.vector_norm`` or ``_foreach_norm`` of the whole tensor: on the
    CPU their float32 kernels accumulate a large tensor's squares with a relative error that
    grows with its size (~2e-5 at 1M elements, ~2e-4 at 4M, measured against float64); row by
    row the same kernel stays within ~1e-7 of its row, and costs the same one pass (a matrix
    product's sums would be faster with idle cores, but slow down badly on a busy machine). A
    float64 norm would be exact but ~8x slower."""
    v = t.detach().reshape(-1)
    k = v.numel() // _CHUNK
    rows = torch.linalg.vector_norm(v[: k * _CHUNK].view(k, _CHUNK), dim=1)
    total = rows.to(F64).square().sum()
    tail = v[k * _CHUNK:]
    if tail.numel():
        total = total + torch.linalg.vector_norm(tail).to(F64).square()
    return total


def nonfinite_counts(tensors: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """Non-finite element counts; per tensor, so used only once non-finite values appeared."""
    return [(~torch.isfinite(local(t))).sum().to(F64) for t in tensors]


def activation_vector(output: torch.Tensor, family: str | None) -> torch.Tensor:
    """``metrics.ACT_METRICS`` of one output: mean, std, fraction exactly zero, any non-finite
    (1/0), fraction saturated (float64).

    On an accelerator, two float64-accumulated passes give mean and std (sum and sum of
    squares), so no float64 copy of the activation is made; a non-finite value makes the sum
    non-finite, which is how it is detected without a third pass. A float32 output on the CPU
    goes through ``_cpu_activation_vector`` first (the same numbers from float32 passes, ~4x
    faster there), which hands back to this path whenever float32 could be inexact.
    """
    d = output.detach()
    if d.device.type == "cpu" and d.dtype == torch.float32 and 0 < d.numel() <= _F32_COUNTS:
        fast = _cpu_activation_vector(d, family)
        if fast is not None:
            return fast
    numel = max(d.numel(), 1)
    total = d.sum(dtype=F64)
    mean = total / numel
    square = torch.linalg.vector_norm(d, dtype=F64) ** 2 / numel
    std = (square - mean * mean).clamp_min(0).sqrt()
    zero = (d == 0).sum(dtype=F64) / numel
    nonfinite = (~torch.isfinite(total)).to(F64)
    if family == "tanh":
        saturated = (d.abs() > SATURATION_LEVEL).sum(dtype=F64) / numel
    elif family == "sigmoid":
        saturated = ((d < 1 - SATURATION_LEVEL) | (d > SATURATION_LEVEL)).sum(dtype=F64) / numel
    else:
        saturated = torch.zeros((), dtype=F64, device=d.device)
    return torch.stack([mean, std, zero, nonfinite, saturated])


# Float32 sums of 0/1 values count exactly up to 2**24 elements.
_F32_COUNTS = 2**24
# Where the variance is below this fraction of the mean square, E[x^2] - mean^2 cancels: a
# float32 mean square (relative error ~1e-7 after torch's cascade summation) would leave the
# variance with an error above 1e-5 of itself, so the float64 path takes over.
_CANCELLATION = 1e-2


def _cpu_activation_vector(d: torch.Tensor, family: str | None) -> torch.Tensor | None:
    """``activation_vector`` of a float32 CPU tensor from float32 passes and one read of four
    numbers, which costs nothing on the CPU: the sum (torch's cascade summation), the sum of
    squares (``_square_sum``, or one dot product when small), the non-zeros as a float32 sum of
    ``d != 0`` written as floats, the saturated values likewise. Every float64 sum converts each
    element first and runs ~10x slower than its float32 twin; a boolean result is summed ~3x
    slower than a float one. None, for the float64 path to redo it: a non-finite value (the
    flag and the mean need the float64 path's semantics), a sum of squares outside float32's
    safe range (squares that under- or overflow), or a variance that cancels
    (``_CANCELLATION``)."""
    numel = d.numel()
    flat = d.reshape(-1)  # a copy only where the output's memory is not contiguous
    if family == "tanh":
        saturated = d.abs().gt_(SATURATION_LEVEL).sum()
    elif family == "sigmoid":  # |d - 1/2| > L - 1/2: d > L or d < 1 - L, to within one ulp of L
        saturated = d.sub(0.5).abs_().gt_(SATURATION_LEVEL - 0.5).sum()
    else:
        saturated = torch.zeros((), dtype=F64)
    squares = _square_sum(flat) if numel >= 8 * _CHUNK else torch.dot(flat, flat).to(F64)
    nonzero = torch.ne(d, 0, out=torch.empty(d.shape, dtype=d.dtype)).sum()
    total, square_sum, nonzero, high = torch.stack(
        [d.sum().to(F64), squares, nonzero.to(F64), saturated.to(F64)]).tolist()
    safe = _F32_SAFE[0] ** 2 < square_sum < _F32_SAFE[1] ** 2
    if not (math.isfinite(total) and safe):
        return None
    mean, square = total / numel, square_sum / numel
    variance = square - mean * mean
    if variance < _CANCELLATION * square:
        return None
    return torch.tensor([mean, math.sqrt(variance), 1.0 - nonzero / numel, 0.0, high / numel],
                        dtype=F64)


def active_units(output: torch.Tensor) -> torch.Tensor:
    """Per unit, whether it was positive for any input: features are the last dimension of a
    (batch, features) or (batch, time, features) output and the channel of an image output.
    (A max over the batch, then one comparison: ~20x cheaper than comparing every element.)"""
    d = output.detach()
    if d.ndim <= 1:
        return d.reshape(-1) > 0
    if d.ndim == 2:
        return d.amax(dim=0) > 0
    if d.ndim == 3:
        return d.amax(dim=(0, 1)) > 0
    return d.amax(dim=tuple(i for i in range(d.ndim) if i != 1)) > 0


def hist_sample(tensor: torch.Tensor, copy: bool = False) -> torch.Tensor:
    """The values a histogram is made of: the flattened tensor, or a uniform strided sample
    of at most HIST_SAMPLE of them (a 30-bin picture needs no more, and it bounds the cost).
    ``copy`` detaches it from the tensor's storage (activations: keep the sample, not the
    whole output, until the step's histograms are computed)."""
    x = local(tensor).detach()
    if x.layout != torch.strided:  # sparse gradients: their stored values
        x = x.coalesce().values()
    x = x.reshape(-1)
    if x.numel() > HIST_SAMPLE:
        x = x[:: -(-x.numel() // HIST_SAMPLE)]
    if x.is_complex():  # magnitudes: casting would drop the imaginary part (with a warning)
        return x.abs().to(F64)
    return x.to(F64, copy=copy)


def histograms(samples: Sequence[torch.Tensor], bins: int = HIST_BINS) -> torch.Tensor:
    """Rows ``[lo, hi, counts...]`` (float64, ``bins + 2`` wide), one per sample (all on one
    device), over each sample's finite range; non-finite values are left out.

    All samples are done together, in a fixed number of device operations whatever their
    count (concatenated, with a segment id per value), and without a host sync: ``torch.histc``
    wants its range as host numbers, so the bins are computed by hand and counted with one
    ``index_add_``.
    """
    x = torch.cat([s.reshape(-1).to(F64) for s in samples])
    device = x.device
    n = len(samples)
    seg = torch.cat([torch.full((s.numel(),), i, dtype=torch.int64, device=device)
                     for i, s in enumerate(samples)])
    finite = torch.isfinite(x)
    lo = torch.full((n,), torch.inf, dtype=F64, device=device).scatter_reduce_(
        0, seg, torch.where(finite, x, torch.inf), "amin")
    hi = torch.full((n,), -torch.inf, dtype=F64, device=device).scatter_reduce_(
        0, seg, torch.where(finite, x, -torch.inf), "amax")
    width = (hi - lo).clamp_min(torch.finfo(F64).tiny)
    index = ((x - lo[seg]) / width[seg] * bins).floor().clamp(0, bins - 1)
    index = torch.where(finite, index, bins).to(torch.int64) + seg * (bins + 1)
    counts = torch.zeros(n * (bins + 1), dtype=F64, device=device)
    counts.index_add_(0, index, torch.ones((), dtype=F64, device=device).expand(x.numel()))
    return torch.cat([lo[:, None], hi[:, None], counts.view(n, bins + 1)[:, :bins]], dim=1)


def histogram(tensor: torch.Tensor, bins: int = HIST_BINS) -> torch.Tensor:
    """``[lo, hi, counts...]`` of one tensor (see ``histograms``)."""
    return histograms([hist_sample(tensor)], bins)[0]


class HostCopy:
    """Device values on their way to the host: the copy starts now (to pinned memory, without
    waiting) and ``ready`` tells, without waiting, whether it has finished. The recorder takes
    it only then (or at the end), so no statistic ever makes the training wait on the device.
    On the CPU the values are already on the host."""

    def __init__(self, values: torch.Tensor) -> None:
        self._event: Any = None
        values = values.detach()
        if values.device.type == "cuda":
            self._host = torch.empty(values.shape, dtype=values.dtype, pin_memory=True)
            self._host.copy_(values, non_blocking=True)
            self._event = torch.cuda.Event()
            self._event.record()
        elif values.device.type == "cpu":  # taken now: the values may be a buffer reused later
            self._host = values.to(F64, copy=True)
        else:  # another accelerator: copied when asked for
            self._host = values.clone()

    def ready(self) -> bool:
        return self._event is None or bool(self._event.query())

    def numpy(self) -> np.ndarray:
        if self._event is not None:
            self._event.synchronize()
        return self._host.to("cpu", F64).numpy()
