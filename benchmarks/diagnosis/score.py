"""Diagnosis accuracy: run gradsight on every labelled case of a folder and score its findings.

    python benchmarks/diagnosis/score.py                 # the 57 cases written here, 2 at a time
    python benchmarks/diagnosis/score.py --cases benchmarks/wild/cases   # programs by others
    python benchmarks/diagnosis/score.py -j 1 --filter dead    # cases whose name contains "dead"
    python benchmarks/diagnosis/score.py --fast          # the quick subset that `make test` runs
    python benchmarks/diagnosis/score.py --no-gate       # print only; exit 0 whatever the scores
    python benchmarks/diagnosis/score.py --keep D; ... --rejudge D   # re-score kept findings
    python benchmarks/diagnosis/score.py --keep D; ... --rediagnose D   # diagnose kept runs again
    python benchmarks/diagnosis/score.py --markdown F    # also write the tables (README) and the
                                                         # wrong cases as markdown to F

Each case (``<folder>/<name>.py``) is an ordinary training script with a module-level ``LABEL``
dict literal, read with ``ast`` (never imported; see ``labels.py``):

- ``category``: ``positive`` (something is wrong), ``confounder`` (looks odd, trains fine: must
  raise no alarm) or ``healthy`` (a control that trains well);
- ``expected``: ``[{"kind", "where": [names], "step_max"?}]``: the warning/error findings it
  must produce; every name in ``where`` must appear in the finding's ``where`` (the first name
  is the one the finding should name first), and its ``step`` must be ``<= step_max``;
- ``allowed``: kinds that are true of the run too but not required (a flat loss behind a stall);
  they are neither required nor false positives;
- ``root_cause``: the kind that should come first among warning/error findings, or null;
- ``architecture``, ``why``, ``measured`` (numbers from ``measure.py``, plain PyTorch), ``fast``;
- wild cases (``benchmarks/wild/cases/<framework>_<name>.py``, issue 14) also: ``source``,
  ``question``, ``changes``, ``pair``, ``framework``.

Scores (``judging.py``), overall and per framework: per-kind precision/recall (a warning/error
finding whose kind the case does not expect or allow is a false positive; info findings never
are), localization (of the expected findings that were found, the fraction whose ``where`` holds
every expected name and whose step is in time), first-named (the finding's first name is the
expected first name), root-cause-first, buggy programs fully right, and the warning/error
findings on healthy and confounder cases. Two gates (exit status 1 when the one in force fails):
``regression`` for the cases written here (issue 4: every case fully right, recall >= 0.95,
localization >= 0.9, no alarm on a healthy/confounder case) and ``corpus`` for programs written
by other people (issue 14: >= 90% of the buggy ones fully right, no warning/error finding on any
healthy one). ``--gate auto`` (the default) takes ``regression`` for ``benchmarks/diagnosis/cases``
and ``corpus`` for any other folder.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # labels.py and judge.py sit beside this script
    sys.path.insert(0, str(HERE))

from judging import (ALARM, GATES, Expectation, Judgement, gate, gate_corpus,  # noqa: E402,F401
                   judge, score, score_by_framework)
from case_labels import (CATEGORIES, FIRST_KINDS, KINDS, framework_of,  # noqa: E402,F401
                         load_label, validate_label, wild_framework)
from case_labels import discover as _discover  # noqa: E402
from score_text import (format_case, format_markdown, format_scores,  # noqa: E402,F401
                        format_summary)

CASES = HERE / "cases"
CASE_TIMEOUT = 300


def discover(pattern: str | None = None, fast: bool = False,
             cases_dir: Path = CASES) -> list[Path]:
    return _discover(cases_dir, pattern, fast)


# ----------------------------------------------------------------------------- running
@dataclass
class Run:
    findings: list[dict]
    returncode: int
    seconds: float
    error: str | None = None


def run_case(path: Path, workdir: Path, python: str = sys.executable,
             timeout: float = CASE_TIMEOUT) -> Run:
    """``python -m gradsight run --out DIR --json FILE case.py`` and its findings."""
    out = Path(workdir) / path.stem
    js = Path(workdir) / f"{path.stem}.json"
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONHASHSEED="0")
    # a --keep folder used before holds this case's last run: gone first, so that a run that
    # fails (``gradsight run`` refuses a run folder that exists) can never be judged on the
    # findings an older version of gradsight left there
    js.unlink(missing_ok=True)
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(
            [python, "-m", "gradsight", "run", "--out", str(out), "--json", str(js), str(path)],
            cwd=path.parent, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return Run([], -1, time.perf_counter() - t0, f"timed out after {timeout:.0f} s")
    seconds = time.perf_counter() - t0
    if not js.exists():
        tail = (proc.stderr or proc.stdout)[-800:]
        return Run([], proc.returncode, seconds, f"no findings JSON (rc {proc.returncode}): {tail}")
    doc = json.loads(js.read_text())
    return Run(doc.get("findings", []), proc.returncode, seconds)


def rediagnose_case(folder: Path, workdir: Path, python: str = sys.executable,
                    timeout: float = CASE_TIMEOUT) -> Run:
    """``python -m gradsight report --json FILE folder``: a stored run diagnosed again (it also
    rewrites the folder's report.html), its findings written to ``workdir/<case>.json``."""
    js = Path(workdir) / f"{folder.name}.json"
    if not folder.is_dir():
        return Run([], -1, 0.0, f"no stored run {folder}")
    js.unlink(missing_ok=True)
    t0 = time.perf_counter()
    try:
        proc = subprocess.run([python, "-m", "gradsight", "report", "--json", str(js),
                               str(folder)], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return Run([], -1, time.perf_counter() - t0, f"timed out after {timeout:.0f} s")
    if not js.exists():
        return Run([], proc.returncode, time.perf_counter() - t0,
                   f"no findings JSON (rc {proc.returncode}): {(proc.stderr or '')[-800:]}")
    return Run(json.loads(js.read_text()).get("findings", []), proc.returncode,
               time.perf_counter() - t0)


# ----------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="gradsight diagnosis accuracy")
    ap.add_argument("--cases", type=Path, default=CASES,
                    help="the folder of labelled cases (default benchmarks/diagnosis/cases)")
    ap.add_argument("--gate", choices=("auto", *GATES), default="auto",
                    help="regression (every case right) or corpus (>= 90%% of buggy programs "
                         "right, no alarm on a healthy one); auto: regression for the default "
                         "folder, corpus for any other")
    ap.add_argument("-j", "--jobs", type=int, default=2, help="cases run at once (default 2)")
    ap.add_argument("--filter", help="only cases whose name contains this")
    ap.add_argument("--fast", action="store_true", help="only cases labelled fast")
    ap.add_argument("--no-gate", action="store_true", help="exit 0 whatever the scores")
    ap.add_argument("--keep", help="keep run folders and findings JSON in this folder")
    ap.add_argument("--json", help="write the judgements and scores here")
    ap.add_argument("--markdown", help="write the score tables and the wrong cases here")
    ap.add_argument("--python", default=sys.executable, help="interpreter with gradsight")
    ap.add_argument("--rejudge", metavar="DIR",
                    help="judge the findings JSON a --keep DIR run left (<case>.json) again, "
                         "without running gradsight (after a label changed)")
    ap.add_argument("--rediagnose", metavar="DIR",
                    help="diagnose the runs a --keep DIR run stored (<case>/) again with this "
                         "gradsight, without training (after a detector changed; the adapters' "
                         "recording is the stored one)")
    args = ap.parse_args(argv)

    cases_dir = args.cases.resolve()
    if not cases_dir.is_dir():
        print(f"--cases {args.cases}: no such folder; give a folder of labelled case scripts "
              "(e.g. benchmarks/wild/cases)", file=sys.stderr)
        return 2
    paths = discover(args.filter, args.fast, cases_dir)
    if not paths:
        print(f"no cases matched in {cases_dir}", file=sys.stderr)
        return 2
    labels = {p: load_label(p) for p in paths}
    workdir = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="gs-bench-"))
    if args.rejudge and args.rediagnose:
        print("--rejudge and --rediagnose: give one", file=sys.stderr)
        return 2
    if not args.rejudge:
        workdir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()

    def one(p: Path) -> tuple[Judgement, Run]:
        if args.rejudge:
            js = Path(args.rejudge) / f"{p.stem}.json"
            found = json.loads(js.read_text())["findings"] if js.exists() else []
            run = Run(found, 0, 0.0, None if js.exists() else f"no {js}")
        elif args.rediagnose:
            run = rediagnose_case(Path(args.rediagnose) / p.stem, workdir, args.python)
        else:
            run = run_case(p, workdir, args.python)
        return judge(p.stem, labels[p], run.findings, run.error), run

    judgements = []
    with ThreadPoolExecutor(max(1, args.jobs)) as pool:
        for j, run in pool.map(one, paths):
            judgements.append(j)
            print(format_case(j) + f"  ({run.seconds:.0f} s)", flush=True)
    s = score(judgements)
    by_fw = score_by_framework(judgements)
    print()
    print(format_scores(s))
    if len(by_fw) > 1:
        for fw, sf in by_fw.items():
            print(f"\n--- {fw} ---")
            print(format_summary(sf))
    print(f"\n{len(paths)} cases from {cases_dir} in {time.perf_counter() - t0:.0f} s")
    which = args.gate if args.gate != "auto" else (
        "regression" if cases_dir == CASES.resolve() else "corpus")
    failed = GATES[which](s)
    print(f"gate ({which}): " + ("PASSED" if not failed else "FAILED: " + "; ".join(failed)))
    if args.markdown:
        Path(args.markdown).write_text(format_markdown(s, by_fw, judgements))
    if args.json:
        Path(args.json).write_text(json.dumps({
            "scores": s, "by_framework": by_fw,
            "cases": [{"name": j.name, "framework": j.framework, "category": j.category,
                       "ok": j.ok, "expected": [e.__dict__ for e in j.expectations],
                       "alarms": j.alarms, "root_first": j.root_first, "error": j.error}
                      for j in judgements]}, indent=1, default=str))
    return 0 if args.no_gate or not failed else 1


if __name__ == "__main__":
    sys.exit(main())
