"""Runs that die: a run that crashes, produces NaN, is interrupted or killed is the run that
most needs a report (CONTRACT.md). Real subprocesses and real signals throughout."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest

from gradsight.core.run_view import RunView
from gradsight.core.store import RunStore
from tests.conftest import Background, read_json, run_gradsight

# Small shared test machine: one intra-op thread keeps tiny-model steps fast and steady.
ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
POSIX_ONLY = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


def gradsight(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return run_gradsight(*args, cwd=cwd, env=ENV, timeout=180)


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def open_view(folder: Path) -> RunView:
    return RunView.open(folder)


# -- scripts ---------------------------------------------------------------------------------------

CRASH_SCRIPT = """\
import torch
from torch import nn

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
opt = torch.optim.SGD(model.parameters(), lr=0.05)
x = torch.randn(64, 4)
y = x.sum(1, keepdim=True)


def next_batch(step):
    if step == 7:
        raise RuntimeError("data loader exploded at step 7")
    return x, y


for step in range(20):
    xb, yb = next_batch(step)
    opt.zero_grad()
    loss = ((model(xb) - yb) ** 2).mean()
    loss.backward()
    opt.step()
    print(f"step {step} done", flush=True)
"""

NAN_SCRIPT = """\
import torch
from torch import nn

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
opt = torch.optim.SGD(model.parameters(), lr=0.05)
x = torch.randn(64, 4)
y = x.sum(1, keepdim=True)
for step in range(20):
    opt.zero_grad()
    loss = ((model(x) - y) ** 2).mean()
    if step == 5:
        loss = loss * float("inf")
    loss.backward()
    opt.step()
print("final loss", loss.item())
"""

# Trains until stopped from outside; says where it is every 10 steps. The time cap only
# guards against a test that died before it could stop the script.
LONG_SCRIPT = """\
import sys
import time

import torch
from torch import nn

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
opt = torch.optim.SGD(model.parameters(), lr=0.01)
x = torch.randn(64, 4)
y = x.sum(1, keepdim=True)
started = time.monotonic()
step = 0
while time.monotonic() - started < 120:
    opt.zero_grad()
    loss = ((model(x) - y) ** 2).mean()
    loss.backward()
    opt.step()
    if step % 10 == 0:
        print(f"at step {step}", flush=True)
    step += 1
