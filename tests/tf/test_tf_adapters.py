"""The TensorFlow adapters record what the training did, and change nothing of it.

Oracles: each script computes, on the host in float64, the loss, gradient, weight and update
norms of every step itself; the store must hold the same numbers at the recorded steps (and
the loss at every step). Plain ``python`` and ``gradsight run`` must train identically.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np

from gradsight.core.run_view import RunView
from tests.conftest import run_gradsight
from tests.tf.conftest import TF_ENV, gradsight_run, python_run

KERAS_LOOP = """
import json, sys
import keras, numpy as np, tensorflow as tf

keras.utils.set_random_seed(0)
model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(8, activation="relu", name="h"),
                          keras.layers.Dense(1, name="o")], name="net")
unused = keras.layers.Dense(2, name="unused")
unused.build((None, 3))
variables = model.trainable_variables + unused.trainable_variables
opt = keras.optimizers.Adam(1e-2)
rng = np.random.default_rng(0)

@tf.function
def step(x, y):
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean((model(x, training=True) - y) ** 2)
    grads = tape.gradient(loss, variables)
    opt.apply_gradients(zip(grads, variables))
    return loss, [tf.zeros([0]) if g is None else g for g in grads]

log = []
for i in range(150):
    x = rng.standard_normal((32, 3)).astype("float32")
    y = x.sum(1, keepdims=True)
    before = [v.numpy().astype(np.float64) for v in variables]
    loss, grads = step(x, y)
    after = [v.numpy().astype(np.float64) for v in variables]
    hidden = np.maximum(x.astype(np.float64) @ before[0] + before[1], 0)  # layer h's output
    log.append({"loss": float(loss), "act": [hidden.mean(), hidden.std(), (hidden == 0).mean(),
                                             1.0 - (hidden > 0).any(0).mean()], "stats": {
        v.path: [float(np.linalg.norm(g.numpy().astype(np.float64))),
                 float(np.linalg.norm(a)), float(np.linalg.norm(a - b))]
        for v, g, b, a in zip(variables, grads, before, after)}})
json.dump(log, open(sys.argv[1], "w"))
"""

TF1_SCRIPT = """
import json, sys
import numpy as np
import tensorflow.compat.v1 as tf
tf.disable_v2_behavior()
tf.set_random_seed(0)
np.random.seed(0)
x = tf.placeholder(tf.float32, [None, 2], name="x")
W = tf.get_variable("W", [2, 4], initializer=tf.random_normal_initializer(0, 0.5))
b = tf.get_variable("b", [4], initializer=tf.zeros_initializer())
V = tf.get_variable("V", [4, 1], initializer=tf.random_normal_initializer(0, 0.5))
U = tf.get_variable("U", [3], initializer=tf.ones_initializer())  # not in the loss
R = tf.get_variable("R", [1], initializer=tf.ones_initializer())  # in it, past stop_gradient
h = tf.nn.tanh(tf.matmul(x, W) + b)
loss = tf.reduce_mean(tf.square(tf.matmul(h, V) - tf.reduce_sum(x, 1, keepdims=True)))
loss = loss + 0.0 * tf.reduce_sum(tf.stop_gradient(R))
opt = tf.train.MomentumOptimizer(0.05, 0.9)
gv = opt.compute_gradients(loss, [W, b, V, U, R])
train = opt.apply_gradients(gv)
log = []
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for i in range(130):
        before = sess.run([W, b, V, U, R])
        feed = {x: np.random.randn(16, 2)}
        grads = sess.run([g for g, _ in gv if g is not None], feed_dict=feed)
        _, value = sess.run([train, loss], feed_dict=feed)
        after = sess.run([W, b, V, U, R])
        names = ["W", "b", "V", "U", "R"]
        g_of = dict(zip(["W", "b", "V"], grads))
        log.append({"loss": float(value), "stats": {
            n: [float(np.linalg.norm(np.float64(g_of[n]))) if n in g_of else None,
                float(np.linalg.norm(np.float64(a))), float(np.linalg.norm(np.float64(a - bb)))]
            for n, bb, a in zip(names, before, after)}})
