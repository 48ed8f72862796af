"""``loss_diverging``: the loss grows, jumps up and stays up, or grows until it is NaN/Inf.

Judged on the loss of every optimizer step, smoothed by a trailing moving median over
``WINDOW_FRACTION`` of the run (at least ``MIN_WINDOW``, at most ``MAX_WINDOW`` steps): mini-batch
losses are noisy (a single-sample regression swings over an order of magnitude from step to
step), and a median over ~100 steps ignores that noise and any brief spike while a sustained rise
passes through it. The run diverged when its smoothed loss *ends* more than ``GROWTH_LIMIT``
times above its lowest smoothed value and above where it started: a spike that recovers, or a
warm-up bump before the loss comes down, ends low and is no finding.

A loss that jumps up and *stays* ``JUMP_LIMIT`` times above both where it started and its
best is diverged too (Adam at lr 1: cross-entropy from ln 10 = 2.3 to ~21 and stuck there, a
model far worse than chance). That rule needs one optimizer: with several (a GAN) the recorded
loss mixes competing objectives whose rise is no failure.

A cross-entropy (class or binary, where the adapter saw the loss function) is minus the log of
the probability the model gives the data: it grows by differences, and ``ln GROWTH_LIMIT`` nats
above its best is that probability ``GROWTH_LIMIT`` times below its best (a language model's
loss from 5.0 to 8.0 nats, 1.6x, is the data 20x less likely). A loss that reaches 0 or below
(a log-likelihood, say) has no ratio to judge and is left alone. A run whose loss turns NaN/Inf
is judged on its last finite losses (their peak over the last ``MIN_WINDOW``), since NaN ends
the run's story: grown ``GROWTH_LIMIT``x above the minimum before it broke is a divergence,
which ``nonfinite`` then reports the end of; such a run may have only a few finite losses
(lr 1e3: 267, 146, 7e5, 3e16, NaN), which are judged unsmoothed.
"""

from __future__ import annotations

import numpy as np

from ..core.finding import Finding, Severity
from ..core.scenarios import Scenario
from ..core.run_view import RunView
from ..core import advice
from ..core import metrics as m
from ..core.advice import Fix
from ._common import adversarial, fmt, lower_lr_fix, owner_of, param_series, uses_clipping
from ._loss_reference import criterion_levels, reference_loss

KIND = "loss_diverging"
PRIORITY = 40
# a runaway attention, output or update that began earlier is what the loss diverged from
EXPLAINED_IF_EARLIER = ("attention_logit_growth", "output_logit_divergence", "update_spike")

GROWTH_LIMIT = 10.0  # an order of magnitude above the best the run reached
LIKELIHOOD_GROWTH = float(np.log(GROWTH_LIMIT))  # nats: the data GROWTH_LIMIT x less likely
JUMP_LIMIT = 5.0  # stuck 5x above both the start and the best: far worse than where it began
MIN_WINDOW = 3  # fewest losses the moving median takes
MAX_WINDOW = 101  # ~100 steps: wide enough for single-sample noise, narrow enough to follow a rise
WINDOW_FRACTION = 0.1  # a tenth of the run's losses
MIN_LOSSES = 2 * MIN_WINDOW  # fewer and there is no trend to judge
LEVEL_PRECISION = 0.5  # nats: how well the starting level must be known (a factor ~1.6)
# A third of the run JUMP_LIMIT times above where it started: the run's state, not a spike of a
# few steps (loss_spike) or a warm-up bump (measured: 4 of 120 steps for RMSprop at lr 1e-2).
OSCILLATED_SHARE = 1 / 3
MIN_OSCILLATION_STEPS = 30  # fewer losses: too short to tell a run's state from a bump