sys.exit(99)
"""


# -- a crash ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def crashed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("crash")
    script = write(root, "crashing_train.py", CRASH_SCRIPT)
    out, copy = root / "run", root / "copy.json"
    proc = gradsight("run", "--out", str(out), "--json", str(copy), str(script), cwd=root)
    return {"out": out, "copy": copy, "proc": proc, "script": script}


def test_crash_shows_traceback_and_still_diagnoses(crashed: dict[str, Any]) -> None:
    proc, out = crashed["proc"], crashed["out"]
    assert proc.returncode == 1
    # The script's own error, as Python shows it.
    assert "Traceback (most recent call last)" in proc.stderr
    assert "RuntimeError: data loader exploded at step 7" in proc.stderr
    assert "crashing_train.py" in proc.stderr
    assert "next_batch" in proc.stderr
    # The script's output before the crash is intact, and the diagnosis follows it.
    lines = proc.stdout.splitlines()
    assert lines[:7] == [f"step {i} done" for i in range(7)]
    assert "run crashed" in proc.stdout
    assert "7 steps" in proc.stdout
    doc = read_json(out / "findings.json")
    assert doc["schema"] == "gradsight.findings/1"
    assert doc["framework"] == "torch"
    assert doc["steps"] == 7
    assert read_json(crashed["copy"]) == doc
    view = open_view(out)
    try:
        assert view.meta["status"] == "crashed"
        assert "data loader exploded at step 7" in view.meta["error"]
        np.testing.assert_array_equal(view.loss.steps, np.arange(7))
    finally:
        view.close()


def test_crash_traceback_starts_in_the_script(crashed: dict[str, Any]) -> None:
    stderr = crashed["proc"].stderr
    tb = stderr[stderr.index("Traceback (most recent call last)"):].splitlines()
    assert "crashing_train.py" in tb[1], tb[:4]
    assert "runpy" not in stderr
    assert "gradsight" not in "\n".join(line for line in tb if line.startswith("  File"))


# -- NaN ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def nan_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("nan")
    script = write(root, "nan_train.py", NAN_SCRIPT)
    out, copy = root / "run", root / "nan.json"
    proc = gradsight("run", "--out", str(out), "--json", str(copy), str(script), cwd=root)
    return {"root": root, "script": script, "out": out, "copy": copy, "proc": proc}


def test_nan_run_reports_nonfinite_error(nan_run: dict[str, Any]) -> None:
    proc = nan_run["proc"]
    assert proc.returncode == 0, proc.stderr  # the script itself did not fail
    assert "final loss nan" in proc.stdout
    doc = read_json(nan_run["copy"])
    assert doc == read_json(nan_run["out"] / "findings.json")
    assert doc["steps"] == 20
    nonfinite = [f for f in doc["findings"] if f["kind"] == "nonfinite"]
    assert len(nonfinite) == 1
    finding = nonfinite[0]
    assert finding["severity"] == "error"
    assert finding["step"] == 5  # the loss was multiplied by inf at step 5
    assert doc["findings"][0]["kind"] == "nonfinite"  # the root cause comes first
    assert finding["where"]
    assert "nonfinite" in proc.stdout
    assert "1 error(s)" in proc.stdout


def test_nan_run_with_fail_on_error_exits_1(nan_run: dict[str, Any]) -> None:
    proc = gradsight("run", "--out", str(nan_run["root"] / "strict"), "--fail-on", "error",
                     str(nan_run["script"]), cwd=nan_run["root"])
    assert proc.returncode == 1, proc.stderr
    doc = read_json(nan_run["root"] / "strict" / "findings.json")
    assert [f["kind"] for f in doc["findings"] if f["severity"] == "error"] == ["nonfinite"]


def test_nan_run_leaks_no_warnings_of_gradsight(nan_run: dict[str, Any]) -> None:
    assert "RuntimeWarning" not in nan_run["proc"].stderr
    assert "gradsight" not in nan_run["proc"].stderr


# -- signals -------------------------------------------------------------------------------------


class Watched(Background):
    """``gradsight run --out DIR LONG_SCRIPT`` in the background, its stdout read line by line."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.out = root / "run"
        script = write(root, "long_train.py", LONG_SCRIPT)
        super().__init__(["run", "--out", str(self.out), str(script)], root, env=ENV,
                         prefix="at step ")


@pytest.fixture
def watched(tmp_path: Path) -> Iterator[Watched]:
    run = Watched(tmp_path)
    try:
        yield run
    finally:
        run.close()


@POSIX_ONLY
def test_sigint_interrupts_with_a_report_and_ends_by_sigint(watched: Watched) -> None:
    seen = watched.wait_for_step(30)
    watched.proc.send_signal(signal.SIGINT)
    # as Python ends on an unhandled KeyboardInterrupt: killed by SIGINT (a shell shows 130)
    assert watched.finish() == -signal.SIGINT, watched.stderr
    assert "KeyboardInterrupt" in watched.stderr
    assert "run interrupted" in watched.stdout
    assert "no training problem found" in watched.stdout
    assert (watched.out / "findings.json").is_file()
    doc = read_json(watched.out / "findings.json")
    assert doc["framework"] == "torch"
    assert doc["steps"] > seen
    view = open_view(watched.out)
    try:
        assert view.meta["status"] == "interrupted"
        assert view.meta["exit_code"] == 130
        steps = view.loss.steps
        # Every step trained so far, not only the recorded ones, has its loss.
        np.testing.assert_array_equal(steps, np.arange(len(steps)))
        assert steps[-1] >= seen
        assert len(steps) == doc["steps"]
        assert np.isfinite(view.loss.values).all()
    finally:
        view.close()


