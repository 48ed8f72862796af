"""Real training: a layer that stops moving once the loss reached its floor is done, not stalled.

Full-batch Adam on iris drives the loss ~1e5x down; after that the output bias's gradient
oscillates around zero and Adam's steps shrink to ~1e-6 of the bias per step, so over the whole
run its median update/weight is below ``stalled_weights.STALL_RATIO``. Until the loss reached
its floor it moved ~3e-3 per step: no finding. The numbers are measured here with plain
PyTorch (a copy of each parameter before ``step()``), beside the watching.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import gradsight  # noqa: E402
from gradsight.core.finding import Severity  # noqa: E402
from gradsight.detectors import stalled_weights  # noqa: E402
from gradsight.detectors._common import CONVERGED_FACTOR  # noqa: E402


def iris() -> tuple[torch.Tensor, torch.Tensor]:
    from sklearn.datasets import load_iris

    x, y = load_iris(return_X_y=True)
    return torch.tensor((x - x.mean(0)) / x.std(0), dtype=torch.float32), torch.tensor(y)


def test_full_batch_adam_that_converged_is_not_stalled(tmp_path: Path) -> None:
    x, y = iris()
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                          nn.Linear(64, 3))
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-2)
    bias = model[4].bias
    moves, losses = [], []
    with gradsight.watch(model, optimizer, out=tmp_path / "run") as w:
        for _ in range(800):
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            before = bias.detach().clone()
            optimizer.step()
            moves.append(float((bias.detach() - before).norm() / bias.detach().norm()))
            losses.append(float(loss.detach()))
    moves_a, losses_a = np.array(moves), np.array(losses)
    floor = next(i for i in range(10, len(losses)) if np.median(losses_a[i - 9:i + 1])
                 <= np.median(losses_a[:10]) / CONVERGED_FACTOR)
    # the case: over the whole run the output bias looks stalled, before the floor it is not
    assert np.median(moves_a) < stalled_weights.STALL_RATIO
    assert np.median(moves_a[:floor]) > 100 * stalled_weights.STALL_RATIO
    assert losses_a[-1] < 1e-4 * losses_a[0]
    serious = [f for f in w.findings if f.severity.at_least(Severity.WARNING)]
    assert serious == [], [(f.kind, f.summary) for f in serious]
