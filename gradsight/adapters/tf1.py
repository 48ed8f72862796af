"""TF1 graph-mode adapter: placeholders, ``tf.Session``, ``tf.get_variable`` scripts.

Three class-level wrappers of ``tf.compat.v1``:

- ``Optimizer.compute_gradients`` and ``tf.gradients``: remember the loss of the graph;
- ``Optimizer.apply_gradients``: when the train op is built, build next to it (under a
  ``gradsight`` name scope) the ops of one statistics vector: each gradient's norm, each weight's
  norm after the update and the update's norm, the learning rate;
- ``BaseSession.run``: a run that fetches a watched train op also fetches the loss, and on
  recorded steps the statistics vector, in the *same* run, so the numbers are those of the step
  that trained. The user's fetches come back exactly as they would have.

The update's norm needs the weights before the step: on recorded steps only, one extra run
copies them into non-trainable snapshot variables kept out of every collection (so ``Saver``
and ``global_variables_initializer`` never see them). Nothing of this consumes random numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import tensorflow as tf
from tensorflow.python.client import session as tf_session

from ..core.recorder import LOSS_ROLE, Recorder
from . import tf1_graph
from .tf_activations import DEAD_WINDOW, SATURATION_LEVEL
from .tf_stats import F64, norm64, scalar64

ACT_METRICS = ("act_mean", "act_std", "act_zero_frac", "act_nonfinite", "act_saturated_frac")

v1 = tf.compat.v1
MAX_BUFFERED_LOSSES = 1024


@dataclass
class _Plan:
    """Everything watched about one train op."""

    index: int
    names: list[str]
    has_grad: list[bool]
    keys: list[tuple[str, str, str]]  # (role, name, metric) for each entry of ``stats``
    stats: Any
    snapshot: Any
    loss: Any
    steps: int = 0
    losses: list[tuple[int, float]] = field(default_factory=list)
    active: dict[str, Any] = field(default_factory=dict)  # ReLU layer -> units positive (op)
    windows: dict[str, tuple[np.ndarray, int]] = field(default_factory=dict)


class TF1Watcher:
    """Watches every train op a TF1 graph builds through ``Optimizer.apply_gradients``."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self._plans: dict[Any, _Plan] = {}  # train op -> plan
        self._losses: dict[Any, Any] = {}  # graph -> last loss seen by compute_gradients
        self._saved: list[tuple[Any, str, Any]] = []
        self._active = False
        self._clock: _Plan | None = None

    @property
    def framework(self) -> str:
        return "tensorflow"

    @property
    def step(self) -> int:
        return max((p.steps for p in self._plans.values()), default=0)

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> "TF1Watcher":
        opt = v1.train.Optimizer
        self._patch(opt, "compute_gradients", self._wrap_compute)
        self._patch(opt, "apply_gradients", self._wrap_apply)
        self._patch(tf_session.BaseSession, "run", self._wrap_run)
        self._patch(v1, "gradients", self._wrap_gradients)
        self._active = True
        return self

    def stop(self) -> None:
        if not self._active:
            return
        self._active = False
        for owner, name, original in reversed(self._saved):
            setattr(owner, name, original)
        self._saved = []
        for plan in self._plans.values():
            self._ship_losses(plan)
        self.recorder.end_batch()

    def _patch(self, owner: Any, name: str, make: Callable[[Any], Any]) -> None:
        original = getattr(owner, name)
        self._saved.append((owner, name, original))
        setattr(owner, name, make(original))

    # -- wrappers -------------------------------------------------------------------------
    def _wrap_compute(self, original: Callable[..., Any]) -> Callable[..., Any]:
        watcher = self

        def compute_gradients(self: Any, loss: Any, *args: Any, **kwargs: Any) -> Any:
            watcher._remember_loss(loss)
            return original(self, loss, *args, **kwargs)

        return compute_gradients

    def _wrap_gradients(self, original: Callable[..., Any]) -> Callable[..., Any]:
        watcher = self

        def gradients(ys: Any, *args: Any, **kwargs: Any) -> Any:
            watcher._remember_loss(ys)
            return original(ys, *args, **kwargs)

        return gradients

    def _wrap_apply(self, original: Callable[..., Any]) -> Callable[..., Any]:
        watcher = self

        def apply_gradients(self: Any, grads_and_vars: Any, *args: Any, **kwargs: Any) -> Any:
            pairs = list(grads_and_vars)  # may be a zip: read it once, pass the list on
            train_op = original(self, pairs, *args, **kwargs)
            if watcher._active and not tf.executing_eagerly():
                try:
                    watcher._plan(self, pairs, train_op)
                except Exception as exc:  # watching must never break the user's graph
                    watcher.recorder.event(0, "adapter_error", "tf1", {"error": repr(exc)})
            return train_op

        return apply_gradients

    def _wrap_run(self, original: Callable[..., Any]) -> Callable[..., Any]:
        watcher = self

        def run(self: Any, fetches: Any, feed_dict: Any = None, options: Any = None,
                run_metadata: Any = None) -> Any:
            plan = watcher._plan_of(fetches) if watcher._active else None
            if plan is None:
                return original(self, fetches, feed_dict, options, run_metadata)
            return watcher._run(original, self, plan, fetches, feed_dict, options, run_metadata)

        return run

    # -- graph building -------------------------------------------------------------------
    def _remember_loss(self, loss: Any) -> None:
        if isinstance(loss, (list, tuple)):
            loss = loss[0] if len(loss) == 1 else None
        if isinstance(loss, tf.Tensor) and not tf.executing_eagerly():
            if loss.dtype.is_floating and loss.shape.num_elements() == 1:
                self._losses[loss.graph] = loss

    def _plan(self, optimizer: Any, pairs: list[tuple[Any, Any]], train_op: Any) -> None:
        graph = train_op.graph
        loss = self._losses.get(graph)
        variables = [v for _, v in pairs]
        names = [v.op.name for v in variables]
        has_grad = [g is not None for g, _ in pairs]
        # control_dependencies(None): the script may build its train op inside
        # `with tf.control_dependencies(update_ops)`; ops of ours must not inherit that (the
        # snapshot would re-run the batch-norm updates and need the step's feeds)
        with graph.as_default(), graph.control_dependencies(None), v1.name_scope("gradsight"):
            snapshots = [
                v1.Variable(tf.zeros(v.shape, v.dtype.base_dtype), trainable=False,
                            collections=[], name="before")
                for v in variables
            ]
            snapshot = tf.group(*[s.assign(v.value()) for s, v in zip(snapshots, variables)])
            keys, values = [], []
            for name, (g, _) in zip(names, pairs):
                if g is not None:
                    keys.append(("param", name, "grad_norm"))
                    values.append(norm64(g))
            with tf.control_dependencies([train_op]):
                for name, v, s in zip(names, variables, snapshots):
                    after = tf.identity(v.value())
                    keys += [("param", name, "weight_norm"), ("param", name, "update_norm")]
                    values += [norm64(after), norm64(after - s)]
                lr = _learning_rate(optimizer)
                if lr is not None:
                    for name in names:
                        keys.append(("param", name, "lr"))
                        values.append(scalar64(lr))
            found = tf1_graph.layout(variables, loss)
            active = {}
            for module, spec in found.modules.items():  # the forward of the same run
                if spec.get("output") is not None and spec["output"].dtype.is_floating:
                    row, units = tf1_activation_row(spec["output"], spec["activation"])
                    keys += [("module", module, m) for m in ACT_METRICS]
                    values += row
                    if units is not None:
                        active[module] = units
            stats = tf.stack(values) if values else tf.zeros([0], F64)
        plan = _Plan(len(self._plans), names, has_grad, keys, stats, snapshot, loss)
        plan.active = active
        self._plans[train_op] = plan
        self._describe(optimizer, plan, variables, found)

    def _describe(self, optimizer: Any, plan: _Plan, variables: list[Any],
                  found: tf1_graph.GraphLayout) -> None:
        graph = variables[0].graph if variables else None
        trainable = set()
        if graph is not None:
            with graph.as_default():
                trainable = {v.op.name for v in v1.trainable_variables()}
        for name, module in sorted(found.modules.items(), key=lambda kv: kv[1]["order"]):
            self.recorder.describe("module", name, module["order"], {
                "type": module["type"], "activation": module["activation"],
                "inputs_from": [], "owner": None,
            })
        lr = _python_lr(optimizer)
        for i, (name, v, grad) in enumerate(zip(plan.names, variables, plan.has_grad)):
            info = found.variables.get(name, tf1_graph.VarInfo())
            shape = [int(d) if d is not None else -1 for d in v.shape.as_list()]
            self.recorder.describe("param", name, i, {
                "shape": shape,
                "numel": int(np.prod(shape)) if shape else 1,
                "fan_in": int(np.prod(shape[:-1])) if len(shape) >= 2 else None,
                "requires_grad": name in trainable,
                "module": info.module,
                "module_type": info.module_type,
                "followed_by": info.followed_by,
                "feeds": info.feeds,
                "is_bias": info.is_bias,
                "reaches_loss": info.reaches_loss,
                "optimizer": plan.index,
                "optimizer_type": type(optimizer).__name__,
                "lr": lr,
                "optimized": grad,
            })

    # -- running --------------------------------------------------------------------------
    def _plan_of(self, fetches: Any) -> _Plan | None:
        if not self._plans:
            return None
        for item in tf.nest.flatten(fetches):
            op = item if isinstance(item, tf.Operation) else getattr(item, "op", None)
            plan = self._plans.get(op) if op is not None else None
            if plan is not None:
                return plan
        return None

    def _run(self, original: Callable[..., Any], session: Any, plan: _Plan, fetches: Any,
             feed_dict: Any, options: Any, run_metadata: Any) -> Any:
        step = plan.steps
        recorded = self.recorder.wants(step)
        extra: dict[str, Any] = {}
        if plan.loss is not None:
            extra["loss"] = plan.loss
        if recorded:
            original(session, plan.snapshot)
            extra["stats"] = plan.stats
            extra["active"] = plan.active
        result, got = original(session, [fetches, extra], feed_dict, options, run_metadata)
        plan.steps += 1
        if self._clock is None:
            self._clock = plan
        if "loss" in got and plan is self._clock:
            plan.losses.append((step, float(got["loss"])))
        if recorded:
            self.recorder.record_rows([
                (step, "param", n, "has_grad", float(h)) for n, h in zip(plan.names, plan.has_grad)
            ])
            keys = [(step, role, n, m) for role, n, m in plan.keys]
            self.recorder.defer(keys, np.asarray(got["stats"], dtype=np.float64))
            self._dead_units(plan, step, got.get("active", {}))
            self._ship_losses(plan, end=False)
            self.recorder.end_batch()
        elif len(plan.losses) >= MAX_BUFFERED_LOSSES:
            self._ship_losses(plan)
        return result

    def _dead_units(self, plan: _Plan, step: int, active: dict[str, Any]) -> None:
        """Per ReLU layer: units silent over the batch, and over DEAD_WINDOW recorded steps."""
        rows = []
        for module, units in active.items():
            units = np.asarray(units, dtype=bool)
            rows.append((step, "module", module, "dead_frac", 1.0 - float(units.mean())))
            seen, count = plan.windows.get(module, (units, 0))
            seen = seen | units if seen.shape == units.shape else units
            if count + 1 >= DEAD_WINDOW:
                rows.append((step, "module", module, "dead_frac_window",
                             1.0 - float(seen.mean())))
                plan.windows.pop(module, None)
            else:
                plan.windows[module] = (seen, count + 1)
        self.recorder.record_rows(rows)

    def _ship_losses(self, plan: _Plan, end: bool = True) -> None:
        if plan.losses:
            keys = [(s, LOSS_ROLE, "", "value") for s, _ in plan.losses]
            self.recorder.defer(keys, np.array([v for _, v in plan.losses], dtype=np.float64))
            plan.losses = []
            if end:
                self.recorder.end_batch()