@POSIX_ONLY
def test_sigterm_exits_143_with_findings(watched: Watched) -> None:
    seen = watched.wait_for_step(20)
    watched.proc.terminate()
    assert watched.finish() == 143, watched.stderr
    assert (watched.out / "findings.json").is_file()
    doc = read_json(watched.out / "findings.json")
    assert doc["schema"] == "gradsight.findings/1"
    assert doc["steps"] > seen
    assert "gradsight" in watched.stdout and "run folder:" in watched.stdout
    view = open_view(watched.out)
    try:
        assert view.meta["status"] != "running"
        assert view.meta["exit_code"] == 143
    finally:
        view.close()


@POSIX_ONLY
def test_sigkill_leaves_a_store_that_report_reads(watched: Watched, tmp_path: Path) -> None:
    watched.wait_for_step(200)
    time.sleep(1.5)  # several commit intervals of the store (0.5 s)
    watched.proc.kill()
    assert watched.finish() == -signal.SIGKILL
    assert not (watched.out / "findings.json").exists()  # nothing ran after the kill

    proc = gradsight("report", str(watched.out), "--json", str(tmp_path / "killed.json"))
    assert proc.returncode == 0, proc.stderr
    assert "gradsight" in proc.stdout and "torch" in proc.stdout
    assert "run killed" in proc.stdout  # marked running, and its process is gone
    doc = read_json(tmp_path / "killed.json")
    assert doc["framework"] == "torch"
    assert doc["steps"] > 200  # step 200 had finished when the script said so
    assert not [f for f in doc["findings"] if f["severity"] in ("error", "warning")], doc
    # The run never wrote its own findings.json; the report supplies it.
    assert read_json(watched.out / "findings.json") == doc

    view = open_view(watched.out)
    try:
        assert view.steps > 200
        steps = view.loss.steps
        assert len(steps) >= 100
        np.testing.assert_array_equal(steps[:100], np.arange(100))
        assert 0 in view.recorded_steps
    finally:
        view.close()


# -- unreadable run folders ------------------------------------------------------------------------


def _random_bytes(n: int, seed: int = 0) -> bytes:
    data = random.Random(seed).randbytes(n)
    assert not data.startswith(b"SQLite format 3")
    return data


@pytest.mark.parametrize("content", [_random_bytes(8192), b""], ids=["random", "empty"])
def test_report_refuses_an_unreadable_store_without_touching_it(
    tmp_path: Path, content: bytes
) -> None:
    folder = tmp_path / "broken-run"
    folder.mkdir()
    db = folder / "run.sqlite"
    db.write_bytes(content)
    proc = gradsight("report", str(folder), "--json", str(tmp_path / "f.json"), cwd=tmp_path)
    assert proc.returncode == 2
    assert str(db) in proc.stderr  # names the file
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""
    assert db.read_bytes() == content  # the evidence is left as it was
    assert sorted(p.name for p in folder.iterdir()) == ["run.sqlite"]
    assert not (tmp_path / "f.json").exists()


def test_report_on_a_folder_without_store(tmp_path: Path) -> None:
    folder = tmp_path / "not-a-run"
    folder.mkdir()
    (folder / "notes.txt").write_text("hello")
    proc = gradsight("report", str(folder), cwd=tmp_path)
    assert proc.returncode == 2
    assert "run.sqlite" in proc.stderr
    assert str(folder) in proc.stderr
    assert "Traceback" not in proc.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]


