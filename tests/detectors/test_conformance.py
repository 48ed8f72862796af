"""Every registered detector keeps the detector contract; ``diagnose`` orders and links findings.

Detectors are picked up from ``gradsight.core.detect.detectors()`` with the cases each carries
(``SCENARIOS``: positive, healthy, boundary): every detector runs on every case, so the
contract checks see a finding of every kind, and each owner must find what its case expects.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pytest

from gradsight.core.detect import DetectorInfo, detectors, diagnose
from gradsight.core.diagnosis import open_view
from gradsight.core.finding import NEEDS_CAUSE, Finding, Severity
from gradsight.core.run_view import RunView

from gradsight.core.scenarios import KINDS_OF_CASE

from .synthetic import NAN, SyntheticRun, empty_run, healthy_loss, when, worded

STEPS = range(0, 100, 5)


def _vanishing_and_stalled(t):
    """SGD, N(0, 1e-3) init: layer 0 gets 1e-4 of the others' |g|/|w| and so barely moves."""
    return (
        SyntheticRun(t, "vanishing").mlp([4, 16, 16, 1])
        .steps(STEPS, grad_to_weight={"0.weight": 1e-5, "0.bias": 1e-5},
               update_to_weight={"0.weight": 1e-6, "0.bias": 1e-6})
    )


def _stalled_only(t):
    return (
        SyntheticRun(t, "stalled").mlp([4, 16, 16, 1])
        .steps(STEPS, update_to_weight={"2.weight": 1e-8})
    )


def _entities_only(t):
    return SyntheticRun(t, "entities_only").mlp([4, 16, 16, 1])


def _single_step(t):
    return SyntheticRun(t, "single_step").mlp([4, 16, 1]).steps([0])


LOCAL = {  # runs the diagnose tests below share
    "vanishing_and_stalled": _vanishing_and_stalled,
    "stalled_only": _stalled_only,
    "entities_only": _entities_only,
    "single_step": _single_step,
}
DETECTORS = detectors()
# Every detector's own cases, and every local run: all detectors are checked on all of them.
CASES = {f"{info.kind}:{name}": (info, case) for info in DETECTORS
         for name, case in info.scenarios.items()}
SCENARIOS = sorted(CASES) + sorted(LOCAL)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, RunView]:
    base = tmp_path_factory.mktemp("conformance")
    out = {name: build(base).open()
           for name, build in LOCAL.items()}
    for key, (_, case) in CASES.items():
        out[key] = case.run(base, key.replace(":", "-"))
    return out


@pytest.fixture(scope="module")
def empty(tmp_path_factory) -> RunView:
    return empty_run(tmp_path_factory.mktemp("empty"))


def _id(info: DetectorInfo) -> str:
    return info.kind


def _serial(findings: list[Finding]) -> str:
    return json.dumps([f.to_dict() for f in findings], sort_keys=True, allow_nan=False)


def test_detectors_are_registered_in_priority_order():
    priorities = [d.priority for d in DETECTORS]
    assert priorities == sorted(priorities) and len(DETECTORS) >= 12


@pytest.mark.parametrize("info", DETECTORS, ids=_id)
def test_every_detector_carries_positive_healthy_and_boundary_cases(info):
    prefixes = {name.split("_", 1)[0] for name in info.scenarios}
    assert set(KINDS_OF_CASE) <= prefixes, f"{info.kind} has cases {sorted(info.scenarios)}"
    assert any(case.expect is not None for case in info.scenarios.values())


@pytest.mark.parametrize("key", sorted(CASES))
def test_the_owning_detector_finds_what_its_case_expects(key, runs):
    info, case = CASES[key]
    # a finding that needs a cause stands only beside one (the diagnosis drops it alone)
    found = [f for f in info.detect(runs[key])
             if (case.expect == Severity.INFO or f.severity != Severity.INFO)
             and not f.evidence.get(NEEDS_CAUSE)]
    if case.expect is None:
        assert found == [], f"{key}: {case.why or 'expected no finding'}, got {found}"
        return
    assert len(found) == 1, f"{key}: expected one finding, got {found}"
    finding = found[0]
    assert finding.severity == case.expect, (key, finding.severity, finding.summary)
    assert set(case.where) <= set(finding.where), (key, finding.where)
    if case.first is not None:
        assert finding.where[0] == case.first, (key, finding.where)


@pytest.mark.parametrize("info", DETECTORS, ids=_id)
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_pure_function_of_the_run(info, scenario, runs):
    run = runs[scenario]
    db = Path(run.folder) / "run.sqlite"
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    first, second = info.detect(run), info.detect(run)
    assert _serial(first) == _serial(second)
    fresh, opened = open_view(run.folder)  # a second reader of the same folder agrees
    try:
        assert _serial(info.detect(fresh)) == _serial(first)
    finally:
        opened.close()
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before


