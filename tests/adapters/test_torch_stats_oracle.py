"""The PyTorch adapter's statistics, checked against a float64 numpy oracle.

Each test trains a small real model for a few steps under ``gradsight.watch(..., every=1)``,
captures by itself what the adapter measures (gradients before ``optimizer.step()``, weights
before and after it, each layer's output, the loss ``backward()`` was called on), then reads the
stored run back with ``RunView`` and compares number by number.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import gradsight  # noqa: E402
from gradsight.core.run_view import RunView  # noqa: E402

NORM_RTOL = 1e-6  # float64 oracle; gradsight uses float32 on CPU within its safe range
# fractions of a float32 CPU output are exact counts (float32 sums of 0/1), the store keeps
# detail numbers as float32 where they fit (7 significant digits: rounding <= 6e-8)
ACT_RTOL = 2e-7
# mean and std of a float32 CPU output come from float32 sums (stats._cpu_activation_vector):
# the std within 1e-5 of itself (the float64 path takes over where the variance would cancel
# worse), the mean within 1e-5 of the output's rms (a sum's rounding scales with sum |x|, so a
# mean near 0 has no relative bound)
ACT_F32_RTOL = 1e-5


def f64(t: torch.Tensor) -> np.ndarray:
    return t.detach().to(torch.float64).cpu().numpy()


def norm(a: np.ndarray) -> float:
    return float(np.linalg.norm(a.reshape(-1)))


@dataclass
class Capture:
    """What the oracle saw, per step: names from ``model.named_parameters()``/``named_modules()``."""

    losses: list[float] = field(default_factory=list)
    grads: list[dict[str, np.ndarray]] = field(default_factory=list)
    before: list[dict[str, np.ndarray]] = field(default_factory=list)
    after: list[dict[str, np.ndarray]] = field(default_factory=list)
    lrs: list[dict[str, float]] = field(default_factory=list)
    # per step, per module name: the outputs of every call in that step
    acts: list[dict[str, list[np.ndarray]]] = field(default_factory=list)


def run_layers(model: nn.Sequential, x: torch.Tensor, sink: dict[str, list[np.ndarray]]) -> torch.Tensor:
    """The Sequential's forward, layer by layer, keeping a float64 copy of each output."""
    h = x
    for name, layer in model.named_children():
        h = layer(h)
        sink.setdefault(name, []).append(f64(h))
    return h


def train_captured(
    model: nn.Sequential,
    optimizer: torch.optim.Optimizer,
    batches: list[tuple[torch.Tensor, torch.Tensor]],
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    micro_batches: int = 1,
) -> Capture:
    """One optimizer step per batch; ``micro_batches`` backward() calls accumulate before it."""
    cap = Capture()
    named = dict(model.named_parameters())
    lr_of = {id(p): g["lr"] for g in optimizer.param_groups for p in g["params"]}
    for x, y in batches:
        optimizer.zero_grad()
        acts: dict[str, list[np.ndarray]] = {}
        step_losses = []
        for xs, ys in zip(x.chunk(micro_batches), y.chunk(micro_batches)):
            loss = loss_fn(run_layers(model, xs, acts), ys)
            step_losses.append(float(loss.detach().to(torch.float64)))
            loss.backward()
        cap.losses.append(float(np.mean(np.array(step_losses, dtype=np.float64))))
        cap.acts.append(acts)
        cap.grads.append({n: f64(p.grad) for n, p in named.items() if p.grad is not None})
        cap.before.append({n: f64(p) for n, p in named.items()})
        cap.lrs.append({n: float(lr_of[id(p)]) for n, p in named.items()})
        optimizer.step()
        cap.after.append({n: f64(p) for n, p in named.items()})
    return cap


def series(run: RunView, role: str, metric: str, name: str) -> tuple[np.ndarray, np.ndarray]:
    s = run.metric(role, metric).get(name)
    assert s is not None, f"no {metric} recorded for {role} {name!r}"
    return s.steps, s.values


