"""The wild corpus (benchmarks/wild, issue 14): programs written by other people, their labels, the
scorer's corpus arithmetic, and a fast subset of the cases run through gradsight and judged."""

from __future__ import annotations

import ast
import importlib.util
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WILD = ROOT / "benchmarks" / "wild" / "cases"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(
        f"diagnosis_{name}", ROOT / "benchmarks" / "diagnosis" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


score = _load("score")

ALL = score.discover(cases_dir=WILD)
LABELS = {p.stem: score.load_label(p) for p in ALL}
FAST = score.discover(cases_dir=WILD, fast=True)

# Fast cases the current detectors get wrong, with the mechanism at fault (benchmarks/wild/
# FAILURES.md). The mechanisms engineer removes entries as they are fixed; strict=False so that
# a fix does not break the suite.
KNOWN_WRONG: dict[str, str] = {}

# The benchmark programs kept for outside evaluation (DeepFD, DeepDiagnosis, DeepLocalize,
# TrainCheck, whose silent issues and example workloads are listed in TrainCheck's evaluation
# repository) may not be a source of the corpus.
RESERVED = ("deepfd", "deepdiagnosis", "deeplocalize", "traincheck", "ml-daikon",
            "discuss.pytorch.org/t/obtaining-abnormal-changes-in-loss-and-accuracy/84911",
            "stackoverflow.com/questions/60335387", "stackoverflow.com/questions/67180955",
            "pytorch/pytorch/issues/104336", "pytorch/pytorch/issues/51800",
            "pytorch/pytorch/issues/84803", "pytorch/pytorch/issues/96600",
            "pytorch/pytorch/issues/115607", "jxmnop", "github.com/pytorch/examples")
# Anything that fetches data or weights at run time.
DOWNLOADS = re.compile(r"download\s*=\s*True|urlretrieve|urlopen|requests\.|load_dataset\(|"
                       r"fetch_openml|torchvision\.datasets|keras\.datasets|tfds\.load|"
                       r"hf_hub_download|from_pretrained|get_file\(")


# ----------------------------------------------------------------------------- labels
def test_every_wild_case_has_a_complete_label():
    assert ALL, "no case in benchmarks/wild/cases"
    for path in ALL:
        label = LABELS[path.stem]  # load_label raised already on a malformed one
        assert score.wild_framework(path) == label["framework"], path.name
        for key in ("question", "why", "changes", "measured"):
            assert label[key], f"{path.name}: empty {key}"
        assert not label["source"].endswith((".example", "TODO")), path.name


def test_pairs_point_at_each_other():
    for name, label in LABELS.items():
        pair = label["pair"]
        if pair is None:
            continue
        assert pair in LABELS, f"{name}: pair {pair!r} is not a case"
        assert LABELS[pair]["pair"] == name, f"{pair} does not name {name} back"


def test_the_torch_half_covers_the_issue():
    torch_labels = {n: lab for n, lab in LABELS.items() if lab["framework"] == "torch"}
    assert len(torch_labels) >= 32
    healthy = [n for n, lab in torch_labels.items() if lab["category"] != "positive"]
    assert len(healthy) >= 10
    kinds = {e["kind"] for lab in torch_labels.values() for e in lab["expected"]}
    assert len(kinds) >= 8, kinds
    sources = [(WILD / f"{n}.py").read_text() for n in torch_labels]
    assert sum("mp.spawn" in s or "torchrun" in s for s in sources) >= 2  # multi-process


def test_no_case_downloads_or_uses_a_reserved_benchmark():
    for path in ALL:
        text = path.read_text()
        code = "\n".join(line for line in text.splitlines()
                         if not line.lstrip().startswith("#"))
        tree = ast.parse(text)
        body = [n for n in tree.body if not (isinstance(n, ast.Assign) and getattr(
            n.targets[0], "id", "") == "LABEL")]
        program = ast.unparse(ast.Module(body=body, type_ignores=[]))
        assert not DOWNLOADS.search(program), f"{path.name} fetches something at run time"
        source = LABELS[path.stem]["source"].lower()
        assert not any(r in source for r in RESERVED), f"{path.name}: reserved source"
        assert code  # the file is a program


# ----------------------------------------------------------------------------- arithmetic
def _f(kind, where=(), severity="warning", step=0):
    return {"kind": kind, "severity": severity, "where": list(where), "step": step}


def _label(category="positive", expected=(), framework="torch", root=None):
    return {"category": category, "expected": [dict(e) for e in expected], "root_cause": root,
            "allowed": [], "architecture": "MLP", "why": "x", "measured": {"a": 1},
            "framework": framework}


def test_corpus_gate_counts_buggy_programs_and_healthy_alarms():
    ok = score.judge("a", _label(expected=[{"kind": "nonfinite"}]), [_f("nonfinite")])
    wrong = score.judge("b", _label(expected=[{"kind": "dead_units"}], framework="keras"), [])
    quiet = score.judge("c", _label("healthy", framework="keras"), [_f("dead_units")])
    s = score.score([ok, wrong, quiet])
    assert (s["positives"], s["positives_ok"], s["positives_right"]) == (2, 1, 0.5)
    assert s["quiet_with_alarm"] == 1
    failed = score.gate_corpus(s)
    assert len(failed) == 2 and failed[0].startswith("1 of 2 buggy programs")
    by_fw = score.score_by_framework([ok, wrong, quiet])
    assert list(by_fw) == ["torch", "keras"]
    assert by_fw["torch"]["positives_right"] == 1.0 and by_fw["keras"]["cases"] == 2
    nine_of_ten = [score.judge(str(i), _label(expected=[{"kind": "nonfinite"}]),
                               [_f("nonfinite")] if i else []) for i in range(10)]
    assert score.gate_corpus(score.score(nine_of_ten)) == []  # 0.9 is enough


def test_a_wild_label_must_say_where_it_came_from():
    good = {**_label(expected=[{"kind": "nonfinite"}]), "source": "https://x.org/q/1",
            "question": "q", "changes": ["c"], "pair": None}
    score.validate_label(good, "torch_x.py")
    for change in ({"source": "a forum"}, {"framework": "keras"}, {"changes": "one change"},
                   {"pair": 3}):
        with pytest.raises(ValueError):
            score.validate_label({**good, **change}, "torch_x.py")
    missing = dict(good)
    del missing["question"]
    with pytest.raises(ValueError, match="question"):
        score.validate_label(missing, "torch_x.py")
    with pytest.raises(ValueError, match="unknown kind"):
        score.validate_label({**good, "expected": [{"kind": "nan_loss"}]}, "torch_x.py")


def test_markdown_has_the_tables_and_the_wrong_cases():
    wrong = score.judge("torch_b", _label(expected=[{"kind": "dead_units", "where": ["0.w"]}]),
                        [_f("stalled_weights", ["0.w"])])
    j = [score.judge("torch_a", _label(expected=[{"kind": "nonfinite"}]), [_f("nonfinite")]),
         wrong]
    md = score.format_markdown(score.score(j), score.score_by_framework(j), j)
    assert "| kind | tp | fp | fn | precision | recall |" in md
    assert "| torch | 2 | 1/2 (0.50) |" in md
    assert "| torch_b | ✗dead_units@0.w | stalled_weights(W)@0.w:0 | |" in md


# ----------------------------------------------------------------------------- fast cases
@pytest.mark.parametrize(
    "path",
    [pytest.param(p, id=p.stem, marks=[pytest.mark.xfail(reason=KNOWN_WRONG[p.stem],
                                                         strict=False)]
                  if p.stem in KNOWN_WRONG else []) for p in FAST],
)
def test_fast_wild_case_is_diagnosed_as_labelled(path, tmp_path):
    run = score.run_case(path, tmp_path)
    j = score.judge(path.stem, LABELS[path.stem], run.findings, run.error)
    assert j.ok, score.format_case(j)
