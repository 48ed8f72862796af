"""Diagnosis accuracy: run gradsight on every labelled case and score its findings.

    python benchmarks/diagnosis/score.py                 # all cases, 2 at a time, gated
    python benchmarks/diagnosis/score.py -j 1 --filter dead    # cases whose name contains "dead"
    python benchmarks/diagnosis/score.py --fast          # the quick subset that `make test` runs
    python benchmarks/diagnosis/score.py --no-gate       # print only; exit 0 whatever the scores
    python benchmarks/diagnosis/score.py --keep D; ... --rejudge D   # re-score kept findings

Each case (``cases/<name>.py``) is an ordinary training script with a module-level ``LABEL`` dict
literal, read with ``ast`` (never imported):

- ``category``: ``positive`` (something is wrong), ``confounder`` (looks odd, trains fine: must
  raise no alarm) or ``healthy`` (a control that trains well);
- ``expected``: ``[{"kind", "where": [names], "step_max"?}]``: the warning/error findings it
  must produce; every name in ``where`` must appear in the finding's ``where`` (the first name
  is the one the finding should name first), and its ``step`` must be ``<= step_max``;
- ``allowed``: kinds that are true of the run too but not required (a flat loss behind a stall);
  they are neither required nor false positives;
- ``root_cause``: the kind that should come first among warning/error findings, or null;
- ``architecture``, ``why``, ``measured`` (numbers from ``measure.py``, plain PyTorch), ``fast``.

Scores: per-kind precision/recall over all cases (a warning/error finding whose kind the case
does not expect or allow is a false positive; info findings never are), localization (of the
expected findings that were found, the fraction whose ``where`` holds every expected name and
whose step is in time), first-named (the finding's first name is the expected first name),
root-cause-first, and the warning/error findings on healthy and confounder cases. The gate
(issue 4): recall >= 0.95, localization >= 0.9, no warning/error finding on a healthy or
confounder case; exit status 1 when it fails.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
CASES = HERE / "cases"
ALARM = ("warning", "error")
CATEGORIES = ("positive", "confounder", "healthy")
KINDS = (
    "vanishing_gradient", "exploding_gradient", "nonfinite", "dead_units",
    "saturated_activation", "no_gradient", "not_optimized", "stalled_weights",
    "poor_initialization", "loss_not_decreasing", "loss_diverging",
)
GATE_RECALL = 0.95
GATE_LOCALIZATION = 0.9
GATE_FALSE_ALARMS = 0
CASE_TIMEOUT = 300


# ----------------------------------------------------------------------------- labels
def load_label(path: Path) -> dict:
    """The case's ``LABEL`` dict literal, read without running the script."""
    tree = ast.parse(Path(path).read_text(), filename=str(path))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "LABEL" for t in node.targets):
            label = ast.literal_eval(node.value)
            validate_label(label, path)
            return label
    raise ValueError(f"{path}: no module-level LABEL = {{...}}")


def validate_label(label: dict, path: Path | str = "?") -> None:
    def bad(msg: str) -> None:
        raise ValueError(f"{path}: LABEL {msg}")

    for key in ("category", "expected", "root_cause", "architecture", "why", "measured"):
        if key not in label:
            bad(f"lacks {key!r}")
    if label["category"] not in CATEGORIES:
        bad(f"category {label['category']!r} is not one of {CATEGORIES}")
    for item in label["expected"]:
        if item.get("kind") not in KINDS:
            bad(f"expects unknown kind {item.get('kind')!r}")
        if not isinstance(item.get("where", []), list):
            bad("where must be a list of names")
    for kind in label.get("allowed", []):
        if kind not in KINDS:
            bad(f"allows unknown kind {kind!r}")
    expected_kinds = [e["kind"] for e in label["expected"]]
    if label["category"] != "positive" and expected_kinds:
        bad("of a healthy/confounder case expects findings")
    if label["category"] == "positive" and not expected_kinds:
        bad("of a positive case expects nothing")
    if label["root_cause"] is not None and label["root_cause"] not in expected_kinds:
        bad("root_cause is not among the expected kinds")


def discover(pattern: str | None = None, fast: bool = False,
             cases_dir: Path = CASES) -> list[Path]:
    paths = sorted(p for p in cases_dir.glob("*.py") if not p.name.startswith("_"))
    if pattern:
        paths = [p for p in paths if pattern in p.stem]
    if fast:
        paths = [p for p in paths if load_label(p).get("fast")]
    return paths


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


# ----------------------------------------------------------------------------- judging
@dataclass
class Expectation:
    kind: str
    where: list[str]
    step_max: int | None
    found: bool = False
    localized: bool = False
    first_named: bool = False
    got_where: list[str] = field(default_factory=list)
    got_step: int | None = None


