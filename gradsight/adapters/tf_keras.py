"""Keras 3 (TensorFlow backend) adapter: ``model.fit`` and custom ``tf.GradientTape`` loops.

Class-level wrappers, so that no user code changes:

- ``keras.optimizers.Optimizer.apply``: the one door every update goes through (``fit``,
  ``apply_gradients``, custom loops; eager or inside ``tf.function``). It sees the gradients
  *before* Keras drops the ``None`` ones with a warning, so a missing gradient is recorded;
- ``tf.GradientTape.gradient``: the scalar it differentiates is the step's loss;
- ``keras.layers.Layer.__call__``: call order and which layer consumed which layer's output
  (a batch norm after a Dense; a layer whose output nobody uses), while a step is traced;
- ``tf.function``'s ``Function.__call__``: a host-side tick on every step, used to read the
  recorded statistics back now and then.

The statistics are ops in the training graph, XLA-safe (no ``tf.py_function``): on recorded
steps (decided in-graph from ``optimizer.iterations``) a ``tf.cond`` snapshots the weights
before the update and afterwards writes one float64 row (step, loss, lr, and per variable the
gradient, weight and update norms) into a ring of rows held in non-trainable variables created
under ``tf.init_scope()``. Every step writes only its loss into a ring of losses. The host reads
both rings every ``DRAIN_EVERY`` steps and at the end, never inside a step.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import Any, Callable

import keras
from keras.src import backend as keras_backend
import numpy as np
import tensorflow as tf
from tensorflow.python.eager.polymorphic_function import polymorphic_function

from ..core.recorder import DEFAULT_EVERY, DENSE_START, LOSS_ROLE, Recorder
from . import tf_activations as acts
from .tf_stats import ACTIVATIONS, F64, norm64, scalar64

ROWS = 512  # recorded steps held between two reads
LOSSES = 4096  # per-step losses held between two reads
DRAIN_EVERY = 64  # host ticks (steps or tf.function calls) between reads
METRICS = ("grad_norm", "weight_norm", "update_norm")


@dataclass
class _Plan:
    """One optimizer applying one list of variables: its buffers and what it has shipped."""

    optimizer: Any
    variables: list[Any]
    names: list[str]
    has_grad: list[bool]
    rows: Any = None
    count: Any = None
    snapshots: list[Any] = field(default_factory=list)
    read: int = 0
    described: bool = False


@dataclass
class _OptState:
    index: int
    losses: Any = None
    loss_read: int = 0
    plans: dict[tuple[Any, ...], _Plan] = field(default_factory=dict)


class KerasWatcher:
    """Watches every Keras optimizer of the process (or only ``optimizer``/``model``)."""

    def __init__(self, recorder: Recorder, model: Any = None, optimizer: Any = None) -> None:
        self.recorder = recorder
        self._only = optimizer
        self._models: list[weakref.ref[Any]] = []
        self._watch_model = model is not None
        if model is not None:
            self._models.append(weakref.ref(model))
        self._opts: dict[int, _OptState] = {}
        self._opt_refs: dict[int, Any] = {}
        self._clock: int | None = None
        self._pending_loss: Any = None
        self._saved: list[tuple[Any, str, Any]] = []
        self._active = False
        self._ticks = 0
        self._layer_order: dict[int, int] = {}
        self._layers: dict[int, Any] = {}
        self._edges: dict[int, set[int]] = {}  # id(consumer layer) -> ids of producer layers
        self._flow: dict[int, tuple[Any, int]] = {}  # id(tensor) -> (tensor, id(layer))
        self._rings: dict[int, acts.LayerRing] = {}
        self._flag: Any = None  # in-graph: is the clock's current step recorded
        self._act_step: Any = None  # in-graph: the clock's current step
        self.step = 0

    @property
    def framework(self) -> str:
        return "tensorflow"

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> "KerasWatcher":
        self._patch(keras.optimizers.Optimizer, "apply", self._wrap_apply)
        self._patch(tf.GradientTape, "gradient", self._wrap_gradient)
        self._patch(keras.layers.Layer, "__call__", self._wrap_layer_call)
        self._patch(keras.Model, "fit", self._wrap_fit)
        self._patch(polymorphic_function.Function, "__call__", self._wrap_function_call)
        self._active = True
        return self

    def stop(self) -> None:
        if not self._active:
            return
        self._active = False
        for owner, name, original in reversed(self._saved):
            setattr(owner, name, original)
        self._saved = []
        self.drain()

    def _patch(self, owner: Any, name: str, make: Callable[[Any], Any]) -> None:
        original = owner.__dict__[name] if name in owner.__dict__ else getattr(owner, name)
        self._saved.append((owner, name, original))
        setattr(owner, name, make(original))

    # -- wrappers -------------------------------------------------------------------------
    def _wrap_apply(self, original: Callable[..., Any]) -> Callable[..., Any]:
        watcher = self

        def apply(self: Any, grads: Any, trainable_variables: Any = None) -> Any:
            if not watcher._accepts(self) or not grads:
                return original(self, grads, trainable_variables)
            grads = list(grads)
            variables = list(trainable_variables) if trainable_variables is not None else None
            if variables is None and self.built:
                variables = list(self._trainable_variables)
            if variables is None or len(variables) != len(grads):
                return original(self, grads, trainable_variables)
            if not self.built:  # build outside our cond, as Keras itself would on this call
                with keras_backend.name_scope(self.name, caller=self):
                    self.build(variables)
                self.built = True
            return watcher._watched_apply(original, self, grads, variables, trainable_variables)

        return apply

    def _wrap_gradient(self, original: Callable[..., Any]) -> Callable[..., Any]:
        watcher = self

        def gradient(self: Any, target: Any, *args: Any, **kwargs: Any) -> Any:
            if watcher._active and isinstance(target, tf.Tensor) and target.dtype.is_floating:
                if target.shape.rank == 0 or target.shape.num_elements() == 1:
                    watcher._pending_loss = target
            return original(self, target, *args, **kwargs)

        return gradient

    def _wrap_layer_call(self, original: Callable[..., Any]) -> Callable[..., Any]:
        watcher = self

        def __call__(self: Any, *args: Any, **kwargs: Any) -> Any:
            out = original(self, *args, **kwargs)
            if watcher._active:
                try:
                    watcher._saw_layer(self, args[0] if args else None, out)
                except Exception:  # bookkeeping only: never break the user's model
                    pass
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

    def _watched_apply(self, original: Callable[..., Any], optimizer: Any, grads: list[Any],
                       variables: list[Any], passed: Any) -> Any:
        state = self._state(optimizer)
        plan = self._plan(state, optimizer, grads, variables)
        loss = self._take_loss()
        step = tf.identity(optimizer.iterations)
        recorded = self._is_recorded(step)

        def snapshot() -> Any:
            for s, v in zip(plan.snapshots, plan.variables):
                s.assign(v)
            return tf.constant(True)

        tf.cond(recorded, snapshot, lambda: tf.constant(False))
        result = original(optimizer, grads, passed)

        def write_row() -> Any:
            lr = scalar64(optimizer.learning_rate)
            values = [scalar64(step), scalar64(loss) if loss is not None else
                      tf.constant(np.nan, F64), lr]
            for g, v, s in zip(grads, plan.variables, plan.snapshots):
                after = tf.convert_to_tensor(v)
                grad = norm64(g) if g is not None else tf.constant(np.nan, F64)
                values += [grad, norm64(after), norm64(after - tf.convert_to_tensor(s))]
            slot = plan.count % ROWS
            plan.rows[slot].assign(tf.stack(values))
            plan.count.assign_add(1)
            return tf.constant(True)

        tf.cond(recorded, write_row, lambda: tf.constant(False))
        if self._clock == id(optimizer) and self._flag is not None:
            self._act_step.assign(step + 1)
            self._flag.assign(self._is_recorded(step + 1))
        if loss is not None and state.losses is not None:
            state.losses[step % LOSSES].assign(scalar64(loss))
        if tf.executing_eagerly():
            self._tick()
        return result

    def _is_recorded(self, step: Any) -> Any:
        every = self.recorder.schedule.every
        if every is not None:
            return tf.equal(step % every, 0)
        return tf.logical_or(step < DENSE_START, tf.equal(step % DEFAULT_EVERY, 0))

    def _take_loss(self) -> Any:
        loss, self._pending_loss = self._pending_loss, None
        if loss is None:
            return None
        if tf.executing_eagerly():
            return None if tf.is_symbolic_tensor(loss) else loss
        graph = getattr(loss, "graph", None)
        return loss if graph is tf.compat.v1.get_default_graph() else None

    def _state(self, optimizer: Any) -> _OptState:
        key = id(optimizer)
        state = self._opts.get(key)
        if state is None:
            state = self._opts[key] = _OptState(len(self._opts))
            self._opt_refs[key] = optimizer
            with tf.init_scope():
                state.losses = tf.Variable(tf.fill([LOSSES], tf.constant(np.nan, F64)),
                                           trainable=False, name="gradsight_losses")
                state.loss_read = int(optimizer.iterations.numpy())
            if self._clock is None:
                self._clock = key
        return state

    def _plan(self, state: _OptState, optimizer: Any, grads: list[Any],
              variables: list[Any]) -> _Plan:
        has_grad = [g is not None for g in grads]
        key = (*(id(v) for v in variables), *has_grad)
        plan = state.plans.get(key)
        if plan is None:
            names = [_name(v) for v in variables]
            plan = _Plan(optimizer, variables, names, has_grad)
            with tf.init_scope():
                width = 3 + len(METRICS) * len(variables)
                plan.rows = tf.Variable(tf.zeros([ROWS, width], F64), trainable=False,
                                        name="gradsight_rows")
                plan.count = tf.Variable(tf.constant(0, tf.int64), trainable=False,
                                         name="gradsight_count")
                plan.snapshots = [
                    tf.Variable(tf.zeros(v.shape, v.dtype), trainable=False,
                                name="gradsight_before")
                    for v in variables
                ]
            state.plans[key] = plan
        return plan

    # -- layers (traced once; bookkeeping on the host) -------------------------------------
    def _saw_layer(self, layer: Any, inputs: Any, output: Any) -> None:
        if isinstance(layer, keras.Model):
            return  # the model's own call: its layers are the modules
        key = id(layer)
        if key not in self._layer_order:
            self._layer_order[key] = len(self._layer_order)
            self._layers[key] = weakref.ref(layer)
        for tensor in tf.nest.flatten(inputs):
            producer = self._flow.get(id(tensor))
            if producer is not None and producer[0] is tensor and producer[1] != key:
                self._edges.setdefault(key, set()).add(producer[1])
        for tensor in tf.nest.flatten(output):
            if isinstance(tensor, (tf.Tensor, tf.Variable)) or hasattr(tensor, "shape"):
                self._flow[id(tensor)] = (tensor, key)
        if isinstance(output, tf.Tensor) and output.dtype.is_floating and (
                layer.weights or _activation(layer) is not None):
            self._record_output(layer, output)

    def _record_output(self, layer: Any, output: Any) -> None:
        if self._flag is None:
            start = 0
            if self._clock is not None:
                start = int(self._opt_refs[self._clock].iterations.numpy())
            with tf.init_scope():
                self._act_step = tf.Variable(tf.constant(start, tf.int64), trainable=False,
                                             name="gradsight_step")
                self._flag = tf.Variable(self._is_recorded(tf.constant(start, tf.int64)),
                                         trainable=False, name="gradsight_recorded")
        ring = self._rings.get(id(layer))
        if ring is None:
            units = output.shape[-1] if output.shape.rank else None
            ring = self._rings[id(layer)] = acts.make_ring(_layer_name(layer), _activation(layer),
                                                           units)
        acts.record(ring, output, self._act_step, self._flag)

    # -- host side ------------------------------------------------------------------------
    def _tick(self) -> None:
        self._ticks += 1
        if self._ticks % DRAIN_EVERY == 0:
            self.drain()

    def drain(self) -> None:
        """Read both rings and hand the new rows to the recorder (a host sync, done rarely)."""
        if not self._opts:
            return
        self._flow.clear()
        for key, state in self._opts.items():
            optimizer = self._opt_refs[key]
            for plan in state.plans.values():
                if not plan.described:
                    self._describe(plan, state)
                self._drain_rows(plan)
            if key == self._clock:
                self._drain_losses(state, optimizer)
            self.step = max(self.step, int(optimizer.iterations.numpy()))
        pairs = [pair for ring in self._rings.values() for pair in acts.drain(ring)]
        if pairs:
            self.recorder.defer([k for k, _ in pairs], np.array([v for _, v in pairs]))
        self.recorder.end_batch()

    def _drain_rows(self, plan: _Plan) -> None:
        count = int(plan.count.numpy())
        if count == plan.read:
            return
        rows = plan.rows.numpy()
        first = max(plan.read, count - ROWS)  # older rows were overwritten
        has = [(n, float(h)) for n, h in zip(plan.names, plan.has_grad)]
        keys, values, flags = [], [], []
        for k in range(first, count):
            row = rows[k % ROWS]
            step = int(row[0])
            flags += [(step, "param", n, "has_grad", h) for n, h in has]
            keys += [(step, "param", n, "lr") for n in plan.names]
            values += [row[2]] * len(plan.names)
            for i, (name, grad) in enumerate(zip(plan.names, plan.has_grad)):
                base = 3 + len(METRICS) * i
                for j, metric in enumerate(METRICS):
                    if metric == "grad_norm" and not grad:
                        continue
                    keys.append((step, "param", name, metric))
                    values.append(row[base + j])
        plan.read = count
        self.recorder.record_rows(flags)
        self.recorder.defer(keys, np.asarray(values, dtype=np.float64))

    def _drain_losses(self, state: _OptState, optimizer: Any) -> None:
        end = int(optimizer.iterations.numpy())
        start = max(state.loss_read, end - LOSSES)
        if end <= start:
            return
        ring = state.losses.numpy()
        steps = [s for s in range(start, end) if np.isfinite(ring[s % LOSSES])]
        state.loss_read = end
        if steps:
            keys = [(s, LOSS_ROLE, "", "value") for s in steps]
            self.recorder.defer(keys, np.array([ring[s % LOSSES] for s in steps]))

    def _describe(self, plan: _Plan, state: _OptState) -> None:
        plan.described = True
        layers = {k: r() for k, r in self._layers.items()}
        layers = {k: v for k, v in layers.items() if v is not None}
        owner_of: dict[int, int] = {}
        for key, layer in layers.items():
            for v in getattr(layer, "_trainable_variables", []) + getattr(
                    layer, "_non_trainable_variables", []):
                owner_of[id(v)] = key
        for model_ref in self._models:
            model = model_ref()
            if model is None:
                continue
            for layer in model._flatten_layers(include_self=False, recursive=True):
                for v in layer._trainable_variables:
                    owner_of.setdefault(id(v), id(layer))
                    layers.setdefault(id(layer), layer)
        names = {k: _layer_name(layer) for k, layer in layers.items()}
        kinds = {k: _activation(layer) for k, layer in layers.items()}
        consumers: dict[int, list[int]] = {}
        for consumer, producers in self._edges.items():
            for p in producers:
                consumers.setdefault(p, []).append(consumer)
        for key, layer in sorted(layers.items(), key=lambda kv: self._layer_order.get(kv[0], 1e9)):
            self.recorder.describe("module", names[key], self._layer_order.get(key, 10**6), {
                "type": type(layer).__name__,
                "activation": kinds[key],
                "inputs_from": sorted(names[p] for p in self._edges.get(key, ()) if p in names),
                "owner": None,
            })
        lr = _python_lr(plan.optimizer)
        traced = bool(self._edges)
        for i, (name, v, grad) in enumerate(zip(plan.names, plan.variables, plan.has_grad)):
            key = owner_of.get(id(v))
            layer = layers.get(key) if key is not None else None
            feeds = sorted(names[c] for c in consumers.get(key, ()) if c in names) \
                if key is not None else []
            following = [kinds[c] for c in consumers.get(key, ()) if kinds.get(c)]
            own = kinds.get(key) if layer is not None and _has_own_activation(layer) else None
            shape = [int(d) for d in v.shape]
            self.recorder.describe("param", name, i, {
                "shape": shape,
                "numel": int(np.prod(shape)) if shape else 1,
                "fan_in": int(np.prod(shape[:-1])) if len(shape) >= 2 else None,
                "requires_grad": bool(getattr(v, "trainable", True)),
                "module": names.get(key) if key is not None else None,
                "module_type": type(layer).__name__ if layer is not None else None,
                "followed_by": own or (following[0] if following else None),
                "feeds": feeds if traced else None,
                "is_bias": name.rsplit("/", 1)[-1] == "bias",
                "optimizer": state.index,
                "optimizer_type": type(plan.optimizer).__name__,
                "lr": lr,
                "optimized": grad,
            })


def _name(variable: Any) -> str:
    return str(getattr(variable, "path", None) or variable.name.split(":")[0])


def _layer_name(layer: Any) -> str:
    return str(getattr(layer, "path", None) or layer.name)


def _activation(layer: Any) -> str | None:
    kind = ACTIVATIONS.get(type(layer).__name__.lower())
    if kind is not None:
        return kind
    fn = getattr(layer, "activation", None)
    name = getattr(fn, "__name__", None) if fn is not None else None
    if isinstance(fn, str):
        name = fn
    return ACTIVATIONS.get(str(name).lower()) if name else None


def _has_own_activation(layer: Any) -> bool:
    return getattr(layer, "activation", None) is not None


def _python_lr(optimizer: Any) -> float | None:
    try:
        return float(optimizer.learning_rate.numpy())
    except Exception:
        return None
