"""Value specs of synthetic runs: a number, a callable ``step -> number``, or a sequence
aligned with the steps, for one entity or ``{name: spec}``; and the healthy defaults."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Union

Number = Union[int, float]
Spec = Union[Number, None, Callable[[int], Union[Number, None]], Sequence[Union[Number, None]]]

NAN = math.nan
INF = math.inf

# Healthy defaults: every layer's |g|/|w| alike, per-step relative updates near 1e-3.
HEALTHY_GRAD_TO_WEIGHT = 1e-1
HEALTHY_UPDATE_TO_WEIGHT = 1e-3
DEFAULT_LR = 0.1

ACTIVATION_TYPES = {
    "relu": "ReLU",
    "leaky_relu": "LeakyReLU",
    "tanh": "Tanh",
    "sigmoid": "Sigmoid",
    "gelu": "GELU",
    "selu": "SELU",
}


def healthy_loss(step: int) -> float:
    return 0.1 + 2.0 * 0.98**step


def when(condition: Callable[[int], bool], then: Spec, otherwise: Spec) -> Callable[[int], Any]:
    """``when(lambda s: s >= 40, NAN, 1.0)``: a spec that switches on the step."""

    def spec(step: int) -> Any:
        return _resolve(then if condition(step) else otherwise, step, None)

    return spec


def _resolve(spec: Spec, step: int, index: int | None) -> Number | None:
    if spec is None or isinstance(spec, numbers.Real):
        return spec
    if callable(spec):
        return spec(step)
    if index is None:
        raise TypeError("a sequence spec cannot be nested in when()")
    return spec[index]


def _pick(specs: Any, name: str, default: Spec) -> Spec:
    if isinstance(specs, Mapping):
        return specs.get(name, default)
    return default if specs is None else specs
