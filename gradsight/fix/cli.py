"""``gradsight fix``: baseline, the repairs that target its findings, a ranked table.

The JSON file is rewritten after every trial, so Ctrl-C (or a kill) keeps what was measured.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from ..run.session import default_folder
from . import rank
from .plan import Plan, info_of
from .space import resolve
from .trials import Trial, run_trial


STDOUT = "-"


def run_fix(script: str, args: list[str], *, budget: int = 300,
            json_path: Path | str | None = None, out: Path | None = None,
            console: Console | None = None, try_all: bool = False) -> int:
    """Baseline, then repairs in the plan's order until one resolves (``try_all``: every
    repair of the plan, to rank them all); ``json_path="-"`` prints the JSON to stdout at the
    end (the table then goes to ``console``, which the command line points at stderr)."""
    console = console or Console()
    if not Path(script).is_file():
        print(f"gradsight: no such script: {script} (expected a Python file to run)",
              file=sys.stderr)
        return 2
    folder = Path(out or default_folder(f"fix-{Path(script).stem}"))
    state: dict[str, Any] = {"baseline": None, "trials": [], "note": None}

    def save() -> None:
        doc = _document(state, budget)
        for target in filter(None, (json_path if json_path != STDOUT else None,
                                    folder / "fix.json")):
            path = Path(target)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + ".tmp")  # atomic: a reader never sees half a file
            tmp.write_text(json.dumps(doc, indent=2) + "\n")
            tmp.replace(path)

    try:
        with _progress(console) as progress:
            task = progress.add_task("trials", total=1, unit="trials")
            steps = progress.add_task("baseline", total=budget, unit="steps")

            def trial_steps(name: str) -> Any:
                progress.reset(steps, total=budget, description=name)
                return lambda n: progress.update(steps, completed=min(n, budget))

            baseline = run_trial(script, args, None, budget, folder / "baseline",
                                 on_step=trial_steps("baseline"))
            state["baseline"] = baseline
            if baseline.status == "error":
                save()
                console.print(f"[red]the baseline run failed[/red]: {baseline.error}")
                return 1
            problems = baseline.kinds
            info = info_of(baseline)
            framework = baseline.model.get("framework", "torch")
            if problems and framework not in TORCH:
                problems = set()  # nothing fix can install: say so, try nothing
                state["note"] = (f"gradsight fix installs its repairs in PyTorch only; this "
                                 f"script trains with {framework}: apply the advice of the "
                                 "findings (gradsight run) by hand")
            plan = Plan(baseline, info)
            if not state["note"] and (not problems or not plan.queue):
                state["note"] = ("nothing to fix: the baseline run shows no warning or error "
                                 f"in {baseline.steps} steps") if not problems else (
                    "no repair in the catalog targets " + ", ".join(sorted(problems)))
            progress.update(task, total=1 + (len(plan.queue) if problems else 0), advance=1)
            save()
            done: list[Trial] = state["trials"]
            while problems and (name := plan.next(done)) is not None:
                progress.update(task, description=name,
                                total=max(1 + len(done) + 1 + len(plan.queue), 1))
                trial = run_trial(script, args, name, budget, folder / _folder_name(name),
                                  info.activations, on_step=trial_steps(name))
                trial.order = len(done) + 1
                done.append(trial)
                save()
                progress.advance(task)
                if not try_all and rank.resolved(trial, baseline):
                    state["stopped"] = True  # the first repair that works is the answer
                    break
    except KeyboardInterrupt:
        save()
        console.print("[yellow]interrupted: partial results kept[/yellow]")
        _render(console, state, budget)
        _json_to_stdout(json_path, state, budget)
        return 130
    save()
    _render(console, state, budget)
    console.print(Text(f"trial runs: {folder}", style="dim"))
    _json_to_stdout(json_path, state, budget)
    return 0


TORCH = ("torch", "none")  # "none": the baseline saw no framework (nothing to repair either)


def _folder_name(repair: str) -> str:
    """A trial's folder: ``init:he + lr:/10`` -> ``init-he+lr-div10``."""
    return repair.replace(" + ", "+").replace(":", "-").replace("/", "div")


def _json_to_stdout(json_path: Path | str | None, state: dict[str, Any], budget: int) -> None:
    if json_path == STDOUT:
        sys.stdout.write(json.dumps(_document(state, budget), indent=2) + "\n")
        sys.stdout.flush()


