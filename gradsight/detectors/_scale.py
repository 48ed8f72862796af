"""A weight's norm, bounded to what its network's typical weight would have at its shape.

Ratios over a weight's norm (|g|/|w|, update/|w|) compare layers of any size because He/Glorot
set every layer's rms x sqrt(fan_in) near the same value. A weight far outside its network's
typical scale distorts them by its own size, not by what its gradient or steps do:
- far below (a near-zero init, a zero-initialized branch): the ratio is inflated;
- far above (constants kept in a trainable parameter: a CRF's -1e4 START/STOP transitions give
  its 5x5 matrix a norm of 3e4 while its learnable entries are ~1 and move normally): deflated.
So the norm is clipped into ``[1/OFF_SCALE, OFF_SCALE]`` of the typical scale at its shape.
``OFF_SCALE`` is 10: He and Glorot differ by sqrt(2), healthy layers by a few times, so 10x is
no ordinary spread; seed 000/001's N(0, 1e-3) layers, all equally small, are 4x apart at most
(fan-in 1 vs 16).
"""

from __future__ import annotations

import warnings

import numpy as np

from ._common import ParamSeries, fan_in

OFF_SCALE = 10.0


def align_steps(values: np.ndarray, have: np.ndarray, want: np.ndarray) -> np.ndarray:
    """``values`` (at steps ``have``) at steps ``want``, NaN where absent."""
    out = np.full(len(want), np.nan)
    idx = np.searchsorted(have, want)
    ok = (idx < len(have)) & (have[np.minimum(idx, len(have) - 1)] == want)
    out[ok] = values[idx[ok]]
    return out


def bounded_norms(matrices: list[ParamSeries], steps: np.ndarray, floor: bool = True,
                  ceiling: bool = True) -> dict[str, np.ndarray]:
    """Per weight, on ``steps``: its norm clipped to ``1/OFF_SCALE`` (``floor``) and
    ``OFF_SCALE`` (``ceiling``) times the norm the network's typical weight (the median of
    rms x sqrt(fan_in) at that step) would have at its shape. Only weights the bounds changed
    somewhere are returned."""
    sizes, scales = [], []
    for p in matrices:
        fan = fan_in(p.entity) or 1
        numel = max(int(p.entity.get("numel") or 1), 1)
        size = np.sqrt(numel / fan)  # |w| of a weight whose rms x sqrt(fan_in) is 1
        sizes.append(size)
        scales.append(align_steps(p.weight, p.steps, steps) / size)
    with warnings.catch_warnings():  # a step where no weight was recorded: NaN, as it should
        warnings.simplefilter("ignore", RuntimeWarning)
        typical = np.nanmedian(np.vstack(scales), axis=0)
    out = {}
    for p, size, scale in zip(matrices, sizes, scales):
        norm = scale * size
        low = typical * size / OFF_SCALE if floor else np.zeros_like(norm)
        high = typical * size * OFF_SCALE if ceiling else np.full_like(norm, np.inf)
        if np.any(norm < low) or np.any(norm > high):
            out[p.name] = np.fmin(np.fmax(norm, low), high)
    return out
