"""What a TF1 loss tensor computes: its family, its targets, and its scale, read off the graph.

A TF1 script hands ``minimize`` a scalar tensor, not a loss object, so the loss function is
recovered by walking back from it:

- through the reduction: ``Mean`` (scale 1), ``Sum`` (scale: the elements it adds up, read at
  run time, so a last partial batch counts right), ``Neg``, a product with or a division by a
  constant, and pass-through ops (``Identity``, ``Cast``, ``Reshape``, ``Squeeze``);
- to the element-wise loss: ``SoftmaxCrossEntropyWithLogits`` (V2 builds the same op) and
  ``SparseSoftmaxCrossEntropyWithLogits`` (classes), ``tf.nn.sigmoid_cross_entropy_with_logits``
  (its ``logistic_loss`` add: binary), ``Square``/``SquaredDifference`` of a difference
  (squared), ``Abs`` of a difference (absolute), and hand-written log losses: ``y * log(p)``
  summed over classes (classes) or ``y * log(p) + (1 - y) * log(1 - p)`` (binary), under a
  negation.

The target is the operand that depends on no variable the train op trains (a placeholder fed
each step, a constant, a one-hot of labels); the prediction the one that does. A form not
recognised, or one whose operands do not split that way, gives ``None``: no reference is
better than a guessed one.

Scale: the loss as computed is ``scale`` times the mean of its element-wise loss, so the
reference at the loss's own scale is ``scale`` times the reference per element (a
``reduce_sum`` of squared errors over a batch of 32 is compared with 32 times the targets'
variance). The numbers a finding quotes are then the ones the script prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import tensorflow as tf

from ...core import metrics as m
from . import graph as tf1_graph

F64 = tf.float64
PASS = {"Identity", "Cast", "Reshape", "Squeeze", "StopGradient", "PreventGradient"}
REDUCE = {"Mean", "Sum"}
ADDS = {"Add", "AddV2"}
CONSTANT = {"Const"}


@dataclass
class LossForm:
    """The loss function behind a loss tensor. ``elementwise`` is the tensor whose mean times
    ``scale`` is the loss; ``target`` broadcast to ``elementwise``'s shape (or, for class
    indices/one-hot rows, as it is) gives the targets, ``width`` features (classes) each."""
    family: str
    target: Any
    width: int
    elementwise: Any
    scale: Any  # float64 scalar tensor
    sparse: bool = False  # class indices rather than one-hot/probability rows
    per_element: float = 1.0  # elements per unit of the reference (C for hand-written classes)


def find(loss: Any, trained: set[Any]) -> LossForm | None:
    """The form of ``loss`` (a scalar tensor) trained over the variable ops ``trained``."""
    t, factors, sign = _unreduce(loss)
    if t is None:
        return None
    found = _elementwise(t, trained)
    if found is None:
        return None
    family, target, width, sparse, per_element, form_sign = found
    sign *= form_sign
    if sign < 0 or width < 1:
        return None  # a loss to be maximised, or a form read wrongly: no reference
    scale = tf.constant(1.0, F64)
    for f in factors:
        scale = scale * f
    return LossForm(family, target, width, t, scale, sparse, per_element)


def _unreduce(loss: Any) -> tuple[Any, list[Any], int]:
    """Walk down the reduction chain: (element-wise tensor, scale factors, sign)."""
    t, factors, sign = loss, [], 1
    while True:
        op = t.op
        if op.type in PASS and op.inputs:
            t = op.inputs[0]
        elif op.type in REDUCE:
            x = op.inputs[0]
            if op.type == "Sum":
                factors.append(tf.cast(tf.size(x), F64) /
                               tf.cast(tf.maximum(tf.size(op.outputs[0]), 1), F64))
            t = x
        elif op.type == "Neg":
            sign, t = -sign, op.inputs[0]
        elif op.type in ("Mul", "RealDiv", "Div", "TrueDiv"):
            value = _scalar_constant(op.inputs[1])
            if value is None and op.type == "Mul":
                value, other = _scalar_constant(op.inputs[0]), op.inputs[1]
            else:
                other = op.inputs[0]
            if value is None or value == 0:
                return t, factors, sign
            value = value if op.type == "Mul" else 1.0 / value
            sign = sign if value > 0 else -sign
            factors.append(tf.constant(abs(value), F64))
            t = other
        else:
            return t, factors, sign


def _elementwise(t: Any, trained: set[Any]) -> tuple | None:
    """(family, target, width, sparse, per_element, sign) of an element-wise loss tensor."""
    op = t.op
    if op.type == "SoftmaxCrossEntropyWithLogits":
        logits, labels = op.inputs[0], op.inputs[1]
        return _classes(logits, labels, trained, sparse=False)
    if op.type == "SparseSoftmaxCrossEntropyWithLogits":
        logits, labels = op.inputs[0], op.inputs[1]
        return _classes(logits, labels, trained, sparse=True)
    if op.type in ADDS and op.name.rsplit("/", 1)[-1].startswith("logistic_loss"):
        return _logistic(op, trained)
    if op.type == "SquaredDifference":
        return _difference(t, op.inputs[0], op.inputs[1], m.FAMILY_SQUARED, trained)
    if op.type in ("Square", "Abs"):
        diff = _through(op.inputs[0])
        if diff.op.type != "Sub":
            return None
        family = m.FAMILY_SQUARED if op.type == "Square" else m.FAMILY_ABSOLUTE
        return _difference(t, diff.op.inputs[0], diff.op.inputs[1], family, trained)
    return _log_loss(t, trained)


def _classes(logits: Any, labels: Any, trained: set[Any], sparse: bool) -> tuple | None:
    width = _last(logits)
    if width is None:  # the V2 function flattens to 2-D through a reshape of unknown shape
        width = _last(_through(logits))
    if width is None or _depends(labels, trained) or not _depends(logits, trained):
        return None
    return m.FAMILY_CLASSES, labels, int(width), sparse, 1.0, 1


def _logistic(op: Any, trained: set[Any]) -> tuple | None:
    """``relu(x) - x * z + log1p(exp(-|x|))`` as ``sigmoid_cross_entropy_with_logits``
    builds it: the labels are the factor of the product that is not the logits."""
    for sub in op.inputs:
        if sub.op.type != "Sub":
            continue
        product = sub.op.inputs[1]
        if product.op.type != "Mul":
            continue
        split = _split(product.op.inputs[0], product.op.inputs[1], trained)
        if split is not None:
            prediction, target = split
            return m.FAMILY_BINARY, target, _width(prediction, op.outputs[0]), False, 1.0, 1
    return None


def _difference(t: Any, a: Any, b: Any, family: str, trained: set[Any]) -> tuple | None:
    split = _split(a, b, trained)
    if split is None:
        return None
    prediction, target = split
    return family, target, _width(prediction, t), False, 1.0, 1


def _log_loss(t: Any, trained: set[Any]) -> tuple | None:
    """Hand-written ``y * log(p)`` (classes) or ``y * log(p) + (1 - y) * log(1 - p)``
    (binary), with any placement of the minus signs; the terms must agree in sign."""
    terms = _terms(t, 1)
    read = []
    for sign, term in terms:
        found = _target_times_log(term, trained)
        if found is None:
            return None
        target, term_sign = found
        read.append((sign * term_sign, target))
    signs = {s for s, _ in read}
    if len(signs) != 1:
        return None
    sign = -signs.pop()  # y * log(p) <= 0: the loss is its negation
    if len(read) == 1:
        (_, target), = read
        width = target.shape[-1] if target.shape.rank and target.shape.rank >= 2 else None
        if width is None:
            return None
        return m.FAMILY_CLASSES, target, int(width), False, float(width), sign
    if len(read) == 2:
        (_, y), (_, other) = read
        if _is_one_minus(other, y):
            return m.FAMILY_BINARY, y, _width(y, t), False, 1.0, sign
        if _is_one_minus(y, other):
            return m.FAMILY_BINARY, other, _width(other, t), False, 1.0, sign
    return None


def _terms(t: Any, sign: int) -> list[tuple[int, Any]]:
    op = t.op
    if op.type in ADDS:
        return _terms(op.inputs[0], sign) + _terms(op.inputs[1], sign)
    if op.type == "Sub":
        return _terms(op.inputs[0], sign) + _terms(op.inputs[1], -sign)
    if op.type == "Neg":
        return _terms(op.inputs[0], -sign)
    return [(sign, t)]


def _target_times_log(t: Any, trained: set[Any]) -> tuple[Any, int] | None:
    if t.op.type != "Mul":
        return None
    for i in (0, 1):
        log, other = _through(t.op.inputs[i]), t.op.inputs[1 - i]
        if log.op.type == "Log" and _depends(log, trained) and not _depends(other, trained):
            sign = 1
            while other.op.type == "Neg":
                sign, other = -sign, other.op.inputs[0]
            return other, sign
    return None


def _is_one_minus(t: Any, y: Any) -> bool:
    """``t`` is ``1 - y``."""
    if t.op.type != "Sub":
        return False
    return _through(t.op.inputs[1]) is _through(y) and _scalar_constant(t.op.inputs[0]) == 1.0


def _split(a: Any, b: Any, trained: set[Any]) -> tuple[Any, Any] | None:
    """(prediction, target): exactly one of the two depends on a trained variable."""
    da, db = _depends(a, trained), _depends(b, trained)
    if da == db:
        return None
    return (a, b) if da else (b, a)


def _width(prediction: Any, elementwise: Any) -> int:
    """Features the best constant has one value for: the prediction's last dimension, unless
    the prediction is broadcast along it (a (n, 1) prediction against (n,) targets makes an
    (n, n) loss; its best constant is one number for all of them)."""
    shape = prediction.shape
    last = shape[-1] if shape.rank and shape.rank >= 2 else 1
    if last is None:
        return 1 if elementwise.shape.rank and elementwise.shape[-1] == 1 else 0
    out = elementwise.shape[-1] if elementwise.shape.rank else None
    return int(last) if out is None or out == last else 1


def _last(t: Any) -> int | None:
    return t.shape[-1] if t.shape.rank else None


def _through(t: Any) -> Any:
    while t.op.type in PASS and t.op.inputs:
        t = t.op.inputs[0]
    return t


def _scalar_constant(t: Any) -> float | None:
    t = _through(t)
    if t.op.type not in CONSTANT:
        return None
    value = tf.get_static_value(t)
    if value is None or getattr(value, "size", 1) != 1:
        return None
    return float(value.reshape(()) if hasattr(value, "reshape") else value)


def _depends(t: Any, trained: set[Any]) -> bool:
    return bool(tf1_graph.ancestors([t]) & trained)
