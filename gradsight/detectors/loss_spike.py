"""``loss_spike``: the loss jumps far out of its running band for a few steps, then recovers.

Judged on the loss of every step (the always-on tier), in log space (a spike is a ratio):

- the band at a step is the median of the ``WINDOW`` losses before it, and their spread the
  median absolute deviation (robust: earlier spikes barely move either);
- a spike starts where the loss is at least ``MIN_JUMP`` times that median *and* ``Z`` spreads
  above it (the z-score OLMo-core skips a step at is 6; ``MIN_JUMP`` keeps a very steady loss
  from counting a wiggle, and the spread keeps a single-sample loss, which varies tenfold from
  step to step by itself, from counting its own noise) *and* ``ABOVE_WINDOW_MAX`` times the
  highest loss of the window (a heavy-tailed loss reaches far above its median now and then:
  what it already did in the window is its normal range) *and* the next step's loss is still
  ``MIN_JUMP`` times the median: the jump disturbed the weights. One hard sample whose loss is
  back at the very next step (a single-sample loss does that all the time) changed nothing;
- it recovered when, within ``RECOVER_STEPS``, the loss is back under twice the median it left
  and stays there for ``WINDOW // 4`` steps. One that does not come back is no spike: it is
  ``loss_diverging``'s (or ``exploding_gradient``'s) finding.

``where`` names the parameters whose gradient grew most at the spike (against their own running
median, from the every-step gradient norms): where a bad batch hit hardest.
"""

from __future__ import annotations

import numpy as np

from ..core import advice
from ..core.advice import Fix
from ..core.finding import Finding, Severity
from ..core.run_view import RunView
from ..core.scenarios import Scenario
from ._common import adversarial, forward_position, owner_of, param_series, uses_clipping

KIND = "loss_spike"
PRIORITY = 45
# updates that spiked (or attention/output that ran away) before the loss did are its cause
EXPLAINED_IF_EARLIER = ("update_spike", "attention_logit_growth", "output_logit_divergence")
WINDOW = 50
MIN_JUMP = 10.0
Z = 6.0
RECOVER_STEPS = 100
ABOVE_WINDOW_MAX = 2.0  # ... and at least twice the highest loss of the window before it
GRAD_JUMP = 10.0  # a layer named in where: its gradient grew this much at the spike
MAX_NAMED = 4


def detect(run: RunView) -> list[Finding]:
    if adversarial(run):  # a GAN's losses are a game's, not minimized
        return []
    steps, values = run.loss.steps, run.loss.values
    if len(values) < WINDOW + 2 or not np.isfinite(values).any():
        return []
    spikes = _spikes(steps, values)
    if not spikes:
        return []
    start, peak, recovered, median = spikes[0]
    i = int(np.searchsorted(steps, start))
    grown = _grown_layers(run, start)
    where = [name for name, _ in grown[:MAX_NAMED]] or ["loss"]
    peak_value = float(values[np.searchsorted(steps, peak)])
    summary = (f"the loss spiked at step {start}: from a running median of {median:.3g} to "
               f"{peak_value:.3g} (step {peak}, {peak_value / median:.3g}x), and recovered by "
               f"step {recovered}")
    if grown:
        summary += f"; the gradient grew most at {grown[0][0]} ({grown[0][1]:.3g}x)"
    if len(spikes) > 1:
        summary += f"; {len(spikes)} such spikes in all"
    evidence = {
        "spike_steps": [s[0] for s in spikes[:10]],
        "loss_before": median,
        "peak_loss": peak_value,
        "peak_step": peak,
        "recovered_at": recovered,
        "steps_out_of_band": recovered - start,
        "gradient_growth": {name: g for name, g in grown[:MAX_NAMED]},
        "loss_at_start": float(values[i]),
    }
    fixes = [Fix(advice.CHECK_DATA, {"step": start})]
    if not uses_clipping(run):
        fixes.append(Fix(advice.CLIP_GRAD_NORM, {"max_norm": 1.0, "owner": owner_of(run)}))
    fixes.append(Fix(advice.LOWER_LR, {"factor": 3, "why": "a smaller step turns a bad batch "
                                                         "into a smaller jump"}))
    return [Finding(KIND, Severity.WARNING, where, start, summary, evidence, advice=fixes)]


