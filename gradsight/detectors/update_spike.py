"""``update_spike``: a layer's update/weight ratio jumps far out of its own running band; says
which layers spiked first and how many steps before the loss broke.

Practitioners see per-layer update-norm spikes before loss spikes (larger in lower layers), and
Molybog et al. (2023) trace Adam's loss spikes to updates that outgrow what its second-moment
estimate was calibrated on. Judged on the always-on tier, every step, per parameter, on the
ratio ``|update| / (|w| * lr)`` (divided by the learning rate, so warm-up and schedule changes
are not spikes; by ``|w|`` alone where the rate is unknown), in log space:

- the band at a step is the median of the ratio over the ``WINDOW`` steps before it, and its
  spread the median absolute deviation (robust: a spike barely moves either);
- a spike is a ratio at least ``MIN_JUMP`` times that median *and* ``Z`` spreads above it.
  ``Z`` = 6 is the z-score at which OLMo-core skips a step; ``MIN_JUMP`` = 10 because Adam
  normalizes each update to about the learning rate, so a tenfold update means its second
  moments no longer describe the gradient (SGD: the gradient itself jumped tenfold).

One parameter spiking alone is ``info``. Two or more spiking within ``SPREAD`` steps of each
other is a coordinated jump of the model's updates: a ``warning`` at the step the second one
spiked (a live run is warned then; nothing after it is looked at). ``where`` lists the
parameters that spiked, the first first; the evidence says when each did, and how many steps
before the loss broke (``_stability.loss_broke`` from the first spike on), if it did. Once the
run went on ``HARMLESS_AFTER`` steps past the warning without the loss breaking, the spike
passed: ``info`` (Adam's loss spikes follow the update spike within steps, Molybog et al.; a
small GPT's MLP updates jumped 14-28x for tens of steps at steps 767-1135 of 1,200 and the
loss never broke).

Biases are not judged: they start at 0 and stay small, so their update/|b| swings with their
own smallness (info-level "spikes" of output biases in the story 000/001 runs).

Steps after the loss converged (``converged_step``: 100x below its start) are not judged:
there the gradient comes from the few examples still wrong, and one of them in a batch jumps a
layer's update tenfold over a band of near-zero gradients (a healthy digits CNN whose loss is
5e-4 by step 900: a bias and the output weight 10-15x within three steps).
"""

from __future__ import annotations

import numpy as np

from ..core.finding import Finding, Severity
from ..core.run_view import RunView
from ..core.scenarios import Scenario
from ._common import converged_step, forward_position, is_bias, param_series
from ._stability import blowup_fixes, loss_broke, norm_gains, rounded

KIND = "update_spike"
PRIORITY = 24
WINDOW = 50
MIN_JUMP = 10.0
Z = 6.0
SPREAD = 10  # steps within which spikes of several parameters are one event
MIN_PARAMS = 2
HARMLESS_AFTER = WINDOW  # steps past a coordinated spike without a loss break: it passed


def detect(run: RunView) -> list[Finding]:
    spikes = []  # (step, jump, name, position)
    converged = converged_step(run)
    for p in param_series(run):
        if is_bias(p.entity):
            continue  # a bias starts at 0 and stays small: update/|b| measures its smallness
        with np.errstate(divide="ignore", invalid="ignore"):
            rate = np.where(np.isfinite(p.lr) & (p.lr > 0), p.lr, 1.0)
            ratio = p.update / (p.weight * rate)
        judged = p.steps < converged if converged is not None else slice(None)
        hit = first_spike(p.steps[judged], ratio[judged])
        if hit is not None:
            spikes.append((hit[0], hit[1], p.name, forward_position(run, p.entity)))
    if not spikes:
        return []
    spikes.sort(key=lambda s: (s[0], s[3]))
    step, severity = spikes[0][0], Severity.INFO
    for i in range(1, len(spikes)):
        if spikes[i][0] - spikes[i - 1][0] <= SPREAD and len(spikes) >= MIN_PARAMS:
            step, severity = spikes[i][0], Severity.WARNING
            break
    where = [s[2] for s in spikes]
    first, jump = spikes[0][2], spikes[0][1]
    broke = loss_broke(run, since=spikes[0][0])
    last = int(run.loss.steps[-1]) if len(run.loss.steps) else step
    summary = (f"the update/weight ratio of {first} jumped {jump:.3g}x above its running "
               f"median at step {spikes[0][0]}")
    if len(spikes) > 1:
        summary += f", first of {len(spikes)} parameters ({', '.join(where[1:3])}" + (
            ", ..." if len(spikes) > 3 else "") + ")"
    if broke is not None:
        summary += f"; the loss broke {max(broke - spikes[0][0], 0)} steps after the first spike"
    elif last - step >= HARMLESS_AFTER:
        severity = Severity.INFO  # the run went on and the loss held: the spike passed
        summary += f"; the loss did not break in the {last - step} steps after it"
    else:
        summary += "; the loss did not break"
    gains = norm_gains(run, "", until=None)
    evidence = {
        "spikes": {name: rounded({"step": s, "jump": j}) for s, j, name, _ in spikes[:20]},
        "first_spike_step": spikes[0][0],
        "loss_broke_at": broke,
        "steps_before_loss": max(broke - spikes[0][0], 0) if broke is not None else None,
        "min_jump": MIN_JUMP,
    }
    return [Finding(KIND, severity, where, step, summary, evidence,
                    advice=blowup_fixes(run, gains))]


