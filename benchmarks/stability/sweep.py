"""The stability evaluation: a sweep of small GPTs (``gpt.py``, ``train.py``) over learning rates,
with and without qk-layernorm and a z-loss, each run under ``gradsight run``; then, per
mechanism, how many diverging runs gradsight warned before they diverged, how early, whether it
named the layer that grew first, and how often it warned on runs that stayed stable, beside the
Megatron-LM and OLMo-core rules applied to the same recorded losses (``score.py``).

    python benchmarks/stability/sweep.py            # the full sweep (make bench-stability)
    python benchmarks/stability/sweep.py --quick    # two runs, for `make test`
    python benchmarks/stability/sweep.py --score-only --out DIR   # re-score a sweep
    python benchmarks/stability/sweep.py --score-only --rediagnose --out DIR  # new detectors

Every run is a fresh process with one thread (``-j`` runs at once), the same seed and data.
Prints a markdown table and writes ``results.json`` and ``table.md`` to ``--out``. Exit status 1
with ``--check`` when a diverging run of a mechanism gradsight watches is not warned before it
diverges, or a stable run gets a warning of a stability kind.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

import score  # noqa: E402

LRS = (0.01, 0.03, 0.1, 0.3, 1.0)
VARIANTS = {"plain": [], "qk": ["--qk-norm"], "z": ["--z-loss", "1e-4"],
            "qkz": ["--qk-norm", "--z-loss", "1e-4"]}
QUICK = (("plain", 1.0), ("qk", 0.03))  # one run that diverges, one that does not
# 1,200 steps: at 400 (300 of warm-up), two runs whose attention ran away at lr 0.1 had not yet
# shown their fate; at 1,200 one diverged (step 797) and one ended 0.25 nats above its best
STEPS = 1200


def runs(quick: bool) -> list[tuple[str, float]]:
    return list(QUICK) if quick else [(v, lr) for v in VARIANTS for lr in LRS]


def name_of(variant: str, lr: float) -> str:
    return f"{variant}-lr{lr:g}"


def run_one(out: Path, variant: str, lr: float, steps: int) -> tuple[str, int]:
    name = name_of(variant, lr)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep), "CI": "1"}
    command = [sys.executable, "-m", "gradsight", "run", "--out", str(out / name),
               str(HERE / "train.py"), "--lr", str(lr), "--steps", str(steps),
               "--labels", str(out / f"{name}.labels.json"), *VARIANTS[variant]]
    with open(out / f"{name}.log", "w") as log:
        code = subprocess.run(command, env=env, stdout=log, stderr=subprocess.STDOUT).returncode
    return name, code


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def summarize(all_runs: list[score.Run]) -> dict[str, Any]:
    by_variant = {(r.variant, r.lr): r for r in all_runs}
    for r in all_runs:
        r.mechanism = score.mechanism(r)
    rows: dict[str, Any] = {}
    for mech in ("attention", "output", "lr too high"):
        group = [r for r in all_runs if r.mechanism == mech]
        rows[mech] = _row(group, mech)
        fixed = [score.twins(r, by_variant) for r in group]
        rows[mech]["qk_twin_stable"] = sum(1 for f in fixed if f["qk_twin_stable"])
        rows[mech]["z_twin_stable"] = sum(1 for f in fixed if f["z_twin_stable"])
    stable = [r for r in all_runs if not r.diverged]
    rows["stable"] = {
        "runs": [r.name for r in stable],
        "gradsight_stability_warnings": [r.name for r in stable if score.warning(r)],
        "gradsight_any_warnings": [r.name for r in stable if score.warning(r, None)],
        "megatron_fires": [r.name for r in stable if score.megatron(r.loss) is not None],
        "olmo_fires": [r.name for r in stable if score.olmo(r.loss) is not None],
        "olmo_with_grad_norm_fires": [r.name for r in stable
                                      if score.olmo(r.loss, r.grad_norm) is not None],
    }
    per_run = {r.name: {
        "variant": r.variant, "lr": r.lr, "diverged": r.diverged, "diverge_step": r.diverge_step,
        "mechanism": r.mechanism, "layer_grew_first": score.first_layer(r),
        "gradsight": _brief(score.warning(r)), "gradsight_any": _brief(score.warning(r, None)),
        "megatron": score.megatron(r.loss), "olmo": score.olmo(r.loss),
        "olmo_with_grad_norm": score.olmo(r.loss, r.grad_norm), **score.twins(r, by_variant),
        "steps": int(len(r.loss))} for r in all_runs}
    return {"mechanisms": rows, "runs": per_run, "sampling": score.sampling_error(all_runs)}


def _brief(finding: dict[str, Any] | None) -> dict[str, Any] | None:
    if finding is None:
        return None
    return {"kind": finding["kind"], "step": finding["step"], "where": finding["where"][:3]}


def _row(group: list[score.Run], mech: str) -> dict[str, Any]:
    warned, right, leads, located, meg, olmo = [], [], [], [], [], []
    for r in group:
        assert r.diverge_step is not None
        found = score.warning(r)
        if found is not None and found["step"] < r.diverge_step:
            warned.append(r.name)
            leads.append(r.diverge_step - found["step"])
            if found["kind"] == score.KIND_OF.get(mech, found["kind"]):
                right.append(r.name)
            truth = score.first_layer(r)
            if truth is not None and found["where"] and found["where"][0] == truth:
                located.append(r.name)
        for rule, out in ((score.megatron(r.loss), meg), (score.olmo(r.loss), olmo)):
            if rule is not None and rule < r.diverge_step:
                out.append(r.diverge_step - rule)
    return {"runs": [r.name for r in group], "warned_before": warned, "right_kind": right,
            "median_lead": median(leads), "layer_named_first": located,
            "megatron_warned_before": len(meg), "megatron_median_lead": median(meg),
            "olmo_warned_before": len(olmo), "olmo_median_lead": median(olmo)}


def table(summary: dict[str, Any]) -> str:
    lines = ["| mechanism (diverged runs) | gradsight warned before | right kind | median lead "
             "(steps) | layer that grew first named | Megatron (10x max loss) | OLMo-core "
             "(z > 6 over 128) | stable with qk-norm / z-loss added |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for mech in ("attention", "output", "lr too high"):
        row = summary["mechanisms"][mech]
        n = len(row["runs"])
        if not n:
            lines.append(f"| {mech} (0) | — | — | — | — | — | — | — |")
            continue
        lead = row["median_lead"]
        lines.append(
            f"| {mech} ({n}) | {len(row['warned_before'])}/{n} | {len(row['right_kind'])}/{n} | "
            f"{lead if lead is not None else '—'} | {len(row['layer_named_first'])}/{n} | "
            f"{row['megatron_warned_before']}/{n} before, lead "
            f"{row['megatron_median_lead'] if row['megatron_median_lead'] is not None else '—'} | "
            f"{row['olmo_warned_before']}/{n} before, lead "
            f"{row['olmo_median_lead'] if row['olmo_median_lead'] is not None else '—'} | "
            f"{row['qk_twin_stable']} / {row['z_twin_stable']} |")
    st = summary["mechanisms"]["stable"]
    n = len(st["runs"])
    lines.append(f"| stable runs ({n}): warned | {len(st['gradsight_stability_warnings'])}/{n} "
                 f"({', '.join(st['gradsight_stability_warnings']) or 'none'}) | | | | "
                 f"{len(st['megatron_fires'])}/{n} | {len(st['olmo_fires'])}/{n} | |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="two runs (make test)")
    p.add_argument("--steps", type=int, default=None, help="steps per run (default 1200; 200 quick)")
    p.add_argument("-j", "--jobs", type=int, default=2)
    p.add_argument("--out", type=Path, default=None,
                   help="folder of the runs (default gradsight-runs/stability-<time>)")
    p.add_argument("--score-only", action="store_true", help="score the runs already in --out")
    p.add_argument("--rediagnose", action="store_true", help="with --score-only: diagnose the "
                   "stored runs again first")
    p.add_argument("--check", action="store_true")
    args = p.parse_args(argv)
    out = args.out or Path("gradsight-runs") / datetime.datetime.now().strftime(
        "stability-%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    steps = args.steps or (200 if args.quick else STEPS)
    todo = runs(args.quick)
    if not args.score_only:
        with ThreadPoolExecutor(max(args.jobs, 1)) as pool:
            for name, code in pool.map(lambda vr: run_one(out, vr[0], vr[1], steps), todo):
                print(f"{name}: exit {code}", file=sys.stderr)
    if args.rediagnose:  # the stored runs judged again by this checkout's detectors
        from gradsight.core.diagnosis import diagnose_folder, write_findings

        for v, lr in todo:
            if (out / name_of(v, lr) / "run.sqlite").exists():
                folder = out / name_of(v, lr)
                write_findings(folder / "findings.json", diagnose_folder(folder))
    loaded = [score.load(out, name_of(v, lr), v, lr) for v, lr in todo
              if (out / name_of(v, lr) / "findings.json").exists()]
    summary = summarize(loaded)
    text = table(summary)
    (out / "results.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    (out / "table.md").write_text(f"{datetime.date.today()}\n\n{text}\n")
    print(text)
    print(f"sampled largest logit / exact: {summary['sampling']}")
    print(f"runs and results: {out}")
    if args.check:
        missed = [n for mech in ("attention", "output")
                  for n in summary["mechanisms"][mech]["runs"]
                  if n not in summary["mechanisms"][mech]["warned_before"]]
        false = summary["mechanisms"]["stable"]["gradsight_stability_warnings"]
        return 1 if missed or false else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
