"""What an adapter tells the core about a parameter or a module: frozen records of plain data.

Adapters describe the framework's objects in framework-neutral words (``kind``: ``linear``,
``conv``, ``recurrent``, ``embedding``, ``batch_norm``, ...; ``optimizer_kind``: ``sgd``,
``adam``, ...) so that detectors never read a framework's class names. The class name is kept
as ``type`` / ``module_type`` for people to read.

The store keeps each record as a JSON object (``info``) with the same keys; ``as_info`` writes
it, and ``legacy_kind`` fills ``kind`` for stores written before records had one.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

# Framework-neutral layer kinds.
LINEAR = "linear"
CONV = "conv"
RECURRENT = "recurrent"
EMBEDDING = "embedding"
BATCH_NORM = "batch_norm"
LAYER_NORM = "layer_norm"
OTHER_NORM = "norm"  # group/instance/RMS norms: they reset the scale too
ATTENTION = "attention"
ACTIVATION = "activation"
# A graph op that can make finite inputs non-finite (a log or root of a negative, a division by
# zero, an overflowing exp): watched for NaN/Inf only, to name where a NaN was born when no
# layer produced it (TF1: ``-y * tf.log(y_)`` between the last layer and the loss).
OP = "op"
OTHER = "other"
NORMS = (BATCH_NORM, LAYER_NORM, OTHER_NORM)

# Framework-neutral optimizer kinds.
SGD = "sgd"
# Floating-point types parameters are stored in with fewer significand bits than float32 (24),
# each with its own (the implicit leading bit counted): an update smaller than half the spacing
# of the numbers at a weight's size rounds away (bfloat16 at 1.0: spacing 2^-7, half 0.0039).
LOW_PRECISION_BITS = {"bfloat16": 8, "float16": 11}
ADAPTIVE = ("adam", "rmsprop", "adagrad", "adadelta", "adafactor", "lion", "other_adaptive")


@dataclass(frozen=True)
class ParamInfo:
    """One parameter (PyTorch ``named_parameters()`` name, Keras ``variable.path``, TF1 op)."""

    name: str
    order: int
    shape: tuple[int, ...]
    requires_grad: bool = True
    module: str | None = None  # the module that owns it
    module_type: str | None = None  # the framework's class name, for people
    module_kind: str | None = None  # LINEAR, CONV, ... for detectors
    followed_by: str | None = None  # activation family applied to the module's output
    feeds: tuple[str, ...] | None = None  # modules that consume the output (None: unknown)
    optimizer: int | None = None  # index of the optimizer that holds it
    optimizer_type: str | None = None
    optimizer_kind: str | None = None  # SGD, "adam", ...
    lr: float | None = None
    optimized: bool = False
    fan_in: int | None = None  # given where the layout is not PyTorch's (out, in, ...)
    is_bias: bool | None = None
    reaches_loss: bool | None = None  # TF1: a backward walk from the loss reaches it
    # across the ranks of a job: "replicate" (each rank holds all of it, all alike: DDP),
    # "shard(0)" (each holds some rows: FSDP2; its numbers are per rank, merged by core/job.py)
    placement: str | None = None
    dtype: str | None = None  # the stored numbers' type, neutral: "float32", "bfloat16", ...

    @property
    def numel(self) -> int:
        return math.prod(self.shape) if self.shape else 1

    def as_info(self) -> dict[str, Any]:
        info = asdict(self)
        del info["name"], info["order"]
        info["shape"] = list(self.shape)
        info["numel"] = self.numel
        info["feeds"] = list(self.feeds) if self.feeds is not None else None
        return info


@dataclass(frozen=True)
class ModuleInfo:
    """One layer as a person thinks of it, in forward order."""

    name: str
    order: int
    type: str
    kind: str = OTHER
    activation: str | None = None  # the family it is or applies: relu, tanh, sigmoid, ...
    inputs_from: tuple[str, ...] = ()
    owner: str | None = None  # the script's variable name of the model, when known

    def as_info(self) -> dict[str, Any]:
        info = asdict(self)
        del info["name"], info["order"]
        info["inputs_from"] = list(self.inputs_from)
        return info


_LEGACY_KINDS = (  # class-name fragments of stores written before records had a kind
    ("BatchNorm", BATCH_NORM), ("LayerNorm", LAYER_NORM), ("Norm", OTHER_NORM),
    ("Embedding", EMBEDDING), ("LSTM", RECURRENT), ("GRU", RECURRENT), ("RNN", RECURRENT),
    ("Conv", CONV), ("Linear", LINEAR), ("Dense", LINEAR), ("MatMul", LINEAR),
    ("Attention", ATTENTION),
)


def legacy_kind(type_name: str | None) -> str | None:
    """The neutral kind of a class name recorded by an older gradsight (None: unknown)."""
    if not type_name:
        return None
    for fragment, kind in _LEGACY_KINDS:
        if fragment in type_name:
            return kind
    return OTHER


def optimizer_kind(type_name: str | None) -> str | None:
    """``sgd``, ``adam``, ... from an optimizer class name (any framework names them alike)."""
    if not type_name:
        return None
    name = type_name.lower()
    if name in ("sgd", "gradientdescentoptimizer", "momentumoptimizer", "sgdw"):
        return SGD
    for kind in ("adam", "rmsprop", "adagrad", "adadelta", "adafactor", "lion"):
        if kind in name:
            return kind
    if "sgd" in name or "gradientdescent" in name or "momentum" in name:
        return SGD
    return "other_adaptive" if name else None
