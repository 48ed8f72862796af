"""torch.compile'd models: watching leaves the compiled training bit-identical (no hook is traced
into the graph), parameters keep their model's names, and the user sees no hook warning."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import gradsight  # noqa: E402
from tests.conftest import run_gradsight  # noqa: E402

SCRIPT = """
    import torch
    from torch import nn
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 1))
    compiled = torch.compile(model)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    x = torch.randn(128, 8)
    y = x.sum(1, keepdim=True)
    for step in range(30):
        loss = nn.functional.mse_loss(compiled(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    print(f"final {loss.item()!r}")
"""


@pytest.mark.slow
def test_compiled_model_trains_identically_under_gradsight_run(write_script, tmp_path: Path):
    import subprocess
    import sys

    script = write_script(SCRIPT)
    plain = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                           timeout=600)
    assert plain.returncode == 0, plain.stderr[-2000:]
    out = tmp_path / "run"
    watched = run_gradsight("run", "--out", str(out), str(script))
    assert watched.returncode == 0, watched.stderr[-2000:]
    final = [line for line in watched.stdout.splitlines() if line.startswith("final")]
    assert final == [line for line in plain.stdout.splitlines() if line.startswith("final")]
    assert "global hooks" not in watched.stderr
    diagnosis = gradsight.load_run(out)
    assert diagnosis.steps == 30
    import sqlite3

    with sqlite3.connect(out / "run.sqlite") as db:
        names = {n for (n,) in db.execute("SELECT name FROM entities WHERE role='param'")}
    assert names == {"0.weight", "0.bias", "2.weight", "2.bias"}


@pytest.mark.slow
def test_module_compile_under_watch_is_unchanged(tmp_path: Path):
    def train(folder: Path | None) -> list[float]:
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 1))
        opt = torch.optim.SGD(model.parameters(), lr=0.05)
        x = torch.randn(64, 4)
        losses = []
        watch = gradsight.watch(model, opt, out=folder) if folder else None
        model.compile()
        for _ in range(20):
            loss = nn.functional.mse_loss(model(x), x[:, :1])
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        if watch is not None:
            watch.close()
        return losses

    plain = train(None)
    torch._dynamo.reset()
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        watched = train(tmp_path / "run")
    assert watched == plain
