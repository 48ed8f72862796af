"""``output_logit_divergence``: the output logits' log-partition log Z drifts far from
log-normalized (log Z = 0) and keeps drifting, while the loss has not broken and does not improve
for it (Wortsman et al. 2023: without weight decay the logits drift; a z-loss holds log Z near 0).

Judged per output layer on the every-step mean log-sum-exp of the logits the loss was computed
from (``logit_lse``, measured at ``cross_entropy``), smoothed by a trailing median over
``_stability.SMOOTH`` steps, against its reference: the median over the first ``REF`` steps. The
output diverges at the first step where the smoothed log Z

- stands ``DRIFT`` nats further from 0 than the reference did: e^20 ~ 5e8. A model growing
  confident raises log Z with its correct logit, but a correct class at probability 1 - 1e-6
  among 1,000 needs a logit gap of ~21, and log Z sits within a few nats of log(classes) at the
  start (4.2 -> 4.8 over a healthy run of the stability benchmark; 2.3 -> ~16 in a confident
  10-class MLP of the diagnosis cases). A log Z coming back toward 0 (a bad init's huge logits
  shrinking as it learns) is no divergence;
- still moves away: by at least ``DRIFT / 4`` over the last ``WINDOW`` steps;
- while the loss did not fall by ``LEARNING`` (10%) over those steps (a model learning is no
  drift) *and* has not broken yet (``_stability.loss_broke``): logits that blow up with the loss
  are the loss's divergence, ``loss_diverging``'s finding; this kind is the drift before it.

Causal like the other stability kinds: the step reported is the one a live run is warned at.
"""

from __future__ import annotations

import numpy as np

from ..core import advice
from ..core.advice import Fix
from ..core.finding import Finding, Severity
from ..core.metrics import LOGIT_LSE
from ..core.run_view import RunView
from ..core.scenarios import Scenario
from ..core.series import Series
from ._stability import blowup_fixes, loss_broke, module_series, norm_gains, rounded, \
    trailing_median

KIND = "output_logit_divergence"
PRIORITY = 23
DRIFT = 20.0
WINDOW = 50
REF = 20
LEARNING = 0.9  # loss now / loss WINDOW steps before: below this the model is still learning


def detect(run: RunView) -> list[Finding]:
    loss, broke = run.loss, loss_broke(run)
    hits = {}
    for name, series in module_series(run, LOGIT_LSE).items():
        hit = drift(series, loss, broke)
        if hit is not None:
            hits[name] = hit
    if not hits:
        return []
    where = sorted(hits, key=lambda n: hits[n][0])
    name = where[0]
    step, value, ref, moved = hits[name]
    gains = norm_gains(run, "", until=None)
    direction = "grew" if value > ref else "fell"
    summary = (f"the log-partition log Z of {name}'s logits {direction} from {ref:.3g} to "
               f"{value:.3g} by step {step} ({moved:+.3g} nats in the last {WINDOW} steps) "
               "while the loss did not improve: the output logits are drifting away from "
               "log-normalized")
    if broke is not None and broke > step:
        summary += f"; the loss broke {broke - step} steps later (step {broke})"
    evidence = {
        "log_z_start": float(f"{ref:.4g}"),
        "log_z_at_step": float(f"{value:.4g}"),
        "log_z_moved_in_window": float(f"{moved:.4g}"),
        "drift_threshold": DRIFT,
        "loss_broke_at": broke,
        "steps_before_loss": broke - step if broke is not None and broke > step else None,
        "norm_gain_growth": rounded(gains),
    }
    fixes = [Fix(advice.Z_LOSS, {"coef": 1e-4}), *blowup_fixes(run, gains)]
    return [Finding(KIND, Severity.WARNING, where, step, summary, evidence, advice=fixes)]


def drift(series: Series, loss: Series, broke: int | None = None
          ) -> tuple[int, float, float, float] | None:
    """(step, smoothed log Z, reference, move over the window) where the rule first holds
    before the loss broke at ``broke``."""
    steps, smooth = series.steps, trailing_median(series.values)
    finite = np.isfinite(smooth)
    if finite.sum() < REF + WINDOW:
        return None
    ref = float(np.median(series.values[np.isfinite(series.values)][:REF]))
    loss_smooth = trailing_median(loss.values, WINDOW // 5)
    for i in np.nonzero(finite & (np.abs(smooth) >= abs(ref) + DRIFT))[0]:
        if broke is not None and steps[i] >= broke:
            return None
        j = int(np.searchsorted(steps, steps[i] - WINDOW, side="right")) - 1
        if j < 0 or not np.isfinite(smooth[j]):
            continue
        moved = float(abs(smooth[i]) - abs(smooth[j]))
        if moved < DRIFT / 4:
            continue
        if _still_learning(loss.steps, loss_smooth, int(steps[i]), int(steps[j])):
            continue
        return int(steps[i]), float(smooth[i]), ref, float(smooth[i] - smooth[j])
    return None


def _still_learning(steps: np.ndarray, smooth: np.ndarray, now: int, before: int) -> bool:
    i = int(np.searchsorted(steps, now, side="right")) - 1
    j = int(np.searchsorted(steps, before, side="right")) - 1
    if i < 0 or j < 0:
        return False
    a, b = smooth[i], smooth[j]
    return bool(np.isfinite(a) and np.isfinite(b) and b > 0 and a < LEARNING * b)


STEPS = range(300)


def _lm(lse, loss=lambda s: 2.0 + 2.0 * 0.98 ** s):  # type: ignore[no-untyped-def]
    def build(run):  # type: ignore[no-untyped-def]
        run.layer("blocks.0.fc", "Linear", (64, 64)).layer("ln_f", "LayerNorm", (64,))
        run.layer("head", "Linear", (64, 64), bias=False)
        return run.steps(STEPS, act={"head": {"logit_lse": lse}}, loss=loss)
    return build


def _drifting(rate: float, start: int = 100, top: float = 1e9):  # type: ignore[no-untyped-def]
    return lambda s: 4.2 + min(rate * max(s - start, 0), top)


SCENARIOS = {
    # log Z rises 0.2 nats a step from step 100: 20 nats above the start by step 200.
    "positive_drift": Scenario(_lm(_drifting(0.2)), Severity.WARNING, first="head"),
    "healthy_calibrated": Scenario(_lm(lambda s: 4.2 + 0.6 * (1 - 0.99 ** s))),
    # The same drift while the loss falls 2% a step: a model growing confident as it learns.
    "boundary_confident_learner": Scenario(
        _lm(_drifting(0.2), loss=lambda s: 4.0 * 0.98 ** s),
        why="log Z rises with the correct logit while the loss keeps falling"),
    # A drift that stops 19.5 nats out (below DRIFT).
    "boundary_below_drift": Scenario(_lm(_drifting(0.2, top=19.5))),
    # The logits blow up with the loss: the loss broke first (loss_diverging's finding).
    "boundary_blowup_with_the_loss": Scenario(
        _lm(_drifting(0.2), loss=lambda s: 2.0 if s < 150 else 2.0 + 0.5 * (s - 150)),
        why="the loss broke before log Z had drifted 20 nats"),
    # 0.11 nats a step: 20 nats out by step ~282, moving 5.5 nats a window (DRIFT / 4 = 5).
    "boundary_just_drifting": Scenario(_lm(_drifting(0.11)), Severity.WARNING, first="head"),
    # A bad init's huge log Z coming down while the model learns slowly: back toward 0.
    "boundary_coming_back": Scenario(_lm(lambda s: 400.0 - 1.2 * s, loss=lambda s: 3.0)),
}
