"""Inline rendering in Jupyter: a run, a watch and a probe result show themselves as HTML.

The notebook gets what a person looks at first in ``report.html``: one card per finding
(severity, kind, step, summary, where, the first fix) and the gradient-flow heat map (parameters
in forward order x steps, log10 of the gradient norm, dark = small). It is plain HTML with an
inline SVG, no script: notebooks that do not trust an output still show it, and it costs a few
kB, not the report's chart library. Every name goes through ``html.escape``.

Anything gets this by one method on its own class (``_repr_html_``, IPython's protocol):
``Run`` (what ``gradsight.load_run`` returns), ``Watch`` and ``ProbeResult`` call into here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from html import escape
from pathlib import Path
from typing import Any, Sequence

from ..core.diagnosis import Diagnosis, diagnose_folder
from ..core.finding import Finding, Severity
from ..core.run_view import RunView
from ..core.store import DB_NAME
from .columns import QUANT, forward_key, log_matrix, make_columns

COLORS = {Severity.ERROR: "#c0392b", Severity.WARNING: "#b7791f", Severity.INFO: "#2b6cb0"}
HEAT_COLUMNS = 120  # step columns of the inline heat map
HEAT_ROWS = 60  # parameters shown (the first ones in forward order, where vanishing shows)
CELL_W, CELL_H, LABEL_W = 5, 12, 230
# inferno-like stops from small (dark) to large (bright), as in report.html and the PNG
STOPS = ((0.0, (0, 0, 4)), (0.25, (87, 16, 110)), (0.5, (188, 55, 84)),
         (0.75, (249, 142, 9)), (1.0, (252, 255, 164)))


@dataclass(repr=False)
class Run(Diagnosis):
    """A stored run's diagnosis that renders itself in a notebook."""

    @classmethod
    def of(cls, diagnosis: Diagnosis) -> "Run":
        return cls(**{f.name: getattr(diagnosis, f.name) for f in fields(Diagnosis)})

    def _repr_html_(self) -> str:
        return diagnosis_html(self)

    def frame(self, metric: str = "grad_norm", role: str = "param") -> Any:
        """A pandas DataFrame of one recorded series: a row per step, a column per parameter
        (``role="param"``: ``grad_norm``, ``weight_norm``, ``update_norm``, ``lr``, ...) or
        module (``role="module"``: ``act_std``, ``dead_frac``, ...); ``metric="loss"`` gives
        the loss of every step. Needs ``pip install gradsight[pandas]``.

        >>> # run.frame("grad_norm").iloc[:, 0].plot(logy=True)
        """
        try:
            import pandas as pd
        except ImportError as exc:
            raise ImportError("Run.frame needs pandas, which is not installed: "
                              "pip install 'gradsight[pandas]'") from exc
        view = RunView.open(self.folder)
        try:
            series = {"loss": view.loss} if metric == "loss" else view.metric(role, metric)
        finally:
            view.close()
        columns = {name: pd.Series(s.values, index=s.steps) for name, s in series.items()}
        return pd.DataFrame(columns).rename_axis("step")


def load_run(folder: str | Path, status: str | None = None) -> Run:
    """Diagnose a stored run folder (also a killed one): findings root cause first, the key
    numbers, and an inline view in Jupyter.

    >>> # run = gradsight.load_run("gradsight-runs/train-20261124-101500")
    >>> # run.findings[0].kind, run.steps
    """
    return Run.of(diagnose_folder(folder, status))


def diagnosis_html(diagnosis: Diagnosis, title: str = "gradsight") -> str:
    counts = {s: sum(1 for f in diagnosis.findings if f.severity == s) for s in Severity}
    head = (f"{escape(title)} · {escape(diagnosis.framework)} · {diagnosis.steps} steps · "
            f"run {escape(diagnosis.status)} · {counts[Severity.ERROR]} error(s), "
            f"{counts[Severity.WARNING]} warning(s)")
    if diagnosis.failure is not None:
        head += f" · no verdict: the diagnosis failed ({escape(diagnosis.failure)})"
    elif not any(f.severity != Severity.INFO for f in diagnosis.findings) and diagnosis.steps:
        head += (" · ✓ no training problem found" if diagnosis.status not in (
            "crashed", "killed", "interrupted") else
            f" · no training problem found before the run {escape(diagnosis.status)}")
    heat = flow_svg(diagnosis.folder)
    return _page(head, cards_html(diagnosis.findings), heat,
                 f"run folder: {escape(str(diagnosis.folder))}")


def probe_html(result: Any) -> str:
    head = (f"gradsight probe · {escape(result.framework)} · {len(result.layers)} modules "
            f"measured at initialization")
    if result.loss is not None:
        head += f" · loss {_num(result.loss)}"
    return _page(head, cards_html(result.findings), _probe_table(result), "")


