"""The seed examples get the diagnosis their root cause deserves (issue 3's "done when")."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, read_json, run_gradsight


def _problems(doc: dict) -> list[dict]:
    return [f for f in doc["findings"] if f["severity"] in ("error", "warning")]


def _run(tmp_path: Path, script: str, *args: str) -> dict:
    out = tmp_path / "run"
    json_path = tmp_path / "out.json"
    proc = run_gradsight("run", "--out", str(out), "--json", str(json_path),
                         str(EXAMPLES / script), *args)
    assert proc.returncode == 0, proc.stderr[-3000:]
    doc = read_json(json_path)
    assert doc == read_json(out / "findings.json")
    return doc


@pytest.mark.slow
def test_three_layer_identity_net_has_vanishing_gradient_at_first_layer(tmp_path: Path) -> None:
    doc = _run(tmp_path, "seed_000_001_identity.py", "3")
    assert doc["schema"] == "gradsight.findings/1" and doc["framework"] == "torch"
    assert doc["steps"] == 10_000
    problems = _problems(doc)
    # root cause first: the N(0, 1e-3) init, whose symptom is the vanishing gradient
    cause = problems[0]
    assert cause["kind"] == "poor_initialization" and cause["step"] == 0
    assert cause["where"][0] == "0.weight"
    assert cause["evidence"]["depth_gain"] < 1e-4  # collapses: ~1.3e-5 measured
    first = next(f for f in problems if f["kind"] == "vanishing_gradient")
    assert first["evidence"]["caused_by"] == "poor_initialization"
    assert first["where"][0] == "0.weight" and "0.bias" in first["where"]
    assert "4.weight" not in first["where"]  # the last layer is the healthy reference
    ratios = first["evidence"]["grad_to_weight_median"]
    reference = first["evidence"]["reference_grad_to_weight"]
    # measured facts: first layer |g|/|w| ~1e-3 against ~1 for the last layer
    assert 1e-4 < ratios["0.weight"] < 1e-2 and 0.3 < reference < 10
    stalled = [f for f in doc["findings"] if f["kind"] == "stalled_weights"]
    assert stalled and stalled[0]["evidence"]["caused_by"] in ("vanishing_gradient",
                                                              "poor_initialization")
    assert any("kaiming_normal_(model[0].weight" in fix for fix in first["fixes"])


@pytest.mark.slow
def test_two_layer_identity_net_plateau_is_not_a_finding(tmp_path: Path) -> None:
    doc = _run(tmp_path, "seed_000_001_identity.py", "2")
    assert _problems(doc) == []


@pytest.mark.slow
def test_xavier_fix_clears_the_three_layer_net(tmp_path: Path) -> None:
    doc = _run(tmp_path, "seed_000_001_identity.py", "3", "--xavier", "--steps", "3000")
    assert _problems(doc) == []


def test_seed_002_dangling_batchnorm_gets_no_gradient_and_redundant_bias(tmp_path: Path) -> None:
    doc = _run(tmp_path, "seed_002_batchnorm.py", "--steps", "60")
    problems = _problems(doc)
    assert [f["kind"] for f in problems] == ["no_gradient"]
    assert problems[0]["where"] == ["input_norm.weight", "input_norm.bias"]
    assert problems[0]["evidence"]["module_output_used"] is False
    info = [f for f in doc["findings"] if f["kind"] == "redundant_bias"]
    assert info and info[0]["severity"] == "info" and info[0]["where"] == ["layer_1.bias"]
    # batch norm does not block backprop: the layer before it is not flagged as vanishing
    assert not any(f["kind"] == "vanishing_gradient" for f in doc["findings"])


def test_seed_004_is_a_saturating_init_not_vanishing_gradients(tmp_path: Path) -> None:
    doc = _run(tmp_path, "seed_004_digits_cnn.py", "--steps", "60", "--batch-size", "64")
    kinds = {f["kind"] for f in doc["findings"]}
    assert "vanishing_gradient" not in kinds and "stalled_weights" not in kinds
    cause = _problems(doc)[0]
    assert cause["kind"] == "poor_initialization" and cause["where"][0] == "0.weight"
    ev = cause["evidence"]
    # measured facts: logits ~1e4-1e5, first-layer gradients ~1e4 (not vanishing), N(0, 1)
    # weights ~3x-30x the He std, and Adam moving each weight ~1e-3 of its size per step
    assert ev["output_rms"] > 1e3 and "saturates a softmax" in cause["summary"]
    assert ev["first_layer_grad_norm_median"] > 1e3
    assert all(r > 3 for r in ev["weight_std_vs_recommended"].values())
    assert 1e-4 < ev["first_layer_update_to_weight_median"] < 1e-2
    assert any("kaiming_normal_(model[0].weight" in fix for fix in cause["fixes"])


@pytest.mark.slow
def test_seed_004_glorot_init_is_healthy(tmp_path: Path) -> None:
    doc = _run(tmp_path, "seed_004_digits_cnn.py", "--glorot", "--steps", "300",
               "--batch-size", "64")
    assert _problems(doc) == []


def test_examples_run_plain_without_gradsight() -> None:
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / "seed_002_batchnorm.py"), "--steps", "5"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "final imitation loss" in proc.stdout


@pytest.mark.slow
def test_demo_diagnoses_then_clears(tmp_path: Path) -> None:
    proc = run_gradsight("demo", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    before, after = proc.stdout.split("after the fix", 1)
    assert "ERROR vanishing_gradient" in before and "0.weight" in before
    assert "no training problem found" in after and "WARNING" not in after
    assert "ERROR" not in after
