"""The repair benchmark's arithmetic and tables, from ``bench.py``'s results (plain dicts).

Per positive case and search seed: *trials* is the 1-based position of the first resolving trial
(inf when none of the N resolved), *loss* the loss after the budget of the trial each method
recommends (the first resolving one, else the best ranked; a non-finite loss counts as inf).
The headline fractions are taken per search seed over the positive cases and given as the
median with the range over seeds: that range is the random search's spread.
"""

from __future__ import annotations

import math
import statistics
from typing import Any

from cases import KNOWN_HEALTHY, REPAIRABLE

INF = math.inf


def _num(value: float | None) -> float:
    return value if value is not None and math.isfinite(value) else INF


def trials_to_resolve(outcome: dict[str, Any]) -> float:
    return float(outcome["first"]) if outcome.get("first") else INF


def time_to_resolve(outcome: dict[str, Any]) -> float:
    """Seconds of the trials up to and including the first resolving one; inf when none."""
    first = outcome.get("first")
    return sum(t["seconds"] for t in outcome["trials"][:first]) if first else INF


def matches(repair: str | None, accept: list[str] | tuple[str, ...]) -> bool:
    """The recommended change is the one a person would make: every part of it is."""
    return bool(repair) and all(any(p.startswith(a) for a in accept)
                                for p in str(repair).split(" + "))


def positives(results: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in results["cases"] if r["case"]["positive"]]


def healthy(results: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in results["cases"] if not r["case"]["positive"]]


def nothing_to_fix(res: dict[str, Any]) -> bool:
    return not res["fix"]["trials"] and "nothing to fix" in (res["fix"].get("message") or "")


def _spread(values: list[float]) -> tuple[float, float, float]:
    if not values:
        return (math.nan, math.nan, math.nan)
    return (statistics.median(values), min(values), max(values))


def headline(results: dict[str, Any]) -> dict[str, Any]:
    """The totals: per search seed, then the median and range over seeds."""
    cases = [r for r in positives(results) if r["random"]]
    seeds = sorted({s["seed"] for r in cases for s in r["random"]})
    per_seed: dict[str, list[float]] = {k: [] for k in (
        "random_resolved", "fewer", "at_most", "lower_loss", "random_person", "random_time")}
    for seed in seeds:
        rows = [(r["fix"], next(s for s in r["random"] if s["seed"] == seed), r) for r in cases
                if any(s["seed"] == seed for s in r["random"])]
        n = len(rows) or 1
        per_seed["random_resolved"].append(sum(bool(s["first"]) for _, s, _ in rows))
        per_seed["fewer"].append(sum(trials_to_resolve(f) < trials_to_resolve(s)
                                     for f, s, _ in rows) / n)
        per_seed["at_most"].append(sum(trials_to_resolve(f) <= trials_to_resolve(s)
                                       and f["first"] is not None for f, s, _ in rows) / n)
        per_seed["lower_loss"].append(sum(_num(f["chosen_loss"]) < _num(s["chosen_loss"])
                                          for f, s, _ in rows) / n)
        per_seed["random_person"].append(sum(bool(s["first"]) and matches(
            s["chosen"], r["case"]["accept"]) for _, s, r in rows))
        per_seed["random_time"].append(sum(time_to_resolve(s) for _, s, _ in rows
                                           if s["first"]))
    fixes = [r["fix"] for r in cases]
    return {
        "cases": len(cases),
        "seeds": len(seeds),
        "fix_resolved": sum(bool(f["first"]) for f in fixes),
        "fix_person": sum(bool(r["fix"]["first"]) and matches(r["fix"]["chosen"],
                                                              r["case"]["accept"])
                          for r in cases),
        "fix_trials": sum(len(f["trials"][:f["first"]] if f["first"] else f["trials"])
                          for f in fixes),
        "budget_trials": sum(len(f["trials"]) for f in fixes),
        "fix_time": sum(time_to_resolve(f) for f in fixes if f["first"]),
        **{k: _spread(v) for k, v in per_seed.items()},
        "healthy": len(healthy(results)),
        "healthy_ok": sum(nothing_to_fix(r) for r in healthy(results)),
    }


