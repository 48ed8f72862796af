"""Processes forked by ``multiprocessing`` under ``gradsight run``: one that trains is watched
into its own store (closed when it ends, its exception kept), and a DataLoader's workers, which
fork too but never train, leave nothing behind. Real processes, real training."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

pytest.importorskip("torch")

from gradsight.core.run_view import RunView  # noqa: E402
from tests.conftest import read_json, run_gradsight  # noqa: E402

TRAIN = """
import torch
from torch import nn

def train(steps, fail):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    x = torch.randn(256, 8)
    y = x[:, :1] * 2
    for step in range(steps):
        rows = torch.randint(0, 256, (32,))
        opt.zero_grad()
        nn.functional.mse_loss(model(x[rows]), y[rows]).backward()
        opt.step()
    if fail:
        raise ValueError("data file missing")
"""


def _run(tmp_path: Path, body: str) -> tuple[object, Path]:
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(TRAIN) + textwrap.dedent(body))
    proc = run_gradsight("run", "--out", str(tmp_path / "run"), str(script), cwd=tmp_path)
    return proc, tmp_path / "run"


def test_a_forked_process_that_trains_and_raises_is_watched(tmp_path: Path) -> None:
    proc, run = _run(tmp_path, """
        import multiprocessing as mp
        if __name__ == "__main__":
            p = mp.get_context("fork").Process(target=train, args=(20, True))
            p.start()
            p.join()
            print("child exit code", p.exitcode)
    """)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "child exit code 1" in proc.stdout
    (store,) = [d for d in (run / "processes").iterdir() if (d / "run.sqlite").exists()]
    view = RunView.open(store)
    try:
        assert view.steps == 20 and view.meta["status"] == "crashed"
        assert "ValueError: data file missing" in view.meta["error"]
    finally:
        view.close()
    assert read_json(run / "findings.json")["steps"] == 20  # the worker speaks for the run


def test_dataloader_workers_leave_nothing_behind(tmp_path: Path) -> None:
    proc, run = _run(tmp_path, """
        from torch.utils.data import DataLoader, TensorDataset
        if __name__ == "__main__":
            torch.manual_seed(0)
            model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1))
            opt = torch.optim.SGD(model.parameters(), lr=0.05)
            x = torch.randn(256, 8)
            loader = DataLoader(TensorDataset(x, x[:, :1] * 2), batch_size=32, num_workers=2,
                                multiprocessing_context="fork")
            for epoch in range(3):
                for xb, yb in loader:
                    opt.zero_grad()
                    nn.functional.mse_loss(model(xb), yb).backward()
                    opt.step()
    """)
    assert proc.returncode == 0, proc.stderr[-3000:]
    doc = read_json(run / "findings.json")
    assert doc["steps"] == 24 and "job" not in doc
    stores = list((run / "processes").glob("*/run.sqlite")) if (run / "processes").exists() \
        else []
    assert stores == []
    assert not any("process" in f["evidence"] for f in doc["findings"])
