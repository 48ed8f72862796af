"""Which steps get detail, as the traced Keras graph sees it: a mask of the coming steps the
host fills from the schedule (``Schedule.mask``) at every read, so forced windows (after a
trigger or a NaN) reach the graph; outside the mask, the schedule's regular rule."""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from ...core.schedule import DEFAULT_EVERY, DENSE_START, Schedule

MASK = 4096  # steps of the detail mask the graph reads, refilled at every read


class DetailMask:
    def __init__(self, schedule: Schedule) -> None:
        self.schedule = schedule
        self._mask: Any = None  # in-graph: detail for steps base .. base + MASK - 1
        self._base: Any = None

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
        return tf.where(inside, tf.gather(self._mask, safe), rule)

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
