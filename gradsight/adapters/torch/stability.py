"""The stability tier: every training step, per attention layer its largest attention logit and
attention entropy, and per output the log-sum-exp of the logits at the loss (``attention.py``
computes them; ``metrics.ATTN_METRICS``, ``metrics.LOGIT_LSE`` name them).

They are read where they are computed, by taps on the functions that compute them:

- ``F.scaled_dot_product_attention`` (nanoGPT-style models, Hugging Face's ``sdpa`` attention,
  and ``nn.MultiheadAttention`` / ``nn.TransformerEncoderLayer`` when no attention weights are
  asked for, which call it inside);
- ``F.multi_head_attention_forward`` when it is asked for the weights (``need_weights=True``,
  ``nn.MultiheadAttention``'s default): there the queries and keys of the sampled sequences are
  projected again from its own weights;
- ``F.cross_entropy`` (and ``nn.CrossEntropyLoss``, which calls it): the logits.

An attention call belongs to the innermost ``nn.Module`` whose ``forward`` is on the call stack
(the attention block that calls it); the logits to the module that produced them, found from the
layer outputs the detail tier sees (``namer.producer``) and remembered for the steps between.

Calls made with gradients off (evaluation) or while ``torch.compile`` traces are not measured.
Values stay on the device; a step's rows go to the recorder when the run's clock optimizer steps,
batched into one copy to the host every ``RING_STEPS`` steps or ``FLUSH_S`` seconds.
"""

from __future__ import annotations

import sys
import functools
import time
import weakref
from typing import Any, Callable, Protocol

import numpy as np
import torch
from torch import nn

from ...core import metrics as m
from ...core.recorder import FLUSH_S, Recorder
from ...core.records import ATTENTION, ModuleInfo
from ..patching import Guard, Patches
from . import attention, stats

RING_STEPS = 32  # steps of rows held between two copies to the host (or FLUSH_S)
MAX_FRAMES = 12  # how far up the call stack the calling module is looked for


class Namer(Protocol):
    """What the taps ask the watcher: names as the layout has them, forward order, and which
    module produced a tensor (on detail steps, when layer outputs are seen)."""

    def name(self, module: nn.Module) -> str | None: ...

    def order(self, module: nn.Module) -> int: ...

    def described(self, module: nn.Module) -> bool: ...

    def producer(self, tensor: torch.Tensor, classes: int) -> nn.Module | None: ...


class _Acc:
    """One module's values over the calls of one step: the largest logit and the entropies'
    sum (or the log-sum-exps' sum), and how many calls."""

    def __init__(self, module: nn.Module | None) -> None:
        self.ref = weakref.ref(module) if module is not None else None
        self.top: torch.Tensor | None = None
        self.total: torch.Tensor | None = None
        self.calls = 0

    def add(self, top: torch.Tensor | None, value: torch.Tensor) -> None:
        if top is not None:
            self.top = top if self.top is None else torch.maximum(self.top, top)
        self.total = value if self.total is None else self.total + value
        self.calls += 1