def detect(run: RunView) -> list[Finding]:
    if adversarial(run):  # a GAN's losses are a game's, not minimized
        return []
    if _nothing_moved(run):  # the model never changed: the batches, not training, moved it
        return []
    steps, values = run.loss.steps, run.loss.values
    bad = ~np.isfinite(values)
    nonfinite_step = int(steps[np.argmax(bad)]) if bad.any() else None
    if nonfinite_step is not None:  # the story ends where the numbers broke
        keep = steps < nonfinite_step
        steps, values = steps[keep], values[keep]
    if len(values) < MIN_LOSSES and (nonfinite_step is None or len(values) < 2):
        return []
    if len(values) < MIN_LOSSES:  # a run that broke within a few steps: no smoothing
        window, smooth = 1, values
    else:
        window = int(np.clip(round(len(values) * WINDOW_FRACTION), MIN_WINDOW, MAX_WINDOW))
        smooth = _moving_median(values, window)
    # The trailing median's first values are medians of a few losses (the first, of one). On a
    # smooth loss one value is a level; on a noisy one (a single-sample regression swings
    # tenfold from step to step) it is luck. A level is taken from the first `head` losses, as
    # many as make its median known to within ~half a nat (its error ~ noise / sqrt(head)).
    head = int(np.clip(np.ceil((_log_noise(values) / LEVEL_PRECISION) ** 2), 1, window))
    low = head - 1 + int(np.argmin(smooth[head - 1:]))
    minimum = float(smooth[low])
    start = float(smooth[head - 1])
    if nonfinite_step is None:
        end = float(smooth[-1])
    else:  # the last finite losses: a median would lag behind a loss that blows up in steps
        end = float(np.max(values[-MIN_WINDOW:]))
    if minimum <= 0:
        return []  # a loss that reaches 0 or below (a log-likelihood, say): no ratio to judge
    in_nats = end - minimum > LIKELIHOOD_GROWTH and _likelihood(run)
    grew = end > GROWTH_LIMIT * minimum or in_nats
    jumped = end > JUMP_LIMIT * start and end > JUMP_LIMIT * minimum and _one_optimizer(run)
    if not (end > start and (grew or jumped)):
        return _oscillated(run, steps, values, head)
    if not grew and window > 1 and nonfinite_step is None and \
            not _mean_agrees(values, window, head):
        return []
    # where divergence began: the last time the smoothed loss was within 2x of its minimum,
    # moved back half a window since a trailing median lags the raw loss by about that much
    near = np.nonzero(smooth[low:] <= 2 * minimum)[0]
    began = max(low, low + int(near[-1]) - window // 2)
    crossed = np.nonzero(smooth[low:] > GROWTH_LIMIT * minimum)[0]
    first_10x = int(steps[low + crossed[0]]) if crossed.size else int(steps[-1])
    peak = int(np.argmax(values))
    growth = end / minimum
    evidence = {
        "min_loss": minimum,
        "min_loss_step": int(steps[low]),
        "start_loss": start,
        "final_loss": end,
        "peak_loss": float(values[peak]),
        "peak_loss_step": int(steps[peak]),
        "growth_factor": growth,
        "first_step_above_limit": first_10x,
        "growth_limit": GROWTH_LIMIT,
        "jump_limit": JUMP_LIMIT,
        "smoothing_window": window,
        "first_nonfinite_step": nonfinite_step,
    }
    if in_nats:
        evidence["growth_nats"] = end - minimum
    if nonfinite_step is not None:
        summary = (
            f"the loss diverged: it fell to {fmt(minimum)} at step {int(steps[low])}, then grew "
            f"{fmt(growth)}x to {fmt(end)} and became non-finite at step {nonfinite_step}"
        )
    else:
        summary = (
            f"the loss diverged: it fell to {fmt(minimum)} at step {int(steps[low])}, then grew "
            f"{fmt(growth)}x and ends at {fmt(end)}, above where it started ({fmt(start)})"
        )
        if in_nats:
            summary += (f": a cross-entropy {fmt(end - minimum)} nats above its best, the data "
                        f"{fmt(float(np.exp(end - minimum)))}x less likely")
    fixes = [lower_lr_fix(run)]
    if not uses_clipping(run):
        fixes.append(Fix(advice.CLIP_GRAD_NORM, {"max_norm": 1.0, "owner": owner_of(run)}))
    fixes += [Fix(advice.CHECK_LR_SCHEDULE, {"step": int(steps[began])}),
              Fix(advice.CHECK_DATA, {"step": int(steps[began])})]
    return [
        Finding(
            KIND,
            Severity.ERROR if nonfinite_step is not None else Severity.WARNING,
            ["loss"],
            int(steps[began]),
            summary,
            evidence,
            advice=fixes,
        )
    ]


def _oscillated(run: RunView, steps: np.ndarray, values: np.ndarray, head: int
                ) -> list[Finding]:
    """A loss that jumped far above where it started and spent a large part of the run there
    (``OSCILLATED_SHARE`` of its steps ``JUMP_LIMIT`` times above), however it ended: RMSprop
    at lr 1 takes a digits MLP from 2.3 to 1e5 in one step, and it swings between 1 and 1e4 for
    the next hundred before it settles. Not a spike (``loss_spike``: a few steps, then back in
    band) and not a warm-up bump (a few steps). Where it started: the first loss, or where the
    loss function's reference is known (the best constant prediction's loss), the larger of the
    two, so that a first batch that happened to be easy sets no low bar; without a reference,
    the first ``head`` losses' median (as many as make a noisy level known)."""
    if len(values) < MIN_OSCILLATION_STEPS or not _one_optimizer(run):
        return []
    reference = reference_loss(run)
    level = max(float(values[0]), reference) if reference is not None else \
        float(np.median(values[:head]))
    if not level > 0:
        return []
    above = values > JUMP_LIMIT * level
    share = float(above.mean())
    if share < OSCILLATED_SHARE:
        return []
    first = int(np.argmax(above))
    peak = int(np.argmax(values))
    summary = (f"the loss jumped from {fmt(level)} to {fmt(float(values[first]))} at step "
               f"{int(steps[first])} and swung far above where it started: more than "
               f"{fmt(JUMP_LIMIT)}x above it at {int(above.sum())} of {len(values)} steps (peak "
               f"{fmt(float(values[peak]))} at step {int(steps[peak])}, ends at "
               f"{fmt(float(values[-1]))}): the updates overshoot")
    evidence = {
        "start_level": level,
        "first_loss": float(values[0]),
        "reference_loss": reference,
        "share_of_steps_above": share,
        "steps_above": int(above.sum()),
        "jump_limit": JUMP_LIMIT,
        "oscillated_share": OSCILLATED_SHARE,
        "peak_loss": float(values[peak]),
        "peak_loss_step": int(steps[peak]),
        "final_loss": float(values[-1]),
    }
    fixes = [lower_lr_fix(run)]
    if not uses_clipping(run):
        fixes.append(Fix(advice.CLIP_GRAD_NORM, {"max_norm": 1.0, "owner": owner_of(run)}))
    fixes.append(Fix(advice.CHECK_LR_SCHEDULE, {"step": int(steps[first])}))
    return [Finding(KIND, Severity.WARNING, ["loss"], int(steps[first]), summary, evidence,
                    advice=fixes)]


def _likelihood(run: RunView) -> bool:
    """The loss is a cross-entropy (the adapter saw a class or binary one): a log-probability."""
    measured = criterion_levels(run)
    return measured is not None and measured[0] in (m.FAMILY_CLASSES, m.FAMILY_BINARY)


def _mean_agrees(values: np.ndarray, window: int, head: int) -> bool:
    """Whether a jump the medians see is one of the mean too.

    A median of a skewed per-step loss (one sample's squared error: most steps near 0, a few
    large) moves when the shape of its spread changes, with the mean unchanged: the typical
    sample got worse, the average did not (measured: a TF1 one-sample regression whose trailing
    median rose 5.4x from its first steps while the mean went from 0.24 to 0.28). A loss that
    jumped and stayed up rose as a level, its mean with its median. (Growth past
    ``GROWTH_LIMIT`` needs no such check: no change of shape alone moves a median tenfold.)"""
    return float(np.mean(values[-window:])) > JUMP_LIMIT * float(np.mean(values[:head]))


def _moving_median(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing median: entry i is the median of values[max(0, i-window+1) : i+1]."""
    if len(values) <= window:
        return np.array([np.median(values[: i + 1]) for i in range(len(values))])
    view = np.lib.stride_tricks.sliding_window_view(values, window)
    head = [np.median(values[: i + 1]) for i in range(window - 1)]
    return np.concatenate([head, np.median(view, axis=1)])


def _log_noise(values: np.ndarray) -> float:
    """The step-to-step noise of the log loss: a robust standard deviation of one value from
    its second differences (a trend, growth included, has none; white noise of deviation s
    gives second differences of deviation s * sqrt(6))."""
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.log(values[values > 0])
    second = np.diff(logs, 2)
    second = second[np.isfinite(second)]
    return float(np.median(np.abs(second)) * 1.4826 / np.sqrt(6)) if second.size else 0.0


def _nothing_moved(run: RunView) -> bool:
    """Every optimized parameter's update was exactly 0 at every recorded step: training
    changed nothing, so however the loss moved, its batches moved it (a loss whose gradients
    are all 0, a clipped probability, had two batches of 1e-7 among its first three and ~6-10
    after: no divergence). A run with no update recorded is not known to be still."""
    updates = [p.update[np.isfinite(p.update)] for p in param_series(run)
               if p.entity.get("optimized")]
    return bool(updates) and all(u.size and not u.any() for u in updates)


def _one_optimizer(run: RunView) -> bool:
    optimizers = {p.get("optimizer") for p in run.entities("param") if p.get("optimized")}
    return len(optimizers - {None}) <= 1


LOSS_STEPS = range(200)


def _regrowing(factor: float) -> Scenario:
    """Falls from 1 to 0.1 by step 80, then grows ``factor``-fold by the end."""
    def loss(s: int) -> float:
        return 1.0 - 0.9 * s / 80 if s <= 80 else 0.1 * factor ** ((s - 80) / 119)
    return Scenario(lambda run: run.mlp([4, 16, 1]).steps([0, 100], loss=None).loss(
        LOSS_STEPS, loss))


_DRAWS = np.random.default_rng(4).standard_normal(400)
RESHAPED_STEPS = range(400)


def _reshaped(s: int) -> float:
    """One sample's error, skewed (0.1 z^4 / 3: mean 0.1, median 0.007) for 100 steps, then
    less so (0.1 z^2: mean 0.1, median 0.045): the trailing median rises ~7x, the mean not."""
    return float(0.1 * _DRAWS[s] ** 4 / 3 if s < 100 else 0.1 * _DRAWS[s] ** 2)


def _swinging(steps_up: int, total: int = 120) -> Scenario:
    """Cross-entropy at its reference (ln 10) at step 0, ``steps_up`` of the next steps 50x
    above it (every other step from step 1, then every third), the rest falling to 0.3."""
    up = set(range(1, 2 * steps_up, 2)[:steps_up])

    def loss(s: int) -> float:
        return 2.3 * 50 if s in up else (2.3 if s == 0 else max(0.3, 2.0 - 0.015 * s))
    detail = [*range(10), 100, total - 1]
    return Scenario(lambda run: run.mlp([4, 16, 1]).steps([0, 5], loss=None).loss(
        range(total), loss).criterion(detail, loss, 2.3026))


def _rnn_losses(s: int) -> float:
    """6.5 for 8 steps, 5.0 to step 39, 17.5 to step 47, then 10.6 to step 95 (2.1x its best)."""
    return 6.5 if s < 8 else 5.0 if s < 40 else 17.5 if s < 48 else 10.6


def _rising(family: str | None) -> Scenario:
    """A loss 5.6 above its best at the end, 1.6x its start, as the loss function ``family``
    (None: unseen)."""
    def build(run):  # type: ignore[no-untyped-def]
        run.mlp([4, 16, 1]).steps([0, 50], loss=None).loss(range(96), _rnn_losses)
        return run.criterion([*range(10), 95], _rnn_losses, 2.88, family=family) \
            if family else run
    return Scenario(build, Severity.WARNING if family == m.FAMILY_CLASSES else None)


SCENARIOS = {
    "positive_grows_again": Scenario(_regrowing(30.0).build, Severity.WARNING),
    "positive_cross_entropy_5_nats_above_its_best": _rising(m.FAMILY_CLASSES),
    "boundary_squared_error_2x_its_best": _rising(m.FAMILY_SQUARED),
    "boundary_loss_function_unseen_2x_its_best": _rising(None),
    # RMSprop at lr 1 on a digits MLP: far above its start for most of the run, ends below it
    "positive_swings_far_above_its_start": Scenario(_swinging(60).build, Severity.WARNING),
    "healthy_warm_up_bump": _swinging(4),  # a few steps up, then down: no finding
    "boundary_just_under_a_third": _swinging(38),  # 38 of 120 steps
    "boundary_just_over_a_third": Scenario(_swinging(42).build, Severity.WARNING),
    "healthy": Scenario(lambda run: run.mlp([4, 16, 1]).steps([0, 100], loss=None).loss(
        LOSS_STEPS)),
    "boundary_a_still_model_on_changing_batches": Scenario(
        lambda run: run.mlp([4, 16, 1]).steps(
            range(200), update_to_weight=0.0, loss=None).loss(
            LOSS_STEPS, lambda s: 1e-7 if s in (0, 2) else 6.4 if s < 100 else 9.6),
        why="no parameter ever moved: the loss's rise is its batches'"),
    "boundary_below_the_limit": _regrowing(8.0),  # smoothed: ~6x above its smoothed minimum
    "boundary_above_the_limit": Scenario(_regrowing(20.0).build, Severity.WARNING),  # ~12x
    # the median rises past JUMP_LIMIT, the mean does not: the spread changed shape, not level
    "healthy_median_moves_mean_does_not": Scenario(
        lambda run: run.mlp([4, 16, 1]).steps([0, 100], loss=None).loss(RESHAPED_STEPS,
                                                                          _reshaped)),
}
