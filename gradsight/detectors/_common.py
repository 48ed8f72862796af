"""What several detectors read from a run: per-parameter series aligned by step, and advice."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core.run_view import Entity, RunView, Series

# Fewer recorded steps than this and a trend is not a trend.
MIN_STEPS = 3

BATCH_NORMS = ("BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "SyncBatchNorm", "BatchNormalization")
# Lookup tables: a batch touches a few rows, so their gradient is small against the whole
# table by construction; they are no layer in a depth-wise scale argument either.
EMBEDDINGS = ("Embedding", "EmbeddingBag")


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


def is_bias_before_batchnorm(run: RunView, entity: Entity) -> bool:
    """A bias whose layer feeds only batch norms: the norm subtracts the batch mean, so the
    bias cancels out and its gradient is zero by construction. (If the layer's output also
    goes elsewhere, a residual say, the bias matters there.)"""
    is_bias = entity.name.endswith("bias") or entity.get("is_bias")  # TF1 names are free-form
    shape = entity.get("shape") or []
    if not shape or any(d != 1 for d in shape[:-1]) or not is_bias:  # (n,) or TF1's (1, n)
        return False
    consumers = [run.entity("module", c) for c in entity.get("feeds") or []]
    return bool(consumers) and all(
        m is not None and m.get("type") in BATCH_NORMS for m in consumers
    )


def layer_weight(run: RunView, bias: Entity) -> str | None:
    """The weight of a bias's layer: ``x.weight`` (PyTorch), ``x/kernel`` (Keras), or the one
    matrix of the same module (TF1, where names are whatever the script chose)."""
    stem = bias.name[: -len("bias")]
    for candidate in (stem + "weight", stem + "kernel"):
        if run.entity("param", candidate) is not None:
            return candidate
    module = bias.get("module")
    same = [p.name for p in run.entities("param")
            if module is not None and p.get("module") == module and p.name != bias.name
            and not p.get("is_bias") and len(p.get("shape") or []) >= 2]
    return same[0] if len(same) == 1 else None


def forward_position(run: RunView, entity: Entity) -> tuple[int, int]:
    """Sort key: the owning module's forward order, then the parameter's own order."""
    module = entity.get("module")
    m = run.entity("module", module) if module is not None else None
    return (m.order if m is not None else 10**9, entity.order)


def code_ref(name: str, model_label: str | None = None) -> str:
    """``0.weight`` -> ``model[0].weight``: how the parameter is written in Python."""
    parts = []
    for part in name.split("."):
        parts.append(f"[{part}]" if part.isdigit() else f".{part}")
    return (model_label or "model") + "".join(parts)


def model_label(run: RunView, entity: Entity) -> str:
    module = entity.get("module")
    m = run.entity("module", module) if module is not None else None
    label = m.get("owner") if m is not None else None
    return label if label and label.isidentifier() and label[0].islower() else "model"


# Gain of the activation after a layer, as He/Glorot/LeCun pick std = gain / sqrt(fan_in).
ACTIVATION_GAINS = {"relu": 2.0 ** 0.5, "leaky_relu": 2.0 ** 0.5, "gelu": 2.0 ** 0.5,
                    "tanh": 5.0 / 3.0}
# Within this factor of the recommended std, a weight is already initialized for its activation.
INIT_TOLERANCE = 2.0


def recommended_std(entity: Entity) -> float | None:
    """The He/Glorot std for this weight and the activation after it (None: not a matrix)."""
    shape = [int(n) for n in entity.get("shape") or []]
    if len(shape) < 2:
        return None
    # PyTorch weights are (out, in, ...); TF kernels are (..., in, out): TF says its fan_in
    fan_in = int(entity.get("fan_in") or 0) or max(int(np.prod(shape[1:])), 1)
    return ACTIVATION_GAINS.get(entity.get("followed_by"), 1.0) / fan_in ** 0.5


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
    """The script clips its gradients (the adapter saw clip_grad_norm_/clip_grad_value_)."""
    return any(run.metric("param", m) for m in ("clip_norm_limit", "clip_value_limit"))


def peak_learning_rate(run: RunView) -> float | None:
    """The largest learning rate any optimized parameter saw (None: unknown)."""
    peaks = [float(np.nanmax(s.values)) for s in run.metric("param", "lr").values()
             if len(s) and np.isfinite(s.values).any()]
    return max(peaks) if peaks else None


def lower_lr_advice(run: RunView, factor: float = 10.0) -> str:
    lr = peak_learning_rate(run)
    text = f"lower the learning rate about {factor:g}x"
    return text + (f" (from {fmt(lr)} to {fmt(lr / factor)})" if lr else "")


def init_advice(run: RunView, entity: Entity) -> list[str]:
    """Initialization matched to the activation that follows the layer; nothing when the
    layer is already initialized that way."""
    return [] if init_is_fine(run, entity) else init_recipe(run, entity)


def init_recipe(run: Any, entity: Entity) -> list[str]:
    """The init code for this layer and its activation. ``run`` needs only ``entity()`` (the
    probe passes its own model's names) and, for TensorFlow wording, ``meta``."""
    if "tensorflow" in str(getattr(run, "meta", {}).get("framework")):
        return _tf_init_advice(entity)
    ref = code_ref(entity.name, model_label(run, entity))
    bias_ref = ref[: -len("weight")] + "bias" if ref.endswith("weight") else None
    act = entity.get("followed_by")
    if act == "relu" or act == "leaky_relu":
        lines = [
            f'He (Kaiming) init, since a ReLU follows: torch.nn.init.kaiming_normal_({ref}, '
            f'nonlinearity="{act}")'
        ]
        if bias_ref:
            lines.append(
                "small positive bias so ReLUs start active: "
                f"torch.nn.init.constant_({bias_ref}, 0.1)"
            )
        return lines
    if act == "selu":
        return [f'LeCun init for SELU: torch.nn.init.kaiming_normal_({ref}, nonlinearity="linear")']
    gain = f', gain=torch.nn.init.calculate_gain("{act}")' if act in ("tanh", "sigmoid") else ""
    return [f"Xavier/Glorot init: torch.nn.init.xavier_normal_({ref}{gain})"]


def _tf_init_advice(entity: Entity) -> list[str]:
    """The same advice in TensorFlow's words: Keras initializers, or TF1 ``get_variable``."""
    act = entity.get("followed_by")
    relu = act in ("relu", "leaky_relu")
    keras_name = "he_normal" if relu else "glorot_normal"
    layer = entity.get("module") or entity.name
    if entity.name.endswith("kernel"):  # Keras 3
        line = (f'{"He" if relu else "Xavier/Glorot"} init for {layer}'
                f'{", since a ReLU follows" if relu else ""}: '
                f'keras.layers.{entity.get("module_type") or "Dense"}(..., '
                f'kernel_initializer="{keras_name}")')
        bias = 'bias_initializer=keras.initializers.Constant(0.1)'
    else:  # TF1 graph: the variable as the script creates it
        line = (f'{"He" if relu else "Xavier/Glorot"} init'
                f'{", since a ReLU follows" if relu else ""}: tf.get_variable("{entity.name}", '
                f'..., initializer=tf.initializers.{keras_name}())')
        bias = "initializer=tf.constant_initializer(0.1) for its bias"
    if relu:
        return [line, f"small positive bias so ReLUs start active: {bias}"]
    return [line]


def fmt(x: float) -> str:
    return f"{x:.3g}"
