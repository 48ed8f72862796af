"""PyTorch adapter: watches training through PyTorch's own global hooks.

- optimizer step pre/post hooks (``torch.optim.optimizer.register_optimizer_step_*_hook``): the
  always-on tier every step (``step_meter``), and on detail steps exact weight norms and
  histograms (``detail``);
- a global module forward hook, registered only for detail steps (any global hook sends every
  module call down PyTorch's slower hook path, so it is off otherwise): layer outputs;
- one wrapper of ``torch.autograd.backward``, the single entry of ``loss.backward()``, to see
  the loss; PyTorch has no global hook that does;
- taps on gradient clipping and ``GradScaler.scale`` (``taps``);
- a wrapper of ``torch.compile``: a global forward hook would be traced into the compiled graph
  (changing its numerics, and recompiling it each time the hook comes and goes), so once the
  script compiles anything, layer outputs are no longer recorded.

Nothing here changes a tensor the training uses, consumes random numbers, or reads a value
back to the host during a step. Every hook body runs in a ``Guard``: a bug in gradsight turns
that part of the watching off and is recorded, and the training goes on as without gradsight.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import torch
from torch import nn
from torch.optim.optimizer import (register_optimizer_step_post_hook,
                                   register_optimizer_step_pre_hook)

from ...core import metrics as m
from ...core.recorder import Recorder
from ..patching import Guard, Patches
from . import detail, distributed
from .criterion import CriterionTap
from .describe import describe, group_learning_rates
from .clock import RunClock
from .functional import FunctionalActivations
from .game import GameTap, reached_parameters
from .layout import Layout, activation_kind, is_watched_module, live_owners, \
    module_kind, optimizer_params, resolve_layout, roots_among, running_modules
from .namer import WatcherNames
from .stability import StabilityTaps
from .step_meter import StepMeter
from .taps import ClipBook, GradResets, ScalerTap, install_clip_tap


MAX_HELD_LOSSES = 1024  # backward() losses held for a step that may never come


@dataclass
class _OptState:
    index: int
    steps: int = 0  # this optimizer's own completed steps: its parameters' step index
    names: list[str] = field(default_factory=list)
    params: list[torch.Tensor] = field(default_factory=list)
    meter: StepMeter | None = None


class TorchWatcher:
    """Records one or all models/optimizers of a process into a ``Recorder``.

    ``model``/``optimizer`` restrict watching to those (the ``gradsight.watch`` API); without
    them every optimizer that steps is watched (``gradsight run``).
    """

    framework = "torch"
    api = "torch"

    def __init__(self, recorder: Recorder, model: nn.Module | None = None,
                 optimizer: torch.optim.Optimizer | None = None,
                 namespace: Callable[[], Mapping[str, Any]] | None = None) -> None:
        self.recorder = recorder
        self.step = 0
        self._model = model
        self._only_optimizer = optimizer
        self._namespace = namespace or (lambda: {})
        self._opts: "weakref.WeakKeyDictionary[torch.optim.Optimizer, _OptState]" = (
            weakref.WeakKeyDictionary())
        self._clock = RunClock()  # whose steps are the run's
        self._trained: dict[int, weakref.ref[torch.Tensor]] = {}  # every param ever stepped
        self._seen: dict[int, weakref.ref[nn.Module]] = {}  # modules run forward, in order
        self._owners: list[weakref.ref[nn.Module]] = []  # models found holding the parameters
        self._layout = Layout()
        self._outputs = detail.Outputs()
        self._functional = FunctionalActivations()
        self._flow: dict[int, tuple[weakref.ref[torch.Tensor], int]] = {}
        self._edges: dict[int, set[int]] = {}  # id(consumer module) -> ids of producers
        self._edges_described = False
        self._look_again = False  # describe again after the next forward pass (``_relayout``)
        self._model_modules: set[int] = set()
        self._world: tuple[int, int] | None = None  # (rank, world size) in a job
        self._placements: dict[int, str] = {}  # id(param) -> distributed.placement
        self._losses: list[torch.Tensor] = []
        self._backward_calls = 0
        self._clip = ClipBook()
        self._resets = GradResets()
        self._handles: list[Any] = []
        self._forward_handle: Any = None
        self._patches = Patches()
        self._scaler = ScalerTap()
        self._criterion = CriterionTap(self._functional.consumed_by_loss)
        self._game = GameTap()
        self._compiled = False  # the script uses torch.compile: no forward hooks from then on
        self._active = False
        step = lambda: self.step  # noqa: E731
        self._steps_guard = Guard(recorder, "torch: optimizer steps", step)
        self._layers_guard = Guard(recorder, "torch: layer outputs", step)
        self._loss_guard = Guard(recorder, "torch: loss", step)
        self._clip_guard = Guard(recorder, "torch: gradient clipping", step)
        self._stability = StabilityTaps(Guard(recorder, "torch: attention and logits", step),
                                        WatcherNames(self))
        self._criterion_guard = Guard(recorder, "torch: loss reference", step)

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> "TorchWatcher":
        self._handles = [register_optimizer_step_pre_hook(self._pre_step),
                         register_optimizer_step_post_hook(self._post_step)]
        self._patches.wrap(torch.autograd, "backward", self._wrap_backward)
        install_clip_tap(self._patches, self._clip_guard, self._clip.saw)
        self._resets.install(self._patches, self._steps_guard)
        self._scaler.install(self._patches, self._loss_guard)
        self._stability.install(self._patches)
        self._criterion.install(self._patches, self._criterion_guard, lambda: self._compiled)
        self._patches.wrap(torch, "compile", self._wrap_compile)
        self._active = True
        if self._model is not None:
            self._model_modules = {id(mod) for mod in self._model.modules()}
            if self._only_optimizer is not None:
                self._steps_guard.run(self._attach_given)
        self._set_forward_hook(True)
        return self

    def _attach_given(self) -> None:
        assert self._only_optimizer is not None
        self._state(self._only_optimizer)
        self._relayout()

    def stop(self) -> None:
        """Remove every hook and ship what was measured; safe to call twice."""
        if not self._active:
            return
        self._active = False
        for handle in self._handles:
            handle.remove()
        self._handles = []
        self._set_forward_hook(False)
        self._patches.restore()
        self._scaler.clear()
        self._steps_guard.run(self._ship_remaining)

    def _ship_remaining(self) -> None:
        for state in list(self._opts.values()):
            if state.meter is not None:
                state.meter.flush(self.recorder)
        self._stability.flush(self.recorder)
        if self._losses and self.step == 0:  # backward() only, never a step: keep its loss
            loss = self._mean_loss().detach().to("cpu", torch.float64).reshape(1)
            self.recorder.steps(0, (), [[1.0, float(loss)]])
        self._criterion_guard.run(self._criterion.ship, max(self.step - 1, 0), self.recorder)
        if self._backward_calls and not self._opts and not self.step:  # why nothing was judged
            self.recorder.event(0, "backward_without_step", "",
                                {"backward_calls": self._backward_calls})

    # -- wrappers -------------------------------------------------------------------------
    def _wrap_backward(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def backward(tensors: Any, *args: Any, **kwargs: Any) -> Any:
            if self._active and self._loss_guard.active:
                self._loss_guard.run(self._saw_loss, tensors)
            return original(tensors, *args, **kwargs)

        return backward

    def _saw_loss(self, tensors: Any) -> None:
        if isinstance(tensors, torch.Tensor) and tensors.numel() == 1 and \
                tensors.is_floating_point():
            self._backward_calls += 1
            self._losses.append(self._scaler.unscaled(tensors).detach())
            self._game.saw(None if tensors.grad_fn is None
                           else lambda: reached_parameters(tensors))
            if len(self._losses) > MAX_HELD_LOSSES:  # no optimizer steps: hold their mean
                self._losses = [self._mean_loss()]

    def _wrap_compile(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def compile(*args: Any, **kwargs: Any) -> Any:
            if self._active:
                self._layers_guard.run(self._saw_compile, args, kwargs)
            return original(*args, **kwargs)

        return compile

    def _saw_compile(self, args: Any, kwargs: Any) -> None:
        self._compiled = True
        self._set_forward_hook(False)
        # the forward hook is how models are found: the compiled one is found here instead
        # (torch.compile(model), or model.compile(), which compiles model._call_impl)
        target = args[0] if args else kwargs.get("model")
        module = target if isinstance(target, nn.Module) else getattr(target, "__self__", None)
        if isinstance(module, nn.Module) and id(module) not in self._seen:
            self._seen[id(module)] = weakref.ref(module)

    def _set_forward_hook(self, on: bool) -> None:
        if on and (self._compiled or not self._layers_guard.active):
            return
        if on and self._forward_handle is None:
            self._forward_handle = nn.modules.module.register_module_forward_hook(self._forward)
        elif not on and self._forward_handle is not None:
            self._forward_handle.remove()
            self._forward_handle = None

    # -- hooks ----------------------------------------------------------------------------
    def _forward(self, module: nn.Module, inputs: Any, output: Any) -> None:
        if self._layers_guard.active and torch.is_grad_enabled():  # eval passes: not training
            self._layers_guard.run(self._saw_output, module, inputs, output)
            if not self._layers_guard.active:
                self._set_forward_hook(False)

    def _saw_output(self, module: nn.Module, inputs: Any, output: Any) -> None:
        key = id(module)
        if key not in self._seen:
            self._seen[key] = weakref.ref(module)
        if not is_watched_module(module) or not self.recorder.schedule.detail(self.step):
            return
        if self._model is not None and key not in self._model_modules:
            return
        if inputs and isinstance(inputs[0], torch.Tensor):
            producer = self._flow.get(id(inputs[0]))
            if producer is not None and producer[0]() is inputs[0]:
                self._edges.setdefault(key, set()).add(producer[1])
            elif module._parameters:  # made by something else: a functional activation?
                self._functional.consumed(key, module_kind(module), inputs[0])
        if not isinstance(output, torch.Tensor) or not output.is_floating_point():
            return
        self._flow[id(output)] = (weakref.ref(output), key)
        self._functional.produced(key, output)
        self._outputs.add(module, activation_kind(module), output,
                          self.recorder.schedule.histogram(self.step))

    def _pre_step(self, optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        if self._active and self._steps_guard.active:
            with torch.no_grad():
                self._steps_guard.run(self._before_step, optimizer)

    def _post_step(self, optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        if self._active and self._steps_guard.active:
            with torch.no_grad():
                self._steps_guard.run(self._after_step, optimizer)

    def _before_step(self, optimizer: torch.optim.Optimizer) -> None:
        state = self._state(optimizer)
        if state is None:
            return
        self._clock.stepping(optimizer)
        if state.meter is None or self._layout_stale() or self._functional.changed or (
                self._edges and not self._edges_described) or self._look_again:
            self._relayout()
        meter = state.meter
        if meter is None:
            return
        step = state.steps
        meter.before_step(self._clip.entries, self._resets.since_last_step(meter.params, step))
        if not self.recorder.schedule.detail(step):
            return
        if step == 0:  # the init, before any update touches it
            detail.param_norms(self.recorder, 0, m.WEIGHT_NORM_INIT, state.names, state.params)
        with_grad = [(n, p.grad) for n, p in zip(meter.names, meter.params)
                     if p.grad is not None]
        if self.recorder.nonfinite_seen:
            detail.nonfinite_counts(self.recorder, step, m.GRAD_NONFINITE,
                                    [n for n, _ in with_grad], [g for _, g in with_grad])
        if self.recorder.schedule.histogram(step):
            detail.histograms(self.recorder, step, "param", m.HIST_GRAD, with_grad)
        self._clip.record_limits(self.recorder, step, meter.names, meter.params)

    def _after_step(self, optimizer: torch.optim.Optimizer) -> None:
        state = self._opts.get(optimizer) if self._accepts(optimizer) else None
        clock = self._clock.is_clock(optimizer)
        self._clock.stepped(optimizer)
        own = self._game.stepped(id(optimizer), lambda: optimizer_params(optimizer),
                                 self.recorder, self.step)
        if self._game.found and not clock and own and self._losses:  # the other player's
            del self._losses[-min(own, len(self._losses)):]
        if state is None or state.meter is None:
            return
        step = state.steps
        loss = self._mean_loss() if clock and self._losses else None
        state.meter.after_step(step, loss, group_learning_rates(optimizer), self.recorder)
        if self.recorder.schedule.detail(step):
            exact = detail.param_norms(self.recorder, step, m.WEIGHT_NORM, state.names,
                                       state.params)
            if exact is not None:
                state.meter.calibrate(exact[:, 0])
            if self.recorder.nonfinite_seen:
                detail.nonfinite_counts(self.recorder, step, m.WEIGHT_NONFINITE, state.names,
                                        state.params)
            if self.recorder.schedule.histogram(step):
                detail.histograms(self.recorder, step, "param", m.HIST_WEIGHT,
                                  zip(state.names, state.params))
            if self._world is not None:  # replicas compared across ranks at diagnosis
                distributed.record_fingerprints(self.recorder, step, state.names,
                                                state.params, self._placements)
        self._resets.stepped(state.meter.params)
        state.steps += 1
        if not clock:
            return
        # The first optimizer to step is the run's clock: losses and layer outputs go by it.
        self._clip.clear()  # (a step GradScaler skipped leaves its entries behind)
        self._stability.ship(self.step, self.recorder)
        if self.recorder.schedule.detail(self.step):
            self._outputs.ship(self.step, self._layout.module_names, self.recorder)
            self._functional.ship(self.step, self._layout.module_names, self.recorder)
            self._criterion_guard.run(self._criterion.ship, self.step, self.recorder)
            self._flow.clear()
        self._outputs.clear()
        self._functional.clear()
        self.step = state.steps
        want_forward = self.recorder.schedule.detail(self.step) or not self._layout.params
        if want_forward != (self._forward_handle is not None):
            self._set_forward_hook(want_forward)

    def _mean_loss(self) -> torch.Tensor:
        """The step's loss (the mean of its backward calls' losses), on its device."""
        losses, self._losses = self._losses, []
        if len(losses) == 1:
            return losses[0]
        return torch.stack([loss.reshape(()).to(torch.float64) for loss in losses]).mean()

    # -- bookkeeping ----------------------------------------------------------------------
    def _accepts(self, optimizer: torch.optim.Optimizer) -> bool:
        return self._active and (
            self._only_optimizer is None or optimizer is self._only_optimizer)

    def _state(self, optimizer: torch.optim.Optimizer) -> _OptState | None:
        if not self._accepts(optimizer):
            return None
        state = self._opts.get(optimizer)
        if state is None:
            state = self._opts[optimizer] = _OptState(
                index=len(self._opts), steps=self._clock.first_steps(optimizer, self.step))
        return state

    def _layout_stale(self) -> bool:
        signature = tuple(len(optimizer_params(o)) for o in self._opts.keys())
        return signature != self._layout.signature

    def _candidates(self, optimizers: list[torch.optim.Optimizer]) -> list[nn.Module]:
        """The models that may own the optimized parameters: the given one, or the roots
        among the modules called so far and those found holding parameters no called module
        holds (a forward that runs inside ``optimizer.step(closure)``)."""
        if self._model is not None:
            return [self._model]
        alive = [r() for r in [*self._owners, *self._seen.values()]]
        candidates = roots_among([*running_modules(), *(m for m in alive if m is not None)])
        held = {id(p) for mod in candidates for p in mod.parameters()}
        loose = {id(p) for o in optimizers for p in optimizer_params(o)} - held
        if loose:
            found = live_owners(loose)
            self._owners += [weakref.ref(mod) for mod in found]
            candidates = roots_among([*found, *candidates])
        return candidates

    def _relayout(self) -> None:
        optimizers = list(self._opts.keys())
        # the model the user wrote, not its DDP/FSDP wrapper (names without ``module.``)
        candidates, replicated = distributed.unwrap_all(self._candidates(optimizers))
        self._layout = resolve_layout(optimizers, candidates, self._namespace(), self._trained,
                                      self._layout)
        self._world = distributed.world()
        self._placements = distributed.placements(list(self._layout.params.values()),
                                                  replicated)
        orphans = [(n, p) for n, p in self._layout.params.items()
                   if id(p) not in self._layout.optimized]
        for optimizer in optimizers:
            state = self._opts[optimizer]
            group_of = {id(p): g for g, group in enumerate(optimizer.param_groups)
                        for p in group["params"]}
            params = [p for p in optimizer_params(optimizer) if id(p) in self._layout.param_names]
            state.params = params
            state.names = [self._layout.param_names[id(p)] for p in params]
            extra = orphans if self._clock.is_clock(optimizer) else []
            if state.meter is not None:
                state.meter.flush(self.recorder)
            state.meter = StepMeter(state.names + [n for n, _ in extra],
                                    params + [p for _, p in extra], len(params),
                                    [group_of[id(p)] for p in params])
        self._edges_described = bool(self._edges)
        self._functional.changed = False
        edges = {k: v | self._functional.edges.get(k, set()) for k, v in self._edges.items()}
        edges.update({k: v for k, v in self._functional.edges.items() if k not in edges})
        describe(self.recorder, self._layout, {key: i for i, key in enumerate(self._seen)},
                 edges, {o: s.index for o, s in self._opts.items()}, self._placements,
                 self._functional.families)
        # a model first called with the forward hook off (a second model, trained after the
        # first) has no forward order or data flow yet: watch its next forward, then describe
        unseen = any(id(r()) not in self._seen for r in self._layout.modules.values() if r())
        self._look_again = unseen and not self._look_again
        if self._look_again:
            self.recorder.schedule.force(self.step, 2)
            self._set_forward_hook(True)