def check_params(run: RunView, cap: Capture) -> None:
    steps = np.arange(len(cap.losses))
    for name in cap.before[0]:
        for metric, expected in {
            "grad_norm": [norm(g[name]) for g in cap.grads],
            "weight_norm": [norm(a[name]) for a in cap.after],
            "update_norm": [norm(a[name] - b[name]) for a, b in zip(cap.after, cap.before)],
        }.items():
            got_steps, got = series(run, "param", metric, name)
            np.testing.assert_array_equal(got_steps, steps, err_msg=f"{metric} {name}")
            np.testing.assert_allclose(got, expected, rtol=NORM_RTOL, atol=0,
                                       err_msg=f"{metric} {name}")
        got_steps, got = series(run, "param", "has_grad", name)
        np.testing.assert_array_equal(got_steps, steps)
        np.testing.assert_array_equal(got, [float(name in g) for g in cap.grads])
        got_steps, got = series(run, "param", "lr", name)
        np.testing.assert_array_equal(got_steps, steps)
        np.testing.assert_array_equal(got, [lr[name] for lr in cap.lrs])


def act_oracle(out: np.ndarray, family: str | None) -> dict[str, float]:
    if family == "tanh":
        saturated = float(np.mean(np.abs(out) > 0.99))
    else:
        saturated = 0.0
    return {
        "act_mean": float(np.mean(out)),
        "act_std": float(np.std(out)),  # population std (ddof=0)
        "act_zero_frac": float(np.mean(out == 0)),
        "act_nonfinite": float(np.any(~np.isfinite(out))),  # 1 when any value is NaN/Inf
        "act_saturated_frac": saturated,
    }


def active_units(out: np.ndarray) -> np.ndarray:
    positive = out > 0
    if positive.ndim == 2:
        return positive.any(axis=0)
    assert positive.ndim == 4
    return positive.any(axis=(0, 2, 3))


def expected_module_metrics(cap: Capture, name: str, family: str | None) -> dict[str, list[float]]:
    """Per step: each call's statistics averaged over the step's calls; dead_frac for ReLUs."""
    out: dict[str, list[float]] = {}
    for acts in cap.acts:
        per_call = [act_oracle(o, family) for o in acts[name]]
        for metric in per_call[0]:
            out.setdefault(metric, []).append(float(np.mean([c[metric] for c in per_call])))
        if family == "relu":
            active = np.logical_or.reduce([active_units(o) for o in acts[name]])
            out.setdefault("dead_frac", []).append(float(1.0 - active.mean()))
    return out


def check_modules(run: RunView, cap: Capture, families: dict[str, str | None]) -> None:
    steps = np.arange(len(cap.losses))
    for name, family in families.items():
        for metric, expected in expected_module_metrics(cap, name, family).items():
            got_steps, got = series(run, "module", metric, name)
            np.testing.assert_array_equal(got_steps, steps, err_msg=f"{metric} {name}")
            if metric == "act_mean":
                stats = expected_module_metrics(cap, name, family)
                rms = np.hypot(stats["act_mean"], stats["act_std"])
                assert np.all(np.abs(np.asarray(got) - expected) <= ACT_F32_RTOL * rms + 1e-12), \
                    f"{metric} {name}: {got} vs {expected}"
                continue
            rtol = ACT_F32_RTOL if metric == "act_std" else ACT_RTOL
            np.testing.assert_allclose(got, expected, rtol=rtol, atol=1e-12,
                                       err_msg=f"{metric} {name}")
    relu_names = {n for n, f in families.items() if f == "relu"}
    assert set(run.metric("module", "dead_frac")) == relu_names


def check_loss(run: RunView, cap: Capture) -> None:
    np.testing.assert_array_equal(run.loss.steps, np.arange(len(cap.losses)))
    np.testing.assert_allclose(run.loss.values, cap.losses, rtol=1e-12, atol=0)


def make_mlp() -> nn.Sequential:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 8), nn.Tanh(), nn.Linear(8, 1))
    with torch.no_grad():
        model[0].bias[:3] = -100.0  # three ReLU units that never fire: dead_frac >= 3/16
        model[2].weight.mul_(4.0)  # drive part of the tanh into saturation
    return model


MLP_FAMILIES = {"0": None, "1": "relu", "2": None, "3": "tanh", "4": None}


def mlp_batches(steps: int, n: int = 32) -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(1)
    out = []
    for _ in range(steps):
        x = torch.randn(n, 4, generator=g) * 2
        out.append((x, x[:, :1] * 0.5 - x[:, 1:2]))
    return out


