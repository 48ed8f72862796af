"""The always-on tier for one optimizer: every step's ``metrics.STEP_METRICS`` per parameter.

Per step, on the parameters' own device and without reading anything back:

- the gradient norms, exactly, in one batched reduction (``stats.norm_vector``); where the script
  clips by norm, the norms before clipping follow from the clip coefficient the clipping tap
  saw (clipping scales every gradient by the same factor), with no second pass;
- the update and the weight norm from a fixed sample of each parameter's elements
  (``metrics.UPDATE_SAMPLE``; the whole tensor when it is that small): the sample is gathered
  into one (parameters x sample) buffer before the step and again after it, so the estimates
  are two row norms of that buffer. An exact update norm would need a copy of every weight each
  step. The weight-norm estimate is rescaled to the exact norm on every detail step
  (``calibrate``); the update estimate's error is measured in the adapter's tests;
- one row (``metrics.step_row_width``) written into a ring buffer on the device.

The ring goes to the host in one copy every ``RING_STEPS`` steps on an accelerator (every step
on the CPU, where the values are on the host already and the recorder's triggers can act on the
very next step), and whenever ``recorder.FLUSH_S`` has passed, so a killed run loses at most
that much.
"""

from __future__ import annotations

import math
import time
from typing import Any, Sequence

import numpy as np
import torch

from ...core import metrics as m
from ...core.recorder import FLUSH_S, Recorder
from . import stats

RING_STEPS = 32  # rows held on an accelerator between two copies to the host
_M = len(m.STEP_METRICS)
_HEAD = len(m.STEP_ROW_HEAD)
_LR = m.STEP_METRICS.index(m.LR)
_F64 = torch.float64


