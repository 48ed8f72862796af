"""Stability statistics of one attention call and one cross-entropy call, on the device, with
no host sync: the numbers ``metrics.ATTN_METRICS`` and ``metrics.LOGIT_LSE`` name.

Attention (Wortsman et al. 2023: the largest logit ``q.k/sqrt(d)`` grows until the softmax is
one-hot). Computing every logit costs as much as the attention itself, so the logits of a fixed
sample of query rows are computed instead, against every key they may see: up to
``metrics.ATTN_BATCH`` sequences of the batch (evenly strided), every head, and up to
``metrics.ATTN_ROWS`` query positions (evenly strided, always including the last one, which sees
every key of a causal attention). That is ``ATTN_BATCH x ATTN_ROWS / (batch x length)`` of the
attention's own q.k work. The largest sampled logit is a lower bound of the exact one; how close
it comes is measured in ``tests/stability/test_attention_stats.py`` against the exact value of
every row (the growth it watches for is a property of the weights, so it shows in every row).

Output logits (Wortsman et al.: they drift away from log-normalized, which a z-loss stops): the
mean log-sum-exp ``log Z`` of the logits given to ``cross_entropy``, over up to
``metrics.LOGIT_ROWS`` rows (evenly strided; rows whose target is ``ignore_index`` left out).
"""

from __future__ import annotations

import math
from typing import Any

import torch

from ...core import metrics as m

F64 = torch.float64


