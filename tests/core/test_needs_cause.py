"""A finding marked ``NEEDS_CAUSE`` (a short run's loss at the best constant prediction's: a slow
start or a model that cannot learn) is kept by the diagnosis only where another finding explains
it, and then says which (``caused_by``)."""

from __future__ import annotations

from pathlib import Path

from gradsight.core.detect import DetectorInfo, diagnose
from gradsight.core.finding import NEEDS_CAUSE, Finding, Severity
from gradsight.detectors import loss_not_decreasing


def _loss(run):  # type: ignore[no-untyped-def]
    where = [p.name for p in run.entities("param")]
    return [Finding("loss_not_decreasing", Severity.WARNING, where, 0, "flat",
                    {NEEDS_CAUSE: True})]


def _vanishing(run):  # type: ignore[no-untyped-def]
    where = [p.name for p in run.entities("param")][:1]
    return [Finding("vanishing_gradient", Severity.ERROR, where, 0, "vanishes", {})]


LOSS = DetectorInfo("loss_not_decreasing", 50, ("vanishing_gradient",), _loss)
VANISHING = DetectorInfo("vanishing_gradient", 25, (), _vanishing)
NOTHING = DetectorInfo("vanishing_gradient", 25, (), lambda run: [])


def _run(tmp_path: Path):  # type: ignore[no-untyped-def]
    scenario = loss_not_decreasing.SCENARIOS["boundary_short_run_at_the_reference"]
    return scenario.run(tmp_path, "short")


def test_kept_with_a_cause(tmp_path: Path) -> None:
    found = diagnose(_run(tmp_path), [VANISHING, LOSS])
    assert [f.kind for f in found] == ["vanishing_gradient", "loss_not_decreasing"]
    assert found[1].evidence["caused_by"] == "vanishing_gradient"


def test_dropped_alone(tmp_path: Path) -> None:
    assert diagnose(_run(tmp_path), [NOTHING, LOSS]) == []


def test_the_real_detector_marks_a_short_run_at_the_reference(tmp_path: Path) -> None:
    """50 steps at the reference: said only with a cause; the whole diagnosis has none here."""
    run = _run(tmp_path)
    (alone,) = loss_not_decreasing.detect(run)
    assert alone.evidence[NEEDS_CAUSE] is True
    assert "loss_not_decreasing" not in [f.kind for f in diagnose(run)]