def test_mlp_statistics_match_numpy_oracle(tmp_path: Path) -> None:
    model = make_mlp()
    optimizer = torch.optim.SGD(
        [
            {"params": model[0].parameters(), "lr": 0.05},
            {"params": list(model[2].parameters()) + list(model[4].parameters()), "lr": 0.02},
        ],
        momentum=0.9,
    )
    with gradsight.watch(model, optimizer, out=tmp_path / "run", every=1):
        cap = train_captured(model, optimizer, mlp_batches(5), nn.functional.mse_loss)

    # the scenario is not degenerate: dead and saturated units exist, but not everywhere
    dead = expected_module_metrics(cap, "1", "relu")["dead_frac"]
    sat = expected_module_metrics(cap, "3", "tanh")["act_saturated_frac"]
    assert all(3 / 16 <= d < 1 for d in dead)
    assert all(0 < s < 1 for s in sat)
    assert all(n > 0 for u in cap.after for n in map(norm, u.values()))

    run = RunView.open(tmp_path / "run")
    try:
        check_params(run, cap)
        check_modules(run, cap, MLP_FAMILIES)
        check_loss(run, cap)
        assert {e.name for e in run.entities("param")} == set(dict(model.named_parameters()))
    finally:
        run.close()


def make_convnet() -> nn.Sequential:
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(),
        nn.Conv2d(4, 3, 3), nn.Tanh(),
        nn.Flatten(), nn.Linear(3 * 4 * 4, 2),
    )
    with torch.no_grad():
        model[0].bias[0] = -100.0  # channel 0 never fires
        model[0].bias[1] = -1.0  # channel 1 fires, but at some pixels only
        model[2].weight.mul_(6.0)
    return model


def conv_batches(steps: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(2)
    out = []
    for _ in range(steps):
        x = torch.randn(8, 2, 6, 6, generator=g)
        out.append((x, (x.mean(dim=(1, 2, 3)) > 0).long()))
    return out


def test_convnet_statistics_match_numpy_oracle(tmp_path: Path) -> None:
    model = make_convnet()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    with gradsight.watch(model, optimizer, out=tmp_path / "run", every=1):
        cap = train_captured(model, optimizer, conv_batches(5), nn.functional.cross_entropy)

    dead = expected_module_metrics(cap, "1", "relu")["dead_frac"]
    assert all(0.25 <= d < 1 for d in dead)
    # units are channels: counting (channel, pixel) pairs would give another number
    per_pixel = [1 - np.mean((acts["1"][0] > 0).any(axis=0)) for acts in cap.acts]
    assert all(p > d + 0.1 for p, d in zip(per_pixel, dead))
    assert all(0 < s < 1 for s in expected_module_metrics(cap, "3", "tanh")["act_saturated_frac"])
    run = RunView.open(tmp_path / "run")
    try:
        check_params(run, cap)
        check_modules(run, cap, {"0": None, "1": "relu", "2": None, "3": "tanh", "5": None})
        # a Flatten only repeats its input's numbers: not measured
        assert "4" not in run.metric("module", "act_mean")
        check_loss(run, cap)
    finally:
        run.close()


def test_dead_frac_counts_units_of_the_whole_batch(tmp_path: Path) -> None:
    """A unit that fires for a single example of the batch is alive; dead_frac is exact."""
    model = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 1))
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, 0.0]]))
        model[0].bias.copy_(torch.tensor([0.0, 0.0, 0.0, -1.0]))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)
    # unit 0 fires only for example 2, unit 1 never (x1 <= 0), unit 2 for example 0, unit 3 never
    x = torch.tensor([[-1.0, -1.0], [0.0, -2.0], [3.0, 0.0]])
    y = torch.zeros(3, 1)
    with gradsight.watch(model, optimizer, out=tmp_path / "run", every=1):
        for _ in range(2):
            optimizer.zero_grad()
            nn.functional.mse_loss(model(x), y).backward()
            optimizer.step()
    run = RunView.open(tmp_path / "run")
    try:
        np.testing.assert_array_equal(run.metric("module", "dead_frac")["1"].values, [0.5, 0.5])
        np.testing.assert_allclose(run.metric("module", "act_zero_frac")["1"].values, [10 / 12] * 2)
        # lr 0: nothing moves, and the stored update is exactly 0
        np.testing.assert_array_equal(run.metric("param", "update_norm")["0.weight"].values, [0, 0])
        np.testing.assert_array_equal(run.metric("param", "lr")["0.weight"].values, [0, 0])
    finally:
        run.close()


