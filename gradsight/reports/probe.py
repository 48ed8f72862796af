"""Terminal rendering of a probe: the per-layer profile table, then the findings."""

from __future__ import annotations

import math
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..core.finding import Severity
from .terminal import STYLE, print_findings
from .text import inert

SHORT_INIT = {"orthogonal": "orth."}
MAX_ROWS = 24  # a 100-layer stack shows its start, where it breaks, and its end


def render_probe(result: Any, console: Console | None = None, *, verbose: bool = False) -> None:
    console = console or Console()
    header = Text("gradsight probe", style="bold")
    header.append(inert(f" · {result.framework} · {len(result.layers)} modules measured at "
                        f"initialization · {result.detail.get('stopped_at', result.status)}"))
    if result.loss is not None:
        header.append(f" · loss {_num(result.loss)}")
    console.print(header)
    if result.layers:
        console.print(_table(result))
    elif result.detail.get("note"):
        console.print(Text(inert(result.detail["note"])))
    problems = [f for f in result.findings if f.severity != Severity.INFO]
    if not problems and result.layers:
        console.print(Text("✓ initialization looks healthy: no layer explodes, collapses or "
                           "turns non-finite", style="bold green"))
    print_findings(console, result.findings, verbose,
                   "more: every number and fix with --verbose or --json")


def _table(result: Any) -> Table:
    predicted = {p.name: p for p in result.prediction}
    # Numbers never wrap inside a cell: at 80 columns the names give way (ellipsis) instead.
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False,
                  padding=(0, 1), collapse_padding=True)
    for column in ("#", "layer", "type", "→act", "out\nmean", "out\nstd", "gain", "grad\nstd",
                   "dead", "sat", "w std\n→ init", "pred.\ngain"):
        names = column in ("layer", "type", "→act")
        table.add_column(column, justify="left" if names else "right", no_wrap=True,
                         overflow="ellipsis" if names else "fold",
                         min_width=4 if names else None)
    rows = _rows_to_show(result.layers)
    previous = -1
    for i in rows:
        if i != previous + 1:
            table.add_row("…", *[""] * 11)
        previous = i
        layer = result.layers[i]
        twin = predicted.get(layer.name)
        init = ""
        if layer.weight is not None:
            short = SHORT_INIT.get(layer.recommended, layer.recommended)
            init = f"{_num(layer.weight_std)} → {short}"
        style = "bold red" if layer.nonfinite else ""
        table.add_row(
            str(i), Text(inert(layer.name or "(model)")), inert(layer.type),
            inert(layer.followed_by or ""),
            _num(layer.out_mean), _num(layer.out_std), _num(layer.gain),
            _num(layer.grad_std if layer.weight is not None else layer.out_grad_std),
            _pct(layer.dead_frac), _pct(layer.saturated_frac), init,
            _num(twin.gain) if twin is not None and layer.weight is not None else "",
            style=style,
        )
    return table


def _rows_to_show(layers: list[Any]) -> list[int]:
    n = len(layers)
    if n <= MAX_ROWS:
        return list(range(n))
    keep = set(range(8)) | set(range(n - 4, n))
    bad = next((i for i, layer in enumerate(layers) if layer.nonfinite), None)
    if bad is not None:
        keep |= set(range(max(0, bad - 3), min(n, bad + 2)))
    return sorted(keep)


def _num(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        # 7.66e+03 -> 7.66e3: three characters fewer in the widest columns
        return f"{value:.3g}".replace("e+0", "e").replace("e+", "e").replace("e-0", "e-")
    return str(value)


def _pct(value: float | None) -> str:
    return "" if value is None or math.isnan(value) else f"{100 * value:.0f}%"


__all__ = ["render_probe", "STYLE"]
