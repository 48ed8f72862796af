"""A Keras user is told Keras: every fix of a Keras run is worded in Keras, never in PyTorch."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("tensorflow")

DEAD = """
import numpy as np, keras
keras.utils.set_random_seed(0)
x = np.random.default_rng(0).standard_normal((512, 8)).astype("float32")
y = (x.sum(1, keepdims=True) > 0).astype("float32")
model = keras.Sequential([
    keras.Input((8,)),
    keras.layers.Dense(32, activation="relu", bias_initializer=keras.initializers.Constant(-20.0)),
    keras.layers.Dense(1, activation="sigmoid")])
model.compile(optimizer=keras.optimizers.SGD(0.01), loss="binary_crossentropy")
model.fit(x, y, batch_size=32, epochs=6, verbose=0)
"""


def test_keras_run_with_dead_relus_gets_keras_code(tmp_path: Path) -> None:
    script = tmp_path / "dead.py"
    script.write_text(textwrap.dedent(DEAD))
    proc = subprocess.run([sys.executable, "-m", "gradsight", "run", "--out", str(tmp_path / "run"),
                           "--json", str(tmp_path / "f.json"), str(script)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    doc = json.loads((tmp_path / "f.json").read_text())
    dead = [f for f in doc["findings"] if f["kind"] == "dead_units"]
    assert dead and dead[0]["severity"] == "error", doc["findings"]
    assert dead[0]["where"][0].endswith("dense/kernel")
    fixes = [fix for f in doc["findings"] for fix in f["fixes"]]
    assert fixes and not any("torch" in fix for fix in fixes), fixes
    assert any("keras.layers.Dense(32" in fix and "bias_initializer" in fix
               for fix in dead[0]["fixes"]), dead[0]["fixes"]
    assert any("keras.layers.LeakyReLU" in fix for fix in dead[0]["fixes"])