@pytest.mark.parametrize("info", DETECTORS, ids=_id)
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_findings_keep_the_contract(info, scenario, runs):
    run = runs[scenario]
    names = {e.name for role in ("param", "module") for e in run.entities(role)} | {"loss"}
    for finding in info.detect(run):
        finding = worded(finding)
        assert finding.kind == info.kind
        assert isinstance(finding.severity, Severity)
        assert finding.where and all(isinstance(w, str) and w for w in finding.where)
        assert set(finding.where) <= names, "where names parameters/modules as the run does"
        assert len(set(finding.where)) == len(finding.where)
        assert isinstance(finding.step, int) and finding.step >= 0
        assert isinstance(finding.summary, str) and finding.summary.strip()
        assert "\n" not in finding.summary
        assert finding.fixes and all(isinstance(f, str) and f.strip() for f in finding.fixes)
        assert isinstance(finding.evidence, dict)


@pytest.mark.parametrize("info", DETECTORS, ids=_id)
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_findings_round_trip_through_json(info, scenario, runs):
    for finding in info.detect(runs[scenario]):
        data = finding.to_dict()
        text = json.dumps(data, allow_nan=False)  # raises on NaN/Inf
        again = Finding.from_dict(json.loads(text))
        assert again.to_dict() == data
        fields = ("kind", "severity", "where", "step", "summary", "fixes")
        assert [getattr(again, k) for k in fields] == [getattr(finding, k) for k in fields]


def test_to_dict_turns_nonfinite_and_numpy_evidence_into_json():
    finding = Finding(
        "nonfinite", Severity.ERROR, ["0.weight"], np.int64(3), "s",
        {"nan": math.nan, "inf": np.float64(np.inf), "neg": -math.inf,
         "nested": {"a": [np.float32(0.5), np.int64(2), None, True]}, 7: "key"},
        ["fix"],
    )
    data = finding.to_dict()
    assert data["evidence"]["nan"] == "nan"
    assert data["evidence"]["inf"] == "inf"
    assert data["evidence"]["neg"] == "-inf"
    assert data["evidence"]["nested"] == {"a": [0.5, 2, None, True]}
    assert data["evidence"]["7"] == "key"
    assert data["step"] == 3 and type(data["step"]) is int
    assert Finding.from_dict(json.loads(json.dumps(data, allow_nan=False))).to_dict() == data


# -- diagnose -------------------------------------------------------------------------------

def test_diagnose_puts_vanishing_gradient_before_the_stall_it_causes(runs):
    findings = diagnose(runs["vanishing_and_stalled"])
    kinds = [f.kind for f in findings]
    assert kinds.index("vanishing_gradient") < kinds.index("stalled_weights")
    vanishing = findings[kinds.index("vanishing_gradient")]
    stalled = findings[kinds.index("stalled_weights")]
    assert vanishing.where == ["0.weight", "0.bias"]
    assert stalled.where == ["0.weight", "0.bias"]
    assert stalled.evidence["caused_by"] == "vanishing_gradient"
    assert "caused_by" not in vanishing.evidence


def test_diagnose_links_through_the_owning_layer(tmp_path):
    """The vanishing weight explains its own layer's stalled bias: the layer is the overlap."""
    run = (
        SyntheticRun(tmp_path).mlp([4, 16, 16, 1])
        .steps(STEPS, grad_to_weight={"0.weight": 1e-5},
               update_to_weight={"0.weight": 5e-5, "0.bias": 1e-8})
        .open()
    )
    findings = diagnose(run)
    assert [f.kind for f in findings] == ["vanishing_gradient", "stalled_weights"]
    assert findings[0].where == ["0.weight"] and findings[1].where == ["0.bias"]
    assert findings[1].evidence["caused_by"] == "vanishing_gradient"


def test_diagnose_does_not_link_a_stall_on_other_layers(runs):
    (stalled,) = diagnose(runs["stalled_only"])
    assert stalled.kind == "stalled_weights"
    assert "caused_by" not in stalled.evidence


def test_diagnose_root_cause_first_and_info_last(tmp_path):
    run = (
        SyntheticRun(tmp_path)
        .layer("0", shape=(16, 4)).batchnorm("1", 16).act("2")
        .layer("3", shape=(16, 16), optimized=False).act("4").layer("5", shape=(1, 16))
        .steps(STEPS, grad_to_weight={"0.bias": 1e-9},
               loss=when(lambda s: s >= 90, NAN, healthy_loss))
        .open()
    )
    kinds = [f.kind for f in diagnose(run)]
    assert kinds == ["nonfinite", "not_optimized", "redundant_bias"]


def test_diagnose_on_an_empty_run(empty):
    assert diagnose(empty) == []
