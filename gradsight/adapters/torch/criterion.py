"""The training loss against its reference: the loss of the best constant prediction.

A model that learned nothing from its inputs can still reach one loss: the one of predicting
the same thing for every input, the best such constant. For cross-entropy and NLL that is the
entropy of the class frequencies (predict the class prior); for binary cross-entropy the
binary entropy of each output's positive rate; for MSE the targets' variance (predict their
mean); for L1 their mean absolute deviation about the median. It follows from the targets
alone, so it is measured where they are seen: a wrapper of each ``torch.nn.functional`` loss
(the ``nn`` loss modules call these too) that, after the original ran, adds the call's targets
to running sums on their device, and the call's value to the current window.

Only training calls count (gradients on, a loss that requires grad: validation passes do
not), and only one criterion, the first one the run trains with (function and target width),
so a second head's loss or an auxiliary term never mixes in. On the clock's detail steps, and
when watching stops, the window's mean, the reference over every target seen so far and the
steps the window covers go to the recorder as one row (role ``loss``, named by the family),
as device values: nothing is read back during a step.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable

import torch

from ...core import metrics as m
from ...core.recorder import Recorder
from ..patching import Guard, Patches
from . import stats

F64 = torch.float64
# torch.nn.functional name -> the reference family (``metrics.LOSS_FAMILIES``)
FUNCTIONS = {
    "cross_entropy": m.FAMILY_CLASSES, "nll_loss": m.FAMILY_CLASSES,
    "binary_cross_entropy": m.FAMILY_BINARY, "binary_cross_entropy_with_logits": m.FAMILY_BINARY,
    "mse_loss": m.FAMILY_SQUARED, "l1_loss": m.FAMILY_ABSOLUTE,
}
MAX_FEATURES = 1 << 16  # wider targets (whole images) are pooled into one feature


class Reference:
    """Running sums over the targets of one criterion, on their device."""

    def __init__(self, family: str, width: int, device: torch.device, smoothing: float = 0.0
                 ) -> None:
        self.family, self.width, self.smoothing = family, width, smoothing
        zeros = lambda: torch.zeros(width, dtype=F64, device=device)  # noqa: E731
        self.sums = zeros()  # per class (counts) or per feature (target sums)
        self.squares = zeros()  # MSE: sums of squared targets
        self.medians = zeros()  # L1: sum of the batches' medians (their mean estimates the median)
        self.deviations = zeros()  # L1: sum of |target - running median estimate|
        self.count = torch.zeros((), dtype=F64, device=device)
        self.batches = 0
        self.usable = True  # per-element weights (pos_weight, weight) have no constant here

    def add_classes(self, target: torch.Tensor, ignore: int, weight: torch.Tensor | None) -> None:
        """Class indices, or class probabilities with the class on dim 1."""
        if target.is_floating_point():
            probs = target.detach().movedim(1, -1).reshape(-1, self.width).to(F64)
            counts = probs.sum(0)
        else:
            flat = target.detach().reshape(-1)
            valid = flat != ignore
            index = torch.where(valid, flat, torch.zeros_like(flat))
            counts = torch.zeros_like(self.sums).index_add_(0, index, valid.to(F64))
        if weight is not None:  # a weighted mean is the mean over a re-weighted prior
            counts = counts * weight.detach().to(F64)
        self.sums += counts

    def add_values(self, target: torch.Tensor) -> None:
        """Per-feature sums (and for L1 the batch medians' running mean) of real targets."""
        t = _features(target.detach(), self.width).to(F64)
        self.sums += t.sum(0)
        self.count += t.shape[0]
        if self.family == m.FAMILY_SQUARED:
            self.squares += (t * t).sum(0)
        elif self.family == m.FAMILY_ABSOLUTE:  # about the running estimate of the median
            self.medians += t.median(0).values
            self.batches += 1
            self.deviations += (t - self.medians / self.batches).abs().sum(0)

    def value(self) -> torch.Tensor:
        """The best constant prediction's loss over every target so far (float64, 0-dim)."""
        nan = torch.full((), float("nan"), dtype=F64, device=self.sums.device)
        if not self.usable:
            return nan
        if self.family == m.FAMILY_CLASSES:
            p = self.sums / self.sums.sum()
            if self.smoothing:
                p = (1 - self.smoothing) * p + self.smoothing / self.width
            return -torch.special.xlogy(p, p).sum()
        n = self.count.clamp_min(1)
        mean = self.sums / n
        if self.family == m.FAMILY_BINARY:
            q = mean.clamp(0, 1)
            return -(torch.special.xlogy(q, q) + torch.special.xlogy(1 - q, 1 - q)).mean()
        if self.family == m.FAMILY_SQUARED:
            return (self.squares / n - mean * mean).clamp_min(0).mean()
        return (self.deviations / n).mean()


def _features(target: torch.Tensor, width: int) -> torch.Tensor:
    """(samples, features): the first dimension is the batch, the rest one feature each."""
    return target.reshape(-1, width)


def _width(target: torch.Tensor) -> int:
    per_sample = target[0].numel() if target.ndim > 1 and target.shape[0] else 1
    return per_sample if per_sample <= MAX_FEATURES else 1


class CriterionTap:
    """Wraps the loss functions; holds the run's criterion, its window and its reference."""

    def __init__(self, on_input: Callable[[torch.Tensor, int], None] = lambda x, dim: None
                 ) -> None:
        self._on_input = on_input  # the training loss's input and its class axis
        self.reference: Reference | None = None
        self.key: tuple[str, int] | None = None
        self._window: torch.Tensor | None = None  # the window's sum of per-element losses
        self._calls = 0
        self._probabilities: torch.Tensor | None = None  # calls whose input rows summed to 1
        self._shipped = -1  # last step a row was shipped for
        self._quiet: Callable[[], bool] = lambda: False

    def install(self, patches: Patches, guard: Guard, quiet: Callable[[], bool]) -> None:
        import torch.nn.functional as functional

        self._quiet = quiet
        for name, family in FUNCTIONS.items():
            original = getattr(functional, name, None)
            if original is None or getattr(original, "_gradsight_tap", False):
                continue
            patches.wrap(functional, name, lambda o, n=name, f=family: self._wrapper(
                o, n, f, guard))

    def _wrapper(self, original: Callable[..., Any], name: str, family: str, guard: Guard
                 ) -> Callable[..., Any]:
        signature = inspect.signature(original)

        @functools.wraps(original)
        def loss(*args: Any, **kwargs: Any) -> Any:
            result = original(*args, **kwargs)
            if guard.active and torch.is_grad_enabled() and isinstance(result, torch.Tensor) \
                    and result.requires_grad and not self._quiet():
                guard.run(self._saw, family, signature.bind(*args, **kwargs).arguments, result,
                          name)
            return result

        loss._gradsight_tap = True  # type: ignore[attr-defined]
        return loss

    def _saw(self, family: str, args: dict[str, Any], result: torch.Tensor, name: str = ""
             ) -> None:
        source, target = args.get("input"), args.get("target")
        if not isinstance(source, torch.Tensor) or not isinstance(target, torch.Tensor):
            return
        classes = family == m.FAMILY_CLASSES
        width = int(source.shape[1]) if classes and source.ndim > 1 else _width(target)
        if classes and source.ndim < 2:
            return  # an unbatched call: nothing to learn a prior from
        key = (family, width)
        if self.key is None:
            self.key = key
            self.reference = Reference(family, width, target.device,
                                       float(args.get("label_smoothing") or 0.0))
        if key != self.key or self.reference is None:
            return
        self._on_input(source, 1)
        weight = args.get("weight")
        if classes:
            self.reference.add_classes(target, int(args.get("ignore_index", -100)),
                                       weight if isinstance(weight, torch.Tensor) else None)
        else:
            if weight is not None or args.get("pos_weight") is not None:
                self.reference.usable = False
            self.reference.add_values(target)
        value = _per_element(result.detach(), _reduction(args), source, target,
                             int(args.get("ignore_index", -100)) if classes else None)
        self._window = value if self._window is None else self._window + value
        self._calls += 1
        if name in ("cross_entropy", "nll_loss"):  # on the device: no host sync
            seen = _probability_rows(source.detach())
            self._probabilities = seen if self._probabilities is None else \
                self._probabilities + seen

    def ship(self, step: int, recorder: Recorder) -> None:
        """The window since the last row (its mean per call, the reference, the steps it
        covers) as one row at ``step``; nothing when no training loss was seen."""
        if not self._calls or self._window is None or self.reference is None \
                or self.key is None or step <= self._shipped:
            return
        covered = step - self._shipped
        row = torch.stack([self._window.to(F64) / self._calls, self.reference.value(),
                           torch.tensor(float(covered), dtype=F64, device=self._window.device)])
        recorder.record(step, m.LOSS_ROLE, [self.key[0]], m.CRITERION_METRICS,
                        stats.HostCopy(row[None]))
        if self._probabilities is not None:
            share = (self._probabilities / self._calls).reshape(1, 1)
            recorder.record(step, m.LOSS_ROLE, [self.key[0]], (m.PROBABILITY_INPUTS,),
                            stats.HostCopy(share))
        self._window, self._calls, self._shipped = None, 0, step
        self._probabilities = None


def _probability_rows(source: torch.Tensor) -> torch.Tensor:
    """1.0 where every entry of a class loss's input is in [0, 1] and every row (classes on
    dim 1) sums to 1 within 1e-3: probabilities where logits or log-probabilities belong."""
    if source.ndim < 2 or source.shape[1] < 2 or not source.is_floating_point():
        return torch.zeros((), dtype=F64, device=source.device)
    # every training call: one min/max pass and the row sums, no copy of the logits
    low, high = torch.aminmax(source)
    rows = source.sum(1, dtype=torch.float32)
    return ((low >= 0) & (high <= 1) & ((rows - 1).abs() <= 1e-3).all()).to(F64)


def _reduction(args: dict[str, Any]) -> str:
    if args.get("size_average") is not None or args.get("reduce") is not None:
        from torch.nn import _reduction

        return str(_reduction.legacy_get_string(args.get("size_average"), args.get("reduce")))
    return str(args.get("reduction", "mean"))


def _per_element(value: torch.Tensor, reduction: str, source: torch.Tensor,
                 target: torch.Tensor, ignore: int | None) -> torch.Tensor:
    """The call's loss as a mean per element (per target not ignored, for class losses)."""
    if reduction == "none":
        return value.to(F64).mean()
    if reduction != "sum":
        return value.reshape(()).to(F64)
    if ignore is None:
        return value.to(F64) / max(torch.broadcast_shapes(source.shape, target.shape).numel(), 1)
    if target.is_floating_point():  # class probabilities: one sample per position
        return value.to(F64) / max(target.numel() // max(int(source.shape[1]), 1), 1)
    return value.to(F64) / (target != ignore).sum().clamp_min(1).to(F64)
