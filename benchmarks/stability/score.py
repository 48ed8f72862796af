"""Scoring the stability sweep: each run's fate from its own plain-torch measurements, the
mechanism that made it diverge, and when gradsight and the two rules the field uses warned.

- **Fate** (``fate``): a run diverged at the first step whose loss is non-finite, or whose
  trailing mean over ``FATE_SMOOTH`` steps stands ``FATE_RISE`` nats above the best such mean
  before it, *if* the run ends there too (the mean of its last ``FATE_SMOOTH`` losses still
  ``FATE_RISE`` above its best): a bump it recovers from is no divergence. The loss is the
  cross-entropy of a 64-token vocabulary, so 0.5 nats is a 1.65x worse perplexity.
- **Mechanism** (``mechanism``), measured in the model in plain torch: attention-logit growth
  when an attention layer's exact largest logit (every query row) reached ``LAYER_LEVEL`` before
  the run diverged; output-logit divergence when the exact mean log-sum-exp of the logits moved
  ``LSE_DRIFT`` nats from its first steps' before that; ``lr too high`` when neither (whichever
  came first when both). Beside it, by intervention and with no threshold (``twins``): whether
  the same run with qk-layernorm added, or with a z-loss added, stayed stable.
- **Layer that grew first** (``first_layer``): the attention layer whose exact largest logit
  (every query row, measured in the model in plain torch) first reached ``LAYER_LEVEL``.
- **Rules on the same recorded losses**: Megatron-LM (``megatron``: after its first 100 losses, a
  loss at least 10x the largest of them; a NaN/Inf loss is caught by its separate NaN check) and
  OLMo-core (``olmo``: once 64 losses are seen, a loss or global gradient norm more than 6
  standard deviations from the mean of the previous 128).
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

FATE_SMOOTH = 20
FATE_RISE = 0.5
LAYER_LEVEL = 100.0
LSE_DRIFT = 10.0
STABILITY_KINDS = ("attention_logit_growth", "output_logit_divergence", "update_spike")
KIND_OF = {"attention": "attention_logit_growth", "output": "output_logit_divergence"}


@dataclass
class Run:
    name: str
    variant: str  # plain, qk, z, qkz
    lr: float
    loss: np.ndarray
    exact_logits: np.ndarray  # (steps, layers)
    exact_lse: np.ndarray  # (steps,)
    layers: list[str]
    findings: list[dict[str, Any]]
    grad_norm: np.ndarray  # global gradient norm per step, from gradsight's store
    sampled_logits: dict[str, np.ndarray] = field(default_factory=dict)
    diverged: bool = False
    diverge_step: int | None = None
    mechanism: str | None = None


def fate(loss: np.ndarray) -> tuple[bool, int | None]:
    bad = ~np.isfinite(loss)
    if bad.any():
        return True, int(np.argmax(bad))
    if len(loss) < 2 * FATE_SMOOTH:
        return False, None
    means = np.convolve(loss, np.ones(FATE_SMOOTH) / FATE_SMOOTH, mode="valid")
    best = np.minimum.accumulate(means)
    if means[-1] <= best[-1] + FATE_RISE:
        return False, None
    above = np.nonzero(means > best + FATE_RISE)[0]
    return True, int(above[0]) + FATE_SMOOTH - 1


VARIANTS = {(False, False): "plain", (True, False): "qk", (False, True): "z", (True, True): "qkz"}


def mechanism(run: Run) -> str | None:
    if not run.diverged or run.diverge_step is None:
        return None
    end = run.diverge_step
    hits = []
    logits = run.exact_logits[:end]
    if len(logits) and (logits >= LAYER_LEVEL).any():
        hits.append((int(np.argmax((logits >= LAYER_LEVEL).any(axis=1))), "attention"))
    lse = run.exact_lse[:end]
    if len(lse) > 20:
        moved = np.abs(lse - np.median(lse[:20])) >= LSE_DRIFT
        if moved.any():
            hits.append((int(np.argmax(moved)), "output"))
    return min(hits)[1] if hits else "lr too high"


def twins(run: Run, by_variant: dict[tuple[str, float], Run]) -> dict[str, bool | None]:
    """Whether the same run with qk-layernorm / with a z-loss added stayed stable."""
    qk, z = "qk" in run.variant, "z" in run.variant
    out: dict[str, bool | None] = {}
    for key, variant, has in (("qk_twin_stable", VARIANTS[(True, z)], qk),
                              ("z_twin_stable", VARIANTS[(qk, True)], z)):
        twin = by_variant.get((variant, run.lr))
        out[key] = None if has or twin is None else not twin.diverged
    return out


def first_layer(run: Run) -> str | None:
    hits = [(int(np.argmax(run.exact_logits[:, j] >= LAYER_LEVEL)), name)
            for j, name in enumerate(run.layers) if (run.exact_logits[:, j] >= LAYER_LEVEL).any()]
    return min(hits)[1] if hits else None


def megatron(loss: np.ndarray, samples: int = 100, factor: float = 10.0) -> int | None:
    for i, value in enumerate(loss):
        if not math.isfinite(value):
            return i
        if i >= samples and abs(value) >= factor * float(np.max(np.abs(loss[:samples]))):
            return i
    return None


def olmo(loss: np.ndarray, grad: np.ndarray | None = None, window: int = 128,
         sigma: float = 6.0, warmup: int = 64) -> int | None:
    """OLMo-core's skip rule on the losses (and, given ``grad``, the global gradient norms too,
    as its optimizer does): the first step it would skip."""
    series = [loss] if grad is None else [loss, grad]
    for i in range(len(loss)):
        if any(not math.isfinite(s[i]) for s in series):
            return i
        if i < warmup:
            continue
        for values in series:
            past = values[max(0, i - window):i]
            std = float(np.std(past, ddof=1))
            if std > 0 and abs(values[i] - float(np.mean(past))) / std > sigma:
                return i
    return None


def warning(run: Run, kinds: tuple[str, ...] | None = STABILITY_KINDS) -> dict[str, Any] | None:
    """gradsight's earliest warning/error finding (of ``kinds``; None: any kind)."""
    found = [f for f in run.findings if f["severity"] in ("warning", "error")
             and (kinds is None or f["kind"] in kinds)]
    return min(found, key=lambda f: f["step"]) if found else None


