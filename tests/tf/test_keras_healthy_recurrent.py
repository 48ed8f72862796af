"""Real Keras training: healthy GRU and LSTM models get no gradient finding.

Keras's GRU bias is a (2, 3 x units) matrix that starts at zero: its |g|/|w| is huge because
the bias is small, and its gradient norm grows ~1000x from that zero start as the model learns.
Judged as a weight it was an "exploding gradient" (and could be vanishing's reference); it is a
bias (``is_bias``), judged as one. The script measures, with a plain Keras callback (weights
read before and after every batch), that every kernel moves at a healthy rate and the loss
falls.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from tests.tf.conftest import gradsight_run, problems

SCRIPT = """
import json, sys
import keras, numpy as np
from keras import layers

keras.utils.set_random_seed(0)
cell = {"gru": layers.GRU, "lstm": layers.LSTM}[sys.argv[1]]
rng = np.random.default_rng(1)
x = rng.integers(0, 20, (512, 30))
y = ((x == 3).sum(1) > 1).astype("float32")
model = keras.Sequential([keras.Input((30,)), layers.Embedding(20, 32),
                          cell(64, return_sequences=True), cell(64),
                          layers.Dense(1, activation="sigmoid")])
model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy")


class Moves(keras.callbacks.Callback):  # the measurement: plain weights around each batch
    def on_train_batch_begin(self, batch, logs=None):
        self.before = [v.numpy() for v in model.trainable_variables]

    def on_train_batch_end(self, batch, logs=None):
        for v, b in zip(model.trainable_variables, self.before):
            a = v.numpy()
            moves.setdefault(v.path, []).append(float(np.linalg.norm(a - b) / np.linalg.norm(a)))
        losses.append(float(logs["loss"]))


moves, losses = {}, []
model.fit(x, y, epochs=8, batch_size=32, verbose=0, callbacks=[Moves()])
json.dump({"moves": {k: float(np.median(v)) for k, v in moves.items()}, "losses": losses},
          open(sys.argv[2], "w"))
"""


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_healthy_keras_recurrent_model_has_no_gradient_finding(tmp_path: Path, cell: str) -> None:
    script = tmp_path / "recurrent.py"
    script.write_text(textwrap.dedent(SCRIPT))
    doc = gradsight_run(tmp_path, script, cell, str(tmp_path / "measured.json"))
    measured = json.loads((tmp_path / "measured.json").read_text())
    kernels = {k: v for k, v in measured["moves"].items() if "kernel" in k}
    assert min(kernels.values()) >= 1e-4, kernels  # the case: every kernel moves healthily
    assert measured["losses"][-1] < 0.5 * measured["losses"][0]  # ... and the model learns
    kinds = {f["kind"] for f in problems(doc)}
    assert not kinds & {"vanishing_gradient", "exploding_gradient", "stalled_weights"}, kinds
