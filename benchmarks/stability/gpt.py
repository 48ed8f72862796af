"""A small GPT (nanoGPT's shape) and the synthetic token stream it learns, for the stability
evaluation and the overhead benchmark. Plain PyTorch; imports nothing of gradsight.

The model: token and position embeddings, ``layers`` pre-LayerNorm blocks (causal self-attention
through ``F.scaled_dot_product_attention``, a GELU MLP), a final LayerNorm and an untied output
head. Two switches are the mitigations Wortsman et al. (2023) study: ``qk_norm`` (a LayerNorm on
each head's queries and keys) and a z-loss (``1e-4 * log(Z)**2`` added to the cross-entropy,
``train.z_loss``).

The data: an order-2 Markov chain over ``vocab`` tokens whose next-token distributions each put
most of their mass on a few tokens (sparse Dirichlet draws): most of it is learnt from the last
token alone, the rest needs attention to the token before; its entropy floor is well below the
``log(vocab)`` of the first steps. Generated from a seeded ``numpy`` generator: no download, the same stream
in every process.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F


@dataclass(frozen=True)
class Config:
    vocab: int = 128
    context: int = 64
    layers: int = 2
    width: int = 128
    heads: int = 4
    qk_norm: bool = False

    @property
    def head_dim(self) -> int:
        return self.width // self.heads


class Attention(nn.Module):
    def __init__(self, config: Config) -> None:
        super().__init__()
        self.heads = config.heads
        self.qkv = nn.Linear(config.width, 3 * config.width, bias=False)
        self.proj = nn.Linear(config.width, config.width, bias=False)
        self.q_norm = nn.LayerNorm(config.head_dim) if config.qk_norm else None
        self.k_norm = nn.LayerNorm(config.head_dim) if config.qk_norm else None
        self.max_logit: torch.Tensor | None = None  # set when measuring (see ``measure``)
        self.measure = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, c = x.shape
        q, k, v = self.qkv(x).split(c, dim=2)
        q, k, v = (z.view(b, t, self.heads, c // self.heads).transpose(1, 2) for z in (q, k, v))
        if self.q_norm is not None and self.k_norm is not None:
            q, k = self.q_norm(q), self.k_norm(k)
        if self.measure:  # the exact largest logit, in plain torch: the benchmark's own label
            with torch.no_grad():
                logits = (q @ k.transpose(-2, -1)) / math.sqrt(q.size(-1))
                causal = torch.ones(t, t, dtype=torch.bool, device=x.device).tril()
                self.max_logit = logits.masked_fill(~causal, -math.inf).amax()
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.proj(y.transpose(1, 2).reshape(b, t, c))


class Block(nn.Module):
    def __init__(self, config: Config) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.width)
        self.attn = Attention(config)
        self.ln_2 = nn.LayerNorm(config.width)
        self.fc = nn.Linear(config.width, 4 * config.width, bias=False)
        self.out = nn.Linear(4 * config.width, config.width, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.out(F.gelu(self.fc(self.ln_2(x))))


class GPT(nn.Module):
    def __init__(self, config: Config) -> None:
        super().__init__()
        self.config = config
        self.wte = nn.Embedding(config.vocab, config.width)
        self.wpe = nn.Embedding(config.context, config.width)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.layers))
        self.ln_f = nn.LayerNorm(config.width)
        self.head = nn.Linear(config.width, config.vocab, bias=False)
        for name, p in self.named_parameters():  # GPT-2's init: N(0, 0.02), residual outputs
            if p.ndim == 2:                       # scaled by 1/sqrt(2 x layers)
                std = 0.02 / math.sqrt(2 * config.layers) if name.endswith(
                    ("proj.weight", "out.weight")) else 0.02
                nn.init.normal_(p, 0.0, std)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        t = idx.size(1)
        x = self.wte(idx) + self.wpe(torch.arange(t, device=idx.device))
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x))

    def attention(self) -> list[Attention]:
        return [block.attn for block in self.blocks]


def markov_table(vocab: int, seed: int, concentration: float = 0.02,
                 bigram: float = 0.7) -> np.ndarray:
    """Next-token distributions (vocab, vocab, vocab) given the two tokens before, rows sum to
    1: ``bigram`` of the mass from the token just before (learnt quickly from the embeddings:
    cross-entropy 4.16 -> ~2.45 for 64 tokens) and the rest from the pair (which needs attention
    to the token two back; the entropy floor is ~1.67)."""
    rng = np.random.default_rng(seed)
    table = rng.dirichlet(np.full(vocab, concentration), size=vocab)
    pair = rng.dirichlet(np.full(vocab, concentration), size=(vocab, vocab))
    return bigram * table[None, :, :] + (1 - bigram) * pair


def token_batches(config: Config, batch: int, count: int, seed: int = 0) -> torch.Tensor:
    """``count`` batches of ``batch`` sequences of ``context + 1`` tokens: (count, batch, T+1)."""
    table = markov_table(config.vocab, seed)
    cumulative = np.cumsum(table, axis=-1)
    rng = np.random.default_rng(seed + 1)
    n = count * batch
    out = np.empty((n, config.context + 1), dtype=np.int64)
    out[:, :2] = rng.integers(0, config.vocab, size=(n, 2))
    for t in range(2, config.context + 1):
        rows = cumulative[out[:, t - 2], out[:, t - 1]]
        u = rng.random((n, 1))
        out[:, t] = np.minimum((rows < u).sum(axis=1), config.vocab - 1)
    return torch.from_numpy(out).view(count, batch, config.context + 1)
