"""Real training: a CNN whose gradients are never reset is ``gradients_not_reset`` from its
second step, at the default schedule and with every step recorded alike; every ordinary way of
resetting them (and deliberate accumulation) is not.

What is true of each run is measured with plain PyTorch beside the watching: the first conv
weight's ``.grad`` norm as ``optimizer.step()`` receives it, against the first step's.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import gradsight  # noqa: E402
from gradsight.core.finding import Finding, Severity  # noqa: E402

STEPS = 40
ACCUMULATE = 4  # backward passes per step in the deliberate-accumulation run


def digits() -> tuple[torch.Tensor, torch.Tensor]:
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    return torch.tensor(x / 16.0, dtype=torch.float32).reshape(-1, 1, 8, 8), torch.tensor(y)


def cnn() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.Flatten(),
                         nn.Linear(16 * 4 * 4, 10))


def reset(how: str, model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
    """The ways scripts reset gradients before a step's backward ("none": they don't)."""
    if how == "optimizer":
        optimizer.zero_grad()
    elif how == "model":
        model.zero_grad()
    elif how == "zero_in_place":
        optimizer.zero_grad(set_to_none=False)
    elif how == "grad_none":
        for p in model.parameters():
            p.grad = None
    elif how == "grad_zero_":
        for p in model.parameters():
            if p.grad is not None:
                p.grad.zero_()


def train(tmp_path: Path, how: str, every: int | None = None,
          name: str = "run") -> tuple[list[Finding], np.ndarray]:
    x, y = digits()
    model = cnn()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.02)
    g = torch.Generator().manual_seed(1)
    first = model[0].weight
    norms = []
    with gradsight.watch(model, optimizer, out=tmp_path / name, every=every) as w:
        for _ in range(STEPS):
            if how == "accumulate":  # k micro-batches, then one step, then a reset
                for _ in range(ACCUMULATE):
                    i = torch.randint(0, len(x), (16,), generator=g)
                    (nn.functional.cross_entropy(model(x[i]), y[i]) / ACCUMULATE).backward()
                norms.append(float(first.grad.norm()))
                optimizer.step()
                optimizer.zero_grad()
                continue
            reset(how, model, optimizer)
            i = torch.randint(0, len(x), (64,), generator=g)
            nn.functional.cross_entropy(model(x[i]), y[i]).backward()
            norms.append(float(first.grad.norm()))
            optimizer.step()
    return w.findings, np.array(norms) / norms[0]


def serious(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity.at_least(Severity.WARNING)]


def test_never_reset_is_found_at_the_second_step_whatever_the_schedule(tmp_path: Path) -> None:
    default, growth = train(tmp_path, "none", name="default")
    every, _ = train(tmp_path, "none", every=1, name="every")
    assert growth[5] > 3  # the case: the applied gradient is the sum of all so far
    found = [next(f for f in run if f.kind == "gradients_not_reset") for run in (default, every)]
    assert [f.step for f in found] == [found[0].step] * 2 and found[0].step in (1, 2)
    assert all(f.severity == Severity.ERROR for f in found)
    assert serious(default)[0].kind == "gradients_not_reset"  # the root cause comes first
    assert "zero_grad" in " ".join(found[0].fixes)
    assert "0.weight" in found[0].where


@pytest.mark.parametrize("how", ["optimizer", "model", "zero_in_place", "grad_none",
                                 "grad_zero_", "accumulate"])
def test_gradients_reset_each_step_are_no_finding(tmp_path: Path, how: str) -> None:
    findings, growth = train(tmp_path, how)
    assert np.median(growth) < 3  # the case: each step applies one step's gradient
    assert serious(findings) == [], [(f.kind, f.summary) for f in serious(findings)]
