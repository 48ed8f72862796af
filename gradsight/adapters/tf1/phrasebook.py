"""Advice (``core.advice.Fix``) in the words of TF1 graph code (``tf`` is
``tensorflow.compat.v1``): variables made with the right initializer, optimizers with the right
rate; code that runs as written in the script's graph. Imports no TensorFlow."""

from __future__ import annotations

from typing import Any, Callable, Mapping

from ...core import advice as a
from ...core.advice import Phrase, lit

_INITIALIZERS = {"he": "tf.initializers.he_normal()", "xavier": "tf.initializers.glorot_normal()",
                 "lecun": "tf.initializers.lecun_normal()"}
_NAMES = {"he": "He", "xavier": "Xavier/Glorot", "lecun": "LeCun"}


def variable(name: str | None, shape: Any, initializer: str) -> str:
    shape = list(shape or [])
    return f'tf.get_variable("{name}", shape={shape}, initializer={initializer})'


def _init_layer(args: Mapping[str, Any]) -> Phrase:
    layer, scheme = args["layer"], args.get("scheme", "he")
    why = ", since a ReLU follows" if scheme == "he" else ""
    return Phrase(f"{_NAMES.get(scheme, scheme)} init{why}",
                  variable(layer.get("param"), layer.get("shape"),
                           _INITIALIZERS.get(scheme, _INITIALIZERS["xavier"])))


def _positive_bias(args: Mapping[str, Any]) -> Phrase:
    layer = args["layer"]
    name = layer.get("bias") or f"{layer.get('param')}_bias"
    shape = layer.get("bias_shape") or [layer.get("units") or 1]
    return Phrase("small positive bias so ReLUs start active",
                  variable(name, shape, f"tf.constant_initializer({lit(args.get('value', 0.1))})"))


def _optimizer(lr: Any, kind: str = "GradientDescentOptimizer") -> str:
    return f"optimizer = tf.train.{kind}(learning_rate={lit(lr)})"


# (tf.layers.batch_normalization needs Keras 2; the ops themselves work in every TF1 graph)
_BATCH_NORM = ("mean, variance = tf.nn.moments(h, axes=[0])\n"
               "h = tf.nn.batch_normalization(h, mean, variance, offset=None, scale=None, "
               "variance_epsilon=1e-5)")


def _simple(text: str, code: str | None = None) -> Callable[[Mapping[str, Any]], Phrase]:
    return lambda args: Phrase(text, code)