@dataclass
class Judgement:
    name: str
    category: str
    architecture: str
    expectations: list[Expectation]
    alarms: list[dict]  # warning/error findings, in the order gradsight gave them
    extras: list[dict]  # alarms of kinds neither expected nor allowed
    root_cause: str | None
    root_first: bool | None  # None when the label names no root cause
    error: str | None = None

    @property
    def ok(self) -> bool:
        return (self.error is None and not self.extras
                and all(e.found and e.localized for e in self.expectations)
                and self.root_first is not False)


def _localized(exp: Expectation, finding: dict) -> bool:
    where = list(finding.get("where") or [])
    if any(name not in where for name in exp.where):
        return False
    step = finding.get("step")
    return exp.step_max is None or (step is not None and step <= exp.step_max)


def judge(name: str, label: dict, findings: list[dict], error: str | None = None) -> Judgement:
    alarms = [f for f in findings if f.get("severity") in ALARM]
    expectations = []
    for item in label["expected"]:
        exp = Expectation(item["kind"], list(item.get("where", [])), item.get("step_max"))
        same = [f for f in alarms if f.get("kind") == exp.kind]
        if same:
            exp.found = True
            match = next((f for f in same if _localized(exp, f)), same[0])
            exp.localized = _localized(exp, match)
            exp.got_where = list(match.get("where") or [])
            exp.got_step = match.get("step")
            exp.first_named = bool(exp.where) and bool(exp.got_where) and (
                exp.got_where[0] == exp.where[0])
        expectations.append(exp)
    accepted = {e["kind"] for e in label["expected"]} | set(label.get("allowed", []))
    extras = [f for f in alarms if f.get("kind") not in accepted]
    root = label.get("root_cause")
    root_first = None
    if root is not None:
        root_first = bool(alarms) and alarms[0].get("kind") == root
    return Judgement(name, label["category"], label.get("architecture", "?"), expectations,
                     alarms, extras, root, root_first, error)


def score(judgements: list[Judgement]) -> dict:
    """Per-kind precision/recall and the summary rates over a set of judged cases."""
    per_kind = {k: {"tp": 0, "fp": 0, "fn": 0} for k in KINDS}
    for j in judgements:
        expected = {e.kind for e in j.expectations}
        for e in j.expectations:
            per_kind[e.kind]["tp" if e.found else "fn"] += 1
        for kind in sorted({f.get("kind") for f in j.extras}):
            if kind in per_kind and kind not in expected:
                per_kind[kind]["fp"] += 1
    for k, c in per_kind.items():
        c["precision"] = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else None
        c["recall"] = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else None
    exps = [e for j in judgements for e in j.expectations]
    found = [e for e in exps if e.found]
    with_where = [e for e in found if e.where]
    rooted = [j for j in judgements if j.root_first is not None]
    quiet = [j for j in judgements if j.category in ("healthy", "confounder")]
    false_alarms = [(j.name, f.get("kind"), f.get("severity")) for j in quiet for f in j.alarms]
    positives_extra = [(j.name, f.get("kind"), f.get("severity"))
                       for j in judgements if j.category == "positive" for f in j.extras]
    tp = sum(c["tp"] for c in per_kind.values())
    fp = sum(c["fp"] for c in per_kind.values())
    return {
        "cases": len(judgements),
        "cases_ok": sum(j.ok for j in judgements),
        "per_kind": per_kind,
        "expected": len(exps),
        "recall": len(found) / len(exps) if exps else None,
        "precision": tp / (tp + fp) if tp + fp else None,
        "localization": (sum(e.localized for e in found) / len(found)) if found else None,
        "first_named": (sum(e.first_named for e in with_where) / len(with_where)
                        if with_where else None),
        "root_cause_first": (sum(bool(j.root_first) for j in rooted) / len(rooted)
                             if rooted else None),
        "rooted_cases": len(rooted),
        "quiet_cases": len(quiet),
        "false_alarms": false_alarms,
        "positive_extras": positives_extra,
        "errors": [(j.name, j.error) for j in judgements if j.error],
    }


def gate(s: dict) -> list[str]:
    """The issue's thresholds that the scores miss (empty: passed)."""
    failed = []
    if s["recall"] is None or s["recall"] < GATE_RECALL:
        failed.append(f"recall {_pct(s['recall'])} < {GATE_RECALL}")
    if s["localization"] is None or s["localization"] < GATE_LOCALIZATION:
        failed.append(f"localization {_pct(s['localization'])} < {GATE_LOCALIZATION}")
    if len(s["false_alarms"]) > GATE_FALSE_ALARMS:
        failed.append(f"{len(s['false_alarms'])} warning/error finding(s) on healthy/confounder "
                      "cases")
    if s["errors"]:
        failed.append(f"{len(s['errors'])} case(s) did not run")
    return failed


# ----------------------------------------------------------------------------- printing
def _pct(x: float | None) -> str:
    return "  -  " if x is None else f"{x:.2f}"


def _short(f: dict) -> str:
    where = f.get("where") or []
    first = where[0] if where else "-"
    more = f"+{len(where) - 1}" if len(where) > 1 else ""
    return f"{f.get('kind')}({f.get('severity', '?')[0].upper()})@{first}{more}:{f.get('step')}"