def _document(state: dict[str, Any], budget: int) -> dict[str, Any]:
    baseline, trials = state["baseline"], state["trials"]
    winner = rank.best(trials, baseline) if baseline is not None else None
    code = resolve(winner.repair).code() if winner is not None else None
    doc = rank.document(baseline, trials, budget, code, state["note"])
    if baseline is not None and winner is None and trials and _advice(baseline):
        doc["advice"] = _advice(baseline)
    return doc


def _render(console: Console, state: dict[str, Any], budget: int) -> None:
    baseline: Trial | None = state["baseline"]
    if baseline is None:
        return
    console.print(Text("gradsight fix", style="bold").append(
        f" · {budget}-step budget per trial · baseline: {_kinds(baseline)} · loss "
        f"{_loss(baseline.loss)}"))
    if state["note"]:
        style = "bold green" if not baseline.kinds else "yellow"
        console.print(Text(state["note"], style=style))
        return
    table = Table(header_style="bold")
    table.add_column("#", no_wrap=True)  # the order tried
    table.add_column("repair", no_wrap=True)
    table.add_column("findings", no_wrap=True)  # before → after
    table.add_column("loss", no_wrap=True)  # before → after, mean of the last 10% of steps
    table.add_column("time", no_wrap=True)
    table.add_column("resolved", no_wrap=True)
    table.add_column("still found", overflow="fold")
    for trial in rank.ranked(state["trials"], baseline):
        ok = rank.resolved(trial, baseline)
        after = str(len(trial.findings)) if trial.status != "error" else "failed"
        table.add_row(
            str(trial.order or ""),
            trial.repair,
            f"{len(baseline.findings)} → {after}",
            f"{_loss(baseline.loss)} → {_loss(trial.loss)}",
            f"{trial.seconds:.1f}s",
            Text("yes", style="bold green") if ok else Text("no", style="red"),
            _kinds(trial) if trial.findings else "",
        )
    console.print(table)
    console.print(Text("findings and loss: baseline → with the repair, after the same "
                       f"{budget} steps from the same seed", style="dim"))
    winner = rank.best(state["trials"], baseline)
    if winner is None:
        console.print(Text("no repair made the findings go away within the budget; the "
                           "table shows which came closest", style="yellow"))
        advice = _advice(baseline)
        if advice:
            console.print(Text(advice, style="bold"))
        return
    if state.get("stopped"):
        console.print(Text(f"stopped at the first repair that resolves (trial {winner.order}); "
                           "`gradsight fix --all` tries and ranks the rest", style="dim"))
    console.print(Text(f"best: {winner.repair}", style="bold green").append(
        f" — findings gone, loss {_loss(baseline.loss)} → {_loss(winner.loss)}", style=""))
    console.print(Text("the change to make in your script:", style="bold"))
    console.print(Text(resolve(winner.repair).code()))


def _advice(baseline: Trial) -> str | None:
    """What no hook can try: saturating activations that no init rescues within the budget."""
    acts = set((baseline.model.get("activations") or {}).values()) & {"sigmoid", "tanh"}
    if not acts or not baseline.kinds & {"vanishing_gradient", "stalled_weights",
                                         "saturated_activation", "loss_not_decreasing"}:
        return None
    names = "/".join(sorted(acts))
    return (f"activation-aware advice: every {names} layer multiplies the gradient by its "
            f"derivative (at most {'0.25' if 'sigmoid' in acts else '1'}), so a deep stack of "
            f"them vanishes whatever the init; replace the hidden torch.nn.{_cls(acts)} with "
            "torch.nn.ReLU and use He init (torch.nn.init.kaiming_normal_(m.weight, "
            "nonlinearity=\"relu\")), or add normalization between layers")


def _cls(acts: set[str]) -> str:
    return "Sigmoid" if "sigmoid" in acts else "Tanh"


def _kinds(trial: Trial) -> str:
    kinds = sorted(trial.kinds)
    return ", ".join(kinds) if kinds else "none"


def _loss(value: float | None) -> str:
    return "nan/inf" if value is None or not math.isfinite(value) else f"{value:.3g}"


def _progress(console: Console) -> Progress:
    """Two bars, on a terminal only: trials done of all, and the running trial's steps."""
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                    TextColumn("{task.completed:.0f}/{task.total:.0f} {task.fields[unit]}"),
                    TimeElapsedColumn(), console=console, transient=True,
                    disable=not console.is_terminal)
