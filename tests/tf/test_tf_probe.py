"""``gradsight.probe`` on Keras 3 models: seed 003's numbers, checked against plain TensorFlow
computations in the test (the oracle), and a model left exactly as it was."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

pytest.importorskip("tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

import gradsight  # noqa: E402


def deep_stack(scale: float, seed: int, depth: int = 100, width: int = 100,
               initializer: object | None = None) -> keras.Sequential:
    """Seed 003: ``depth`` bias-free Dense(width) layers, kernels N(0, scale)."""
    keras.utils.set_random_seed(seed)
    init = initializer or keras.initializers.RandomNormal(stddev=scale)
    return keras.Sequential([keras.Input((width,))] + [
        keras.layers.Dense(width, use_bias=False, kernel_initializer=init)
        for _ in range(depth)])


def unit_normal(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def oracle_outputs(model: keras.Sequential, x: np.ndarray) -> list[np.ndarray]:
    """The seed's own loop: h = h @ W, layer after layer, in float32 TensorFlow."""
    outs, h = [], tf.constant(x)
    for layer in model.layers:
        h = tf.matmul(h, layer.kernel)
        outs.append(h.numpy())
    return outs


def pstd(a: np.ndarray) -> float:
    return float(np.asarray(a, dtype=np.float64).std())


@pytest.mark.parametrize("seed", [0, 1])
def test_seed_003_unit_normal_stack_overflows_in_the_late_thirties(seed: int) -> None:
    model = deep_stack(1.0, seed)
    x = unit_normal((1, 100), seed)
    outs = oracle_outputs(model, x)
    first_bad = next(i for i, o in enumerate(outs) if not np.isfinite(o).all())
    assert first_bad in (36, 37, 38, 39)  # the seed measured 37; float32 overflow

    result = gradsight.probe(model, x, loss_fn=lambda out: tf.reduce_mean(out ** 2))
    assert [f.kind for f in result.findings] == ["nonfinite", "poor_initialization"]
    nonfinite, poor = result.findings
    name = model.layers[first_bad].name
    assert nonfinite.where[0] == name and result.first_nonfinite == name
    assert nonfinite.evidence["module_index"] == first_bad
    first = model.layers[0].name
    assert poor.where[0] == f"{first}/kernel" and poor.evidence["direction"] == "explodes"
    assert poor.severity.value == "error" and poor.evidence["first_bad_layer"] == first
    assert 8.5 < poor.evidence["gain_per_layer_median"] < 11.5  # ~sqrt(100) per layer
    for i in range(first_bad):
        assert result.layers[i].out_std == pytest.approx(pstd(outs[i]), rel=1e-5)
    predicted = poor.evidence["predicted_with_recommended_init"]
    assert 0.8 < predicted["gain_per_layer_median"] < 1.2 and predicted["nonfinite"] is False
    assert all(layer.recommended == "xavier" for layer in result.layers)
    assert all("torch" not in fix for f in result.findings for fix in f.fixes)


def test_seed_003_small_weights_collapse() -> None:
    model = deep_stack(0.05, 0)
    x = unit_normal((16, 100))
    outs = oracle_outputs(model, x)
    result = gradsight.probe(model, x)
    assert [f.kind for f in result.findings] == ["poor_initialization"]
    poor = result.findings[0]
    first = model.layers[0].name
    assert poor.evidence["direction"] == "collapses" and poor.where[0] == f"{first}/kernel"
    assert result.layers[-1].out_std == pytest.approx(pstd(outs[-1]), rel=1e-4)
    assert result.layers[-1].out_std < 1e-25  # ~0.5 ** 100
    assert 0.4 < poor.evidence["gain_per_layer_median"] < 0.6


def single_dense(width: int, stddev: float, activation: str | None = None) -> keras.Sequential:
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((width,)), keras.layers.Dense(
        width, use_bias=False, activation=activation,
        kernel_initializer=keras.initializers.RandomNormal(stddev=stddev))])


