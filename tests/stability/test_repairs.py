"""The stability repairs of ``gradsight fix``: ``loss:zloss`` adds ``1e-4 log(Z)^2`` as the loss
reduces, ``norm:qk`` layer-normalizes queries and keys, ``lr:/10`` survives a scheduler that
recomputes the rate from its base rates; and a trial with ``norm:qk`` ends the runaway
attention of a run that has it (real processes, the benchmark's GPT)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

from gradsight.fix.repairs import LearningRate, QKNorm, TrialHooks, ZLoss, z_term  # noqa: E402
from gradsight.fix.trials import run_trial  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
TRAIN = ROOT / "benchmarks" / "stability" / "train.py"


@pytest.fixture
def restore_functional():
    saved = (F.cross_entropy, F.scaled_dot_product_attention)
    yield
    F.cross_entropy, F.scaled_dot_product_attention = saved


def test_z_loss_as_the_loss_reduces(restore_functional):
    torch.manual_seed(0)
    logits, target = torch.randn(6, 5, 3) * 4, torch.randint(0, 5, (6, 3))
    target[0, 0] = -100
    ce = {r: F.cross_entropy(logits, target, reduction=r) for r in ("mean", "sum", "none")}
    lse2 = torch.logsumexp(logits, 1).pow(2)
    keep = (target != -100).float()
    ZLoss().install(torch, TrialHooks({}))
    assert torch.allclose(F.cross_entropy(logits, target),
                          ce["mean"] + 1e-4 * (lse2 * keep).sum() / keep.sum())
    assert torch.allclose(F.cross_entropy(logits, target, reduction="sum"),
                          ce["sum"] + 1e-4 * (lse2 * keep).sum())
    assert torch.allclose(F.cross_entropy(logits, target, reduction="none"),
                          ce["none"] + 1e-4 * lse2 * keep)
    assert torch.allclose(nn.CrossEntropyLoss()(logits, target), F.cross_entropy(logits, target))
    assert z_term(torch, torch.zeros(4, 8), None, -100, "mean", ce["mean"]) == pytest.approx(
        math.log(8) ** 2)


def test_qk_norm_normalizes_queries_and_keys(restore_functional):
    torch.manual_seed(1)
    q, k, v = torch.randn(2, 3, 5, 8) * 50, torch.randn(2, 3, 5, 8) * 50, torch.randn(2, 3, 5, 8)
    want = F.scaled_dot_product_attention(F.layer_norm(q, (8,)), F.layer_norm(k, (8,)), v,
                                          is_causal=True)
    hooks = TrialHooks({})
    QKNorm().install(torch, hooks)
    for fn in hooks.first_forward:
        fn(None, (), {})
    assert torch.allclose(F.scaled_dot_product_attention(q, k, v, is_causal=True), want)


def test_lower_lr_survives_a_lambda_scheduler():
    model = nn.Linear(2, 2)
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.3)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / 10))
    hooks = TrialHooks({})
    LearningRate(0.1).install(torch, hooks)
    for _ in range(20):
        for fn in hooks.step:
            fn(optimizer, (), {})
        optimizer.step()
        schedule.step()
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.03)


def test_a_qk_norm_trial_ends_the_runaway_attention(tmp_path):
    """lr 1 (warmed up over 300 steps): layer 0's largest logit runs away by step ~50; with
    the queries and keys normalized it cannot (|q.k|/sqrt(d) <= sqrt(d) = 4)."""
    args = ["--lr", "1", "--steps", "120"]
    base = run_trial(str(TRAIN), args, None, 120, tmp_path / "baseline")
    trial = run_trial(str(TRAIN), args, "norm:qk", 120, tmp_path / "qk")
    assert base.status != "error" and trial.status != "error", (base.error, trial.error)
    assert "attention_logit_growth" in base.kinds
    assert "attention_logit_growth" not in trial.kinds
