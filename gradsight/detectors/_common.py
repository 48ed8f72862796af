"""What several detectors read from a run: per-parameter series aligned by step, and advice."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core import advice
from ..core import records
from ..core.advice import Fix
from ..core.init_schemes import ACTIVATION_GAINS, scheme_for
from ..core.run_view import Entity, RunView, Series

# Fewer recorded steps than this and a trend is not a trend.
MIN_STEPS = 3


def min_steps(run: RunView) -> int:
    """Steps a judgement of scale (not of a trend) needs: a probe is one measured step at
    initialization, judged as such."""
    return 1 if run.meta.get("mode") == "probe" else MIN_STEPS


@dataclass(frozen=True)
class ParamSeries:
    """One parameter's recorded numbers, aligned on the steps where all were recorded."""

    entity: Entity
    steps: np.ndarray
    # |g| as backward computed it (before any clipping); NaN where there was no gradient
    grad: np.ndarray
    weight: np.ndarray
    update: np.ndarray
    lr: np.ndarray
    has_grad: np.ndarray  # bool, per step
    # |g| the optimizer received (after clipping; equal to ``grad`` where nothing clipped)
    grad_applied: np.ndarray

    @property
    def clipped(self) -> np.ndarray:
        """Per step: clipping shrank this gradient by more than 1%."""
        with np.errstate(invalid="ignore"):
            return np.isfinite(self.grad) & (self.grad_applied < 0.99 * self.grad)

    @property
    def name(self) -> str:
        return self.entity.name

    @property
    def ndim(self) -> int:
        return len(self.entity.get("shape") or [])

    @property
    def is_matrix(self) -> bool:
        """A weight matrix or kernel: two or more dimensions and not a bias (Keras's GRU bias
        is (2, 3 x units), TF1 biases are often (1, n): zero-initialized vectors all the same,
        whose |g|/|w| says how small they started, not how gradients reach them)."""
        return self.ndim >= 2 and not self.entity.get("is_bias")


def _metrics(run: RunView) -> dict[str, dict[str, Series]]:
    names = ("grad_norm", "grad_norm_preclip", "weight_norm", "update_norm", "lr", "has_grad")
    return {m: run.metric("param", m) for m in names}


def param_series(run: RunView) -> list[ParamSeries]:
    """Every parameter in recorded order, its metrics aligned on its ``has_grad`` steps."""
    metrics = _metrics(run)
    out = []
    for entity in run.entities("param"):
        base = metrics["has_grad"].get(entity.name)
        if base is None or len(base) == 0:
            continue
        steps = base.steps
        applied = _align(metrics["grad_norm"].get(entity.name), steps)
        preclip = _align(metrics["grad_norm_preclip"].get(entity.name), steps)
        # clipping only ever shrinks: a missing or NaN pre-clip value means "as applied"
        grad = np.where(np.isnan(preclip), applied, preclip)
        out.append(
            ParamSeries(
                entity,
                steps,
                grad,
                _align(metrics["weight_norm"].get(entity.name), steps),
                _align(metrics["update_norm"].get(entity.name), steps),
                _align(metrics["lr"].get(entity.name), steps),
                base.values > 0.5,
                applied,
            )
        )
    return out


def _align(series: Series | None, steps: np.ndarray) -> np.ndarray:
    out = np.full(len(steps), np.nan)
    if series is None or len(series) == 0:
        return out
    index = {int(s): i for i, s in enumerate(series.steps)}
    for j, s in enumerate(steps):
        i = index.get(int(s))
        if i is not None:
            out[j] = series.values[i]
    return out


def ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return num / den


def is_embedding(entity: Entity) -> bool:
    """A lookup table: a batch touches a few rows, so its gradient is small against the whole
    table by construction; it is no layer in a depth-wise scale argument either."""
    return entity.get("module_kind") == records.EMBEDDING


def is_bias(entity: Entity) -> bool:
    """A bias, by the adapter's word or by name (TF1 names are free-form: ``b``, ``bias_1``)."""
    return bool(entity.name.endswith("bias") or entity.get("is_bias"))


def always_zero(p: ParamSeries) -> bool:
    """Its gradient was recorded at ``MIN_STEPS`` steps or more, exactly 0 at every one: the
    loss does not depend on it (``no_gradient``'s finding, not a stall or a vanishing)."""
    norms = p.grad[p.has_grad]
    return norms.size >= MIN_STEPS and bool((norms == 0).all())


def is_bias_before_batchnorm(run: RunView, entity: Entity) -> bool:
    """A bias whose layer feeds only batch norms: the norm subtracts the batch mean, so the
    bias cancels out and its gradient is zero by construction. (If the layer's output also
    goes elsewhere, a residual say, the bias matters there.)"""
    shape = entity.get("shape") or []
    if not shape or any(d != 1 for d in shape[:-1]) or not is_bias(entity):  # (n,), TF1's (1, n)
        return False
    consumers = [run.entity("module", c) for c in entity.get("feeds") or []]
    return bool(consumers) and all(
        m is not None and m.get("kind") == records.BATCH_NORM for m in consumers
    )