class StabilityTaps:
    def __init__(self, guard: Guard, namer: Namer) -> None:
        self.guard = guard
        self.namer = namer
        self._attn: dict[int, _Acc] = {}
        self._logits: dict[int, _Acc] = {}
        self._producer: weakref.ref[nn.Module] | None = None
        self._described: set[str] = set()
        self._pending: list[tuple[int, list[str], tuple[str, ...], torch.Tensor]] = []
        self._last_ship = time.monotonic()

    # -- taps -----------------------------------------------------------------------------
    def install(self, patches: Patches) -> None:
        functional = torch.nn.functional
        for name, make in (("scaled_dot_product_attention", self._wrap_sdpa),
                           ("multi_head_attention_forward", self._wrap_mha),
                           ("cross_entropy", self._wrap_ce)):
            if hasattr(functional, name):
                patches.wrap(functional, name, make)

    def _measuring(self) -> bool:
        return self.guard.active and torch.is_grad_enabled() and not _compiling()

    def _wrap_sdpa(self, original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)  # keeps the signature other taps bind by
        def scaled_dot_product_attention(query: Any, key: Any, value: Any, *args: Any,
                                         **kwargs: Any) -> Any:
            if self._measuring():
                self.guard.run(self._saw_sdpa, query, key, args, kwargs)
            return original(query, key, value, *args, **kwargs)

        return scaled_dot_product_attention

    def _saw_sdpa(self, query: torch.Tensor, key: torch.Tensor, args: tuple[Any, ...],
                  kwargs: dict[str, Any]) -> None:
        given = dict(zip(("attn_mask", "dropout_p", "is_causal"), args))
        given.update(kwargs)
        values = attention.attention_stats(query, key, given.get("attn_mask"),
                                           bool(given.get("is_causal", False)),
                                           given.get("scale"))
        self._add_attention(values)

    def _wrap_mha(self, original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)  # keeps the signature other taps bind by
        def multi_head_attention_forward(*args: Any, **kwargs: Any) -> Any:
            if kwargs.get("need_weights", True) and self._measuring():
                self.guard.run(self._saw_mha, args, kwargs)
            return original(*args, **kwargs)  # without weights it calls the tapped sdpa

        return multi_head_attention_forward

    def _saw_mha(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        found = attention.mha_qk(args, kwargs)
        if found is not None:
            q, k, mask = found
            self._add_attention(attention.attention_stats(q, k, mask))

    def _add_attention(self, values: torch.Tensor) -> None:
        module = _calling_module()
        key = id(module) if module is not None else 0
        acc = self._attn.get(key)
        if acc is None or (acc.ref is not None and acc.ref() is not module):
            acc = self._attn[key] = _Acc(module)
        acc.add(values[:1], values[1:])

    def _wrap_ce(self, original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)  # keeps the signature other taps bind by
        def cross_entropy(input: Any, target: Any, *args: Any, **kwargs: Any) -> Any:
            if self._measuring() and isinstance(input, torch.Tensor) and input.requires_grad:
                self.guard.run(self._saw_logits, input, target, args, kwargs)
            return original(input, target, *args, **kwargs)

        return cross_entropy

    def _saw_logits(self, logits: torch.Tensor, target: Any, args: tuple[Any, ...],
                    kwargs: dict[str, Any]) -> None:
        given = dict(zip(("weight", "size_average", "ignore_index"), args))
        given.update(kwargs)
        classes = logits.shape[1] if logits.ndim > 1 else logits.shape[0]
        module = self.namer.producer(logits, int(classes))
        if module is not None:
            self._producer = weakref.ref(module)
        elif self._producer is not None:
            module = self._producer()
        key = id(module) if module is not None else 0
        acc = self._logits.get(key)
        if acc is None:
            acc = self._logits[key] = _Acc(module)
        ignore = given.get("ignore_index", -100)
        acc.add(None, attention.logit_lse(logits, target, ignore if ignore is not None else -100))

    # -- shipping -------------------------------------------------------------------------
    def ship(self, step: int, recorder: Recorder) -> None:
        """The step's rows, held and sent to the recorder together (``flush``)."""
        if not self.guard.active:
            return
        self.guard.run(self._ship, step, recorder)

    def _ship(self, step: int, recorder: Recorder) -> None:
        attn, self._attn = self._attn, {}
        logits, self._logits = self._logits, {}
        for table, metrics, kind in ((attn, m.ATTN_METRICS, ATTENTION),
                                     (logits, (m.LOGIT_LSE,), None)):
            names, rows = [], []
            for acc in table.values():
                module = acc.ref() if acc.ref is not None else None
                name = self._name(module, kind, recorder)
                if name is None or acc.total is None:
                    continue
                mean = acc.total / acc.calls
                names.append(name)
                rows.append(torch.cat([acc.top, mean]) if acc.top is not None else mean)
            if names:
                self._pending.append((step, names, metrics, torch.stack(_one_device(rows))))
        # Held on every device, the CPU too: nothing reads these rows before the diagnosis (no
        # trigger does), and a record per step cost ~2% of a small model's step on the CPU.
        if len(self._pending) >= RING_STEPS or time.monotonic() - self._last_ship >= FLUSH_S:
            self.flush(recorder)

    def flush(self, recorder: Recorder) -> None:
        """Everything held, in one copy to the host, and to the recorder one record per set of
        layers and metrics, covering all the steps held."""
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        self._last_ship = time.monotonic()
        groups: dict[tuple[tuple[str, ...], tuple[str, ...]], list[tuple[int, torch.Tensor]]] = {}
        for step, names, metrics, values in pending:
            groups.setdefault((tuple(names), tuple(metrics)), []).append((step, values))
        flat = torch.cat(_one_device([values.reshape(-1) for rows in groups.values()
                                      for _, values in rows]))
        copy = _Shared(stats.HostCopy(flat))
        offset = 0
        for (names, metrics), rows in groups.items():
            size = sum(values.numel() for _, values in rows)
            recorder.record([step for step, _ in rows], "module", names, metrics,
                            _Part(copy, offset, size))
            offset += size

    def _name(self, module: nn.Module | None, kind: str | None, recorder: Recorder
              ) -> str | None:
        """The module's name; an attention block the layout does not describe (it has no
        parameters of its own: its projections do) is described here, once."""
        if module is None:
            return None
        name = self.namer.name(module)
        if name is None or kind is None or name in self._described:
            return name
        self._described.add(name)
        if not self.namer.described(module):
            recorder.describe(ModuleInfo(name, self.namer.order(module), type(module).__name__,
                                         kind))
        return name


def _calling_module() -> nn.Module | None:
    """The innermost module whose method is on the call stack above the tap (gradsight's own
    frames on the way have a ``self`` that is no module)."""
    frame = sys._getframe(1)
    for _ in range(MAX_FRAMES):
        if frame is None:
            return None
        code = frame.f_code  # a method's first argument; f_locals only then (it builds a dict)
        if code.co_argcount and code.co_varnames[0] == "self":
            candidate = frame.f_locals.get("self")
            if isinstance(candidate, nn.Module):
                return candidate
        frame = frame.f_back
    return None


def _compiling() -> bool:
    compiler = getattr(torch, "compiler", None)
    return bool(compiler is not None and compiler.is_compiling())


def _one_device(values: list[torch.Tensor]) -> list[torch.Tensor]:
    device = values[0].device
    return [v.to(device, stats.F64, non_blocking=True) for v in values]


class _Shared:
    """One host copy read by several steps' rows: converted once."""

    def __init__(self, copy: stats.HostCopy) -> None:
        self._copy = copy
        self._values: np.ndarray | None = None

    def ready(self) -> bool:
        return self._copy.ready()

    def values(self) -> np.ndarray:
        if self._values is None:
            self._values = self._copy.numpy()
        return self._values


class _Part:
    def __init__(self, shared: _Shared, offset: int, size: int) -> None:
        self._shared, self._offset, self._size = shared, offset, size

    def ready(self) -> bool:
        return self._shared.ready()

    def numpy(self) -> np.ndarray:
        return self._shared.values()[self._offset:self._offset + self._size]
