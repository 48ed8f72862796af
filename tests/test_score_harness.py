"""The scoring harness never judges a case on what an earlier run left in a ``--keep`` folder:
a run that fails to write its findings is an error, not the old findings (a stale JSON from a
previous version of gradsight passed for this one's verdict on 34 cases once)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks" / "diagnosis"))

from score import run_case  # noqa: E402


def test_a_failed_run_is_an_error_not_the_kept_findings(tmp_path: Path) -> None:
    case = tmp_path / "case_a.py"
    case.write_text("print('never run')\n")
    keep = tmp_path / "keep"
    (keep / "case_a").mkdir(parents=True)
    (keep / "case_a" / "run.sqlite").write_text("old")
    (keep / "case_a.json").write_text(json.dumps(
        {"findings": [{"kind": "dead_units", "severity": "error", "where": [], "step": 0}]}))
    run = run_case(case, keep, python="/bin/false")  # exits 1 at once, writes nothing
    assert run.findings == [] and run.error is not None and "no findings JSON" in run.error
    assert not (keep / "case_a.json").exists() and not (keep / "case_a").exists()
