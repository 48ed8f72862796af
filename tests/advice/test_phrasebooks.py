"""Every fix a user sees is valid code for their framework: each phrase's code runs as written
against a real model of PyTorch, Keras 3 and TF1 graph code, each in a process of its own (the
code changes global state as a user's script would: anomaly detection, TF1 mode)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from gradsight.core import advice
from tests.advice.examples import actions, examples

ROOT = Path(__file__).resolve().parents[2]


def test_every_action_has_examples_and_generic_words() -> None:
    ex = examples({"param": "w"})
    assert set(ex) == set(actions())
    for name in actions():
        assert advice.GENERIC[name]  # a framework without the action still says something


def test_phrasebooks_import_no_framework() -> None:
    code = ("import sys\nfrom gradsight.core.advice import phrasebook\n"
            "for api in ('torch', 'keras', 'tf1'): phrasebook(api)\n"
            "print(sorted(m for m in ('torch', 'tensorflow', 'keras') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"


TORCH = r"""
import json, sys
import torch
import gradsight
from gradsight.core.advice import Fix, phrase
from gradsight.core.run_view import RunView
from gradsight.detectors._common import layer_ref
from tests.advice.examples import examples

torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 16),
                            torch.nn.ReLU(), torch.nn.Linear(16, 1))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
x = torch.randn(8, 4)
with gradsight.watch(model, optimizer, out=sys.argv[1]):
    for _ in range(3):
        loss = model(x).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
view = RunView.open(sys.argv[1])
ref = layer_ref(view, view.entity("param", "2.weight"))
view.close()
# a one-process gloo group, so that the torch.distributed advice runs as it would in a job
torch.distributed.init_process_group("gloo", init_method="file://" + sys.argv[1] + ".pg",
                                     rank=0, world_size=1)
ran = []
for action, cases in examples(ref).items():
    for args in cases:
        words = phrase(Fix(action, args), "torch")
        assert words.text, action
        if words.code:
            # an optimizer that holds the first layer only: what not_optimized advises on
            partial = torch.optim.SGD(model[0].parameters(), lr=0.1)
            exec(words.code, {"torch": torch, "model": model, "optimizer": partial, "x": x,
                              "loss": model(x).pow(2).mean()})
            ran.append(action)
torch.distributed.destroy_process_group()
print(json.dumps({"ref": ref, "ran": ran}))
"""


def test_torch_phrases_run_against_a_real_model(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    out = _run(TORCH, str(tmp_path / "run"), needs="torch")
    assert out["ref"]["units"] == 16 and out["ref"]["inputs"] == 16
    assert out["ref"]["bias"] == "2.bias"
    assert len(out["ran"]) >= 15 and advice.RAISE_LR in out["ran"]


KERAS = r"""
import json, sys
import numpy as np
import keras, tensorflow as tf
import gradsight
from gradsight.core.advice import Fix, phrase
from gradsight.core.run_view import RunView
from gradsight.detectors._common import layer_ref
from tests.advice.examples import examples

keras.utils.set_random_seed(0)
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(16, activation="relu"),
                          keras.layers.Dense(16, activation="relu"), keras.layers.Dense(1)])
model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
x = np.random.default_rng(0).standard_normal((32, 4)).astype("float32")
with gradsight.watch(model, out=sys.argv[1]):
    model.fit(x, x[:, :1], batch_size=8, epochs=1, verbose=0)
view = RunView.open(sys.argv[1])
name = [p.name for p in view.entities("param") if p.name.endswith("dense_1/kernel")][0]
ref = layer_ref(view, view.entity("param", name))
view.close()
ran = []
for action, cases in examples(ref).items():
    for args in cases:
        words = phrase(Fix(action, args), "keras")
        if words.code:
            exec(words.code, {"keras": keras, "tf": tf, "np": np, "model": model, "x": x})
            ran.append(action)
print(json.dumps({"ref": ref, "ran": ran}))
"""

TF1 = r"""
import json, sys
import numpy as np
import tensorflow as tf1_real
tf = tf1_real.compat.v1
tf.disable_v2_behavior()
from gradsight.core.advice import Fix, phrase
from tests.advice.examples import examples

ref = {"param": "W", "bias": "b", "module": "Relu", "owner": None, "type": "MatMul",
       "kind": "linear", "shape": [4, 16], "units": 16, "inputs": 4, "kernel_size": None,
       "bias_shape": [16]}
ran = []
for action, cases in examples(ref, owner=None).items():
    for args in cases:
        words = phrase(Fix(action, args), "tf1")
        if not words.code:
            continue
        with tf.Graph().as_default():
            x = tf.placeholder(tf.float32, [None, 4])
            W = tf.get_variable("W0", [4, 16])
            h = tf.nn.relu(tf.matmul(x, W))
            loss = tf.reduce_mean(tf.square(h))
            optimizer = tf.train.GradientDescentOptimizer(0.1)
            exec(words.code, {"tf": tf, "np": np, "x": x, "h": h, "loss": loss,
                              "optimizer": optimizer, "x_train": np.ones((8, 4))})
        ran.append(action)
print(json.dumps({"ran": ran}))
"""


def _run(script: str, *args: str, needs: str = "tensorflow") -> dict:
    pytest.importorskip(needs)
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(script), *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_keras_phrases_run_against_a_real_model(tmp_path: Path) -> None:
    out = _run(KERAS, str(tmp_path / "run"))
    assert out["ref"]["units"] == 16 and out["ref"]["inputs"] == 16
    assert len(out["ran"]) >= 15 and advice.INIT_LAYER in out["ran"]


def test_tf1_phrases_run_in_a_real_graph() -> None:
    out = _run(TF1)
    assert len(out["ran"]) >= 12 and advice.CLIP_GRAD_NORM in out["ran"]
