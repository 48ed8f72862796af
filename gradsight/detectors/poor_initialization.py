"""``poor_initialization``: at initialization the signal explodes or collapses with depth.

Judged on the weights at the first recorded steps, because they set the Jacobian of every layer:
a weight layer multiplies the scale of what passes through it (forward activations and, the
other way, gradients) by about ``std(W) * sqrt(fan_in)``. He/Glorot pick ``std(W) =
gain / sqrt(fan_in)`` (gain sqrt(2) before a ReLU, 5/3 before tanh, 1 otherwise) so that this
factor is ~1 per layer. A layer's *scale* is its weight std over that recommended std; the
product of the scales of the layers after the first (the change of scale from the first layer's
output to the network's output, against a well-initialized net) is the *depth gain*.

Measured activations are only confirmation: biases dominate the output of a collapsed net (seed
000/001: every layer's output is ~1e-3, the bias scale, while its input-dependent part is
~1e-8), and a one-unit output over a batch of one has no std at all.

Normalization layers reset the scale, so the depth gain is taken per stretch between them.

Residual connections carry the signal past layers too: a branch initialized small on purpose
(GPT-2's projections at 0.02/sqrt(2 n_layer), Fixup's zero-initialized last layer) adds little
to a stream that keeps its scale, and no product of weight scales sees the skip. The gradients
do: a collapse of ``DEPTH_LIMIT``x leaves the first layer's |g|/|w| at the first steps orders
of magnitude below the last layer's (1,300x in seed 000/001's three layers), while a residual
stack's first layer gets its gradient through the skips (12x below in a 6-block MLP whose
branches end at std 0.006). A collapse the weights alone predict is not said where both the
measured outputs keep their scale (no layer's rms ``MEASURED_LIMIT``x under the first's) and the
first layer's |g|/|w| is within ``GRADIENT_DEFICIT``x of the last's; it takes both, since a
collapse with zero biases (Keras' default) leaves every layer's |g|/|w| alike (all tiny) and one
with PyTorch's biases leaves every output at the bias scale, and unknown is never "kept".
"""

from __future__ import annotations

import math

import numpy as np

from ..core.finding import Finding, Severity
from ..core.scenarios import Scenario
from ..core.synthetic_specs import HEALTHY_GRAD_TO_WEIGHT
from ..core.run_view import Entity, RunView
from ..core import advice, records
from ..core.advice import Fix
from ..core.init_schemes import ACTIVATION_GAINS
from ._common import fmt, init_fixes, is_embedding, layer_ref

KIND = "poor_initialization"
PRIORITY = 5

INIT_LAST_STEP = 2  # recorded steps 0..2 are "at initialization" (the weights barely moved)
# Three orders of magnitude of scale change across depth: the gradient reaching the first layer
# is ~1000x off the last one's. Seed 000/001 (N(0, 1e-3)): 2 layers ~4e-3 (learns after a
# plateau), 3 layers ~1.3e-5 (never learns); seed 004 (N(0, 1)): ~7e3.
DEPTH_LIMIT = 1e3
DEPTH_ERROR = 1e4  # four orders: that part of training is broken (the 3-layer seed)
# A layer whose weight std is 10x off He/Glorot is mis-initialized on its own ...
WEIGHT_OFF = 10.0
# ... and one more than ~3x off (half an order) in the direction of the drift is named in where.
NAMED_OFF = math.sqrt(10.0)
# Measured confirmation when fewer than two layers are 10x off (a deep stack of slightly small
# layers, 0.5x each, seed 003): the last layer's output rms 100x off the first layer's.
MEASURED_LIMIT = 1e2
# Output (logits) rms at init: beyond ~100 a softmax is one-hot and its gradient ~0 for most
# samples (seed 004: ~2.6e4); only judged when a layer's weights are 10x too large.
OUTPUT_LIMIT = 1e2
OUTPUT_ERROR = 1e4
CROSSING = 1e3  # the activation profile "crosses" where rms is 1000x off the first layer's
# A weight's std is measured from its entries: with few of them it is one draw of the init, not
# its scale. The RMS of n Gaussian draws lands 10x (WEIGHT_OFF) below the init's std with
# probability P(chi2_n < n/100): 8% for n = 1 (a one-unit linear regression's 1x1 kernel),
# 2e-4 for n = 4, 4e-6 for n = 6; so a layer is called too small only from this many entries
# (too large needs no floor: 10x above is P(chi2_n > 100 n) < 1e-20 for any n).
MIN_SCALE_ENTRIES = 6
# A collapse the weights predict, seen in the gradients: the first layer's |g|/|w| this far below
# the last layer's at the first steps (the predicted deficit is at least DEPTH_LIMIT).
GRADIENT_DEFICIT = 1e2



