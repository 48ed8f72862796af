"""The stability kinds on a program written by others: the wild corpus's nanoGPT (its README's CPU
configuration, ``benchmarks/wild/cases/torch_nanogpt_char_cpu.py``) run as written but for its
learning rate, at 1x, 3x, 10x, 30x and 100x the 1e-3 its authors chose (``min_lr`` a tenth of
it, as its config has it), once in plain torch and once under ``gradsight run``.

The sweep (``sweep.py``) uses a model written here; this asks whether the same warnings come, and
only where the run is harmed, on a model and a training loop we did not write (weight tying,
weight decay, clipping at norm 1, cosine decay, real text).

Measured in plain torch, with no gradsight (``_measure`` wraps ``F.scaled_dot_product_attention``
and ``F.cross_entropy``): every step's loss and each attention layer's *exact* largest logit
q.k/sqrt(d) over every query row and every key it may see. Reported per learning rate: the loss
at the end (mean of the last tenth of the steps), the exact largest logit, the first step and
layer at which it reached ``score.LAYER_LEVEL`` (100), and gradsight's stability warnings
(kind, step, layers named first).

    python benchmarks/stability/nanogpt.py          # 5 learning rates (make bench-stability)
    python benchmarks/stability/nanogpt.py --iters 100 --scales 1,30   # what make test runs
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CASE = ROOT / "benchmarks" / "wild" / "cases" / "torch_nanogpt_char_cpu.py"
sys.path.insert(0, str(HERE))

import score  # noqa: E402

BASE_LR = 1e-3  # the case's learning_rate (checked when the variant is written)
SCALES = (1, 3, 10, 30, 100)
HYPER = re.compile(r"^learning_rate, min_lr, max_iters, warmup_iters, lr_decay_iters = "
                   r"(?P<lr>[^,]+), (?P<min>[^,]+), (?P<iters>[^,]+), (?P<warm>[^,]+), "
                   r"(?P<decay>.+)$", re.M)

# Run in the variant's process (python -c): the plain-torch measurement, then the script itself.
_MEASURE = r"""
import json, math, runpy, sys
import torch
import torch.nn.functional as F
out, calls, losses = sys.argv[1], [], []
sdpa, ce = F.scaled_dot_product_attention, F.cross_entropy

def attention(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None, **kw):
    with torch.no_grad():
        s = scale if scale is not None else q.shape[-1] ** -0.5
        logits = torch.matmul(q.double(), k.double().transpose(-2, -1)) * s
        if is_causal:
            L, S = logits.shape[-2:]
            logits = logits.masked_fill(torch.ones(L, S, dtype=torch.bool).triu(1), -math.inf)
        calls.append(float(logits.amax()))
    return sdpa(q, k, v, attn_mask=attn_mask, dropout_p=dropout_p, is_causal=is_causal,
                scale=scale, **kw)

def cross_entropy(*args, **kw):
    loss = ce(*args, **kw)
    if torch.is_grad_enabled():
        losses.append(float(loss.detach()))
    return loss

F.scaled_dot_product_attention, F.cross_entropy = attention, cross_entropy
try:
    runpy.run_path(sys.argv[2], run_name="__main__")
finally:
    json.dump({"loss": losses, "attention": calls}, open(out, "w"))
