"""In-graph statistics shared by the Keras and TF1 adapters.

Everything here builds TensorFlow ops; nothing reads a value back. Norms are sums of squares in
the tensor's own dtype, redone in float64 (in one ``tf.cond`` for all of them) only when one
falls outside float32's safe range: the 1e-32-scale gradients of a collapsed deep stack square
below float32's range, but casting every gradient to float64 on every step would double the
memory the step reads.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import tensorflow as tf

from ..core import metrics as m

F64 = tf.float64
NAN64 = float("nan")

# Keras layer classes / TF ops -> the activation family the detectors know.
ACTIVATIONS = {
    "relu": "relu", "relu6": "relu", "leaky_relu": "leaky_relu", "leakyrelu": "leaky_relu",
    "elu": "elu", "selu": "selu", "gelu": "gelu", "silu": "silu", "swish": "silu",
    "tanh": "tanh", "sigmoid": "sigmoid", "softmax": "softmax", "softplus": "softplus",
}
_SAFE = (2.0 ** -100, 2.0 ** 100)  # sums of squares float32 holds with room to spare


def dense_values(t: Any) -> tf.Tensor:
    """A gradient's values (``IndexedSlices`` of embedding lookups carry only touched rows), or
    a variable's (Keras 3 variables are no tensors themselves)."""
    return t.values if isinstance(t, tf.IndexedSlices) else tf.convert_to_tensor(t)


def norm64(t: Any) -> tf.Tensor:
    """L2 norm in float64 as a scalar."""
    return tf.norm(tf.reshape(tf.cast(dense_values(t), F64), [-1]))


def norms(tensors: Sequence[Any]) -> tf.Tensor:
    """L2 norms (float64 vector) of ``tensors``, float64 arithmetic only where needed."""
    if not tensors:
        return tf.zeros([0], F64)
    # One EuclideanNorm op per tensor: Grappler's arithmetic optimizer merges identical ops
    # (a Square of the gradient is one the optimizer's update has too) and rewrites chains it
    # is the sole consumer of; an op of our own kind shares nothing with the training's ops,
    # so the training graph is optimized exactly as without gradsight.
    fast = tf.stack([tf.cast(tf.math.reduce_euclidean_norm(_floating(t)), F64) ** 2
                     for t in tensors])
    # (an exact 0 may be an underflow, so it is redone too: a run with a dead layer pays the
    # float64 pass, a healthy one never does)
    risky = tf.reduce_any(tf.logical_not((fast > _SAFE[0]) & (fast < _SAFE[1])))
    return tf.cond(risky, lambda: tf.stack([norm64(t) for t in tensors]),
                   lambda: tf.sqrt(fast))


def _floating(t: Any) -> tf.Tensor:
    v = dense_values(t)
    return v if v.dtype.is_floating else tf.cast(v, tf.float32)


def nonfinite64(t: Any) -> tf.Tensor:
    """Count of NaN/Inf elements, float64 (0 for integer tensors)."""
    values = dense_values(t)
    if not values.dtype.is_floating:
        return tf.constant(0.0, F64)
    return tf.reduce_sum(tf.cast(tf.logical_not(tf.math.is_finite(values)), F64))


def scalar64(value: Any) -> tf.Tensor:
    return tf.reshape(tf.cast(value, F64), [])