def first_spike(steps: np.ndarray, ratio: np.ndarray) -> tuple[int, float] | None:
    """(step, jump over the band) of the first spike of a positive series, or None."""
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.log(np.where(ratio > 0, ratio, np.nan))
    finite = np.isfinite(logs)
    for i in range(WINDOW, len(logs)):
        if not finite[i]:
            continue
        window = logs[i - WINDOW:i][finite[i - WINDOW:i]]
        if window.size < WINDOW // 2:
            continue
        level = float(np.median(window))
        spread = float(np.median(np.abs(window - level))) * 1.4826
        jump = logs[i] - level
        if jump >= max(np.log(MIN_JUMP), Z * spread):
            return int(steps[i]), float(np.exp(jump))
    return None


STEPS = range(200)


def _spiking(jumps: dict[str, tuple[int, float]], breaks: bool = True,
             steps: range = STEPS):  # type: ignore[no-untyped-def]
    """An MLP whose parameters' updates jump ``factor``x at ``step`` for two steps; the loss
    jumps 4x at step 125 (``breaks``) or holds at 1."""
    def spec(step_factor: tuple[int, float]):  # type: ignore[no-untyped-def]
        at, factor = step_factor
        return lambda s: 1e-3 * (1 + 0.05 * np.sin(s)) * (factor if at <= s < at + 2 else 1.0)

    def build(run):  # type: ignore[no-untyped-def]
        return run.mlp([8, 16, 16, 1]).steps(
            steps, update_norm={n: spec(v) for n, v in jumps.items()},
            loss=lambda s: 1.0 + (3.0 if breaks and 125 <= s < 140 else 0.0))
    return build


SCENARIOS = {
    # 2.weight spikes 30x at step 110, then 0.weight at 114: the loss follows at 125.
    "positive_coordinated": Scenario(_spiking({"2.weight": (110, 30.0), "0.weight": (114, 30.0)}),
                                     Severity.WARNING, where=("0.weight",), first="2.weight"),
    "healthy": Scenario(_spiking({})),
    # The same spikes, the loss holding for the 86 steps after: they passed.
    "boundary_coordinated_and_the_loss_held": Scenario(
        _spiking({"2.weight": (110, 30.0), "0.weight": (114, 30.0)}, breaks=False),
        Severity.INFO, first="2.weight"),
    # ... and a run that ends 30 steps after them: too soon to tell, a live warning stands.
    "positive_coordinated_near_the_end": Scenario(
        _spiking({"2.weight": (110, 30.0), "0.weight": (114, 30.0)}, breaks=False,
                 steps=range(145)), Severity.WARNING, first="2.weight"),
    # One parameter alone: info, not a warning.
    "boundary_single_parameter": Scenario(_spiking({"2.weight": (110, 30.0)}),
                                          Severity.INFO, first="2.weight"),
    # Two parameters 8x: below MIN_JUMP.
    "boundary_below_jump": Scenario(_spiking({"2.weight": (110, 8.0), "0.weight": (112, 8.0)})),
    # A bias and a weight 30x together: the bias is not judged, the weight alone is info
    "boundary_bias_beside_a_weight": Scenario(
        _spiking({"2.bias": (110, 30.0), "2.weight": (111, 30.0)}), Severity.INFO,
        first="2.weight"),
    # The same coordinated spike after the loss fell 100x below its start: converged, no finding
    "boundary_after_convergence": Scenario(lambda run: run.mlp([8, 16, 16, 1]).steps(
        STEPS, update_norm={"2.weight": lambda s: 1e-3 * (1 + 0.05 * np.sin(s)) * (
            30.0 if 150 <= s < 152 else 1.0), "0.weight": lambda s: 1e-3 * (
            1 + 0.05 * np.sin(s)) * (30.0 if 153 <= s < 155 else 1.0)},
        loss=lambda s: 1.0 if s < 100 else 1e-3)),
    # Two parameters 12x but 40 steps apart: two separate events, each alone.
    "boundary_far_apart": Scenario(_spiking({"2.weight": (80, 12.0), "0.weight": (120, 12.0)}),
                                   Severity.INFO, first="2.weight"),
}
