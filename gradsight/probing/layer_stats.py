"""One layer's numbers at initialization, whichever framework measured them (torch-free, so the
Keras probe runs without PyTorch)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ..core.init_schemes import scheme_for


@dataclass
class LayerStats:
    """One module's numbers at initialization (averaged over the calls seen)."""

    name: str
    type: str
    order: int
    activation: str | None = None  # the module's own family if it is an activation
    followed_by: str | None = None  # activation module that consumes its output
    in_mean: float = math.nan
    in_std: float = math.nan
    in_rms: float = math.nan
    out_mean: float = math.nan
    out_std: float = math.nan
    out_rms: float = math.nan
    zero_frac: float = math.nan
    saturated_frac: float | None = None
    dead_frac: float | None = None
    nonfinite: bool = False
    out_grad_std: float | None = None
    weight: str | None = None  # the weight parameter's name, for weight layers
    params: list[str] = field(default_factory=list)
    weight_std: float | None = None
    grad_std: float | None = None  # of the weight's gradient
    grad_to_weight: float | None = None  # |grad| / |weight|
    fan_in: int | None = None
    fan_out: int | None = None
    recurrent: bool = False

    @property
    def gain(self) -> float:
        """output std / input std (rms where the input has no spread, e.g. one value)."""
        if self.in_std > 0 and math.isfinite(self.in_std) and self.in_std > 1e-3 * self.in_rms:
            return _ratio(self.out_std, self.in_std)
        return _ratio(self.out_rms, self.in_rms)

    @property
    def recommended(self) -> str | None:
        if self.weight is None:
            return None
        return scheme_for(self.followed_by, self.recurrent)

    def as_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k != "params"}
        out["gain"] = self.gain
        out["recommended_init"] = self.recommended
        return out


def _rms(mean: float, std: float) -> float:
    if math.isnan(mean) and math.isnan(std):
        return math.nan
    if not (math.isfinite(mean) and math.isfinite(std)):
        return math.inf
    return math.sqrt(mean * mean + std * std)


def _ratio(a: float, b: float) -> float:
    if not (math.isfinite(a) and math.isfinite(b)) or b == 0:
        return math.nan
    return a / b


@dataclass
class ParamStats:
    """One parameter at initialization: what the one-step store of a probe records of it."""

    name: str
    shape: tuple[int, ...]
    module: str | None
    weight_norm: float
    grad_norm: float | None  # None: backward gave it no gradient
    requires_grad: bool = True
    fan_in: int | None = None  # given where the layout is not PyTorch's (out, in, ...)
    is_bias: bool | None = None
