"""Advice (``core.advice.Fix``) in Keras 3's words: layers built with the right arguments, or
changes made in place on the user's ``model``; code that runs as written. Imports no
TensorFlow (the diagnosis of a stored run needs no framework)."""

from __future__ import annotations

from typing import Any, Callable, Mapping

from ...core import advice as a
from ...core.advice import Phrase, lit

_INITIALIZERS = {"he": "he_normal", "xavier": "glorot_normal", "lecun": "lecun_normal"}
_CLASSES = {"he": "HeNormal", "xavier": "GlorotNormal", "lecun": "LecunNormal"}
_NAMES = {"he": "He", "xavier": "Xavier/Glorot", "lecun": "LeCun"}


def layer_name(layer: Mapping[str, Any]) -> str:
    """The layer's own name (the last part of its path), as ``model.get_layer`` wants it."""
    module = layer.get("module") or layer.get("param") or ""
    return str(module).rsplit("/", 1)[-1]


def build(layer: Mapping[str, Any], **kwargs: str) -> str | None:
    """The layer's constructor with ``kwargs`` added (Dense and ConvND), else None."""
    units = layer.get("units")
    extra = "".join(f", {k}={v}" for k, v in kwargs.items())
    kind, type_name = layer.get("kind"), str(layer.get("type") or "")
    if not units:
        return None
    if kind == "linear" and type_name in ("Dense", ""):
        return f"keras.layers.Dense({units}{extra})"
    if kind == "conv" and type_name.startswith("Conv") and layer.get("kernel_size"):
        size = tuple(layer["kernel_size"])
        return f"keras.layers.{type_name}({units}, {size}{extra})"
    return None


def _init_layer(args: Mapping[str, Any]) -> Phrase:
    layer, scheme, act = args["layer"], args.get("scheme", "he"), args.get("activation")
    why = ", since a ReLU follows" if scheme == "he" else (
        f" before {act}" if act in ("tanh", "sigmoid") else "")
    initializer = _INITIALIZERS.get(scheme, "glorot_normal")
    code = build(layer, kernel_initializer=f'"{initializer}"')
    if code is None:  # another layer type: re-draw its kernel in place
        code = (f'layer = model.get_layer("{layer_name(layer)}")\n'
                f"layer.kernel.assign(keras.initializers.{_CLASSES.get(scheme, 'GlorotNormal')}()"
                "(layer.kernel.shape))")
    return Phrase(f"{_NAMES.get(scheme, scheme)} init for {layer_name(layer)}{why}", code)


def _init_all(args: Mapping[str, Any]) -> Phrase:
    if args.get("activation") in ("tanh", "sigmoid"):
        return Phrase(
            "initialize every layer for the activation that follows it instead of a fixed std "
            "(Keras's default glorot_uniform suits tanh/sigmoid: keep it)",
            "for layer in model.layers:\n"
            "    if getattr(layer, \"kernel\", None) is not None:\n"
            "        layer.kernel.assign(keras.initializers.GlorotUniform()(layer.kernel.shape))")
    return Phrase(
        "initialize every layer for the activation that follows it instead of a fixed std "
        "(kernel_initializer=\"he_normal\" before ReLU; Keras's default glorot_uniform before "
        "tanh/sigmoid and at the output)",
        "for layer in model.layers[:-1]:\n"
        "    if getattr(layer, \"kernel\", None) is not None:\n"
        "        layer.kernel.assign(keras.initializers.HeNormal()(layer.kernel.shape))\n"
        "        if getattr(layer, \"bias\", None) is not None:\n"
        "            layer.bias.assign(keras.ops.zeros(layer.bias.shape))")


def _positive_bias(args: Mapping[str, Any]) -> Phrase:
    layer, value = args["layer"], lit(args.get("value", 0.1))
    code = build(layer, bias_initializer=f"keras.initializers.Constant({value})") or (
        f'model.get_layer("{layer_name(layer)}").bias.assign(keras.ops.full('
        f'model.get_layer("{layer_name(layer)}").bias.shape, {value}))')
    return Phrase("small positive bias so ReLUs start active", code)


def _lower_lr(args: Mapping[str, Any]) -> Phrase:
    new = args.get("new")
    return Phrase(a.GENERIC[a.LOWER_LR](args).text,
                  f"model.optimizer.learning_rate = {lit(new)}" if new else None)


def _raise_lr(args: Mapping[str, Any]) -> Phrase:
    new = args.get("new")
    return Phrase(a.GENERIC[a.RAISE_LR](args).text + " (Keras optimizers have one rate for "
                  "every variable)", f"model.optimizer.learning_rate = {lit(new)}" if new else None)


def _clip(args: Mapping[str, Any]) -> Phrase:
    text = "clip the global gradient norm in the optimizer"
    if args.get("recurrent"):
        text += " (recurrent nets multiply the same weights every time step: clip first)"
    return Phrase(text, f"optimizer = keras.optimizers.Adam(learning_rate=1e-3, "
                        f"global_clipnorm={lit(args.get('max_norm', 1.0))})")


def _simple(text: str, code: str | None = None) -> Callable[[Mapping[str, Any]], Phrase]:
    return lambda args: Phrase(text, code)


def _norm(args: Mapping[str, Any]) -> Phrase:
    layer = args.get("layer") or {}
    kind = "BatchNormalization" if layer.get("kind") == "conv" else "LayerNormalization"
    return Phrase("add normalization (or residual connections) between the layers, so the scale "
                  "is reset at each one", f"keras.layers.{kind}()")


