"""``stats.norm_vector`` (the always-on tier's gradient norms, batched) against a float64 numpy
oracle and against the per-tensor ``stats.norms`` it replaces on the hot path."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gradsight.adapters.torch import stats


def _oracle(t: torch.Tensor) -> float:
    if t.layout != torch.strided:
        t = t.to_dense()
    return float(np.linalg.norm(t.detach().double().numpy().ravel()))


def _tensors() -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return [
        torch.randn(64, 32, generator=g),                      # an ordinary float32 gradient
        torch.randn(10, generator=g) * 1e-32,                  # squares underflow float32
        torch.full((1000,), 1e25),                             # squares overflow float32
        torch.zeros(5),                                        # a gradient of exact zeros
        torch.randn(3, 3, generator=g).t(),                    # not contiguous
        torch.randn(7, generator=g, dtype=torch.float64) * 1e-200,  # float64 all the way
    ]


@pytest.mark.parametrize("subset", [slice(0, 1), slice(0, 5), slice(0, 6)])
def test_norm_vector_matches_the_float64_oracle(subset: slice) -> None:
    tensors = _tensors()[subset]
    got = stats.norm_vector(tensors)
    assert got.dtype == torch.float64 and got.shape == (len(tensors),)
    np.testing.assert_allclose(got.numpy(), [_oracle(t) for t in tensors], rtol=1e-6)
    per_tensor = torch.stack([n.reshape(()) for n in stats.norms(tensors)])
    np.testing.assert_array_equal(got.numpy(), per_tensor.numpy())


def test_norm_vector_takes_the_per_tensor_path_for_sparse_gradients() -> None:
    """nn.Embedding(sparse=True) gives sparse gradients (uncoalesced: an index twice)."""
    sparse = torch.sparse_coo_tensor(torch.tensor([[0, 3, 3]]), torch.tensor([3.0, 1.0, 3.0]),
                                     (6,), check_invariants=False)
    got = stats.norm_vector([torch.ones(4), sparse])
    np.testing.assert_allclose(got.numpy(), [2.0, 5.0], rtol=1e-12)


def test_no_tensors_give_an_empty_vector() -> None:
    assert stats.norm_vector([]).shape == (0,)


def test_large_float32_tensors_keep_float64_precision() -> None:
    """Large gradients (a 2048 x 2048 layer, an odd-sized one whose last chunk is partial,
    a large one underflowing float32's squares) next to small ones: float32 kernels that add a
    whole tensor's squares in one accumulator drift by ~1e-4 at these sizes."""
    g = torch.Generator().manual_seed(1)
    tensors = [
        torch.randn(2048, 2048, generator=g) * 3 + 0.5,
        torch.randn(1000, 1001, generator=g),
        torch.randn(300, generator=g),
        torch.randn(256, 512, generator=g) * 1e-32,
    ]
    got = stats.norm_vector(tensors)
    np.testing.assert_allclose(got.numpy(), [_oracle(t) for t in tensors], rtol=1e-7)
