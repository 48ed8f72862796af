"""``attention_logit_growth``: an attention layer's largest logit q.k/sqrt(d) runs away, and its
softmax collapses toward one-hot (Wortsman et al. 2023; Dehghani et al. 2023 on ViT-22B).

Judged per attention layer on its every-step largest logit (``attn_logit_max``, over sampled
query rows: a lower bound of the exact one, see ``adapters/torch/attention.py``), smoothed by a
trailing median over ``_stability.SMOOTH`` steps. The layer is running away at the first step
where the smoothed logit

- is at least ``LEVEL``: a logit gap that large leaves every other key a weight below e^-100,
  one-hot to float32's precision for any sequence length, and at 128 and above bfloat16 (what
  large runs compute attention in) can no longer tell logits 1 apart, i.e. weights a factor e
  apart. Heads that attend sharply on purpose (a previous-token head) need a gap of ~10-30;
- *and* is ``GROWTH`` times what it was ``WINDOW`` steps before: still growing fast, not a sharp
  head that settled long ago (a run's logits grow ~100x while it first learns, from ~0.1 at
  init, well below ``LEVEL``).

The rule looks at no step after the one it reports: a run watched live would have been warned
there. ``where`` lists the layers that ran away, the first to run away first (at the same step:
the first to reach ``LEVEL``); the evidence says how
many steps before the loss broke (if it did), and which normalization gains grew (qk-layernorm's
and the block's own, by name).
"""

from __future__ import annotations

import numpy as np

from ..core import advice
from ..core.advice import Fix
from ..core.finding import Finding, Severity
from ..core.metrics import ATTN_ENTROPY, ATTN_LOGIT_MAX
from ..core.run_view import RunView
from ..core.scenarios import Scenario
from ..core.series import Series
from ._stability import blowup_fixes, loss_broke, module_series, norm_gains, parent, rounded, \
    trailing_median

KIND = "attention_logit_growth"
PRIORITY = 22  # a cause of the exploding gradients, spikes and divergence that follow it
LEVEL = 100.0
GROWTH = 4.0
WINDOW = 50


def detect(run: RunView) -> list[Finding]:
    entropy = module_series(run, ATTN_ENTROPY)
    grown = {}
    for name, series in module_series(run, ATTN_LOGIT_MAX).items():
        hit = runaway(series)
        if hit is not None:
            grown[name] = hit
    if not grown:
        return []
    # The first to run away first; among layers found at the same step, the first to reach
    # LEVEL: runaways are judged over WINDOW steps, so layers that all blew up in a run's first
    # WINDOW steps are all found at step WINDOW, and the order they reached LEVEL in (known by
    # then) still tells them apart.
    where = sorted(grown, key=lambda n: (grown[n][0], grown[n][3], list(grown).index(n)))
    first = where[0]
    step, value, before, _ = grown[first]
    broke = loss_broke(run)
    gains: dict[str, float] = {}
    for name in where:
        gains.update(norm_gains(run, parent(name), until=None))
    layers = {name: rounded({"step": grown[name][0], "reached_level": grown[name][3],
                             "max_logit": grown[name][1],
                             "growth": grown[name][1] / max(grown[name][2], 1e-12),
                             "entropy": _at(entropy.get(name), grown[name][0])})
              for name in where}
    ent = layers[first]["entropy"]
    summary = (f"the largest attention logit of {first} grew {value / max(before, 1e-12):.3g}x "
               f"in {WINDOW} steps, to {value:.3g} at step {step}"
               + (f" (softmax entropy {ent:.2g} of uniform)" if ent == ent else "")
               + ": its attention is collapsing toward one-hot")
    if len(where) > 1:
        summary += f"; then {', '.join(where[1:3])}" + (" and more" if len(where) > 3 else "")
    if broke is not None and broke > step:
        summary += f"; the loss broke {broke - step} steps later (step {broke})"
    evidence = {
        "first_layer": first,
        "layers": layers,
        "level": LEVEL,
        "growth_window": WINDOW,
        "max_logit_last": {n: _last(s) for n, s in module_series(run, ATTN_LOGIT_MAX).items()
                           if n in grown},
        "loss_broke_at": broke,
        "steps_before_loss": broke - step if broke is not None and broke > step else None,
        "norm_gain_growth": rounded(gains),
    }
    fixes = [Fix(advice.QK_NORM, {"layers": where}), *blowup_fixes(run, gains)]
    return [Finding(KIND, Severity.WARNING, where, step, summary, evidence, advice=fixes)]


