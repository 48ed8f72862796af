"""Key numbers of a run: what a clean bill of health shows, and context for any finding."""

from __future__ import annotations

from typing import Any

import numpy as np

from .run_view import RunView


def key_numbers(run: RunView) -> dict[str, Any]:
    loss = run.loss.values
    finite = loss[np.isfinite(loss)]
    if len(np.unique(run.loss.steps[np.isfinite(loss)])) < 2:
        finite = finite[:0]  # one step's loss (or backward() with no step) is no trend
    out: dict[str, Any] = {
        "steps": run.steps,
        "recorded_steps": int(len(run.full_detail_steps)),
        "parameters": len(run.entities("param")),
        "modules": len(run.entities("module")),
    }
    if isinstance(run.meta.get("error"), str):
        out["error"] = run.meta["error"]  # what ended a crashed script
    for event in run.events("backward_without_step"):
        out["backward_calls"] = event.get("backward_calls")
    if finite.size:
        window = max(1, finite.size // 20)
        out["loss_start"] = float(np.mean(finite[:window]))
        out["loss_end"] = float(np.mean(finite[-window:]))
    updates = run.metric("param", "update_norm")
    weights = run.metric("param", "weight_norm")
    ratios = []
    for name, u in updates.items():
        w = weights.get(name)
        if w is not None and len(w) == len(u):
            with np.errstate(divide="ignore", invalid="ignore"):
                r = u.values / w.values
            ratios.extend(r[np.isfinite(r)].tolist())
    if ratios:
        out["median_update_to_weight"] = float(np.median(ratios))
    grads = [v for s in run.metric("param", "grad_norm").values() for v in s.values]
    finite_grads = [g for g in grads if np.isfinite(g)]
    if finite_grads:
        out["max_grad_norm"] = float(max(finite_grads))
    return out
