"""Residual branches initialized small on purpose (GPT-2's 0.02/sqrt(2 n_layer) on the layer
that closes each branch) in a 6-block MLP with no normalization: the product of weight scales
predicts a collapse of ~1e-11, but the stream keeps its scale through the skips, the first
layer gets its gradient and the net learns; gradsight says nothing. The same small layers
stacked without skips do collapse: the first layer's gradient falls ~1e4x below the last's
(measured here with plain hooks) and ``poor_initialization`` says so. Real training."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import gradsight  # noqa: E402


class Block(nn.Module):
    def __init__(self, width: int, skip: bool) -> None:
        super().__init__()
        self.fc1, self.fc2, self.skip = nn.Linear(width, width), nn.Linear(width, width), skip
        nn.init.normal_(self.fc2.weight, std=0.02 / (2 * 6) ** 0.5)

    def forward(self, x):  # type: ignore[no-untyped-def]
        branch = self.fc2(torch.relu(self.fc1(x)))
        return x + branch if self.skip else branch


def _train(tmp_path, skip: bool):  # type: ignore[no-untyped-def]
    """(findings, first-layer |g|/|w| over the last's at step 0, first and last loss)."""
    torch.manual_seed(0)
    x = torch.randn(512, 16)
    y = (x[:, 0] > 0).long() + (x[:, 1] > 0).long()
    model = nn.Sequential(nn.Linear(16, 64), *[Block(64, skip) for _ in range(6)],
                          nn.Linear(64, 3))
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    losses, deficit = [], None
    with gradsight.watch(model, opt, out=tmp_path / f"run{int(skip)}") as w:
        for step in range(150):
            rows = torch.randint(0, 512, (64,))
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(x[rows]), y[rows])
            loss.backward()
            if step == 0:
                first, last = model[0].weight, model[-1].weight
                deficit = float((last.grad.norm() / last.detach().norm()) /
                                (first.grad.norm() / first.detach().norm()))
            opt.step()
            losses.append(loss.item())
    return w.diagnosis.findings, deficit, losses


def test_small_residual_branches_are_not_a_collapse(tmp_path) -> None:
    findings, deficit, losses = _train(tmp_path, skip=True)
    assert deficit < 100 and min(losses[-10:]) < 0.5 * losses[0]  # the case, measured
    assert [f.kind for f in findings if f.severity.value != "info"] == []


def test_the_same_layers_without_skips_collapse(tmp_path) -> None:
    findings, deficit, _ = _train(tmp_path, skip=False)
    assert deficit > 1e3  # the case, measured: the gradient vanishes on its way down
    (finding,) = [f for f in findings if f.kind == "poor_initialization"]
    assert "collapses" in finding.summary and finding.where[0] == "1.fc2.weight"
