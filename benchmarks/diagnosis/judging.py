"""Judging gradsight's findings against a case's label, and the scores over a set of cases.

Pure functions of findings (contract JSON dicts) and labels, so that kept findings can be judged
again after a label changed and the arithmetic is tested on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from case_labels import KINDS

ALARM = ("warning", "error")
QUIET = ("healthy", "confounder")
# Issue 4: the cases written here are a regression gate.
GATE_RECALL = 0.95
GATE_LOCALIZATION = 0.9
GATE_FALSE_ALARMS = 0
# Issue 14: on programs written by other people, >= 90% of the buggy ones fully right and no
# warning/error on any healthy (or confounder) one.
GATE_CORPUS_POSITIVES_RIGHT = 0.9


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
    framework: str = "torch"

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
                     alarms, extras, root, root_first, error, label.get("framework", "torch"))


def _rate(num: int, den: int) -> float | None:
    return num / den if den else None


def score(judgements: list[Judgement]) -> dict:
    """Per-kind precision/recall and the summary rates over a set of judged cases."""
    per_kind = {k: {"tp": 0, "fp": 0, "fn": 0} for k in KINDS}
    for j in judgements:
        expected = {e.kind for e in j.expectations}
        for e in j.expectations:
            per_kind[e.kind]["tp" if e.found else "fn"] += 1
        for kind in sorted({str(f.get("kind")) for f in j.extras}):
            if kind not in expected:  # a kind outside the contract is counted under its name
                per_kind.setdefault(kind, {"tp": 0, "fp": 0, "fn": 0})["fp"] += 1
    for c in per_kind.values():
        c["precision"] = _rate(c["tp"], c["tp"] + c["fp"])
        c["recall"] = _rate(c["tp"], c["tp"] + c["fn"])
    exps = [e for j in judgements for e in j.expectations]
    found = [e for e in exps if e.found]
    with_where = [e for e in found if e.where]
    rooted = [j for j in judgements if j.root_first is not None]
    quiet = [j for j in judgements if j.category in QUIET]
    positives = [j for j in judgements if j.category == "positive"]
    false_alarms = [(j.name, f.get("kind"), f.get("severity")) for j in quiet for f in j.alarms]
    positives_extra = [(j.name, f.get("kind"), f.get("severity"))
                       for j in positives for f in j.extras]
    tp = sum(c["tp"] for c in per_kind.values())
    fp = sum(c["fp"] for c in per_kind.values())
    return {
        "cases": len(judgements),
        "cases_ok": sum(j.ok for j in judgements),
        "positives": len(positives),
        "positives_ok": sum(j.ok for j in positives),
        "positives_right": _rate(sum(j.ok for j in positives), len(positives)),
        "per_kind": per_kind,
        "expected": len(exps),
        "recall": _rate(len(found), len(exps)),
        "precision": _rate(tp, tp + fp),
        "localization": _rate(sum(e.localized for e in found), len(found)),
        "first_named": _rate(sum(e.first_named for e in with_where), len(with_where)),
        "root_cause_first": _rate(sum(bool(j.root_first) for j in rooted), len(rooted)),
        "rooted_cases": len(rooted),
        "quiet_cases": len(quiet),
        "quiet_with_alarm": len({name for name, _, _ in false_alarms}),
        "false_alarms": false_alarms,
        "positive_extras": positives_extra,
        "errors": [(j.name, j.error) for j in judgements if j.error],
    }


def score_by_framework(judgements: list[Judgement]) -> dict[str, dict]:
    """``score`` of each framework's cases, in a fixed order (torch, keras, tf1, others)."""
    order = ["torch", "keras", "tf1"]
    names = sorted({j.framework for j in judgements}, key=lambda f: (
        order.index(f) if f in order else len(order), f))
    return {fw: score([j for j in judgements if j.framework == fw]) for fw in names}


def _pct(x: float | None) -> str:
    return "  -  " if x is None else f"{x:.2f}"


def gate(s: dict) -> list[str]:
    """Issue 4's thresholds for the cases written here, which must all stay fully right
    (empty: passed)."""
    failed = []
    if s["cases_ok"] < s["cases"]:
        failed.append(f"{s['cases'] - s['cases_ok']} of {s['cases']} case(s) not fully right")
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


def gate_corpus(s: dict) -> list[str]:
    """Issue 14's thresholds for programs written by other people (empty: passed)."""
    failed = []
    right = s["positives_right"]
    if right is None or right < GATE_CORPUS_POSITIVES_RIGHT:
        failed.append(f"{s['positives_ok']} of {s['positives']} buggy programs fully right "
                      f"({_pct(right)} < {GATE_CORPUS_POSITIVES_RIGHT})")
    if s["false_alarms"]:
        failed.append(f"{len(s['false_alarms'])} warning/error finding(s) on "
                      f"{s['quiet_with_alarm']} of {s['quiet_cases']} healthy programs")
    if s["errors"]:
        failed.append(f"{len(s['errors'])} case(s) did not run")
    return failed


GATES = {"regression": gate, "corpus": gate_corpus}
