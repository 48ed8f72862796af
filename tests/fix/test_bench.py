"""The repair benchmark (benchmarks/fix): its case list, the random search's draws, the table's
arithmetic, and its quick subset run end to end (real trials, as ``make bench-fix`` runs them)."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import pytest

from gradsight.fix.plan import info_of
from gradsight.fix.repairs import ModelInfo
from gradsight.fix.trials import Trial
from gradsight.fix.space import FAMILIES, LR_LIMIT, family, parts, resolve

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "benchmarks" / "fix"


def _load(name: str):
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


cases = _load("cases")
table = _load("table")
search = _load("search")

TANH_SGD = ModelInfo({"0": "tanh", "2": None}, ["SGD"], 2)
RELU_ADAM = ModelInfo({"0": "relu", "2": None}, ["Adam"], 2)


def test_every_buggy_pytorch_program_is_sorted_into_repairable_or_excluded() -> None:
    assert cases.unclassified() == []
    names = {c.name for c in cases.REPAIRABLE}
    assert not names & set(cases.EXCLUDED)
    for case in cases.all_cases():
        assert case.path.is_file(), case.path
        if case.positive:
            assert case.person and case.accept, case.name
    healthy = [c for c in cases.all_cases() if not c.positive]
    assert len(healthy) >= 40 and len(cases.REPAIRABLE) >= 25
    assert len(cases.not_torch()) >= 30  # the wild corpus's Keras and TF1 halves


def test_random_search_is_seeded_distinct_and_inside_fix_space() -> None:
    first = search.settings(3, TANH_SGD, 12)
    assert first == search.settings(3, TANH_SGD, 12)  # a rerun draws the same settings
    assert first != search.settings(4, TANH_SGD, 12)
    assert len(set(first)) == 12
    for name in first:
        fams = [family(p) for p in parts(name)]
        assert len(fams) == len(set(fams)) and set(fams) <= set(FAMILIES)
        repair = resolve(name)  # installed by the same hooks as fix's own trials
        assert repair.applies(TANH_SGD)
        lr = [p for p in parts(name) if p.startswith("lr:")]
        assert len(lr) == 1
        factor = resolve(lr[0]).factor
        assert 1 / LR_LIMIT * 0.9 <= factor <= LR_LIMIT * 1.1
    assert not any("init:he" in n for n in first)  # He applies to ReLU models only
    many = search.settings(0, RELU_ADAM, 60)
    assert not any("optimizer:adam" in n for n in many)  # already Adam: nothing to swap
    # the five training-side families only: no stability repair (a no-op without attention)
    assert not any("norm:qk" in n or "loss:" in n for n in many)
    # log-uniform over [1e-4, 1e4]: about half the draws lower the learning rate
    down = sum(any(p.startswith("lr:/") for p in parts(n)) for n in many)
    assert 15 <= down <= 45


def _outcome(first, chosen_loss, repairs=("lr:/10",), seconds=2.0):
    trials = [{"repair": r, "seconds": seconds} for r in repairs]
    return {"first": first, "chosen": repairs[(first or 1) - 1], "chosen_loss": chosen_loss,
            "trials": trials}


def _case(name, fix, randoms, accept=("lr:/",)):
    return {"case": {"name": name, "positive": True, "accept": list(accept), "corpus": "x",
                     "person": "p"},
            "baseline": {"kinds": ["nonfinite"], "loss": None}, "fix": fix,
            "random": [{"seed": i, **r} for i, r in enumerate(randoms)], "seconds": 1}


def test_headline_fractions_per_seed_with_their_spread() -> None:
    results = {"cases": [
        # fix resolves at trial 1; random at 3 (seed 0) and never (seed 1)
        _case("a", _outcome(1, 0.1, ("lr:/10", "clip:1", "init:he")),
              [_outcome(3, 0.5, ("init:he", "clip:1", "lr:/30")),
               _outcome(None, 0.2, ("clip:1", "init:he", "norm:layer"))]),
        # fix never resolves; random resolves at 2 both times, with a lower loss
        _case("b", _outcome(None, 9.0, ("init:he", "norm:layer")),
              [_outcome(2, 1.0, ("init:he", "lr:/20")), _outcome(2, None, ("clip:1", "lr:/5"))]),
        {"case": {"name": "h", "positive": False}, "baseline": {"kinds": []},
         "fix": {"trials": [], "message": "nothing to fix: ..."}, "random": []},
    ]}
    h = table.headline(results)
    assert h["cases"] == 2 and h["seeds"] == 2 and h["fix_resolved"] == 1
    assert h["random_resolved"] == (1.5, 1, 2)
    assert h["fewer"] == (0.5, 0.5, 0.5)  # case a in both seeds; b never
    assert h["lower_loss"] == (0.75, 0.5, 1.0)  # seed 0: a only; seed 1: a (0.1<0.2) and b (9<inf)
    assert h["fix_person"] == 1 and h["random_person"] == (1.5, 1, 2)  # lr:/30, lr:/20, lr:/5
    assert h["fix_trials"] == 1 + 2 and h["budget_trials"] == 5
    assert h["fix_time"] == 2.0 and h["healthy_ok"] == 1 == h["healthy"]
    assert table.failures(results) == []
    text = table.markdown({**results, "date": "2026-01-01", "budget": 300})
    assert "| a | x | nonfinite | yes | 1 of 3 |" in text and "`lr:/10` (yes)" in text


def test_person_match_needs_every_part_of_the_change() -> None:
    assert table.matches("lr:/100", ("lr:/",))
    assert not table.matches("init:he + lr:/100", ("lr:/",))
    assert table.matches("init:he + norm:layer", ("init:", "norm:"))
    assert not table.matches(None, ("init:",))
    assert table.trials_to_resolve({"first": None}) == math.inf


def test_healthy_program_given_repairs_fails_the_benchmark(monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    bad = {"cases": [{"case": {"name": "h", "positive": False},
                      "baseline": {"kinds": ["dead_units"]},
                      "fix": {"trials": [{"repair": "init:he"}], "message": None},
                      "random": []}]}
    assert table.failures(bad) == ["h: healthy, but fix tried 1 repair(s) for dead_units"]
    crashed = {"cases": [{"case": {"name": "c", "positive": False}, "baseline": {"kinds": []},
                          "fix": {"trials": [], "message": None}, "random": []}]}
    assert table.failures(crashed) == ["c: healthy, but the baseline run failed"]
    assert set(cases.KNOWN_HEALTHY) <= {c.name for c in cases.healthy_cases()}
    # a healthy program known (and said in the table) not to get "nothing to fix" is listed
    monkeypatch.setitem(table.KNOWN_HEALTHY, "h", "a fault outside gradsight/fix, said here")
    assert table.failures(bad) == []
    assert "a fault outside gradsight/fix, said here" in table.markdown(bad)


def test_slow_starters_are_judged_over_their_whole_run() -> None:
    """A healthy program flat for longer than the trial budget gets its run's length."""
    budgets = {c.name: c.budget for c in cases.healthy_cases()}
    assert set(cases.WHOLE_RUN) <= set(budgets)
    for name, steps in cases.WHOLE_RUN.items():
        assert budgets[name] == steps > 300


@pytest.mark.slow
def test_quick_subset_end_to_end(tmp_path: Path) -> None:
    """The quick subset of `make bench-fix`: a too-high learning rate and a healthy run."""
    bench = _load("bench")
    fast = [c for c in cases.all_cases() if c.fast]
    assert {c.positive for c in fast} == {True, False}
    results = {"cases": [bench.run_case(c, 60, 1, tmp_path) for c in fast]}
    for res in table.healthy(results):
        assert table.nothing_to_fix(res) and res["random"] == []
    for res in table.positives(results):
        fix, (rnd,) = res["fix"], res["random"]
        assert {"exploding_gradient", "nonfinite"} <= set(res["baseline"]["kinds"])
        assert fix["first"] == 1 and fix["chosen"].startswith("lr:/")  # the cause: lr first
        n = len(fix["trials"])
        assert 1 <= len(rnd["trials"]) <= n and rnd["seed"] == 0
        ran = [t["repair"] for t in rnd["trials"]]
        info = info_of(Trial("none", [], None, 0.0, model=res["baseline"]["model"]))
        assert ran == search.settings(0, info, n)[:len(ran)]  # the seeded draws, in order
    assert table.failures(results) == []
