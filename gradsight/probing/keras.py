"""Per-layer statistics of a Keras 3 model at its current weights (the Keras side of probe).

The torch side hooks modules; Keras has no global hooks, so the forward pass is replayed layer
by layer instead. A Sequential model (or a functional one whose layers form a chain) is called
one layer at a time on the previous output, so every intermediate tensor is on one
``tf.GradientTape``; other functional graphs are measured through a ``keras.Model`` whose
outputs are every layer's input and output. Each layer becomes a ``LayerStats`` row with the
fields the torch probe fills, so ``analyze.findings`` judges both frameworks the same way.

A Dense/Conv layer with ``activation=`` applies it inside ``call``: the torch probe measures a
``Linear`` *before* its ReLU (that is what the He/Glorot gain targets are about), so on the chain
path the layer's activation is switched to linear for its own call (restored straight after)
and the activation becomes a row of its own, named ``<layer>/<activation>``. On the general
functional path a layer's output is post-activation; its row then says so in ``type``.

Nothing here changes the user's model: calls use ``training=False`` (no batch-norm statistic
or dropout draw moves), gradients come from a tape (no optimizer, no variable assignment), and
the prediction is measured on a ``keras.models.clone_model`` copy.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable

import numpy as np

from ..core.metrics import SATURATION_LEVEL
from .layer_stats import LayerStats, ParamStats, _ratio, _rms

_FAMILIES = {"relu": "relu", "relu6": "relu", "tanh": "tanh", "sigmoid": "sigmoid",
             "hard_sigmoid": "sigmoid", "selu": "selu", "elu": "elu", "gelu": "gelu",
             "leaky_relu": "leaky_relu", "softmax": "softmax", "silu": "silu",
             "swish": "silu", "softplus": "softplus"}
_LAYER_FAMILIES = {"ReLU": "relu", "LeakyReLU": "leaky_relu", "PReLU": "leaky_relu",
                   "ELU": "elu", "Softmax": "softmax"}


def activation_family(fn: Any) -> str | None:
    """``relu``/``tanh``/… for a Keras activation function; None for linear or unknown."""
    name = getattr(fn, "__name__", None) or type(fn).__name__
    return _FAMILIES.get(str(name).lower())


def layer_family(layer: Any) -> str | None:
    """The activation a layer *is* (an ``Activation``/``ReLU``/… layer), else None."""
    kind = type(layer).__name__
    if kind in _LAYER_FAMILIES:
        return _LAYER_FAMILIES[kind]
    if kind == "Activation":
        return activation_family(layer.activation)
    return None


def inner_family(layer: Any) -> str | None:
    """The activation a weight layer applies inside its own ``call`` (``Dense(activation=)``)."""
    if layer_family(layer) is not None:
        return None
    return activation_family(getattr(layer, "activation", None))


def kernel_of(layer: Any) -> Any | None:
    """The weight matrix that sets a layer's gain: ``kernel`` (Dense, Conv, RNN input)."""
    kernel = getattr(layer, "kernel", None)
    return kernel if kernel is not None and len(kernel.shape) >= 2 else None


def fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """Keras kernels are (..., fan_in channels, fan_out channels): Dense (in, out), Conv2D
    (kh, kw, in, out). fan_in counts the receptive field, fan_out too (torch's convention)."""
    receptive = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    return receptive * int(shape[-2]), receptive * int(shape[-1])


def summary(value: Any, family: str | None) -> dict[str, float]:
    """mean, std (population), zero fraction, non-finite flag, saturated fraction, float64."""
    d = np.asarray(value, dtype=np.float64)
    with np.errstate(all="ignore"):
        n = max(d.size, 1)
        total = d.sum()
        mean = total / n
        square = np.square(d).sum() / n
        std = math.sqrt(max(square - mean * mean, 0.0)) if math.isfinite(square) else math.nan
        if not math.isfinite(total):
            std = math.inf if not np.isnan(d).any() else math.nan
        saturated = 0.0
        if family == "tanh":
            saturated = float((np.abs(d) > SATURATION_LEVEL).sum() / n)
        elif family == "sigmoid":
            saturated = float(((d < 1 - SATURATION_LEVEL) | (d > SATURATION_LEVEL)).sum() / n)
        return {"mean": float(mean), "std": float(std), "zero": float((d == 0).sum() / n),
                "nonfinite": float(not np.isfinite(total)), "saturated": saturated}


def active_units(value: Any) -> np.ndarray:
    """Per unit (Keras: the last axis, channels-last), whether it was positive for any input."""
    d = np.asarray(value)
    if d.ndim <= 1:
        return d.reshape(-1) > 0
    return d.max(axis=tuple(range(d.ndim - 1))) > 0