def _learning_rate(optimizer: Any) -> Any:
    for attr in ("_learning_rate_tensor", "_lr_t", "_learning_rate", "_lr"):
        value = getattr(optimizer, attr, None)
        if value is not None and not callable(value):
            return value
    return None


def _python_lr(optimizer: Any) -> float | None:
    for attr in ("_learning_rate", "_lr"):
        value = getattr(optimizer, attr, None)
        if isinstance(value, (int, float)):
            return float(value)
    return None


def tf1_activation_row(output: Any, family: str | None) -> tuple[list[Any], Any]:
    """A layer output's ACT_METRICS ops (float64), and for ReLU the per-unit "fired" op."""
    d = tf.stop_gradient(output)
    x = tf.reshape(tf.cast(d, F64), [-1])
    n = tf.cast(tf.maximum(tf.size(x), 1), F64)
    total = tf.reduce_sum(x)
    mean = total / n
    std = tf.sqrt(tf.maximum(tf.reduce_sum(x * x) / n - mean * mean, 0.0))
    zero = tf.reduce_sum(tf.cast(tf.equal(x, 0.0), F64)) / n
    nonfinite = tf.cast(tf.logical_not(tf.math.is_finite(total)), F64)
    if family == "tanh":
        saturated = tf.reduce_sum(tf.cast(tf.abs(x) > SATURATION_LEVEL, F64)) / n
    elif family == "sigmoid":
        far = tf.logical_or(x < 1 - SATURATION_LEVEL, x > SATURATION_LEVEL)
        saturated = tf.reduce_sum(tf.cast(far, F64)) / n
    else:
        saturated = tf.constant(0.0, F64)
    units = None
    if family == "relu" and d.shape.rank:
        axes = list(range(d.shape.rank - 1))
        units = tf.reduce_any(d > 0, axis=axes) if axes else d > 0
    return [mean, std, zero, nonfinite, saturated], units
