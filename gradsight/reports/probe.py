"""Terminal rendering of a probe: the per-layer profile table, then the findings."""

from __future__ import annotations

import math
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..core.finding import Severity
from .terminal import STYLE, _finding
from .text import inert

MAX_ROWS = 24  # a 100-layer stack shows its start, where it breaks, and its end


def render_probe(result: Any, console: Console | None = None) -> None:
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
    for finding in result.findings:
        console.print(_finding(finding))


def _table(result: Any) -> Table:
    predicted = {p.name: p for p in result.prediction}
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for column in ("#", "layer", "type", "→act", "out mean", "out std", "gain", "grad std",
                   "dead", "sat", "w std → init", "pred. gain"):
        table.add_column(column, justify="left" if column in ("layer", "type", "→act") else
                         "right", overflow="fold")
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
            init = f"{_num(layer.weight_std)} → {layer.recommended}"
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
        return f"{value:.3g}"
    return str(value)


def _pct(value: float | None) -> str:
    return "" if value is None or math.isnan(value) else f"{100 * value:.0f}%"


__all__ = ["render_probe", "STYLE"]