def load(folder: Path, name: str, variant: str, lr: float) -> Run:
    from gradsight.core.run_view import RunView

    labels = json.loads((folder / f"{name}.labels.json").read_text())
    findings = json.loads((folder / name / "findings.json").read_text())["findings"]
    view = RunView.open(folder / name)
    try:
        loss = view.loss.values.copy()  # the recorded losses the rules are applied to
        grads = view.metric("param", "grad_norm")
        total = np.zeros(len(loss))
        for series in grads.values():
            idx = np.searchsorted(view.loss.steps, series.steps)
            ok = idx < len(loss)
            np.add.at(total, idx[ok], series.values[ok] ** 2)
        sampled = {k: s.values.copy() for k, s in view.metric("module", "attn_logit_max").items()}
    finally:
        view.close()
    run = Run(name, variant, lr, loss, np.array(labels["max_logit"], dtype=float),
              np.array(labels["lse"], dtype=float), labels["attention_layers"], findings,
              np.sqrt(total), sampled)
    run.diverged, run.diverge_step = fate(np.array(labels["loss"], dtype=float))
    return run


def sampling_error(runs: list[Run]) -> dict[str, float]:
    """gradsight's sampled largest logit over the exact one, at every step of every run where
    the exact one is at least a tenth of ``LAYER_LEVEL`` (the range the detector judges)."""
    ratios = []
    for run in runs:
        for j, name in enumerate(run.layers):
            sampled = run.sampled_logits.get(name)
            if sampled is None:
                continue
            n = min(len(sampled), len(run.exact_logits))
            exact = run.exact_logits[:n, j]
            ok = np.isfinite(exact) & np.isfinite(sampled[:n]) & (exact >= LAYER_LEVEL / 10)
            ratios.extend((sampled[:n][ok] / exact[ok]).tolist())
    if not ratios:
        return {}
    return {"steps": len(ratios), "min": min(ratios), "median": statistics.median(ratios),
            "p05": float(np.percentile(ratios, 5)), "max": max(ratios)}
