"""Keras layers and variables as ``ModuleInfo``/``ParamInfo``: names are ``.path``s, kinds are
read from the layer classes, data flow from the calls seen while a step was traced."""

from __future__ import annotations

from typing import Any, Iterable

import keras
import numpy as np

from ...core import records
from ...core.records import ModuleInfo, ParamInfo, optimizer_kind
from ...core.recorder import Recorder
from ..tf_ops import ACTIVATIONS

_KINDS = (
    ("BatchNormalization", records.BATCH_NORM), ("LayerNormalization", records.LAYER_NORM),
    ("GroupNormalization", records.OTHER_NORM), ("UnitNormalization", records.OTHER_NORM),
    ("RMSNormalization", records.OTHER_NORM), ("Embedding", records.EMBEDDING),
    ("LSTM", records.RECURRENT), ("GRU", records.RECURRENT), ("RNN", records.RECURRENT),
    ("Conv", records.CONV), ("Dense", records.LINEAR), ("EinsumDense", records.LINEAR),
    ("MultiHeadAttention", records.ATTENTION), ("Attention", records.ATTENTION),
)


def name_of(variable: Any) -> str:
    return str(getattr(variable, "path", None) or variable.name.split(":")[0])


def layer_name(layer: Any) -> str:
    return str(getattr(layer, "path", None) or layer.name)


def activation(layer: Any) -> str | None:
    """The family a layer is (``ReLU``) or applies inside its call (``Dense(activation=)``)."""
    kind = ACTIVATIONS.get(type(layer).__name__.lower())
    if kind is not None:
        return kind
    fn = getattr(layer, "activation", None)
    name = fn if isinstance(fn, str) else getattr(fn, "__name__", None) if fn is not None else None
    return ACTIVATIONS.get(str(name).lower()) if name else None


def layer_kind(layer: Any) -> str:
    name = type(layer).__name__
    for fragment, kind in _KINDS:
        if fragment in name:
            return kind
    return records.ACTIVATION if activation(layer) is not None else records.OTHER


def describe(recorder: Recorder, plan: Any, optimizer_index: int, layers: dict[int, Any],
             order: dict[int, int], edges: dict[int, set[int]], models: Iterable[Any],
             functional: dict[int, str] | None = None) -> None:
    """Declare the plan's variables and every layer that owns one. ``functional``: the
    activation applied as a function to a layer's output (``tf.nn.relu(self.dense(x))``), by
    id(layer): the layer is described as applying it."""
    owner_of: dict[int, int] = {}
    for key, layer in layers.items():
        for v in getattr(layer, "_trainable_variables", []) + getattr(
                layer, "_non_trainable_variables", []):
            owner_of[id(v)] = key
    for model in models:
        for layer in model._flatten_layers(include_self=False, recursive=True):
            for v in layer._trainable_variables:
                owner_of.setdefault(id(v), id(layer))
                layers.setdefault(id(layer), layer)
    names = {k: layer_name(layer) for k, layer in layers.items()}
    kinds = {k: activation(layer) or (functional or {}).get(k) for k, layer in layers.items()}
    consumers: dict[int, list[int]] = {}
    for consumer, producers in edges.items():
        for p in producers:
            consumers.setdefault(p, []).append(consumer)
    for key, layer in sorted(layers.items(), key=lambda kv: order.get(kv[0], 10**9)):
        recorder.describe(ModuleInfo(
            names[key], order.get(key, 10**6), type(layer).__name__, layer_kind(layer),
            kinds[key], tuple(sorted(names[p] for p in edges.get(key, ()) if p in names))))
    lr = python_lr(plan.optimizer)
    traced = bool(edges)
    for i, (name, v, grad) in enumerate(zip(plan.names, plan.variables, plan.has_grad)):
        key = owner_of.get(id(v))
        layer = layers.get(key) if key is not None else None
        feeds = tuple(sorted(names[c] for c in consumers.get(key, ()) if c in names)) \
            if key is not None else ()
        following = [kinds[c] for c in consumers.get(key, ()) if kinds.get(c)]
        own = kinds.get(key) if layer is not None and (getattr(
            layer, "activation", None) is not None or key in (functional or {})) else None
        shape = tuple(int(d) for d in v.shape)
        recorder.describe(ParamInfo(
            name, i, shape,
            requires_grad=bool(getattr(v, "trainable", True)),
            module=names.get(key) if key is not None else None,
            module_type=type(layer).__name__ if layer is not None else None,
            module_kind=layer_kind(layer) if layer is not None else None,
            followed_by=own or (following[0] if following else None),
            feeds=feeds if traced else None,
            optimizer=optimizer_index,
            optimizer_type=type(plan.optimizer).__name__,
            optimizer_kind=optimizer_kind(type(plan.optimizer).__name__),
            lr=lr,
            optimized=grad,
            fan_in=int(np.prod(shape[:-1])) if len(shape) >= 2 else None,
            is_bias=name.rsplit("/", 1)[-1] == "bias",
            dtype=_dtype_name(v),
        ))


def _dtype_name(variable: Any) -> str | None:
    """A variable's type as a neutral name ("float32"; a Keras 3 variable's dtype is already a
    string, a tf.Variable's a ``tf.DType``)."""
    dtype = getattr(variable, "dtype", None)
    dtype = getattr(dtype, "base_dtype", dtype)
    name = getattr(dtype, "name", dtype)
    return str(name) if name is not None else None


def python_lr(optimizer: Any) -> float | None:
    try:
        return float(optimizer.learning_rate.numpy())
    except Exception:
        return None


def is_model(layer: Any) -> bool:
    return isinstance(layer, keras.Model)