PHRASES: dict[str, Callable[[Mapping[str, Any]], Phrase]] = {
    a.INIT_LAYER: _init_layer,
    a.INIT_ALL: lambda args: Phrase(
        "create every weight with the initializer for the activation that follows it instead of "
        "tf.random_normal(..., stddev=s): he_normal before a ReLU, glorot_normal before "
        "tanh/sigmoid and at the output",
        variable(args["layer"]["param"], args["layer"].get("shape"), _INITIALIZERS["he"])
        if (args.get("layer") or {}).get("param") else None),
    a.POSITIVE_BIAS: _positive_bias,
    a.KEEP_DEFAULT_INIT: _simple("or let tf.get_variable use its default glorot_uniform "
                                 "initializer instead of a fixed-std normal"),
    a.ADD_NORMALIZATION: _simple(
        "add batch normalization (or residual connections) between the layers, so the scale "
        "is reset at each one", _BATCH_NORM),
    a.USE_OPTIMIZER: lambda args: Phrase(
        "use an adaptive optimizer: it scales each update to the learning rate",
        _optimizer(args.get("lr", 1e-3), "AdamOptimizer")),
    a.LOWER_LR: lambda args: Phrase(a.GENERIC[a.LOWER_LR](args).text,
                                    _optimizer(args["new"]) if args.get("new") else None),
    a.RAISE_LR: lambda args: Phrase(a.GENERIC[a.RAISE_LR](args).text,
                                    _optimizer(args["new"]) if args.get("new") else None),
    a.CLIP_GRAD_NORM: lambda args: Phrase(
        "clip the global gradient norm between compute_gradients and apply_gradients",
        "grads, variables = zip(*optimizer.compute_gradients(loss))\n"
        f"grads, _ = tf.clip_by_global_norm(grads, {lit(args.get('max_norm', 1.0))})\n"
        "train_op = optimizer.apply_gradients(zip(grads, variables))"),
    a.FIND_DETACH: _simple("look for tf.stop_gradient, argmax, rounding or integer casts "
                           "between this variable and the loss: no gradient flows through them"),
    a.FREEZE_EXPLICITLY: lambda args: Phrase(
        "if the variable is meant to be frozen, create it with trainable=False",
        f'tf.get_variable("{args["layer"].get("param")}_frozen", '
        f'shape={list(args["layer"].get("shape") or [])}, trainable=False)'),
    a.OPTIMIZE_ALL: _simple("build the train op after every variable exists, or pass them "
                            "all: optimizer.minimize(loss, var_list=tf.trainable_variables())"),
    a.CHECK_INPUTS_FINITE: _simple("check the inputs and targets",
                                   'x = tf.debugging.check_numerics(x, "inputs")'),
    a.GUARD_NUMERICS: _simple("guard log/sqrt/division with an epsilon (tf.log(x + 1e-8)); "
                              "check ops name the operation that produced the NaN",
                              "check = tf.add_check_numerics_ops()"),
    a.NORMALIZE_INPUTS: _simple(
        "normalize the inputs before they are fed (zero mean, unit variance per feature): large "
        "inputs drive pre-activations far past the linear range",
        "x_train = (x_train - x_train.mean(0)) / (x_train.std(0) + 1e-8)"),
    a.CHANGE_ACTIVATION: lambda args: Phrase(a.because(args,
        f"use {args.get('to', 'relu')} instead of {args.get('current', 'sigmoid')} in the "
        "hidden layers"), "h = tf.nn.relu(h)"),
    a.LEAKY_ACTIVATION: _simple("use an activation that cannot die",
                                "h = tf.nn.leaky_relu(h, alpha=0.01)"),
    a.DROP_BIAS: _simple("drop the bias variable added before a batch norm: the norm "
                         "subtracts the batch mean, which cancels it"),
    a.SATURATION_NORM: _simple("add batch normalization before the activation", _BATCH_NORM),
    a.RESET_GRADIENTS: _simple("apply each step's own gradients (accumulators must be reset "
                               "with an assign op after apply_gradients)"),
    a.QK_NORM: lambda args: Phrase(
        a.GENERIC[a.QK_NORM](args).text + "; apply it to q and k before their product",
        "def qk_norm(t):  # t: queries or keys, head_dim last\n"
        "    mean, variance = tf.nn.moments(t, axes=[-1], keep_dims=True)\n"
        "    return (t - mean) * tf.rsqrt(variance + 1e-5)"),
    a.Z_LOSS: lambda args: Phrase(
        a.GENERIC[a.Z_LOSS](args).text + " (loss = loss + z_loss(logits))",
        f"def z_loss(logits, coef={lit(float(args.get('coef', 1e-4)))}):\n"
        "    return coef * tf.reduce_mean(tf.square(tf.reduce_logsumexp(logits, axis=-1)))"),
    a.WARMUP_LR: lambda args: Phrase(
        a.GENERIC[a.WARMUP_LR](args).text,
        "global_step = tf.train.get_or_create_global_step()\n"
        "learning_rate = 1e-3 * tf.minimum(1.0, tf.cast(global_step + 1, tf.float32) / "
        f"{lit(float(args.get('steps', 1000)))})\n"
        "optimizer = tf.train.AdamOptimizer(learning_rate)"),
    a.NORM_WEIGHT_DECAY: lambda args: Phrase(
        a.GENERIC[a.NORM_WEIGHT_DECAY](args).text + " (loss = loss + decay)",
        f"decay = {lit(float(args.get('value', 0.1)))} * tf.add_n([tf.nn.l2_loss(v) for v in "
        'tf.trainable_variables() if "gamma" in v.name] + [tf.constant(0.0)])'),
}
