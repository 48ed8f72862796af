"""Advice as data: what to change (``Fix(action, args)``), worded per framework by phrasebooks.

Detectors say *what* to change ("He init on this layer", "clip the global gradient norm at
1.0", "lower the learning rate from 0.1 to 0.01") with the numbers and names it needs; they
contain no framework code. A phrasebook turns each action into a ``Phrase``: a sentence and,
where code helps, code in the user's framework (PyTorch, Keras 3, TF1 graph code) that runs as
written. ``GENERIC`` words the actions no framework needs code for, and any action a
framework's phrasebook lacks.

A layer is named in ``args`` by a ``layer_ref`` (``detectors._common.layer_ref``): a dict with
the parameter or module name, the owning model's variable name, the layer's class, its shape
and fan-in/fan-out, from which each phrasebook writes its own reference (``model[0].weight``,
``model.get_layer("dense")``, ``tf.get_variable("W", ...)``).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

# The vocabulary (args in brackets):
INIT_LAYER = "init_layer"  # [layer, scheme: he|xavier|lecun, activation]
INIT_ALL = "init_all"  # [layer: an example, activation]: every layer for its activation
POSITIVE_BIAS = "positive_bias"  # [layer, value]
KEEP_DEFAULT_INIT = "keep_default_init"  # []
ADD_NORMALIZATION = "add_normalization"  # [layer?]: normalization (or residuals) between layers
USE_OPTIMIZER = "use_optimizer"  # [name: adam, lr]
LOWER_LR = "lower_lr"  # [factor, current?, new?]
RAISE_LR = "raise_lr"  # [factor, layer?, current?, new?]
CLIP_GRAD_NORM = "clip_grad_norm"  # [max_norm, recurrent?: bool]
USE_OUTPUT = "use_output"  # [layer]
FIND_DETACH = "find_detach"  # []
FREEZE_EXPLICITLY = "freeze_explicitly"  # [layer]
OPTIMIZE_ALL = "optimize_all"  # [layer]: create the optimizer from every parameter
ADD_PARAM_GROUP = "add_param_group"  # [layer]
POSITIVE_LR = "positive_lr"  # []
CHECK_INPUTS_FINITE = "check_inputs_finite"  # []
GUARD_NUMERICS = "guard_numerics"  # []: epsilons in log/sqrt/division, find the NaN's op
CHECK_LR_SCHEDULE = "check_lr_schedule"  # [step]
CHECK_DATA = "check_data"  # [step?]: the batches around a step
NORMALIZE_INPUTS = "normalize_inputs"  # []
CHANGE_ACTIVATION = "change_activation"  # [current: sigmoid|tanh, to: relu|gelu]
LEAKY_ACTIVATION = "leaky_activation"  # []
CHECK_NEGATIVE_BIAS = "check_negative_bias"  # [layer]
DROP_BIAS = "drop_bias"  # [layer]
CHECK_OTHER_FINDINGS = "check_other_findings"  # []
CHECK_LABELS = "check_labels"  # []
CHECK_OUTPUT_LAYER = "check_output_layer"  # [loss: the loss family]: output units vs the loss
SATURATION_NORM = "norm_before_activation"  # []: normalization before the activation
RESET_GRADIENTS = "reset_gradients"  # [accumulation?]: zero the gradients every step
# torch.distributed jobs
# [owner?, manual_backward?: bool (a Lightning module optimizing by hand)]: every training step
# through the DDP wrapper
DDP_FORWARD = "ddp_forward"
SAME_INIT = "same_init"  # []: replicas initialized alike on every rank
SYNC_BUFFERS = "sync_buffers"  # [batch_norm: bool]: buffers kept alike across ranks
ALL_REDUCE_GRADS = "all_reduce_grads"  # []: a hand-written job averages every gradient
# [stopped: bool, lightning?: bool]: DDP and parameters some steps leave unused
DDP_UNUSED = "ddp_unused"
QK_NORM = "qk_norm"  # [layers: attention module names]: LayerNorm on queries and keys
Z_LOSS = "z_loss"  # [coef]: add coef * log(Z)^2 of the output logits to the loss
WARMUP_LR = "warmup_lr"  # [steps, lr?]: ramp the learning rate up from near 0
NORM_WEIGHT_DECAY = "norm_weight_decay"  # [layers?: norm names, value]: decay the norms' gains
SEQUENCE_STEPS = "sequence_steps"  # []: sequences of more than one time step
FLOAT32_WEIGHTS = "float32_weights"  # [dtype, owner?]: float32 weights, low-precision compute


@dataclass(frozen=True)
class Fix:
    """One thing to change, as data.

    >>> Fix(LOWER_LR, {"factor": 10, "current": 0.1, "new": 0.01}).action
    'lower_lr'
    """

    action: str
    args: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.action, "args": dict(self.args)}


@dataclass(frozen=True)
class Phrase:
    """A fix in words, and code in the user's framework (None: nothing to type)."""

    text: str
    code: str | None = None

    def __str__(self) -> str:
        return f"{self.text}: {self.code}" if self.code else self.text