def layer_weight(run: RunView, bias: Entity) -> str | None:
    """The weight of a bias's layer: the one matrix of the same module (``x.weight`` in
    PyTorch, ``x/kernel`` in Keras; TF1 names are whatever the script chose)."""
    module = bias.get("module")
    same = [p.name for p in run.entities("param")
            if module is not None and p.get("module") == module and p.name != bias.name
            and not p.get("is_bias") and len(p.get("shape") or []) >= 2]
    if len(same) == 1:
        return same[0]
    stem = bias.name[: -len("bias")]
    return next((c for c in (stem + "weight", stem + "kernel") if c in same), None)


def forward_position(run: RunView, entity: Entity) -> tuple[int, int]:
    """Sort key: the owning module's forward order, then the parameter's own order."""
    module = entity.get("module")
    m = run.entity("module", module) if module is not None else None
    return (m.order if m is not None else 10**9, entity.order)


def layer_ref(run: RunView, entity: Entity) -> dict[str, Any]:
    """How advice names a layer (``core.advice``): its parameter and bias, module, the owning
    model's variable name, class, kind, shape, and its width and inputs in either layout
    (PyTorch weights are (out, in, ...), TF kernels (..., in, out): TF says its fan_in)."""
    module = entity.get("module")
    m = run.entity("module", module) if module is not None else None
    shape = [int(d) for d in entity.get("shape") or []]
    tf_layout = entity.get("fan_in") is not None
    bias = next((p.name for p in run.entities("param") if module is not None
                 and p.get("module") == module and p.name != entity.name
                 and len(p.get("shape") or []) <= 2 and (p.get("is_bias") or
                                                          p.name.endswith("bias"))), None)
    ref: dict[str, Any] = {"param": entity.name, "bias": bias, "module": module,
                           "owner": m.get("owner") if m is not None else None,
                           "type": entity.get("module_type"), "kind": entity.get("module_kind"),
                           "shape": shape, "units": None, "inputs": None, "kernel_size": None}
    if len(shape) >= 2:
        if tf_layout:
            ref.update(units=shape[-1], inputs=shape[-2], kernel_size=shape[:-2] or None)
        else:
            ref.update(units=shape[0], inputs=shape[1], kernel_size=shape[2:] or None)
    elif shape:
        ref.update(units=shape[-1])
    if bias is not None:
        b = run.entity("param", bias)
        ref["bias_shape"] = b.get("shape") if b is not None else None
    return ref


# Within this factor of the recommended std, a weight is already initialized for its activation.
INIT_TOLERANCE = 2.0


def recommended_std(entity: Entity) -> float | None:
    """The He/Glorot std for this weight and the activation after it (None: not a matrix)."""
    fan = fan_in(entity)
    if fan is None:
        return None
    return ACTIVATION_GAINS.get(entity.get("followed_by"), 1.0) / fan ** 0.5


def fan_in(entity: Entity) -> int | None:
    """Inputs per output unit of a weight: TF adapters say it, PyTorch weights are (out, in,
    ...) (None: not a matrix)."""
    shape = [int(n) for n in entity.get("shape") or []]
    if len(shape) < 2:
        return None
    return int(entity.get("fan_in") or 0) or max(int(np.prod(shape[1:])), 1)


def initial_scale(run: RunView, entity: Entity) -> float | None:
    """The weight's std at its first recorded step over the recommended std."""
    recommended = recommended_std(entity)
    first = initial_weight_norm(run, entity.name)
    if recommended is None or first is None:
        return None
    numel = max(int(np.prod([int(n) for n in entity.get("shape")])), 1)
    if not np.isfinite(first):
        return None
    return first / numel ** 0.5 / recommended


def initial_weight_norm(run: RunView, name: str) -> float | None:
    """|w| before the first update (``weight_norm_init``), else at the first recorded step
    (which is after that step's update: one huge first step can blow it up)."""
    for metric in ("weight_norm_init", "weight_norm"):
        series = run.metric("param", metric).get(name)
        if series is not None and len(series):
            return float(series.values[0])
    return None


def init_is_fine(run: RunView, entity: Entity) -> bool:
    """Already He/Glorot-scaled: advising that init again would be advising what it does."""
    scale = initial_scale(run, entity)
    return scale is not None and 1 / INIT_TOLERANCE <= scale <= INIT_TOLERANCE


def uses_clipping(run: RunView) -> bool:
    """The script clips its gradients (the adapter saw clipping)."""
    return any(run.metric("param", m) for m in ("clip_norm_limit", "clip_value_limit"))


