"""Keras activations applied as functions inside a layer's or model's ``call``
(``tf.nn.relu(self.dense(x))``, ``keras.activations.tanh(...)``, ``keras.ops.relu``), measured
where their output is consumed: what ``adapters/torch/functional.py`` does for PyTorch.

While a step is traced, a layer with weights whose input is no layer's output (or the output
of a layer that only moves values: ``Flatten``, ``Dropout``, pooling) is walked back through the
graph's ops: over ops that only move values to an activation op (``Relu``, ``Tanh``, ...), and
past it to the layer output it was applied to. The consumer's input is then that producer's
activation: its statistics go into a ring of the producer's (``outputs``: dead units on the last,
channels-last axis; the saturated fraction), written under the same in-graph detail flag as
every layer output. Eager tensors keep no ops: a custom loop run eagerly is not walked.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from ...core import metrics as m
from ...core.recorder import Recorder
from . import outputs as layer_outputs
from .describe import layer_name

MAX_WALK = 8
FAMILIES = {"Relu": "relu", "Relu6": "relu", "Tanh": "tanh", "Sigmoid": "sigmoid",
            "LeakyRelu": "leaky_relu", "Elu": "elu", "Selu": "selu", "Softplus": "softplus"}
MOVES = ("Reshape", "Identity", "Squeeze", "ExpandDims", "Transpose", "MaxPool", "MaxPoolV2",
         "MaxPool3D", "StridedSlice", "IdentityN")
KEEPS_ZEROS = ("Mul", "SelectV2", "AvgPool", "AvgPool3D", "RealDiv")  # dropout masks, averages
# The statistics a consumer-side ring ships: its mean and spread are the activation's, not the
# producer layer's own output's, so they are left out.
SHIPPED = (m.DEAD_FRAC, m.DEAD_FRAC_WINDOW, m.ACT_SATURATED_FRAC)


def activation_of(tensor: Any, outputs: dict[int, tuple[Any, int]]) -> tuple[str, int] | None:
    """(family, id of the layer the activation was applied to) behind a graph tensor; None
    when none is found, or the activation is a layer's own output (measured as such)."""
    zeros_only = False
    t = tensor
    for _ in range(MAX_WALK):
        op = getattr(t, "op", None)
        if op is None or not op.inputs:
            return None
        family = FAMILIES.get(op.type)
        if family is not None:
            if (zeros_only and family != "relu") or _owner(t, outputs) is not None:
                return None  # a scaled tanh; or a layer's own output (keras.layers.ReLU)
            producer = _producer(op.inputs[0], outputs)
            return (family, producer) if producer is not None else None
        if op.type in KEEPS_ZEROS:
            zeros_only = True
        elif op.type not in MOVES:
            return None
        t = op.inputs[0]
    return None


def _owner(tensor: Any, outputs: dict[int, tuple[Any, int]]) -> int | None:
    entry = outputs.get(id(tensor))
    return entry[1] if entry is not None and entry[0] is tensor else None


def _producer(tensor: Any, outputs: dict[int, tuple[Any, int]]) -> Any:
    for _ in range(MAX_WALK):
        owner = _owner(tensor, outputs)
        if owner is not None:
            return owner
        op = getattr(tensor, "op", None)
        if op is None or op.type not in MOVES or not op.inputs:
            return None
        tensor = op.inputs[0]
    return None


def walk(tensor: Any, outputs: dict[int, tuple[Any, int]]) -> tuple[str, int] | None:
    """(family, id(producer layer)) for a consumer's graph input, or None."""
    if tf.executing_eagerly() or not isinstance(tensor, tf.Tensor) or \
            not tensor.dtype.is_floating:
        return None
    return activation_of(tensor, outputs)


class FunctionalInputs:
    """The activations found applied as functions, and the rings of their statistics."""

    def __init__(self) -> None:
        self.families: dict[int, str] = {}  # id(producer layer) -> family
        self._rings: dict[int, layer_outputs.LayerRing] = {}

    def consumed(self, consumer: int, tensor: Any, flow: dict[int, tuple[Any, int]],
                 layers: dict[int, Any]) -> int | None:
        """id(producer layer) when ``tensor``, a consumer's input, is an activation applied to
        that layer's output as a function; None otherwise."""
        found = walk(tensor, flow)
        if found is None or found[1] == consumer:
            return None
        family, producer = found
        ref = layers.get(producer)
        source = ref() if ref is not None else None
        if source is None:
            return None
        self.families[producer] = family
        if producer not in self._rings:
            units = tensor.shape[-1] if tensor.shape.rank else None
            self._rings[producer] = layer_outputs.make_ring(layer_name(source), family, units)
        return producer

    def record(self, producer: int, tensor: Any, step: Any, flag: Any) -> None:
        """The ops writing the activation's statistics on detail steps (in the graph)."""
        layer_outputs.record(self._rings[producer], tensor, step, flag)

    def drain(self, recorder: Recorder) -> None:
        for ring in self._rings.values():
            for step, metrics, values in layer_outputs.drain(ring):
                keep = [i for i, k in enumerate(metrics) if k in SHIPPED]
                recorder.record(step, "module", [ring.name], [metrics[i] for i in keep],
                                [values[keep]])