def detect(run: RunView) -> list[Finding]:
    layers = _weight_layers(run)
    if not layers:
        return []
    findings = []
    for segment in _segments(run, layers):
        finding = _judge(run, segment, is_last=segment[-1] is layers[-1],
                         only=len(layers) == 1)
        if finding is not None:
            findings.append(finding)
    return findings[:1]  # the first stretch where the scale goes wrong is the root cause


class _Layer:
    def __init__(self, run: RunView, module: Entity | None, weight: Entity, w_norm: float,
                 rms: float | None) -> None:
        shape = [int(n) for n in weight.get("shape") or []]
        numel = max(int(np.prod(shape)), 1)
        # PyTorch weights are (out, in, ...); adapters of other layouts say so (TF: (..., out))
        fan_in = max(int(weight.get("fan_in") or np.prod(shape[1:])), 1)
        self.module = module
        self.weight = weight
        self.params = [p.name for p in run.entities("param")
                       if p.get("module") is not None and p.get("module") == weight.get("module")]
        self.w_norm = w_norm
        self.std = w_norm / math.sqrt(numel)
        self.recommended = ACTIVATION_GAINS.get(weight.get("followed_by"), 1.0) / math.sqrt(fan_in)
        self.scale = self.std / self.recommended
        self.measured_small = numel >= MIN_SCALE_ENTRIES  # can its std say "too small"?
        self.rms = rms

    @property
    def name(self) -> str:
        return self.module.name if self.module is not None else self.weight.name


def _weight_layers(run: RunView) -> list[_Layer]:
    weight_norm = run.metric("param", "weight_norm")
    # before the first update where the adapter saw it: one huge first step (lr 1e3) must not
    # pass for a bad init
    weight_norm_init = run.metric("param", "weight_norm_init")
    means = run.metric("module", "act_mean")
    stds = run.metric("module", "act_std")
    nonfinite = run.metric("module", "act_nonfinite")
    out = []
    for p in run.entities("param"):
        shape = p.get("shape") or []
        is_weight = p.name.endswith("weight") or p.get("is_bias") is False  # TF: kernel, W
        if len(shape) < 2 or not is_weight or is_embedding(p):
            continue
        if p.get("module_kind") in records.NORMS:
            continue
        w = _init_value(weight_norm_init.get(p.name) or weight_norm.get(p.name))
        if w is None or not w > 0:
            continue
        module = run.entity("module", p.get("module")) if p.get("module") is not None else None
        rms = None
        if module is not None:
            mean = _init_value(means.get(module.name))
            std = _init_value(stds.get(module.name))
            bad = _init_value(nonfinite.get(module.name))
            if bad is not None and bad > 0.5:
                rms = math.inf
            elif mean is not None and std is not None:
                rms = math.sqrt(mean * mean + std * std)
        out.append(_Layer(run, module, p, w, rms))
    out.sort(key=lambda layer: (layer.module.order if layer.module is not None else 10**9,
                                layer.weight.order))
    return out


def _signal_kept(layers: list[_Layer]) -> bool:
    """Every later layer's measured output rms stays within ``MEASURED_LIMIT``x of the first's
    (False where none is measured). A chain that collapses shows it at some layer (Keras' zero
    biases: 1.9e-3 -> 5e-6 at the second of three), even where the last layer's output is its
    bias; a residual branch's output stays near its input's scale times its own."""
    first = layers[0].rms
    later = [layer.rms for layer in layers[1:] if layer.rms is not None]
    if not first or not math.isfinite(first) or not later:
        return False
    return min(later) > first / MEASURED_LIMIT


def _gradients_bypass(run: RunView, layers: list[_Layer]) -> bool:
    """The first layer's |g|/|w| at the first steps is within ``GRADIENT_DEFICIT``x of the last
    layer's: the gradient reaches it past the layers that look collapsed (residual skips)."""
    grads = run.metric("param", "grad_norm")
    first, last = (_init_value(grads.get(layer.weight.name)) for layer in (layers[0], layers[-1]))
    if first is None or last is None or not (last > 0) or not math.isfinite(first):
        return False
    return first / layers[0].w_norm >= last / layers[-1].w_norm / GRADIENT_DEFICIT


def _init_value(series) -> float | None:
    if series is None or len(series) == 0:
        return None
    steps = series.steps
    first = int(steps[0])
    pick = (steps >= first) & (steps <= first + INIT_LAST_STEP)
    values = series.values[pick]
    if np.isinf(values).any():
        return math.inf
    values = values[np.isfinite(values)]
    return float(np.median(values)) if values.size else None


