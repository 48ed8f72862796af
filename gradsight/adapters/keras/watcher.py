"""Keras 3 (TensorFlow backend) adapter: ``model.fit`` and custom ``tf.GradientTape`` loops.

Class-level wrappers, so that no user code changes:

- ``keras.optimizers.Optimizer.apply``: the one door every update goes through (``fit``,
  ``apply_gradients``, custom loops; eager or inside ``tf.function``). It sees the gradients
  *before* Keras drops the ``None`` ones with a warning (so a missing gradient is recorded) and
  before Keras clips them. The statistics are ops built around the original call (``plan``);
- ``tf.GradientTape.gradient``: the scalar it differentiates is the step's loss;
- ``keras.layers.Layer.__call__``: call order, which layer consumed which layer's output (a
  batch norm after a Dense; a layer whose output nobody uses), and the layer outputs' detail
  statistics (``outputs``), while a step is traced;
- ``tf.function``'s ``Function.__call__`` and ``Model.fit``: host-side ticks, to read the rings
  back now and then.

Which steps get detail is decided in the graph from a mask the host fills from the schedule
(``Schedule.mask``), so forced windows (after a trigger or a NaN) reach the graph at the next
read. All ops are plain TensorFlow ops (no ``tf.py_function``), so the step stays XLA-safe.
"""

from __future__ import annotations

import time
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable

import keras
import numpy as np
import tensorflow as tf
from keras.src import backend as keras_backend
from tensorflow.python.eager.polymorphic_function import polymorphic_function

from ...core import metrics as m
from ...core.recorder import FLUSH_S, Recorder
from ..patching import Guard, Patches
from . import functional, outputs
from .criterion import KerasCriterion
from .describe import activation, describe, is_model, layer_name
from .game import LossPairing, host_step
from .mask import DetailMask
from .plan import Plan

DRAIN_EVERY = 32  # host ticks (steps or tf.function calls) between two reads


@dataclass
class _OptState:
    index: int
    optimizer: Any
    plans: dict[tuple[Any, ...], Plan] = field(default_factory=dict)
    lost: int = 0
    offset: int = 0  # run steps before its first (a new optimizer after a recompile)

    def host_step(self) -> int:
        return host_step(self.optimizer) + self.offset


