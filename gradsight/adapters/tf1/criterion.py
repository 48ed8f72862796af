"""The TF1 training loss against its reference (the best constant prediction's loss).

What the PyTorch and Keras adapters' criteria measure, for a TF1 graph: ``loss_form`` reads the
loss function and its targets off the graph; here, ops built next to the train op add each
run's targets to running sums (float64 variables of our own, kept out of every collection) and
compute the reference over every target so far, at the loss's own scale (``LossForm.scale``
times the reference per element: a ``reduce_sum`` over a batch is compared with the batch's
element count times the per-element reference, so the numbers are the ones the script sees).
The reference is one float64 scalar fetched with the train op in the same run; the loss
itself is the one the always-on row already carries. On the host, the loss values since the
last row form the window; on detail steps (and when watching stops) its mean, the reference
and the steps it covers go to the recorder as one row (role ``metrics.LOSS_ROLE``, named by
the family), the rows ``loss_not_decreasing`` judges.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from ...core import metrics as m
from ...core.recorder import Recorder
from .. import tf_ops
from ..tf_ops import F64
from . import loss_form

v1 = tf.compat.v1


class Criterion:
    """Running sums over one loss's targets (ops), and the host's window of its values."""

    def __init__(self, form: loss_form.LossForm) -> None:
        self.family = form.family
        width = form.width
        make = lambda name, shape: v1.Variable(  # noqa: E731
            tf.zeros(shape, F64), trainable=False, collections=[], use_resource=True,
            name=f"ref_{name}")
        self._vars = [make(n, [width]) for n in ("sums", "squares", "medians", "deviations")]
        self._vars += [make("count", []), make("batches", [])]
        self.init = tf.group([v.initializer for v in self._vars])
        per_element = _reference(form, *self._vars)
        self.reference = form.scale * per_element / form.per_element
        self._window, self._calls, self._shipped = 0.0, 0, -1
        self._last = float("nan")

    def took(self, step: int, loss: float, reference: float, recorder: Recorder) -> None:
        """One run's loss into the window; on detail steps the window's row."""
        self._window += loss
        self._calls += 1
        self._last = reference
        if recorder.schedule.detail(step):
            self.ship(step, recorder)

    def ship(self, step: int, recorder: Recorder) -> None:
        """The window since the last row as one row at ``step`` (nothing when empty)."""
        if not self._calls or step <= self._shipped:
            return
        row = [self._window / self._calls, self._last, float(step - self._shipped)]
        recorder.record(step, m.LOSS_ROLE, [self.family], m.CRITERION_METRICS, [row])
        self._window, self._calls, self._shipped = 0.0, 0, step


def build(loss: Any, variables: list[Any]) -> Criterion | None:
    """The criterion of ``loss`` trained over ``variables``; None where the loss function is
    not one whose best constant prediction is known (no reference rather than a guess)."""
    if loss is None:
        return None
    form = loss_form.find(loss, {v.op for v in variables})
    return Criterion(form) if form is not None else None


def _reference(form: loss_form.LossForm, sums: Any, squares: Any, medians: Any,
               deviations: Any, count: Any, batches: Any) -> tf.Tensor:
    """This run's targets added to the sums (data dependencies order the updates before the
    reference is read), and the reference per element over all of them."""
    width = form.width
    if form.family == m.FAMILY_CLASSES:
        if form.sparse:
            ids = tf.reshape(tf.cast(form.target, tf.int32), [-1])
            valid = tf.cast((ids >= 0) & (ids < width), F64)  # (out-of-range ids: no class)
            counts = tf.math.unsorted_segment_sum(valid, tf.clip_by_value(ids, 0, width - 1),
                                                  width)
        else:
            counts = tf.reduce_sum(tf.reshape(tf.cast(form.target, F64), [-1, width]), 0)
        return tf_ops.reference_loss(form.family, sums.assign_add(counts), None, None, None)
    t = tf.broadcast_to(tf.cast(form.target, F64), tf.shape(form.elementwise))
    t = tf.reshape(t, [-1, width])
    new_sums = sums.assign_add(tf.reduce_sum(t, 0))
    n = count.assign_add(tf.cast(tf.shape(t)[0], F64))
    new_squares = new_deviations = None
    if form.family == m.FAMILY_SQUARED:
        new_squares = squares.assign_add(tf.reduce_sum(t * t, 0))
    elif form.family == m.FAMILY_ABSOLUTE:  # about the running estimate of the median
        rows = tf.shape(t)[0]
        lower = tf.gather(tf.sort(t, axis=0), (rows - 1) // 2)  # as torch.median: lower middle
        median = medians.assign_add(lower) / batches.assign_add(1.0)
        new_deviations = deviations.assign_add(tf.reduce_sum(tf.abs(t - median), 0))
    return tf_ops.reference_loss(form.family, new_sums, new_squares, new_deviations, n)
