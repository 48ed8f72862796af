"""A layer whose weights are constrained under ``torch.no_grad()`` inside its own forward (the
LEAF audio front-end's Gabor kernels, denfed/leaf-audio-pytorch issue 3): its output is used,
but carries no gradient, so its weights get none. Its output reaches the next layer through a
square, so no data-flow link is seen; gradsight said "its output is never used" and advised
using it. It now says the output carried no gradient and leads with finding what cuts it; a
layer whose output really is dropped is still said to be unused. Real training."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import gradsight  # noqa: E402


class Constrained(nn.Module):
    def __init__(self, cut: bool) -> None:
        super().__init__()
        self.kernel, self.cut = nn.Parameter(torch.randn(8, 16) * 0.3), cut

    def forward(self, x):  # type: ignore[no-untyped-def]
        with torch.no_grad() if self.cut else torch.enable_grad():
            kernel = self.kernel.clamp(-0.5, 0.5)  # the bug: under no_grad, cut off
        return x @ kernel.t()


class Net(nn.Module):
    def __init__(self, drop: bool) -> None:
        super().__init__()
        self.front, self.head, self.drop = Constrained(cut=not drop), nn.Linear(8, 2), drop
        if drop:
            self.spare = nn.Linear(16, 8)

    def forward(self, x):  # type: ignore[no-untyped-def]
        h = self.front(x) ** 2  # (a tensor op between the layers: no data-flow link)
        if self.drop:
            self.spare(x)  # computed, thrown away
        return self.head(h)


def _findings(tmp_path, drop: bool):  # type: ignore[no-untyped-def]
    torch.manual_seed(0)
    x, y = torch.randn(256, 16), torch.randint(0, 2, (256,))
    model = Net(drop)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    with gradsight.watch(model, opt, out=tmp_path / f"run{int(drop)}") as w:
        for _ in range(30):
            opt.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            assert (model.front.kernel.grad is None) is not drop  # the case, measured
            opt.step()
    return [f for f in w.diagnosis.findings if f.kind == "no_gradient"]


def test_an_output_cut_off_by_no_grad_is_not_called_unused(tmp_path) -> None:
    (finding,) = _findings(tmp_path, drop=False)
    assert finding.where == ["front.kernel"]
    assert finding.evidence["output_without_grad"] is True
    assert "no-grad" in finding.summary and "never used" not in finding.summary
    assert finding.advice[0].action == "find_detach"


def test_an_output_thrown_away_is_still_unused(tmp_path) -> None:
    (finding,) = _findings(tmp_path, drop=True)
    assert finding.where == ["spare.weight", "spare.bias"]
    assert "never used" in finding.summary and finding.advice[0].action == "use_output"
