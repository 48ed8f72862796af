"""Which steps get detail, as the traced Keras graph sees it: a mask of the coming steps the
host fills from the schedule (``Schedule.mask``) at every read, so forced windows (after a
trigger or a NaN) reach the graph; outside the mask, the schedule's regular rule.

The window after the first non-finite loss is also opened in the graph itself (``note_loss``):
the host reads the rings only every few dozen steps, and the steps right after the first NaN
are the ones that show where it spreads; waiting for the host would miss them."""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from ...core.schedule import DEFAULT_EVERY, DENSE_START, NONFINITE_STEPS, Schedule

MASK = 4096  # steps of the detail mask the graph reads, refilled at every read


class DetailMask:
    def __init__(self, schedule: Schedule) -> None:
        self.schedule = schedule
        self._mask: Any = None  # in-graph: detail for steps base .. base + MASK - 1
        self._base: Any = None
        self._until: Any = None  # in-graph: detail for every step below it (after a NaN)

    def detail(self, step: Any) -> Any:
        """In the graph: does ``step`` get detail."""
        self._ensure()
        index = step - self._base
        inside = (index >= 0) & (index < MASK)
        safe = tf.cast(tf.clip_by_value(index, 0, MASK - 1), tf.int32)
        every = self.schedule.every
        if every is not None:
            rule = tf.equal(step % every, 0)
        else:
            rule = tf.logical_or(step < DENSE_START, tf.equal(step % DEFAULT_EVERY, 0))
        return tf.logical_or(tf.where(inside, tf.gather(self._mask, safe), rule),
                             step < self._until)

    def note_loss(self, step: Any, loss: Any) -> None:
        """In the graph: the first non-finite loss (at ``step``) opens the schedule's
        non-finite window, as the recorder does: every step after it, NONFINITE_STEPS long."""
        self._ensure()
        first = tf.logical_and(
            tf.logical_not(tf.reduce_all(tf.math.is_finite(tf.cast(loss, tf.float64)))),
            self._until < 0)
        self._until.assign(tf.where(first, tf.cast(step, tf.int64) + 1 + NONFINITE_STEPS,
                                    self._until))

    def refill(self, step: int) -> None:
        """On the host: the schedule (with its forced windows) from ``step`` on."""
        if self._mask is not None:
            self._mask.assign(self.schedule.mask(step, MASK))
            self._base.assign(step)

    def _ensure(self) -> None:
        if self._mask is None:
            with tf.init_scope():
                self._mask = tf.Variable(self.schedule.mask(0, MASK), trainable=False,
                                         name="gradsight_mask")
                self._base = tf.Variable(tf.constant(0, tf.int64), trainable=False,
                                         name="gradsight_mask_base")
                self._until = tf.Variable(tf.constant(-1, tf.int64), trainable=False,
                                          name="gradsight_nonfinite_until")
