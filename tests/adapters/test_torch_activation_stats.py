"""``stats.activation_vector`` on the CPU: its float32 passes against a float64 numpy oracle,
and the cases where it must hand back to the float64 path (non-finite values, squares out of
float32's range, a variance that cancels)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from gradsight.adapters.torch import stats  # noqa: E402
from tests.act_oracle import act_vector  # noqa: E402

RTOL = 1e-5  # the fast path's stated error (see tests/adapters/test_torch_stats_oracle.py)


def check(x: torch.Tensor, family: str | None) -> np.ndarray:
    got = stats.activation_vector(x, family).numpy()
    want = act_vector(x.numpy(), family)
    rms = float(np.sqrt(np.mean(x.numpy().astype(np.float64) ** 2)))
    if np.isfinite(want[0]):
        assert abs(got[0] - want[0]) <= RTOL * rms, (got, want)
        np.testing.assert_allclose(got[1], want[1], rtol=RTOL)
    else:
        assert not np.isfinite(got[0])
    # fractions are exact counts
    np.testing.assert_allclose(got[2:], want[2:], rtol=1e-12, atol=0)
    return got


@pytest.mark.parametrize("family,make", [
    ("relu", lambda g: torch.relu(torch.randn(64, 16, 32, 32, generator=g))),
    (None, lambda g: torch.randn(64, 1024, generator=g) * 3 + 0.5),
    ("tanh", lambda g: torch.tanh(torch.randn(32, 200, generator=g) * 4)),
    ("sigmoid", lambda g: torch.sigmoid(torch.randn(32, 200, generator=g) * 5)),
    (None, lambda g: torch.randn(7, generator=g)),
])
def test_float32_passes_match_a_float64_oracle(family, make):
    g = torch.Generator().manual_seed(0)
    x = make(g)
    assert stats._cpu_activation_vector(x, family) is not None  # the fast path answered
    check(x, family)


def test_a_variance_that_cancels_is_computed_in_float64():
    """Mean 100, std 1e-3: float32's E[x^2] - mean^2 would lose every digit of the variance."""
    x = (100 + 1e-3 * torch.randn(4096, generator=torch.Generator().manual_seed(1))).float()
    assert stats._cpu_activation_vector(x, None) is None
    check(x, None)  # std within 1e-5 of the oracle's


def test_squares_below_float32_range_are_computed_in_float64():
    """Seed 003's collapsed stack: outputs ~1e-32 square to 1e-64, below float32."""
    x = torch.randn(256, generator=torch.Generator().manual_seed(2)) * 1e-32
    assert stats._cpu_activation_vector(x, None) is None
    got = check(x, None)
    assert got[1] > 0


def test_non_finite_values_are_flagged_and_zeros_still_counted():
    x = torch.relu(torch.randn(1000, generator=torch.Generator().manual_seed(3)))
    x[5] = float("nan")
    assert stats._cpu_activation_vector(x, "relu") is None
    got = check(x, "relu")
    assert got[3] == 1.0


def test_negative_zero_counts_as_zero_and_a_dead_output_is_all_zero():
    x = torch.tensor([0.0, -0.0, 1.0, -2.0])
    assert check(x, None)[2] == 0.5
    assert check(torch.zeros(10, 10), "relu")[2] == 1.0
