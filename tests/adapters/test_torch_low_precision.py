"""A model cast to bfloat16 and trained by AdamW: its LayerNorm gains (at 1, where bfloat16
numbers are 2^-7 apart) never move, since every ~1e-4 step rounds away. gradsight says so and
advises float32 weights under autocast, not a learning rate 10,000x higher; the same model with
float32 weights and bfloat16 compute (autocast) trains its gains and gets no finding. Real
training; the gains' movement measured in plain torch beside it."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

import gradsight  # noqa: E402
from gradsight.core.run_view import RunView  # noqa: E402


def _train(tmp_path, cast: bool):  # type: ignore[no-untyped-def]
    """(findings, largest change of any LayerNorm gain, the recorded dtypes)."""
    torch.manual_seed(0)
    x = torch.randn(512, 32)
    y = (x[:, :4].sum(1) > 0).long()
    model = torch.nn.Sequential(
        torch.nn.Linear(32, 64), torch.nn.LayerNorm(64), torch.nn.GELU(),
        torch.nn.Linear(64, 64), torch.nn.LayerNorm(64), torch.nn.GELU(), torch.nn.Linear(64, 2))
    if cast:
        model = model.to(torch.bfloat16)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    gains = [model[1].weight, model[4].weight]
    start = [g.detach().float().clone() for g in gains]
    out = tmp_path / ("cast" if cast else "autocast")
    with gradsight.watch(model, opt, out=out) as w:
        for _ in range(120):
            rows = torch.randint(0, 512, (64,))
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=not cast):
                logits = model(x[rows].to(torch.bfloat16) if cast else x[rows])
            loss = torch.nn.functional.cross_entropy(logits.float(), y[rows])
            opt.zero_grad()
            loss.backward()
            opt.step()
    moved = max(float((g.detach().float() - s).abs().max()) for g, s in zip(gains, start))
    view = RunView.open(out)
    try:
        dtypes = {view.entity("param", name).get("dtype") for name in ("1.weight", "0.weight")}
    finally:
        view.close()
    return w.diagnosis.findings, moved, dtypes


def test_bfloat16_weights_whose_updates_round_away(tmp_path) -> None:
    findings, moved, dtypes = _train(tmp_path, cast=True)
    assert moved == 0.0 and dtypes == {"bfloat16"}  # the case, measured: the gains never moved
    (finding,) = [f for f in findings if f.kind == "stalled_weights"]
    assert {"1.weight", "4.weight"} <= set(finding.where)
    assert finding.evidence["rounded_away"]["1.weight"]["dtype"] == "bfloat16"
    assert finding.advice[0].action == "float32_weights"
    assert "raise_lr" not in [f.action for f in finding.advice]
    assert "model.float()" in finding.fixes[0] and "torch.autocast" in finding.fixes[0]


def test_float32_weights_under_autocast_train_their_gains(tmp_path) -> None:
    findings, moved, dtypes = _train(tmp_path, cast=False)
    assert moved > 1e-3 and dtypes == {"float32"}  # the gains trained
    assert [f.kind for f in findings if f.severity.value in ("warning", "error")] == []
