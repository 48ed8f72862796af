"""The terminal diagnosis (``rich``): findings first, then the key numbers.

Terse by default, because a person reads it at the end of a run: each root cause as a card with
its summary (which carries the numbers that matter), where, and the first fix; a finding
explained by another (``evidence.caused_by``) and an ``info`` finding as two lines. ``verbose``
shows every evidence item and every fix, as the findings JSON always holds them.

Every name shown comes from the user's model and may contain anything, so all text goes in as
``rich.text.Text`` (never parsed as markup) and through ``text.inert`` (no control character
reaches the terminal).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from rich.console import Console, Group
from rich.padding import Padding
from rich.panel import Panel
from rich.text import Text

from ..core.finding import Finding, Severity
from ..core.diagnosis import Diagnosis
from .text import inert

STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "bold yellow", Severity.INFO: "cyan"}
MAX_EVIDENCE_ITEMS = 4
MAX_WHERE = 6


def render(diagnosis: Diagnosis, console: Console | None = None, *,
           verbose: bool = False) -> None:
    console = console or Console()
    console.print(_header(diagnosis))
    if diagnosis.job and diagnosis.job.get("failed"):
        console.print(_failed(diagnosis.job))
    problems = [f for f in diagnosis.findings if f.severity != Severity.INFO]
    if diagnosis.failure is not None:
        console.print(Text(f"no verdict: the diagnosis failed ({inert(diagnosis.failure)}); "
                           f"what was recorded is kept: gradsight report "
                           f"{inert(diagnosis.folder)} diagnoses it again", style="bold red"))
    elif not problems and diagnosis.steps == 0:
        console.print(_nothing_watched(diagnosis))
    elif not problems:
        console.print(_healthy(diagnosis))
    print_findings(console, diagnosis.findings, verbose)
    unsaved = " (not written: the run was kept in memory)" if diagnosis.numbers.get(
        "unsaved") else ""
    console.print(Text(f"run folder: {inert(diagnosis.folder)}{unsaved}", style="dim"))
    report = Path(diagnosis.folder) / "report.html"
    if report.exists():
        console.print(Text(f"report: {inert(report)}", style="dim"))


def _header(d: Diagnosis) -> Text:
    text = Text("gradsight", style="bold")
    text.append(inert(f" · {d.framework} · {d.steps} steps · run {d.status}"))
    processes = d.numbers.get("processes", 1)
    if d.job:
        text.append(f" · {d.job.get('world_size')} ranks")
    elif isinstance(processes, int) and processes > 1:
        text.append(f" · {processes} processes")
    counts = {s: sum(1 for f in d.findings if f.severity == s) for s in Severity}
    text.append(" · ")
    text.append(f"{counts[Severity.ERROR]} error(s)", style=STYLE[Severity.ERROR])
    text.append(", ")
    text.append(f"{counts[Severity.WARNING]} warning(s)", style=STYLE[Severity.WARNING])
    return text


def _failed(job: Mapping[str, Any]) -> Text:
    """Which rank of a job died, in which step, and what the diagnosis judges."""
    f = job["failed"]
    how = f.get("signal") or f.get("error") or f.get("status")
    steps = ", ".join(f"rank {r.get('rank')}: {r.get('steps')}" for r in job.get("ranks", []))
    return Text(f"rank {f.get('rank')} (pid {f.get('pid')}) {f.get('status')} ({how}) after "
                f"{f.get('step')} recorded steps; the findings judge what each rank recorded "
                f"({steps} steps)", style="bold red")


def _healthy(d: Diagnosis) -> Text:
    n = d.numbers
    text = Text("✓ no training problem found", style="bold green")
    if d.status in ("crashed", "killed", "interrupted"):  # no clean bill for a run cut short
        text = Text(f"no training problem found before the run {inert(d.status)}",
                    style="bold yellow")
    parts = [f"{n.get('steps', d.steps)} steps ({n.get('recorded_steps', 0)} in full detail)",
             f"{n.get('parameters', 0)} parameters watched"]
    if "loss_start" in n and "loss_end" in n:
        parts.append(f"loss {_num(n['loss_start'])} → {_num(n['loss_end'])}")
    if "median_update_to_weight" in n:
        parts.append(f"median update/weight {_num(n['median_update_to_weight'])} per step")
    if "max_grad_norm" in n:
        parts.append(f"largest gradient norm {_num(n['max_grad_norm'])}")
    text.append(": " + "; ".join(parts))
    return text


def _nothing_watched(d: Diagnosis) -> Text:
    """Never a clean bill of health for a run that watched nothing."""
    text = Text("nothing was judged: ", style="bold yellow")
    n = d.numbers
    if d.framework == "none":
        why = ("the script imported no framework gradsight watches (PyTorch, TensorFlow, "
               "Keras)")
    elif n.get("backward_calls"):
        why = (f"backward() ran {n['backward_calls']} time(s) but no optimizer ever stepped: "
               "parameters updated by hand (p -= lr * p.grad) are not watched; a torch.optim "
               "optimizer's step() is")
    elif d.status == "crashed" and n.get("error"):
        why = f"the script crashed before its first optimizer step ({n['error']})"
    elif n.get("parameters"):
        why = "no optimizer step was seen"
    else:
        why = ("no model or optimizer was seen (a crash before training, a framework gradsight "
               "does not watch, or updates done by hand instead of optimizer.step())")
    return text.append(why + f"; the run {inert(d.status)}")


RUN_MORE = "more: every number and fix with --verbose, in findings.json and in report.html"


def print_findings(console: Console, findings: list[Finding], verbose: bool,
                   more: str = RUN_MORE) -> None:
    """Every finding, root causes as cards; says once (``more``) what the terse form left
    out."""
    hidden = False
    for finding in findings:
        if verbose:
            console.print(_finding(finding, verbose=True))
        elif _secondary(finding):
            console.print(_compact(finding))
            hidden = True
        else:
            console.print(_finding(finding))
            hidden = hidden or bool(finding.evidence) or len(finding.fixes) > 1
    if hidden:
        console.print(Text(more, style="dim"))


def _secondary(f: Finding) -> bool:
    """A symptom another finding explains, or something only worth knowing."""
    return f.severity == Severity.INFO or bool(f.evidence.get("caused_by"))


def _title(f: Finding) -> Text:
    title = Text()
    title.append(f.severity.value.upper(), style=STYLE[f.severity])
    title.append(inert(f" {f.kind} · step {f.step}"))
    return title


def _where(f: Finding) -> Text:
    where = ", ".join(map(inert, f.where[:MAX_WHERE])) + (
        f" (+{len(f.where) - MAX_WHERE} more)" if len(f.where) > MAX_WHERE else ""
    )
    return Text("where: ", style="bold").append(where, style="")


def _compact(f: Finding) -> Group:
    title = _title(f)
    cause = f.evidence.get("caused_by")
    if cause:
        title.append(" · caused by ", style="dim").append(inert(_evidence(cause)))
    body = Group(Text(inert(f.summary, lines=True)), _where(f))
    return Group(title, Padding(body, (0, 0, 0, 2), expand=False))


def _finding(f: Finding, verbose: bool = False) -> Panel:
    body = [Text(inert(f.summary, lines=True)), _where(f)]
    for key, value in (f.evidence.items() if verbose else ()):
        body.append(Text(f"  {inert(key)}: ", style="dim").append(inert(_evidence(value))))
    fixes = f.fixes if verbose else f.fixes[:1]
    for i, fix in enumerate(fixes, 1):
        label = f"fix {i}: " if verbose else "fix: "
        body.append(Text(label, style="bold green").append(inert(fix, lines=True)))
    if not verbose and len(f.fixes) > 1:
        body.append(Text(f"(+{len(f.fixes) - 1} more fixes)", style="dim"))
    return Panel(Group(*body), title=_title(f), title_align="left",
                 border_style=STYLE[f.severity])


def _evidence(value: Any) -> str:
    if isinstance(value, Mapping):
        items = list(value.items())
        shown = ", ".join(f"{k}={_num(v)}" for k, v in items[:MAX_EVIDENCE_ITEMS])
        return shown + (f", … ({len(items)} in all)" if len(items) > MAX_EVIDENCE_ITEMS else "")
    if isinstance(value, (list, tuple)):
        shown = ", ".join(_num(v) for v in value[:MAX_EVIDENCE_ITEMS])
        return shown + (f", … ({len(value)} in all)" if len(value) > MAX_EVIDENCE_ITEMS else "")
    return _num(value)


def _num(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)