class KerasWatcher:
    """Watches every Keras optimizer of the process (or only ``optimizer``/``model``)."""

    framework = "tensorflow"
    api = "keras"

    def __init__(self, recorder: Recorder, model: Any = None, optimizer: Any = None) -> None:
        self.recorder = recorder
        self.step = 0
        self._only = optimizer
        self._models: list[weakref.ref[Any]] = [weakref.ref(model)] if model is not None else []
        self._watch_model = model is not None
        self._opts: dict[int, _OptState] = {}
        self._clock: int | None = None
        self._losses = LossPairing()  # which loss each step is for; a GAN's two players
        self._patches = Patches()
        self._active = False
        self._ticks = 0
        self._last_drain = time.monotonic()
        self._layer_order: dict[int, int] = {}
        self._layers: dict[int, Any] = {}
        self._edges: dict[int, set[int]] = {}
        self._flow: dict[int, tuple[Any, int]] = {}
        self._rings: dict[int, outputs.LayerRing] = {}
        self._functional = functional.FunctionalInputs()  # activations applied as functions
        self._mask = DetailMask(recorder.schedule)
        self._criterion = KerasCriterion()
        self._flag: Any = None  # in-graph: does the clock's current step get detail
        self._hist_flag: Any = None  # ... and histograms
        self._act_step: Any = None  # in-graph: the clock's current step
        step = lambda: self.step  # noqa: E731
        self._steps_guard = Guard(recorder, "keras: optimizer steps", step)
        self._layers_guard = Guard(recorder, "keras: layer outputs", step)
        self._criterion_guard = Guard(recorder, "keras: loss reference", step)

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> "KerasWatcher":
        self._patches.wrap(keras.optimizers.Optimizer, "apply", self._wrap_apply)
        self._patches.wrap(tf.GradientTape, "gradient", self._wrap_gradient)
        self._patches.wrap(keras.layers.Layer, "__call__", self._wrap_layer_call)
        self._patches.wrap(keras.Model, "fit", self._wrap_fit)
        self._patches.wrap(polymorphic_function.Function, "__call__", self._wrap_function_call)
        self._criterion.install(self._patches, self._criterion_guard)
        self._active = True
        return self

    def stop(self) -> None:
        if not self._active:
            return
        self._active = False
        self._patches.restore()
        self.drain()
        self._criterion_guard.run(self._criterion.finish, max(self.step - 1, 0),
                                  self._ship_criterion)

    # -- wrappers -------------------------------------------------------------------------
    def _wrap_apply(self, original: Callable[..., Any]) -> Callable[..., Any]:
        watcher = self

        def apply(self: Any, grads: Any, trainable_variables: Any = None) -> Any:
            prepared = None
            if watcher._accepts(self) and grads and watcher._steps_guard.active:
                prepared = watcher._steps_guard.run(watcher._prepare, self, grads,
                                                    trainable_variables)
            if prepared is None:
                return original(self, grads, trainable_variables)
            plan, taken, step, detail, loss, grads = prepared
            result = original(self, grads, trainable_variables)
            watcher._steps_guard.run(watcher._finish, self, plan, taken, step, detail, loss)
            return result

        return apply

    def _prepare(self, optimizer: Any, grads: Any, passed: Any) -> Any:
        grads = list(grads)
        variables = list(passed) if passed is not None else None
        if variables is None and optimizer.built:
            variables = list(optimizer._trainable_variables)
        if variables is None or len(variables) != len(grads):
            return None
        if not optimizer.built:  # build outside our cond, as Keras itself would on this call
            with keras_backend.name_scope(optimizer.name, caller=optimizer):
                optimizer.build(variables)
            optimizer.built = True
        state = self._state(optimizer)
        plan = self._plan(state, optimizer, grads, variables)
        loss = self._usable(self._losses.take(id(optimizer), variables,
                                              self._clock == id(optimizer), self.recorder,
                                              state.host_step))
        step = tf.identity(optimizer.iterations) + tf.constant(state.offset, tf.int64)
        detail = self._detail(step)
        hist = self._mask.histogram(step)
        taken = plan.before(grads, step, detail, hist)
        return plan, taken, step, (detail, hist), loss, grads

    def _finish(self, optimizer: Any, plan: Plan, taken: Any, step: Any, flags: Any,
                loss: Any) -> None:
        detail, hist = flags
        broken = plan.after(taken, step, detail, hist, loss)
        if self._clock == id(optimizer):
            self._mask.force_if_broken(step, broken)  # before the next step's flag is set
            self._criterion_guard.run(self._criterion.after_step, step, detail)
        if self._clock == id(optimizer) and self._flag is not None:
            self._act_step.assign(step + 1)
            self._flag.assign(self._detail(step + 1))
            self._hist_flag.assign(self._mask.histogram(step + 1))
        if tf.executing_eagerly():
            self._tick()

    def _wrap_gradient(self, original: Callable[..., Any]) -> Callable[..., Any]:
        watcher = self

        def gradient(self: Any, target: Any, *args: Any, **kwargs: Any) -> Any:
            if watcher._active and isinstance(target, tf.Tensor) and target.dtype.is_floating:
                if target.shape.rank == 0 or target.shape.num_elements() == 1:
                    sources = args[0] if args else kwargs.get("sources")
                    watcher._steps_guard.run(watcher._losses.saw, self, target, sources)
            return original(self, target, *args, **kwargs)

        return gradient

    def _wrap_layer_call(self, original: Callable[..., Any]) -> Callable[..., Any]:
        watcher = self

        def __call__(self: Any, *args: Any, **kwargs: Any) -> Any:
            out = original(self, *args, **kwargs)
            if watcher._active and watcher._layers_guard.active:
                watcher._layers_guard.run(watcher._saw_layer, self, args[0] if args else None,
                                          out)
            return out

        return __call__

    def _wrap_fit(self, original: Callable[..., Any]) -> Callable[..., Any]:
        watcher = self

        def fit(self: Any, *args: Any, **kwargs: Any) -> Any:
            if watcher._active and not any(r() is self for r in watcher._models):
                watcher._models.append(weakref.ref(self))
            try:
                return original(self, *args, **kwargs)
            finally:
                if watcher._active:
                    watcher.drain()

        return fit

    def _wrap_function_call(self, original: Callable[..., Any]) -> Callable[..., Any]:
        watcher = self

        def __call__(self: Any, *args: Any, **kwargs: Any) -> Any:
            out = original(self, *args, **kwargs)
            if watcher._opts and tf.executing_eagerly():
                watcher._tick()
            return out

        return __call__

    # -- the in-graph part ----------------------------------------------------------------
    def _accepts(self, optimizer: Any) -> bool:
        if not self._active or hasattr(optimizer, "inner_optimizer"):
            return False  # a LossScaleOptimizer applies through its inner optimizer: seen there
        if self._only is not None:
            return optimizer is self._only
        model = self._models[0]() if self._models and self._watch_model else None
        if model is not None:  # watch(model): the optimizer compiled into it
            return optimizer is getattr(model, "optimizer", None)
        return True

    def _detail(self, step: Any) -> Any:
        return self._mask.detail(step)

    @staticmethod
    def _usable(loss: Any) -> Any:
        """The loss, if the step being built can read it (not a tensor of another graph)."""
        if loss is None:
            return None
        if tf.executing_eagerly():
            return None if tf.is_symbolic_tensor(loss) else loss
        graph = getattr(loss, "graph", None)
        return loss if graph is tf.compat.v1.get_default_graph() else None

    def _state(self, optimizer: Any) -> _OptState:
        """An optimizer's state. One that first steps when the run has taken steps already
        (``compile`` again, as transfer learning does between its phases) continues the run's
        count and is its clock from then on; one that starts with the first (a GAN's other
        player) counts from 0 beside it."""
        key = id(optimizer)
        state = self._opts.get(key)
        if state is None:
            taken = max((s.host_step() for s in self._opts.values()), default=0)
            state = self._opts[key] = _OptState(len(self._opts), optimizer)
            if self._clock is None or taken > 1:
                state.offset = taken
                self._clock = key
                self._losses.clock_changed()
        return state

    def _plan(self, state: _OptState, optimizer: Any, grads: list[Any],
              variables: list[Any]) -> Plan:
        has_grad = [g is not None for g in grads]
        key = (*(id(v) for v in variables), *has_grad)
        plan = state.plans.get(key)
        if plan is None:
            from .describe import name_of

            plan = state.plans[key] = Plan(optimizer, variables, [name_of(v) for v in variables],
                                           has_grad, state.index)
            plan.read = state.offset - 1  # nothing of its own before the run's count
        return plan

    # -- layers (traced once; bookkeeping on the host) -------------------------------------
    def _saw_layer(self, layer: Any, inputs: Any, output: Any) -> None:
        if is_model(layer):
            return  # the model's own call: its layers are the modules
        key = id(layer)
        if key not in self._layer_order:
            self._layer_order[key] = len(self._layer_order)
            self._layers[key] = weakref.ref(layer)
        for tensor in tf.nest.flatten(inputs):
            producer = self._flow.get(id(tensor))
            known = producer is not None and producer[0] is tensor and producer[1] != key
            if known:
                self._edges.setdefault(key, set()).add(producer[1])
            if layer.weights and (not known or self._moves_only(producer[1])):
                self._functional_input(layer, tensor)  # an activation applied as a function?
        for tensor in tf.nest.flatten(output):
            if isinstance(tensor, (tf.Tensor, tf.Variable)) or hasattr(tensor, "shape"):
                self._flow[id(tensor)] = (tensor, key)
        if isinstance(output, tf.Tensor) and output.dtype.is_floating and (
                layer.weights or activation(layer) is not None):
            self._record_output(layer, output)

    def _moves_only(self, key: int) -> bool:
        """A layer that only moves values (Flatten, Dropout, pooling): no weights, no
        activation, so what went through it is still what came before it."""
        ref = self._layers.get(key)
        layer = ref() if ref is not None else None
        return layer is not None and not layer.weights and activation(layer) is None

    def _functional_input(self, layer: Any, tensor: Any) -> None:
        producer = self._functional.consumed(id(layer), tensor, self._flow, self._layers)
        if producer is not None:
            self._edges.setdefault(id(layer), set()).add(producer)
            self._ensure_flag()
            self._functional.record(producer, tensor, self._act_step, self._flag)

    def _record_output(self, layer: Any, output: Any) -> None:
        self._ensure_flag()
        ring = self._rings.get(id(layer))
        if ring is None:
            units = output.shape[-1] if output.shape.rank else None
            ring = self._rings[id(layer)] = outputs.make_ring(layer_name(layer),
                                                              activation(layer), units)
        outputs.record(ring, output, self._act_step, self._flag, self._hist_flag)

    def _ensure_flag(self) -> None:
        if self._flag is None:
            start = 0
            if self._clock is not None:
                start = self._opts[self._clock].host_step()
            with tf.init_scope():
                self._act_step = tf.Variable(tf.constant(start, tf.int64), trainable=False,
                                             name="gradsight_step")
                self._flag = tf.Variable(self._detail(tf.constant(start, tf.int64)),
                                         trainable=False, name="gradsight_detail_flag")
                self._hist_flag = tf.Variable(
                    self._mask.histogram(tf.constant(start, tf.int64)), trainable=False,
                    name="gradsight_hist_flag")

    # -- host side ------------------------------------------------------------------------
    def _tick(self) -> None:
        self._ticks += 1
        if self._ticks % DRAIN_EVERY == 0 or time.monotonic() - self._last_drain >= FLUSH_S:
            self.drain()

    def drain(self) -> None:
        """Read the rings and hand the new rows to the recorder (a host sync, done rarely)."""
        if self._opts:
            self._steps_guard.run(self._drain)
        self._last_drain = time.monotonic()

    def _drain(self) -> None:
        self._flow.clear()
        for key, state in self._opts.items():
            end = int(state.optimizer.iterations.numpy()) + state.offset
            for plan in state.plans.values():
                if not plan.described:
                    self._describe(plan, state)
                lost = plan.drain(end, self.recorder.steps, self._ship_detail,
                                  self._ship_hists)
                if lost and not state.lost:
                    self.recorder.event(end, "rows_lost", plan.names[0] if plan.names else "",
                                        {"steps": lost, "reason": "more steps than the ring "
                                         "holds between two reads"})
                state.lost += lost
            if key == self._clock:
                self.step = max(self.step, end)
        for ring in self._rings.values():
            for step, metrics, values in outputs.drain(ring):
                self.recorder.record(step, "module", [ring.name], metrics, [values])
            for step, values in outputs.drain_hists(ring):
                self.recorder.histograms(step, "module", m.HIST_ACT, [ring.name], [values])
        self._functional.drain(self.recorder)  # after the producers' own rows
        self._criterion_guard.run(self._criterion.drain, self._ship_criterion)
        self.recorder.poll()
        self._mask.refill(self.step)  # forced windows the rows just caused reach the graph

    def _ship_hists(self, step: int, metric: str, names: list[str], values: np.ndarray) -> None:
        self.recorder.histograms(step, "param", metric, names, values)

    def _ship_criterion(self, step: int, names: list[str], metrics: tuple[str, ...],
                        values: Any) -> None:
        self.recorder.record(step, m.LOSS_ROLE, names, metrics, values)

    def _ship_detail(self, step: int, names: list[str], metric: str, values: np.ndarray) -> None:
        self.recorder.record(step, "param", names, (metric,), values[:, None])

    def _describe(self, plan: Plan, state: _OptState) -> None:
        plan.described = True
        layers = {k: r() for k, r in self._layers.items()}
        layers = {k: v for k, v in layers.items() if v is not None}
        models = [m for m in (r() for r in self._models) if m is not None]
        describe(self.recorder, plan, state.index, layers, self._layer_order, self._edges,
                 models, self._functional.families)
