"""A softmax before ``CrossEntropyLoss`` (which applies log-softmax itself): the loss is given
probabilities where it takes logits, its gradients are squeezed through a second softmax and the
model stays at the class prior. The criterion tap sees the input rows in [0, 1] summing to 1,
and ``loss_not_decreasing`` leads with the output layer; the same model giving logits learns and
gets no finding. Real training, plus the row test against its definition in numpy."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import gradsight  # noqa: E402
from gradsight.adapters.torch.criterion import _probability_rows  # noqa: E402


@pytest.mark.parametrize("rows, expected", [
    (np.full((4, 5), 0.2), 1.0),                       # probabilities
    (np.eye(3), 1.0),                                   # one-hot: still probabilities
    (np.full((4, 5), 0.2) + 1e-2, 0.0),                # rows sum to 1.05
    (np.array([[1.2, -0.2], [0.5, 0.5]]), 0.0),        # sum to 1, outside [0, 1]
    (np.random.default_rng(0).normal(size=(8, 4)), 0.0),  # logits
    (np.full((4, 1), 1.0), 0.0),                       # one class: no distribution to tell
])
def test_probability_rows_against_the_definition(rows, expected) -> None:
    got = float(_probability_rows(torch.tensor(rows, dtype=torch.float32)))
    by_definition = float(rows.shape[1] >= 2 and (rows >= 0).all() and (rows <= 1).all()
                          and (np.abs(rows.sum(1) - 1) <= 1e-3).all())
    assert got == by_definition == expected


def _train(tmp_path, softmax: bool):  # type: ignore[no-untyped-def]
    torch.manual_seed(0)
    x = torch.randn(1024, 20)
    y = x[:, :5].argmax(1)
    layers = [nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 5)] + ([nn.Softmax(dim=1)] * softmax)
    model = nn.Sequential(*layers)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    losses = []
    with gradsight.watch(model, opt, out=tmp_path / f"run{int(softmax)}") as w:
        for _ in range(300):
            rows = torch.randint(0, 1024, (64,))
            opt.zero_grad()
            loss = nn.CrossEntropyLoss()(model(x[rows]), y[rows])
            loss.backward()
            opt.step()
            losses.append(loss.item())
    return w.diagnosis.findings, losses


def test_a_softmax_before_cross_entropy_is_named(tmp_path) -> None:
    findings, losses = _train(tmp_path, softmax=True)
    prior = float(np.log(5))  # ~ the class prior's entropy (balanced classes)
    assert min(losses[-20:]) > 0.9 * prior  # the case, measured: it learned nothing
    (finding,) = [f for f in findings if f.kind == "loss_not_decreasing"]
    assert finding.evidence["probability_inputs"] == 1.0
    assert "softmax applied twice" in finding.summary
    assert finding.advice[0].action == "check_output_layer"


def test_logits_into_cross_entropy_learn(tmp_path) -> None:
    findings, losses = _train(tmp_path, softmax=False)
    assert np.mean(losses[-20:]) < 0.85 * np.log(5)  # it learns (slowly, at SGD 0.01)
    assert [f.kind for f in findings if f.severity.value != "info"] == []
