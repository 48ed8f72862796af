"""``tf_ops.activation_row`` (the Keras and TF1 adapters' layer statistics) against a float64
numpy oracle: float32 sums where they are exact enough, float64 where they are not (a variance
that cancels, squares below float32's range, a NaN)."""

from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from gradsight.adapters import tf_ops  # noqa: E402
from tests.act_oracle import act_vector  # noqa: E402


@pytest.mark.parametrize("family,values", [
    ("relu", np.maximum(np.random.default_rng(0).standard_normal((64, 32, 32, 8)), 0)),
    (None, np.random.default_rng(1).standard_normal((64, 256)) * 3 + 0.5),
    ("tanh", np.tanh(np.random.default_rng(2).standard_normal((32, 100)) * 4)),
    ("sigmoid", 1 / (1 + np.exp(-5 * np.random.default_rng(3).standard_normal((32, 100))))),
    (None, 100 + 1e-3 * np.random.default_rng(4).standard_normal(4096)),  # cancels: float64
    (None, 1e-32 * np.random.default_rng(5).standard_normal(256)),  # squares underflow
])
def test_activation_row_matches_a_float64_oracle(family, values) -> None:
    x = tf.constant(values, tf.float32)
    row, _ = tf_ops.activation_row(x, family)
    got = np.array([float(v) for v in row])
    want = act_vector(x.numpy(), family)
    rms = float(np.sqrt(np.mean(x.numpy().astype(np.float64) ** 2)))
    assert abs(got[0] - want[0]) <= 1e-5 * rms
    np.testing.assert_allclose(got[1], want[1], rtol=1e-5)
    np.testing.assert_array_equal(got[2:], want[2:])


def test_a_nan_is_flagged_and_zeros_still_counted() -> None:
    values = np.maximum(np.random.default_rng(6).standard_normal(1000), 0).astype(np.float32)
    values[3] = np.nan
    row, _ = tf_ops.activation_row(tf.constant(values), "relu")
    got = [float(v) for v in row]
    assert got[3] == 1.0 and got[2] == float(np.mean(values == 0))
