"""How much does ``gradsight.watch`` slow down training?

Trains two models in one process, with and without gradsight, in interleaved blocks:

- ``mlp``: 1024 -> 1024 -> 1024 -> 1024 -> 10, ReLU (3.16M parameters), batch 64, Adam;
- ``cnn``: three 3x3 Conv2d (16/32/64 channels) + ReLU + MaxPool, then Linear, on 3x32x32
  images, batch 64, Adam.

Each round runs three blocks, in an order rotated from round to round:

- ``plain``:   no watching;
- ``default``: ``gradsight.watch(model, optimizer)``, the default schedule (steps 0-9, then one
  step in 50);
- ``every-1``: ``gradsight.watch(model, optimizer, every=1)``, every step recorded.

Every block runs ``PRE_STEPS`` (10) untimed steps, then ``--steps`` timed steps. For ``default``
those 10 untimed steps are exactly the dense start (steps 0-9 are always recorded), so the timed
window is the steady state: with ``--steps`` a multiple of 50 it holds exactly one recorded step
in 50. The dense start is timed separately and shown for information. A fresh watch is created
per block; creating it (run folder, SQLite schema) and closing it (flush, diagnosis) happen
outside the timed region. Data are synthetic and generated up front.

The headline ratio is the median over rounds of (watched block / plain block of the same round):
neighbouring blocks share the machine's load, which matters on a shared machine.

    python benchmarks/overhead.py                 # full size, cuda if available
    python benchmarks/overhead.py --device cpu --rounds 3 --steps 100
    python benchmarks/overhead.py --quick         # smoke run, tiny sizes, a few seconds
    python benchmarks/overhead.py --profile       # also: where a recorded step's time goes
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import os
import pstats
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

try:  # run from a checkout without installing
    import gradsight
except ImportError:  # pragma: no cover
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import gradsight

import torch
from torch import nn

from gradsight.core.recorder import Schedule

PRE_STEPS = 10  # untimed steps at the start of every block (= the default dense start)
BATCHES = 8  # synthetic batches generated up front and cycled through
TARGET_DEFAULT = 1.01
TARGET_EVERY1 = 1.05
MODES = ("plain", "default", "every-1")
EVERY = {"default": None, "every-1": 1}


# -- models -----------------------------------------------------------------------------------
@dataclass
class Workload:
    name: str
    model: nn.Module
    optimizer: torch.optim.Optimizer
    inputs: list[torch.Tensor]
    targets: list[torch.Tensor]
    i: int = 0

    def step(self) -> None:
        k = self.i % len(self.inputs)
        self.i += 1
        self.optimizer.zero_grad(set_to_none=True)
        loss = nn.functional.cross_entropy(self.model(self.inputs[k]), self.targets[k])
        loss.backward()
        self.optimizer.step()

    @property
    def params(self) -> int:
        return sum(p.numel() for p in self.model.parameters())


def make_mlp(device: torch.device, quick: bool) -> Workload:
    width, depth, batch = (128, 2, 16) if quick else (1024, 3, 64)
    layers: list[nn.Module] = []
    for _ in range(depth):
        layers += [nn.Linear(width, width), nn.ReLU()]
    model = nn.Sequential(*layers, nn.Linear(width, 10)).to(device)
    x = [torch.randn(batch, width, device=device) for _ in range(BATCHES)]
    y = [torch.randint(0, 10, (batch,), device=device) for _ in range(BATCHES)]
    return Workload("mlp", model, torch.optim.Adam(model.parameters(), lr=1e-3), x, y)


def make_cnn(device: torch.device, quick: bool) -> Workload:
    (c1, c2, c3), size, batch = ((4, 8, 8), 16, 16) if quick else ((16, 32, 64), 32, 64)
    model = nn.Sequential(
        nn.Conv2d(3, c1, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(c2, c3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(c3 * (size // 8) ** 2, 10),
    ).to(device)
    x = [torch.randn(batch, 3, size, size, device=device) for _ in range(BATCHES)]
    y = [torch.randint(0, 10, (batch,), device=device) for _ in range(BATCHES)]
    return Workload("cnn", model, torch.optim.Adam(model.parameters(), lr=1e-3), x, y)


MODELS: dict[str, Callable[[torch.device, bool], Workload]] = {"mlp": make_mlp, "cnn": make_cnn}


# -- timing -----------------------------------------------------------------------------------
def watch_fn() -> Callable[..., Any]:
    fn = gradsight.watch
    if not callable(fn):  # older checkouts: the gradsight.watch submodule shadowed the function
        fn = fn.watch
    return fn


@dataclass
class Block:
    mode: str
    ms_per_step: float  # timed window
    pre_ms_per_step: float  # the PRE_STEPS untimed-for-the-ratio steps
    peak_mb: float | None = None
    recorded_steps: int | None = None


@dataclass
class Result:
    workload: str
    params: int
    blocks: dict[str, list[Block]] = field(default_factory=lambda: {m: [] for m in MODES})


class Timer:
    def __init__(self, device: torch.device) -> None:
        self.cuda = device.type == "cuda"

    def now(self) -> float:
        if self.cuda:
            torch.cuda.synchronize()
        return time.perf_counter()


def run_steps(work: Workload, n: int) -> None:
    for _ in range(n):
        work.step()


def run_block(work: Workload, mode: str, steps: int, out: Path, timer: Timer) -> Block:
    gc.collect()
    if timer.cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    if mode == "plain":
        t0 = timer.now()
        run_steps(work, PRE_STEPS)
        t1 = timer.now()
        run_steps(work, steps)
        t2 = timer.now()
        recorded = None
    else:
        with watch_fn()(work.model, work.optimizer, out=out, every=EVERY[mode]) as w:
            t0 = timer.now()
            run_steps(work, PRE_STEPS)
            t1 = timer.now()
            run_steps(work, steps)
            t2 = timer.now()
        # outside the timed region: close() flushed the store and diagnosed the run
        recorded = w.diagnosis.steps if w.diagnosis is not None else None
    peak = torch.cuda.max_memory_allocated() / 2**20 if timer.cuda else None
    return Block(mode, (t2 - t1) / steps * 1e3, (t1 - t0) / PRE_STEPS * 1e3, peak, recorded)


def recorded_in_window(every: int | None, steps: int) -> int:
    schedule = Schedule(every)
    return sum(schedule.is_recorded(s) for s in range(PRE_STEPS, PRE_STEPS + steps))


def benchmark(work: Workload, steps: int, rounds: int, warmup: int, timer: Timer,
              root: Path, log: Callable[[str], None]) -> Result:
    result = Result(work.name, work.params)
    run_steps(work, warmup)  # allocator, kernels, Adam state
    with watch_fn()(work.model, work.optimizer, out=root / f"{work.name}-warmup", every=1):
        run_steps(work, 3)  # gradsight's own first-time imports and allocations
    for r in range(rounds):
        order = MODES[r % len(MODES):] + MODES[: r % len(MODES)]
        line = []
        for mode in order:
            block = run_block(work, mode, steps, root / f"{work.name}-{mode}-r{r}", timer)
            expected = PRE_STEPS + steps
            if block.recorded_steps is not None and block.recorded_steps != expected:
                log(f"  warning: {mode} run recorded {block.recorded_steps} steps, "
                    f"expected {expected}")
            result.blocks[mode].append(block)
            line.append(f"{mode} {block.ms_per_step:7.2f}")
        log(f"  {work.name} round {r + 1}/{rounds}: " + "  ".join(line) + "  ms/step")
    return result


# -- reporting --------------------------------------------------------------------------------
def ratios(result: Result, mode: str, attr: str = "ms_per_step") -> list[float]:
    return [getattr(w, attr) / getattr(p, attr)
            for w, p in zip(result.blocks[mode], result.blocks["plain"])]


def median_of(blocks: list[Block], attr: str = "ms_per_step") -> float:
    return statistics.median(getattr(b, attr) for b in blocks)


def report(results: list[Result], steps: int, device: torch.device) -> list[str]:
    print()
    print(f"device {device}, torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{PRE_STEPS} untimed + {steps} timed steps per block")
    rec_default = recorded_in_window(None, steps)
    print(f"default schedule: {rec_default} of the {steps} timed steps are recorded "
          f"(steady state, steps {PRE_STEPS}-{PRE_STEPS + steps - 1})"
          + ("" if steps % 50 == 0 else "; use a multiple of 50 steps for exactly 1 in 50"))
    print()
    header = (f"{'model':5} {'params':>9} {'mode':8} {'ms/step':>8} {'ratio':>7} "
              f"{'ratio range':>15} {'steps 0-9':>10}")
    cuda = device.type == "cuda"
    if cuda:
        header += f" {'peak MiB':>9} {'extra MiB':>9}"
    print(header)
    print("-" * len(header))
    finals = []
    for res in results:
        plain_ms = median_of(res.blocks["plain"])
        plain_peak = median_of(res.blocks["plain"], "peak_mb") if cuda else 0.0
        figures: dict[str, float] = {}
        for mode in MODES:
            blocks = res.blocks[mode]
            ms = median_of(blocks)
            rs = ratios(res, mode)
            ratio = statistics.median(rs)
            figures[mode] = ratio
            pre = statistics.median(ratios(res, mode, "pre_ms_per_step"))
            row = (f"{res.workload:5} {res.params:>9,} {mode:8} {ms:8.2f} {ratio:6.3f}x "
                   f"{min(rs):6.3f}-{max(rs):6.3f}x {pre:9.3f}x")
            if cuda:
                peak = median_of(blocks, "peak_mb")
                row += f" {peak:9.1f} {peak - plain_peak:9.1f}"
            print(row)
        spread = (max(b.ms_per_step for b in res.blocks["plain"])
                  / min(b.ms_per_step for b in res.blocks["plain"]))
        if spread > 1.10:
            print(f"      note: plain blocks varied {spread:.2f}x between rounds: the machine is "
                  "busy, ratios below a few percent are within noise")
        implied = 1 + (figures["every-1"] - 1) * rec_default / steps
        print(f"      default implied by every-1 cost on {rec_default}/{steps} steps: "
              f"{implied:.3f}x")
        ok_d = figures["default"] <= TARGET_DEFAULT
        ok_1 = figures["every-1"] <= TARGET_EVERY1
        finals.append(
            f"{res.workload}: plain {plain_ms:.1f} ms/step, default {figures['default']:.3f}x "
            f"(target <= {TARGET_DEFAULT}x: {'met' if ok_d else 'MISSED'}), "
            f"every-1 {figures['every-1']:.2f}x "
            f"(target <= {TARGET_EVERY1}x: {'met' if ok_1 else 'MISSED'})"
        )
    print("  ratio: median over rounds of watched/plain in the same round; range: min-max;")
    print("  steps 0-9: the untimed first steps of each block (default: the dense start)")
    print()
    for line in finals:
        print(line)
    return finals


# -- profile ----------------------------------------------------------------------------------
def _is_gradsight(filename: str) -> bool:
    return f"{os.sep}gradsight{os.sep}" in filename


def profile(work: Workload, steps: int, timer: Timer, root: Path) -> None:
    """cProfile one plain and one every-1 block; attribute the extra time to gradsight code."""
    def profiled(mode: str) -> tuple[pstats.Stats, float]:
        prof = cProfile.Profile()
        gc.collect()
        if mode == "plain":
            t0 = timer.now()
            prof.enable()
            run_steps(work, steps)
            prof.disable()
            t1 = timer.now()
        else:
            with watch_fn()(work.model, work.optimizer, out=root / f"{work.name}-prof", every=1):
                run_steps(work, PRE_STEPS)
                t0 = timer.now()
                prof.enable()
                run_steps(work, steps)
                prof.disable()
                t1 = timer.now()
        return pstats.Stats(prof), (t1 - t0) / steps * 1e3

    _, plain_ms = profiled("plain")
    stats, watched_ms = profiled("every-1")
    print()
    print(f"profile {work.name}, every=1, {steps} steps under cProfile (which inflates Python "
          f"calls): plain {plain_ms:.2f} ms/step, watched {watched_ms:.2f} ms/step, "
          f"extra {watched_ms - plain_ms:.2f} ms per recorded step")
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    own = [(ct, tt, nc, f) for f, (cc, nc, tt, ct, callers) in raw.items() if _is_gradsight(f[0])]
    own.sort(reverse=True)
    print(f"  {'cum ms/step':>11} {'self ms/step':>12} {'calls/step':>10}  gradsight function")
    for ct, tt, nc, (filename, line, name) in own[:18]:
        where = filename.split(f"{os.sep}gradsight{os.sep}")[-1]
        print(f"  {ct / steps * 1e3:11.3f} {tt / steps * 1e3:12.3f} {nc / steps:10.1f}  "
              f"{where}:{line} {name}")
    # Framework calls made directly from gradsight code: who pays for which tensor op.
    direct: list[tuple[float, float, str]] = []
    for f, (cc, nc, tt, ct, callers) in raw.items():
        if _is_gradsight(f[0]):
            continue
        for caller, (ccc, cnc, ctt, cct) in callers.items():
            if _is_gradsight(caller[0]):
                label = f[2] if f[0] == "~" else f"{Path(f[0]).name}:{f[2]}"
                direct.append((cct, cnc, f"{label}  <- {caller[2]}"))
    direct.sort(reverse=True)
    print(f"  {'cum ms/step':>11} {'calls/step':>10}  non-gradsight call  <- gradsight caller")
    for ct, nc, label in direct[:14]:
        print(f"  {ct / steps * 1e3:11.3f} {nc / steps:10.1f}  {label}")


# -- main -------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", choices=("cpu", "cuda"),
                        default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--steps", type=int, help="timed steps per block (default 100; quick 20)")
    parser.add_argument("--rounds", type=int, help="rounds of 3 blocks (default 5; quick 2)")
    parser.add_argument("--warmup", type=int, help="plain steps before the first round")
    parser.add_argument("--models", default="mlp,cnn", help="comma-separated: mlp,cnn")
    parser.add_argument("--threads", type=int, help="torch.set_num_threads (default: torch's)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes for a smoke run")
    parser.add_argument("--profile", action="store_true",
                        help="also cProfile a watched every-1 block of each model")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args(argv)

    steps = args.steps or (20 if args.quick else 100)
    rounds = args.rounds or (2 if args.quick else 5)
    warmup = args.warmup if args.warmup is not None else (5 if args.quick else 20)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: CUDA is not available")
    if args.threads:
        torch.set_num_threads(args.threads)
    names = [n.strip() for n in args.models.split(",") if n.strip()]
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        parser.error(f"unknown model(s) {unknown}; choose from {sorted(MODELS)}")

    timer = Timer(device)
    results = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="gradsight-bench-") as tmp:
        root = Path(tmp)
        for name in names:
            torch.manual_seed(0)
            work = MODELS[name](device, args.quick)
            print(f"{name}: {work.params:,} parameters, {rounds} rounds x {len(MODES)} blocks "
                  f"x ({PRE_STEPS} + {steps}) steps", flush=True)
            results.append(benchmark(work, steps, rounds, warmup, timer, root,
                                     lambda s: print(s, flush=True)))
            if args.profile:
                profile(work, steps, timer, root)
        finals = report(results, steps, device)
    print(f"(total {time.perf_counter() - started:.0f} s)")
    missed = any("MISSED" in line for line in finals)
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
