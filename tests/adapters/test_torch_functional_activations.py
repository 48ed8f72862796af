"""Real training: activations applied as functions inside ``forward`` (``F.relu``,
``torch.relu``, ``clamp(min=0)``, ``torch.tanh``) get dead-unit and saturation statistics,
measured at the layer that consumes them and credited to the layer they were applied to.

Oracle: the step-0 statistics equal a plain PyTorch recomputation on the same batch (a
forward hook of our own capturing the consuming layer's input). Cases: a too-high learning
rate kills the ReLUs (measured: every feature of ``fc1``'s input is zero for every sample of
the data set at the end), tanh layers driven into saturation by a 10x init; the same networks
at a sane learning rate and init are healthy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

import gradsight  # noqa: E402
from gradsight.core.finding import Finding, Severity  # noqa: E402
from gradsight.core.run_view import RunView  # noqa: E402

ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "F.relu": F.relu, "torch.relu": torch.relu, "clamp": lambda t: t.clamp(min=0),
    "tanh": torch.tanh,
}


class Net(nn.Module):
    def __init__(self, act: str, init_gain: float = 1.0) -> None:
        super().__init__()
        self.act = ACTIVATIONS[act]
        self.conv = nn.Conv2d(1, 8, 3, padding=1)
        self.fc1 = nn.Linear(8 * 4 * 4, 64)
        self.fc2 = nn.Linear(64, 10)
        with torch.no_grad():
            for layer in (self.conv, self.fc1):
                layer.weight.mul_(init_gain)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(self.act(self.conv(x)), 2)
        return self.fc2(self.act(self.fc1(x.flatten(1))))


def digits() -> tuple[torch.Tensor, torch.Tensor]:
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    return torch.tensor(x / 16.0, dtype=torch.float32).reshape(-1, 1, 8, 8), torch.tensor(y)


def train(tmp_path: Path, act: str, lr: float, steps: int, init_gain: float = 1.0
          ) -> tuple[list[Finding], nn.Module, dict[str, torch.Tensor]]:
    x, y = digits()
    torch.manual_seed(0)
    model = Net(act, init_gain)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    g = torch.Generator().manual_seed(1)
    first: dict[str, torch.Tensor] = {}

    def keep(name: str) -> Callable[..., None]:  # the oracle's own hook: a layer's step-0 input
        def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: object) -> None:
            first.setdefault(name, inputs[0].detach().clone())
        return hook

    hooks = [model.fc1.register_forward_hook(keep("fc1")),
             model.fc2.register_forward_hook(keep("fc2"))]
    with gradsight.watch(model, optimizer, out=tmp_path / "run") as w:
        for _ in range(steps):
            i = torch.randint(0, len(x), (64,), generator=g)
            loss = F.cross_entropy(model(x[i]), y[i])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    for h in hooks:
        h.remove()
    return w.findings, model, first


def at_step_0(folder: Path, metric: str) -> dict[str, float]:
    view = RunView.open(folder)
    try:
        return {n: float(s.values[0]) for n, s in view.metric("module", metric).items()
                if s.steps[0] == 0}
    finally:
        view.close()


@pytest.mark.parametrize("act", ["F.relu", "tanh"])
def test_statistics_match_a_plain_recomputation(tmp_path: Path, act: str) -> None:
    _, _, first = train(tmp_path, act, 0.1, 3)
    view = RunView.open(tmp_path / "run")
    modules = {e.name: e.get("activation") for e in view.entities("module")}
    params = {e.name: e.get("followed_by") for e in view.entities("param")}
    view.close()
    family = "relu" if act == "F.relu" else "tanh"
    assert modules["conv"] == modules["fc1"] == family  # they apply it, as a function
    assert params["conv.weight"] == params["fc1.weight"] == family
    # the report's activation charts show them (no more "no ReLU-family activation")
    from gradsight.core.diagnosis import diagnose_folder
    from gradsight.reports.html import build_data

    view = RunView.open(tmp_path / "run")
    data = build_data(view, diagnose_folder(tmp_path / "run"))
    view.close()
    shown = {m["name"] for m in data["modules"] if m["activation"] == family}
    assert {"conv", "fc1"} <= shown
    if family == "relu":  # features zero for every sample of the batch
        got = at_step_0(tmp_path / "run", "dead_frac")
        for producer, consumer in (("conv", "fc1"), ("fc1", "fc2")):
            expected = 1 - (first[consumer].amax(0) > 0).double().mean().item()
            assert got[producer] == pytest.approx(expected, abs=1e-7)  # float32 in the store
    else:
        got = at_step_0(tmp_path / "run", "act_saturated_frac")
        for producer, consumer in (("conv", "fc1"), ("fc1", "fc2")):
            expected = (first[consumer].abs() > 0.99).double().mean().item()
            assert got[producer] == pytest.approx(expected, abs=1e-7)  # float32 in the store


def serious(findings: list[Finding]) -> dict[str, Finding]:
    return {f.kind: f for f in findings if f.severity.at_least(Severity.WARNING)}


@pytest.mark.parametrize("act", ["F.relu", "torch.relu", "clamp"])
def test_relus_killed_by_a_too_high_learning_rate_are_dead_units(tmp_path: Path,
                                                                 act: str) -> None:
    findings, model, _ = train(tmp_path, act, 5.0, 320)
    x, _ = digits()
    with torch.no_grad():  # the case, measured on the whole data set after training
        hidden = F.max_pool2d(model.act(model.conv(x)), 2).flatten(1)
        dead = 1 - (model.act(model.fc1(hidden)).amax(0) > 0).double().mean().item()
    assert dead >= 0.95
    found = serious(findings)
    assert "dead_units" in found, list(found)
    assert {"fc1.weight", "fc1"} <= set(found["dead_units"].where)


def test_tanh_driven_into_saturation_is_saturated_activation(tmp_path: Path) -> None:
    findings, model, first = train(tmp_path, "tanh", 0.05, 60, init_gain=10.0)
    assert (first["fc2"].abs() > 0.99).double().mean().item() > 0.5  # the case, at step 0
    found = serious(findings)
    assert "saturated_activation" in found, list(found)
    assert "fc1" in found["saturated_activation"].where


@pytest.mark.parametrize("act", ["F.relu", "tanh"])
def test_the_same_networks_trained_sanely_are_healthy(tmp_path: Path, act: str) -> None:
    findings, _, _ = train(tmp_path, act, 0.1, 320)
    found = serious(findings)
    assert not {"dead_units", "saturated_activation"} & set(found), list(found)
