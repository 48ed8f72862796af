"""In-graph statistics shared by the Keras and TF1 adapters.

Everything here builds TensorFlow ops; nothing reads a value back. The adapters evaluate the
ops only on recorded steps (a ``tf.cond`` in Keras, an extra fetch of ``Session.run`` in TF1)
and ship one float64 vector per recorded step. Norms are taken in float64 for the reason the
PyTorch side gives: the 1e-32-scale gradients of a collapsed deep stack square below float32.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

F64 = tf.float64

# Keras layer classes / TF ops -> the activation family the detectors know.
ACTIVATIONS = {
    "relu": "relu", "relu6": "relu", "leaky_relu": "leaky_relu", "leakyrelu": "leaky_relu",
    "elu": "elu", "selu": "selu", "gelu": "gelu", "silu": "silu", "swish": "silu",
    "tanh": "tanh", "sigmoid": "sigmoid", "softmax": "softmax", "softplus": "softplus",
}


def dense_values(t: Any) -> tf.Tensor:
    """A gradient's values: ``IndexedSlices`` (embedding lookups) carry only touched rows."""
    return t.values if isinstance(t, tf.IndexedSlices) else t


def norm64(t: Any) -> tf.Tensor:
    """L2 norm in float64 as a scalar."""
    return tf.norm(tf.reshape(tf.cast(dense_values(t), F64), [-1]))


def nonfinite64(t: Any) -> tf.Tensor:
    """Count of NaN/Inf elements, float64 (0 for integer tensors)."""
    values = dense_values(t)
    if not values.dtype.is_floating:
        return tf.constant(0.0, F64)
    return tf.reduce_sum(tf.cast(tf.logical_not(tf.math.is_finite(values)), F64))


def scalar64(value: Any) -> tf.Tensor:
    return tf.reshape(tf.cast(value, F64), [])
