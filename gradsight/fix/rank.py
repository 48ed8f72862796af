"""Judging trials against the baseline, and the ``gradsight.fix/1`` document.

A trial *resolves* the baseline when its run shows no warning or error at all: none of the
baseline's kinds remain and it introduces none (a repair that trades vanishing gradients for NaN
has fixed nothing, and neither has a learning rate cut 1000x that trades dead units for stalled
weights and a flat loss: "resolved" means what "nothing to fix" means for a healthy run).
Trials rank resolved first, then by how many problems remain, then by loss after the budget.
"""

from __future__ import annotations

import math
from typing import Any

from .trials import Trial

FIX_SCHEMA = "gradsight.fix/1"


def resolved(trial: Trial, baseline: Trial) -> bool:
    if trial.status == "error":
        return False
    return not {f["kind"] for f in trial.findings if f["severity"] in ("error", "warning")}


def ranked(trials: list[Trial], baseline: Trial) -> list[Trial]:
    def key(trial: Trial) -> tuple[Any, ...]:
        loss = trial.loss if trial.loss is not None and math.isfinite(trial.loss) else math.inf
        return (not resolved(trial, baseline), len(trial.findings), loss, trial.seconds)

    return sorted(trials, key=key)


def best(trials: list[Trial], baseline: Trial) -> Trial | None:
    """The top resolved trial, or None (nothing resolved, or nothing to fix)."""
    order = ranked(trials, baseline)
    return order[0] if order and resolved(order[0], baseline) else None


def document(baseline: Trial | None, trials: list[Trial], budget: int,
             code: str | None = None, note: str | None = None) -> dict[str, Any]:
    order = ranked(trials, baseline) if baseline is not None else []
    winner = best(trials, baseline) if baseline is not None else None
    doc: dict[str, Any] = {
        "schema": FIX_SCHEMA,
        "budget": budget,
        "baseline": _trial_dict(baseline) if baseline is not None else None,
        "trials": [
            {**_trial_dict(t), "resolved": resolved(t, baseline)} for t in order
        ] if baseline is not None else [],
        "best": winner.repair if winner is not None else None,
    }
    if winner is not None and code:
        doc["best_code"] = code
    if note:
        doc["message"] = note
    return doc


def _trial_dict(trial: Trial) -> dict[str, Any]:
    out: dict[str, Any] = {
        "repair": trial.repair,
        "findings": trial.findings,
        "loss": trial.loss,
        "seconds": round(trial.seconds, 2),
        "steps": trial.steps,
        "weight_change": trial.weight_change,
        "folder": trial.folder,
    }
    if trial.order:
        out["order"] = trial.order
    if trial.error:
        out["error"] = trial.error
    return out