def _segments(run: RunView, layers: list[_Layer]) -> list[list[_Layer]]:
    """Weight layers split at normalization modules, which reset the scale."""
    norms = [m.order for m in run.entities("module") if m.get("kind") in records.NORMS]
    segments: list[list[_Layer]] = [[]]
    for layer in layers:
        order = layer.module.order if layer.module is not None else None
        if segments[-1] and order is not None and norms:
            prev = segments[-1][-1].module
            if prev is not None and any(prev.order < n < order for n in norms):
                segments.append([])
        segments[-1].append(layer)
    return [s for s in segments if s]


def _judge(run: RunView, layers: list[_Layer], is_last: bool, only: bool = False
           ) -> Finding | None:
    scales = np.array([layer.scale for layer in layers])
    depth_gain = float(np.prod(scales[1:])) if len(layers) >= 2 else 1.0
    log_gain = math.log10(depth_gain) if depth_gain > 0 else -math.inf
    first_rms, last_rms = layers[0].rms, layers[-1].rms
    measured = None
    if first_rms is not None and last_rms is not None and first_rms > 0:
        measured = last_rms / first_rms if math.isfinite(first_rms) else None
    too_big = int((scales >= WEIGHT_OFF).sum())
    too_small = sum(1 for layer in layers
                    if layer.scale <= 1 / WEIGHT_OFF and layer.measured_small)

    direction = None  # "explodes" or "collapses"
    severity = Severity.WARNING
    if abs(log_gain) >= math.log10(DEPTH_LIMIT) and len(layers) >= 2:
        up = log_gain > 0
        off = too_big if up else too_small
        confirmed = measured is not None and (
            measured >= MEASURED_LIMIT if up else measured <= 1 / MEASURED_LIMIT)
        bypassed = not up and not confirmed and _signal_kept(layers) and \
            _gradients_bypass(run, layers)
        if (off >= 2 or confirmed) and not bypassed:
            direction = "explodes" if up else "collapses"
            if abs(log_gain) >= math.log10(DEPTH_ERROR):
                severity = Severity.ERROR
    output_rms = last_rms if is_last else None
    if output_rms is not None and output_rms >= OUTPUT_LIMIT and too_big >= 1:
        if direction != "collapses":
            direction = "explodes"
            if output_rms >= OUTPUT_ERROR:
                severity = Severity.ERROR
    if direction is None and only and (too_big or too_small):
        # the model's one weight layer, 10x off on its own: it alone sets the output's scale
        # (seed 003's 512x512 N(0, 1): output std 22.6 where He/Glorot give ~1)
        direction = "explodes" if too_big else "collapses"
    if direction is None:
        return None

    up = direction == "explodes"
    named = [layer for layer in layers
             if (layer.scale >= NAMED_OFF if up else layer.scale <= 1 / NAMED_OFF)]
    if not named:
        named = [layers[0]]
    where: list[str] = []
    for layer in named:
        where.extend(n for n in layer.params if n not in where)
    first = named[0]
    crossing = _crossing(layers)
    measured_gains = [b.rms / a.rms for a, b in zip(layers, layers[1:])
                      if a.rms and b.rms is not None and math.isfinite(a.rms)]
    evidence = {
        "direction": direction,
        "first_bad_layer": first.name,
        "depth_gain": depth_gain,
        "depth_gain_limit": DEPTH_LIMIT,
        "layers": len(layers),
        "gain_per_layer_median": float(np.median(scales[1:])) if len(layers) >= 2 else None,
        "weight_std": {layer.weight.name: layer.std for layer in named[:5]},
        "recommended_std": {layer.weight.name: layer.recommended for layer in named[:5]},
        "weight_std_vs_recommended": {layer.weight.name: layer.scale for layer in named[:5]},
        "activation_rms_first": {layers[0].name: first_rms},
        "activation_rms_last": {layers[-1].name: last_rms},
        "measured_gain_per_layer_median": (
            float(np.median(measured_gains)) if measured_gains else None),
        "crossing_layer": crossing,
    }
    if output_rms is not None:
        evidence["output_rms"] = output_rms
    evidence.update(_what_training_did(run, layers[0].weight.name))
    if up:
        cause = f"{fmt(first.scale)}x larger than"
    else:
        cause = f"{fmt(1 / first.scale)}x smaller than" if first.scale > 0 else "far below"
    summary = (
        f"the signal {direction} with depth at initialization: the {len(layers)} weight layers "
        f"change its scale {fmt(depth_gain)}x beyond what He/Glorot init would "
        f"(std of {first.weight.name} is {fmt(first.std)}, {cause} the recommended "
        f"{fmt(first.recommended)})"
    )
    if output_rms is not None and output_rms >= OUTPUT_LIMIT and up:
        summary += f"; output rms {fmt(output_rms)} saturates a softmax"
    fixes = init_fixes(run, first.weight)
    if up:  # a positive bias helps ReLUs that a collapsed signal left off, not an explosion
        fixes = [f for f in fixes if f.action != advice.POSITIVE_BIAS]
    ref = layer_ref(run, first.weight)
    fixes += [Fix(advice.INIT_ALL, {"layer": ref, "activation": first.weight.get("followed_by")}),
              Fix(advice.KEEP_DEFAULT_INIT), Fix(advice.ADD_NORMALIZATION, {"layer": ref})]
    return Finding(KIND, severity, where, 0, summary, evidence, advice=fixes)


