"""Every registered detector keeps the detector contract; ``diagnose`` orders and links findings.

New detectors are picked up from ``gradsight.core.detect.detectors()`` automatically and run on
every scenario below; ``KNOWN_KINDS`` makes sure the checks are not vacuous for the first six.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import math
from pathlib import Path

import numpy as np
import pytest

from gradsight.core.detect import DetectorInfo, detectors, diagnose
from gradsight.core.finding import Finding, Severity
from gradsight.core.run_view import RunView

from .synthetic import NAN, SyntheticRun, empty_run, healthy_loss, when

STEPS = range(0, 100, 5)


def _healthy(t):
    return SyntheticRun(t, "healthy").mlp([4, 16, 16, 1]).steps(STEPS)


def _nonfinite(t):
    return (
        SyntheticRun(t, "nonfinite").mlp([4, 16, 16, 1])
        .steps(STEPS, act={"2": {"act_nonfinite": when(lambda s: s >= 50, 4, 0)}},
               weight_norm={"2.weight": when(lambda s: s >= 55, NAN, 1.0)},
               loss=when(lambda s: s >= 55, NAN, healthy_loss))
    )


def _no_gradient(t):
    return (
        SyntheticRun(t, "no_gradient").batchnorm("bn", 4, used=False).mlp([4, 16, 1])
        .steps(STEPS, has_grad={"bn.weight": 0.0, "bn.bias": 0.0})
    )


def _not_optimized(t):
    return (
        SyntheticRun(t, "not_optimized").layer("0", shape=(16, 4), lr=0.0).act("1")
        .layer("2", shape=(1, 16), optimized=False)
        .steps(STEPS, update_to_weight={"0.weight": 0.0, "0.bias": 0.0})
    )


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


def _redundant_bias(t):
    return (
        SyntheticRun(t, "redundant_bias")
        .layer("0", shape=(16, 4)).batchnorm("1", 16).act("2").layer("3", shape=(1, 16))
        .steps(STEPS, grad_to_weight={"0.bias": 1e-9})
    )


def _entities_only(t):
    return SyntheticRun(t, "entities_only").mlp([4, 16, 16, 1])


def _single_step(t):
    return SyntheticRun(t, "single_step").mlp([4, 16, 1]).steps([0])


SCENARIOS = {
    "healthy": _healthy,
    "nonfinite": _nonfinite,
    "no_gradient": _no_gradient,
    "not_optimized": _not_optimized,
    "vanishing_and_stalled": _vanishing_and_stalled,
    "stalled_only": _stalled_only,
    "redundant_bias": _redundant_bias,
    "entities_only": _entities_only,
    "single_step": _single_step,
}
KNOWN_KINDS = {
    "nonfinite": "nonfinite",
    "no_gradient": "no_gradient",
    "not_optimized": "not_optimized",
    "vanishing_gradient": "vanishing_and_stalled",
    "stalled_weights": "stalled_only",
    "redundant_bias": "redundant_bias",
}
DETECTORS = detectors()


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, RunView]:
    base = tmp_path_factory.mktemp("conformance")
    return {name: build(base).open() for name, build in SCENARIOS.items()}


@pytest.fixture(scope="module")
def empty(tmp_path_factory) -> RunView:
    return empty_run(tmp_path_factory.mktemp("empty"))


def _id(info: DetectorInfo) -> str:
    return info.kind


def _serial(findings: list[Finding]) -> str:
    return json.dumps([f.to_dict() for f in findings], sort_keys=True, allow_nan=False)


def test_the_known_detectors_are_registered():
    assert set(KNOWN_KINDS) <= {d.kind for d in DETECTORS}
    priorities = [d.priority for d in DETECTORS]
    assert priorities == sorted(priorities)


@pytest.mark.parametrize("kind, scenario", sorted(KNOWN_KINDS.items()))
def test_each_known_kind_has_a_scenario_that_produces_it(runs, kind, scenario):
    (info,) = [d for d in DETECTORS if d.kind == kind]
    assert info.detect(runs[scenario]), f"{scenario} should produce {kind}"


def test_healthy_scenario_has_no_warning_or_error(runs):
    assert [f for f in diagnose(runs["healthy"]) if f.severity != Severity.INFO] == []


@pytest.mark.parametrize("info", DETECTORS, ids=_id)
def test_kind_is_the_module_kind(info):
    module = importlib.import_module(info.detect.__module__)
    assert module.__name__.startswith("gradsight.detectors.")
    assert info.kind == module.KIND
    assert isinstance(info.priority, int)


@pytest.mark.parametrize("info", DETECTORS, ids=_id)
def test_empty_run_gives_no_finding(info, empty):
    assert info.detect(empty) == []


@pytest.mark.parametrize("info", DETECTORS, ids=_id)
def test_run_with_entities_but_no_numbers_gives_no_finding(info, runs):
    assert info.detect(runs["entities_only"]) == []


@pytest.mark.parametrize("info", DETECTORS, ids=_id)
@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_pure_function_of_the_run(info, scenario, runs):
    run = runs[scenario]
    db = Path(run.folder) / "run.sqlite"
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    first, second = info.detect(run), info.detect(run)
    assert _serial(first) == _serial(second)
    fresh = RunView.open(run.folder)  # a second reader of the same folder agrees
    try:
        assert _serial(info.detect(fresh)) == _serial(first)
    finally:
        fresh.close()
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before


@pytest.mark.parametrize("info", DETECTORS, ids=_id)
@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_findings_keep_the_contract(info, scenario, runs):
    run = runs[scenario]
    names = {e.name for role in ("param", "module") for e in run.entities(role)} | {"loss"}
    for finding in info.detect(run):
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
@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
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
        .steps(STEPS, grad_to_weight={"0.weight": 1e-5}, update_to_weight={"0.bias": 1e-8})
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
