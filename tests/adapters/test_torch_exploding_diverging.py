"""Real training: a learning rate too high for SGD explodes and diverges; the same model at a
sane learning rate, or at the high one with gradient clipping, is no exploding/diverging case."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import gradsight  # noqa: E402
from gradsight.core.finding import Finding, Severity  # noqa: E402

HIGH_LR = 1.5  # measured: the loss grows ~1e27x in 5 steps and is inf at step 6


def serious(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity.at_least(Severity.WARNING)]


def train(tmp_path: Path, lr: float, steps: int, clip: float | None = None) -> list[Finding]:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 3, generator=g)
    y = x[:, :1] * 2 - x[:, 1:2] + 0.5
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(3, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 1)
    )
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    with gradsight.watch(model, optimizer, out=tmp_path / "run") as w:
        for _ in range(steps):
            optimizer.zero_grad()
            loss = nn.functional.mse_loss(model(x), y)
            loss.backward()
            if clip is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=clip)
            optimizer.step()
    return w.findings


def test_too_high_learning_rate_explodes_diverges_and_goes_nonfinite(tmp_path: Path) -> None:
    problems = serious(train(tmp_path, HIGH_LR, 40))
    kinds = [f.kind for f in problems]
    # root cause first: the explosion began steps before the NaN it ended in
    assert kinds[:3] == ["exploding_gradient", "loss_diverging", "nonfinite"], kinds
    exploding, diverging, nonfinite = problems[:3]
    assert nonfinite.evidence["caused_by"] == "exploding_gradient"
    assert exploding.severity == Severity.ERROR
    assert exploding.step < nonfinite.step
    assert exploding.evidence["first_nonfinite_step"] == nonfinite.step
    assert max(exploding.evidence["growth_factor"].values()) > 1e6
    assert {"0.weight", "2.weight", "4.weight"} <= set(exploding.where)
    assert diverging.step < nonfinite.step
    assert diverging.evidence["first_nonfinite_step"] == nonfinite.step
    assert diverging.evidence["final_loss"] > 1e6 * diverging.evidence["min_loss"]


def test_sane_learning_rate_is_healthy(tmp_path: Path) -> None:
    assert serious(train(tmp_path, 0.05, 300)) == []


def test_gradient_clipping_keeps_the_high_learning_rate_stable(tmp_path: Path) -> None:
    kinds = {f.kind for f in train(tmp_path, HIGH_LR, 300, clip=1.0)}
    assert not kinds & {"exploding_gradient", "loss_diverging", "nonfinite"}, kinds
