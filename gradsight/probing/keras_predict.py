"""The Keras probe's prediction: a ``clone_model`` copy re-initialized as recommended per layer,
measured on the same batch (the user's model is only read)."""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from .keras import _as_input, fans, kernel_of, measure
from .layer_stats import LayerStats

_TANH_GAIN = 5.0 / 3.0


def recommended_std(scheme: str, fan_in: int, fan_out: int, activation: str | None) -> float:
    """The normal std each scheme gives (torch_init's numbers, without importing torch)."""
    if scheme == "he":
        return math.sqrt(2.0 / fan_in)
    if scheme == "xavier":
        gain = _TANH_GAIN if activation == "tanh" else 1.0
        return gain * math.sqrt(2.0 / (fan_in + fan_out))
    return 1.0 / math.sqrt(fan_in)  # lecun


def reinitialized_clone(model: Any, example_input: Any, layers: list[LayerStats],
                        seed: int = 0) -> Any:
    """A ``clone_model`` copy with every kernel re-drawn as recommended for the activation that
    follows it (He/Glorot/LeCun, normal) and biases zero; other weights copied. The user's
    model is only read (``get_weights``)."""
    import keras

    clone = keras.models.clone_model(model)
    if not clone.built or not clone.weights:
        clone(_as_input(example_input), training=False)
    clone.set_weights(model.get_weights())
    rng = np.random.default_rng(seed)
    by_name = {layer.name: layer for layer in layers if layer.weight is not None}
    for keras_layer in clone.layers:
        stats = by_name.get(keras_layer.name)
        kernel = kernel_of(keras_layer)
        if stats is None or kernel is None:
            continue
        scheme = stats.recommended or "xavier"
        fan_in, fan_out = fans(tuple(kernel.shape))
        std = recommended_std(scheme, fan_in, fan_out, stats.followed_by)
        kernel.assign(rng.normal(0.0, std, tuple(kernel.shape)).astype(kernel.dtype))
        bias = getattr(keras_layer, "bias", None)
        if bias is not None:
            bias.assign(np.zeros(tuple(bias.shape), dtype=bias.dtype))
    return clone


def predict(model: Any, example_input: Any, layers: list[LayerStats],
            loss_fn: Callable[[Any], Any] | None = None) -> list[LayerStats]:
    """Measure a copy re-initialized as recommended per layer, on the same batch."""
    clone = reinitialized_clone(model, example_input, layers)
    measured, _, _ = measure(clone, example_input, loss_fn)
    return measured
