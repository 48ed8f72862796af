"""How large does a run folder's store grow with the number of steps?

Feeds the real recorder and store what an adapter would send for a long run, without training
anything: every step's always-on row (per parameter: gradient norm, weight and update norms,
lr, flags; noisy lognormal series around slow trends, a few spikes that trigger detail), the
loss, and on the steps the schedule picks the detail tier (per parameter 4 numbers, per module
7). Then measures the SQLite file (after a checkpoint of its write-ahead log).

    python benchmarks/store_size.py                        # 1M steps x 500 parameters
    python benchmarks/store_size.py --steps 100000 --params 50
    python benchmarks/store_size.py --quick                # 20k steps x 20 parameters

Prints one line: ``store: N steps x P params: S MB (B bytes/step; always-on C chunks ...)``.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gradsight.core import metrics as m  # noqa: E402
from gradsight.core.recorder import CHUNK_STEPS, Recorder  # noqa: E402
from gradsight.core.records import ModuleInfo, ParamInfo  # noqa: E402
from gradsight.core.store import RunStore  # noqa: E402

BATCH = 32  # steps handed over at once, as a GPU ring ships them


def fill(folder: Path, steps: int, params: int, seed: int = 0) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    store = RunStore.create(folder)
    recorder = Recorder(store)
    names = [f"layers.{i // 2}.{'weight' if i % 2 == 0 else 'bias'}" for i in range(params)]
    modules = [f"layers.{i}" for i in range((params + 1) // 2)]
    for i, name in enumerate(names):
        recorder.describe(ParamInfo(name, i, (256, 256) if i % 2 == 0 else (256,),
                                    module=name.rsplit(".", 1)[0], optimized=True))
    for i, name in enumerate(modules):
        recorder.describe(ModuleInfo(name, i, "Linear", "linear", activation="relu"))
    base_grad = np.exp(rng.normal(-2, 1, params))
    base_weight = np.exp(rng.normal(2, 0.5, params))
    spikes = set(rng.choice(steps, size=max(steps // 50_000, 1), replace=False).tolist())
    metrics = len(m.STEP_METRICS)
    col = {k: m.STEP_METRICS.index(k) for k in m.STEP_METRICS}
    started = time.perf_counter()
    for first in range(0, steps, BATCH):
        n = min(BATCH, steps - first)
        t = np.arange(first, first + n)[:, None]
        trend = 1.0 / np.sqrt(1.0 + t / 1000.0)
        grad = base_grad * trend * np.exp(rng.normal(0, 0.3, (n, params)))
        for s in spikes:
            if first <= s < first + n:
                grad[s - first] *= 200.0
        weight = base_weight * (1.0 + 0.1 * np.log1p(t / 1000.0)) * np.exp(
            rng.normal(0, 1e-4, (n, params)))
        per = np.full((n, params, metrics), np.nan)
        per[:, :, col[m.HAS_GRAD]] = 1.0
        per[:, :, col[m.GRAD_NORM]] = grad
        per[:, :, col[m.WEIGHT_NORM]] = weight
        per[:, :, col[m.UPDATE_NORM]] = 1e-3 * weight * np.exp(rng.normal(0, 0.3, (n, params)))
        per[:, :, col[m.LR]] = 1e-3
        per[:, :, col[m.OPTIMIZED]] = 1.0
        per[:, :, col[m.GRAD_RESET]] = 1.0
        loss = 2.0 * trend[:, 0] * np.exp(rng.normal(0, 0.1, n))
        rows = np.concatenate([np.ones((n, 1)), loss[:, None], per.reshape(n, -1)], axis=1)
        recorder.steps(first, names, rows)
        for step in range(first, first + n):
            if recorder.schedule.detail(step):
                recorder.record(step, "param", names, (m.WEIGHT_NORM, m.GRAD_NORM,
                                                       m.UPDATE_NORM, m.WEIGHT_NORM_INIT),
                                rng.random((params, 4)))
                recorder.record(step, "module", modules, m.ACT_METRICS + m.DEAD_METRICS,
                                rng.random((len(modules), len(m.ACT_METRICS) + 2)) * 0.1)
    recorder.close()
    store.close()
    seconds = time.perf_counter() - started
    path = folder / "run.sqlite"
    con = sqlite3.connect(path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    chunks = con.execute("SELECT COUNT(*), SUM(summary) FROM param_steps").fetchone()
    detail = con.execute("SELECT COUNT(*) FROM detail").fetchone()[0]
    con.close()
    size = path.stat().st_size + sum(p.stat().st_size for p in folder.glob("run.sqlite-*"))
    return {"bytes": size, "chunks": chunks[0], "summaries": chunks[1] or 0,
            "detail_rows": detail, "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=1_000_000)
    parser.add_argument("--params", type=int, default=500)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    steps, params = (20_000, 20) if args.quick else (args.steps, args.params)
    with tempfile.TemporaryDirectory() as tmp:
        got = fill(Path(tmp), steps, params)
    mb = got["bytes"] / 2**20
    print(f"store: {steps} steps x {params} params: {mb:.1f} MB "
          f"({got['bytes'] / steps:.0f} bytes/step; always-on {got['chunks']} chunks of "
          f"{CHUNK_STEPS} steps, {got['summaries']} of them summaries past the first 10k "
          f"steps; {got['detail_rows']} detail records; written in {got['seconds']:.0f} s)")


if __name__ == "__main__":
    main()
