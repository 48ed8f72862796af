"""Keras training in phases: fit, freeze a layer, ``compile`` again (a new optimizer, whose step
count starts at 0) and fit again, as transfer learning does. The run's steps go on counting:
the second phase's rows follow the first's instead of landing on its step numbers, and its loss
is the run's. Real training under ``gradsight run``; the script logs Keras' own epoch losses."""

from __future__ import annotations

import numpy as np

from gradsight.core.run_view import RunView
from tests.tf.conftest import logged_run

PHASES = """
import json, sys
import keras, numpy as np
from sklearn.datasets import load_digits

keras.utils.set_random_seed(0)
digits = load_digits()
x, y = digits.data[:1792].astype("float32") / 16, digits.target[:1792]
model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(32, activation="relu"),
                          keras.layers.Dense(10, activation="softmax")])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
first = model.fit(x, y, epochs=2, batch_size=64, shuffle=False, verbose=0).history["loss"]
model.layers[0].trainable = False
model.compile(optimizer=keras.optimizers.SGD(0.05), loss="sparse_categorical_crossentropy")
second = model.fit(x, y, epochs=2, batch_size=64, shuffle=False, verbose=0).history["loss"]
json.dump({"epochs": first + second}, open(sys.argv[1], "w"))
"""

PER_EPOCH = 1792 // 64


def test_a_second_compile_continues_the_run(tmp_path):
    doc, log = logged_run(tmp_path, PHASES)
    assert doc["steps"] == 4 * PER_EPOCH
    view = RunView.open(tmp_path / "run")
    try:
        loss = view.loss
        np.testing.assert_array_equal(loss.steps, np.arange(4 * PER_EPOCH))
        # each epoch's mean of the stored per-step losses is the loss Keras reported for it
        means = loss.values.reshape(4, PER_EPOCH).mean(axis=1)
        np.testing.assert_allclose(means, log["epochs"], rtol=1e-4)
        head = view.metric("param", "grad_norm")["sequential/dense_1/kernel"]
        assert head.steps.max() == 4 * PER_EPOCH - 1  # the head trained in both phases
        frozen = view.metric("param", "grad_norm")["sequential/dense/kernel"]
        assert frozen.steps.max() < 2 * PER_EPOCH  # the frozen layer only in the first
    finally:
        view.close()
