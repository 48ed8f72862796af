"""Keras layer outputs on recorded steps: the activation metrics the PyTorch adapter records.

Built while a step is traced, right after a layer's call: under a ``tf.cond`` on the watcher's
"this step is recorded" flag, one row per layer (step, mean, std, fraction exactly zero, any
non-finite, fraction saturated, and for ReLU-family outputs the fraction of units silent over
the batch and over a window of ``DEAD_WINDOW`` recorded steps) goes into that layer's ring of
rows, a non-trainable variable made under ``tf.init_scope()``. The output is read through
``tf.stop_gradient``: the tape records nothing that could reach a gradient.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import tensorflow as tf

from .tf_stats import F64

ACT_METRICS = ("act_mean", "act_std", "act_zero_frac", "act_nonfinite", "act_saturated_frac",
               "dead_frac", "dead_frac_window")
SATURATION_LEVEL = 0.99
DEAD_WINDOW = 5  # the torch adapter's window, which the dead_units detector assumes
ROWS = 512


@dataclass
class LayerRing:
    name: str
    family: str | None
    rows: Any
    seen: Any = None  # per unit: positive at some input of the current window
    count: Any = None  # recorded steps in the current window
    last: int = -1  # last step shipped


def make_ring(name: str, family: str | None, units: int | None) -> LayerRing:
    with tf.init_scope():
        rows = tf.Variable(tf.fill([ROWS, 1 + len(ACT_METRICS)], tf.constant(-1.0, F64)),
                           trainable=False, name="gradsight_act_rows")
        ring = LayerRing(name, family, rows)
        if family == "relu" and units:
            ring.seen = tf.Variable(tf.zeros([units], tf.bool), trainable=False,
                                    name="gradsight_seen")
            ring.count = tf.Variable(tf.constant(0, tf.int64), trainable=False,
                                     name="gradsight_window")
    return ring


def record(ring: LayerRing, output: Any, step: Any, recorded: Any) -> None:
    """Add the ops that write ``output``'s row when ``recorded`` (a bool tensor) holds."""
    d = tf.stop_gradient(output)

    def write() -> Any:
        x = tf.reshape(tf.cast(d, F64), [-1])
        n = tf.cast(tf.maximum(tf.size(x), 1), F64)
        total = tf.reduce_sum(x)
        mean = total / n
        std = tf.sqrt(tf.maximum(tf.reduce_sum(x * x) / n - mean * mean, 0.0))
        zero = tf.reduce_sum(tf.cast(tf.equal(x, 0.0), F64)) / n
        nonfinite = tf.cast(tf.logical_not(tf.math.is_finite(total)), F64)
        if ring.family == "tanh":
            saturated = tf.reduce_sum(tf.cast(tf.abs(x) > SATURATION_LEVEL, F64)) / n
        elif ring.family == "sigmoid":
            far = tf.logical_or(x < 1 - SATURATION_LEVEL, x > SATURATION_LEVEL)
            saturated = tf.reduce_sum(tf.cast(far, F64)) / n
        else:
            saturated = tf.constant(0.0, F64)
        dead = window = tf.constant(np.nan, F64)
        if ring.seen is not None:
            axes = list(range(len(d.shape) - 1))
            active = tf.reduce_any(d > 0, axis=axes) if axes else d > 0
            dead = 1.0 - tf.reduce_mean(tf.cast(active, F64))
            seen = tf.logical_or(ring.seen, active)
            full = ring.count + 1 >= DEAD_WINDOW
            window = tf.where(full, 1.0 - tf.reduce_mean(tf.cast(seen, F64)),
                              tf.constant(np.nan, F64))
            ring.seen.assign(tf.logical_and(seen, tf.logical_not(full)))
            ring.count.assign(tf.where(full, tf.constant(0, tf.int64), ring.count + 1))
        row = tf.stack([tf.cast(step, F64), mean, std, zero, nonfinite, saturated, dead, window])
        ring.rows[tf.cast(step % ROWS, tf.int32)].assign(row)
        return tf.constant(True)

    tf.cond(recorded, write, lambda: tf.constant(False))


def drain(ring: LayerRing) -> list[tuple[tuple[int, str, str, str], float]]:
    """New rows since the last drain, as (key, value) pairs."""
    rows = ring.rows.numpy()
    fresh = rows[rows[:, 0] > ring.last]
    out = []
    for row in fresh[np.argsort(fresh[:, 0])]:
        step = int(row[0])
        for metric, value in zip(ACT_METRICS, row[1:]):
            if metric.startswith("dead") and (ring.seen is None or not np.isfinite(value)):
                continue
            out.append(((step, "module", ring.name, metric), float(value)))
        ring.last = max(ring.last, step)
    return out
