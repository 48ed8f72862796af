"""The stability statistics against a float64 oracle: the largest attention logit and the
attention entropy of ``softmax(q k^T * scale + mask)`` computed for every row, and the mean
log-sum-exp of the logits. Exact where every row is sampled; a lower bound (with the measured
gap) where rows are sampled."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from gradsight.adapters.torch import attention  # noqa: E402
from gradsight.core import metrics as m  # noqa: E402


def oracle(q, k, mask=None, causal=False, scale=None, rows=None, batches=None):
    """Every logit in float64; (largest, mean normalized entropy) over the chosen rows."""
    q, k = q.double(), k.double()
    if k.shape[1] != q.shape[1]:
        k = k.repeat_interleave(q.shape[1] // k.shape[1], dim=1)
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    logits = q @ k.transpose(-2, -1) * scale
    length, keys = logits.shape[-2:]
    visible = torch.ones(length, keys, dtype=torch.bool)
    if causal:
        visible = torch.ones(length, keys, dtype=torch.bool).tril()
    visible = visible.expand_as(logits).clone()
    if mask is not None:
        if mask.dtype == torch.bool:
            visible &= mask.expand_as(logits)
        else:
            logits = logits + mask.double()
    logits = logits.masked_fill(~visible, -math.inf)
    if batches is not None:
        logits, visible = logits[batches], visible[batches]
    if rows is not None:
        logits, visible = logits[..., rows, :], visible[..., rows, :]
    p = torch.softmax(logits, -1)
    ent = -torch.where(visible, p * torch.log(p.clamp_min(1e-300)), 0.0).sum(-1)
    count = visible.sum(-1).double()
    used = count > 1
    norm = (ent[used] / count[used].log()).mean()
    return float(logits.max()), float(norm)


@pytest.mark.parametrize("causal", [False, True])
def test_every_row_sampled_is_exact(causal):
    torch.manual_seed(0)
    q, k = torch.randn(3, 2, 16, 8) * 3, torch.randn(3, 2, 16, 8) * 3
    top, ent = attention.attention_stats(q, k, is_causal=causal).tolist()
    want_top, want_ent = oracle(q, k, causal=causal)
    assert top == pytest.approx(want_top, rel=1e-5)
    assert ent == pytest.approx(want_ent, rel=1e-5)
    assert 0 < ent < 1


def test_layout_constants_are_reused_rightly_and_extreme_logits_stay_exact():
    """The causal layout's constants are made once per shape: calls alternating between two
    lengths still match the oracle; one-hot rows (logits ~1e6) have entropy 0 and their top is
    exact; a sample that sees no key at all has no largest logit (-inf) and entropy 0."""
    torch.manual_seed(3)
    for length in (16, 24, 16, 24):
        q, k = torch.randn(2, 2, length, 8), torch.randn(2, 2, length, 8)
        got = attention.attention_stats(q, k, is_causal=True).tolist()
        assert got == pytest.approx(oracle(q, k, causal=True), rel=1e-5)
    q = torch.zeros(1, 1, 4, 2)
    q[..., 0] = 1e6
    k = torch.zeros(1, 1, 4, 2)
    k[0, 0, 0, 0] = 1.0  # every row puts 1e6/sqrt(2) on key 0, 0 on the others
    top, ent = attention.attention_stats(q, k).tolist()
    assert top == pytest.approx(1e6 / math.sqrt(2), rel=1e-6) and ent == 0.0
    none = torch.zeros(4, 4, dtype=torch.bool)
    top, ent = attention.attention_stats(torch.randn(1, 1, 4, 2), torch.randn(1, 1, 4, 2),
                                         none).tolist()
    assert top == -math.inf and ent == 0.0
    q = torch.randn(1, 1, 4, 2)
    q[0, 0, 1, 0] = math.nan  # a broken forward stays visible as NaN, never as "no key"
    top, _ = attention.attention_stats(q, torch.randn(1, 1, 4, 2)).tolist()
    assert math.isnan(top)


def test_masks_scale_and_grouped_query_attention():
    torch.manual_seed(1)
    q, k = torch.randn(2, 4, 12, 8), torch.randn(2, 2, 12, 8)  # 4 query heads, 2 key heads
    boolean = torch.rand(12, 12) > 0.3
    boolean[:, 0] = True  # every row sees a key
    additive = torch.randn(2, 1, 12, 12)
    for mask in (boolean, additive):
        got = attention.attention_stats(q, k, mask, scale=0.5).tolist()
        want = oracle(q, k, mask=mask, scale=0.5)
        assert got == pytest.approx(want, rel=1e-5)


def test_sampled_rows_bound_the_exact_largest_logit():
    """Batch 16 x length 128 (the sample is 4 of 16 sequences, 32 of 128 positions): the
    statistic is exactly the oracle's on the sampled rows, and below the exact largest logit."""
    torch.manual_seed(2)
    q, k = torch.randn(16, 4, 128, 16), torch.randn(16, 4, 128, 16)
    top, ent = attention.attention_stats(q, k, is_causal=True).tolist()
    sb = -(-16 // m.ATTN_BATCH)
    sr = -(-128 // m.ATTN_ROWS)
    rows = list(range(127 % sr, 128, sr))
    want = oracle(q, k, causal=True, rows=rows, batches=slice(None, None, sb))
    assert [top, ent] == pytest.approx(list(want), rel=1e-5)
    exact, _ = oracle(q, k, causal=True)
    assert top <= exact + 1e-6
    assert 127 in rows  # the last position, which sees every key


def test_grown_attention_is_seen_in_the_sample():
    """Logit growth comes from the weights, so it shows in every row: with q and k that share a
    grown direction the sampled largest logit is within 10% of the exact one."""
    torch.manual_seed(3)
    direction = torch.randn(16)
    q = torch.randn(16, 4, 128, 16) + 20 * direction
    k = torch.randn(16, 4, 128, 16) + 20 * direction
    top, ent = attention.attention_stats(q, k, is_causal=True).tolist()
    exact, _ = oracle(q, k, causal=True)
    assert 0.9 * exact <= top <= exact + 1e-3
    assert ent < 0.5  # the rows concentrate on the keys most aligned with the direction


def test_logit_lse_against_logsumexp():
    torch.manual_seed(4)
    logits = torch.randn(40, 7) * 5
    target = torch.randint(0, 7, (40,))
    target[::3] = -100
    got = float(attention.logit_lse(logits, target))
    keep = target != -100
    assert got == pytest.approx(float(torch.logsumexp(logits.double(), 1)[keep].mean()), rel=1e-6)
    image = torch.randn(2, 5, 3, 4)  # (N, C, d1, d2): classes on dim 1
    want = torch.logsumexp(image.double(), 1).mean()
    assert float(attention.logit_lse(image, torch.zeros(2, 3, 4, dtype=torch.long))) == \
        pytest.approx(float(want), rel=1e-6)
    row = torch.randn(9)  # one unbatched row: classes on dim 0
    assert float(attention.logit_lse(row, torch.tensor(3))) == pytest.approx(
        float(torch.logsumexp(row.double(), 0)), rel=1e-6)


def test_multihead_attention_queries_and_keys():
    """``mha_qk`` projects the queries and keys the way ``nn.MultiheadAttention`` does: its
    statistics equal the oracle's on the module's own attention weights' logits."""
    torch.manual_seed(5)
    mha = nn.MultiheadAttention(16, 4)
    x = torch.randn(10, 3, 16)  # (L, N, E)
    mask = torch.ones(10, 10, dtype=torch.bool).triu(1)  # True: not attended
    args = (x, x, x, 16, 4, mha.in_proj_weight, mha.in_proj_bias, None, None, False, 0.0,
            mha.out_proj.weight, mha.out_proj.bias)
    q, k, sdpa_mask = attention.mha_qk(args, {"attn_mask": mask})
    got = attention.attention_stats(q, k, sdpa_mask).tolist()
    w = mha.in_proj_weight.detach()
    qq = (x.transpose(0, 1) @ w[:16].T + mha.in_proj_bias[:16]).view(3, 10, 4, 4).transpose(1, 2)
    kk = (x.transpose(0, 1) @ w[16:32].T + mha.in_proj_bias[16:32]).view(3, 10, 4, 4)
    want = oracle(qq.detach(), kk.transpose(1, 2).detach(), causal=True)
    assert got == pytest.approx(list(want), rel=1e-5)
