"""``gradsight.probe(model, example_input, loss_fn)``: seed 003's numbers, checked against plain
torch computations (the oracle), and a model left exactly as it was."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

import gradsight  # noqa: E402


def deep_stack(scale: float, seed: int, depth: int = 100, width: int = 100) -> nn.Sequential:
    """Seed 003: ``depth`` bias-free Linear(width, width) layers, weights N(0, 1) * scale."""
    torch.manual_seed(seed)
    model = nn.Sequential(*[nn.Linear(width, width, bias=False) for _ in range(depth)])
    with torch.no_grad():
        for layer in model:
            layer.weight.copy_(torch.randn(width, width) * scale)
    return model


def pstd(t: torch.Tensor) -> float:
    """Population std in float64, as the probe computes it."""
    return float(t.detach().double().std(unbiased=False))


def oracle_outputs(model: nn.Sequential, x: torch.Tensor) -> list[torch.Tensor]:
    outs, h = [], x
    with torch.no_grad():
        for layer in model:
            h = layer(h)
            outs.append(h.clone())
    return outs


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_seed_003_unit_normal_stack_overflows_in_the_late_thirties(seed: int) -> None:
    model = deep_stack(1.0, seed)
    x = torch.randn(1, 100)
    outs = oracle_outputs(model, x)
    first_bad = next(i for i, o in enumerate(outs) if not torch.isfinite(o).all())
    assert first_bad in (37, 38)  # the seed measured 37; float32 overflow, seed-dependent

    result = gradsight.probe(model, x, loss_fn=lambda out: out.pow(2).mean())
    kinds = [f.kind for f in result.findings]
    assert kinds == ["nonfinite", "poor_initialization"]
    nonfinite, poor = result.findings
    assert nonfinite.where[0] == str(first_bad) and nonfinite.severity.value == "error"
    assert result.first_nonfinite == str(first_bad)
    assert poor.where[0] == "0.weight" and poor.evidence["direction"] == "explodes"
    assert poor.evidence["first_bad_layer"] == "0"
    # growth x ~sqrt(100) = 10 per layer, as in the seed
    assert 9.0 < poor.evidence["gain_per_layer_median"] < 11.0
    for i in range(first_bad):
        assert result.layers[i].out_std == pytest.approx(pstd(outs[i]), rel=1e-6)
    # the recommended init (Xavier: std 1/sqrt(100) here), measured on a copy: gain ~1
    predicted = poor.evidence["predicted_with_recommended_init"]
    assert 0.85 < predicted["gain_per_layer_median"] < 1.15 and predicted["nonfinite"] is False
    assert all(layer.recommended == "xavier" for layer in result.layers)
    assert any("xavier" in fix for fix in poor.fixes)


def test_seed_003_small_weights_collapse_to_zero() -> None:
    model = deep_stack(0.05, 0)
    x = torch.randn(1, 100)
    outs = oracle_outputs(model, x)
    result = gradsight.probe(model, x)
    assert [f.kind for f in result.findings] == ["poor_initialization"]
    poor = result.findings[0]
    assert poor.evidence["direction"] == "collapses" and poor.where[0] == "0.weight"
    last = result.layers[-1]
    assert last.out_std == pytest.approx(pstd(outs[-1]), rel=1e-6)
    assert last.out_std < 1e-25  # ~0.5 ** 100
    assert 0.4 < poor.evidence["gain_per_layer_median"] < 0.6


def test_seed_003_one_wide_layer_std_is_sqrt_fan_in_and_scaling_fixes_it() -> None:
    torch.manual_seed(0)
    x = torch.randn(64, 512)
    raw = nn.Linear(512, 512, bias=False)
    with torch.no_grad():
        raw.weight.copy_(torch.randn(512, 512))
    result = gradsight.probe(raw, x)
    std = result.layers[0].out_std
    assert std == pytest.approx(pstd(raw(x)), rel=1e-6)
    assert abs(std - math.sqrt(512)) < 1.5  # the seed: 22.62 vs sqrt(512) = 22.63
    assert [f.kind for f in result.findings] == ["poor_initialization"]
    assert result.findings[0].where[0] == "weight"

    with torch.no_grad():
        raw.weight.mul_(math.sqrt(1 / 512))
    scaled = gradsight.probe(raw, x)
    assert abs(scaled.layers[0].out_std - 1.0) < 0.1 and scaled.findings == []


def test_seed_003_tanh_after_lecun_scaled_layer_has_std_063() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(512, 512, bias=False), nn.Tanh())
    with torch.no_grad():
        model[0].weight.copy_(torch.randn(512, 512) * math.sqrt(1 / 512))
    x = torch.randn(256, 512)
    result = gradsight.probe(model, x)
    tanh = result.layer("1")
    assert tanh.out_std == pytest.approx(pstd(model(x)), rel=1e-6)
    assert abs(tanh.out_std - 0.63) < 0.02  # the seed: 0.627
    assert result.layer("0").followed_by == "tanh" and result.layer("0").recommended == "xavier"
    assert tanh.saturated_frac is not None and tanh.saturated_frac < 0.05
    assert result.findings == []


def test_probe_statistics_match_a_manual_forward_and_backward() -> None:
    torch.manual_seed(3)
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 4))
    x, y = torch.randn(32, 6), torch.randn(32, 4)

    def loss_fn(out: torch.Tensor) -> torch.Tensor:
        return ((out - y) ** 2).mean()

    result = gradsight.probe(model, x, loss_fn)
    h0 = model[0](x)
    h1 = model[1](h0)
    out = model[2](h1)
    grads = torch.autograd.grad(loss_fn(out), [model[0].weight, model[2].weight])
    first, relu, last = result.layer("0"), result.layer("1"), result.layer("2")
    assert first.in_std == pytest.approx(pstd(x), rel=1e-6)
    assert first.out_mean == pytest.approx(float(h0.detach().double().mean()), rel=1e-6, abs=1e-9)
    assert first.out_std == pytest.approx(pstd(h0), rel=1e-6)
    assert first.gain == pytest.approx(first.out_std / first.in_std)
    assert relu.zero_frac == pytest.approx(float((h1 == 0).double().mean()))
    assert relu.dead_frac == pytest.approx(float((h1.amax(0) <= 0).double().mean()))
    assert first.grad_std == pytest.approx(float(grads[0].double().std()), rel=1e-6)
    assert last.grad_std == pytest.approx(float(grads[1].double().std()), rel=1e-6)
    assert result.loss == pytest.approx(float(loss_fn(out)), rel=1e-6)
    assert first.followed_by == "relu" and first.recommended == "he" and last.followed_by is None
    assert result.findings == []


def test_probe_leaves_the_model_exactly_as_it_was() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.5),
                          nn.Linear(32, 2))
    model.train()
    x = torch.randn(16, 8)
    params = {n: p.detach().clone() for n, p in model.named_parameters()}
    buffers = {n: b.detach().clone() for n, b in model.named_buffers()}
    rng = torch.get_rng_state()
    result = gradsight.probe(model, x, loss_fn=lambda out: out.logsumexp(1).mean())
    assert result.layers and result.prediction
    assert torch.equal(torch.get_rng_state(), rng)
    assert model.training and all(m.training for m in model.modules())
    for n, p in model.named_parameters():
        assert torch.equal(p, params[n]) and p.grad is None
    for n, b in model.named_buffers():
        assert torch.equal(b, buffers[n]), n
    # default init: no problem; the run's own detectors also see the bias before a batch norm
    assert [(f.kind, f.severity.value) for f in result.findings] == [("redundant_bias", "info")]


def test_probe_is_exported_lazily_without_importing_torch() -> None:
    import subprocess
    import sys

    code = ("import sys, gradsight; f = gradsight.probe; "
            "print(callable(f), 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "False"]


def test_probe_measures_a_bounded_number_of_calls_per_module() -> None:
    from gradsight.probing.measure import MAX_CALLS, Collector

    model = nn.Sequential(nn.Linear(4, 4), nn.Tanh())
    collector = Collector(only=model).start()
    try:
        for _ in range(3 * MAX_CALLS):
            model(torch.randn(2, 4))
    finally:
        collector.stop()
    assert {acc.calls for acc in collector._accs.values()} == {MAX_CALLS}