@dataclasses.dataclass
class _Row:
    """One measured tensor pair before it becomes a ``LayerStats``: the layer, what went in,
    what came out, and the activation it is (None: a weight or other layer)."""

    name: str
    kind: str
    layer: Any
    inp: Any
    out: Any
    family: str | None
    followed_by: str | None = None
    owns_weight: bool = True


def _chain(model: Any) -> list[Any] | None:
    """The layers in call order when the model is a straight chain; None otherwise."""
    import keras

    if not isinstance(model, keras.Model):
        return [model]
    layers = [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]
    if isinstance(model, keras.Sequential):
        return layers
    try:
        for before, after in zip(layers, layers[1:]):
            if after.input is not before.output:
                return None
        if len(model.inputs) != 1 or (layers and layers[0].input is not model.inputs[0]):
            return None
    except (AttributeError, ValueError):
        return None
    return layers


def _forward_chain(layers: list[Any], x: Any) -> tuple[list[_Row], Any]:
    """Call each layer on the previous output; a weight layer's own activation is split off
    (set to linear for its call, restored in ``finally``) and applied here."""
    import keras

    rows: list[_Row] = []
    h = x
    for layer in layers:
        family = inner_family(layer)
        if family is None:
            out = layer(h, training=False)
            rows.append(_Row(layer.name, type(layer).__name__, layer, h, out, layer_family(layer)))
            h = out
            continue
        activation = layer.activation
        try:
            layer.activation = keras.activations.linear
            pre = layer(h, training=False)
        finally:
            layer.activation = activation
        post = activation(pre)
        rows.append(_Row(layer.name, type(layer).__name__, layer, h, pre, None))
        rows.append(_Row(f"{layer.name}/{family}", family, layer, pre, post, family,
                         owns_weight=False))
        h = post
    for row, nxt in zip(rows, rows[1:]):
        row.followed_by = nxt.family
    return rows, h


def _forward_graph(model: Any, x: Any) -> tuple[list[_Row], Any]:
    """A functional graph that is not a chain: one ``keras.Model`` returning every layer's
    (first) input and output. Weight layers with an inner activation are measured after it."""
    import keras

    layers = [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]
    ins = [layer.input[0] if isinstance(layer.input, (list, tuple)) else layer.input
           for layer in layers]
    taps = keras.Model(model.inputs, ins + [layer.output for layer in layers])
    values = taps(x, training=False)
    n = len(layers)
    rows = []
    for layer, inp, out in zip(layers, values[:n], values[n:]):
        inner = inner_family(layer) if kernel_of(layer) is not None else None
        kind = type(layer).__name__ + (f"+{inner} (post-activation)" if inner else "")
        rows.append(_Row(layer.name, kind, layer, inp, out, layer_family(layer),
                         followed_by=inner))
    for row in rows:
        if row.followed_by is None:
            consumers = [r for r, layer in zip(rows, layers) if layer.input is row.layer.output
                         or (isinstance(layer.input, (list, tuple))
                             and any(t is row.layer.output for t in layer.input))]
            row.followed_by = next((c.family for c in consumers if c.family), None)
    outputs = values[n:]
    final = [outputs[layers.index(t._keras_history[0])] for t in model.outputs]
    return rows, final[0] if len(final) == 1 else final


def _forward(model: Any, x: Any) -> tuple[list[_Row], Any]:
    layers = _chain(model)
    if layers is not None:
        return _forward_chain(layers, x)
    return _forward_graph(model, x)


def _prefix(model: Any) -> str:
    import keras

    return f"{model.name}/" if isinstance(model, keras.Model) else ""


def _path(variable: Any, prefix: str) -> str:
    """``dense/kernel``: the variable's path relative to the model (Keras prefixes the
    model's name, ``sequential/dense/kernel``)."""
    path = getattr(variable, "path", variable.name)
    return path[len(prefix):] if prefix and path.startswith(prefix) else path


def measure(model: Any, example_input: Any, loss_fn: Callable[[Any], Any] | None = None
            ) -> tuple[list[LayerStats], list[ParamStats], float | None]:
    """One forward and backward pass of ``model`` on ``example_input``: per-layer rows, and the
    loss when ``loss_fn(output) -> scalar`` is given. Without it the backward pass starts from
    a unit-normal output gradient (a fixed numpy generator, so the global RNGs do not move)."""
    import tensorflow as tf

    x = _as_input(example_input)
    if not model.built or any(not layer.built for layer in getattr(model, "layers", [])):
        model(x, training=False)  # a Sequential without an Input has no weights until called
    variables = list(model.trainable_variables)
    with tf.GradientTape() as tape:
        rows, output = _forward(model, x)
        loss_value = None
        if loss_fn is not None:
            target = loss_fn(output)
            loss_value = float(np.asarray(target))
            seed = None
        else:
            target = output[0] if isinstance(output, list) else output
            seed = tf.constant(np.random.default_rng(0).standard_normal(
                tuple(target.shape)), dtype=target.dtype)
    outs = [row.out for row in rows]
    grads = tape.gradient(target, outs + variables, output_gradients=seed,
                          unconnected_gradients=tf.UnconnectedGradients.NONE)
    prefix = _prefix(model)
    by_path = {_path(v, prefix): g for v, g in zip(variables, grads[len(outs):])}
    layers = [_layer_stats(i, row, g, by_path, prefix)
              for i, (row, g) in enumerate(zip(rows, grads[:len(outs)]))]
    return layers, _param_stats(model, variables, by_path, prefix), loss_value


