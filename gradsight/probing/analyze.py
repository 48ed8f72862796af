"""From a probe's per-layer profile to contract findings (no framework import here).

The judgement is measured, not guessed: a weight layer's *gain* (output std / input std) is
what it does to the signal's scale; a well-initialized layer has gain ~1 (~sqrt(2) before a
ReLU, whose output keeps half the second moment). The signal *explodes* when some layer's output
is 1000x the data's scale or non-finite, *collapses* when the last layer's is 1000x below it,
and the gradient collapses when the first layer's |grad|/|weight| is 1000x below the last's.
Because biases can hide a collapsed weight path (seed 000/001: every output ~1e-3, the bias
scale), the weights' std against He/Glorot (the ``poor_initialization`` detector's test) counts
too. Thresholds are the detector's, so a probe and a watched run agree.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Sequence

from ..core.finding import Finding, Severity
from ..core.run_view import Entity
from ..detectors._common import fmt, init_recipe
from ..detectors._common import ACTIVATION_GAINS
from ..detectors.poor_initialization import CROSSING, DEPTH_ERROR, DEPTH_LIMIT, NAMED_OFF
from ..detectors.poor_initialization import WEIGHT_OFF

if TYPE_CHECKING:
    from .layer_stats import LayerStats

INIT_NAMES = {"he": "He (Kaiming)", "xavier": "Xavier/Glorot", "lecun": "LeCun",
              "orthogonal": "orthogonal"}


def weight_layers(layers: Sequence["LayerStats"]) -> list["LayerStats"]:
    return [layer for layer in layers if layer.weight is not None]


def expected_gain(layer: "LayerStats") -> float:
    return ACTIVATION_GAINS.get(layer.followed_by or "", 1.0)


def relative_gain(layer: "LayerStats") -> float:
    """Measured gain over what a well-initialized layer gives (1 = as it should be)."""
    g = layer.gain
    return g / expected_gain(layer) if math.isfinite(g) else math.nan


def weight_scale(layer: "LayerStats") -> float:
    """Weight std over the He/Glorot std for its activation (the detector's ``scale``)."""
    if layer.weight_std is None or not layer.fan_in:
        return math.nan
    recommended = ACTIVATION_GAINS.get(layer.followed_by or "", 1.0) / math.sqrt(layer.fan_in)
    return layer.weight_std / recommended


def findings(layers: Sequence["LayerStats"], prediction: Sequence["LayerStats"] | None,
             loss: float | None = None, owner: str = "model") -> list[Finding]:
    """``nonfinite`` (first non-finite module first) and ``poor_initialization``."""
    out = []
    bad = _nonfinite(layers, loss)
    if bad is not None:
        out.append(bad)
    poor = _poor_initialization(layers, prediction, owner)
    if poor is not None:
        out.append(poor)
    return out


def _nonfinite(layers: Sequence["LayerStats"], loss: float | None) -> Finding | None:
    broken = [layer for layer in layers if layer.nonfinite]
    loss_bad = loss is not None and not math.isfinite(loss)
    if not broken and not loss_bad:
        return None
    where = [layer.name for layer in broken] or ["loss"]
    first = broken[0] if broken else None
    position = {layer.name: i for i, layer in enumerate(layers)}
    before = [layer for layer in layers if first is not None and layer.order < first.order]
    evidence: dict[str, Any] = {
        "first_nonfinite_module": first.name if first else None,
        "module_index": position.get(first.name) if first else None,
        "modules_nonfinite": len(broken),
        "last_finite_output_std": before[-1].out_std if before else None,
        "loss": loss,
    }
    summary = (f"non-finite values (NaN/Inf) at initialization, before any update: first "
               f"produced by {first.name} (module {position[first.name]} in forward order)"
               if first else "the loss is non-finite at initialization, before any update")
    fixes = ["re-initialize the weights for their activations (see poor_initialization)",
             "check the inputs: assert torch.isfinite(x).all()"]
    return Finding("nonfinite", Severity.ERROR, where, 0, summary, evidence, fixes)


def _poor_initialization(layers: Sequence["LayerStats"],
                         prediction: Sequence["LayerStats"] | None,
                         owner: str) -> Finding | None:
    weights = weight_layers(layers)
    if not weights:
        return None
    ref = weights[0].in_rms
    outs = [w.out_rms for w in weights]
    rel = [o / ref if ref and math.isfinite(ref) and ref > 0 else math.nan for o in outs]
    scales = [weight_scale(w) for w in weights]
    direction, severity, change = None, Severity.WARNING, math.nan
    crossing = _crossing(weights, rel)
    finite_rel = [r for r in rel if math.isfinite(r)]
    if any(not math.isfinite(o) for o in outs if not math.isnan(o)) or any(
            w.nonfinite for w in weights):
        direction, severity, change = "explodes", Severity.ERROR, math.inf
    elif finite_rel and max(finite_rel) >= CROSSING:
        direction, change = "explodes", max(finite_rel)
    elif len(weights) >= 2 and math.isfinite(rel[-1]) and rel[-1] <= 1 / CROSSING:
        direction, change = "collapses", rel[-1]
    grad_ratio = _grad_ratio(weights)
    depth_gain = math.prod(s for s in scales[1:] if math.isfinite(s)) if len(weights) >= 2 \
        else 1.0
    if direction is None and grad_ratio is not None and grad_ratio <= 1 / DEPTH_LIMIT:
        direction, change = "collapses", grad_ratio
    if direction is None and len(weights) >= 2:
        if depth_gain >= DEPTH_LIMIT and sum(s >= WEIGHT_OFF for s in scales) >= 2:
            direction, change = "explodes", depth_gain
        elif depth_gain <= 1 / DEPTH_LIMIT and sum(s <= 1 / WEIGHT_OFF for s in scales) >= 2:
            direction, change = "collapses", depth_gain
    lone = None
    if direction is None:  # one layer far off on its own (seed 003's 512x512 N(0, 1))
        lone = next((w for w in weights if math.isfinite(relative_gain(w)) and (
            relative_gain(w) >= WEIGHT_OFF or relative_gain(w) <= 1 / WEIGHT_OFF)), None)
        if lone is None:
            return None
        direction = "explodes" if relative_gain(lone) > 1 else "collapses"
        change = relative_gain(lone)
    elif math.isfinite(change) and abs(math.log10(max(change, 1e-300))) >= math.log10(DEPTH_ERROR):
        severity = Severity.ERROR
    up = direction == "explodes"
    first = lone or _first_bad(weights, scales, up)
    gains = [w.gain for w in weights if math.isfinite(w.gain)]
    evidence: dict[str, Any] = {
        "direction": direction,
        "first_bad_layer": first.name,
        "first_bad_layer_gain": first.gain,
        "weight_layers": len(weights),
        "gain_per_layer_median": _median(gains),
        "input_rms": ref,
        "output_rms": outs[-1],
        "scale_change": change,
        "crossing_layer": crossing,
        "grad_to_weight_first_over_last": grad_ratio,
        "weight_std": first.weight_std,
        "weight_std_vs_recommended": weight_scale(first),
        "recommended_init": {w.name: w.recommended for w in weights[:5]},
    }
    predicted = summarize_prediction(prediction)
    if predicted:
        evidence["predicted_with_recommended_init"] = predicted
    summary = _summary(direction, weights, first, crossing, predicted)
    fixes = init_recipe(_Names(owner), _entity(first)) + [loop_fix(weights)]
    where = list(first.params)
    if first.weight in where:  # the weight first: it is what to re-initialize
        where.remove(first.weight)
        where.insert(0, first.weight)
    return Finding("poor_initialization", severity, where, 0, summary, evidence, fixes)


def summarize_prediction(prediction: Sequence["LayerStats"] | None) -> dict[str, Any]:
    """What the measured copy with the recommended init shows: per-layer gain, output scale."""
    weights = weight_layers(prediction or [])
    if not weights:
        return {}
    gains = [w.gain for w in weights if math.isfinite(w.gain)]
    ref = weights[0].in_rms
    grad_ratio = _grad_ratio(weights)
    return {
        "gain_per_layer_median": _median(gains),
        "output_rms": weights[-1].out_rms,
        "output_rms_over_input": weights[-1].out_rms / ref if ref else None,
        "nonfinite": any(layer.nonfinite for layer in prediction or []),
        "grad_to_weight_first_over_last": grad_ratio,
        "inits": sorted({INIT_NAMES.get(w.recommended or "", "") for w in weights}),
    }


def loop_fix(weights: Sequence["LayerStats"]) -> str:
    """One loop initializing each layer for its activation, as code."""
    schemes = {w.recommended for w in weights}
    if schemes <= {"he"}:
        body = 'torch.nn.init.kaiming_normal_(m.weight, nonlinearity="relu")'
    elif schemes <= {"lecun"}:
        body = 'torch.nn.init.kaiming_normal_(m.weight, nonlinearity="linear")  # LeCun'
    elif schemes <= {"xavier"}:
        act = next((w.followed_by for w in weights if w.followed_by), None)
        gain = f', gain=torch.nn.init.calculate_gain("{act}")' if act else ""
        body = f"torch.nn.init.xavier_uniform_(m.weight{gain})"
    else:
        body = ("# He (kaiming_normal_) before a ReLU, xavier_uniform_ "
                "(with the activation's gain) "
                "elsewhere")
    return ("for m in model.modules():\n    if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d)):"
            f"\n        {body}\n        if m.bias is not None: torch.nn.init.zeros_(m.bias)")


def _summary(direction: str, weights: Sequence["LayerStats"], first: "LayerStats",
             crossing: str | None, predicted: dict[str, Any]) -> str:
    gains = [w.gain for w in weights if math.isfinite(w.gain)]
    text = (f"at initialization the signal {direction} through {len(weights)} weight layer(s): "
            f"median gain per layer {fmt(_median(gains) or math.nan)}, first bad layer "
            f"{first.name} (gain {fmt(first.gain)}, weight std {fmt(first.weight_std or 0)})")
    if crossing:
        text += f"; 1000x off the input scale (or non-finite) by {crossing}"
    if predicted:
        inits = "/".join(i for i in predicted["inits"] if i)
        text += (f"; with {inits} init the probe measures a median gain of "
                 f"{fmt(predicted['gain_per_layer_median'] or math.nan)} and output rms "
                 f"{fmt(predicted['output_rms'])}")
    return text


def _first_bad(weights: Sequence["LayerStats"], scales: list[float], up: bool) -> "LayerStats":
    for w, s in zip(weights, scales):
        r = relative_gain(w)
        off = (lambda x: x >= NAMED_OFF) if up else (lambda x: x <= 1 / NAMED_OFF)
        if (math.isfinite(r) and off(r)) or (math.isfinite(s) and off(s)):
            return w
    return weights[0]


def _crossing(weights: Sequence["LayerStats"], rel: list[float]) -> str | None:
    for w, r in zip(weights, rel):
        if w.nonfinite or (not math.isnan(r) and (not math.isfinite(r) or r >= CROSSING
                                                  or r <= 1 / CROSSING)):
            return w.name
    return None


def _grad_ratio(weights: Sequence["LayerStats"]) -> float | None:
    """First weight layer's |grad|/|weight| over the last one's: < 1e-3 is a vanishing path."""
    ratios = [w.grad_to_weight for w in weights]
    if len(weights) < 2 or ratios[0] is None or ratios[-1] is None:
        return None
    if not (math.isfinite(ratios[0]) and math.isfinite(ratios[-1])) or ratios[-1] <= 0:
        return None
    return ratios[0] / ratios[-1]


def _median(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


class _Names:
    """The little of a ``RunView`` that ``init_recipe`` reads: the model's variable name."""

    def __init__(self, owner: str) -> None:
        self.owner = owner

    def entity(self, role: str, name: str) -> Entity:
        return Entity(role, name, 0, {"owner": self.owner})


def _entity(layer: "LayerStats") -> Entity:
    return Entity("param", layer.weight or layer.name, 0,
                  {"module": layer.name, "followed_by": layer.followed_by})