def test_report_on_a_missing_folder(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-run"
    proc = gradsight("report", str(missing), cwd=tmp_path)
    assert proc.returncode == 2
    assert str(missing) in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not missing.exists()


def test_report_on_a_store_damaged_after_its_meta_page(tmp_path: Path) -> None:
    folder = tmp_path / "damaged-run"
    store = RunStore.create(folder)
    store.set_meta(status="finished", framework="torch", steps=3000)
    store.add_losses([(s, 1.0 / (s + 1)) for s in range(3000)])
    store.add_stats([(s, "param", "0.weight", "grad_norm", 1.0) for s in range(3000)])
    store.add_stats([(s, "param", "0.weight", "has_grad", 1.0) for s in range(3000)])
    store.close()
    db = folder / "run.sqlite"
    data = bytearray(db.read_bytes())
    page = 4096
    assert len(data) > 10 * page
    # Pages 1 (schema) and 2 (meta) intact; everything after them overwritten.
    data[2 * page:] = _random_bytes(len(data) - 2 * page, seed=1)
    db.write_bytes(bytes(data))
    proc = gradsight("report", str(folder), cwd=tmp_path)
    assert proc.returncode == 2
    assert str(db) in proc.stderr
    assert "Traceback" not in proc.stderr


# -- no torch at all -----------------------------------------------------------------------


def test_plain_python_script_without_torch(tmp_path: Path) -> None:
    write(tmp_path, "no_torch.py", """\
        import sys
        total = sum(i * i for i in range(1000))
        print("total", total)
        print("torch loaded:", "torch" in sys.modules)
    """)
    proc = gradsight("run", "--out", "run", "--fail-on", "warning", "no_torch.py", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "total 332833500" in proc.stdout
    assert "torch loaded: False" in proc.stdout  # gradsight does not import torch itself
    assert "nothing was judged" in proc.stdout  # never a green verdict on zero steps
    assert "0 error(s), 0 warning(s)" in proc.stdout
    doc = read_json(tmp_path / "run" / "findings.json")
    assert doc["schema"] == "gradsight.findings/1"
    assert doc["steps"] == 0
    assert doc["findings"] == []
    view = open_view(tmp_path / "run")
    try:
        assert view.meta["status"] == "finished"
        assert view.steps == 0
        assert len(view.loss.steps) == 0
    finally:
        view.close()


DIAGNOSIS_BUG_SCRIPT = """\
import torch
import gradsight.run.session as session


def _a_bug_of_ours(*args, **kwargs):
    raise RuntimeError("a bug of ours")


session.diagnose_folder = _a_bug_of_ours  # the diagnosis fails; the training does not
torch.manual_seed(0)
model = torch.nn.Linear(4, 1)
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for _ in range(5):
    opt.zero_grad()
    model(torch.randn(8, 4)).pow(2).mean().backward()
    opt.step()
"""


def test_a_diagnosis_that_fails_is_no_verdict_and_fails_the_check(tmp_path: Path) -> None:
    """gradsight's own failure after a good run: no "no training problem found" (a sweep once
    printed it, with "0 parameters watched", for a run whose diagnosis raised an ImportError),
    the findings JSON says why, ``--fail-on`` fails, and the recorded steps are kept for
    ``gradsight report`` to diagnose again."""
    script = write(tmp_path, "train.py", DIAGNOSIS_BUG_SCRIPT)
    done = gradsight("run", "--fail-on", "warning", "--out", str(tmp_path / "run"), "--json",
                     str(tmp_path / "out.json"), str(script), cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "no verdict: the diagnosis failed (RuntimeError: a bug of ours)" in " ".join(
        done.stdout.split())
    assert "no training problem found" not in done.stdout
    doc = read_json(tmp_path / "out.json")
    assert doc["findings"] == [] and doc["diagnosis_failed"] == "RuntimeError: a bug of ours"
    again = gradsight("report", str(tmp_path / "run"))
    assert again.returncode == 0 and "5 steps" in again.stdout
    without_check = gradsight("run", "--out", str(tmp_path / "run2"), str(script), cwd=tmp_path)
    assert without_check.returncode == 0  # the script's own status
