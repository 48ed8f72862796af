"""The stability taps in a watched run: every step, each attention layer's largest logit and
entropy under its own module name, the logits' log-sum-exp under the output layer's name, the
values equal to the model's own plain-torch measurement, and the training unchanged."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

import gradsight  # noqa: E402
from gradsight.core import metrics as m  # noqa: E402
from gradsight.core.run_view import RunView  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks" / "stability"))
from gpt import GPT, Config, token_batches  # noqa: E402

STEPS = 40  # more than stability.RING_STEPS: a full batch of held rows and a remainder


def _train(folder: Path | None, lr: float = 0.3) -> dict:
    torch.manual_seed(0)
    config = Config(vocab=32, context=16, layers=2, width=32, heads=4)
    model = GPT(config)
    for attn in model.attention():
        attn.measure = True
    data = token_batches(config, 4, 4)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    out: dict = {"loss": [], "exact": [], "lse": []}

    def loop() -> None:
        for step in range(STEPS):
            batch = data[step % 4]
            logits = model(batch[:, :-1])
            loss = F.cross_entropy(logits.reshape(-1, config.vocab), batch[:, 1:].reshape(-1))
            out["exact"].append([float(a.max_logit) for a in model.attention()])
            out["lse"].append(float(torch.logsumexp(logits.detach().double(), -1).mean()))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            with torch.no_grad():
                model(batch[:, :-1])  # an evaluation pass: not measured
            out["loss"].append(loss.item())

    if folder is None:
        loop()
    else:
        with gradsight.watch(model, optimizer, out=folder):
            loop()
    out["params"] = [p.detach().clone() for p in model.parameters()]
    out["rng"] = torch.get_rng_state()
    return out


def test_attention_and_logits_every_step_and_training_unchanged(tmp_path: Path) -> None:
    plain = _train(None)
    watched = _train(tmp_path / "run")
    assert watched["loss"] == plain["loss"]
    assert all(torch.equal(a, b) for a, b in zip(watched["params"], plain["params"]))
    assert torch.equal(watched["rng"], plain["rng"])
    view = RunView.open(tmp_path / "run")
    top = view.metric("module", m.ATTN_LOGIT_MAX)
    entropy = view.metric("module", m.ATTN_ENTROPY)
    assert sorted(top) == ["blocks.0.attn", "blocks.1.attn"]
    for j, name in enumerate(["blocks.0.attn", "blocks.1.attn"]):
        assert list(top[name].steps) == list(range(STEPS))
        # batch 4 x 16 positions: every row is in the sample, so the value is exact; the
        # model's own measurement is of the training forward (the evaluation pass is skipped)
        np.testing.assert_allclose(top[name].values, [e[j] for e in watched["exact"]],
                                   rtol=1e-5)
        assert ((entropy[name].values > 0) & (entropy[name].values <= 1)).all()
        info = view.entity("module", name)
        assert info is not None and info.get("kind") == "attention"
    lse = view.metric("module", m.LOGIT_LSE)
    assert list(lse) == ["head"]
    np.testing.assert_allclose(lse["head"].values, watched["lse"], rtol=1e-6)
    assert view.events("adapter_error") == []
    view.close()


class _Encoder(nn.Module):
    """nn.TransformerEncoderLayer (attention without weights: through sdpa) and a bare
    nn.MultiheadAttention called with its default need_weights=True."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(20, 16)
        self.encoder = nn.TransformerEncoderLayer(16, 4, 32, dropout=0.0, batch_first=True)
        self.cross = nn.MultiheadAttention(16, 4, batch_first=True)
        self.out = nn.Linear(16, 20)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.encoder(self.embed(x))
        h = h + self.cross(h, h, h)[0]
        return self.out(h)


def test_torch_attention_modules_are_named(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = _Encoder()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    x = torch.randint(0, 20, (3, 7))
    loss_fn = nn.CrossEntropyLoss()
    with gradsight.watch(model, optimizer, out=tmp_path / "run"):
        for _ in range(3):
            loss = loss_fn(model(x).reshape(-1, 20), x.reshape(-1))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    view = RunView.open(tmp_path / "run")
    top = view.metric("module", m.ATTN_LOGIT_MAX)
    assert sorted(top) == ["cross", "encoder.self_attn"]
    assert all(len(s) == 3 for s in top.values())
    assert list(view.metric("module", m.LOGIT_LSE)) == ["out"]
    view.close()
