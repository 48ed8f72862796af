"""How much does watching slow down a data-parallel job? A 2-rank DDP job, with and without
gradsight, side by side.

Every rank trains the same workload as ``overhead.py`` (its ``mlp``: 1024 -> 1024 x 3 -> 10,
3.16M parameters, batch 64, Adam; ``--quick``: tiny) wrapped in ``DistributedDataParallel``,
in the same interleaved blocks (``plain``, ``default``, ``every-1``, rotated from round to
round; ``overhead.run_block``): each rank watches itself with ``gradsight.watch`` on the DDP
model, as a worker of ``gradsight run`` does, fingerprints of the replicas included. The
ranks run their blocks in lockstep (every step's all-reduce waits for both), so a block's
time is the job's. Rank 0 prints the table: watched/plain step time, median over rounds.

Backend: gloo on CPU (each rank gets half the cores); NCCL with one GPU per rank when the
machine has at least ``--world`` GPUs (``--device cuda``). Target: default schedule <= 1.03x.

    python benchmarks/ddp_overhead.py                 # full size
    python benchmarks/ddp_overhead.py --quick         # smoke run, a few seconds per block
    python benchmarks/ddp_overhead.py --check         # exit status 1 when the target is missed
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import overhead  # noqa: E402  (the single-process benchmark: workloads, blocks, the table)

import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402
import torch.multiprocessing as mp  # noqa: E402

TARGET_DEFAULT = 1.03


def worker(rank: int, world: int, port: int, args: argparse.Namespace, root: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    cuda = args.device == "cuda"
    dist.init_process_group("nccl" if cuda else "gloo", rank=rank, world_size=world)
    if cuda:
        torch.cuda.set_device(rank)
        device = torch.device("cuda", rank)
    else:
        device = torch.device("cpu")
        torch.set_num_threads(max(1, (os.cpu_count() or world) // world))
    malloc = "steady (fixed glibc thresholds)" if overhead.steady_malloc() else "glibc default"
    torch.manual_seed(0)
    work = overhead.make_mlp(device, args.quick)
    work.model = torch.nn.parallel.DistributedDataParallel(
        work.model, device_ids=[rank] if cuda else None)
    steps = args.steps or (20 if args.quick else 100)
    rounds = args.rounds or (2 if args.quick else 5)
    warmup = 5 if args.quick else 20
    log = (lambda s: print(s, flush=True)) if rank == 0 else (lambda s: None)
    log(f"DDP, {world} ranks ({dist.get_backend()}), {work.params:,} parameters per replica, "
        f"{rounds} rounds x {len(overhead.MODES)} blocks x ({overhead.PRE_STEPS} + {steps}) steps")
    result = overhead.benchmark(work, overhead.MODES, steps, rounds, warmup,
                                overhead.Timer(device), Path(root) / f"rank{rank}", log)
    if rank == 0:
        result.workload = "ddp"
        overhead.TARGET_DEFAULT = TARGET_DEFAULT  # the job's target, in the shared table
        finals = overhead.report([result], steps, device, malloc)
        missed = any("MISSED" in line.split("every-1 <=")[0] for line in finals)
        Path(root, "verdict").write_text("missed" if missed else "met")
    dist.destroy_process_group()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--world", type=int, default=2, help="ranks (default 2)")
    parser.add_argument("--steps", type=int, help="timed steps per block (default 100)")
    parser.add_argument("--rounds", type=int, help="rounds of blocks (default 5)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes for a smoke run")
    parser.add_argument("--check", action="store_true",
                        help=f"exit 1 if the default schedule is above {TARGET_DEFAULT}x")
    args = parser.parse_args(argv)
    if args.device == "cuda" and torch.cuda.device_count() < args.world:
        parser.error(f"--device cuda needs {args.world} GPUs (one per rank); this machine has "
                     f"{torch.cuda.device_count()}. Use --device cpu (gloo) or --world "
                     f"{max(torch.cuda.device_count(), 1)}.")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with tempfile.TemporaryDirectory(prefix="gradsight-ddp-bench-") as root:
        mp.spawn(worker, args=(args.world, port, args, root), nprocs=args.world)
        missed = Path(root, "verdict").read_text() == "missed"
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