def test_seed_003_single_layers_match_the_seed() -> None:
    x = unit_normal((64, 512))
    wide = gradsight.probe(single_dense(512, 1.0), x)
    assert wide.layers[0].out_std == pytest.approx(math.sqrt(512), rel=0.1)  # seed: 22.6
    assert wide.layers[0].fan_in == 512 and wide.layers[0].weight_std == pytest.approx(1, 0.02)
    assert [f.kind for f in wide.findings] == ["poor_initialization"]
    scaled = gradsight.probe(single_dense(512, math.sqrt(1 / 512)), x)
    assert scaled.layers[0].out_std == pytest.approx(1.0, rel=0.1)  # seed: 0.998
    assert not scaled.findings

    tanh_model = single_dense(512, math.sqrt(1 / 512), "tanh")
    result = gradsight.probe(tanh_model, x)
    dense, act = result.layers  # the activation inside Dense becomes its own row
    assert dense.followed_by == "tanh" and act.activation == "tanh"
    oracle = np.tanh(x @ np.asarray(tanh_model.layers[0].kernel))
    assert act.out_std == pytest.approx(pstd(oracle), rel=1e-4)
    assert act.out_std == pytest.approx(0.63, rel=0.1)  # seed: 0.627
    assert dense.out_std == pytest.approx(1.0, rel=0.1)  # pre-activation
    assert act.saturated_frac is not None and 0 < act.saturated_frac < 0.2


def test_glorot_stack_is_healthy() -> None:
    model = deep_stack(0.0, 0, depth=30, initializer=keras.initializers.GlorotNormal())
    result = gradsight.probe(model, unit_normal((16, 100)))
    assert [f for f in result.findings if f.severity.value in ("error", "warning")] == []
    assert not any(layer.nonfinite for layer in result.layers)


def test_relu_layers_are_measured_before_their_activation_and_predict_he() -> None:
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((64,))] + [
        keras.layers.Dense(64, activation="relu",
                           kernel_initializer=keras.initializers.RandomNormal(stddev=0.01))
        for _ in range(10)])
    result = gradsight.probe(model, unit_normal((32, 64)))
    weights = [layer for layer in result.layers if layer.weight is not None]
    assert len(weights) == 10 and all(w.followed_by == "relu" for w in weights)
    assert all(w.recommended == "he" for w in weights)
    relus = [layer for layer in result.layers if layer.activation == "relu"]
    assert len(relus) == 10 and all(r.dead_frac is not None for r in relus)
    poor = next(f for f in result.findings if f.kind == "poor_initialization")
    assert poor.evidence["direction"] == "collapses"
    assert any("he_normal" in fix for fix in poor.fixes)
    predicted = poor.evidence["predicted_with_recommended_init"]
    assert 0.1 < predicted["output_rms_over_input"] < 10


def test_probe_leaves_the_model_unchanged() -> None:
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.BatchNormalization(), keras.layers.Dropout(0.5),
                              keras.layers.Dense(4, activation="tanh")])
    before = [w.copy() for w in model.get_weights()]
    activations = [getattr(layer, "activation", None) for layer in model.layers]
    result = gradsight.probe(model, unit_normal((8, 8)),
                             loss_fn=lambda out: tf.reduce_mean(out ** 2))
    after = model.get_weights()
    assert len(before) == len(after)
    assert all(np.array_equal(a, b) for a, b in zip(before, after))
    assert [getattr(layer, "activation", None) for layer in model.layers] == activations
    assert result.loss is not None and math.isfinite(result.loss)
    assert all(layer.out_grad_std is not None for layer in result.layers)


def test_functional_graph_and_chain() -> None:
    keras.utils.set_random_seed(0)
    inp = keras.Input((5,))
    a = keras.layers.Dense(6, activation="relu", name="a")(inp)
    b = keras.layers.Dense(6, name="b")(inp)
    out = keras.layers.Dense(1, name="out")(keras.layers.Add(name="add")([a, b]))
    x = unit_normal((4, 5))
    result = gradsight.probe(keras.Model(inp, out), x)
    assert [layer.name for layer in result.layers] == ["a", "b", "add", "out"]
    assert result.layer("a").followed_by == "relu" and result.layer("b").weight == "b/kernel"
    oracle = keras.Model(inp, out)(x).numpy()
    assert result.layer("out").out_std == pytest.approx(pstd(oracle), rel=1e-5)


def test_keras_probe_needs_no_torch_and_says_tensorflow() -> None:
    """A TensorFlow-only user probes a Keras model: torch is never imported, and the findings
    document names the framework as the contract does."""
    import subprocess
    import sys

    code = (
        "import sys, numpy as np, keras, gradsight\n"
        "model = keras.Sequential([keras.Input((32,))] + [keras.layers.Dense(32, use_bias=False,"
        " kernel_initializer=keras.initializers.RandomNormal(stddev=1.0)) for _ in range(6)])\n"
        "result = gradsight.probe(model, np.random.default_rng(0).normal(size=(16, 32))"
        ".astype('float32'))\n"
        "doc = result.document()\n"
        "print(doc['framework'], [f['kind'] for f in doc['findings']], 'torch' in sys.modules)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    framework, rest = proc.stdout.strip().splitlines()[-1].split(" ", 1)
    assert framework == "tensorflow"
    assert "poor_initialization" in rest and rest.endswith("False")
