"""One diagnosis engine: ``gradsight probe`` (one forward/backward at initialization) and
``gradsight run`` (the training) judge the same script's initialization alike, because the
probe is a one-step run judged by the same detectors.

The case that once split them: a 10-layer sigmoid MLP with PyTorch's default init. The probe
said ``poor_initialization`` and recommended Xavier (while predicting a gain of 4.16 under it);
the run said the init was already right for sigmoid. The truth is the run's: the weights are
scaled for sigmoid, and sigmoid's derivative (at most 0.25) shrinks the gradient at every layer.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import read_json, run_gradsight

SIGMOID_MLP = """
import torch
torch.manual_seed(0)
layers = []
for i in range(10):
    layers += [torch.nn.Linear(32, 32), torch.nn.{act}()]
model = torch.nn.Sequential(*layers, torch.nn.Linear(32, 1))
{init}
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for step in range(60):
    x = torch.randn(64, 32)
    loss = torch.nn.functional.mse_loss(model(x), x[:, :1])
    opt.zero_grad(); loss.backward(); opt.step()
"""
TINY_INIT = """
for m in model:
    if isinstance(m, torch.nn.Linear):
        torch.nn.init.normal_(m.weight, 0.0, 1e-3)
"""
INIT_KINDS = {"poor_initialization", "vanishing_gradient"}  # what one step at init can judge


def _kinds(doc: dict) -> dict[str, dict]:
    return {f["kind"]: f for f in doc["findings"]
            if f["kind"] in INIT_KINDS and f["severity"] in ("warning", "error")}


@pytest.mark.parametrize("act,init", [("Sigmoid", ""), ("Tanh", TINY_INIT)],
                         ids=["sigmoid_default_init", "tanh_tiny_init"])
def test_probe_and_run_agree_on_the_initialization(tmp_path: Path, act: str, init: str) -> None:
    script = tmp_path / "mlp.py"
    script.write_text(SIGMOID_MLP.format(act=act, init=init))
    probe = run_gradsight("probe", "--json", str(tmp_path / "probe.json"), str(script))
    assert probe.returncode == 0, probe.stderr[-3000:]
    run = run_gradsight("run", "--out", str(tmp_path / "run"), "--json",
                        str(tmp_path / "run.json"), str(script))
    assert run.returncode == 0, run.stderr[-3000:]
    probed = _kinds(read_json(tmp_path / "probe.json"))
    trained = _kinds(read_json(tmp_path / "run.json"))
    assert probed, "the probe found nothing: this case must have an init-time problem"
    assert set(probed) == set(trained), (set(probed), set(trained))
    for kind, finding in probed.items():
        # the same first advice, and the same first layer named
        assert finding["fixes"][0] == trained[kind]["fixes"][0], kind
        assert finding["where"][0] == trained[kind]["where"][0], kind
    if act == "Sigmoid":  # the init is right for sigmoid: the advice is the activation's
        assert "poor_initialization" not in probed
        assert "already scaled for sigmoid" in probed["vanishing_gradient"]["fixes"][0]
