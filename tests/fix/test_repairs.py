"""Repairs in-process: what each targets, and that it does what it says to a real model."""

from __future__ import annotations

import pytest

from gradsight.fix.repairs import CATALOG, ModelInfo, TrialHooks, by_name, candidates, lsuv

torch = pytest.importorskip("torch")
nn = torch.nn

RELU_SGD = ModelInfo({"0": "relu", "2": "relu", "4": None}, ["SGD"], 3)


def test_only_repairs_that_target_the_findings_are_tried() -> None:
    blowup = [r.name for r in candidates({"nonfinite", "exploding_gradient"}, RELU_SGD)]
    assert blowup == ["init:he", "lr:/10", "clip:1", "norm:layer"]
    vanishing = [r.name for r in candidates({"vanishing_gradient"}, RELU_SGD)]
    assert vanishing[:4] == ["init:he", "init:xavier", "init:he+bias0.1", "init:lsuv"]
    assert "optimizer:adam" in vanishing and "lr:/10" not in vanishing
    adam = ModelInfo({"0": "relu"}, ["Adam"], 2)
    assert "optimizer:adam" not in [r.name for r in candidates({"vanishing_gradient"}, adam)]
    assert candidates(set(), RELU_SGD) == []
    assert all(r.name.split(":")[0] in ("init", "optimizer", "lr", "clip", "norm", "loss")
               for r in CATALOG)


def _model() -> nn.Sequential:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                          nn.Linear(64, 1))
    for m in model:
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, 1e-3)
    return model


def test_he_init_hook_redraws_in_place_without_touching_the_global_rng() -> None:
    model = _model()
    params = list(model.parameters())
    hooks = TrialHooks({"0": "relu", "2": "relu", "4": None})
    by_name("init:he+bias0.1").install(torch, hooks)
    rng = torch.get_rng_state()
    for fn in hooks.first_forward:
        fn(model, (torch.zeros(1, 4),), {})
    assert torch.equal(torch.get_rng_state(), rng)  # same data order as the baseline
    assert [p is q for p, q in zip(model.parameters(), params)] == [True] * len(params)
    std = float(model[2].weight.detach().std())
    assert abs(std - (2 / 64) ** 0.5) < 0.02  # He: sqrt(2 / fan_in)
    assert torch.all(model[2].bias == 0.1)


def test_lsuv_gives_unit_output_variance_per_layer() -> None:
    model = _model()
    x = torch.randn(256, 4)
    lsuv(torch, model, (x,), {})
    h = x
    for m in model:
        h = m(h)
        if isinstance(m, nn.Linear):
            assert abs(float(h.detach().std()) - 1.0) < 0.06


def test_learning_rate_and_clipping_act_at_the_step() -> None:
    from torch.optim.optimizer import register_optimizer_step_pre_hook

    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    hooks = TrialHooks({})
    by_name("lr:/10").install(torch, hooks)
    by_name("clip:1").install(torch, hooks)
    handles = [register_optimizer_step_pre_hook(fn) for fn in hooks.step]
    try:
        (model(torch.randn(8, 4)) * 1e6).sum().backward()
        opt.step()
        opt.step()  # scaled once only
    finally:
        for handle in handles:
            handle.remove()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.05)
    total = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in model.parameters()]))
    assert float(total) == pytest.approx(1.0, rel=1e-4)


def test_every_repair_code_change_is_python_that_runs() -> None:
    for repair in CATALOG:
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(),
                              nn.Linear(16, 1))
        scope = {"torch": torch, "model": model, "x": torch.randn(64, 4), "lr": 0.1}
        exec(repair.code(), scope)  # noqa: S102 - our own snippet, as a user would paste it
        assert scope["model"](scope["x"]).shape == (64, 1), repair.name


def test_lsuv_handles_layers_that_return_tuples() -> None:
    """LSTM and attention return (output, state/weights): LSUV scales by the output's std."""
    torch.manual_seed(0)
    lstm = nn.LSTM(4, 8, batch_first=True)
    for p in lstm.parameters():
        nn.init.normal_(p, 0.0, 1e-3)
    x = torch.randn(32, 5, 4)
    assert float(lstm(x)[0].detach().std()) < 1e-2
    lsuv(torch, lstm, (x,), {})
    # h = o * tanh(c) is bounded, so unit std is out of reach; the collapse is undone
    assert float(lstm(x)[0].detach().std()) > 0.2
    layer = nn.TransformerEncoderLayer(16, 2, 32, batch_first=True, dropout=0.0)
    lsuv(torch, layer, (torch.randn(4, 6, 16),), {})  # MultiheadAttention inside: no error


def test_init_repairs_put_a_hand_set_norm_shift_back_to_its_default() -> None:
    """A batch norm's shift set to -5 kills every ReLU after it from step 0: re-initializing the
    model (every init repair) puts norm layers back to scale 1, shift 0, as torch builds them."""
    import torch

    from gradsight.fix.reinit import reset_norms

    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8), torch.nn.ReLU(),
                                torch.nn.LayerNorm(8), torch.nn.Linear(8, 1))
    with torch.no_grad():
        model[1].bias.fill_(-5.0)
        model[1].weight.fill_(0.1)
        model[3].weight.fill_(3.0)
    weight_before = model[0].weight.clone()
    assert float(torch.relu(model[1](model[0](torch.randn(64, 4)))).max()) == 0.0  # all dead
    assert reset_norms(torch, model) == ["1", "3"]
    assert torch.equal(model[1].bias, torch.zeros(8)) and torch.equal(model[1].weight,
                                                                      torch.ones(8))
    assert torch.equal(model[3].weight, torch.ones(8))
    assert torch.equal(model[0].weight, weight_before)  # the weight layers are the scheme's job
    assert float(torch.relu(model[1](model[0](torch.randn(64, 4)))).max()) > 0.0