def sample_view(p: torch.Tensor, k: int) -> torch.Tensor | None:
    """``k`` elements of ``p`` as a view (all of them when it has at most ``k``): every
    ``stride``-th element in memory order, the stride made coprime with the last dimension so
    that the sample visits every column as well as every row. None: ``p``'s memory is not
    dense (it would need a copy)."""
    d = p.detach()
    n = d.numel()
    dense = d.is_contiguous() or (d.ndim == 4 and d.is_contiguous(memory_format=torch.channels_last))
    if not dense:
        return None
    if n <= k:
        return torch.as_strided(d, (n,), (1,), d.storage_offset())
    stride = max(n // k, 1)
    last = int(d.shape[-1]) if d.ndim else 1
    while math.gcd(stride, last) != 1 and (k - 1) * (stride + 1) < n:
        stride += 1
    return torch.as_strided(d, (k,), (stride,), d.storage_offset())


class _Sample:
    """Sample buffers (one per dtype: parameters x UPDATE_SAMPLE) and the factors that turn
    their row norms into norm estimates. A parameter whose memory is not dense, or that lives
    on another device, gets its weight norm exactly (one more kernel) and no update estimate."""

    def __init__(self, params: Sequence[torch.Tensor], device: torch.device) -> None:
        k = self.k = m.UPDATE_SAMPLE
        self.rows = len(params)
        groups: dict[torch.dtype, tuple[list[int], list[torch.Tensor]]] = {}
        self.fallback: list[int] = []
        factors = [math.nan] * len(params)
        self.exact = True
        for i, p in enumerate(params):
            p = stats.local(p)  # an FSDP2 shard: this rank's rows (core/job.py merges ranks)
            view = sample_view(p, k) if p.device == device else None
            if view is None:
                self.fallback.append(i)
                continue
            index, pieces = groups.setdefault(view.dtype, ([], []))
            index.append(i)
            pieces.append(view)
            if view.numel() < k:
                pieces.append(torch.zeros(k - view.numel(), dtype=view.dtype, device=device))
            factors[i] = math.sqrt(p.numel() / view.numel()) if view.numel() else 0.0
            self.exact = self.exact and view.numel() == p.numel()
        self.groups = [(torch.tensor(ix, dtype=torch.long, device=device), pieces, len(ix))
                       for ix, pieces in groups.values()]
        self.params = list(params)
        self.factor = torch.tensor(factors, dtype=_F64, device=device)
        self.calibration = torch.ones(len(params), dtype=_F64, device=device)
        self.last_weight: torch.Tensor | None = None
        self._nan = torch.full((len(params),), math.nan, dtype=_F64, device=device)

    def take(self) -> list[torch.Tensor]:
        return [torch.cat(pieces).view(n, self.k) for _, pieces, n in self.groups]

    def norms(self, before: list[torch.Tensor], after: list[torch.Tensor]
              ) -> tuple[torch.Tensor, torch.Tensor]:
        """(update, weight) estimates per parameter, float64."""
        if len(self.groups) == 1 and not self.fallback:
            raw = torch.linalg.vector_norm(torch.stack([after[0] - before[0], after[0]]),
                                           dim=2, dtype=_F64) * self.factor
            update, weight = raw[0], raw[1]
        else:
            update, weight = self._nan.clone(), self._nan.clone()
            for (index, _, _), b, a in zip(self.groups, before, after):
                raw = torch.linalg.vector_norm(torch.stack([a - b, a]), dim=2, dtype=_F64)
                update.index_copy_(0, index, raw[0] * self.factor[index])
                weight.index_copy_(0, index, raw[1] * self.factor[index])
            if self.fallback:
                exact = stats.norms([self.params[i] for i in self.fallback])
                idx = torch.tensor(self.fallback, dtype=torch.long, device=weight.device)
                weight.index_copy_(0, idx, torch.stack([e.to(weight.device) for e in exact]))
        self.last_weight = weight
        return update, weight * self.calibration


class StepMeter:
    """Measures the always-on tier of one optimizer's parameters (plus, for the run's clock,
    the parameters that no optimizer holds: their gradients only)."""

    def __init__(self, names: Sequence[str], params: Sequence[torch.Tensor],
                 optimized: int, group_of: Sequence[int]) -> None:
        self.names = list(names)
        self.params = list(params)
        self.optimized = optimized  # the first ``optimized`` params are stepped by it
        self.group_of = np.asarray(group_of, dtype=np.int64)  # param group of each optimized
        self.device = params[0].device if params else torch.device("cpu")
        self.sample = _Sample(self.params[:optimized], self.device)
        self.ring_steps = 1 if self.device.type == "cpu" else RING_STEPS
        width = m.step_row_width(len(self.names))
        self.ring = torch.full((self.ring_steps, width), math.nan, dtype=_F64,
                               device=self.device)
        self._nan = torch.full((len(self.names),), math.nan, dtype=_F64, device=self.device)
        self._nan_scalar = self._nan[:1].reshape(())
        self._optimized = torch.tensor([1.0] * optimized + [0.0] * (len(self.names) - optimized),
                                       dtype=_F64, device=self.device)
        self._patterns: dict[tuple[bool, ...], tuple[torch.Tensor, torch.Tensor | None]] = {}
        self._constants: dict[tuple[float, ...], torch.Tensor] = {}
        self._reset = self._nan
        self._first: int | None = None
        self._count = 0
        self._seen: list[float] = []
        self._lrs: list[np.ndarray] = []
        self._last_flush = time.monotonic()
        self._before: list[torch.Tensor] | None = None
        self._grad: torch.Tensor | None = None
        self._pre: torch.Tensor | None = None
        self._has: torch.Tensor | None = None

    # -- per step -------------------------------------------------------------------------
    def before_step(self, clip: dict[int, tuple[str, Any]],
                    reset: tuple[float, ...] | None = None) -> None:
        """Gradients as the optimizer will see them, and the weights' sample before it
        changes them. ``clip``: id(param) -> ("norm", coefficient) / ("value", pre-clip norm);
        ``reset``: per parameter, whether its gradient was reset since the last step."""
        self._reset = self._constant(reset) if reset is not None else self._nan
        grads = [p.grad for p in self.params]
        present = tuple(g is not None for g in grads)
        has, where = self._pattern(present)
        if any(present):
            norms = stats.norm_vector([g for g in grads if g is not None])
            grad = norms if where is None else self._nan.index_copy(0, where, norms)
        else:
            grad = self._nan
        self._grad, self._has = grad, has
        self._pre = self._preclip(grad, clip) if clip else self._nan
        self._before = self.sample.take() if self.optimized else None

    def after_step(self, step: int, loss: torch.Tensor | None, group_lrs: Sequence[float],
                   recorder: Recorder) -> None:
        """The step's row, into the ring; the ring to the host when it is full or due."""
        if self._grad is None:
            return
        if self.optimized and self._before is not None:
            update, weight = self.sample.norms(self._before, self.sample.take())
            tail = len(self.names) - self.optimized
            if tail:
                update = torch.cat([update, self._nan[:tail]])
                weight = torch.cat([weight, self._nan[:tail]])
        else:
            update = weight = self._nan
        columns = [self._has, self._grad, self._pre, weight, update, self._nan, self._optimized,
                   self._reset]
        slot = self._count
        if self._first is None:
            self._first = step
        elif self._first + self._count != step:  # a gap (a step not seen): ship what is held
            self.flush(recorder)
            self._first, slot = step, 0
        row = self.ring[slot]
        row[1] = loss.detach().reshape(()).to(_F64) if loss is not None else self._nan_scalar
        row[_HEAD:] = torch.stack(columns, dim=1).reshape(-1)
        self._seen.append(1.0 if loss is not None else 0.0)
        lrs = np.full(len(self.names), math.nan)
        if self.optimized:
            lrs[: self.optimized] = np.asarray(group_lrs, dtype=np.float64)[self.group_of]
        self._lrs.append(lrs)
        self._count += 1
        self._before = self._grad = None
        if self._count >= self.ring_steps or time.monotonic() - self._last_flush >= FLUSH_S:
            self.flush(recorder)

    def flush(self, recorder: Recorder) -> None:
        if not self._count or self._first is None:
            return
        rows = _Rows(stats.HostCopy(self.ring[: self._count]), self._seen, self._lrs)
        recorder.steps(self._first, self.names, rows)
        self._first, self._count, self._seen, self._lrs = None, 0, [], []
        self._last_flush = time.monotonic()

    def calibrate(self, exact: torch.Tensor) -> None:
        """Rescale the weight estimates to ``exact`` (the optimized parameters' exact norms,
        after this step): the sample's positions are fixed, so its ratio to the exact norm
        drifts slowly."""
        raw = self.sample.last_weight
        if raw is not None and not self.sample.exact:
            ratio = exact.to(_F64) / raw
            ok = torch.isfinite(ratio) & (ratio > 0)
            self.sample.calibration = torch.where(ok, ratio, self.sample.calibration)

    # -- helpers --------------------------------------------------------------------------
    def _constant(self, values: tuple[float, ...]) -> torch.Tensor:
        """A per-parameter column of host numbers, on the device once per pattern."""
        cached = self._constants.get(values)
        if cached is None:
            cached = self._constants[values] = torch.tensor(values, dtype=_F64, device=self.device)
        return cached

    def _pattern(self, present: tuple[bool, ...]) -> tuple[torch.Tensor, torch.Tensor | None]:
        cached = self._patterns.get(present)
        if cached is None:
            has = torch.tensor([float(x) for x in present], dtype=_F64, device=self.device)
            where = None if all(present) else torch.tensor(
                [i for i, x in enumerate(present) if x], dtype=torch.long, device=self.device)
            cached = self._patterns[present] = (has, where)
        return cached

    def _preclip(self, grad: torch.Tensor, clip: dict[int, tuple[str, Any]]) -> torch.Tensor:
        """Per parameter, the norm before clipping; NaN where nothing clipped it."""
        values = []
        for p in self.params:
            entry = clip.get(id(p))
            if entry is None:
                values.append(self._nan_scalar)
            elif entry[0] == "value":
                values.append(entry[1].reshape(()).to(_F64))
            else:
                values.append(1.0 / entry[1].reshape(()).to(_F64))
        scale = torch.stack(values)
        has_norm = [i for i, p in enumerate(self.params) if clip.get(id(p), ("",))[0] == "norm"]
        if not has_norm:
            return scale
        out = scale.clone()
        idx = torch.tensor(has_norm, dtype=torch.long, device=self.device)
        out[idx] = grad[idx] * scale[idx]
        return out


class _Rows:
    """Ring rows on their way to the host, with the host-side columns (whether the step had a
    loss, the learning rates) filled in when the recorder takes them."""

    def __init__(self, copy: stats.HostCopy, seen: list[float], lrs: list[np.ndarray]) -> None:
        self._copy, self._seen, self._lrs = copy, seen, lrs

    def ready(self) -> bool:
        return self._copy.ready()

    def numpy(self) -> np.ndarray:
        rows = self._copy.numpy().copy()
        rows[:, 0] = self._seen
        rows[:, _HEAD + _LR::_M] = np.stack(self._lrs)
        return rows
