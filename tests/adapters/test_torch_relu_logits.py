"""A ReLU applied to the class scores before the cross-entropy (``torch.relu(self.l1(x))``, the
simplest model of a Lightning tutorial): a class whose score is clamped to 0 for every input
gets no gradient again. No layer consumes that ReLU's output, the loss does: gradsight reads it
there and says ``dead_units`` at the output layer. Real training on scikit-learn's digits; the
dead classes are counted in plain torch beside it (SGD at lr 3: most classes die). The same model without the ReLU gets no
dead-unit finding."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
datasets = pytest.importorskip("sklearn.datasets")
from torch import nn  # noqa: E402

import gradsight  # noqa: E402


class Scores(nn.Module):
    def __init__(self, relu: bool) -> None:
        super().__init__()
        self.l1 = nn.Linear(64, 10)
        self.relu = relu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scores = self.l1(x)
        return torch.relu(scores) if self.relu else scores


def _train(tmp_path, relu: bool):  # type: ignore[no-untyped-def]
    digits = datasets.load_digits()
    x = torch.tensor(digits.data / 16.0, dtype=torch.float32)
    y = torch.tensor(digits.target)
    torch.manual_seed(0)
    model = Scores(relu)
    optimizer = torch.optim.SGD(model.parameters(), lr=3.0)
    with gradsight.watch(model, optimizer, out=tmp_path / f"run{relu}") as w:
        for step in range(200):
            rows = slice(64 * (step % 28), 64 * (step % 28 + 1))
            loss = nn.functional.cross_entropy(model(x[rows]), y[rows])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    with torch.no_grad():
        dead = int(((model(x) > 0).sum(0) == 0).sum()) if relu else 0
    return w.diagnosis.findings, dead


def test_relu_on_the_class_scores_kills_classes_at_the_output_layer(tmp_path) -> None:
    findings, dead = _train(tmp_path, relu=True)
    assert dead >= 5  # measured: classes no input ever scores above 0
    (finding,) = [f for f in findings if f.kind == "dead_units"]
    assert finding.where[0] == "l1.weight"
    assert finding.severity.value in ("warning", "error")
    assert finding.evidence["feeds_the_loss"] is True and "never predict" in finding.summary
    assert finding.advice[0].action == "check_output_layer"


def test_the_same_scores_without_relu_have_no_dead_units(tmp_path) -> None:
    findings, _ = _train(tmp_path, relu=False)
    assert "dead_units" not in [f.kind for f in findings]