def _param_stats(model: Any, variables: list[Any], grads: dict[str, Any],
                 prefix: str) -> list[ParamStats]:
    owner = {}
    for layer in getattr(model, "layers", [model]):
        for v in layer.weights:
            owner[id(v)] = layer.name
    out = []
    for v in variables:
        path = _path(v, prefix)
        g = grads.get(path)
        shape = tuple(int(d) for d in v.shape)
        out.append(ParamStats(
            path, shape, owner.get(id(v)), float(np.linalg.norm(np.asarray(v, np.float64))),
            float(np.linalg.norm(np.asarray(g, np.float64))) if g is not None else None,
            bool(getattr(v, "trainable", True)),
            fan_in=int(np.prod(shape[:-1])) if len(shape) >= 2 else None,
            is_bias=path.rsplit("/", 1)[-1] == "bias"))
    return out


def _as_input(example_input: Any) -> Any:
    import tensorflow as tf

    if isinstance(example_input, (dict, list, tuple)):
        return example_input
    x = tf.convert_to_tensor(example_input)
    return x if x.dtype.is_floating else tf.cast(x, tf.float32)


def _layer_stats(order: int, row: _Row, out_grad: Any, grads: dict[str, Any],
                 prefix: str) -> LayerStats:
    inp = summary(row.inp, None) if row.inp is not None and not isinstance(
        row.inp, (list, tuple, dict)) else None
    out = summary(row.out, row.family)
    in_mean = inp["mean"] if inp else math.nan
    in_std = inp["std"] if inp else math.nan
    layer = LayerStats(
        row.name, row.kind, order, activation=row.family, followed_by=row.followed_by,
        in_mean=in_mean, in_std=in_std, in_rms=_rms(in_mean, in_std),
        out_mean=out["mean"], out_std=out["std"], out_rms=_rms(out["mean"], out["std"]),
        zero_frac=out["zero"], nonfinite=out["nonfinite"] > 0 or not math.isfinite(out["std"]),
    )
    if row.family in ("tanh", "sigmoid"):
        layer.saturated_frac = out["saturated"]
    if row.family == "relu":
        layer.dead_frac = float(1 - active_units(row.out).mean())
    if out_grad is not None:
        layer.out_grad_std = summary(out_grad, None)["std"]
    if row.owns_weight:
        _add_weight(layer, row.layer, grads, prefix)
    return layer


def _add_weight(layer: LayerStats, keras_layer: Any, grads: dict[str, Any],
                prefix: str) -> None:
    layer.params = [_path(v, prefix) for v in keras_layer.weights]
    kernel = kernel_of(keras_layer)
    if kernel is None:
        return
    layer.weight = _path(kernel, prefix)
    w = np.asarray(kernel, dtype=np.float64)
    layer.weight_std = float(w.std(ddof=1)) if w.size > 1 else float(np.abs(w).mean())
    layer.fan_in, layer.fan_out = fans(tuple(kernel.shape))
    g = grads.get(layer.weight)
    if g is not None:
        gd = np.asarray(g, dtype=np.float64)
        with np.errstate(all="ignore"):
            layer.grad_std = float(gd.std(ddof=1)) if gd.size > 1 else float(np.abs(gd).mean())
            layer.grad_to_weight = _ratio(float(np.linalg.norm(gd)), float(np.linalg.norm(w)))


def check_supported(model: Any) -> None:
    """Sequential, functional and bare layers replay; a subclassed ``Model.call`` cannot be
    taken apart layer by layer (and ``clone_model`` needs a config), so say so plainly."""
    import keras

    if keras.backend.backend() != "tensorflow":
        raise TypeError(f"gradsight.probe measures Keras on the TensorFlow backend, not "
                        f"{keras.backend.backend()!r}")
    from keras.src.models.functional import Functional

    if isinstance(model, keras.Model) and not isinstance(model, (keras.Sequential, Functional)):
        raise TypeError("gradsight.probe takes Sequential or functional Keras models; a "
                        f"subclassed {type(model).__name__} cannot be replayed layer by layer")
