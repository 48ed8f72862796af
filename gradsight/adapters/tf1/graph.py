"""Reading a TF1 graph the way the detectors need it: layers, activations, reachability.

A TF1 script has no layer objects, only ops. A "layer" here is the op that consumes a weight
(``MatMul``, ``Conv2D``); its bias is the variable added to that op's output; the activation
is the op applied after the add. Only the forward graph counts: the ancestors of the loss, so
the gradient ops (which consume the same variables) are never mistaken for layers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from ...core import records
from ..tf_ops import ACTIVATIONS

LINEAR_OPS = {
    "MatMul", "BatchMatMul", "BatchMatMulV2", "BatchMatMulV3", "Conv1D", "Conv2D", "Conv3D",
    "DepthwiseConv2dNative",
}
ADD_OPS = {"Add", "AddV2", "BiasAdd"}
PASS_OPS = {"Identity", "ReadVariableOp", "Reshape", "Cast"}
# Ops that turn finite inputs into NaN/Inf: watched for non-finite values only (records.OP).
HAZARD_OPS = {
    "Log", "Log1p", "Sqrt", "Rsqrt", "Reciprocal", "Inv", "RealDiv", "Div", "Pow", "Exp",
    "Xlogy", "Xdivy", "Acos", "Asin", "Atanh", "Acosh", "Lgamma", "Digamma",
}
MAX_HAZARDS = 64  # the first in the graph: each costs one reduction on detail steps
_BN_MARKERS = ("/batchnorm/", "/moments/", "/FusedBatchNorm")


@dataclass
class VarInfo:
    module: str | None = None
    module_type: str | None = None
    module_kind: str | None = None
    followed_by: str | None = None
    feeds: list[str] = field(default_factory=list)
    is_bias: bool = False
    reaches_loss: bool | None = None


@dataclass
class GraphLayout:
    variables: dict[str, VarInfo]
    modules: dict[str, dict[str, Any]]  # name -> {"type", "kind", "activation", "order", ...}


def ancestors(tensors: Iterable[Any]) -> set[Any]:
    """Every op the given tensors depend on through data edges (the forward graph)."""
    seen: set[Any] = set()
    stack = [t.op for t in tensors if t is not None]
    while stack:
        op = stack.pop()
        if op in seen:
            continue
        seen.add(op)
        stack.extend(t.op for t in op.inputs)
    return seen


def layout(variables: list[Any], loss: Any | None) -> GraphLayout:
    """Layers, activations and batch-norm consumers of ``variables`` in the graph of ``loss``."""
    forward = ancestors([loss]) if loss is not None else None
    out: dict[str, VarInfo] = {}
    modules: dict[str, dict[str, Any]] = {}
    for v in variables:
        info = VarInfo(reaches_loss=(v.op in forward) if forward is not None else None)
        out[v.op.name] = info
        for op in _consumers_of_value(v.op.outputs[0], forward):
            if op.type in LINEAR_OPS:
                adds = [c for c in _consumers(op.outputs[0], forward) if c.type in ADD_OPS]
                _place(info, op, adds[0] if adds else op, forward, modules)
                break
            if op.type in ADD_OPS:
                others = [t.op for t in op.inputs if t.op.type in LINEAR_OPS]
                if others:
                    info.is_bias = True
                    _place(info, others[0], op, forward, modules)
                    break
    if forward is not None:
        _hazards(forward, modules)
    return GraphLayout(out, modules)


def _hazards(forward: set[Any], modules: dict[str, dict[str, Any]]) -> None:
    """The forward graph's ``HAZARD_OPS`` that are no layer's output, as ``records.OP``
    modules: a NaN born in the loss's own ops (a log of a negative linear output) has no layer
    to be named by, and is named by its op instead of "the loss"."""
    outputs = {spec["output"].op for spec in modules.values() if spec.get("output") is not None}
    ops = sorted((op for op in forward if op.type in HAZARD_OPS and op not in outputs
                  and op.outputs and op.outputs[0].dtype.is_floating), key=lambda op: op._id)
    for op in ops[:MAX_HAZARDS]:
        modules.setdefault(op.name, {"type": op.type, "kind": records.OP, "activation": None,
                                     "order": op._id, "output": op.outputs[0]})


def _place(info: VarInfo, layer: Any, tail: Any, forward: set[Any] | None,
           modules: dict[str, dict[str, Any]]) -> None:
    """Put a variable in its layer: named by the layer's activation op (``O``, ``O1`` in the
    seeds), else by its matmul/conv op; the layer's output is the activation's (or the add's)."""
    act_op, norms = _after(tail, forward, modules)
    info.module = act_op.name if act_op is not None else layer.name
    info.module_type = layer.type
    info.module_kind = records.CONV if "Conv" in layer.type else records.LINEAR
    info.followed_by = ACTIVATIONS.get(act_op.type.lower()) if act_op is not None else None
    info.feeds = norms
    if info.module not in modules:
        modules[info.module] = {
            "type": layer.type, "kind": info.module_kind, "activation": info.followed_by,
            "order": layer._id,
            "output": (act_op if act_op is not None else tail).outputs[0],
        }


def _after(op: Any, forward: set[Any] | None,
           modules: dict[str, dict[str, Any]]) -> tuple[Any, list[str]]:
    """The activation op applied to ``op``'s output, and the batch norms it feeds."""
    activation, norms = None, []
    for c in _consumers(op.outputs[0], forward):
        if activation is None and c.type.lower() in ACTIVATIONS:
            activation = c
        norm = _batch_norm_scope(c)
        if norm is not None:
            norms.append(norm)
            modules.setdefault(norm, {"type": "BatchNormalization", "kind": records.BATCH_NORM,
                                      "activation": None, "order": c._id, "output": None})
    return activation, sorted(set(norms))


def _batch_norm_scope(op: Any) -> str | None:
    name = "/" + op.name
    if op.type.startswith("FusedBatchNorm"):
        return op.name.rsplit("/", 1)[0]
    for marker in _BN_MARKERS:
        if marker in name:
            return name.split(marker, 1)[0].lstrip("/")
    return None


def _consumers(tensor: Any, forward: set[Any] | None) -> list[Any]:
    return [c for c in tensor.consumers() if _is_forward(c, forward)]


def _consumers_of_value(tensor: Any, forward: set[Any] | None) -> list[Any]:
    """Consumers of a variable's value, looking through reads and identities."""
    out, stack, seen = [], [tensor], set()
    while stack:
        t = stack.pop()
        for c in t.consumers():
            if c in seen:
                continue
            seen.add(c)
            if c.type in PASS_OPS and c.outputs:
                stack.append(c.outputs[0])
            elif _is_forward(c, forward):
                out.append(c)
    return sorted(out, key=lambda op: op._id)


def _is_forward(op: Any, forward: set[Any] | None) -> bool:
    if forward is not None:
        return op in forward
    return "gradients" not in op.name and "gradsight" not in op.name
