"""What a user sees from the command line: ``-V``, ``--json -`` (the JSON alone on stdout, the
report on stderr), ``--verbose``, the lazy ``gradsight.keras`` attribute, and ``fix``'s
progress (trial and steps) on a terminal only."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

import gradsight
from tests.conftest import run_gradsight

UNUSED = """
import torch
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
spare = torch.nn.Linear(4, 4)
model.add_module("spare", spare)
opt = torch.optim.SGD(model.parameters(), lr=0.05)
x = torch.randn(32, 4)
for _ in range(30):
    loss = (model[2](model[1](model[0](x))) - x[:, :1]).pow(2).mean()
    opt.zero_grad(); loss.backward(); opt.step()
"""


@pytest.mark.parametrize("flag", ["-V", "--version"])
def test_version(flag: str) -> None:
    proc = run_gradsight(flag)
    assert proc.returncode == 0 and proc.stdout.strip() == f"gradsight {gradsight.__version__}"


def test_json_dash_writes_the_document_to_stdout(tmp_path: Path) -> None:
    script = tmp_path / "train.py"
    script.write_text(UNUSED)
    proc = run_gradsight("run", "--out", str(tmp_path / "run"), "--json", "-", str(script))
    assert proc.returncode == 0, proc.stderr[-2000:]
    doc = json.loads(proc.stdout)  # nothing else on stdout
    assert doc["schema"] == "gradsight.findings/1"
    assert [f["kind"] for f in doc["findings"]] == ["no_gradient"]
    assert "no_gradient" in proc.stderr and "run folder:" in proc.stderr
    assert not (Path.cwd() / "-").exists() and not (tmp_path / "-").exists()
    assert json.loads((tmp_path / "run" / "findings.json").read_text()) == doc

    report = run_gradsight("report", str(tmp_path / "run"), "--json", "-", "--verbose")
    assert json.loads(report.stdout) == doc
    assert "  recorded_steps: " in report.stderr  # --verbose: every evidence item
    terse = run_gradsight("report", str(tmp_path / "run"))
    assert "recorded_steps" not in terse.stdout and "more: every number" in terse.stdout


def test_probe_json_dash(tmp_path: Path) -> None:
    script = tmp_path / "train.py"
    script.write_text(UNUSED)
    proc = run_gradsight("probe", "--json", "-", str(script))
    doc = json.loads(proc.stdout)
    assert doc["probe"]["layers"] and "gradsight probe" in proc.stderr


def test_keras_callback_after_plain_import() -> None:
    pytest.importorskip("keras")
    code = ("import gradsight, sys; print('keras' in sys.modules); "
            "cb = gradsight.keras.Callback(); print(type(cb).__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out[-2:] == ["False", "Callback"]


HEALTHY = """
import torch
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))
opt = torch.optim.Adam(model.parameters(), lr=1e-2)
x = torch.randn(64, 4)
for _ in range(200):
    loss = (model(x) - x[:, :1]).pow(2).mean()
    opt.zero_grad(); loss.backward(); opt.step()
"""


@pytest.mark.slow
def test_fix_progress_only_on_a_terminal(tmp_path: Path) -> None:
    from rich.console import Console

    from gradsight.fix.cli import run_fix

    script = tmp_path / "train.py"
    script.write_text(HEALTHY)
    seen = []
    for terminal in (True, False):
        buffer = io.StringIO()
        console = Console(file=buffer, force_terminal=terminal, width=100)
        code = run_fix(str(script), [], budget=40, out=tmp_path / f"fix-{terminal}",
                       console=console)
        assert code == 0
        seen.append(buffer.getvalue())
    on_terminal, piped = seen
    assert "baseline" in on_terminal and "/40 steps" in on_terminal and "trials" in on_terminal
    assert "nothing to fix" in on_terminal and "nothing to fix" in piped
    assert "steps\x1b" not in piped and "0/1 trials" not in piped and "/40 steps" not in piped
