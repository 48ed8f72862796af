"""``gradsight.probe(model, example_input, loss_fn=None)``: audit initialization, change nothing."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any, Callable, Sequence

from ..core.finding import Finding
from .layer_stats import LayerStats
from .result import ProbeResult
from .store import profile_findings

INIT_NAMES = {"he": "He (Kaiming)", "xavier": "Xavier/Glorot", "lecun": "LeCun",
              "orthogonal": "orthogonal"}


def probe(model: Any, example_input: Any, loss_fn: Callable[[Any], Any] | None = None,
          *, predict: bool = True) -> "ProbeResult":
    """Forward (and backward) one batch through ``model`` at its current weights and report,
    per layer, activation mean/std, gain, gradient std, dead/saturated fractions, and where the
    signal explodes, collapses or turns non-finite: the findings of the same detectors that
    judge a watched run, on a run of one step.

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
    args, kwargs = split_input(example_input)
    layers, params, loss = measure(model, args, kwargs, loss_fn)
    prediction = predict_profile(model, args, kwargs, layers, loss_fn) if predict else []
    found = profile_findings(layers, params, loss, "torch", "torch")
    return ProbeResult(layers, prediction, with_prediction(found, prediction), loss)


def with_prediction(findings: list[Finding], prediction: Sequence[LayerStats]) -> list[Finding]:
    """What the measured copy with the recommended init shows, beside the init finding."""
    predicted = summarize_prediction(prediction)
    if not predicted:
        return findings
    out = []
    for f in findings:
        if f.kind == "poor_initialization":
            inits = "/".join(i for i in predicted["inits"] if i)
            f = replace(f, evidence={**f.evidence, "predicted_with_recommended_init": predicted},
                        summary=f.summary + f"; with {inits} init the probe measures a median "
                        f"gain of {predicted['gain_per_layer_median']:.3g} per layer and output "
                        f"rms {predicted['output_rms']:.3g}")
        out.append(f)
    return out


def summarize_prediction(prediction: Sequence[LayerStats]) -> dict[str, Any]:
    weights = [w for w in prediction if w.weight is not None]
    if not weights:
        return {}
    gains = sorted(w.gain for w in weights if math.isfinite(w.gain))
    ref = weights[0].in_rms
    first, last = weights[0].grad_to_weight, weights[-1].grad_to_weight
    return {
        "gain_per_layer_median": gains[len(gains) // 2] if gains else math.nan,
        "output_rms": weights[-1].out_rms,
        "output_rms_over_input": weights[-1].out_rms / ref if ref else None,
        "nonfinite": any(layer.nonfinite for layer in prediction),
        "grad_to_weight_first_over_last": first / last if first and last else None,
        "inits": sorted({INIT_NAMES.get(w.recommended or "", "") for w in weights}),
    }


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
    from .keras_predict import predict as predict_profile

    kp.check_supported(model)
    layers, params, loss = kp.measure(model, example_input, loss_fn)
    prediction = predict_profile(model, example_input, layers, loss_fn) if predict else []
    found = profile_findings(layers, params, loss, "tensorflow", "keras")
    return ProbeResult(layers, prediction, with_prediction(found, prediction), loss,
                       detail={"framework": "keras"})


def split_input(example_input: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """A model's input as (args, kwargs): a dict is keywords, a tuple positional arguments."""
    if isinstance(example_input, dict):
        return (), dict(example_input)
    if isinstance(example_input, tuple):
        return example_input, {}
    return (example_input,), {}
