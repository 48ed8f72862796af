"""Real training: healthy recurrent (LSTM, GRU) and residual models get no gradient finding.

Their layers' |g|/|w| differ by orders of magnitude (an LSTM's input weights against its output
layer, a residual block against the stem) while every layer moves at a healthy rate: measured
here with plain PyTorch (a copy of each weight before ``optimizer.step()``), every weight's
median update/weight is inside the healthy band (>= 1e-4 per step) and the loss falls. Judged by
the effect, nothing vanishes and nothing explodes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import gradsight  # noqa: E402
from gradsight.core.finding import Severity  # noqa: E402

STEPS = 200
HEALTHY_MOVE = 1e-4  # update/weight per step: the lower edge of the report's healthy band


class Sequence(nn.Module):
    def __init__(self, cell: type[nn.Module]) -> None:
        super().__init__()
        self.emb = nn.Embedding(20, 32)
        self.rnn = cell(32, 64, num_layers=2, batch_first=True)
        self.head = nn.Linear(64, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, _ = self.rnn(self.emb(x))
        return self.head(h[:, -1])


class Block(nn.Module):
    def __init__(self, d: int) -> None:
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(d, d), nn.Linear(d, d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.fc2(torch.relu(self.fc1(x)))


class Residual(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Linear(20, 64)
        self.blocks = nn.Sequential(*[Block(64) for _ in range(6)])
        self.out = nn.Linear(64, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.blocks(torch.relu(self.stem(x))))


def data(kind: str) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    if kind == "residual":
        x = torch.randn(512, 20, generator=g)
        return x, (x[:, 0] * x[:, 1] > 0).long()
    x = torch.randint(0, 20, (512, 15), generator=g)
    return x, (x == 3).any(1).long()  # does the sequence hold a 3


@pytest.mark.parametrize("kind, optimizer_name", [
    ("lstm", "adam"), ("gru", "adam"), ("residual", "adam"), ("lstm", "sgd"), ("residual", "sgd"),
])  # (a GRU under this SGD moves one weight 7e-5 per step: not a case of a healthy rate)
def test_healthy_recurrent_and_residual_models_have_no_gradient_finding(
        tmp_path: Path, kind: str, optimizer_name: str) -> None:
    torch.manual_seed(0)
    model = Residual() if kind == "residual" else Sequence(nn.LSTM if kind == "lstm" else nn.GRU)
    optimizer = (torch.optim.Adam(model.parameters(), 1e-3) if optimizer_name == "adam"
                 else torch.optim.SGD(model.parameters(), 0.1, momentum=0.9))
    x, y = data(kind)
    g = torch.Generator().manual_seed(2)
    weights = {n: p for n, p in model.named_parameters() if p.ndim >= 2 and "emb" not in n}
    moves: dict[str, list[float]] = {n: [] for n in weights}
    losses = []
    with gradsight.watch(model, optimizer, out=tmp_path / "run") as w:
        for _ in range(STEPS):
            i = torch.randint(0, len(x), (32,), generator=g)
            loss = nn.functional.cross_entropy(model(x[i]), y[i])
            optimizer.zero_grad()
            loss.backward()
            before = {n: p.detach().clone() for n, p in weights.items()}
            optimizer.step()
            for n, p in weights.items():
                moves[n].append(float((p.detach() - before[n]).norm() / p.detach().norm()))
            losses.append(float(loss.detach()))
    slowest = min(float(np.median(v)) for v in moves.values())
    assert slowest >= HEALTHY_MOVE, slowest  # the case: every layer moves at a healthy rate
    assert np.mean(losses[-20:]) < 0.5 * np.mean(losses[:20])  # ... and the model learns
    kinds = {f.kind for f in w.findings if f.severity.at_least(Severity.WARNING)}
    assert not kinds & {"vanishing_gradient", "exploding_gradient", "stalled_weights"}, kinds
