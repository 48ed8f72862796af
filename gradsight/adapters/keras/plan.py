"""The in-graph statistics of one optimizer applying one list of variables (a "plan").

Built while ``Optimizer.apply`` is traced (or run eagerly), around the original call:

- before it: the gradient norms (as backward gave them; Keras clips inside ``apply``, so the
  norms after clipping follow from the optimizer's ``clipnorm``/``global_clipnorm``), and the
  fixed sample of each variable's elements (``tf_ops.sample``, ``metrics.UPDATE_SAMPLE``);
- after it: the sample again, giving the update and weight estimates, and one always-on row
  (``metrics.step_row_width``) written into a ring of rows, a non-trainable variable made under
  ``tf.init_scope()``;
- on detail steps only (a ``tf.cond`` on the watcher's detail mask): the exact weight norms,
  written into a second ring and used to recalibrate the weight estimate; at step 0 the exact
  norms before the update (the init);
- on histogram steps (the schedule's ``histogram`` rule, a second mask): the histograms of the
  gradients and of the weights after the update (``tf_ops.histograms``), into rings of their own.

The host reads the rings now and then (``drain``), never inside a step.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
import tensorflow as tf

from ...core import metrics as m
from .. import tf_ops
from ..tf_ops import F64

_M = len(m.STEP_METRICS)
HIST_ROWS = 8  # histogram steps held between two reads (one in 50 steps at the densest)


class Plan:
    """Buffers and ops of one (optimizer, variables, which have gradients) triple."""

    def __init__(self, optimizer: Any, variables: list[Any], names: list[str],
                 has_grad: list[bool], index: int) -> None:
        self.optimizer = optimizer
        self.variables = variables
        self.names = names
        self.has_grad = has_grad
        self.index = index
        self.width = m.step_row_width(len(names))
        # ~8 MiB of rows at most, and at least 128 steps between two reads
        self.rows = int(np.clip(2 ** 20 // self.width, 128, 1024))
        self.read = -1  # the last step shipped
        self.detail_read = -1
        self.init_shipped = False
        self.described = False
        samples = [tf_ops.sample_indices([int(d) for d in v.shape]) for v in variables]
        self._indices = [ix for ix, _ in samples]
        # (host numbers: a tensor made here would belong to the graph being traced, and a
        # later trace of another graph could not use it)
        self._factor = np.array([f for _, f in samples], dtype=np.float64)
        with tf.init_scope():
            nan = tf.constant(math.nan, F64)
            self.ring = tf.Variable(tf.fill([self.rows, self.width], nan), trainable=False,
                                    name="gradsight_rows")
            self.detail_ring = tf.Variable(tf.fill([64, 1 + len(names)], nan), trainable=False,
                                           name="gradsight_detail")
            self.init = tf.Variable(tf.fill([len(names)], nan), trainable=False,
                                    name="gradsight_init")
            self.calibration = tf.Variable(tf.ones([len(names)], F64), trainable=False,
                                           name="gradsight_calibration")
            width = 1 + len(names) * m.HIST_WIDTH
            self.hists = {metric: tf.Variable(tf.fill([HIST_ROWS, width], nan), trainable=False,
                                              name=f"gradsight_{metric}_hists")
                          for metric in (m.HIST_GRAD, m.HIST_WEIGHT)}
        self.hist_read = {m.HIST_GRAD: -1, m.HIST_WEIGHT: -1}

    # -- in the graph ---------------------------------------------------------------------
    def before(self, grads: list[Any], step: Any, detail: Any, hist: Any) -> dict[str, Any]:
        present = [g for g in grads if g is not None]
        raw = tf_ops.norms(present)
        where = [i for i, g in enumerate(grads) if g is not None]
        grad = tf.scatter_nd([[i] for i in where], raw, [len(grads)]) if where else \
            tf.zeros([len(grads)], F64)
        grad = tf.where(tf.constant(self.has_grad), grad, tf.constant(math.nan, F64))
        first = tf.logical_and(detail, tf.equal(step, 0))
        tf.cond(first, lambda: self._write_init(), lambda: tf.constant(False))
        tf.cond(hist, lambda: self._write_hists(m.HIST_GRAD, step, grads),
                lambda: tf.constant(False))
        return {"grad": grad, "before": self._sample()}

    def after(self, taken: dict[str, Any], step: Any, detail: Any, hist: Any, loss: Any) -> Any:
        """The step's row (and detail, histograms); returns whether the step broke the run
        (a non-finite loss or weight: NaN gradients alone are an AMP step skipped)."""
        after = self._sample()
        factor = tf.constant(self._factor, F64)
        update = tf.norm(after - taken["before"], axis=1) * factor
        weight_raw = tf.norm(after, axis=1) * factor
        weight = weight_raw * self.calibration
        pre, grad = self._clipped(taken["grad"])
        lr = tf.fill([len(self.names)], tf_ops.scalar64(self.optimizer.learning_rate))
        has = tf.constant([float(h) for h in self.has_grad], F64)
        ones = tf.ones([len(self.names)], F64)
        unknown = tf.fill([len(self.names)], tf.constant(math.nan, F64))  # tape gradients
        columns = tf.stack([has, grad, pre, weight, update, lr, ones, unknown], axis=1)
        seen = tf.constant(1.0 if loss is not None else 0.0, F64)
        value = tf_ops.scalar64(loss) if loss is not None else tf.constant(math.nan, F64)
        row = tf.concat([tf.stack([seen, value]), tf.reshape(columns, [-1])], axis=0)
        self.ring[tf.cast(step % self.rows, tf.int32)].assign(row)
        tf.cond(detail, lambda: self._write_detail(step, weight_raw), lambda: tf.constant(False))
        tf.cond(hist, lambda: self._write_hists(m.HIST_WEIGHT, step, self.variables),
                lambda: tf.constant(False))
        return tf.logical_or(tf.logical_not(tf.math.is_finite(value)) if loss is not None
                             else tf.constant(False),
                             tf.reduce_any(tf.logical_not(tf.math.is_finite(weight))))

    def _sample(self) -> tf.Tensor:
        return tf.stack([tf_ops.sample(v, ix) for v, ix in zip(self.variables, self._indices)])

    def _clipped(self, grad: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """(norms before clipping or NaN, norms the update used), from the optimizer's own
        clipping settings (clip by value: the norm after clipping is unknown, NaN)."""
        opt = self.optimizer
        nan = tf.fill(tf.shape(grad), tf.constant(math.nan, F64))
        clipnorm = getattr(opt, "clipnorm", None)
        global_clip = getattr(opt, "global_clipnorm", None)
        if clipnorm:
            return grad, tf.minimum(grad, float(clipnorm))
        if global_clip:
            # (float64 constants: a Python float would make these float32 ops, and fail)
            total = tf.sqrt(tf.reduce_sum(tf.where(tf.math.is_nan(grad), tf.zeros_like(grad),
                                                   grad) ** 2))
            limit = tf.constant(float(global_clip), F64)
            return grad, grad * tf.minimum(tf.constant(1.0, F64), limit / tf.maximum(total,
                                                                                      limit))
        if getattr(opt, "clipvalue", None):
            return grad, nan
        return nan, grad

    def _write_hists(self, metric: str, step: Any, tensors: list[Any]) -> tf.Tensor:
        present = [i for i, t in enumerate(tensors) if t is not None]
        rows = tf_ops.histograms([tensors[i] for i in present])
        full = tf.scatter_nd([[i] for i in present], rows,
                             [len(tensors), m.HIST_WIDTH]) if present else tf.zeros(
            [len(tensors), m.HIST_WIDTH], F64)
        flags = tf.constant([[1.0 if t is not None else math.nan] for t in tensors], F64)
        row = tf.concat([tf.reshape(tf.cast(step, F64), [1]), tf.reshape(full * flags, [-1])], 0)
        self.hists[metric][tf.cast(step % HIST_ROWS, tf.int32)].assign(row)
        return tf.constant(True)

    def _write_init(self) -> tf.Tensor:
        self.init.assign(tf_ops.norms(self.variables))
        return tf.constant(True)

    def _write_detail(self, step: Any, weight_raw: tf.Tensor) -> tf.Tensor:
        exact = tf_ops.norms(self.variables)
        ratio = exact / weight_raw
        ok = tf.math.is_finite(ratio) & (ratio > 0)
        self.calibration.assign(tf.where(ok, ratio, self.calibration))
        row = tf.concat([tf.reshape(tf.cast(step, F64), [1]), exact], axis=0)
        self.detail_ring[tf.cast(step % 64, tf.int32)].assign(row)
        return tf.constant(True)

    # -- on the host ----------------------------------------------------------------------
    def drain(self, end: int, ship: Callable[[int, list[str], np.ndarray], None],
              ship_detail: Callable[[int, list[str], str, np.ndarray], None],
              ship_hists: Callable[[int, str, list[str], np.ndarray], None] | None = None
              ) -> int:
        """Rows of steps ``read + 1 .. end - 1`` to ``ship``; returns steps lost to the ring
        wrapping around (more steps than ``rows`` between two reads)."""
        first = max(self.read + 1, 0)
        lost = 0
        if end > first:
            start = max(first, end - self.rows)
            lost = start - first
            slots = [s % self.rows for s in range(start, end)]
            ship(start, self.names, tf.gather(self.ring, slots).numpy())
            self.read = end - 1
        if not self.init_shipped:
            init = self.init.numpy()
            if np.isfinite(init).any():
                ship_detail(0, self.names, m.WEIGHT_NORM_INIT, init)
                self.init_shipped = True
        rows = self.detail_ring.numpy()
        fresh = rows[np.isfinite(rows[:, 0]) & (rows[:, 0] > self.detail_read)]
        for row in fresh[np.argsort(fresh[:, 0])]:
            ship_detail(int(row[0]), self.names, m.WEIGHT_NORM, row[1:])
            self.detail_read = max(self.detail_read, int(row[0]))
        for metric, ring in self.hists.items() if ship_hists is not None else ():
            rows = ring.numpy()
            fresh = rows[np.isfinite(rows[:, 0]) & (rows[:, 0] > self.hist_read[metric])]
            for row in fresh[np.argsort(fresh[:, 0])]:
                table = row[1:].reshape(len(self.names), m.HIST_WIDTH)
                keep = [i for i in range(len(self.names)) if not np.isnan(table[i]).any()]
                ship_hists(int(row[0]), metric, [self.names[i] for i in keep], table[keep])
                self.hist_read[metric] = max(self.hist_read[metric], int(row[0]))
        return lost
