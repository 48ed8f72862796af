"""The training loss against its reference (the best constant prediction's loss), for Keras.

What the PyTorch adapter's ``criterion`` does, as ops in the traced step: a wrapper of
``keras.losses.Loss.__call__`` (the compiled loss of ``fit`` and loss objects called in a custom
loop) and of the ``keras.losses`` functions (``sparse_categorical_crossentropy(y, p)`` in a
custom loop) adds each training call's targets to running sums, non-trainable variables made
under ``tf.init_scope()``, and its value to the current window. A call counts only under a
recording ``GradientTape`` (a validation pass has none) and only for the run's criterion, the
first family and output width seen. After the clock optimizer's update, on detail steps (the
same in-graph flag as the rest of the detail tier), one row (step, window mean, reference,
steps covered) goes into a small ring the host reads with the others.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Callable

import numpy as np
import tensorflow as tf
from tensorflow.python.eager import record

from ...core import metrics as m
from ..patching import Guard, Patches
from ..tf_ops import F64

# Keras loss function name -> (family, targets are class indices)
FUNCTIONS = {
    "sparse_categorical_crossentropy": (m.FAMILY_CLASSES, True),
    "categorical_crossentropy": (m.FAMILY_CLASSES, False),
    "binary_crossentropy": (m.FAMILY_BINARY, False),
    "mean_squared_error": (m.FAMILY_SQUARED, False),
    "mean_absolute_error": (m.FAMILY_ABSOLUTE, False),
}
ROWS = 256


class _State:
    """Running sums of one criterion (variables), and its ring of shipped rows."""

    def __init__(self, family: str, width: int, smoothing: float) -> None:
        self.family, self.width, self.smoothing = family, width, smoothing
        with tf.init_scope():
            zeros = lambda name: tf.Variable(tf.zeros([width], F64), trainable=False,  # noqa: E731
                                             name=f"gradsight_ref_{name}")
            self.sums, self.squares = zeros("sums"), zeros("squares")
            self.medians, self.deviations = zeros("medians"), zeros("deviations")
            scalar = lambda v, name: tf.Variable(tf.constant(v, F64), trainable=False,  # noqa: E731
                                                 name=f"gradsight_ref_{name}")
            self.count, self.batches = scalar(0.0, "count"), scalar(0.0, "batches")
            self.window, self.calls = scalar(0.0, "window"), scalar(0.0, "calls")
            self.shipped = tf.Variable(tf.constant(-1, tf.int64), trainable=False,
                                       name="gradsight_ref_shipped")
            self.ring = tf.Variable(tf.fill([ROWS, 4], tf.constant(-1.0, F64)), trainable=False,
                                    name="gradsight_ref_rows")
        self.read = -1

    def add(self, y_true: Any, sparse: bool, ignore: Any) -> None:
        if self.family == m.FAMILY_CLASSES:
            if sparse:
                ids = tf.reshape(tf.cast(y_true, tf.int32), [-1])
                keep = tf.ones_like(ids, F64) if ignore is None else tf.cast(
                    tf.not_equal(ids, int(ignore)), F64)
                safe = tf.clip_by_value(ids, 0, self.width - 1)
                counts = tf.math.unsorted_segment_sum(keep, safe, self.width)
            else:
                counts = tf.reduce_sum(tf.reshape(tf.cast(y_true, F64), [-1, self.width]), 0)
            self.sums.assign_add(counts)
            return
        t = tf.reshape(tf.cast(y_true, F64), [-1, self.width])
        self.sums.assign_add(tf.reduce_sum(t, 0))
        self.count.assign_add(tf.cast(tf.shape(t)[0], F64))
        if self.family == m.FAMILY_SQUARED:
            self.squares.assign_add(tf.reduce_sum(t * t, 0))
        elif self.family == m.FAMILY_ABSOLUTE:  # about the running estimate of the median
            n = tf.shape(t)[0]
            lower = tf.gather(tf.sort(t, axis=0), (n - 1) // 2)  # as torch.median: lower middle
            self.medians.assign_add(lower)
            self.batches.assign_add(1.0)
            self.deviations.assign_add(tf.reduce_sum(tf.abs(t - self.medians / self.batches), 0))

    def reference(self) -> tf.Tensor:
        if self.family == m.FAMILY_CLASSES:
            p = self.sums / tf.reduce_sum(self.sums)
            if self.smoothing:
                p = (1 - self.smoothing) * p + self.smoothing / self.width
            return -tf.reduce_sum(tf.math.xlogy(p, p))
        n = tf.maximum(self.count, 1.0)
        mean = self.sums / n
        if self.family == m.FAMILY_BINARY:
            q = tf.clip_by_value(mean, 0.0, 1.0)
            return -tf.reduce_mean(tf.math.xlogy(q, q) + tf.math.xlogy(1 - q, 1 - q))
        if self.family == m.FAMILY_SQUARED:
            return tf.reduce_mean(tf.maximum(self.squares / n - mean * mean, 0.0))
        return tf.reduce_mean(self.deviations / n)


class KerasCriterion:
    """Taps the Keras losses; ships the window rows on detail steps."""

    def __init__(self) -> None:
        self.state: _State | None = None
        self.key: tuple[str, int] | None = None
        self.usable = True

    def install(self, patches: Patches, guard: Guard) -> None:
        import keras

        tap = self

        def wrap_call(original: Callable[..., Any]) -> Callable[..., Any]:
            @functools.wraps(original)
            def __call__(loss: Any, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Any:
                value = original(loss, y_true, y_pred, sample_weight)
                fn = getattr(getattr(loss, "fn", None), "__name__", None)
                if fn in FUNCTIONS and guard.active and record.could_possibly_record():
                    kwargs = {**getattr(loss, "_fn_kwargs", {}),
                              "ignore_class": getattr(loss, "ignore_class", None)}
                    guard.run(tap.saw, fn, y_true, y_pred, value,
                              getattr(loss, "reduction", None), kwargs,
                              sample_weight is not None)
                return value

            return __call__

        patches.wrap(keras.losses.Loss, "__call__", wrap_call)
        for name in FUNCTIONS:
            for module in {id(keras.losses): keras.losses, **_tf_keras_losses()}.values():
                if hasattr(module, name):
                    patches.wrap(module, name, lambda o, n=name: self._function(o, n, guard))

    def _function(self, original: Callable[..., Any], name: str, guard: Guard
                  ) -> Callable[..., Any]:
        @functools.wraps(original)
        def loss(y_true: Any, y_pred: Any, *args: Any, **kwargs: Any) -> Any:
            value = original(y_true, y_pred, *args, **kwargs)
            if guard.active and record.could_possibly_record():
                guard.run(self.saw, name, y_true, y_pred, value, "none", kwargs, False)
            return value

        return loss

    def saw(self, fn: str, y_true: Any, y_pred: Any, value: Any, reduction: Any,
            kwargs: dict[str, Any], weighted: bool) -> None:
        family, sparse = FUNCTIONS[fn]
        y_pred = tf.convert_to_tensor(y_pred)
        y_true = tf.convert_to_tensor(y_true)
        rank = y_pred.shape.rank
        width = y_pred.shape[-1] if rank and rank >= 2 else 1
        if width is None or (family == m.FAMILY_CLASSES and not (rank and rank >= 2)):
            return
        key = (family, int(width))
        if self.key is None:
            self.key = key
            self.state = _State(family, int(width), float(kwargs.get("label_smoothing") or 0.0)
                                if family == m.FAMILY_CLASSES else 0.0)
        if key != self.key or self.state is None:
            return
        if weighted:  # per-sample weights: no constant is the best for every weighting
            self.usable = False
        self.state.add(y_true, sparse, kwargs.get("ignore_class"))
        per = tf.cast(value, F64)
        if reduction in ("none", None) or per.shape.rank:
            per = tf.reduce_mean(per)
        elif reduction == "sum":
            per = per / tf.cast(tf.maximum(tf.shape(y_pred)[0], 1), F64)
        self.state.window.assign_add(per)
        self.state.calls.assign_add(1.0)

    # -- after the clock's update, in the graph --------------------------------------------
    def after_step(self, step: Any, detail: Any) -> None:
        state = self.state
        if state is None:
            return

        def write() -> Any:
            mean = state.window / tf.maximum(state.calls, 1.0)
            covered = tf.cast(step - state.shipped, F64)
            row = tf.stack([tf.cast(step, F64), mean, state.reference(), covered])
            state.ring[tf.cast(step % ROWS, tf.int32)].assign(row)
            state.window.assign(0.0)
            state.calls.assign(0.0)
            state.shipped.assign(tf.cast(step, tf.int64))
            return tf.constant(True)

        tf.cond(tf.logical_and(detail, state.calls > 0), write, lambda: tf.constant(False))

    # -- on the host ----------------------------------------------------------------------
    def drain(self, ship: Callable[[int, list[str], tuple[str, ...], Any], None]) -> None:
        state = self.state
        if state is None or self.key is None:
            return
        rows = state.ring.numpy()
        fresh = rows[rows[:, 0] > state.read]
        for row in fresh[np.argsort(fresh[:, 0])]:
            ship(int(row[0]), [self.key[0]], m.CRITERION_METRICS, [self._row(row[1:])])
            state.read = max(state.read, int(row[0]))

    def finish(self, step: int, ship: Callable[[int, list[str], tuple[str, ...], Any], None]
               ) -> None:
        """The window still open when watching stops, as a row at ``step``."""
        self.drain(ship)
        state = self.state
        if state is None or self.key is None or float(state.calls.numpy()) <= 0 \
                or step <= state.read:
            return
        mean = float(state.window.numpy()) / float(state.calls.numpy())
        covered = step - max(int(state.shipped.numpy()), -1)
        ship(step, [self.key[0]], m.CRITERION_METRICS,
             [self._row([mean, float(state.reference().numpy()), covered])])
        state.read = step

    def _row(self, values: Any) -> list[float]:
        mean, reference, covered = (float(v) for v in values)
        return [mean, reference if self.usable else math.nan, covered]


def _tf_keras_losses() -> dict[int, Any]:
    """``tf.keras.losses`` where it is a module of its own (the same functions, another
    namespace)."""
    try:
        module = tf.keras.losses
    except Exception:  # no tf.keras in this TensorFlow
        return {}
    return {id(module): module}
