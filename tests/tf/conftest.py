"""TensorFlow tests: skipped only where TensorFlow is not installed (``make test`` installs it)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import read_json, run_gradsight

pytest.importorskip("tensorflow")

# One thread each: these run TensorFlow in subprocesses, next to other work.
TF_ENV = {
    "OMP_NUM_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1", "TF_NUM_INTRAOP_THREADS": "1",
    "TF_CPP_MIN_LOG_LEVEL": "2", "TF_ENABLE_ONEDNN_OPTS": "0",
}


def gradsight_run(tmp_path: Path, script: Path, *args: str, name: str = "run") -> dict:
    """``gradsight run`` the script; returns the findings JSON (also checks --json == stored)."""
    out = tmp_path / name
    json_path = tmp_path / f"{name}.json"
    proc = run_gradsight("run", "--out", str(out), "--json", str(json_path), str(script), *args,
                         env=TF_ENV)
    assert proc.returncode == 0, proc.stderr[-3000:]
    doc = read_json(json_path)
    assert doc == read_json(out / "findings.json")
    doc["_stdout"] = proc.stdout
    return doc


def python_run(script: Path, *args: str) -> str:
    """The script under plain ``python``: its stdout."""
    import os

    proc = subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True,
                          timeout=600, env={**os.environ, **TF_ENV})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def problems(doc: dict) -> list[dict]:
    return [f for f in doc["findings"] if f["severity"] in ("error", "warning")]


def logged_run(tmp_path: Path, source: str, *args: str) -> tuple[dict, dict]:
    """``gradsight run`` a script (``source``, dedented) that writes its own JSON log to the
    path given after ``args``: (the findings JSON, the script's log)."""
    import json
    import textwrap

    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(source))
    doc = gradsight_run(tmp_path, script, *args, str(tmp_path / "log.json"))
    return doc, json.loads((tmp_path / "log.json").read_text())
