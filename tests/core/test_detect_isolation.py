"""A detector that raises (a bug of ours) costs only its own findings: the other detectors still
judge the run, and an info finding names the missing check. Before, one failing check turned
the whole diagnosis into an empty one, which reads as a healthy run."""

from __future__ import annotations

from pathlib import Path

from gradsight.core.detect import DetectorInfo, detectors, diagnose
from gradsight.core.finding import Severity
from gradsight.detectors import nonfinite


def _broken(run):  # type: ignore[no-untyped-def]
    raise NameError("name 'records' is not defined")


def test_a_failing_check_leaves_the_others_findings_and_says_so(tmp_path: Path) -> None:
    run = nonfinite.SCENARIOS["positive_nan_from_a_layer"].run(tmp_path, "nan")
    whole = diagnose(run)
    assert any(f.kind == "nonfinite" and f.severity == Severity.ERROR for f in whole)
    infos = detectors()
    broken = DetectorInfo("saturated_activation", 30, (), _broken)
    found = diagnose(run, [broken, *infos])
    kept = [f for f in found if f.kind != "watch_incomplete"]
    assert [f.to_dict() for f in kept] == [f.to_dict() for f in whole]
    missing = [f for f in found if f.kind == "watch_incomplete"]
    assert len(missing) == 1 and missing[0].severity == Severity.INFO
    assert missing[0].evidence["failed_check"] == "saturated_activation"
    assert "NameError" in missing[0].summary