def runaway(series: Series) -> tuple[int, float, float, int] | None:
    """(step, smoothed logit, smoothed logit ``WINDOW`` steps before, first step at which the
    smoothed logit reached ``LEVEL``) where the rule first holds, or None."""
    steps, smooth = series.steps, trailing_median(series.values)
    over = np.nonzero(smooth >= LEVEL)[0]
    for i in over:
        j = int(np.searchsorted(steps, steps[i] - WINDOW, side="right")) - 1
        if j < 0:
            continue
        past = smooth[j]
        if np.isfinite(past) and smooth[i] >= GROWTH * max(past, 0.0):
            return int(steps[i]), float(smooth[i]), float(past), int(steps[over[0]])
    return None


def _at(series: Series | None, step: int) -> float:
    if series is None:
        return float("nan")
    i = int(np.searchsorted(series.steps, step, side="right")) - 1
    return float(series.values[i]) if i >= 0 else float("nan")


def _last(series: Series) -> float:
    finite = series.values[np.isfinite(series.values)]
    return float(f"{finite[-1]:.4g}") if finite.size else float("nan")


STEPS = range(300)


def _gpt(logits: dict[str, object]):  # type: ignore[no-untyped-def]
    """Two attention blocks with their projections, every step's stability metrics."""
    def build(run):  # type: ignore[no-untyped-def]
        for i in range(2):
            run.layer(f"blocks.{i}.ln_1", "LayerNorm", (64,))
            run.module(f"blocks.{i}.attn", "Attention")
            run.layer(f"blocks.{i}.attn.qkv", "Linear", (192, 64), bias=False)
        act = {f"blocks.{i}.attn": {"attn_logit_max": logits.get(f"blocks.{i}.attn", 8.0),
                                    "attn_entropy": 0.6} for i in range(2)}
        return run.steps(STEPS, act=act)
    return build


def _exponential(start: int, rate: float, top: float = 1e6):  # type: ignore[no-untyped-def]
    """~8 until ``start``, then x``rate`` per step (capped at ``top``)."""
    return lambda s: min(8.0 * rate ** max(s - start, 0), top)


SCENARIOS = {
    # Layer 1 runs away from step 100 (x1.05 per step: x11 in 50 steps), layer 0 from 180.
    "positive_runaway": Scenario(_gpt({"blocks.1.attn": _exponential(100, 1.05),
                                       "blocks.0.attn": _exponential(180, 1.05)}),
                                 Severity.WARNING, where=("blocks.0.attn",),
                                 first="blocks.1.attn"),
    # Both blow up in the first steps, so both are found at step WINDOW; layer 1 (later in
    # forward order) reached LEVEL first (x1.3 per step against x1.2) and is named first.
    "positive_simultaneous_start": Scenario(_gpt({"blocks.1.attn": _exponential(2, 1.3),
                                                  "blocks.0.attn": _exponential(2, 1.2)}),
                                            Severity.WARNING, where=("blocks.0.attn",),
                                            first="blocks.1.attn"),
    "healthy_sharp_heads": Scenario(_gpt({"blocks.0.attn": lambda s: 30 * (1 - 0.98 ** s),
                                          "blocks.1.attn": 12.0})),
    # Fast growth that stops just below LEVEL (x1.05 per step up to 95).
    "boundary_below_level": Scenario(_gpt({"blocks.1.attn": _exponential(100, 1.05, 95.0)}),
                                     why="a sharp head below the level is no runaway"),
    # Past LEVEL, but slowly: x1.02 per step is x2.7 in 50 steps, below GROWTH.
    "boundary_slow_growth": Scenario(_gpt({"blocks.1.attn": _exponential(100, 1.02, 400.0)}),
                                     why="a logit that reaches 400 over 200 steps settles"),
    # x1.03 per step is x4.4 in 50 steps: just above GROWTH.
    "boundary_just_runaway": Scenario(_gpt({"blocks.1.attn": _exponential(100, 1.03)}),
                                      Severity.WARNING, first="blocks.1.attn"),
}
