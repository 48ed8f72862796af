"""Real training: poor initialization and a flat loss, measured through the torch adapter."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import gradsight  # noqa: E402
from gradsight.core.detect import diagnose  # noqa: E402
from gradsight.core.run_view import RunView  # noqa: E402
from gradsight.detectors import loss_not_decreasing, poor_initialization  # noqa: E402


def train(model: nn.Module, tmp_path: Path, steps: int = 10, lr: float = 1e-3,
          data=None, name: str = "run") -> RunView:
    torch.manual_seed(0)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    n_in = next(m for m in model.modules() if isinstance(m, nn.Linear)).in_features
    with gradsight.watch(model, optimizer, out=tmp_path / name):
        for _ in range(steps):
            x, y = data() if data else (torch.randn(32, n_in), torch.randn(32, 1))
            out = model(x)
            loss = nn.functional.mse_loss(out[:, :1], y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return RunView.open(tmp_path / name)


def stack(depth: int, std: float) -> nn.Module:
    torch.manual_seed(0)
    model = nn.Sequential(*[nn.Linear(100, 100, bias=False) for _ in range(depth)])
    for layer in model:
        nn.init.normal_(layer.weight, 0.0, std)
    return model


def mlp(act: type[nn.Module], init) -> nn.Module:
    torch.manual_seed(0)
    layers: list[nn.Module] = []
    for _ in range(5):
        layers += [nn.Linear(64, 64), act()]
    layers.append(nn.Linear(64, 1))
    model = nn.Sequential(*layers)
    for m in model:
        if isinstance(m, nn.Linear):
            init(m.weight)
            nn.init.zeros_(m.bias)
    return model


@pytest.mark.parametrize("std, direction", [(1.0, "explodes"), (0.05, "collapses")])
def test_deep_linear_stack_names_the_first_layer(tmp_path, std, direction):
    """Seed 003: N(0, 1) grows ~10x per layer, 0.05 x N(0, 1) shrinks ~2x per layer."""
    depth = 12 if std == 1.0 else 30  # 1e12 stays finite in float32; 0.5**30 ~ 1e-9
    # weights are recorded after each step: a tiny lr keeps SGD's first update on a 1e12-scale
    # gradient from replacing the initialization before it is seen
    run = train(stack(depth, std), tmp_path, lr=1e-30)
    finding = [f for f in poor_initialization.detect(run)][0]
    assert finding.where[0] == "0.weight" and finding.step == 0
    assert direction in finding.summary
    assert finding.severity.value == "error"
    assert finding.evidence["weight_std_vs_recommended"]["0.weight"] == pytest.approx(
        std * 10, rel=0.05)


def test_default_and_xavier_linear_stacks_are_healthy(tmp_path):
    assert poor_initialization.detect(train(stack(30, 0.1), tmp_path)) == []


@pytest.mark.parametrize("act, init, fires", [
    (nn.Tanh, lambda w: nn.init.normal_(w, 0.0, 1e-3), True),
    (nn.ReLU, lambda w: nn.init.normal_(w, 0.0, 1e-3), True),
    (nn.ReLU, lambda w: nn.init.normal_(w, 0.0, 1.0), True),
    (nn.ReLU, lambda w: nn.init.kaiming_normal_(w, nonlinearity="relu"), False),
    (nn.Tanh, lambda w: nn.init.xavier_normal_(w, gain=5 / 3), False),
    (nn.ReLU, lambda w: None, False),  # PyTorch's default init
])
def test_mlp_init(tmp_path, act, init, fires):
    run = train(mlp(act, init), tmp_path)
    findings = poor_initialization.detect(run)
    assert len(findings) == (1 if fires else 0), findings
    if fires:
        assert findings[0].where[:2] == ["0.weight", "0.bias"]


def test_flat_loss_is_linked_to_its_root_cause(tmp_path):
    """A 4-layer tanh net at N(0, 1e-3) trained with plain SGD: the loss never moves."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(),
                          nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 1))
    for m in model:
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, 1e-3)
            nn.init.normal_(m.bias, 0.0, 1e-3)

    def data():
        x = torch.randn(16, 4)
        return x, x.sum(1, keepdim=True)

    run = train(model, tmp_path, steps=300, lr=1e-3, data=data)
    findings = diagnose(run)
    kinds = [f.kind for f in findings]
    assert kinds[0] == "poor_initialization"
    flat = [f for f in findings if f.kind == "loss_not_decreasing"]
    assert flat and flat[0].evidence["caused_by"] == "poor_initialization"


def test_learning_net_has_no_flat_loss(tmp_path):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 1))

    def data():
        x = torch.randn(16, 4)
        return x, x.sum(1, keepdim=True)

    run = train(model, tmp_path, steps=300, lr=3e-2, data=data)
    assert loss_not_decreasing.detect(run) == []
    assert poor_initialization.detect(run) == []


def test_init_is_judged_before_the_first_update(tmp_path: Path) -> None:
    """A default-init net whose first step (lr 1e3, a typo for 1e-3) blows the weights up: the
    weights after step 0 are huge, the weights at init were fine. No poor_initialization."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                          nn.Linear(64, 1))
    init_norms = {n: float(p.detach().double().norm()) for n, p in model.named_parameters()}
    run = train(model, tmp_path, steps=5, lr=1e3)
    stored = run.metric("param", "weight_norm_init")
    assert set(stored) == set(init_norms)
    for name, value in init_norms.items():
        assert stored[name].steps.tolist() == [0]
        assert stored[name].values[0] == pytest.approx(value, rel=1e-6)
    after = run.metric("param", "weight_norm")["2.weight"].values[0]
    assert after > 10 * init_norms["2.weight"]  # the first step did blow the weights up
    assert poor_initialization.detect(run) == []
