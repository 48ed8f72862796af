"""Everything watched about one TF1 train op: the ops built next to it, and what a run fetches.

Built when ``apply_gradients`` makes the train op, under ``control_dependencies(None)`` (the
script may build its train op inside ``with tf.control_dependencies(update_ops)``; our ops
must not inherit that) and a ``gradsight`` name scope:

- the always-on row: the gradient norms, and the update and weight estimates from a fixed
  sample of each variable (``tf_ops.sample``): the sample after the train op (ops that depend
  on it) against the sample the previous step left in a non-trainable variable, which is then
  advanced; the learning rate; the loss;
- the detail values: exact weight norms after the step, and each layer output's activation
  statistics (the forward of the same run);
- the loss's reference, the best constant prediction's loss over the targets so far, where the
  loss function is recognised (``criterion``), fetched every run with the row.

Our variables are kept out of every collection (``Saver`` and ``global_variables_initializer``
never see them) and initialized by one run of our own before the plan's first step, which also
measures the weights before any update (the init).
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
import tensorflow as tf

from ...core import metrics as m
from ...core import records
from ...core.recorder import Recorder
from .. import tf_ops
from ..tf_ops import F64
from . import criterion as tf1_criterion
from . import graph as tf1_graph

v1 = tf.compat.v1
_M = len(m.STEP_METRICS)
_HEAD = len(m.STEP_ROW_HEAD)
_WEIGHT = m.STEP_METRICS.index(m.WEIGHT_NORM)


class Plan:
    def __init__(self, index: int, optimizer: Any, pairs: list[tuple[Any, Any]], train_op: Any,
                 loss: Any, found: tf1_graph.GraphLayout) -> None:
        self.index = index
        self.steps = 0
        variables = [v for _, v in pairs]
        self.names = [v.op.name for v in variables]
        self.has_grad = [g is not None for g, _ in pairs]
        self.calibration = np.ones(len(variables))
        self._windows: dict[str, tuple[np.ndarray, int]] = {}
        self._started = False
        samples = [tf_ops.sample_indices([int(d) for d in v.shape]) for v in variables]
        with train_op.graph.as_default(), train_op.graph.control_dependencies(None), \
                v1.name_scope("gradsight"):
            before = [tf_ops.sample(v.value(), ix) for v, (ix, _) in zip(variables, samples)]
            self._prev = v1.Variable(tf.zeros([len(variables), m.UPDATE_SAMPLE], F64),
                                     trainable=False, collections=[], name="sample")
            first = tf.stack(before) if before else tf.zeros([0, m.UPDATE_SAMPLE], F64)
            self._start = self._prev.assign(first)  # (an assign initializes the variable)
            self._init_norms = tf_ops.norms([v.value() for v in variables])
            grads = [g for g, _ in pairs if g is not None]
            grad_norms = tf_ops.norms(grads)
            factor = tf.constant([f for _, f in samples], F64)
            with tf.control_dependencies([train_op]):
                after_values = [tf.identity(v.value()) for v in variables]
                after = tf.stack([tf_ops.sample(a, ix) for a, (ix, _) in
                                  zip(after_values, samples)]) if variables else first
                update = tf.norm(after - self._prev, axis=1) * factor
                weight = tf.norm(after, axis=1) * factor
                with tf.control_dependencies([update, weight]):
                    self._advance = self._prev.assign(after)
                lr = _learning_rate(optimizer)
                self._exact = tf_ops.norms(after_values)
            where = [[i] for i, g in enumerate(self.has_grad) if g]
            grad = tf.scatter_nd(where, grad_norms, [len(variables)]) if where else \
                tf.zeros([len(variables)], F64)
            nan = tf.fill([len(variables)], tf.constant(math.nan, F64))
            grad = tf.where(tf.constant(self.has_grad), grad, nan) if variables else grad
            has = tf.constant([float(h) for h in self.has_grad], F64)
            rate = tf.fill([len(variables)], tf_ops.scalar64(lr)) if lr is not None else nan
            ones = tf.ones([len(variables)], F64)  # (each run computes its gradients anew)
            columns = tf.stack([has, grad, nan, weight, update, rate, ones, ones], axis=1)
            head = tf.stack([tf.constant(1.0 if loss is not None else 0.0, F64),
                             tf_ops.scalar64(loss) if loss is not None else
                             tf.constant(math.nan, F64)])
            self._row = tf.concat([head, tf.reshape(columns, [-1])], axis=0)
            self._acts, self._active, self._act_names = {}, {}, []
            self._hazards: dict[str, Any] = {}
            for module, spec in found.modules.items():  # the forward of the same run
                out = spec.get("output")
                if out is not None and out.dtype.is_floating and spec["kind"] == records.OP:
                    self._hazards[module] = tf_ops.nonfinite64(out)
                elif out is not None and out.dtype.is_floating:
                    row, units = tf_ops.activation_row(out, spec["activation"])
                    self._acts[module] = tf.stack(row)
                    if units is not None:
                        self._active[module] = units
            self._criterion = tf1_criterion.build(loss, variables)

    # -- a watched run --------------------------------------------------------------------
    def fetches(self, run: Callable[..., Any], session: Any, recorder: Recorder) -> dict:
        """What this step's run fetches besides the user's; our variables start on the first."""
        if not self._started:
            self._started = True
            start = [self._start, self._init_norms]
            if self._criterion is not None:
                start.append(self._criterion.init)
            init = run(session, start)[1]
            names = self.names
            recorder.record(self.steps, "param", names, (m.WEIGHT_NORM_INIT,),
                            np.asarray(init)[:, None])
        extra: dict[str, Any] = {"row": self._row, "advance": self._advance}
        if self._criterion is not None:
            extra["reference"] = self._criterion.reference
        if recorder.schedule.detail(self.steps):
            extra.update(exact=self._exact, acts=self._acts, active=self._active,
                         hazards=self._hazards)
        return extra

    def took(self, got: dict[str, Any], recorder: Recorder, clock: bool) -> None:
        step = self.steps
        self.steps += 1
        row = np.array(got["row"], dtype=np.float64)
        if clock and self._criterion is not None and row[0]:
            self._criterion.took(step, float(row[1]), float(got["reference"]), recorder)
        if not clock:  # the run's loss goes by its first train op
            row[0], row[1] = 0.0, math.nan
        weights = row[_HEAD + _WEIGHT::_M]
        if "exact" in got:
            exact = np.asarray(got["exact"], dtype=np.float64)
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = exact / weights
            ok = np.isfinite(ratio) & (ratio > 0)
            self.calibration = np.where(ok, ratio, self.calibration)
        row[_HEAD + _WEIGHT::_M] = weights * self.calibration
        recorder.steps(step, self.names, row[None])
        if "exact" in got:
            recorder.record(step, "param", self.names, (m.WEIGHT_NORM,), exact[:, None])
            acts = got.get("acts", {})
            if acts:
                recorder.record(step, "module", list(acts), m.ACT_METRICS,
                                np.stack([np.asarray(v) for v in acts.values()]))
            hazards = got.get("hazards", {})
            if hazards:
                recorder.record(step, "module", list(hazards), (m.ACT_NONFINITE,),
                                np.asarray(list(hazards.values()), dtype=np.float64)[:, None])
            self._dead_units(step, got.get("active", {}), recorder)

    def flush(self, recorder: Recorder) -> None:
        """Every run hands its row to the recorder as it comes; only the loss window still
        open goes now, as a row at the last step."""
        if self._criterion is not None and self.steps:
            self._criterion.ship(self.steps - 1, recorder)

    def _dead_units(self, step: int, active: dict[str, Any], recorder: Recorder) -> None:
        """Per ReLU layer: units silent over the batch, and over DEAD_WINDOW detail steps."""
        for module, units in active.items():
            units = np.asarray(units, dtype=bool)
            recorder.record(step, "module", [module], (m.DEAD_FRAC,), [[1.0 - units.mean()]])
            seen, count = self._windows.get(module, (units, 0))
            seen = seen | units if seen.shape == units.shape else units
            if count + 1 >= m.DEAD_WINDOW:
                recorder.record(step, "module", [module], (m.DEAD_FRAC_WINDOW,),
                                [[1.0 - seen.mean()]])
                self._windows.pop(module, None)
            else:
                self._windows[module] = (seen, count + 1)


def _learning_rate(optimizer: Any) -> Any:
    for attr in ("_learning_rate_tensor", "_lr_t", "_learning_rate", "_lr"):
        value = getattr(optimizer, attr, None)
        if value is not None and not callable(value):
            return value
    return None