Phrasebook = Mapping[str, Callable[[Mapping[str, Any]], Phrase]]

# Where each api's phrasebook lives (``Session.api`` / the store's ``api`` meta): importing
# one imports no framework.
PHRASEBOOKS = {
    "torch": "gradsight.adapters.torch.phrasebook",
    "keras": "gradsight.adapters.keras.phrasebook",
    "tf1": "gradsight.adapters.tf1.phrasebook",
}


def fmt(x: Any) -> str:
    """A number in a sentence: 3 significant digits."""
    return f"{x:.3g}" if isinstance(x, float) else str(x)


def lit(x: Any) -> str:
    """A number in code: 3 significant digits, and a float stays a float (``1.0``)."""
    if not isinstance(x, float):
        return str(x)
    text = f"{x:.3g}"
    return text if any(c in text for c in ".einfa") else text + ".0"


def because(args: Mapping[str, Any], text: str) -> str:
    """``text``, led by the reason a detector gave (``args["why"]``), if any."""
    why = args.get("why")
    return f"{why}: {text}" if why else text


def _lr_span(args: Mapping[str, Any]) -> str:
    if args.get("current") and args.get("new"):
        return f" (from {fmt(args['current'])} to {fmt(args['new'])})"
    return ""


GENERIC: dict[str, Callable[[Mapping[str, Any]], Phrase]] = {
    INIT_LAYER: lambda a: Phrase(f"initialize {a['layer']['module'] or a['layer']['param']} for "
                                 f"the {a.get('activation') or 'linear'} activation that follows"),
    INIT_ALL: lambda a: Phrase("initialize every layer for the activation that follows it, not "
                               "with a fixed small std (N(0, 1e-3) shrinks the signal ~1000x "
                               "per layer)"),
    POSITIVE_BIAS: lambda a: Phrase(f"small positive bias ({fmt(a.get('value', 0.1))}) so ReLUs "
                                    "start active"),
    KEEP_DEFAULT_INIT: lambda a: Phrase("keep the framework's default initialization (do not "
                                        "re-draw weights from N(0, s))"),
    ADD_NORMALIZATION: lambda a: Phrase("add normalization or residual connections between the "
                                        "layers, so the scale is reset at each one"),
    USE_OPTIMIZER: lambda a: Phrase(f"use an adaptive optimizer ({a.get('name', 'adam')}, "
                                    f"lr {fmt(a.get('lr', 1e-3))}): it scales each update to "
                                    "the learning rate whatever the gradient's size"),
    LOWER_LR: lambda a: Phrase(f"lower the learning rate about {fmt(a.get('factor', 10))}x"
                               + _lr_span(a) + (f": {a['why']}" if a.get("why") else "")),
    RAISE_LR: lambda a: Phrase(f"raise the learning rate about {fmt(a.get('factor', 10))}x"
                               + _lr_span(a) + (f" and {a['why']}" if a.get("why") else "")),
    CLIP_GRAD_NORM: lambda a: Phrase(f"clip the global gradient norm at "
                                     f"{fmt(a.get('max_norm', 1.0))}"),
    USE_OUTPUT: lambda a: Phrase("use the layer's result: x = layer(x), not a bare layer(x) "
                                 "whose output is dropped"),
    FIND_DETACH: lambda a: Phrase("look for what cuts the gradient between this layer and the "
                                  "loss"),
    FREEZE_EXPLICITLY: lambda a: Phrase("if the layer is meant to be frozen, say so and leave it "
                                        "out of the optimizer"),
    OPTIMIZE_ALL: lambda a: Phrase("create the optimizer after the whole model is built, from "
                                   "all its parameters"),
    ADD_PARAM_GROUP: lambda a: Phrase("or add the missing parameters to the optimizer"),
    POSITIVE_LR: lambda a: Phrase("give its parameter group a positive learning rate; check "
                                  "schedulers that multiply it to 0"),
    CHECK_INPUTS_FINITE: lambda a: Phrase("check the inputs and targets for NaN/Inf"),
    GUARD_NUMERICS: lambda a: Phrase("guard log/sqrt/division with an epsilon, and let the "
                                     "framework name the operation that produced the NaN"),
    CHECK_LR_SCHEDULE: lambda a: Phrase("check the learning-rate schedule: one that increases "
                                        "(or a warm-up that overshoots) raises every step's "
                                        "size; print the learning rate at the step where it "
                                        "began"),
    CHECK_DATA: lambda a: Phrase("check the data around that step: a batch of huge or "
                                 "mislabeled targets shows as a jump"),
    NORMALIZE_INPUTS: lambda a: Phrase("normalize the inputs (zero mean, unit variance per "
                                       "feature): large inputs drive pre-activations far past "
                                       "the linear range", "x = (x - x.mean(0)) / (x.std(0) + 1e-8)"),
    CHANGE_ACTIVATION: lambda a: Phrase(because(a, f"use a {a.get('to', 'relu')} activation in "
                                                   "the hidden layers instead of "
                                                   f"{a.get('current', 'sigmoid')}")),
    LEAKY_ACTIVATION: lambda a: Phrase("use an activation that cannot die (LeakyReLU, GELU)"),
    CHECK_NEGATIVE_BIAS: lambda a: Phrase(
        f"check {a['layer'].get('bias') or a['layer']['param']} for a large negative bias: "
        "pre-activations below zero "
        "for every input keep the units at zero for good"),
    DROP_BIAS: lambda a: Phrase("drop the bias of layers followed by batch norm"),
    CHECK_OTHER_FINDINGS: lambda a: Phrase(a.get("why") or (
        "check the other findings first: a root cause (poor initialization, vanishing or "
        "missing gradients, stalled weights, dead units) keeps the loss flat")),
    CHECK_LABELS: lambda a: Phrase(
        "check the data and labels pipeline: shuffled labels, inputs not normalized, the loss "
        "computed on the wrong outputs, targets that do not depend on the inputs"),
    CHECK_OUTPUT_LAYER: lambda a: Phrase(
        "check that the output layer fits the loss: as many output units as classes; a "
        "softmax over one unit is always 1 (one unit wants a sigmoid and binary "
        "cross-entropy); no softmax/log-softmax before a loss that applies it again, and no "
        "ReLU on the scores it takes (a class clamped to 0 for every input gets no gradient "
        "again); outputs "
        "and targets of the same shape (a (N, 1) output against (N,) targets broadcasts to "
        "every pair)"),
    SATURATION_NORM: lambda a: Phrase("add normalization before the activation to keep "
                                      "pre-activations near zero"),
    RESET_GRADIENTS: lambda a: Phrase("reset the gradients once per optimizer step"),
    DDP_FORWARD: lambda a: Phrase(
        "run every training step's forward and backward through the data-parallel wrapper, "
        "not the raw model inside it: only the wrapper averages the gradients across ranks"
        + ("; a module that optimizes by hand under Lightning must call "
           "self.manual_backward(loss), not loss.backward()" if a.get("manual_backward") else "")),
    ALL_REDUCE_GRADS: lambda a: Phrase(
        "average every parameter's gradient across ranks before each optimizer step (or let "
        "the data-parallel wrapper do it): the hand-written average leaves them unsynchronized"),
    SAME_INIT: lambda a: Phrase(
        "initialize the replicas alike: the same seed on every rank (not seed + rank) before "
        "the model is built, and no re-initialization after it is wrapped"),
    SYNC_BUFFERS: lambda a: Phrase(
        "keep the model's buffers (batch-norm statistics) synchronized across ranks"),
    DDP_UNUSED: lambda a: Phrase(
        "a data-parallel job needs every parameter in every step's loss, or must be told "
        "which may be unused"),
    QK_NORM: lambda a: Phrase(
        "normalize each head's queries and keys (qk-layernorm)" + _in_layers(a) + ": with unit "
        "rms queries and keys a logit q.k/sqrt(d) stays below sqrt(d) whatever the weights "
        "grow to"),
    Z_LOSS: lambda a: Phrase(
        f"add a z-loss, {fmt(a.get('coef', 1e-4))} x log(Z)^2 of the output logits, to the "
        "loss: it holds the log-partition log Z near 0 at almost no cost to the loss"),
    WARMUP_LR: lambda a: Phrase(
        f"warm the learning rate up over the first {fmt(a.get('steps', 1000))} steps (from "
        "near 0): the early updates, taken before Adam's second moments are known, are the "
        "largest"),
    SEQUENCE_STEPS: lambda a: Phrase(
        "give the recurrent layer sequences of several time steps, shaped (batch, time, "
        "features): a window of values reshaped to one step of many features leaves the "
        "weights on the previous state unused (and the layer a plain dense one)"),
    FLOAT32_WEIGHTS: lambda a: Phrase(
        f"keep the weights in float32 and compute in {a.get('dtype', 'bfloat16')} under mixed "
        "precision (or an optimizer that keeps float32 master weights): each small update then "
        f"adds up in float32 instead of rounding away in {a.get('dtype', 'bfloat16')}"),
    NORM_WEIGHT_DECAY: lambda a: Phrase(
        f"apply weight decay ({fmt(a.get('value', 0.1))}) to the normalization layers' gains "
        "too" + _in_layers(a) + ": nothing else holds them back from growing"),
}


def _in_layers(args: Mapping[str, Any]) -> str:
    layers = list(args.get("layers") or [])
    if not layers:
        return ""
    more = f" (+{len(layers) - 3} more)" if len(layers) > 3 else ""
    return " in " + ", ".join(layers[:3]) + more


def phrasebook(api: str | None) -> Phrasebook:
    """The phrasebook of ``api`` ("torch", "keras", "tf1"); ``GENERIC`` for any other."""
    path = PHRASEBOOKS.get(str(api))
    if path is None:
        return GENERIC
    return importlib.import_module(path).PHRASES  # type: ignore[no-any-return]


def phrase(fix: Fix, api: str | None) -> Phrase:
    book = phrasebook(api)
    words = book.get(fix.action) or GENERIC.get(fix.action)
    if words is None:
        return Phrase(fix.action.replace("_", " "))
    return words(fix.args)
