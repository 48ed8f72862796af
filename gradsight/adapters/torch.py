"""PyTorch adapter: watches training through PyTorch's own global hooks.

- optimizer step pre/post hooks (``torch.optim.optimizer.register_optimizer_step_*_hook``):
  gradients before the update, the update itself, weights after it;
- a global module forward hook, registered only for the steps that are recorded (any global
  hook sends every module call down PyTorch's slower hook path, so it is off otherwise);
- one wrapper of ``torch.autograd.backward``, the single entry of ``loss.backward()``, to see
  the loss; PyTorch has no global hook that does;
- taps on gradient clipping and ``GradScaler.scale`` (``torch_taps``): gradients before they
  are clipped, and the loss before it is scaled;
- a wrapper of ``torch.compile``: a global forward hook would be traced into the compiled graph
  (changing its numerics, and recompiling it each time the hook comes and goes), so once the
  script compiles anything, activations are no longer recorded.

Nothing here changes a tensor the training uses, consumes random numbers, or reads a value
back to the host during a step: statistics are device tensors shipped by ``Batch``.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

import torch
from torch import nn
from torch.optim.optimizer import (
    register_optimizer_step_post_hook,
    register_optimizer_step_pre_hook,
)

from ..core.recorder import HIST_BINS, LOSS_ROLE, Recorder, hist_role
from . import torch_stats as ts
from .torch_taps import ClipTap, ScalerTap
from .torch_describe import describe, learning_rates
from .torch_layout import (
    Layout,
    activation_kind,
    is_watched_module,
    optimizer_params,
    resolve_layout,
    roots_among,
)

DEAD_WINDOW = 5  # recorded steps over which a unit must never fire to count as dead
MAX_BUFFERED_LOSSES = 1024  # ship losses at least this often between recorded steps


@dataclass
class _OptState:
    index: int
    steps: int = 0  # this optimizer's own completed steps: its parameters' step index
    before: list[torch.Tensor] | None = None
    names: list[str] = field(default_factory=list)
    params: list[torch.Tensor] = field(default_factory=list)


@dataclass
class _ActAcc:
    family: str | None
    total: torch.Tensor | None = None
    calls: int = 0
    active: torch.Tensor | None = None
    sample: torch.Tensor | None = None  # the first call's output, sampled, on histogram steps


class TorchWatcher:
    """Records one or all models/optimizers of a process into a ``Recorder``.

    ``model``/``optimizer`` restrict watching to those (the ``gradsight.watch`` API); without
    them every optimizer that steps is watched (``gradsight run``).
    """

    def __init__(
        self,
        recorder: Recorder,
        model: nn.Module | None = None,
        optimizer: torch.optim.Optimizer | None = None,
        namespace: Callable[[], Mapping[str, Any]] | None = None,
    ) -> None:
        self.recorder = recorder
        self.step = 0
        self._model = model
        self._only_optimizer = optimizer
        self._namespace = namespace or (lambda: {})
        self._opts: "weakref.WeakKeyDictionary[torch.optim.Optimizer, _OptState]" = (
            weakref.WeakKeyDictionary()
        )
        self._clock: "weakref.ref[torch.optim.Optimizer] | None" = None
        self._seen: dict[int, weakref.ref[nn.Module]] = {}  # modules run forward, in order
        self._layout = Layout()
        self._acts: dict[int, _ActAcc] = {}
        self._window: dict[str, tuple[torch.Tensor, int]] = {}
        self._flow: dict[int, tuple[weakref.ref[torch.Tensor], int]] = {}
        self._edges: dict[int, set[int]] = {}  # id(consumer module) -> ids of producers
        self._losses: list[torch.Tensor] = []
        self._step_losses: list[tuple[int, torch.Tensor]] = []
        self._handles: list[Any] = []
        self._forward_handle: Any = None
        self._original_backward: Callable[..., Any] | None = None
        self._active = False
        self._pending_batch: ts.Batch | None = None
        self._model_modules: set[int] = set()
        self._edges_described = False
        # id(param) -> (its pre-clip gradient norm, "norm"/"value", the clipping limit)
        self._preclip: dict[int, tuple[torch.Tensor, str, float]] = {}
        self._clip_tap = ClipTap(self._on_clip)
        self._scaler_tap = ScalerTap()
        self._original_compile: Callable[..., Any] | None = None
        self._compiled = False  # the script uses torch.compile: no forward hooks from then on

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> "TorchWatcher":
        self._handles = [
            register_optimizer_step_pre_hook(self._pre_step),
            register_optimizer_step_post_hook(self._post_step),
        ]
        self._original_backward = torch.autograd.backward
        torch.autograd.backward = self._backward  # type: ignore[assignment]
        self._clip_tap.install()
        self._scaler_tap.install()
        self._original_compile = torch.compile
        torch.compile = self._compile  # type: ignore[assignment]
        self._active = True
        if self._model is not None:
            self._model_modules = {id(m) for m in self._model.modules()}
            if self._only_optimizer is not None:
                self._state(self._only_optimizer)
                self._relayout()
        self._set_forward_hook(True)
        return self

    def stop(self) -> None:
        """Remove every hook and ship what was measured; safe to call twice."""
        if not self._active:
            return
        self._active = False
        for handle in self._handles:
            handle.remove()
        self._handles = []
        self._set_forward_hook(False)
        if torch.autograd.backward == self._backward:
            torch.autograd.backward = self._original_backward  # type: ignore[assignment]
        self._clip_tap.remove()
        self._scaler_tap.remove()
        if torch.compile == self._compile:
            torch.compile = self._original_compile  # type: ignore[assignment]
        if self._losses and self.step == 0:  # backward() only, never a step: keep its loss
            self._step_losses.append((self.step, self._mean_loss()))
        batch, self._pending_batch = self._pending_batch or ts.Batch(), None
        self._add_losses(batch)
        batch.submit(self.recorder)

    @property
    def framework(self) -> str:
        return "torch"

    # -- hooks ----------------------------------------------------------------------------
    def _backward(self, tensors: Any, *args: Any, **kwargs: Any) -> Any:
        if self._active and isinstance(tensors, torch.Tensor) and tensors.numel() == 1:
            if tensors.is_floating_point():
                loss = self._scaler_tap.unscaled(tensors)  # the user's loss, not loss * scale
                self._losses.append(loss.detach())  # shaped when shipped, not per step
        return self._original_backward(tensors, *args, **kwargs)  # type: ignore[misc]

    def _compile(self, *args: Any, **kwargs: Any) -> Any:
        if self._active:
            self._compiled = True
            self._set_forward_hook(False)
            # the forward hook is how models are found: the compiled one is found here instead
            # (torch.compile(model), or model.compile(), which compiles model._call_impl)
            target = args[0] if args else kwargs.get("model")
            module = target if isinstance(target, nn.Module) else getattr(target, "__self__", None)
            if isinstance(module, nn.Module) and id(module) not in self._seen:
                self._seen[id(module)] = weakref.ref(module)
        return self._original_compile(*args, **kwargs)  # type: ignore[misc]

    def _set_forward_hook(self, on: bool) -> None:
        if on and self._compiled:
            return
        if on and self._forward_handle is None:
            self._forward_handle = nn.modules.module.register_module_forward_hook(self._forward)
        elif not on and self._forward_handle is not None:
            self._forward_handle.remove()
            self._forward_handle = None

    def _forward(self, module: nn.Module, inputs: Any, output: Any) -> None:
        if not torch.is_grad_enabled():
            return  # evaluation passes are not training
        key = id(module)
        if key not in self._seen:
            self._seen[key] = weakref.ref(module)
        if not is_watched_module(module) or not self.recorder.wants(self.step):
            return
        if self._model is not None and key not in self._model_modules:
            return
        if inputs and isinstance(inputs[0], torch.Tensor):
            producer = self._flow.get(id(inputs[0]))
            if producer is not None and producer[0]() is inputs[0]:
                self._edges.setdefault(key, set()).add(producer[1])
        if not isinstance(output, torch.Tensor) or not output.is_floating_point():
            return
        self._flow[id(output)] = (weakref.ref(output), key)
        acc = self._acts.get(key)
        if acc is None:
            kind = activation_kind(module)
            acc = self._acts[key] = _ActAcc(kind)
        vector = ts.activation_vector(output, acc.family)
        acc.total = vector if acc.total is None else acc.total + vector
        if acc.calls == 0 and self.recorder.wants_histogram(self.step):
            acc.sample = ts.hist_sample(output, copy=True)
        acc.calls += 1
        if acc.family == "relu":
            units = ts.active_units(output)
            acc.active = units if acc.active is None or acc.active.shape != units.shape else (
                acc.active | units
            )

    def _on_clip(self, params: list[torch.Tensor], kind: str, limit: float) -> None:
        """Gradient norms as backward left them, before clipping rewrites them in place."""
        if not self._active or not self.recorder.wants(self.step):
            return
        with torch.no_grad():
            pairs = [(p, p.grad) for p in params if p.grad is not None]
            if not pairs:
                return
            values = ts.norms([g for _, g in pairs])
        for (p, _), value in zip(pairs, values):
            self._preclip[id(p)] = (value, kind, limit)

    def _pre_step(self, optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        state = self._state(optimizer)
        if state is None:
            return
        if not self.recorder.wants(state.steps):
            return  # names are only needed on recorded steps: check them there
        if self._layout_stale() or (self._edges and not self._edges_described):
            # (also once the first forward's data flow is known: watch() lays out up front)
            self._relayout()
            state = self._opts[optimizer]
        with torch.no_grad():
            state.before = torch._foreach_mul(state.params, 1.0) if state.params else []
            batch = self._pending_batch = self._pending_batch or ts.Batch()
            self._add_gradients(batch, state.steps, state.names, state.params)
            if state.steps == 0 and state.params:  # the init, before any update touches it
                keys = [(0, "param", n, "weight_norm_init") for n in state.names]
                batch.add(keys, ts.norms(state.params))
            # Parameters no optimizer holds (yet: one that first steps later in the iteration
            # writes the same step again, and the reader keeps its rows).
            if self._is_clock(optimizer):
                orphans = [
                    (n, p) for n, p in self._layout.params.items()
                    if id(p) not in self._layout.optimized
                ]
                names, params = [n for n, _ in orphans], [p for _, p in orphans]
                self._add_gradients(batch, state.steps, names, params)

    def _post_step(self, optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        state = self._opts.get(optimizer) if self._accepts(optimizer) else None
        if state is None:
            return
        if state.before is not None and self._pending_batch is not None:
            with torch.no_grad():
                self._add_updates(self._pending_batch, optimizer, state)
        state.before = None
        state.steps += 1
        if not self._is_clock(optimizer):
            return
        self._preclip.clear()  # (a step GradScaler skipped leaves its entries behind)
        # The first optimizer to step is the run's clock: losses and activations go by it.
        if self._losses:
            self._step_losses.append((self.step, self._mean_loss()))
        if self.recorder.wants(self.step):
            batch, self._pending_batch = self._pending_batch or ts.Batch(), None
            self._add_activations(batch)
            self._add_losses(batch)
            batch.submit(self.recorder)
            self._flow.clear()
        elif len(self._step_losses) >= MAX_BUFFERED_LOSSES:
            batch = ts.Batch()
            self._add_losses(batch)
            batch.submit(self.recorder)
        self.step = state.steps
        if self._acts:
            self._acts.clear()
        want_forward = self.recorder.wants(self.step) or not self._layout.params
        if want_forward != (self._forward_handle is not None):
            self._set_forward_hook(want_forward)

    # -- measurements ---------------------------------------------------------------------
    def _add_gradients(
        self, batch: ts.Batch, step: int, names: list[str], params: list[torch.Tensor]
    ) -> None:
        with_grad = [(n, p.grad) for n, p in zip(names, params) if p.grad is not None]
        self.recorder.record_rows([
            (step, "param", n, "has_grad", float(p.grad is not None))
            for n, p in zip(names, params)
        ])
        if with_grad:
            keys = [(step, "param", n, "grad_norm") for n, _ in with_grad]
            batch.add(keys, ts.norms([g for _, g in with_grad]))
            clipped = [(n, self._preclip.pop(id(p), None)) for n, p in zip(names, params)]
            clipped = [(n, c) for n, c in clipped if c is not None]
            if clipped:
                keys = [(step, "param", n, "grad_norm_preclip") for n, _ in clipped]
                batch.add(keys, [c[0] for _, c in clipped])
                self.recorder.record_rows([
                    (step, "param", n, f"clip_{c[1]}_limit", c[2]) for n, c in clipped
                ])
            if self.recorder.nonfinite_seen:
                keys = [(step, "param", n, "grad_nonfinite") for n, _ in with_grad]
                batch.add(keys, ts.nonfinite_counts([g for _, g in with_grad]))
            self._add_histograms(batch, step, "param", "grad", with_grad)

    def _add_updates(
        self, batch: ts.Batch, optimizer: torch.optim.Optimizer, state: _OptState
    ) -> None:
        step = state.steps
        if not state.params:
            return
        torch._foreach_sub_(state.before, state.params)  # before - after = -update
        batch.add([(step, "param", n, "update_norm") for n in state.names], ts.norms(state.before))
        batch.add([(step, "param", n, "weight_norm") for n in state.names], ts.norms(state.params))
        lr = learning_rates(optimizer)
        self.recorder.record_rows([
            (step, "param", n, "lr", lr.get(id(p), float("nan")))
            for n, p in zip(state.names, state.params)
        ])
        if self.recorder.nonfinite_seen:
            keys = [(step, "param", n, "weight_nonfinite") for n in state.names]
            batch.add(keys, ts.nonfinite_counts(state.params))
        self._add_histograms(batch, step, "param", "weight", zip(state.names, state.params))

    def _add_activations(self, batch: ts.Batch) -> None:
        step = self.step
        samples = []
        for key, acc in self._acts.items():
            name = self._layout.module_names.get(key)
            if name is None or acc.total is None:
                continue
            keys = [(step, "module", name, m) for m in ts.ACT_METRICS]
            batch.add(keys, acc.total / acc.calls)
            if acc.active is not None:
                self._add_dead_units(batch, name, acc.active)
            if acc.sample is not None:
                samples.append((name, acc.sample))
        self._add_histograms(batch, step, "module", "act", samples, sampled=True)

    def _add_histograms(
        self, batch: ts.Batch, step: int, role: str, metric: str,
        named: Iterable[tuple[str, torch.Tensor]], sampled: bool = False,
    ) -> None:
        """Value histograms on the sampled steps only (the report's distribution views),
        all tensors of a device in one batched computation."""
        if not self.recorder.wants_histogram(step):
            return
        by_device: dict[torch.device, list[tuple[str, torch.Tensor]]] = {}
        for name, tensor in named:
            sample = tensor if sampled else ts.hist_sample(tensor)
            by_device.setdefault(sample.device, []).append((name, sample))
        for group in by_device.values():
            keys = [(step, hist_role(role), name, metric)
                    for name, _ in group for _ in range(HIST_BINS + 2)]
            batch.add(keys, ts.histograms([sample for _, sample in group]))

    def _add_dead_units(self, batch: ts.Batch, name: str, active: torch.Tensor) -> None:
        step = self.step
        batch.add([(step, "module", name, "dead_frac")], 1 - active.to(ts.F64).mean())
        seen, count = self._window.get(name, (active, 0))
        seen = seen | active if seen.shape == active.shape else active
        count += 1
        if count >= DEAD_WINDOW:
            batch.add([(step, "module", name, "dead_frac_window")], 1 - seen.to(ts.F64).mean())
            self._window.pop(name, None)
        else:
            self._window[name] = (seen, count)

    def _add_losses(self, batch: ts.Batch) -> None:
        if self._step_losses:
            keys = [(s, LOSS_ROLE, "", "value") for s, _ in self._step_losses]
            batch.add(keys, [v for _, v in self._step_losses])
            self._step_losses = []

    def _mean_loss(self) -> torch.Tensor:
        """The step's loss, left in its own dtype (converted once, when shipped)."""
        losses, self._losses = self._losses, []
        if len(losses) == 1:
            return losses[0]
        return torch.stack([loss.reshape(()).to(ts.F64) for loss in losses]).mean()

    # -- bookkeeping ----------------------------------------------------------------------
    def _accepts(self, optimizer: torch.optim.Optimizer) -> bool:
        return self._active and (
            self._only_optimizer is None or optimizer is self._only_optimizer
        )

    def _state(self, optimizer: torch.optim.Optimizer) -> _OptState | None:
        if not self._accepts(optimizer):
            return None
        state = self._opts.get(optimizer)
        if state is None:
            state = self._opts[optimizer] = _OptState(index=len(self._opts))
            if self._clock is None:
                self._clock = weakref.ref(optimizer)
        return state

    def _is_clock(self, optimizer: torch.optim.Optimizer) -> bool:
        return self._clock is not None and self._clock() is optimizer

    def _layout_stale(self) -> bool:
        signature = tuple(len(optimizer_params(o)) for o in self._opts.keys())
        return signature != self._layout.signature

    def _relayout(self) -> None:
        optimizers = list(self._opts.keys())
        if self._model is not None:
            candidates = [self._model]
        else:
            alive = [ref() for ref in self._seen.values()]
            candidates = roots_among(m for m in alive if m is not None)
        self._layout = resolve_layout(optimizers, candidates, self._namespace())
        for optimizer in optimizers:
            state = self._opts[optimizer]
            params = [p for p in optimizer_params(optimizer) if id(p) in self._layout.param_names]
            state.params = params
            state.names = [self._layout.param_names[id(p)] for p in params]
        self._edges_described = bool(self._edges)
        describe(
            self.recorder, self._layout, {key: i for i, key in enumerate(self._seen)},
            self._edges, {o: s.index for o, s in self._opts.items()},
        )
