"""What several detectors read from a run: per-parameter series aligned by step, and advice."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.run_view import Entity, RunView, Series

# Fewer recorded steps than this and a trend is not a trend.
MIN_STEPS = 3

BATCH_NORMS = ("BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "SyncBatchNorm", "BatchNormalization")


@dataclass(frozen=True)
class ParamSeries:
    """One parameter's recorded numbers, aligned on the steps where all were recorded."""

    entity: Entity
    steps: np.ndarray
    grad: np.ndarray  # NaN where there was no gradient
    weight: np.ndarray
    update: np.ndarray
    lr: np.ndarray
    has_grad: np.ndarray  # bool, per step

    @property
    def name(self) -> str:
        return self.entity.name

    @property
    def ndim(self) -> int:
        return len(self.entity.get("shape") or [])


def _metrics(run: RunView) -> dict[str, dict[str, Series]]:
    names = ("grad_norm", "weight_norm", "update_norm", "lr", "has_grad")
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
        out.append(
            ParamSeries(
                entity,
                steps,
                _align(metrics["grad_norm"].get(entity.name), steps),
                _align(metrics["weight_norm"].get(entity.name), steps),
                _align(metrics["update_norm"].get(entity.name), steps),
                _align(metrics["lr"].get(entity.name), steps),
                base.values > 0.5,
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


def init_advice(run: RunView, entity: Entity) -> list[str]:
    """Initialization matched to the activation that follows the layer."""
    if "tensorflow" in str(run.meta.get("framework")):
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
