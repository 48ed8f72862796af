"""Keras under a plain "bfloat16" dtype policy keeps its variables in bfloat16: a
LayerNormalization's gains (at 1, where bfloat16 numbers are 2^-7 apart) never move under
Adam's ~1e-4 steps. gradsight records each variable's dtype, says the updates round away and
advises a mixed policy in Keras' words; under "mixed_bfloat16" (float32 variables, bfloat16
math) the gains train and nothing is said. Real training; the gains measured by the script."""

from __future__ import annotations

import pytest

from gradsight.core.run_view import RunView
from tests.tf.conftest import logged_run, problems

SCRIPT = """
import json, sys
import keras, numpy as np

keras.utils.set_random_seed(0)
keras.config.set_dtype_policy(sys.argv[1])
rng = np.random.default_rng(0)
x = rng.normal(size=(512, 32)).astype("float32")
y = (x[:, :4].sum(1) > 0).astype("int64")
norm = keras.layers.LayerNormalization()
model = keras.Sequential([keras.Input((32,)), keras.layers.Dense(64), norm,
                          keras.layers.Activation("gelu"), keras.layers.Dense(2)])
model.compile(optimizer=keras.optimizers.Adam(1e-4),
              loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
model.fit(x, y, epochs=12, batch_size=64, verbose=0)
gamma = np.asarray(keras.ops.convert_to_numpy(keras.ops.cast(norm.gamma.value, "float32")))
json.dump({"moved": float(np.abs(gamma - 1).max()), "dtype": str(norm.gamma.dtype)},
          open(sys.argv[2], "w"))
"""


def _dtypes(folder) -> set[str]:  # type: ignore[no-untyped-def]
    view = RunView.open(folder)
    try:
        return {e.get("dtype") for e in view.entities("param")}
    finally:
        view.close()


def test_bfloat16_variables_whose_updates_round_away(tmp_path) -> None:
    doc, log = logged_run(tmp_path, SCRIPT, "bfloat16")
    assert log["moved"] == 0.0 and log["dtype"] == "bfloat16"  # the case, measured
    assert _dtypes(tmp_path / "run") == {"bfloat16"}
    (finding,) = [f for f in doc["findings"] if f["kind"] == "stalled_weights"]
    gamma = next(name for name in finding["where"] if name.endswith("gamma"))
    assert finding["evidence"]["rounded_away"][gamma]["dtype"] == "bfloat16"
    assert finding["advice"][0]["action"] == "float32_weights"
    assert 'set_global_policy("mixed_bfloat16")' in finding["fixes"][0]


def test_a_mixed_policy_keeps_float32_variables_that_train(tmp_path) -> None:
    doc, log = logged_run(tmp_path, SCRIPT, "mixed_bfloat16")
    assert log["moved"] > 1e-3 and log["dtype"] == "float32"
    assert _dtypes(tmp_path / "run") == {"float32"}
    assert problems(doc) == []
