"""Keras layer outputs on detail steps: the activation metrics the PyTorch adapter records.

Built while a step is traced, right after a layer's call: under a ``tf.cond`` on the watcher's
"this step gets detail" flag, one row per layer (step, ``metrics.ACT_METRICS``, and for
ReLU-family outputs the fraction of units silent over the batch and over a window of
``metrics.DEAD_WINDOW`` detail steps) goes into that layer's ring of rows, a non-trainable
variable made under ``tf.init_scope()``. The output is read through ``tf.stop_gradient``: the
tape records nothing that could reach a gradient. On histogram steps (a second flag) the
output's histogram goes into a small ring of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import tensorflow as tf

from ...core import metrics as m
from ..tf_ops import F64, activation_row, histograms

HIST_ROWS = 8

METRICS = (*m.ACT_METRICS, m.DEAD_FRAC, m.DEAD_FRAC_WINDOW)
ROWS = 512


@dataclass
class LayerRing:
    name: str
    family: str | None
    rows: Any
    seen: Any = None  # per unit: positive at some input of the current window
    count: Any = None  # detail steps in the current window
    last: int = -1  # last step shipped
    hists: Any = None  # rows of (step, histogram)
    hist_last: int = -1


def make_ring(name: str, family: str | None, units: int | None) -> LayerRing:
    with tf.init_scope():
        rows = tf.Variable(tf.fill([ROWS, 1 + len(METRICS)], tf.constant(-1.0, F64)),
                           trainable=False, name="gradsight_act_rows")
        ring = LayerRing(name, family, rows)
        ring.hists = tf.Variable(tf.fill([HIST_ROWS, 1 + m.HIST_WIDTH], tf.constant(-1.0, F64)),
                                 trainable=False, name="gradsight_act_hists")
        if family in m.RELU_FAMILY and units:
            ring.seen = tf.Variable(tf.zeros([units], tf.bool), trainable=False,
                                    name="gradsight_seen")
            ring.count = tf.Variable(tf.constant(0, tf.int64), trainable=False,
                                     name="gradsight_window")
    return ring


def record(ring: LayerRing, output: Any, step: Any, detail: Any, hist: Any = None) -> None:
    """Add the ops that write ``output``'s row when ``detail`` (a bool tensor) holds, and its
    histogram when ``hist`` does."""

    def write() -> Any:
        values, active = activation_row(output, ring.family)
        dead = window = tf.constant(np.nan, F64)
        if ring.seen is not None and active is not None:
            dead = 1.0 - tf.reduce_mean(tf.cast(active, F64))
            seen = tf.logical_or(ring.seen, active)
            full = ring.count + 1 >= m.DEAD_WINDOW
            window = tf.where(full, 1.0 - tf.reduce_mean(tf.cast(seen, F64)),
                              tf.constant(np.nan, F64))
            ring.seen.assign(tf.logical_and(seen, tf.logical_not(full)))
            ring.count.assign(tf.where(full, tf.constant(0, tf.int64), ring.count + 1))
        row = tf.stack([tf.cast(step, F64), *values, dead, window])
        ring.rows[tf.cast(step % ROWS, tf.int32)].assign(row)
        return tf.constant(True)

    tf.cond(detail, write, lambda: tf.constant(False))
    if hist is None:
        return

    def write_hist() -> Any:
        row = tf.concat([tf.reshape(tf.cast(step, F64), [1]),
                         histograms([tf.stop_gradient(output)])[0]], axis=0)
        ring.hists[tf.cast(step % HIST_ROWS, tf.int32)].assign(row)
        return tf.constant(True)

    tf.cond(tf.logical_and(detail, hist), write_hist, lambda: tf.constant(False))


def drain(ring: LayerRing) -> list[tuple[int, list[str], np.ndarray]]:
    """New rows since the last drain: (step, metrics, values) per detail step."""
    rows = ring.rows.numpy()
    fresh = rows[rows[:, 0] > ring.last]
    out = []
    for row in fresh[np.argsort(fresh[:, 0])]:
        step = int(row[0])
        keep = [i for i, metric in enumerate(METRICS) if not metric.startswith("dead") or (
            ring.seen is not None and np.isfinite(row[1 + i]))]
        out.append((step, [METRICS[i] for i in keep], row[1:][keep]))
        ring.last = max(ring.last, step)
    return out


def drain_hists(ring: LayerRing) -> list[tuple[int, np.ndarray]]:
    """New histogram rows since the last drain: (step, [lo, hi, counts...])."""
    rows = ring.hists.numpy()
    fresh = rows[rows[:, 0] > ring.hist_last]
    out = []
    for row in fresh[np.argsort(fresh[:, 0])]:
        out.append((int(row[0]), row[1:]))
        ring.hist_last = max(ring.hist_last, int(row[0]))
    return out
