"""The scorer's text: one line pair per case, the score tables, and a markdown form of both
(the README's accuracy tables, and the wrong cases as rows for ``benchmarks/wild/FAILURES.md``).
"""

from __future__ import annotations

from judging import Judgement


def pct(x: float | None) -> str:
    return "  -  " if x is None else f"{x:.2f}"


def short(f: dict) -> str:
    """``kind(W)@first+N:step``: a finding in a few characters."""
    where = f.get("where") or []
    first = where[0] if where else "-"
    more = f"+{len(where) - 1}" if len(where) > 1 else ""
    return f"{f.get('kind')}({f.get('severity', '?')[0].upper()})@{first}{more}:{f.get('step')}"


def _expected(j: Judgement) -> list[str]:
    out = []
    for e in j.expectations:
        sign = "✓" if e.found and e.localized else ("~" if e.found else "✗")
        out.append(f"{sign}{e.kind}@{e.where[0] if e.where else '*'}")
    return out


def format_case(j: Judgement) -> str:
    mark = "✓" if j.ok else "✗"
    got = [short(f) for f in j.alarms] or ["-"]
    root = ""
    if j.root_first is not None:
        root = f" root:{'✓' if j.root_first else '✗'}"
    line = (f"{mark} {j.name:38s} {j.category[:4]:4s} {j.architecture[:13]:13s} "
            f"expected: {' '.join(_expected(j)) or '-'}{root}\n{'':44s}got: {' '.join(got)}")
    if j.error:
        line += f"\n{'':44s}ERROR: {j.error.splitlines()[-1] if j.error else ''}"
    return line


def format_summary(s: dict) -> str:
    """The rates of one set of cases, without the per-kind table."""
    lines = [
        f"cases {s['cases']} ({s['cases_ok']} fully right; buggy programs {s['positives_ok']} "
        f"of {s['positives']} = {pct(s['positives_right'])})   expected findings "
        f"{s['expected']}",
        f"recall {pct(s['recall'])}   precision {pct(s['precision'])}   "
        f"localization {pct(s['localization'])}   first-named {pct(s['first_named'])}   "
        f"root-cause-first {pct(s['root_cause_first'])} (of {s['rooted_cases']})",
        f"warning/error findings on healthy/confounder cases: {len(s['false_alarms'])} "
        f"({s['quiet_with_alarm']} of {s['quiet_cases']} cases have one)",
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


def _kind_rows(s: dict) -> list[tuple[str, dict]]:
    """Kinds that occur in these cases (expected, found or falsely raised)."""
    return [(k, c) for k, c in s["per_kind"].items() if c["tp"] or c["fp"] or c["fn"]]


def format_scores(s: dict) -> str:
    lines = [f"{'kind':24s} {'tp':>3s} {'fp':>3s} {'fn':>3s} {'precision':>9s} {'recall':>7s}"]
    for kind, c in _kind_rows(s):
        lines.append(f"{kind:24s} {c['tp']:3d} {c['fp']:3d} {c['fn']:3d} "
                     f"{pct(c['precision']):>9s} {pct(c['recall']):>7s}")
    return "\n".join(lines + ["", format_summary(s)])


def _md_rates(name: str, s: dict) -> str:
    return (f"| {name} | {s['cases']} | {s['positives_ok']}/{s['positives']} "
            f"({pct(s['positives_right'])}) | {pct(s['recall'])} | {pct(s['precision'])} | "
            f"{pct(s['localization'])} | {pct(s['root_cause_first'])} | "
            f"{s['quiet_with_alarm']}/{s['quiet_cases']} |")


def format_markdown(s: dict, by_fw: dict[str, dict], judgements: list[Judgement]) -> str:
    """Per-kind table, per-framework rates and the wrong cases, as markdown."""
    out = ["| kind | tp | fp | fn | precision | recall |", "| --- | --- | --- | --- | --- | --- |"]
    for kind, c in _kind_rows(s):
        out.append(f"| {kind} | {c['tp']} | {c['fp']} | {c['fn']} | {pct(c['precision'])} | "
                   f"{pct(c['recall'])} |")
    out += ["", "| framework | cases | buggy fully right | recall | precision | localization | "
            "root cause first | healthy with an alarm |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for fw, sf in by_fw.items():
        out.append(_md_rates(fw, sf))
    out.append(_md_rates("all", s))
    wrong = [j for j in judgements if not j.ok]
    if wrong:
        out += ["", "| case | expected | got | mechanism at fault |", "| --- | --- | --- | --- |"]
        for j in wrong:
            got = ", ".join(short(f) for f in j.alarms) or "no warning/error"
            if j.error:
                got = f"did not run: {j.error.splitlines()[-1][:120]}"
            exp = ", ".join(_expected(j)) or "no warning/error"
            out.append(f"| {j.name} | {exp} | {got} | |")
    return "\n".join(out) + "\n"