def failures(results: dict[str, Any]) -> list[str]:
    """What makes ``make bench-fix`` fail: a healthy program given repairs (or no "nothing to
    fix"), a positive one whose baseline run failed."""
    out = [f"{r['case']['name']}: healthy, but " + (
               f"fix tried {len(r['fix']['trials'])} repair(s) for "
               f"{', '.join(r['baseline']['kinds']) or 'nothing'}" if r["fix"]["trials"] else
               "the baseline run failed")
           for r in healthy(results) if not nothing_to_fix(r) and not _known(r)]
    out += [f"{r['case']['name']}: the baseline run failed" for r in positives(results)
            if r["fix"].get("message") is None and not r["fix"]["trials"]]
    return out


def _known(res: dict[str, Any]) -> str | None:
    """Why a healthy case is known not to get "nothing to fix" (``cases.KNOWN_HEALTHY``)."""
    return (res["case"].get("known") or KNOWN_HEALTHY.get(res["case"]["name"])
            if not res["case"]["positive"] else None)


def _fmt_loss(value: float | None) -> str:
    return "nan/inf" if value is None or not math.isfinite(value) else f"{value:.3g}"


def _fmt_trials(value: float, n: int) -> str:
    return f">{n}" if value == INF else f"{value:g}"


def _fmt_time(value: float) -> str:
    return "—" if value == INF else f"{value:.0f}s"


def one_line(res: dict[str, Any]) -> str:
    """A progress line per case."""
    name, f = res["case"]["name"], res["fix"]
    if not res["case"]["positive"]:
        return f"{name}: healthy, {'nothing to fix' if nothing_to_fix(res) else 'FIXED?'}"
    n = len(f["trials"])
    rnd = [_fmt_trials(trials_to_resolve(s), n) for s in res["random"]]
    return (f"{name}: fix {_fmt_trials(trials_to_resolve(f), n)}/{n} ({f['chosen']}), "
            f"random {' '.join(rnd) or '-'} ({res['seconds']:.0f}s)")


def case_row(res: dict[str, Any]) -> list[str]:
    case, f, rnd = res["case"], res["fix"], res["random"]
    n = len(f["trials"])
    base = ", ".join(res["baseline"]["kinds"]) or "none"
    if not f["trials"]:
        note = f.get("message") or "—"
        return [case["name"], case["corpus"], base, note, "", "", "", "", "", "", "", ""]
    ft = trials_to_resolve(f)
    fix_person = ("yes" if matches(f["chosen"], case["accept"]) else "no") if f["first"] else "—"
    rt = [trials_to_resolve(s) for s in rnd]
    rl = [_num(s["chosen_loss"]) for s in rnd]
    med_t, min_t, max_t = _spread(rt)
    med_l, min_l, max_l = _spread(rl)
    resolved = sum(bool(s["first"]) for s in rnd)
    person = sum(bool(s["first"]) and matches(s["chosen"], case["accept"]) for s in rnd)
    times = [time_to_resolve(s) for s in rnd]
    return [
        case["name"], case["corpus"], base,
        "yes" if f["first"] else "no",
        f"{_fmt_trials(ft, n)} of {n}", _fmt_time(time_to_resolve(f)),
        f"`{f['chosen']}` ({fix_person})" if f["chosen"] else "—",
        f"{_fmt_loss(res['baseline']['loss'])} → {_fmt_loss(f['chosen_loss'])}",
        f"{resolved}/{len(rnd)}",
        f"{_fmt_trials(med_t, n)} [{_fmt_trials(min_t, n)}–{_fmt_trials(max_t, n)}]",
        _fmt_time(statistics.median(times)) if times else "—",
        f"{_fmt_loss(med_l)} [{_fmt_loss(min_l)}–{_fmt_loss(max_l)}], person's change "
        f"{person}/{len(rnd)}",
    ]


