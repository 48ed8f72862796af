"""The float64 numpy oracle of a layer output's ``metrics.ACT_METRICS`` (mean, population std,
fraction exactly 0, any non-finite, fraction saturated), shared by the PyTorch and TensorFlow
adapters' statistics tests."""

from __future__ import annotations

import numpy as np

from gradsight.core.metrics import SATURATION_LEVEL


def act_vector(x: np.ndarray, family: str | None) -> np.ndarray:
    x = x.astype(np.float64)
    finite = bool(np.isfinite(x).all())
    if family == "tanh":
        saturated = np.mean(np.abs(x) > SATURATION_LEVEL)
    elif family == "sigmoid":
        saturated = np.mean((x < 1 - SATURATION_LEVEL) | (x > SATURATION_LEVEL))
    else:
        saturated = 0.0
    mean = np.mean(x) if finite else np.nan
    std = np.std(x) if finite else np.nan
    return np.array([mean, std, np.mean(x == 0), float(not finite), saturated])
