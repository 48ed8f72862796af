"""``gradsight fix`` against random search at equal budget, on the repairable programs of the
diagnosis corpora and the seeds, and "nothing to fix" on the healthy ones.

    python benchmarks/fix/bench.py                      # every case, 5 search seeds, -j 2
    python benchmarks/fix/bench.py --fast               # the quick subset (`make test` runs it)
    python benchmarks/fix/bench.py --filter lr -j 1 --seeds 3 --keep /tmp/fixbench
    python benchmarks/fix/bench.py --rejudge results.json --markdown table.md   # no trials
    python benchmarks/fix/bench.py --rejudge healthy.json buggy.json   # runs split, merged
    make bench-fix                          # every case; writes benchmarks/fix/RESULTS.md

Per case: ``gradsight fix --all`` (a subprocess, as a user runs it) gives the baseline and fix's
whole plan, tried in its order; what the default ``gradsight fix`` does is that sequence up to
its first resolving trial. N, the number of trials in the plan, is the budget of the random
search (``search.py``): the same N trials at most, the same step budget, the same baseline, the
same trial runner and ranking, stopping at its first resolving trial, repeated for each search
seed. Results go to ``results.json`` (``--results``); ``table.py`` turns them into the tables.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
for path in (str(HERE), str(ROOT)):
    if path not in sys.path:
        sys.path.insert(0, path)

import cases as case_list  # noqa: E402
import table  # noqa: E402
from search import search  # noqa: E402

from gradsight.fix import rank  # noqa: E402
from gradsight.fix.plan import info_of  # noqa: E402
from gradsight.fix.trials import Trial  # noqa: E402

BUDGET = 300  # optimizer steps per trial: `gradsight fix`'s default
SEEDS = 5


def environment() -> dict[str, str]:
    """One thread per trial (a 2-core machine: torch's own threads only contend) and this
    checkout first on the path, so trials and their children import this gradsight."""
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONHASHSEED="0",
                PYTHONPATH=path, COLUMNS="120", CI="1")


def run_fix(case: case_list.Case, budget: int, folder: Path) -> dict[str, Any]:
    """``gradsight fix --all`` on the case; its ``gradsight.fix/1`` document."""
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / "fix.json"
    cmd = [sys.executable, "-m", "gradsight", "fix", "--all", "--json", str(out), "--out",
           str(folder / "trials"), "--budget", str(budget), str(case.path), *case.args]
    proc = subprocess.run(cmd, cwd=folder, env=environment(), capture_output=True, text=True)
    (folder / "fix.log").write_text(proc.stdout + proc.stderr)
    if not out.exists():
        raise RuntimeError(f"{case.name}: gradsight fix wrote no JSON (exit {proc.returncode}):"
                           f" {(proc.stdout + proc.stderr)[-1500:]}")
    return json.loads(out.read_text())


def baseline_of(doc: dict[str, Any]) -> Trial:
    """The baseline as a ``Trial``, with the model it described (activations, optimizers)."""
    b = doc["baseline"]
    model = json.loads((Path(b["folder"]) / "trial.json").read_text())["model"]
    return Trial("none", b["findings"], b["loss"], b["seconds"], b.get("steps", 0),
                 model=model, folder=b["folder"])


def as_trial(doc: dict[str, Any]) -> Trial:
    """A trial of a ``gradsight.fix/1`` document as the ``Trial`` ``rank`` judges."""
    return Trial(doc["repair"], doc["findings"], doc["loss"], doc["seconds"],
                 doc.get("steps", 0), "error" if doc.get("error") else "finished")


def outcome(trials: list[Trial], baseline: Trial) -> dict[str, Any]:
    """The trials in the order tried, the first that resolved (1-based), and the one
    recommended by ``fix``'s rule: the first resolving one, else the best ranked."""
    first = next((i + 1 for i, t in enumerate(trials) if rank.resolved(t, baseline)), None)
    ranked = rank.ranked(trials, baseline)
    chosen = trials[first - 1] if first else (ranked[0] if ranked else None)
    return {
        "trials": [{"repair": t.repair, "resolved": rank.resolved(t, baseline), "loss": t.loss,
                    "seconds": round(t.seconds, 2), "kinds": sorted(t.kinds),
                    "failed": t.status == "error"} for t in trials],
        "first": first,
        "chosen": chosen.repair if chosen else None,
        "chosen_loss": chosen.loss if chosen else None,
        "best_all": ranked[0].repair if ranked and rank.resolved(ranked[0], baseline) else None,
        "best_all_loss": ranked[0].loss if ranked else None,
    }


def run_case(case: case_list.Case, budget: int, seeds: int, workdir: Path) -> dict[str, Any]:
    """Everything measured for one case (see the module's docstring)."""
    started = time.perf_counter()
    budget = case.budget or budget
    doc = run_fix(case, budget, workdir / case.name / "fix")
    baseline = baseline_of(doc)
    fix_trials = sorted(doc["trials"], key=lambda t: t.get("order", 0))
    result: dict[str, Any] = {
        "case": {**asdict(case), "path": str(case.path.relative_to(ROOT)),
                 "corpus": case.corpus},
        "budget": budget,
        "baseline": {"kinds": [f["kind"] for f in baseline.findings], "loss": baseline.loss,
                     "seconds": round(baseline.seconds, 2), "model": baseline.model},
        "fix": {**outcome([as_trial(t) for t in fix_trials], baseline),
                "message": doc.get("message")},
        "random": [],
    }
    limit = len(fix_trials)
    if case.positive and baseline.findings and limit:
        info = info_of(baseline)
        for seed in range(seeds):
            found = search(str(case.path), list(case.args), baseline, info, seed=seed,
                           limit=limit, budget=budget, folder=workdir / case.name / "random")
            result["random"].append({"seed": seed, **outcome(found.trials, baseline)})
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result


def merged(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Several results files as one (runs split by --only/--filter): cases by name, in the
    order first seen, a later file's measurement of a case replacing an earlier one."""
    out = {**parts[0], "cases": []}
    by_name: dict[str, dict[str, Any]] = {}
    for part in parts:
        for res in part["cases"]:
            by_name[res["case"]["name"]] = res
    out["cases"] = list(by_name.values())
    out["seeds"] = max(p.get("seeds", 0) for p in parts)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fast", action="store_true", help="only the cases marked fast")
    ap.add_argument("--filter", help="only cases whose name contains this (several: "
                                     "comma-separated, any of them)")
    ap.add_argument("--only", choices=("buggy", "healthy"), help="only these cases")
    ap.add_argument("--seeds", type=int, default=SEEDS, help="random-search seeds (default 5)")
    ap.add_argument("--budget", type=int, default=BUDGET, help="steps per trial (default 300)")
    ap.add_argument("-j", type=int, default=2, help="cases at a time (default 2)")
    ap.add_argument("--keep", type=Path, help="keep the trials' run folders here")
    ap.add_argument("--results", type=Path, default=Path("fix-bench-results.json"),
                    help="write the measurements here (default fix-bench-results.json)")
    ap.add_argument("--healthy-first", action="store_true",
                    help="run the healthy cases (one baseline each) before the buggy ones")
    ap.add_argument("--rejudge", type=Path, nargs="+",
                    help="tabulate results files (merged by case, a later file's case wins); "
                         "run nothing")
    ap.add_argument("--markdown", type=Path, help="also write the tables as markdown here")
    args = ap.parse_args(argv)
    if args.rejudge:
        results = merged([json.loads(path.read_text()) for path in args.rejudge])
    else:
        chosen = [c for c in case_list.all_cases(healthy_first=args.healthy_first)
                  if (not args.fast or c.fast) and (not args.filter or any(part and part in c.name
                                             for part in args.filter.split(",")))
                  and (not args.only or c.positive == (args.only == "buggy"))]
        workdir = args.keep or Path(tempfile.mkdtemp(prefix="fix-bench-"))
        results = {"date": time.strftime("%Y-%m-%d"), "seeds": args.seeds,
                   "budget": args.budget, "cases": [],
                   "not_run": {"excluded": case_list.EXCLUDED,
                               "not_torch": case_list.not_torch()}}
        with ThreadPoolExecutor(max(1, args.j)) as pool:
            for res in pool.map(lambda c: run_case(c, args.budget, args.seeds, workdir), chosen):
                results["cases"].append(res)
                print(table.one_line(res), flush=True)
                # after every case: a run stopped half-way still tabulates (--rejudge)
                args.results.write_text(json.dumps(results, indent=1) + "\n")
        args.results.write_text(json.dumps(results, indent=1) + "\n")
    text = table.markdown(results)
    print(text)
    if args.markdown:
        args.markdown.write_text(text)
    failures = table.failures(results)
    for line in failures:
        print("FAIL:", line, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
