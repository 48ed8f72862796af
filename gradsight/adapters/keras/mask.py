"""Which steps get detail, as the traced Keras graph sees it: a mask of the coming steps the
host fills from the schedule (``Schedule.mask``) at every read, so forced windows (after a
trigger or a NaN) reach the graph; outside the mask, the schedule's regular rule.

The host reads the rings only every few dozen steps, so a window the recorder opens when it
sees the first NaN would reach the graph too late for the steps right after it, which are the
ones that show where the NaN spreads. The graph opens that window itself: the first step whose
loss or weights are non-finite forces detail for the ``schedule.NONFINITE_STEPS`` after it, as
the recorder does for PyTorch.

Every other window the recorder opens (a band trigger, a layer suspected dead) starts at the
step after the one whose rows showed the cause, and those rows come back every few dozen steps:
by then the window's steps have run without detail. Such a window is opened again at the next
refill, as long, from the step the graph is at (``_catch_up``): a death confirmed ~30 steps
after it was seen instead of never (a layer 62% dead at scheduled step 100 of a Keras ``fit``
was otherwise judged only on scheduled steps hundreds apart).

Histograms follow the schedule's rule for scheduled steps (``Schedule.histogram``), as a second
mask filled alongside.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from ...core.schedule import DEFAULT_EVERY, DENSE_START, NONFINITE_STEPS, Schedule

MASK = 4096  # steps of the detail mask the graph reads, refilled at every read


class DetailMask:
    def __init__(self, schedule: Schedule) -> None:
        self.schedule = schedule
        self._mask: Any = None  # in-graph: detail for steps base .. base + MASK - 1
        self._hist: Any = None  # in-graph: histograms for the same steps
        self._base: Any = None
        self._until: Any = None  # in-graph: detail for every step below it (after a NaN)
        self._known: set[tuple[int, int]] = set()  # the schedule's windows at the last refill

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

    def histogram(self, step: Any) -> Any:
        """In the graph: does ``step`` also get histograms (scheduled steps only)."""
        self._ensure()
        index = step - self._base
        inside = (index >= 0) & (index < MASK)
        safe = tf.cast(tf.clip_by_value(index, 0, MASK - 1), tf.int32)
        return tf.logical_and(inside, tf.gather(self._hist, safe))

    def force_if_broken(self, step: Any, broken: Any) -> None:
        """In the graph: the first step with a non-finite loss or weight (``broken``) opens
        the schedule's non-finite window, as the recorder does: every step after it,
        NONFINITE_STEPS long."""
        self._ensure()
        first = tf.logical_and(broken, self._until < 0)
        self._until.assign(tf.where(first, tf.cast(step, tf.int64) + 1 + NONFINITE_STEPS,
                                    self._until))

    def refill(self, step: int) -> None:
        """On the host: the schedule (with its forced windows) from ``step`` on."""
        self._catch_up(step)
        if self._mask is not None:
            self._mask.assign(self.schedule.mask(step, MASK))
            self._hist.assign(self._histograms(step))
            self._base.assign(step)

    def _catch_up(self, step: int) -> None:
        """Windows opened since the last refill for steps the graph has already run: opened
        again from ``step``, as long (a window extended since then counts from its old end)."""
        windows = self.schedule.windows
        ends = {lo: hi for lo, hi in self._known}
        late = []
        for lo, hi in windows:
            if (lo, hi) in self._known:
                continue
            start = ends.get(lo, lo)  # an extended window: only its new part is new
            if start < step and hi > start:
                late.append(hi - start)
        for count in late:
            self.schedule.force(step, count)
        self._known = set(self.schedule.windows)

    def _histograms(self, start: int) -> Any:
        return [self.schedule.scheduled(s) and self.schedule.histogram(s)
                for s in range(start, start + MASK)]

    def _ensure(self) -> None:
        if self._mask is None:
            with tf.init_scope():
                self._mask = tf.Variable(self.schedule.mask(0, MASK), trainable=False,
                                         name="gradsight_mask")
                self._hist = tf.Variable(self._histograms(0), trainable=False,
                                         name="gradsight_hist_mask")
                self._base = tf.Variable(tf.constant(0, tf.int64), trainable=False,
                                         name="gradsight_mask_base")
                self._until = tf.Variable(tf.constant(-1, tf.int64), trainable=False,
                                          name="gradsight_nonfinite_until")