"""


def variant(scale: float, iters: int | None, folder: Path) -> Path:
    """The case with its learning rate times ``scale`` (and ``iters`` steps, if given)."""
    text = CASE.read_text()
    match = HYPER.search(text)
    if match is None or float(match["lr"]) != BASE_LR:
        raise SystemExit(f"{CASE.name}: its hyperparameter line changed; update {__file__}")
    lr = BASE_LR * scale
    steps = iters or int(match["iters"])
    line = (f"learning_rate, min_lr, max_iters, warmup_iters, lr_decay_iters = {lr:g}, "
            f"{lr / 10:g}, {steps}, {min(int(match['warm']), steps // 10)}, {steps}")
    path = folder / f"nanogpt_x{scale:g}.py"
    path.write_text(text[:match.start()] + line + text[match.end():])
    return path


def run_one(script: Path, out: Path) -> dict[str, Any]:
    """The plain measurement, then the same script under ``gradsight run``."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CI": "1", "PYTHONPATH": os.pathsep.join(
        [str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    labels = out / f"{script.stem}.labels.json"
    with open(out / f"{script.stem}.plain.log", "w") as log:
        subprocess.run([sys.executable, "-c", _MEASURE, str(labels), str(script)], env=env,
                       stdout=log, stderr=subprocess.STDOUT, check=True, cwd=script.parent)
    with open(out / f"{script.stem}.gradsight.log", "w") as log:
        subprocess.run([sys.executable, "-m", "gradsight", "run", "--out",
                        str(out / script.stem), str(script)], env=env, stdout=log,
                       stderr=subprocess.STDOUT, cwd=script.parent)
    return judge(json.loads(labels.read_text()), out / script.stem / "findings.json")


def judge(labels: dict[str, Any], findings_path: Path) -> dict[str, Any]:
    loss = np.asarray(labels["loss"], dtype=float)
    steps = len(loss)
    calls = np.asarray(labels["attention"], dtype=float)
    layers = len(calls) // max(steps, 1)
    exact = calls[: layers * steps].reshape(steps, layers) if layers else np.zeros((steps, 0))
    first = None  # (step, layer) at which an exact largest logit first reached the level
    over = np.argwhere(exact >= score.LAYER_LEVEL)
    if over.size:
        first = (int(over[0][0]), int(over[0][1]))
    tail = max(steps // 10, 1)
    found = json.loads(findings_path.read_text())["findings"] if findings_path.exists() else []
    warned = [{"kind": f["kind"], "step": f["step"], "where": f["where"][:2]} for f in found
              if f["kind"] in score.STABILITY_KINDS and f["severity"] in ("warning", "error")]
    return {"steps": steps, "loss_end": float(np.mean(loss[-tail:])),
            "loss_start": float(np.mean(loss[:tail])),
            "exact_max_logit": float(exact.max()) if exact.size else None,
            "level_reached": first, "warnings": warned,
            "other_findings": sorted({f["kind"] for f in found
                                      if f["kind"] not in score.STABILITY_KINDS
                                      and f["severity"] in ("warning", "error")})}


def table(results: dict[float, dict[str, Any]]) -> str:
    lines = ["| learning rate | loss at the end | exact largest attention logit | reached 100 "
             "(step, layer) | gradsight's stability warnings | other warnings |",
             "| --- | --- | --- | --- | --- | --- |"]
    for scale, r in sorted(results.items()):
        reached = (f"step {r['level_reached'][0]}, transformer.h.{r['level_reached'][1]}"
                   if r["level_reached"] else "never")
        warned = "; ".join(f"{w['kind']} at step {w['step']} ({', '.join(w['where'])})"
                           for w in r["warnings"]) or "none"
        lines.append(f"| {BASE_LR * scale:g} ({scale:g}x) | {r['loss_end']:.2f} | "
                     f"{r['exact_max_logit']:.3g} | {reached} | {warned} | "
                     f"{', '.join(r['other_findings']) or 'none'} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scales", default=",".join(f"{s:g}" for s in SCALES),
                   help="comma-separated multiples of the case's learning rate")
    p.add_argument("--iters", type=int, default=None, help="steps per run (default: the case's)")
    p.add_argument("-j", "--jobs", type=int, default=2)
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)
    out = (args.out or Path("gradsight-runs") / datetime.datetime.now().strftime(
        "stability-nanogpt-%Y%m%d-%H%M%S")).resolve()
    out.mkdir(parents=True, exist_ok=True)
    scales = [float(s) for s in args.scales.split(",")]
    scripts = {s: variant(s, args.iters, out) for s in scales}
    with ThreadPoolExecutor(max(args.jobs, 1)) as pool:
        results = dict(zip(scales, pool.map(lambda s: run_one(scripts[s], out), scales)))
    text = table(results)
    (out / "results.json").write_text(json.dumps({f"{s:g}": r for s, r in results.items()},
                                                 indent=2) + "\n")
    (out / "table.md").write_text(f"{datetime.date.today()}\n\n{text}\n")
    print(text)
    print(f"runs and results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
