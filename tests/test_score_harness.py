"""The scoring harness never judges a case on what an earlier run left in a ``--keep`` folder:
a run that fails to write its findings is an error, not the old findings (a stale JSON from a
previous version of gradsight passed for this one's verdict on 34 cases once)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks" / "diagnosis"))

from score import rediagnose_case, run_case  # noqa: E402


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


def test_a_stored_run_is_diagnosed_again_and_a_missing_one_is_an_error(tmp_path: Path) -> None:
    torch = __import__("pytest").importorskip("torch")
    import gradsight

    torch.manual_seed(0)
    model = torch.nn.Linear(4, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(64, 4), torch.randn(64, 1)  # targets independent of the inputs
    with gradsight.watch(model, opt, out=tmp_path / "keep" / "case_b") as w:
        for _ in range(120):
            opt.zero_grad()
            torch.nn.functional.mse_loss(model(x), y).backward()
            opt.step()
    out = tmp_path / "judged"
    out.mkdir()
    (out / "case_b.json").write_text(json.dumps({"findings": [{"kind": "stale"}]}))
    run = rediagnose_case(tmp_path / "keep" / "case_b", out)
    assert run.error is None and run.returncode == 0
    stored = json.loads((out / "case_b.json").read_text())["findings"]
    assert [f["kind"] for f in run.findings] == [f["kind"] for f in stored] == \
        [f.kind for f in w.diagnosis.findings] == ["loss_not_decreasing"]
    missing = rediagnose_case(tmp_path / "keep" / "case_c", out)
    assert missing.findings == [] and "no stored run" in (missing.error or "")
