"""Gradient clipping and GradScaler taps: gradients are seen before clipping, the loss before
scaling, and the training itself is unchanged."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402
from torch.nn.utils import clip_grad_norm_  # noqa: E402  (bound before watch() starts)

import gradsight  # noqa: E402
from gradsight.core.finding import Severity  # noqa: E402
from gradsight.core.run_view import RunView  # noqa: E402
from tests.conftest import read_json, run_gradsight  # noqa: E402

STEPS = 30


def _train(folder: Path | None, clip: str | None, scaler: bool = False,
           lr: float = 1.5) -> tuple[list[float], list[torch.Tensor]]:
    torch.manual_seed(0)
    x = torch.randn(64, 3)
    y = x[:, :1] * 2 - x[:, 1:2]
    model = nn.Sequential(nn.Linear(3, 16), nn.ReLU(), nn.Linear(16, 1))
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    grad_scaler = torch.amp.GradScaler("cpu", init_scale=1024.0) if scaler else None
    losses = []

    def loop() -> None:
        for _ in range(STEPS):
            optimizer.zero_grad()
            loss = nn.functional.mse_loss(model(x), y)
            if grad_scaler is not None:
                grad_scaler.scale(loss).backward()
                grad_scaler.unscale_(optimizer)
            else:
                loss.backward()
            if clip == "norm":  # a generator, as most scripts pass it
                clip_grad_norm_(model.parameters(), max_norm=1.0)
            elif clip == "value":
                torch.nn.utils.clip_grad_value_(model.parameters(), 0.5)
            elif clip == "value_by_keyword":  # every argument by name (a crash, once)
                torch.nn.utils.clip_grad_value_(parameters=model.parameters(), clip_value=0.5)
            elif clip == "norm_by_keyword":
                torch.nn.utils.clip_grad_norm_(parameters=list(model.parameters()),
                                               max_norm=1.0, norm_type=2.0)
            if grad_scaler is not None:
                grad_scaler.step(optimizer)
                grad_scaler.update()
            else:
                optimizer.step()
            losses.append(loss.item())

    if folder is None:
        loop()
    else:
        with gradsight.watch(model, optimizer, out=folder):
            loop()
    return losses, [p.detach().clone() for p in model.parameters()]


def _rows(folder: Path, metric: str, name: str = "0.weight") -> dict[int, float]:
    view = RunView.open(folder)
    try:
        series = view.metric("param", metric).get(name)
        return {} if series is None else dict(zip(series.steps.tolist(), series.values.tolist()))
    finally:
        view.close()


@pytest.mark.parametrize("clip", ["norm", "value", "norm_by_keyword", "value_by_keyword"])
def test_gradients_are_recorded_before_clipping_and_training_is_unchanged(tmp_path, clip):
    plain_losses, plain_params = _train(None, clip)
    losses, params = _train(tmp_path / "run", clip)
    assert losses == plain_losses
    assert all(torch.equal(a, b) for a, b in zip(params, plain_params))
    preclip = _rows(tmp_path / "run", "grad_norm_preclip")
    applied = _rows(tmp_path / "run", "grad_norm")
    kind = clip.split("_")[0]
    limit = _rows(tmp_path / "run", f"clip_{kind}_limit")
    assert set(preclip) == set(applied) and 0 in preclip
    assert limit and all(v == (1.0 if kind == "norm" else 0.5) for v in limit.values())
    # at lr 1.5 the raw gradients outgrow the limit: clipping shrank some of them
    assert any(preclip[s] > 1.01 * applied[s] for s in preclip)
    assert all(preclip[s] >= applied[s] * (1 - 1e-6) for s in preclip)


def test_recorded_loss_is_the_users_loss_under_grad_scaler(tmp_path):
    plain_losses, plain_params = _train(None, "norm", scaler=True, lr=0.05)
    losses, params = _train(tmp_path / "run", "norm", scaler=True, lr=0.05)
    assert losses == plain_losses
    assert all(torch.equal(a, b) for a, b in zip(params, plain_params))
    with sqlite3.connect(tmp_path / "run" / "run.sqlite") as db:
        stored = dict(db.execute("SELECT step, value FROM loss").fetchall())
    assert stored[0] == pytest.approx(losses[0], rel=1e-6)  # not losses[0] * 1024
    assert stored[5] == pytest.approx(losses[5], rel=1e-6)


def test_taps_are_removed_after_watching(tmp_path):
    norm_inner = torch.nn.utils.clip_grad._clip_grads_with_norm_
    value = torch.nn.utils.clip_grad_value_
    scale = torch.amp.GradScaler.scale
    _train(tmp_path / "run", "norm", scaler=True, lr=0.05)
    assert torch.nn.utils.clip_grad._clip_grads_with_norm_ is norm_inner
    assert torch.nn.utils.clip_grad_value_ is value
    assert torch.amp.GradScaler.scale is scale


def test_clipping_that_keeps_a_high_learning_rate_stable_is_no_problem(tmp_path):
    """lr 1.5 explodes this net unclipped (see test_torch_exploding_diverging); clipped at 1.0
    the loss stays bounded. Any exploding finding on the raw norms is info, with both norms."""
    losses, _ = _train(None, "norm")
    assert all(v == v and v < 1e3 for v in losses)  # finite and bounded
    torch.manual_seed(0)
    _train(tmp_path / "run", "norm")
    diagnosis = gradsight.load_run(tmp_path / "run")
    problems = [f for f in diagnosis.findings if f.severity.at_least(Severity.WARNING)]
    assert not [f for f in problems if f.kind in ("exploding_gradient", "nonfinite")]
    for finding in diagnosis.findings:
        if finding.kind == "exploding_gradient":
            assert finding.evidence["measured"] == "before gradient clipping"
            assert finding.evidence["clipped_grad_norm_at_peak"]


def test_run_sees_clipping_imported_by_name(write_script, tmp_path):
    script = write_script("""
        import torch
        from torch.nn.utils import clip_grad_norm_, clip_grad_value_
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        x, y = torch.randn(32, 3), torch.randn(32, 1)
        for step in range(20):
            opt.zero_grad()
            torch.nn.functional.mse_loss(model(x), y).backward()
            clip_grad_value_(model.parameters(), 0.01)
            opt.step()
    """)
    out = tmp_path / "run"
    proc = run_gradsight("run", "--out", str(out), str(script))
    assert proc.returncode == 0, proc.stderr
    assert _rows(out, "clip_value_limit")[0] == 0.01
    assert _rows(out, "grad_norm_preclip")[0] > _rows(out, "grad_norm")[0]
    assert read_json(out / "findings.json")["steps"] == 20
