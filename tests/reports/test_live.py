"""The live status line: on a terminal only, and the user's own prints stay intact."""

from __future__ import annotations

import os
import re
import select
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT, run_gradsight

SCRIPT = """
import time
import torch
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
opt = torch.optim.SGD(model.parameters(), lr=0.05)
for i in range(400):
    loss = model(torch.randn(16, 4)).pow(2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    time.sleep(0.01)
    if i % 50 == 0:
        print(f"user line {i} " + "x" * 30)
    if i % 80 == 0:
        print(f"user error line {i}", file=sys.stderr)
"""
STATUS = "gradsight · step"


def _render(raw: str) -> list[str]:
    """What a terminal shows: ``\\r`` returns to column 0, ``ESC[K`` erases to the end."""
    lines, line, col = [], [], 0
    i = 0
    while i < len(raw):
        if raw.startswith("\x1b[K", i):
            del line[col:]
            i += 3
            continue
        ch = raw[i]
        i += 1
        if ch == "\r":
            col = 0
        elif ch == "\n":
            lines.append("".join(line))
            line, col = [], 0
        else:
            if col < len(line):
                line[col] = ch
            else:
                line.append(ch)
            col += 1
    lines.append("".join(line))
    return [re.sub(r"\x1b\[[0-9;]*m", "", s) for s in lines]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "GRADSIGHT_NO_LIVE")}
    return {**env, "COLUMNS": "160", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pty")
def test_live_line_on_a_terminal_and_prints_intact(tmp_path):
    import pty

    script = tmp_path / "train.py"
    script.write_text("import sys\n" + SCRIPT)
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gradsight", "run", "--out", str(tmp_path / "run"), str(script)],
        stdin=slave, stdout=slave, stderr=slave, env=_env(), close_fds=True, cwd=tmp_path,
    )
    os.close(slave)
    raw = b""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 1.0)
        if ready:
            try:
                chunk = os.read(master, 1 << 16)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            raw += chunk
        elif proc.poll() is not None:
            break
    proc.wait(timeout=60)
    os.close(master)
    assert proc.returncode == 0
    text = raw.decode("utf-8", "replace")
    assert STATUS in text and "steps/s" in text and "loss" in text
    assert "worst ‖g‖/‖w‖" in text
    shown = _render(text)
    for i in range(0, 400, 50):  # every user line whole, on a line of its own
        assert f"user line {i} " + "x" * 30 in shown
    for i in range(0, 400, 80):
        assert f"user error line {i}" in shown
    assert not any(STATUS in line for line in shown), "the status line was left behind"
    assert any(line.startswith("gradsight · torch · 400 steps") for line in shown)


def test_no_live_line_when_piped(tmp_path):
    script = tmp_path / "train.py"
    script.write_text("import sys\n" + SCRIPT)
    proc = run_gradsight("run", "--out", str(tmp_path / "run"), str(script), env=_env())
    assert proc.returncode == 0
    assert STATUS not in proc.stderr and "\x1b[K" not in proc.stderr
    assert "\r" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("user error")]
    assert errors == [f"user error line {i}" for i in range(0, 400, 80)]


class _Terminal:
    def isatty(self) -> bool:
        return True


def test_enabled_only_on_a_terminal_outside_ci(monkeypatch):
    from gradsight.reports.live import enabled

    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("GRADSIGHT_NO_LIVE", raising=False)
    assert enabled(_Terminal())  # type: ignore[arg-type]
    monkeypatch.setenv("CI", "true")
    assert not enabled(_Terminal())  # type: ignore[arg-type]


def test_loss_moves_and_steps_per_second_are_real(tmp_path, monkeypatch):
    """The loss shown is the mean of the last LOSS_WINDOW steps' stored losses, re-read on
    every tick; steps/s is the step counter's change over wall time."""
    from gradsight.core.store import RunStore
    from gradsight.reports import live

    store = RunStore.create(tmp_path / "run")
    clock = {"t": 100.0, "step": 0}
    monkeypatch.setattr(live.time, "monotonic", lambda: clock["t"])
    status = live.LiveStatus(store.path, lambda: clock["step"])
    store.add_losses([(s, 2.0) for s in range(40)])
    store.flush()
    assert status.line() == "gradsight · step 0 · loss 2"
    store.add_losses([(40 + s, 1.0 + (s % 2)) for s in range(10)])  # mean of 20: 1.75
    store.flush()
    clock["t"], clock["step"] = 100.5, 50  # 50 steps in half a second
    line = status.line()
    assert "loss 1.75 ↓" in line and "100.0 steps/s" in line
    store.add_losses([(50 + s, 3.0) for s in range(20)])
    store.flush()
    clock["t"], clock["step"] = 101.0, 70
    line = status.line()
    assert "loss 3 ↑" in line and "70.0 steps/s" in line  # (70 - 0) / (101 - 100)
    store.close()
