"""``redundant_bias`` (info): a bias right before a batch norm.

The norm subtracts the per-feature batch mean, which removes any per-feature constant: the
bias cancels and its gradient is zero up to rounding. This is harmless, not a vanishing
gradient (seed 002's expert read it as one); the bias is simply dead weight.
"""

from __future__ import annotations

import numpy as np

from ..core.finding import Finding, Severity
from ..core.run_view import RunView
from ._common import (
    fmt,
    forward_position,
    is_bias_before_batchnorm,
    layer_weight,
    param_series,
    ratio,
)

KIND = "redundant_bias"
PRIORITY = 90

# Rounding leaves ~1e-7 of the weight gradient in float32; a real bias gradient is far above.
ROUNDING_LEVEL = 1e-4


def detect(run: RunView) -> list[Finding]:
    series = {p.name: p for p in param_series(run)}
    hits, evidence = [], {}
    for name, p in series.items():
        if not is_bias_before_batchnorm(run, p.entity):
            continue
        weight_name = layer_weight(run, p.entity)
        weight = series.get(weight_name) if weight_name is not None else None
        if weight is None or len(weight.grad) != len(p.grad):
            continue
        rel = ratio(np.nan_to_num(p.grad, nan=0.0), weight.grad)
        rel = rel[np.isfinite(rel)]
        if rel.size and float(np.median(rel)) < ROUNDING_LEVEL:
            hits.append(p)
            evidence[name] = float(np.median(rel))
    if not hits:
        return []
    hits.sort(key=lambda p: forward_position(run, p.entity))
    first = hits[0]
    feeds = ", ".join(first.entity.get("feeds") or [])
    return [
        Finding(
            KIND,
            Severity.INFO,
            [p.name for p in hits],
            int(first.steps[0]),
            f"{first.name} feeds a batch norm ({feeds}) that subtracts the batch mean, so the bias "
            f"cancels and its gradient is ~0 by construction (|g_bias|/|g_weight| = "
            f"{fmt(evidence[first.name])}); redundant, not a vanishing gradient",
            {"bias_to_weight_grad_median": evidence},
            ["drop the bias of layers followed by batch norm: "
             + ("keras.layers.Dense(..., use_bias=False) / keras.layers.Conv2D(..., use_bias=False)"
                if "tensorflow" in str(run.meta.get("framework"))
                else "torch.nn.Linear(..., bias=False) / torch.nn.Conv2d(..., bias=False)")],
        )
    ]
