"""``output_logit_divergence``: the output logits' log-partition log Z drifts far from where the
run started, and keeps drifting, without the loss getting better for it (Wortsman et al. 2023:
without weight decay the logits drift away from log-normalized; a z-loss holds log Z near 0).

Judged per output layer on the every-step mean log-sum-exp of the logits the loss was computed
from (``logit_lse``, measured at ``cross_entropy``), smoothed by a trailing median over
``_stability.SMOOTH`` steps, against its reference: the median over the first ``REF`` steps. The
output diverges at the first step where the smoothed log Z

- stands ``DRIFT`` nats or more from the reference: e^10 ~ 2e4, the partition function moved
  four orders of magnitude (a calibrated model's log Z stays within a few nats of log(classes):
  4.2 -> 4.8 over a healthy run of the stability benchmark, 64 classes);
- still moves: at least ``DRIFT / 4`` over the last ``WINDOW`` steps, in the same direction;
- and the loss did not fall by ``LEARNING`` (10%) or more over those ``WINDOW`` steps: a model
  that grows more confident while it learns raises log Z with its correct logit; this is a log Z
  that moves while the predictions do not improve.

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
DRIFT = 10.0
WINDOW = 50
REF = 20
LEARNING = 0.9  # loss now / loss WINDOW steps before: below this the model is still learning


def detect(run: RunView) -> list[Finding]:
    loss = run.loss
    hits = {}
    for name, series in module_series(run, LOGIT_LSE).items():
        hit = drift(series, loss)
        if hit is not None:
            hits[name] = hit
    if not hits:
        return []
    where = sorted(hits, key=lambda n: hits[n][0])
    name = where[0]
    step, value, ref, moved = hits[name]
    broke = loss_broke(run)
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


def drift(series: Series, loss: Series) -> tuple[int, float, float, float] | None:
    """(step, smoothed log Z, reference, move over the window) where the rule first holds."""
    steps, smooth = series.steps, trailing_median(series.values)
    finite = np.isfinite(smooth)
    if finite.sum() < REF + WINDOW:
        return None
    ref = float(np.median(series.values[np.isfinite(series.values)][:REF]))
    loss_smooth = trailing_median(loss.values, WINDOW // 5)
    for i in np.nonzero(finite & (np.abs(smooth - ref) >= DRIFT))[0]:
        j = int(np.searchsorted(steps, steps[i] - WINDOW, side="right")) - 1
        if j < 0 or not np.isfinite(smooth[j]):
            continue
        moved = float(smooth[i] - smooth[j])
        if abs(moved) < DRIFT / 4 or np.sign(moved) != np.sign(smooth[i] - ref):
            continue
        if _still_learning(loss.steps, loss_smooth, int(steps[i]), int(steps[j])):
            continue
        return int(steps[i]), float(smooth[i]), ref, moved
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


def _drifting(rate: float, start: int = 100):  # type: ignore[no-untyped-def]
    return lambda s: 4.2 - rate * max(s - start, 0)


SCENARIOS = {
    # log Z falls 0.1 nats a step from step 100: 10 nats below the start by step 200.
    "positive_drift": Scenario(_lm(_drifting(0.1)), Severity.WARNING, first="head"),
    "healthy_calibrated": Scenario(_lm(lambda s: 4.2 + 0.6 * (1 - 0.99 ** s))),
    # The same drift while the loss falls 2% a step: a model growing confident as it learns.
    "boundary_confident_learner": Scenario(
        _lm(lambda s: 4.2 + 0.1 * max(s - 100, 0), loss=lambda s: 4.0 * 0.98 ** s),
        why="log Z rises with the correct logit while the loss keeps falling"),
    # A drift that stops 9.5 nats out (below DRIFT).
    "boundary_below_drift": Scenario(_lm(lambda s: 4.2 - min(0.1 * max(s - 100, 0), 9.5))),
    # 0.06 nats a step: 10 nats out by step ~270, moving 3 nats a window (DRIFT / 4 = 2.5).
    "boundary_just_drifting": Scenario(_lm(_drifting(0.06)), Severity.WARNING, first="head"),
}
