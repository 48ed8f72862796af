"""Which repair ``gradsight fix`` tries next: ordered by the measured cause, the learning rate
stepped further while the same symptom stays, two repairs combined when each alone leaves
findings.

Why an order matters: ``fix`` stops at the first trial that resolves the baseline (unless asked
for all), so the number of trials a user waits for is the position of the first repair that
works. The baseline's findings say which family that is likely to be:

- **the initialization** when the network was broken before any update: a
  ``poor_initialization`` or ``vanishing_gradient`` finding, or the root-cause finding (the
  first: findings come root cause first) held at step 0 (units dead, activations saturated or
  values non-finite in the forward pass of the initial weights);
- **a step size too large** when the root cause began after updates started (units that died
  at step 5, NaN from step 3) or is a growth over updates (exploding gradients, a diverging
  loss): the updates did it;
- **a step size too small** when weights stall or the loss stays flat without vanishing
  gradients: the ``stalled_weights`` finding measures how far below a healthy update/weight
  ratio (~1e-3 per step) the run is, and says by which factor to raise the learning rate.

A learning-rate change is a power of ten; when a trial with it still shows the symptom it was
meant to cure (still blowing up, units still dying; still stalled, when the stall is the cause)
without a worse loss or a new problem, the next trial goes one more power of ten the same way,
up to ``space.LR_LIMIT``. When every single repair leaves findings, the best two that each
removed part of them (of different families) are combined.

A repair can cure what it was meant to and leave the learning rate wrong for the model it makes:
a normalization layer that ends saturation makes the layer before it scale-invariant, so the same
rate now moves its weights too little (``stalled_weights``); an init that revives dead units
can let the old rate blow the now-live network up. When a single repair removed every finding
of the baseline and left only such a rate symptom, the next trial is that repair with the rate
moved the way the new symptom says (``follow_up``): the half of a combination that random
search finds by drawing several families at once, chosen here from the measurement.
"""

from __future__ import annotations

import math
from enum import Enum

from . import rank
from .repairs import (BLOWUP_KINDS, SLOW_KINDS, STABILITY_KINDS, LearningRate, ModelInfo,
                      candidates)
from .space import LR_LIMIT, combine, family, lr_name, parts, resolve
from .trials import Trial

# The most trials one ``fix`` runs (singles, learning-rate steps and combinations together).
MAX_TRIALS = 12
# Combinations tried when every single repair left findings: the best helpful trial with the
# next one or two of another family (more would be a grid search, which is what random search
# is measured as).
MAX_COMBINATIONS = 2
MAX_FOLLOW_UPS = 2  # a cured repair with the rate its new symptom asks for (``follow_up``)
STEP_SYMPTOMS = BLOWUP_KINDS | {"dead_units", "saturated_activation"}  # what large updates do
INIT_KINDS = frozenset({"poor_initialization", "vanishing_gradient"})
# judged over updates (the stability kinds too: logits that grow step after step)
GROWTH_KINDS = frozenset({"exploding_gradient", "loss_diverging"}) | STABILITY_KINDS
FAMILY_ORDER = {
    "init": ("init", "norm", "optimizer", "lr", "clip"),
    "too_large": ("lr", "clip", "norm", "init", "optimizer"),
    "too_small": ("lr", "optimizer", "init", "norm", "clip"),
}


class Cause(str, Enum):
    INIT = "init"
    TOO_LARGE = "too_large"
    TOO_SMALL = "too_small"


def cause(baseline: Trial) -> Cause:
    """The likely cause of the baseline's findings (see the module's docstring)."""
    kinds = baseline.kinds
    if not baseline.findings or kinds & INIT_KINDS:
        return Cause.INIT
    root = baseline.findings[0]
    if root["kind"] in GROWTH_KINDS:
        return Cause.TOO_LARGE  # a growth needs updates, whatever step its window starts at
    if root["kind"] in STEP_SYMPTOMS:
        return Cause.INIT if int(root.get("step", 0)) == 0 else Cause.TOO_LARGE
    if kinds & SLOW_KINDS:
        return Cause.TOO_SMALL
    return Cause.INIT


def info_of(baseline: Trial) -> ModelInfo:
    """What the baseline's store showed about the model (activations, optimizers, layers)."""
    model = baseline.model or {}
    return ModelInfo(model.get("activations") or {}, model.get("optimizers") or [],
                     int(model.get("linear_layers") or 0))


def raise_factor(baseline: Trial) -> float:
    """How much to raise the learning rate: the ``stalled_weights`` finding's measured factor
    (healthy update ratio / measured, as its ``raise_lr`` advice says), as a power of ten;
    10 without one."""
    for finding in baseline.findings:
        for fix in finding.get("advice") or []:
            factor = (fix.get("args") or {}).get("factor")
            if fix.get("action") == "raise_lr" and isinstance(factor, (int, float)) \
                    and math.isfinite(factor) and factor > 1:
                return float(min(10.0 ** max(1, round(math.log10(factor))), LR_LIMIT))
    return 10.0


def _clip_first(baseline: Trial) -> bool:
    """Clip before lowering the learning rate when a recurrent layer's gradients explode (the
    ``exploding_gradient`` advice says so): clipping is the RNN idiom, and a lower rate slows
    the whole network for the sake of a few long-range gradients."""
    return any(fix.get("action") == "clip_grad_norm" and (fix.get("args") or {}).get("recurrent")
               for finding in baseline.findings for fix in finding.get("advice") or [])