def _crossing(layers: list[_Layer]) -> str | None:
    ref = layers[0].rms
    if ref is None or not ref > 0 or not math.isfinite(ref):
        return None
    for layer in layers[1:]:
        if layer.rms is None:
            continue
        rms = layer.rms
        if not math.isfinite(rms) or rms >= CROSSING * ref or rms <= ref / CROSSING:
            return layer.name
    return None


def _what_training_did(run: RunView, name: str) -> dict[str, float | int]:
    """The first layer's gradients and updates over the run, which tell a collapsed signal
    (tiny gradients) from a saturated one (huge gradients, but exactly zero on the batches the
    saturated softmax already gets right: seed 004), and show how far the optimizer still moves
    the weights (Adam: ~lr, i.e. ~1e-3 of a unit-scale weight, per step)."""
    grad = run.metric("param", "grad_norm").get(name)
    update = run.metric("param", "update_norm").get(name)
    weight = run.metric("param", "weight_norm").get(name)
    out: dict[str, float | int] = {}
    if grad is not None and len(grad):
        values = grad.values[np.isfinite(grad.values)]
        if values.size:
            out["first_layer_grad_norm_median"] = float(np.median(values))
            out["zero_gradient_steps"] = int((values == 0).sum())
            out["recorded_steps"] = int(values.size)
    if update is not None and weight is not None and len(update) and len(weight):
        w = dict(zip(weight.steps.tolist(), weight.values.tolist()))
        ratios = [u / w[s] for s, u in zip(update.steps.tolist(), update.values.tolist())
                  if w.get(s) and math.isfinite(u)]
        if ratios:
            out["first_layer_update_to_weight_median"] = float(np.median(ratios))
    return out


STEPS = range(0, 100, 5)
# The norms He/Glorot give a 4-16-16-1 ReLU MLP's weights (std x sqrt(numel)).
_RIGHT = {"0.weight": (2 / 4) ** 0.5 * 8, "2.weight": (2 / 16) ** 0.5 * 16, "4.weight": 1.0}


def _scaled(scale: float, skips: bool = False) -> Scenario:
    """Every weight ``scale`` x He/Glorot. The gradient reaching each layer is scaled by the
    layers after it (``skips``: carried past them, as residual connections do, and every
    layer's output measured at one scale)."""
    after = {"0.weight": scale ** 2, "2.weight": scale, "4.weight": 1.0}
    ratio = {n: HEALTHY_GRAD_TO_WEIGHT * (1.0 if skips else a) for n, a in after.items()}
    act = {m: {"act_mean": 0.0, "act_std": 1.0} for m in ("0", "2", "4")} if skips else {}
    return Scenario(lambda run: run.mlp([4, 16, 16, 1]).steps(
        STEPS, weight_norm={n: scale * v for n, v in _RIGHT.items()}, grad_to_weight=ratio,
        act=act))


def _one_unit(weight_norm: float) -> Scenario:
    """A one-layer 1 -> 1 linear regression whose only weight entry is ``weight_norm``."""
    return Scenario(lambda run: run.mlp([1, 1]).steps(STEPS, weight_norm={"0.weight": weight_norm}))


SCENARIOS = {
    "positive_n_0_1e-3": Scenario(_scaled(1e-3).build, Severity.ERROR, first="0.weight"),
    "healthy": _scaled(1.0),
    "boundary_just_inside": _scaled(0.035),  # depth gain 0.035**2 = 1.2e-3 > 1/DEPTH_LIMIT
    "boundary_just_outside": Scenario(_scaled(0.03).build, Severity.WARNING),  # 9e-4
    "healthy_small_branches_with_skips": Scenario(
        _scaled(1e-3, skips=True).build,
        why="the weights predict a collapse, but the first layer's gradient is as large as the "
            "last's: it reaches the first layer past the small layers (residual skips)"),
    # one entry 18x below Glorot's std is a draw from it (P = 5%), not a scale: no finding;
    # the same entry 20x above it is no draw (P ~ 1e-88): the scale is wrong
    "healthy_one_entry_draw": Scenario(_one_unit(0.054).build, None,
                                       why="one entry is a draw of the init, not its scale"),
    "boundary_one_entry_too_large": Scenario(_one_unit(20.0).build, Severity.WARNING,
                                             first="0.weight"),
}