PHRASES: dict[str, Callable[[Mapping[str, Any]], Phrase]] = {
    a.INIT_LAYER: _init_layer,
    a.INIT_ALL: _init_all,
    a.POSITIVE_BIAS: _positive_bias,
    a.KEEP_DEFAULT_INIT: _simple("or keep Keras's default glorot_uniform (do not pass "
                                 "kernel_initializer=RandomNormal(stddev=...))"),
    a.ADD_NORMALIZATION: _norm,
    a.USE_OPTIMIZER: lambda args: Phrase(
        "use an adaptive optimizer: it scales each update to the learning rate",
        f"optimizer = keras.optimizers.Adam(learning_rate={lit(args.get('lr', 1e-3))})"),
    a.LOWER_LR: _lower_lr,
    a.RAISE_LR: _raise_lr,
    a.CLIP_GRAD_NORM: _clip,
    a.USE_OUTPUT: lambda args: Phrase(
        f"use the layer's result: x = {layer_name(args['layer'])}(x), then pass x on (a "
        "layer called on a tensor nobody uses does not reach the loss)"),
    a.FIND_DETACH: _simple("look for `tf.stop_gradient`, `.numpy()`, or a computation done "
                           "outside the GradientTape between this layer and the loss"),
    a.FREEZE_EXPLICITLY: lambda args: Phrase(
        "if the layer is meant to be frozen, say so",
        f'model.get_layer("{layer_name(args["layer"])}").trainable = False'),
    a.OPTIMIZE_ALL: _simple("compile (or build the optimizer) after the whole model is built"),
    a.CHECK_INPUTS_FINITE: _simple("check the inputs and targets",
                                   'tf.debugging.check_numerics(tf.constant(x), "inputs")'),
    a.GUARD_NUMERICS: _simple(
        "guard log/sqrt/division with an epsilon (keras.ops.log(x + 1e-8)); numeric checks name "
        "the operation that produced the NaN", "tf.debugging.enable_check_numerics()"),
    a.CHECK_LR_SCHEDULE: _simple(
        "check the learning-rate schedule: one that increases (or a warm-up that overshoots) "
        "raises every step's size; print it at the step where it began",
        "print(float(model.optimizer.learning_rate))"),
    a.CHANGE_ACTIVATION: lambda args: Phrase(a.because(args,
        f"use {args.get('to', 'relu')} instead of {args.get('current', 'sigmoid')} in the "
        "hidden layers"), f'keras.layers.Activation("{args.get("to", "relu")}")'),
    a.LEAKY_ACTIVATION: _simple("use an activation that cannot die",
                                "keras.layers.LeakyReLU(negative_slope=0.01)"),
    a.DROP_BIAS: lambda args: Phrase("drop the bias of layers followed by batch norm",
                                     build(args["layer"], use_bias="False")),
    a.SATURATION_NORM: lambda args: Phrase(
        "add normalization before the activation to keep pre-activations near zero",
        "keras.layers.BatchNormalization()"),
    a.RESET_GRADIENTS: _simple("compute each step's gradients on their own (a new "
                               "tf.GradientTape per step) before applying them"),
    a.FLOAT32_WEIGHTS: lambda args: Phrase(
        a.GENERIC[a.FLOAT32_WEIGHTS](args).text + ": a mixed policy (not a plain "
        f"\"{args.get('dtype', 'bfloat16')}\" one), set before the model is built",
        f'keras.mixed_precision.set_global_policy("mixed_{args.get("dtype", "bfloat16")}")'),
    a.QK_NORM: lambda args: Phrase(
        a.GENERIC[a.QK_NORM](args).text + "; where the attention is computed",
        "def attention(q, k, v):  # q, k, v: (batch, time, heads, head_dim)\n"
        "    norm = lambda t: (t - keras.ops.mean(t, -1, keepdims=True)) / keras.ops.sqrt(\n"
        "        keras.ops.var(t, -1, keepdims=True) + 1e-5)\n"
        "    return keras.ops.dot_product_attention(norm(q), norm(k), v, is_causal=True)"),
    a.Z_LOSS: lambda args: Phrase(
        a.GENERIC[a.Z_LOSS](args).text + " (compile the model with this loss)",
        "def z_loss_crossentropy(y_true, logits):\n"
        "    ce = keras.losses.sparse_categorical_crossentropy(y_true, logits, "
        "from_logits=True)\n"
        f"    return ce + {lit(float(args.get('coef', 1e-4)))} * "
        "keras.ops.square(keras.ops.logsumexp(logits, axis=-1))"),
    a.WARMUP_LR: lambda args: Phrase(
        a.GENERIC[a.WARMUP_LR](args).text,
        "optimizer = keras.optimizers.AdamW(learning_rate=keras.optimizers.schedules.CosineDecay("
        f"0.0, decay_steps=100_000, warmup_target=1e-3, warmup_steps={int(args.get('steps', 1000))}"
        "))"),
    a.NORM_WEIGHT_DECAY: lambda args: Phrase(
        a.GENERIC[a.NORM_WEIGHT_DECAY](args).text + " (Keras's AdamW decays every variable "
        "unless told otherwise: do not exclude the gains)",
        f"optimizer = keras.optimizers.AdamW(learning_rate=1e-3, "
        f"weight_decay={lit(float(args.get('value', 0.1)))})"),
}
