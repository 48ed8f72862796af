"""Output failures never swallow the script's result: its exit status and its output win;
gradsight says what failed in one line and keeps what it can (a diagnosis printed from memory
when the run folder cannot be written).

Read-only paths are made with permission bits (as root, under ``setpriv`` without the
capabilities that let root write anywhere); a full disk is a 256 KiB tmpfs (root on Linux) or,
in ``make bench-faults``, a file-size limit (``RLIMIT_FSIZE``, any user).
"""

from __future__ import annotations

import json
import resource
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.faults.conftest import gradsight, no_traceback, read_only, write
from tests.faults.scripts import exit_3

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")


def own_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("gradsight:")]


def script_result_won(proc: Any, steps: int = 30) -> None:
    """The script's exit status (3) and output, a diagnosis of every step, no traceback."""
    assert proc.returncode == 3, proc.stderr[-2000:]
    assert "script result" in proc.stdout
    assert f"· {steps} steps · run failed" in proc.stdout  # the terminal diagnosis
    no_traceback(proc.stderr)


@pytest.fixture
def script(tmp_path: Path) -> Path:
    return write(tmp_path, "train.py", exit_3())


def test_json_to_a_read_only_folder(tmp_path: Path, script: Path, as_user: list[str]) -> None:
    locked = read_only(tmp_path / "locked")
    proc = gradsight("run", "--out", "run", "--json", str(locked / "f.json"), script.name,
                     cwd=tmp_path, prefix=as_user)
    script_result_won(proc)
    [line] = own_lines(proc.stderr)
    assert str(locked / "f.json") in line and "Permission denied" in line
    assert json.loads((tmp_path / "run" / "findings.json").read_text())["steps"] == 30
    assert (tmp_path / "run" / "report.html").is_file()
    assert list(locked.iterdir()) == []


def test_out_inside_a_read_only_folder(tmp_path: Path, script: Path,
                                       as_user: list[str]) -> None:
    locked = read_only(tmp_path / "locked")
    proc = gradsight("run", "--out", str(locked / "run"), "--json", "f.json", script.name,
                     cwd=tmp_path, prefix=as_user)
    script_result_won(proc)
    [line] = own_lines(proc.stderr)
    assert "cannot create the run folder" in line and "kept in memory" in line
    assert "not written" in proc.stdout
    assert list(locked.iterdir()) == []
    doc = json.loads((tmp_path / "f.json").read_text())  # what could be kept, was
    assert doc["steps"] == 30 and doc["framework"] == "torch"


def test_read_only_working_directory(tmp_path: Path, script: Path, as_user: list[str]) -> None:
    locked = read_only(tmp_path / "locked")
    proc = gradsight("run", "--json", str(tmp_path / "f.json"), str(script), cwd=locked,
                     prefix=as_user)
    script_result_won(proc)
    [line] = own_lines(proc.stderr)
    assert "gradsight-runs/train-" in line and "None" not in line
    assert json.loads((tmp_path / "f.json").read_text())["steps"] == 30
    assert list(locked.iterdir()) == []


def test_report_of_a_read_only_run_folder(tmp_path: Path, stored_run: Path,
                                          as_user: list[str]) -> None:
    run = tmp_path / "run"
    shutil.copytree(stored_run, run)
    (run / "findings.json").write_text("{ not json")
    read_only(run)
    proc = gradsight("report", "run", cwd=tmp_path, prefix=as_user)
    assert proc.returncode == 0, proc.stderr
    no_traceback(proc.stderr)
    assert "300 steps" in proc.stdout  # read (SQLite cannot make its WAL index here)
    lines = own_lines(proc.stderr)  # findings.json, report.html: one line each
    assert any("findings.json" in line and "Permission denied" in line for line in lines)
    assert len(lines) == 2, lines


def full_disk_row(tmp_path: Path, script: Path, folder: Path, **kwargs: Any) -> None:
    """400 steps at --every 1 need ~1 MiB of store: the disk fills up mid-run."""
    write(tmp_path, "train.py", exit_3(400))
    proc = gradsight("run", "--every", "1", "--out", str(folder), "--json",
                     str(tmp_path / "f.json"), script.name, cwd=tmp_path, **kwargs)
    script_result_won(proc, steps=400)
    [line] = own_lines(proc.stderr)
    assert "kept in memory" in line and "diagnosis covers every step" in line, line
    doc = json.loads((tmp_path / "f.json").read_text())
    assert doc["steps"] == 400  # the diagnosis saw every step
    report = gradsight("report", str(folder), cwd=tmp_path, **kwargs)  # the part on disk
    no_traceback(report.stderr)
    assert report.returncode in (0, 2), report.stderr


def test_a_full_disk_mid_run(tmp_path: Path, script: Path, small_disk: Path) -> None:
    full_disk_row(tmp_path, script, small_disk / "run")


@pytest.mark.faults_bench
def test_a_file_size_limit_mid_run(tmp_path: Path, script: Path) -> None:
    limit = 192 * 1024  # bytes per file: run.sqlite-wal outgrows it

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    full_disk_row(tmp_path, script, tmp_path / "run", preexec_fn=limited)