class Plan:
    """The queue of repairs for one baseline; ``next`` looks at the trials done so far."""

    def __init__(self, baseline: Trial, info: ModelInfo, limit: int = MAX_TRIALS) -> None:
        self.baseline, self.info, self.limit = baseline, info, limit
        self.cause = cause(baseline)
        self.queue = self._initial()
        self.combinations = 0
        self.follow_ups = 0

    def _initial(self) -> list[str]:
        names = [r.name for r in candidates(self.baseline.kinds, self.info)]
        names = [n for n in names if family(n) != "lr"]  # the learning rate is added below
        if self.cause is Cause.TOO_LARGE or self.baseline.kinds & BLOWUP_KINDS:
            names.append(lr_name(0.1))
        if self.cause is Cause.TOO_SMALL:
            names.append(lr_name(raise_factor(self.baseline)))
        elif self.baseline.kinds & SLOW_KINDS and not self.baseline.kinds & BLOWUP_KINDS:
            # slow, but because of the init (dead or vanishing layers stall too): the stall's
            # measured factor is not the learning rate's fault; one step up is the check
            names.append(lr_name(10.0))
        order = list(FAMILY_ORDER[self.cause.value])
        if self.cause is Cause.TOO_LARGE and _clip_first(self.baseline):
            order[0], order[1] = "clip", "lr"
        rank_of = {fam: i for i, fam in enumerate(order)}
        return sorted(names, key=lambda n: rank_of.get(family(n), len(order)))  # stable

    def next(self, done: list[Trial]) -> str | None:
        """The next repair to try, or None when the plan is spent."""
        if len(done) >= self.limit:
            return None
        tried = {t.repair for t in done}
        if done:
            step = self._lr_step(done[-1])
            if step is not None and step not in tried:
                self.queue.insert(0, step)
            follow = follow_up(done[-1], self.baseline)
            if follow is not None and follow not in tried and \
                    self.follow_ups < MAX_FOLLOW_UPS:
                self.follow_ups += 1
                self.queue.insert(0, follow)
        while self.queue:
            name = self.queue.pop(0)
            if name not in tried:
                return name
        return self._combination(done, tried)

    def _lr_step(self, last: Trial) -> str | None:
        """One more power of ten when a learning-rate trial left the symptom it targeted."""
        if family(last.repair) != "lr" or len(parts(last.repair)) != 1 or \
                rank.resolved(last, self.baseline):
            return None
        repair = resolve(last.repair)
        if not isinstance(repair, LearningRate):
            return None
        factor = repair.factor
        # going down, a blow-up seen more fully (exploding gradients measured before the NaN) is
        # still the symptom being cured; going up, any new problem is the wrong way
        if _worse(last, self.baseline, STEP_SYMPTOMS if factor < 1 else frozenset()):
            return None  # the step went the wrong way: more of it will not help
        if factor < 1 and last.kinds & self.baseline.kinds & STEP_SYMPTOMS and \
                factor / 10 >= 1 / LR_LIMIT * 0.999:
            return lr_name(factor / 10)
        if factor > 1 and self.cause is Cause.TOO_SMALL and last.kinds & SLOW_KINDS and \
                not last.kinds & BLOWUP_KINDS and factor * 10 <= LR_LIMIT * 1.001:
            return lr_name(factor * 10)
        return None

    def _combination(self, done: list[Trial], tried: set[str]) -> str | None:
        if self.combinations >= MAX_COMBINATIONS or any(
                rank.resolved(t, self.baseline) for t in done):
            return None
        helpful = [t for t in rank.ranked(done, self.baseline)
                   if t.status != "error" and len(parts(t.repair)) == 1
                   and _helped(t, self.baseline)]
        if not helpful:
            return None
        first = helpful[0]
        for other in helpful[1:]:
            if family(other.repair) == family(first.repair):
                continue
            name = combine(first.repair, other.repair)
            if name not in tried:
                self.combinations += 1
                return name
        return None


def follow_up(trial: Trial, baseline: Trial) -> str | None:
    """``trial``'s repair with the learning rate its new symptom asks for, when it removed every
    finding of the baseline and left only a rate symptom of its own: slower learning
    (``SLOW_KINDS``, without vanishing gradients) -> the rate raised by the factor the trial's
    ``stalled_weights`` measured; a blow-up (``BLOWUP_KINDS``) -> the rate 10x lower. None when
    the trial resolved, failed, already set the rate, or left anything else."""
    if trial.status == "error" or rank.resolved(trial, baseline) or not trial.kinds or \
            trial.kinds & baseline.kinds or any(family(p) == "lr" for p in parts(trial.repair)):
        return None
    if trial.kinds <= SLOW_KINDS and not trial.kinds & INIT_KINDS:
        factor = raise_factor(trial)
    elif trial.kinds <= BLOWUP_KINDS:
        factor = 0.1
    else:
        return None
    try:
        return combine(trial.repair, lr_name(factor))
    except ValueError:
        return None


def _helped(trial: Trial, baseline: Trial) -> bool:
    """Removed at least one of the baseline's problems and added none: half a repair, worth
    combining with another half (a loss a little lower with every finding still there is not)."""
    return bool(baseline.kinds - trial.kinds) and not trial.kinds - baseline.kinds


def _worse(trial: Trial, baseline: Trial, same: frozenset[str] = frozenset()) -> bool:
    """A finite loss above the baseline's, or a new problem (not one of ``same``) without a
    lower loss: a smaller step that still leaves units dying but halves the loss is going the
    right way even where a plateau warning appears in its last steps."""
    before, after = baseline.loss, trial.loss
    finite = all(v is not None and math.isfinite(v) for v in (before, after))
    if finite and after > before:  # type: ignore[operator]
        return True
    return bool(trial.kinds - baseline.kinds - same) and not (
        finite and after < before)  # type: ignore[operator]