json.dump(log, open(sys.argv[1], "w"))
"""


def _check_store(folder: Path, log: list[dict]) -> RunView:
    view = RunView.open(folder)
    loss = view.loss
    np.testing.assert_array_equal(loss.steps, np.arange(len(log)))
    np.testing.assert_allclose(loss.values, [e["loss"] for e in log], rtol=1e-6)
    expected_steps = list(range(len(log)))  # the always-on tier: every step
    for i, metric in enumerate(("grad_norm", "weight_norm", "update_norm")):
        series = view.metric("param", metric)
        for name in log[0]["stats"]:
            want = [log[s]["stats"][name][i] for s in expected_steps]
            if metric == "grad_norm" and (want[0] is None or want[0] == 0.0):
                assert name not in series  # no gradient: no norm, has_grad 0
                continue
            got = series[name]
            assert list(got.steps) == expected_steps, (name, metric)
            np.testing.assert_allclose(got.values, want, rtol=1e-5, atol=1e-12,
                                       err_msg=f"{name} {metric}")
    return view


def test_keras_custom_tf_function_loop_matches_oracle_and_is_unchanged(tmp_path: Path) -> None:
    script = tmp_path / "loop.py"
    script.write_text(textwrap.dedent(KERAS_LOOP))
    python_run(script, str(tmp_path / "plain.json"))
    doc = gradsight_run(tmp_path, script, str(tmp_path / "watched.json"))
    plain = json.loads((tmp_path / "plain.json").read_text())
    watched = json.loads((tmp_path / "watched.json").read_text())
    assert watched == plain  # same losses, gradients and weights at every step
    view = _check_store(tmp_path / "run", watched)
    has_grad = view.metric("param", "has_grad")
    unused = [n for n in has_grad if n.startswith("unused")]
    assert len(unused) == 2 and all(not has_grad[n].values.any() for n in unused)
    assert all(has_grad[n].values.all() for n in has_grad if n not in unused)
    assert view.entity("param", "net/h/kernel").get("followed_by") == "relu"
    steps = [s for s in range(len(watched)) if s < 10 or s % 100 == 0]
    for i, metric in enumerate(("act_mean", "act_std", "act_zero_frac", "dead_frac")):
        series = view.metric("module", metric)["net/h"]
        assert list(series.steps) == steps
        np.testing.assert_allclose(series.values, [watched[s]["act"][i] for s in steps],
                                   rtol=1e-4, atol=1e-6, err_msg=metric)
    windows = view.metric("module", "dead_frac_window")["net/h"]
    assert list(windows.steps) == [4, 9]  # one per 5 recorded steps
    kinds = [(f["kind"], f["where"]) for f in doc["findings"] if f["severity"] != "info"]
    assert kinds == [("no_gradient", sorted(unused, key=lambda n: not n.endswith("kernel")))]
    assert doc["framework"] == "tensorflow" and doc["steps"] == 150


def test_tf1_session_run_matches_oracle_and_is_unchanged(tmp_path: Path) -> None:
    script = tmp_path / "tf1.py"
    script.write_text(textwrap.dedent(TF1_SCRIPT))
    python_run(script, str(tmp_path / "plain.json"))
    doc = gradsight_run(tmp_path, script, str(tmp_path / "watched.json"))
    plain = json.loads((tmp_path / "plain.json").read_text())
    watched = json.loads((tmp_path / "watched.json").read_text())
    assert watched == plain
    view = _check_store(tmp_path / "run", watched)
    assert view.entity("param", "W").get("followed_by") == "tanh"
    assert view.entity("param", "b").get("module") == view.entity("param", "W").get("module")
    assert view.entity("param", "U").get("reaches_loss") is False
    assert view.entity("param", "R").get("reaches_loss") is True
    missing = [f for f in doc["findings"] if f["kind"] == "no_gradient"]
    assert missing and missing[0]["where"] == ["U", "R"]
    assert missing[0]["evidence"]["reaches_loss"] == {"U": False, "R": True}
    assert doc["framework"] == "tensorflow" and doc["steps"] == 130


DEAD_RELU = """
import keras, numpy as np
keras.utils.set_random_seed(0)
dead = keras.initializers.Constant(-50.0)  # every unit starts (and stays) below zero
model = keras.Sequential([keras.Input((4,)),
                          keras.layers.Dense(16, activation="relu", name="alive"),
                          keras.layers.Dense(16, activation="relu", name="dead",
                                             bias_initializer=dead),
                          keras.layers.Dense(1, name="out")], name="net")
x = np.random.default_rng(0).standard_normal((32 * 40, 4)).astype("float32")
model.compile(optimizer="adam", loss="mse")
model.fit(x, x.sum(1), batch_size=32, verbose=0)
"""


def test_keras_fit_dead_relu_layer_is_found_and_healthy_one_is_not(
        tmp_path: Path) -> None:
    script = tmp_path / "dead.py"
    script.write_text(textwrap.dedent(DEAD_RELU))
    doc = gradsight_run(tmp_path, script)
    dead = [f for f in doc["findings"] if f["kind"] == "dead_units"]
    assert dead and dead[0]["severity"] == "error"
    assert "net/dead" in dead[0]["where"] and "net/dead/kernel" in dead[0]["where"]
    assert not any(name.startswith("net/alive") for name in dead[0]["where"])
    assert dead[0]["evidence"]["dead_fraction"] == {"net/dead": 1.0}
    assert doc["steps"] == 40


CALLBACK = """
import sys
import keras, numpy as np
from gradsight.keras import Callback

keras.utils.set_random_seed(0)
model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(8, activation="relu"),
                          keras.layers.Dense(1)])
unused = keras.layers.Dense(4)  # built, handed to nobody: not the model's, not watched
unused.build((None, 3))
model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
x = np.random.default_rng(0).standard_normal((32 * 20, 3)).astype("float32")
watcher = Callback(out=sys.argv[1])
model.fit(x, x.sum(1), batch_size=32, verbose=0, callbacks=[watcher])
print("steps", watcher.diagnosis.steps, "framework", watcher.diagnosis.framework)
print("kinds", sorted(f.kind for f in watcher.findings))
"""


def test_explicit_keras_callback_watches_fit(tmp_path: Path) -> None:
    script = tmp_path / "cb.py"
    script.write_text(textwrap.dedent(CALLBACK))
    out = python_run(script, str(tmp_path / "run"))
    assert "steps 20 framework tensorflow" in out
    assert "kinds []" in out
    view = RunView.open(tmp_path / "run")
    assert len(view.loss) == 20
    assert len(view.entities("param")) == 4 and (tmp_path / "run" / "findings.json").exists()


def test_tf1_flag_forces_graph_mode_where_detection_sees_no_tf1(tmp_path: Path) -> None:
    script = tmp_path / "mode.py"
    script.write_text("import tensorflow as tf\nprint('eager', tf.executing_eagerly())\n")
    assert "eager True" in gradsight_run(tmp_path, script, name="auto")["_stdout"]
    forced = run_forced(tmp_path, script)
    assert "eager False" in forced


def run_forced(tmp_path: Path, script: Path) -> str:
    proc = run_gradsight("run", "--tf1", "--out", str(tmp_path / "forced"), str(script),
                         env=TF_ENV)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout
