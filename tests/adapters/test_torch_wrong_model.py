"""An optimizer built from one model while another one trains (a course notebook's slip:
``SGD(model_0.parameters())`` then ``model_1`` in the loop). Real training: ``model_1`` gets
gradients and never moves, ``model_0`` never runs. gradsight names the optimizer as the root
cause (``not_optimized`` on the model that trained first; its ``no_gradient`` on the model that
never ran is caused by it), not "model_0's output is never used"; a model that ran but whose
output the loss ignores still gets the plain ``no_gradient``."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import gradsight  # noqa: E402


class Regression(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(1, 1)
        self.unused = nn.Linear(1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.unused(x)  # runs, but its output goes nowhere
        return self.linear(x)


def _data() -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.linspace(0, 1, 50)[:, None]
    return x, 0.7 * x + 0.3


def test_an_optimizer_of_another_model_is_the_root_cause(tmp_path) -> None:
    torch.manual_seed(0)
    model_0, model_1 = nn.Linear(1, 1), nn.Linear(1, 1)
    optimizer = torch.optim.SGD(model_0.parameters(), lr=0.01)  # the bug
    x, y = _data()
    before = model_1.weight.detach().clone()
    with gradsight.watch(model_1, optimizer, out=tmp_path / "run") as w:
        for _ in range(150):
            loss = nn.functional.l1_loss(model_1(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    assert model_1.weight.grad is not None and torch.equal(model_1.weight, before)  # measured
    assert model_0.weight.grad is None
    findings = [f for f in w.diagnosis.findings if f.severity.value != "info"]
    assert findings[0].kind == "not_optimized"
    (missing,) = [f for f in findings if f.kind == "no_gradient"]
    assert missing.evidence["caused_by"] == "not_optimized"
    assert set(missing.evidence["trained_instead"]) == set(findings[0].where)
    assert "wrong model" in missing.summary


def test_a_model_that_never_ran_beside_one_that_trained(tmp_path) -> None:
    """Both models watched: the optimizer's model has layers, none ran; the trained one's did."""
    torch.manual_seed(0)
    model_0, model_1 = Regression(), nn.Sequential(nn.Linear(1, 8), nn.Tanh(), nn.Linear(8, 1))
    optimizer = torch.optim.SGD(model_0.parameters(), lr=0.01)  # the bug
    x, y = _data()
    both = nn.ModuleDict({"model_0": model_0, "model_1": model_1})
    with gradsight.watch(both, optimizer, out=tmp_path / "run") as w:
        for _ in range(150):
            loss = nn.functional.mse_loss(model_1(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    findings = [f for f in w.diagnosis.findings if f.severity.value != "info"]
    assert findings[0].kind == "not_optimized"
    (missing,) = [f for f in findings if f.kind == "no_gradient"]
    assert missing.evidence["caused_by"] == "not_optimized"
    assert missing.evidence["never_ran"] is True and "never ran" in missing.summary


def test_a_layer_that_ran_unused_is_still_plain_no_gradient(tmp_path) -> None:
    torch.manual_seed(0)
    model = Regression()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = _data()
    with gradsight.watch(model, optimizer, out=tmp_path / "run") as w:
        for _ in range(150):
            loss = nn.functional.mse_loss(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    (missing,) = [f for f in w.diagnosis.findings if f.kind == "no_gradient"]
    assert missing.where == ["unused.weight", "unused.bias"]
    assert "caused_by" not in missing.evidence and "never_ran" not in missing.evidence
    assert "never used" in missing.summary
