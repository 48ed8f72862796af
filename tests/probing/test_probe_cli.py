"""``gradsight probe SCRIPT``: stops at the first optimizer step and audits the init."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, read_json, run_gradsight

pytest.importorskip("torch")


def _probe(tmp_path: Path, script: Path, *args: str) -> tuple[dict, str]:
    out = tmp_path / "probe.json"
    proc = run_gradsight("probe", "--json", str(out), str(script), *args, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return read_json(out), proc.stdout


@pytest.mark.parametrize("seed", ["0", "1"])
def test_probe_names_seed_003_overflow_layer_and_first_layer(tmp_path: Path, seed: str) -> None:
    doc, stdout = _probe(tmp_path, EXAMPLES / "seed_003_deep_stack.py", "--seed", seed)
    # the script's own measurement (printed before training) is the oracle
    printed = int(stdout.split("first non-finite layer ")[1].split()[0])
    assert printed in (37, 38)
    assert doc["schema"] == "gradsight.findings/1" and doc["steps"] == 0
    kinds = [f["kind"] for f in doc["findings"]]
    assert kinds == ["nonfinite", "poor_initialization"]
    assert doc["findings"][0]["where"][0] == str(printed)
    assert doc["findings"][1]["where"][0] == "0.weight"
    layers = doc["probe"]["layers"]
    assert len(layers) == 100 and doc["probe"]["status"] == "probed"
    assert 8.0 < layers[5]["gain"] < 12.0 and layers[5]["recommended_init"] == "xavier"
    assert 0.7 < layers[5]["predicted_gain"] < 1.3
    assert "\n0 " not in stdout  # stopped before the first update: the loop never printed


def test_probe_healthy_scale_and_collapse(tmp_path: Path) -> None:
    doc, stdout = _probe(tmp_path, EXAMPLES / "seed_003_deep_stack.py", "--scale", "0.05")
    assert [f["kind"] for f in doc["findings"]] == ["poor_initialization"]
    assert doc["findings"][0]["evidence"]["direction"] == "collapses"
    assert doc["probe"]["layers"][-1]["out_std"] < 1e-25
    doc, stdout = _probe(tmp_path, EXAMPLES / "seed_003_deep_stack.py", "--scale", "0.1")
    assert doc["findings"] == [] and "initialization looks healthy" in stdout


def test_probe_three_layer_seed_names_the_collapsed_first_layer(tmp_path: Path) -> None:
    doc, stdout = _probe(tmp_path, EXAMPLES / "seed_000_001_identity.py", "3")
    # what `gradsight run` says of the same script at step 0: the init, and caused by it,
    # gradients that vanish before the first layer
    assert [f["kind"] for f in doc["findings"]] == ["poor_initialization", "vanishing_gradient"]
    assert doc["findings"][1]["evidence"]["caused_by"] == "poor_initialization"
    assert doc["findings"][1]["where"][0] == "0.weight"
    finding = doc["findings"][0]
    assert finding["where"][0] == "0.weight" and finding["evidence"]["direction"] == "collapses"
    layers = {layer["name"]: layer for layer in doc["probe"]["layers"]}
    assert layers["0"]["followed_by"] == "relu" and layers["0"]["recommended_init"] == "he"
    assert layers["4"]["recommended_init"] == "xavier"
    assert any("kaiming_normal_(model[0].weight" in fix for fix in finding["fixes"])


def test_probe_script_that_never_steps_runs_to_its_end(tmp_path: Path, write_script) -> None:
    script = write_script("""
        import torch
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
        model(torch.randn(5, 4)).sum().backward()
        print("done")
    """)
    doc, stdout = _probe(tmp_path, script)
    assert "done" in stdout and doc["probe"]["status"] == "finished"
    assert [layer["name"] for layer in doc["probe"]["layers"]] == ["0", "1", "2"]
    assert doc["probe"]["layers"][0]["grad_std"] > 0 and doc["findings"] == []


def test_probe_seed_004_cnn_explodes_to_softmax_saturating_logits(tmp_path: Path) -> None:
    doc, _ = _probe(tmp_path, EXAMPLES / "seed_004_digits_cnn.py", "--batch-size", "32")
    assert [f["kind"] for f in doc["findings"]] == ["poor_initialization"]
    finding = doc["findings"][0]
    assert finding["where"][0] == "0.weight" and finding["evidence"]["direction"] == "explodes"
    assert finding["evidence"]["output_rms"] > 1e3  # logits ~1e4: a one-hot softmax
    layers = {layer["name"]: layer for layer in doc["probe"]["layers"]}
    assert layers["0"]["type"] == "Conv2d" and layers["0"]["recommended_init"] == "he"
    assert layers["10"]["recommended_init"] == "xavier"
    predicted = finding["evidence"]["predicted_with_recommended_init"]
    assert predicted["output_rms"] < 10 and predicted["nonfinite"] is False