HEADER = ["case", "corpus", "baseline findings", "fix: resolved", "fix: trials to resolve",
          "fix: time", "fix recommends (a person's change?)", "loss: baseline → fix",
          "random: resolved (seeds)", "random: trials, median [range]", "random: time, median",
          "random: loss, median [range]"]


def _range(spread: tuple[float, float, float], scale: float = 1.0, fmt: str = "{:.0%}") -> str:
    med, lo, hi = (x * scale for x in spread)
    return f"{fmt.format(med)} [{fmt.format(lo)}–{fmt.format(hi)}]"


def markdown(results: dict[str, Any]) -> str:
    h = headline(results)
    lines = [f"Run {results.get('date', '?')}: {h['cases']} buggy programs a training-side "
             f"repair can address, {h['healthy']} healthy ones; {results.get('budget')} steps "
             f"per trial (fewer where a case says), {h['seeds']} random-search seeds.", ""]
    if h["cases"]:
        lines += [
            f"- `fix` resolves {h['fix_resolved']}/{h['cases']}; random search "
            f"{_range(h['random_resolved'], fmt='{:g}')} (median [range] over seeds)",
            f"- `fix` resolves with fewer trials than random search in "
            f"{_range(h['fewer'])} of the cases (as few or fewer, and resolved: "
            f"{_range(h['at_most'])})",
            f"- `fix`'s recommendation reaches a lower loss after the budget in "
            f"{_range(h['lower_loss'])} of the cases",
            f"- the recommended change is the one a person would make: `fix` "
            f"{h['fix_person']}/{h['fix_resolved']} resolved; random search "
            f"{_range(h['random_person'], fmt='{:g}')}",
            f"- trials run: `fix` {h['fix_trials']} (stopping at the first that resolves) of "
            f"{h['budget_trials']} planned; time in trials until the first resolving one, "
            f"summed over resolved cases: `fix` {h['fix_time']:.0f}s, random search "
            f"{_range(h['random_time'], fmt='{:.0f}s')}",
        ]
    lines += [f"- healthy programs: {h['healthy_ok']}/{h['healthy']} \"nothing to fix\", no "
              "trial", ""]
    rows = [case_row(r) for r in positives(results)]
    if rows:
        lines += ["| " + " | ".join(HEADER) + " |", "|" + " --- |" * len(HEADER)]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        lines += ["", "A person's change, per case: " + "; ".join(
            f"{r['case']['name']}: {r['case']['person']}" for r in positives(results)), ""]
    bad = [r for r in healthy(results) if not nothing_to_fix(r)]
    if bad:
        lines += ["Healthy programs that did not get \"nothing to fix\": " + "; ".join(
            f"{r['case']['name']} ({', '.join(r['baseline']['kinds']) or 'no findings'}; "
            f"{len(r['fix']['trials'])} trials; "
            f"{_known(r) or 'NOT KNOWN: a benchmark failure'})" for r in bad), ""]
    ran = {r["case"]["name"] for r in results["cases"]}
    missing = [c.name for c in REPAIRABLE if c.name not in ran]
    if missing:
        lines += [f"Not measured in this run (repairable, but the run stopped or was filtered "
                  f"before them): {', '.join(missing)}.", ""]
    not_run = results.get("not_run") or {}
    if not_run.get("excluded"):
        lines += ["Not run, no training-side repair addresses the fault: " + "; ".join(
            f"{k} ({v})" for k, v in sorted(not_run["excluded"].items())) + ".", ""]
    if not_run.get("not_torch"):
        lines += [f"Not run, Keras/TF1 (`gradsight fix` installs its repairs in PyTorch only): "
                  f"{len(not_run['not_torch'])} programs of the wild corpus.", ""]
    return "\n".join(lines)