def cards_html(findings: Sequence[Finding]) -> str:
    out = []
    for f in findings:
        color = COLORS[f.severity]
        where = ", ".join(f.where[:8]) + (f" (+{len(f.where) - 8} more)" if len(f.where) > 8
                                          else "")
        fix = (f'<div><b>fix:</b> <pre style="white-space:pre-wrap;margin:2px 0">'
               f"{escape(f.fixes[0])}</pre></div>" if f.fixes else "")
        cause = f.evidence.get("caused_by")
        caused = f" · caused by {escape(str(cause))}" if cause else ""
        out.append(
            f'<div class="gs-card" style="border-left:4px solid {color};padding:4px 8px;'
            f'margin:6px 0;background:#fafafa">'
            f'<div><b style="color:{color}">{f.severity.value.upper()}</b> '
            f"<b>{escape(f.kind)}</b> · step {f.step}{caused}</div>"
            f"<div>{escape(f.summary)}</div>"
            f"<div><b>where:</b> <code>{escape(where)}</code></div>{fix}</div>")
    return "".join(out)


def flow_svg(folder: str | Path) -> str:
    """The gradient-flow heat map as an inline SVG; empty when nothing was recorded."""
    if not (Path(folder) / DB_NAME).exists():
        return ""
    view = RunView.open(folder)
    try:
        params = sorted(view.entities("param"), key=lambda e: forward_key(view, e))
        names = [p.name for p in params][:HEAT_ROWS]
        columns = make_columns(view.watched_steps, HEAT_COLUMNS)
        matrix = log_matrix(columns, names, view.metric("param", "grad_norm"))
    finally:
        view.close()
    values = [v / QUANT for row in matrix for v in row if v is not None]
    if not names or not len(columns) or not values:
        return ""
    values.sort()
    lo, hi = values[int(0.02 * (len(values) - 1))], values[int(0.98 * (len(values) - 1))]
    if hi - lo < 1:
        lo, hi = lo - 0.5, hi + 0.5
    width, height = LABEL_W + CELL_W * len(columns), CELL_H * len(names) + 18
    parts = [f'<svg class="gs-flow" xmlns="http://www.w3.org/2000/svg" width="{width}" '
             f'height="{height}" font-family="monospace" font-size="10">']
    for i, (name, row) in enumerate(zip(names, matrix)):
        y = i * CELL_H
        label = name if len(name) <= 34 else name[:33] + "…"
        parts.append(f"<g><title>{escape(name)}</title>"
                     f'<text x="{LABEL_W - 4}" y="{y + CELL_H - 3}" text-anchor="end">'
                     f"{escape(label)}</text></g>")
        for j, v in enumerate(row):
            fill = "#ddd" if v is None else _color((v / QUANT - lo) / (hi - lo))
            parts.append(f'<rect x="{LABEL_W + j * CELL_W}" y="{y}" width="{CELL_W}" '
                         f'height="{CELL_H}" fill="{fill}"/>')
    parts.append(f'<text x="{LABEL_W}" y="{height - 4}">steps {columns.labels[0]}–'
                 f"{columns.labels[-1]} · log10 ‖grad‖ {lo:.1f} (dark) to {hi:.1f} (bright)"
                 "</text></svg>")
    return "".join(parts)


def _probe_table(result: Any) -> str:
    head = "".join(f"<th>{h}</th>" for h in ("#", "layer", "type", "out std", "gain",
                                              "grad std", "init"))
    rows = []
    for i, layer in enumerate(result.layers[:HEAT_ROWS]):
        bad = ' style="color:#c0392b"' if layer.nonfinite else ""
        init = escape(layer.recommended or "") if layer.weight is not None else ""
        rows.append(f"<tr{bad}><td>{i}</td><td><code>{escape(layer.name or '(model)')}"
                    f"</code></td><td>{escape(layer.type)}</td><td>{_num(layer.out_std)}</td>"
                    f"<td>{_num(layer.gain)}</td><td>{_num(layer.grad_std)}</td>"
                    f"<td>{init}</td></tr>")
    return f'<table class="gs-probe"><tr>{head}</tr>{"".join(rows)}</table>'


def _page(head: str, cards: str, picture: str, foot: str) -> str:
    foot_html = f'<div style="color:#666">{foot}</div>' if foot else ""
    return (f'<div class="gradsight" style="font-family:sans-serif;font-size:13px">'
            f"<div><b>{head}</b></div>{cards}{picture}{foot_html}</div>")


def _color(t: float) -> str:
    t = min(1.0, max(0.0, t if math.isfinite(t) else 0.0))
    for (t0, c0), (t1, c1) in zip(STOPS, STOPS[1:]):
        if t <= t1:
            k = (t - t0) / (t1 - t0)
            r, g, b = (round(a + k * (b_ - a)) for a, b_ in zip(c0, c1))
            return f"#{r:02x}{g:02x}{b:02x}"
    return "#fcffa4"


def _num(value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "" if value is None else str(value)
    return f"{value:.3g}" if isinstance(value, float) else escape(str(value))