def format_case(j: Judgement) -> str:
    mark = "✓" if j.ok else "✗"
    exp = []
    for e in j.expectations:
        sign = "✓" if e.found and e.localized else ("~" if e.found else "✗")
        exp.append(f"{sign}{e.kind}@{e.where[0] if e.where else '*'}")
    got = [_short(f) for f in j.alarms] or ["-"]
    root = ""
    if j.root_first is not None:
        root = f" root:{'✓' if j.root_first else '✗'}"
    line = (f"{mark} {j.name:38s} {j.category[:4]:4s} {j.architecture[:13]:13s} "
            f"expected: {' '.join(exp) or '-'}{root}\n{'':44s}got: {' '.join(got)}")
    if j.error:
        line += f"\n{'':44s}ERROR: {j.error.splitlines()[-1] if j.error else ''}"
    return line


def format_scores(s: dict) -> str:
    lines = [f"{'kind':22s} {'tp':>3s} {'fp':>3s} {'fn':>3s} {'precision':>9s} {'recall':>7s}"]
    for kind, c in s["per_kind"].items():
        lines.append(f"{kind:22s} {c['tp']:3d} {c['fp']:3d} {c['fn']:3d} "
                     f"{_pct(c['precision']):>9s} {_pct(c['recall']):>7s}")
    lines += [
        "",
        f"cases {s['cases']} ({s['cases_ok']} fully right)   expected findings {s['expected']}",
        f"recall {_pct(s['recall'])}   precision {_pct(s['precision'])}   "
        f"localization {_pct(s['localization'])}   first-named {_pct(s['first_named'])}   "
        f"root-cause-first {_pct(s['root_cause_first'])} (of {s['rooted_cases']})",
        f"false alarms on healthy/confounder cases: {len(s['false_alarms'])} "
        f"(over {s['quiet_cases']} cases)",
    ]
    for name, kind, sev in s["false_alarms"]:
        lines.append(f"  {name}: {kind} ({sev})")
    if s["positive_extras"]:
        lines.append(f"unexpected findings on positive cases: {len(s['positive_extras'])}")
        for name, kind, sev in s["positive_extras"]:
            lines.append(f"  {name}: {kind} ({sev})")
    for name, err in s["errors"]:
        lines.append(f"did not run: {name}: {err.splitlines()[-1] if err else ''}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="gradsight diagnosis accuracy")
    ap.add_argument("-j", "--jobs", type=int, default=2, help="cases run at once (default 2)")
    ap.add_argument("--filter", help="only cases whose name contains this")
    ap.add_argument("--fast", action="store_true", help="only cases labelled fast")
    ap.add_argument("--no-gate", action="store_true", help="exit 0 whatever the scores")
    ap.add_argument("--keep", help="keep run folders and findings JSON in this folder")
    ap.add_argument("--json", help="write the judgements and scores here")
    ap.add_argument("--python", default=sys.executable, help="interpreter with gradsight")
    ap.add_argument("--rejudge", metavar="DIR",
                    help="judge the findings JSON a --keep DIR run left (<case>.json) again, "
                         "without running gradsight (after a label changed)")
    args = ap.parse_args(argv)

    paths = discover(args.filter, args.fast)
    if not paths:
        print("no cases matched", file=sys.stderr)
        return 2
    labels = {p: load_label(p) for p in paths}
    workdir = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="gs-bench-"))
    if not args.rejudge:
        workdir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()

    def one(p: Path) -> tuple[Judgement, Run]:
        if args.rejudge:
            js = Path(args.rejudge) / f"{p.stem}.json"
            found = json.loads(js.read_text())["findings"] if js.exists() else []
            run = Run(found, 0, 0.0, None if js.exists() else f"no {js}")
        else:
            run = run_case(p, workdir, args.python)
        return judge(p.stem, labels[p], run.findings, run.error), run

    judgements = []
    with ThreadPoolExecutor(max(1, args.jobs)) as pool:
        for j, run in pool.map(one, paths):
            judgements.append(j)
            print(format_case(j) + f"  ({run.seconds:.0f} s)", flush=True)
    s = score(judgements)
    print()
    print(format_scores(s))
    print(f"\n{len(paths)} cases in {time.perf_counter() - t0:.0f} s")
    failed = gate(s)
    print("gate: " + ("PASSED" if not failed else "FAILED: " + "; ".join(failed)))
    if args.json:
        Path(args.json).write_text(json.dumps({
            "scores": s,
            "cases": [{"name": j.name, "category": j.category, "ok": j.ok,
                       "expected": [e.__dict__ for e in j.expectations],
                       "alarms": j.alarms, "root_first": j.root_first, "error": j.error}
                      for j in judgements]}, indent=1, default=str))
    return 0 if args.no_gate or not failed else 1


if __name__ == "__main__":
    sys.exit(main())