def sample_indices(shape: Sequence[int], k: int = m.UPDATE_SAMPLE) -> tuple[np.ndarray, float]:
    """Positions (in the flattened tensor) of the fixed update sample and the factor turning
    the sample's norm into the tensor's: every ``stride``-th element, the stride coprime with
    the last dimension so the sample visits every row and column (see ``metrics``)."""
    n = int(np.prod(shape)) if len(shape) else 1
    if n <= k:
        return np.arange(n, dtype=np.int64), 1.0
    stride = max(n // k, 1)
    last = int(shape[-1]) if len(shape) else 1
    while math.gcd(stride, last) != 1 and (k - 1) * (stride + 1) < n:
        stride += 1
    return np.arange(k, dtype=np.int64) * stride, math.sqrt(n / k)


def sample(variable: Any, indices: np.ndarray, k: int = m.UPDATE_SAMPLE) -> tf.Tensor:
    """The variable's sampled elements as float64, zero-padded to ``k``."""
    flat = tf.reshape(tf.convert_to_tensor(variable), [-1])
    picked = tf.cast(tf.gather(flat, indices), F64)
    return tf.pad(picked, [[0, k - len(indices)]]) if len(indices) < k else picked


def activation_row(output: Any, family: str | None) -> tuple[list[Any], Any]:
    """A layer output's ``metrics.ACT_METRICS`` (float64 values), and for the ReLU family the
    per-unit "fired for some input" op (units on the last axis: channels-last).

    Mean and std come from sums in the output's own float32 (a float64 copy of every
    activation doubles what the step reads), redone in float64 in one ``tf.cond`` where
    float32 could be inexact: a non-finite value, a sum of squares outside float32's safe
    range, or a variance that cancels (``_CANCELLATION``). Fractions are exact counts."""
    d = tf.stop_gradient(output)
    x = tf.reshape(d, [-1])
    n = tf.cast(tf.maximum(tf.size(x), 1), F64)
    if x.dtype == tf.float32:
        mean, std, total = _moments32(x, n)
    else:
        mean, std, total = _moments64(x, n)
    zero = (tf.cast(tf.size(x), F64) - tf.cast(tf.math.count_nonzero(x), F64)) / n
    nonfinite = tf.cast(tf.logical_not(tf.math.is_finite(total)), F64)
    level = m.SATURATION_LEVEL
    if family == "tanh":
        saturated = tf.cast(tf.math.count_nonzero(tf.abs(x) > level), F64) / n
    elif family == "sigmoid":
        saturated = tf.cast(tf.math.count_nonzero(
            tf.logical_or(x < 1 - level, x > level)), F64) / n
    else:
        saturated = tf.constant(0.0, F64)
    units = None
    if family in m.RELU_FAMILY and d.shape.rank:
        axes = list(range(d.shape.rank - 1))
        units = tf.reduce_any(d > 0, axis=axes) if axes else d > 0
    return [mean, std, zero, nonfinite, saturated], units


# Where the variance is below this fraction of the mean square, E[x^2] - mean^2 cancels: float32
# sums would leave the variance with an error above ~1e-4 of itself, so float64 takes over.
_CANCELLATION = 1e-2


def _moments64(x: tf.Tensor, n: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """(mean, std, sum) in float64 arithmetic, the std about the mean (two passes: no
    cancellation however far the mean is from 0)."""
    x64 = tf.cast(x, F64)
    total = tf.reduce_sum(x64)
    mean = total / n
    return mean, tf.sqrt(tf.reduce_sum(tf.square(x64 - mean)) / n), total


def _moments32(x: tf.Tensor, n: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """(mean, std, sum) from float32 sums, or ``_moments64`` where those could be inexact."""
    total32 = tf.reduce_sum(x)
    square32 = tf.reduce_sum(tf.square(x))
    mean = tf.cast(total32, F64) / n
    square = tf.cast(square32, F64) / n
    variance = square - mean * mean
    risky = tf.logical_not(tf.math.is_finite(total32) & (square32 > _SAFE[0]) &
                           (square32 < _SAFE[1]) & (variance >= _CANCELLATION * square))
    return tf.cond(risky, lambda: _moments64(x, n),
                   lambda: (mean, tf.sqrt(tf.maximum(variance, 0.0)), tf.cast(total32, F64)))


def histograms(tensors: Sequence[Any]) -> tf.Tensor:
    """Rows ``[lo, hi, counts...]`` (``metrics.HIST_WIDTH`` float64 numbers) per tensor, over
    each one's finite range, of a uniform strided sample of at most ``metrics.HIST_SAMPLE``
    values (what the PyTorch adapter's ``stats.histograms`` computes); non-finite values are
    left out."""
    rows = []
    bins = m.HIST_BINS
    for t in tensors:
        x = tf.reshape(tf.cast(dense_values(t), F64), [-1])
        n = x.shape[0]
        if n is not None and n > m.HIST_SAMPLE:
            x = x[:: -(-n // m.HIST_SAMPLE)]
        x = tf.boolean_mask(x, tf.math.is_finite(x))
        lo = tf.reduce_min(x) if x.shape[0] != 0 else tf.constant(np.inf, F64)
        hi = tf.reduce_max(x) if x.shape[0] != 0 else tf.constant(-np.inf, F64)
        width = tf.maximum(hi - lo, np.finfo(np.float64).tiny)
        index = tf.cast(tf.clip_by_value(tf.floor((x - lo) / width * bins), 0, bins - 1),
                        tf.int32)
        counts = tf.math.bincount(index, minlength=bins, maxlength=bins, dtype=F64)
        rows.append(tf.concat([tf.stack([lo, hi]), counts], axis=0))
    return tf.stack(rows) if rows else tf.zeros([0, m.HIST_WIDTH], F64)


def reference_loss(family: str, sums: Any, squares: Any, deviations: Any, count: Any,
                   smoothing: float = 0.0) -> tf.Tensor:
    """The best constant prediction's loss per element (float64 scalar) from running sums over
    the targets (``metrics.LOSS_FAMILIES``): for classes ``sums`` are the class counts, else
    per-feature sums over ``count`` samples (``squares``: of the squared targets, for MSE;
    ``deviations``: of |target - running median|, for L1). What the PyTorch criterion's
    ``Reference.value`` computes, as ops (the Keras and TF1 adapters both use it)."""
    if family == m.FAMILY_CLASSES:
        p = sums / tf.reduce_sum(sums)
        if smoothing:
            p = (1 - smoothing) * p + smoothing / int(sums.shape[0])
        return -tf.reduce_sum(tf.math.xlogy(p, p))
    n = tf.maximum(count, 1.0)
    mean = sums / n
    if family == m.FAMILY_BINARY:
        q = tf.clip_by_value(mean, 0.0, 1.0)
        return -tf.reduce_mean(tf.math.xlogy(q, q) + tf.math.xlogy(1 - q, 1 - q))
    if family == m.FAMILY_SQUARED:
        return tf.reduce_mean(tf.maximum(squares / n - mean * mean, 0.0))
    return tf.reduce_mean(deviations / n)
