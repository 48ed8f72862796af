"""TF1 graph-mode adapter: placeholders, ``tf.Session``, ``tf.get_variable`` scripts.

Class-level wrappers of ``tf.compat.v1`` (through ``Patches``):

- ``Optimizer.compute_gradients`` and ``tf.gradients``: remember the loss of the graph;
- ``Optimizer.apply_gradients``: when the train op is built, build next to it (under a
  ``gradsight`` name scope, never inheriting the script's control dependencies) the ops of the
  always-on row and of the detail values (``plan``);
- ``BaseSession.run``: a run that fetches a watched train op also fetches the step's row, and
  on detail steps the detail values, in the *same* run, so the numbers are those of the step
  that trained. The user's fetches come back exactly as they would have.

Nothing of this consumes random numbers or adds a dependency to the script's own ops.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import tensorflow as tf
from tensorflow.python.client import session as tf_session

from ...core.records import ModuleInfo, ParamInfo, optimizer_kind
from ...core.recorder import Recorder
from ..patching import Guard, Patches
from . import graph as tf1_graph
from .plan import Plan

v1 = tf.compat.v1


class TF1Watcher:
    """Watches every train op a TF1 graph builds through ``Optimizer.apply_gradients``."""

    framework = "tensorflow"
    api = "tf1"

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self._plans: dict[Any, Plan] = {}  # train op -> plan
        self._losses: dict[Any, Any] = {}  # graph -> last loss seen by compute_gradients
        self._patches = Patches()
        self._active = False
        self._clock: Plan | None = None
        self._guard = Guard(recorder, "tf1: train ops", lambda: self.step)

    @property
    def step(self) -> int:
        return max((p.steps for p in self._plans.values()), default=0)

    def start(self) -> "TF1Watcher":
        opt = v1.train.Optimizer
        self._patches.wrap(opt, "compute_gradients", self._wrap_compute)
        self._patches.wrap(opt, "apply_gradients", self._wrap_apply)
        self._patches.wrap(tf_session.BaseSession, "run", self._wrap_run)
        self._patches.wrap(v1, "gradients", self._wrap_gradients)
        self._active = True
        return self

    def stop(self) -> None:
        if not self._active:
            return
        self._active = False
        self._patches.restore()
        for plan in self._plans.values():
            self._guard.run(plan.flush, self.recorder)

    # -- wrappers -------------------------------------------------------------------------
    def _wrap_compute(self, original: Callable[..., Any]) -> Callable[..., Any]:
        watcher = self

        def compute_gradients(self: Any, loss: Any, *args: Any, **kwargs: Any) -> Any:
            if watcher._active:
                watcher._guard.run(watcher._remember_loss, loss)
            return original(self, loss, *args, **kwargs)

        return compute_gradients

    def _wrap_gradients(self, original: Callable[..., Any]) -> Callable[..., Any]:
        watcher = self

        def gradients(ys: Any, *args: Any, **kwargs: Any) -> Any:
            if watcher._active:
                watcher._guard.run(watcher._remember_loss, ys)
            return original(ys, *args, **kwargs)

        return gradients

    def _wrap_apply(self, original: Callable[..., Any]) -> Callable[..., Any]:
        watcher = self

        def apply_gradients(self: Any, grads_and_vars: Any, *args: Any, **kwargs: Any) -> Any:
            pairs = list(grads_and_vars)  # may be a zip: read it once, pass the list on
            train_op = original(self, pairs, *args, **kwargs)
            if watcher._active and not tf.executing_eagerly():
                watcher._guard.run(watcher._plan, self, pairs, train_op)
            return train_op

        return apply_gradients

    def _wrap_run(self, original: Callable[..., Any]) -> Callable[..., Any]:
        watcher = self

        def run(self: Any, fetches: Any, feed_dict: Any = None, options: Any = None,
                run_metadata: Any = None) -> Any:
            plan = watcher._plan_of(fetches) if watcher._active and watcher._guard.active \
                else None
            if plan is None:
                return original(self, fetches, feed_dict, options, run_metadata)
            extra = watcher._guard.run(plan.fetches, original, self, watcher.recorder)
            if extra is None:
                return original(self, fetches, feed_dict, options, run_metadata)
            result, got = original(self, [fetches, extra], feed_dict, options, run_metadata)
            watcher._guard.run(watcher._took, plan, got)
            return result

        return run

    # -- graph building -------------------------------------------------------------------
    def _remember_loss(self, loss: Any) -> None:
        if isinstance(loss, (list, tuple)):
            loss = loss[0] if len(loss) == 1 else None
        if isinstance(loss, tf.Tensor) and not tf.executing_eagerly():
            if loss.dtype.is_floating and loss.shape.num_elements() == 1:
                self._losses[loss.graph] = loss

    def _plan(self, optimizer: Any, pairs: list[tuple[Any, Any]], train_op: Any) -> None:
        loss = self._losses.get(train_op.graph)
        variables = [v for _, v in pairs]
        found = tf1_graph.layout(variables, loss)
        plan = Plan(len(self._plans), optimizer, pairs, train_op, loss, found)
        self._plans[train_op] = plan
        self._describe(optimizer, plan, variables, found)

    def _describe(self, optimizer: Any, plan: Plan, variables: list[Any],
                  found: tf1_graph.GraphLayout) -> None:
        graph = variables[0].graph if variables else None
        trainable = set()
        if graph is not None:
            with graph.as_default():
                trainable = {v.op.name for v in v1.trainable_variables()}
        for name, module in sorted(found.modules.items(), key=lambda kv: kv[1]["order"]):
            self.recorder.describe(ModuleInfo(name, module["order"], module["type"],
                                              module["kind"], module["activation"]))
        lr = _python_lr(optimizer)
        for i, (name, v, grad) in enumerate(zip(plan.names, variables, plan.has_grad)):
            info = found.variables.get(name, tf1_graph.VarInfo())
            shape = tuple(int(d) if d is not None else -1 for d in v.shape.as_list())
            self.recorder.describe(ParamInfo(
                name, i, shape,
                requires_grad=name in trainable,
                module=info.module,
                module_type=info.module_type,
                module_kind=info.module_kind,
                followed_by=info.followed_by,
                feeds=tuple(info.feeds),
                optimizer=plan.index,
                optimizer_type=type(optimizer).__name__,
                optimizer_kind=optimizer_kind(type(optimizer).__name__),
                lr=lr,
                optimized=grad,
                fan_in=int(np.prod(shape[:-1])) if len(shape) >= 2 else None,
                is_bias=info.is_bias,
                reaches_loss=info.reaches_loss,
                dtype=v.dtype.base_dtype.name,
            ))

    # -- running --------------------------------------------------------------------------
    def _plan_of(self, fetches: Any) -> Plan | None:
        if not self._plans:
            return None
        for item in tf.nest.flatten(fetches):
            op = item if isinstance(item, tf.Operation) else getattr(item, "op", None)
            plan = self._plans.get(op) if op is not None else None
            if plan is not None:
                return plan
        return None

    def _took(self, plan: Plan, got: dict[str, Any]) -> None:
        if self._clock is None:
            self._clock = plan
        plan.took(got, self.recorder, clock=plan is self._clock)


def _python_lr(optimizer: Any) -> float | None:
    for attr in ("_learning_rate", "_lr"):
        value = getattr(optimizer, attr, None)
        if isinstance(value, (int, float)):
            return float(value)
    return None
