"""CUDA-only checks, run on a GPU machine: no host sync while watching, AMP, equal training.

    python benchmarks/cuda_checks.py

1. Watching adds no device->host synchronization to a training step: the steps run under
   ``torch.cuda.set_sync_debug_mode("error")``, which raises on any synchronizing call, at
   both tiers: ``every=1`` (full detail every step) and the default schedule past its dense
   start (the always-on tier alone on most steps, its ring shipped every 32 steps). (The plain
   loop is checked first, so a sync in the loop itself is not blamed on gradsight.)
2. Mixed precision (autocast + GradScaler) trains and is diagnosed without a false alarm.
3. Losses and final parameters are bit-identical with and without watching.
"""

from __future__ import annotations

import tempfile

import torch
from torch import nn

import gradsight


def make(seed: int = 0) -> tuple[nn.Module, torch.optim.Optimizer, torch.Tensor, torch.Tensor]:
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(256, 512), nn.ReLU(), nn.Linear(512, 512), nn.Tanh(),
                          nn.Dropout(0.1), nn.Linear(512, 10)).cuda()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.randn(4096, 256, device="cuda")
    y = torch.randint(0, 10, (4096,), device="cuda")
    return model, opt, x, y


def train(model, opt, x, y, steps, scaler=None, strict=False):  # type: ignore[no-untyped-def]
    losses = []
    for i in range(steps):
        xb, yb = x[(i * 64) % 4096:][:64], y[(i * 64) % 4096:][:64]
        if strict:
            torch.cuda.set_sync_debug_mode("error")
        try:
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=scaler is not None):
                loss = nn.functional.cross_entropy(model(xb), yb)
            opt.zero_grad()
            if scaler is not None:
                scaler.scale(loss).backward()
                scaler.step(opt)
                scaler.update()
            else:
                loss.backward()
                opt.step()
        finally:
            torch.cuda.set_sync_debug_mode("default")
        losses.append(loss.detach())
    return torch.stack(losses)


def main() -> None:
    out = tempfile.mkdtemp()
    model, opt, x, y = make()
    train(model, opt, x, y, 3, strict=True)
    print("plain loop: no sync")
    model, opt, x, y = make()
    with gradsight.watch(model, opt, out=f"{out}/strict", every=1) as w:
        train(model, opt, x, y, 30, strict=True)
    print("watched every step under sync_debug_mode=error: no sync;",
          [f.kind for f in w.findings])
    model, opt, x, y = make()
    with gradsight.watch(model, opt, out=f"{out}/always-on") as w:
        train(model, opt, x, y, 12)  # the dense start: detail on steps 0-9
        train(model, opt, x, y, 80, strict=True)  # always-on only (step 100 is detail)
    print("watched at the default schedule (always-on tier) under sync_debug_mode=error: "
          "no sync;", [f.kind for f in w.findings])

    model, opt, x, y = make()
    plain = train(model, opt, x, y, 50)
    plain_params = [p.detach().clone() for p in model.parameters()]
    model, opt, x, y = make()
    with gradsight.watch(model, opt, out=f"{out}/same", every=1):
        watched = train(model, opt, x, y, 50)
    same = torch.equal(plain, watched) and all(
        torch.equal(a, b) for a, b in zip(plain_params, model.parameters()))
    print("bit-identical losses and parameters with and without watching:", same)

    model, opt, x, y = make()
    scaler = torch.amp.GradScaler("cuda")
    with gradsight.watch(model, opt, out=f"{out}/amp") as w:
        train(model, opt, x, y, 200, scaler=scaler)
    problems = [f.kind for f in w.findings if f.severity.value != "info"]
    print("AMP + GradScaler findings (expected none):", problems)
    if not same or problems:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
