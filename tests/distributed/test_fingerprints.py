"""Replica fingerprints (``adapters/torch/distributed.fingerprints``): alike replicas give
bit-identical values, and replicas that drifted apart give different ones, also where an update
keeps a plain sum of the elements fixed."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from gradsight.adapters.torch.distributed import fingerprints  # noqa: E402


def _output_layer_after(seed: int) -> list[torch.Tensor]:
    """A softmax classifier's output layer after a few SGD steps on this replica's batches
    (no averaging: two replicas drift apart)."""
    torch.manual_seed(0)
    layer = nn.Linear(16, 10)
    optimizer = torch.optim.SGD(layer.parameters(), lr=0.5, momentum=0.5)
    g = torch.Generator().manual_seed(seed)
    for _ in range(5):
        x, y = torch.randn(32, 16, generator=g), torch.randint(0, 10, (32,), generator=g)
        optimizer.zero_grad()
        nn.functional.cross_entropy(layer(x), y).backward()
        optimizer.step()
    return [layer.weight, layer.bias]


def test_identical_replicas_have_identical_fingerprints() -> None:
    a, b = _output_layer_after(1), _output_layer_after(1)
    assert torch.equal(fingerprints(a), fingerprints(b))


def test_output_layers_that_drifted_apart_differ_though_their_sums_do_not() -> None:
    """The cross-entropy gradient sums to 0 over the classes: the plain sums of the two
    replicas' weights and biases stay equal, the replicas do not."""
    a, b = _output_layer_after(1), _output_layer_after(2)
    for p, q in zip(a, b):
        assert not torch.equal(p, q)
        assert torch.allclose(p.sum(dtype=torch.float64), q.sum(dtype=torch.float64),
                              rtol=0, atol=1e-5)
    fa, fb = fingerprints(a), fingerprints(b)
    scale = torch.stack([p.detach().double().norm() for p in a])
    assert ((fa - fb).abs() / scale > 1e-3).all()


def test_large_and_strided_parameters_are_fingerprinted_from_a_sample() -> None:
    big = torch.randn(300, 200)
    moved = big.clone()
    moved[0, 0] += 1.0  # the first element is always in the sample
    assert fingerprints([big])[0] != fingerprints([moved])[0]
    t, u = big.t(), moved.t()  # not contiguous: a strided slice of a flat copy
    assert torch.equal(fingerprints([t]), fingerprints([big.clone().t()]))
    assert fingerprints([t])[0] != fingerprints([u])[0]