def test_gradient_accumulation_loss_is_mean_of_backward_calls(tmp_path: Path) -> None:
    model = make_mlp()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    with gradsight.watch(model, optimizer, out=tmp_path / "run", every=1):
        cap = train_captured(model, optimizer, mlp_batches(4), nn.functional.mse_loss,
                             micro_batches=2)
    assert all(len(calls) == 2 for acts in cap.acts for calls in acts.values())
    run = RunView.open(tmp_path / "run")
    try:
        check_loss(run, cap)  # one value per step: the mean of its two backward() losses
        check_params(run, cap)  # the gradient is the accumulated one
        check_modules(run, cap, MLP_FAMILIES)  # statistics averaged over the step's two calls
    finally:
        run.close()


def test_tiny_gradients_do_not_underflow(tmp_path: Path) -> None:
    """Gradients of scale 1e-32 square to 1e-64, below float32's range: the norm must be
    float64, non-zero and equal to the oracle's."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    assert all(p.dtype == torch.float32 for p in model.parameters())
    batches = mlp_batches(3, n=16)
    batches = [(x[:, :3], y) for x, y in batches]

    def tiny_loss(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return 1e-32 * nn.functional.mse_loss(out, y)

    with gradsight.watch(model, optimizer, out=tmp_path / "run", every=1):
        cap = train_captured(model, optimizer, batches, tiny_loss)
    grads = [norm(g[n]) for g in cap.grads for n in g]
    assert all(1e-36 < g < 1e-29 for g in grads)  # the scenario: representable, tiny gradients
    first = next(iter(cap.grads[0].values()))
    assert float(torch.linalg.vector_norm(torch.from_numpy(first).float())) == 0.0  # f32 underflows
    run = RunView.open(tmp_path / "run")
    try:
        for name in cap.grads[0]:
            got = run.metric("param", "grad_norm")[name].values
            assert np.all(got > 0), name
            np.testing.assert_allclose(got, [norm(g[name]) for g in cap.grads], rtol=NORM_RTOL)
        check_loss(run, cap)
    finally:
        run.close()


def test_parameter_without_gradient_has_grad_zero_and_no_grad_norm(tmp_path: Path) -> None:
    class WithUnused(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.used = nn.Linear(3, 1)
            self.unused = nn.Linear(3, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.used(x)

    torch.manual_seed(0)
    model = WithUnused()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(8, 3), torch.randn(8, 1)
    with gradsight.watch(model, optimizer, out=tmp_path / "run", every=1):
        for _ in range(3):
            optimizer.zero_grad()
            nn.functional.mse_loss(model(x), y).backward()
            optimizer.step()
    run = RunView.open(tmp_path / "run")
    try:
        has_grad = run.metric("param", "has_grad")
        np.testing.assert_array_equal(has_grad["used.weight"].values, [1, 1, 1])
        np.testing.assert_array_equal(has_grad["unused.weight"].values, [0, 0, 0])
        grad_norms = run.metric("param", "grad_norm")
        assert "used.weight" in grad_norms and "unused.weight" not in grad_norms
        np.testing.assert_array_equal(run.metric("param", "update_norm")["unused.bias"].values,
                                      [0, 0, 0])
        np.testing.assert_allclose(run.metric("param", "weight_norm")["unused.weight"].values,
                                   [norm(f64(model.unused.weight))] * 3, rtol=NORM_RTOL)
    finally:
        run.close()


def test_dead_frac_of_sequence_output_counts_feature_units(tmp_path: Path) -> None:
    """(batch, time, features): a unit is a feature, alive if positive at any example or time."""
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]))
        model[0].bias.copy_(torch.tensor([0.0, 0.0, -1.0]))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)
    x = torch.zeros(2, 3, 2)
    x[1, 2, 0] = 1.0  # feature 0 fires once (example 1, time 2); 1 and 2 never
    with gradsight.watch(model, optimizer, out=tmp_path / "run", every=1):
        optimizer.zero_grad()
        model(x).pow(2).mean().backward()
        optimizer.step()
    run = RunView.open(tmp_path / "run")
    try:
        np.testing.assert_allclose(run.metric("module", "dead_frac")["1"].values, [2 / 3])
    finally:
        run.close()
