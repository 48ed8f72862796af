"""``redundant_bias`` (info): a bias right before a batch norm.

The norm subtracts the per-feature batch mean, which removes any per-feature constant: the
bias cancels and its gradient is zero up to rounding. This is harmless, not a vanishing
gradient (seed 002's expert read it as one); the bias is simply dead weight.
"""

from __future__ import annotations

import numpy as np

from ..core.finding import Finding, Severity
from ..core.scenarios import Scenario
from ..core.run_view import RunView
from ..core import advice
from ..core.advice import Fix
from ._common import (
    layer_ref,
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
            advice=[Fix(advice.DROP_BIAS, {"layer": _weight_ref(run, first.entity)})],
        )
    ]


def _weight_ref(run: RunView, bias) -> dict:  # type: ignore[no-untyped-def]
    """The layer whose bias it is, named by its weight (what its constructor is built from)."""
    weight = layer_weight(run, bias)
    entity = run.entity("param", weight) if weight is not None else None
    return layer_ref(run, entity if entity is not None else bias)


STEPS = range(0, 100, 5)


def _bias_before_norm(ratio: float) -> Scenario:
    return Scenario(lambda run: run.layer("0", shape=(16, 4)).batchnorm("1", 16).act("2")
                    .layer("3", shape=(1, 16)).steps(STEPS, grad_to_weight={"0.bias": ratio}))


SCENARIOS = {
    "positive_bias_before_batchnorm": Scenario(_bias_before_norm(1e-9).build, Severity.INFO,
                                               where=("0.bias",), first="0.bias"),
    "healthy": Scenario(lambda run: run.mlp([4, 16, 1]).steps(STEPS)),
    "boundary_a_real_gradient": _bias_before_norm(1e-2),
}