def peak_learning_rate(run: RunView) -> float | None:
    """The largest learning rate any optimized parameter saw (None: unknown)."""
    peaks = [float(np.nanmax(s.values)) for s in run.metric("param", "lr").values()
             if len(s) and np.isfinite(s.values).any()]
    return max(peaks) if peaks else None


def lower_lr_fix(run: RunView, factor: float = 10.0) -> Fix:
    lr = peak_learning_rate(run)
    args: dict[str, Any] = {"factor": factor}
    if lr:
        args.update(current=lr, new=lr / factor)
    return Fix(advice.LOWER_LR, args)


def owner_of(run: RunView) -> str | None:
    """The variable name of the model that owns the parameters, where one model does."""
    owners = {m.get("owner") for m in run.entities("module")} - {None}
    return owners.pop() if len(owners) == 1 else None


def init_fixes(run: RunView, entity: Entity) -> list[Fix]:
    """Initialization matched to the activation that follows the layer; nothing when the
    layer is already initialized that way."""
    return [] if init_is_fine(run, entity) else init_recipe(run, entity)


def init_recipe(run: RunView, entity: Entity) -> list[Fix]:
    """The init for this layer and its activation (and a small positive bias before a ReLU)."""
    act = entity.get("followed_by")
    ref = layer_ref(run, entity)
    fixes = [Fix(advice.INIT_LAYER, {"layer": ref, "scheme": scheme_for(act), "activation": act})]
    if act in ("relu", "leaky_relu") and ref.get("bias"):
        fixes.append(Fix(advice.POSITIVE_BIAS, {"layer": ref, "value": 0.1}))
    return fixes


# The loss has reached its floor once its running median is this far below its start: two orders
# of magnitude is what a network that learned its task measures (healthy digits and iris runs:
# 100-1e5x), far from the 1-12x of the failures the detectors are about. After that the
# gradients are small because there is little left to learn, not because training is broken.
CONVERGED_FACTOR = 100.0
CONVERGED_WINDOW = 10  # loss values in the running median (per-batch noise does not count)


def converged_step(run: RunView) -> int | None:
    """The first step at which the loss had fallen ``CONVERGED_FACTOR`` below its start and so
    reached its floor (None: it never did, or the loss is not a positive quantity to judge)."""
    loss = run.loss
    finite = np.isfinite(loss.values)
    values = loss.values[finite]
    if values.size and values.min() < 0:
        return None
    return first_fall(values, loss.steps[finite], CONVERGED_FACTOR)


def first_fall(values: np.ndarray, steps: np.ndarray, factor: float) -> int | None:
    """The first step at which ``values`` (a running median of ``CONVERGED_WINDOW``) stand
    ``factor`` below their start (the median of the first window, or of the first 1%); None if
    they never do, there are too few, any is non-finite, or the start is not positive."""
    n = CONVERGED_WINDOW
    if values.size < 2 * n or not np.isfinite(values).all():
        return None
    start = float(np.median(values[:max(n, values.size // 100)]))
    if not start > 0:
        return None
    windows = np.lib.stride_tricks.sliding_window_view(values, n)
    below = np.nonzero(np.median(windows, axis=1) <= start / factor)[0]
    return int(steps[below[0] + n - 1]) if below.size else None


def first_nonfinite_step(run: RunView) -> int | None:
    """First step whose loss or weights were NaN/Inf (None: the run stayed finite). Gradients
    alone do not count: loss scaling makes them non-finite on purpose and skips the step."""
    candidates = []
    bad = ~np.isfinite(run.loss.values)
    if bad.any():
        candidates.append(int(run.loss.steps[np.argmax(bad)]))
    for series in run.metric("param", "weight_norm").values():
        broken = ~np.isfinite(series.values)
        if broken.any():
            candidates.append(int(series.steps[np.argmax(broken)]))
    return min(candidates) if candidates else None


def fmt(x: float) -> str:
    return f"{x:.3g}"


def adversarial(run: RunView) -> bool:
    """Whether the run is a two-player game (a GAN, as the adapter recognized it: an
    ``adversarial`` event), whose losses are not meant to fall: the loss rules leave it alone."""
    return bool(run.events("adversarial"))


def median_over_steps(steps: np.ndarray, values: np.ndarray) -> float:
    """The median over the steps the records stand for, not over the records: a value recorded
    at a step stands for every step until the next record. The schedule records steps 0-9, then
    one in 100 (and windows a trigger asked for), so a plain median of a 435-step run's 15
    records is its first ten steps' (a tanh that saturated from step 50 on, 96% of the way,
    read as 53%)."""
    order = np.argsort(steps, kind="stable")
    at, v = steps[order], values[order]
    weight = np.diff(at, append=at[-1] + 1).astype(float)
    by_value = np.argsort(v, kind="stable")
    covered = np.cumsum(weight[by_value])
    return float(v[by_value][np.searchsorted(covered, covered[-1] / 2)])
