"""Real training: dead ReLU layers and saturated tanh layers are found; healthy nets are not."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import gradsight  # noqa: E402
from gradsight.core.finding import Severity  # noqa: E402

STEPS = 30


def train(model: nn.Module, tmp_path, *, lr: float = 0.01, seed: int = 0) -> list:
    torch.manual_seed(seed)
    x = torch.randn(256, 8)
    y = torch.sin(x.sum(dim=1, keepdim=True))
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    with gradsight.watch(model, opt, out=tmp_path / "run", every=1) as w:
        for i in range(STEPS):
            batch = slice((i * 32) % 256, (i * 32) % 256 + 32)
            loss = nn.functional.mse_loss(model(x[batch]), y[batch])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return w.findings


def of_kind(findings, kind):
    return [f for f in findings if f.kind == kind]


def serious(findings):
    return [f for f in findings if f.severity.at_least(Severity.WARNING)]


def mlp(activation: type[nn.Module]) -> nn.Module:
    return nn.Sequential(nn.Linear(8, 32), activation(), nn.Linear(32, 32), activation(),
                         nn.Linear(32, 1))


def test_relu_layer_with_bias_minus_ten_is_dead(tmp_path):
    torch.manual_seed(0)
    model = mlp(nn.ReLU)
    with torch.no_grad():
        model[0].bias.fill_(-10.0)
    (finding,) = of_kind(train(model, tmp_path), "dead_units")
    assert finding.severity == Severity.ERROR
    assert finding.where[:3] == ["0.weight", "0.bias", "1"]
    assert finding.step == 0
    assert finding.evidence["dead_fraction"]["1"] == 1.0
    assert any("negative bias" in f for f in finding.fixes)


def test_healthy_he_init_relu_net_has_no_dead_units(tmp_path):
    torch.manual_seed(0)
    model = mlp(nn.ReLU)
    for layer in model:
        if isinstance(layer, nn.Linear):
            nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
            nn.init.constant_(layer.bias, 0.01)
    findings = train(model, tmp_path)
    assert of_kind(findings, "dead_units") == []
    assert serious(findings) == [], findings


def test_tanh_net_with_huge_weights_is_saturated(tmp_path):
    torch.manual_seed(0)
    model = mlp(nn.Tanh)
    for layer in model:
        if isinstance(layer, nn.Linear):
            nn.init.normal_(layer.weight, 0.0, 5.0)
    (finding,) = of_kind(train(model, tmp_path, lr=1e-3), "saturated_activation")
    assert finding.severity.at_least(Severity.WARNING)
    assert finding.where[:3] == ["0.weight", "0.bias", "1"]
    assert "3" in finding.where
    assert finding.evidence["saturated_fraction_median"]["1"] >= 0.5


def test_healthy_xavier_tanh_net_is_not_saturated(tmp_path):
    torch.manual_seed(0)
    model = mlp(nn.Tanh)
    for layer in model:
        if isinstance(layer, nn.Linear):
            nn.init.xavier_normal_(layer.weight, gain=nn.init.calculate_gain("tanh"))
            nn.init.zeros_(layer.bias)
    findings = train(model, tmp_path)
    assert of_kind(findings, "saturated_activation") == []
    assert serious(findings) == [], findings