def _stride(n: int, k: int) -> int:
    return max(-(-n // k), 1)


NEG = -1e30  # a masked key's logit: its softmax weight is exactly 0, and 0 * its log is 0
_ROWS: dict[tuple[Any, ...], tuple[Any, Any, torch.Tensor, int]] = {}
_ROWS_KEPT = 64  # layouts kept (length, keys, sampling, causal, device); cleared past it


def _rows(length: int, keys: int, first: int, sr: int, causal: bool, device: torch.device
          ) -> tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor, int]:
    """Per layout, made once: which keys each sampled row sees under a causal mask (None: all),
    that as an additive bias (0 / ``NEG``), 1 / log(keys seen) per row (0 where a row sees one
    key), and how many rows see more than one."""
    cache_key = (length, keys, first, sr, causal, str(device))
    hit = _ROWS.get(cache_key)
    if hit is None:
        rows = torch.arange(first, length, sr, device=device)
        seen = torch.arange(keys, device=device)[None, :] <= rows[:, None] if causal else None
        count = seen.sum(-1).float() if seen is not None else \
            torch.full(rows.shape, float(keys), device=device)
        inv = torch.where(count > 1, 1.0 / count.clamp_min(2).log(), 0.0)
        bias = torch.where(seen, 0.0, NEG) if seen is not None else None
        if len(_ROWS) >= _ROWS_KEPT:
            _ROWS.clear()
        hit = _ROWS[cache_key] = (seen, bias, inv, int((count > 1).sum()))
    return hit


def attention_stats(query: torch.Tensor, key: torch.Tensor, attn_mask: Any = None,
                    is_causal: bool = False, scale: float | None = None) -> torch.Tensor:
    """``[largest logit, normalized entropy]`` (float64) of ``softmax(q k^T * scale + mask)``
    over the sampled query rows, as ``F.scaled_dot_product_attention`` would compute it.

    The entropy of each row is divided by ``log`` of the number of keys the row may see (1: as
    uniform as it can be, 0: one-hot) and averaged over the rows that see more than one key.
    It runs at every attention call, so it is a handful of operations: the causal layout's
    constants are made once (``_rows``), masked keys get the finite ``NEG`` (with -inf, p log p
    is NaN there and needs its own masking), and p log p comes from ``softmax`` and
    ``log_softmax`` (``log_softmax().exp()`` is several times slower on ``NEG`` entries).
    """
    q, k = query.detach(), key.detach()
    while q.ndim < 4:  # (L, E) / (N, L, E): one head, one sequence
        q = q.unsqueeze(0)
    while k.ndim < 4:
        k = k.unsqueeze(0)
    if q.ndim > 4:  # extra leading dims: fold them into the batch
        q = q.flatten(0, q.ndim - 4)
        k = k.flatten(0, k.ndim - 4)
    batch, length, keys = q.shape[0], q.shape[-2], k.shape[-2]
    sb, sr = _stride(batch, m.ATTN_BATCH), _stride(length, m.ATTN_ROWS)
    first = (length - 1) % sr  # so that the last position is in the sample
    qs = q[::sb][..., first::sr, :]
    ks = k[::sb] if k.shape[0] == batch else k
    if ks.shape[1] != qs.shape[1] and ks.shape[1] > 0 and qs.shape[1] % ks.shape[1] == 0:
        ks = ks.repeat_interleave(qs.shape[1] // ks.shape[1], dim=1)  # grouped-query attention
    if scale is None:
        scale = 1.0 / math.sqrt(q.shape[-1])
    device_type = q.device.type if q.device.type in ("cuda", "cpu", "xpu") else "cpu"
    seen, bias, inv, used = _rows(length, keys, first, sr, is_causal, q.device)
    with torch.autocast(device_type, enabled=False):  # float32 logits, whatever autocast says
        logits = torch.matmul(qs.float(), ks.float().transpose(-2, -1)) * scale
        if attn_mask is not None:  # rows may see different keys: count them
            mask = _sample_mask(attn_mask.detach(), q.shape, keys, sb, first, sr)
            if mask.dtype != torch.bool:
                logits = logits + mask.float()
            elif seen is None:
                seen = mask
            else:
                seen = seen & mask
            if seen is not None:
                logits = logits.masked_fill(~seen, -math.inf)
            count = torch.isfinite(logits).sum(-1).float()
            inv = torch.where(count > 1, 1.0 / count.clamp_min(2).log(), 0.0)
            rows_used = (count > 1).sum().clamp_min(1)
            logits = logits.clamp_min(NEG)  # -inf (masked) to NEG; NaN stays NaN
        else:  # every sampled sequence and head sees the keys the layout says
            if bias is not None:
                logits += bias
            rows_used = max(used, 1) * (logits.numel() // (keys * max(inv.numel(), 1)))
        top = logits.amax()
        top = torch.where(top <= NEG / 2, -math.inf, top)  # nothing visible at all (NaN stays)
        entropy = -(torch.softmax(logits, dim=-1) * torch.log_softmax(logits, dim=-1)).sum(-1)
        mean_entropy = (entropy * inv).sum() / rows_used
    return torch.stack([top.to(F64), mean_entropy.to(F64)])


def _sample_mask(mask: torch.Tensor, shape: torch.Size, keys: int, sb: int, first: int,
                 sr: int) -> torch.Tensor:
    """The rows of a mask broadcastable to (batch, heads, length, keys) that were sampled."""
    while mask.ndim < 4:
        mask = mask.unsqueeze(0)
    if mask.shape[0] > 1:
        mask = mask[::sb]
    if mask.shape[-2] > 1:
        mask = mask[..., first::sr, :]
    return mask


def logit_lse(logits: torch.Tensor, target: Any = None, ignore_index: int = -100
              ) -> torch.Tensor:
    """Mean ``logsumexp`` over classes of ``cross_entropy``'s input (classes on dim 1, or dim 0
    for one unbatched row), over the sampled rows (float64, 0-dim)."""
    x = logits.detach()
    if x.ndim == 1:
        x = x[None]
        target = target.reshape(1) if isinstance(target, torch.Tensor) and target.ndim == 0 \
            else target
    elif x.ndim > 2:
        x = x.movedim(1, -1).reshape(-1, x.shape[1])
    step = _stride(x.shape[0], m.LOGIT_ROWS)
    device_type = x.device.type if x.device.type in ("cuda", "cpu", "xpu") else "cpu"
    with torch.autocast(device_type, enabled=False):
        lse = torch.logsumexp(x[::step].float(), dim=-1)
    if isinstance(target, torch.Tensor) and not target.is_floating_point() \
            and target.numel() == x.shape[0]:
        keep = (target.reshape(-1)[::step] != ignore_index).to(lse.dtype)
        return ((lse * keep).sum() / keep.sum().clamp_min(1)).to(F64)
    return lse.mean().to(F64)


def mha_qk(args: tuple[Any, ...], kwargs: dict[str, Any]
           ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None] | None:
    """Queries, keys (batch, heads, length, head_dim) and the mask in
    ``F.scaled_dot_product_attention``'s convention that ``F.multi_head_attention_forward(query,
    key, value, embed_dim, num_heads, in_proj_weight, in_proj_bias, ...)`` uses inside, for the
    sampled sequences only; None for the variants this does not follow (separate projection
    weights, ``bias_k``, ``add_zero_attn``)."""
    names = ("query", "key", "value", "embed_dim_to_check", "num_heads", "in_proj_weight",
             "in_proj_bias", "bias_k", "bias_v", "add_zero_attn")
    given = dict(zip(names, args))
    given.update({k: v for k, v in kwargs.items() if k in names})
    weight = given.get("in_proj_weight")
    if weight is None or given.get("bias_k") is not None or given.get("add_zero_attn") or \
            kwargs.get("use_separate_proj_weight"):
        return None
    query, key, heads = given["query"].detach(), given["key"].detach(), int(given["num_heads"])
    if query.ndim == 2:  # unbatched (L, E)
        query, key = query[:, None], key[:, None]
    query, key = query.transpose(0, 1), key.transpose(0, 1)  # it takes (L, N, E): to (N, L, E)
    sb = _stride(query.shape[0], m.ATTN_BATCH)
    query, key = query[::sb], key[::sb]
    e = query.shape[-1]
    bias = given.get("in_proj_bias")
    w_q, w_k = weight.detach()[:e], weight.detach()[e:2 * e]
    b_q = bias.detach()[:e] if bias is not None else None
    b_k = bias.detach()[e:2 * e] if bias is not None else None
    q = torch.nn.functional.linear(query, w_q, b_q)
    k = torch.nn.functional.linear(key, w_k, b_k)
    n = q.shape[0]
    return (q.view(n, -1, heads, e // heads).transpose(1, 2),
            k.view(n, -1, heads, e // heads).transpose(1, 2),
            _mha_mask(kwargs.get("attn_mask"), kwargs.get("key_padding_mask"), heads, sb))


def _mha_mask(attn_mask: Any, padding: Any, heads: int, sb: int) -> torch.Tensor | None:
    """MultiheadAttention's masks (True: *not* attended; or additive floats; (L, S) or
    (N * heads, L, S), and a (N, S) key padding mask) as one mask for ``attention_stats``:
    True where attended, or additive floats, broadcastable to (N / sb, heads, L, S)."""
    out: torch.Tensor | None = None
    if isinstance(attn_mask, torch.Tensor):
        mask = attn_mask.detach()
        if mask.ndim == 3:
            mask = mask.view(-1, heads, *mask.shape[-2:])[::sb]
        out = ~mask if mask.dtype == torch.bool else mask
    if isinstance(padding, torch.Tensor):
        pad = padding.detach()[::sb][:, None, None, :]
        if pad.dtype != torch.bool:  # additive
            out = pad if out is None else (out.float() + pad if out.dtype != torch.bool else
                                           pad.masked_fill(~out, -math.inf))
        elif out is None or out.dtype == torch.bool:
            out = ~pad if out is None else out & ~pad
        else:
            out = out.masked_fill(pad, -math.inf)
    return out