def _spikes(steps: np.ndarray, values: np.ndarray) -> list[tuple[int, int, int, float]]:
    """(start, peak, recovered, median before) of every spike that recovered, in order."""
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.log(np.where(values > 0, values, np.nan))
    out = []
    i = WINDOW
    while i + 1 < len(logs):
        window = logs[i - WINDOW:i]
        window = window[np.isfinite(window)]
        if window.size < WINDOW // 2 or not np.isfinite(logs[i]):
            i += 1
            continue
        level = float(np.median(window))
        spread = float(np.median(np.abs(window - level))) * 1.4826
        # a loss the window itself reached is inside its range, however rare: a single-sample
        # loss with a few hard inputs swings 1000x between them (the 2-layer seed), and the
        # median's spread alone would count every hard input as a spike
        ceiling = float(window.max()) + np.log(ABOVE_WINDOW_MAX)
        if logs[i] - level < max(np.log(MIN_JUMP), Z * spread) or logs[i] < ceiling \
                or not logs[i + 1] - level >= np.log(MIN_JUMP):
            i += 1
            continue
        end = _recovery(logs, i, level)
        if end is None:
            return out  # it never came back: a divergence, judged elsewhere
        peak = i + int(np.nanargmax(logs[i:end]))
        out.append((int(steps[i]), int(steps[peak]), int(steps[end]), float(np.exp(level))))
        i = end + WINDOW  # the next band is built from steps after the spike
    return out


def _recovery(logs: np.ndarray, start: int, level: float) -> int | None:
    """The first step back under twice the old median that stays there a while."""
    hold = max(WINDOW // 4, 1)
    limit = level + np.log(2.0)
    for j in range(start + 1, min(start + RECOVER_STEPS, len(logs) - hold) + 1):
        if np.all(logs[j:j + hold] <= limit):
            return j
    return None


def _grown_layers(run: RunView, start: int) -> list[tuple[str, float]]:
    """Parameters whose gradient norm at the spike (its first two steps) grew most against
    their own median over the window before it, in order of growth."""
    grown = []
    for p in param_series(run):
        ok = np.isfinite(p.grad) & (p.grad > 0)
        before = p.grad[ok & (p.steps < start) & (p.steps >= start - WINDOW)]
        at = p.grad[ok & (p.steps >= start) & (p.steps <= start + 1)]
        if before.size >= 3 and at.size:
            growth = float(at.max() / np.median(before))
            if growth >= GRAD_JUMP:
                grown.append((p.name, growth, forward_position(run, p.entity)))
    grown.sort(key=lambda item: -item[1])
    return [(n, g) for n, g, _ in grown]


STEPS = range(400)


def _loss(jump: float, recovers: bool = True, length: int = 10,
          tail_every: int = 0):  # type: ignore[no-untyped-def]
    def value(s: int) -> float:
        base = 0.2 + 0.8 * 0.99 ** s
        if 200 <= s < 200 + length or (not recovers and s >= 200):
            return base * jump
        if tail_every and s % tail_every == 0:  # a heavy tail: a hard sample now and then
            return base * jump
        return base
    return value


def _spiked(jump: float, recovers: bool = True, grads: bool = True, length: int = 10,
            tail_every: int = 0) -> Scenario:
    return Scenario(lambda run: run.mlp([4, 16, 1]).steps(
        STEPS, loss=_loss(jump, recovers, length, tail_every),
        grad_norm={"0.weight": lambda s: 50.0 if 200 <= s < 202 else 0.5} if grads else None))


SCENARIOS = {
    "positive_bad_batch": Scenario(_spiked(1000.0).build, Severity.WARNING, first="0.weight"),
    "healthy": Scenario(lambda run: run.mlp([4, 16, 1]).steps(STEPS, loss=_loss(1.0))),
    "boundary_below_min_jump": _spiked(8.0),
    "boundary_above_min_jump": Scenario(_spiked(12.0).build, Severity.WARNING),
    "boundary_never_recovers": _spiked(1000.0, recovers=False),
    "boundary_one_hard_sample": Scenario(_spiked(1000.0, length=1).build,
                                         why="back at the very next step: nothing disturbed"),
    "boundary_two_steps": Scenario(_spiked(1000.0, length=2).build, Severity.WARNING),
    "boundary_heavy_tailed_loss": Scenario(_spiked(1000.0, length=2, tail_every=13).build,
                                           why="the window reached as high itself"),
}
