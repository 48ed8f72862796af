"""Train the small GPT of ``gpt.py`` on its synthetic tokens: one run of the stability sweep.

A plain PyTorch script, run as a user would run it (``python train.py --lr 0.3`` or under
``gradsight run``). It measures its own fate with plain torch, independently of gradsight, and
writes it to ``--labels`` (JSON): every step's loss, the exact largest attention logit of each
layer (every query row, ``Attention.measure``), the exact mean log-sum-exp of the output logits,
and each parameter's exact update/weight ratio ``|w_after - w_before| / |w_after|``.

AdamW (beta2 0.95, no weight decay: Wortsman et al.'s setting for the output-logit mechanism),
learning rate warmed up linearly over ``--warmup`` steps, then constant. A non-finite loss ends
the run a few steps later, as it would end a real one.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import torch
from torch.nn import functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gpt import GPT, Config, token_batches  # noqa: E402

AFTER_NONFINITE = 5  # steps run after the first non-finite loss


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lr", type=float, default=1e-2)
    p.add_argument("--qk-norm", action="store_true", help="LayerNorm on queries and keys")
    p.add_argument("--z-loss", type=float, default=0.0, help="coefficient of log(Z)^2")
    p.add_argument("--steps", type=int, default=400)
    p.add_argument("--warmup", type=int, default=300)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--width", type=int, default=64)
    p.add_argument("--vocab", type=int, default=64)
    p.add_argument("--context", type=int, default=32)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--labels", type=Path, default=None, help="write the plain-torch measurements")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    torch.set_num_threads(1)  # one core per run: the sweep runs several at once
    torch.manual_seed(args.seed)
    config = Config(vocab=args.vocab, context=args.context, layers=args.layers,
                    width=args.width, heads=4, qk_norm=args.qk_norm)
    model = GPT(config)
    for attn in model.attention():
        attn.measure = args.labels is not None
    data = token_batches(config, args.batch, 64, seed=args.seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.95),
                                  weight_decay=0.0)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / max(args.warmup, 1)))
    names = [n for n, _ in model.named_parameters()]
    record: dict[str, list] = {"loss": [], "max_logit": [], "lse": [], "update_ratio": []}
    stop = None
    for step in range(args.steps):
        batch = data[step % len(data)]
        x, y = batch[:, :-1], batch[:, 1:]
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, config.vocab), y.reshape(-1))
        if args.z_loss:
            loss = loss + args.z_loss * torch.logsumexp(logits, dim=-1).pow(2).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        before = [p.detach().clone() for p in model.parameters()] if args.labels else None
        optimizer.step()
        schedule.step()
        value = loss.item()
        if args.labels is not None and before is not None:
            with torch.no_grad():
                record["loss"].append(value)
                record["max_logit"].append([float(a.max_logit) for a in model.attention()])
                record["lse"].append(float(torch.logsumexp(logits.double(), -1).mean()))
                record["update_ratio"].append([
                    float((p - b).norm() / p.norm()) for p, b in zip(model.parameters(), before)])
        if not math.isfinite(value) and stop is None:
            stop = step + AFTER_NONFINITE
        if stop is not None and step >= stop:
            break
    if args.labels is not None:
        layers = [f"blocks.{i}.attn" for i in range(config.layers)]
        args.labels.parent.mkdir(parents=True, exist_ok=True)
        args.labels.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()},
                                           "attention_layers": layers, "params": names,
                                           **record}, allow_nan=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
