"""Never a green verdict on zero steps: a run in which no optimizer stepped says what happened
(a crash before training, parameters updated by hand, no framework gradsight watches) and exits
with the script's own status."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.conftest import read_json, run_gradsight

pytest.importorskip("torch")

MANUAL_LOOP = """
import torch
from torch import nn
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 1))
x = torch.randn(64, 4)
y = x.sum(1, keepdim=True)
for step in range(30):
    loss = nn.functional.mse_loss(model(x), y)
    model.zero_grad()
    loss.backward()
    with torch.no_grad():
        for p in model.parameters():
            p -= 0.05 * p.grad
print("trained by hand")
"""

CRASH_BEFORE_TRAINING = """
import torch
from torch import nn
model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 1))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
loss = model(torch.randn(64, 5)).sum()  # 5 features into a 4-input layer
"""

NUMPY_ONLY = """
import sys
import numpy as np
rng = np.random.default_rng(0)
x = rng.normal(size=(64, 4))
w = np.zeros((4, 1))
for step in range(100):
    w -= 0.1 * x.T @ (x @ w - x.sum(1, keepdims=True)) / len(x)
sys.exit(3)
"""


def run(tmp_path: Path, source: str) -> tuple[int, str, dict]:
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(source))
    proc = run_gradsight("run", "--out", str(tmp_path / "run"), "--fail-on", "warning",
                         str(script), cwd=tmp_path, env={"OMP_NUM_THREADS": "1"})
    assert "no training problem found" not in proc.stdout  # never a green verdict
    assert "nothing was judged" in proc.stdout
    return proc.returncode, proc.stdout, read_json(tmp_path / "run" / "findings.json")


def test_parameters_updated_by_hand_are_said_to_be_unwatched(tmp_path: Path) -> None:
    code, out, doc = run(tmp_path, MANUAL_LOOP)
    assert code == 0
    assert "trained by hand" in out
    flat = " ".join(out.split())
    assert "backward() ran 30 time(s) but no optimizer ever stepped" in flat
    assert doc["findings"] == []


def test_a_crash_before_training_names_the_error_and_keeps_its_status(tmp_path: Path) -> None:
    code, out, doc = run(tmp_path, CRASH_BEFORE_TRAINING)
    assert code == 1  # the script's own status (an uncaught exception)
    flat = " ".join(out.split())
    assert "crashed before its first optimizer step (RuntimeError: mat1 and mat2" in flat
    assert doc["steps"] == 0


def test_no_watched_framework_says_so_and_keeps_the_exit_status(tmp_path: Path) -> None:
    code, out, doc = run(tmp_path, NUMPY_ONLY)
    assert code == 3
    assert "imported no framework gradsight watches" in " ".join(out.split())
    assert doc["framework"] == "none" and doc["findings"] == []
