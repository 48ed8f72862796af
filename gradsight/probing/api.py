"""``gradsight.probe(model, example_input, loss_fn=None)``: audit initialization, change nothing."""

from __future__ import annotations

from typing import Any, Callable

from . import analyze
from .result import ProbeResult


def probe(model: Any, example_input: Any, loss_fn: Callable[[Any], Any] | None = None,
          *, predict: bool = True) -> "ProbeResult":
    """Forward (and backward) one batch through ``model`` at its current weights and report,
    per layer, activation mean/std, gain, gradient std, dead/saturated fractions, and where the
    signal explodes, collapses or turns non-finite.

    ``example_input``: a tensor, a tuple of positional arguments, or a dict of keyword
    arguments. ``loss_fn(output) -> scalar`` gives real gradients; without it the backward pass
    starts from a unit-normal output gradient. The model is not changed: no parameter, buffer,
    ``.grad``, train/eval mode or global RNG state differs afterwards.
    ``predict``: also measure a copy re-initialized as recommended per layer.

    A Keras 3 model (Sequential, functional, or a single layer) takes the Keras path: it is
    replayed layer by layer under a ``tf.GradientTape`` and its prediction is measured on a
    ``clone_model`` copy. Keras is detected only if already imported, so a torch user's probe
    never imports TensorFlow.
    """
    if _is_keras(model):
        return _probe_keras(model, example_input, loss_fn, predict)
    import torch

    from .measure import measure
    from .measure import predict as predict_profile

    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"gradsight.probe expects a torch.nn.Module, got {type(model).__name__}")
    args, kwargs = _split(example_input)
    layers, loss = measure(model, args, kwargs, loss_fn)
    prediction = predict_profile(model, args, kwargs, layers, loss_fn) if predict else []
    return ProbeResult(layers, prediction, analyze.findings(layers, prediction, loss), loss)


def _is_keras(model: Any) -> bool:
    """A Keras layer/model, checked only if Keras is already imported (it must be, to have
    built one), so probing a torch model never imports TensorFlow."""
    import sys

    keras = sys.modules.get("keras")
    layer = getattr(getattr(keras, "layers", None), "Layer", None)
    return layer is not None and isinstance(model, layer)


def _probe_keras(model: Any, example_input: Any, loss_fn: Callable[[Any], Any] | None,
                 predict: bool) -> "ProbeResult":
    from . import keras as kp

    kp.check_supported(model)
    layers, loss = kp.measure(model, example_input, loss_fn)
    prediction = kp.predict(model, example_input, layers, loss_fn) if predict else []
    found = [kp.keras_fixes(f) for f in analyze.findings(layers, prediction, loss)]
    return ProbeResult(layers, prediction, found, loss, detail={"framework": "keras"})


def _split(example_input: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    if isinstance(example_input, dict):
        return (), dict(example_input)
    if isinstance(example_input, tuple):
        return example_input, {}
    return (example_input,), {}
