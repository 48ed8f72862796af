"""A small ``torch.distributed`` training job (gloo, CPU) whose bug is picked by name.

    python job.py MODE WORLD OUT          # mp.spawn of WORLD ranks (JOB_LAUNCH=fork: forked
                                          # multiprocessing Processes)
    torchrun --nproc_per_node WORLD job.py MODE WORLD OUT

Modes: ``healthy`` (a ResNet-style CNN under DDP), ``fsdp`` (an MLP of odd widths sharded with
FSDP2 ``fully_shard``, gradients clipped to a global norm of 0.5), ``bypass`` (DDP, but every
third step goes through the raw module, so its gradients are not all-reduced), ``seed`` (no DDP:
rank-seeded init, gradients averaged by hand), ``noavg`` (no DDP, the same init on every rank,
and a hand-written average whose test skips every parameter, as the distributed tutorial's
``type(p) is torch.Tensor`` does for an ``nn.Parameter``: no gradient is ever averaged), ``nan``
(rank 1 gets a NaN input in step 6), ``kill`` (rank 1 is killed in step 7), ``unused`` (DDP with
a layer outside the loss: DDP stops the job).

Every rank writes ``OUT/rank<r>.json``: its losses, and its parameters at the end, measured
with plain torch (the labels the tests check gradsight against). ``build`` and ``batch`` are
imported by the tests to train the same job in one process (the oracle).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import time

import torch
import torch.distributed as dist
from torch import nn

STEPS = {"healthy": 24, "fsdp": 12, "bypass": 15, "seed": 12, "noavg": 12, "nan": 10,
         "kill": 12, "unused": 4}


class Block(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x + self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x))))))


class ResNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8),
                                  nn.ReLU())
        self.blocks = nn.Sequential(Block(8), Block(8))
        self.head = nn.Linear(8, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(self.stem(x)).mean(dim=(2, 3)))


class WithUnused(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(6, 16)
        self.unused = nn.Linear(16, 16)  # the bug: never part of the loss
        self.b = nn.Linear(16, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b(torch.relu(self.a(x)))


def build(mode: str) -> nn.Module:
    torch.manual_seed(0)
    if mode == "healthy":
        return ResNet()
    if mode == "unused":
        return WithUnused()
    if mode == "fsdp":  # odd widths: shards of unequal size, one rank's shard of 2.* empty
        return nn.Sequential(nn.Linear(6, 33), nn.Tanh(), nn.Linear(33, 1))
    return nn.Sequential(nn.Linear(6, 32), nn.Tanh(), nn.Linear(32, 1))


def batch(mode: str, rank: int, step: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1000 * rank + step)
    if mode == "healthy":
        x = torch.randn(16, 1, 8, 8, generator=g)
        quads = torch.stack([x[:, 0, :4, :4].mean((1, 2)), x[:, 0, :4, 4:].mean((1, 2)),
                             x[:, 0, 4:, :4].mean((1, 2)), x[:, 0, 4:, 4:].mean((1, 2))], 1)
        return x, quads.argmax(1)
    x = torch.randn(16, 6, generator=g)
    return x, (x[:, :1] * 2 - x[:, 1:2]).tanh()


def loss_of(mode: str, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    if mode == "healthy":
        return nn.functional.cross_entropy(out, y)
    return nn.functional.mse_loss(out, y)


def worker(rank: int, world: int, mode: str, out: str) -> None:
    dist.init_process_group("gloo", rank=rank, world_size=world)
    from torch.nn.parallel import DistributedDataParallel as DDP

    model = build(mode)
    if mode == "seed":  # the bug: each rank draws its own init; no DDP broadcast fixes it
        torch.manual_seed(rank)
        for p in model.parameters():
            nn.init.normal_(p, std=0.2)
    if mode == "fsdp":
        from torch.distributed.fsdp import fully_shard

        for layer in model:
            if isinstance(layer, nn.Linear):
                fully_shard(layer)
        trained = fully_shard(model)
    elif mode in ("seed", "noavg"):
        trained = model
    else:
        trained = DDP(model)
    optimizer = (torch.optim.Adam(trained.parameters(), lr=3e-3) if mode == "healthy"
                 else torch.optim.SGD(trained.parameters(), lr=0.1))
    losses = []
    for step in range(int(os.environ.get("JOB_STEPS", STEPS[mode]))):  # (longer by hand)
        x, y = batch(mode, rank, step)
        if mode == "nan" and rank == 1 and step == 6:
            x[0, 0] = float("nan")  # a bad sample on one rank
        if mode == "kill":  # steps long enough for the stores to commit (every 0.5 s)
            time.sleep(0.3)
            if rank == 1 and step == 7:
                os.kill(os.getpid(), signal.SIGKILL)
        forward = model if mode == "bypass" and step % 3 == 2 else trained  # the bug
        optimizer.zero_grad()
        loss = loss_of(mode, forward(x), y)
        loss.backward()
        if mode == "fsdp":  # clipping the DTensor gradients by their global norm
            torch.nn.utils.clip_grad_norm_(trained.parameters(), 0.5)
        if mode == "seed":  # gradients averaged by hand
            for p in model.parameters():
                dist.all_reduce(p.grad)
                p.grad /= world
        if mode == "noavg":  # the bug: a Parameter is no plain Tensor, so nothing is averaged
            for p in model.parameters():
                if type(p) is torch.Tensor:
                    dist.all_reduce(p.grad)
                    p.grad /= world
        optimizer.step()
        losses.append(loss.item())
    params = {n: p.detach().full_tensor().tolist() if hasattr(p, "full_tensor")
              else p.detach().tolist() for n, p in model.named_parameters()}
    with open(os.path.join(out, f"rank{rank}.json"), "w") as f:
        json.dump({"losses": losses, "params": params}, f)
    dist.barrier()  # no rank tears its connections down while another still sends
    dist.destroy_process_group()


if __name__ == "__main__":
    mode, world, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    if "RANK" in os.environ:  # started by torchrun
        worker(int(os.environ["RANK"]), world, mode, out)
    else:
        import torch.multiprocessing as mp

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
        if os.environ.get("JOB_LAUNCH") == "fork":  # the distributed tutorial's way: forks
            ranks = [mp.get_context("fork").Process(target=worker, args=(r, world, mode, out))
                     for r in range(world)]
            for p in ranks:
                p.start()
            for p in ranks:
                p.join()
            sys.exit(max(p.exitcode or 0 for p in ranks))
        mp.spawn(worker, args=(world, mode, out), nprocs=world)
