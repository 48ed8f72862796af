"""``gradsight report DIR --png FILE``: the gradient-flow picture as a PNG to paste anywhere.

The same picture as the HTML report's heat map (parameters in forward order x recorded steps,
log10 of the gradient norm, dark = small), drawn with matplotlib's Agg canvas directly (no
pyplot: no global state, no display needed). The image size depends only on the number of
parameters, so it is predictable: ``WIDTH_PX`` wide, ``png_height(n)`` high.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core.diagnosis import open_view
from ..core.series import ratio_series
from .columns import MAX_COLUMNS, QUANT, forward_key, log_matrix, make_columns
from .text import inert

WIDTH_PX = 1200
DPI = 100
MAX_LABEL = 40  # characters of a parameter name shown on the axis


def png_height(params: int) -> int:
    return int(min(1600, max(420, 160 + 24 * params)))


def write_flow_png(folder: str | Path, target: str | Path, *, ratio: bool = False) -> Path:
    """Draw the gradient flow of the run in ``folder`` into ``target`` (a PNG file)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    view, opened = open_view(folder)  # a job: rank 0's view of it
    try:
        params = sorted(view.entities("param"), key=lambda e: forward_key(view, e))
        names = [p.name for p in params]
        columns = make_columns(view.watched_steps, MAX_COLUMNS)
        grad = view.metric("param", "grad_norm")
        if ratio:
            grad = ratio_series(grad, view.metric("param", "weight_norm"))
        matrix = log_matrix(columns, names, grad)
        title = str(view.meta.get("script") or view.meta.get("model") or Path(folder).name)
    finally:
        opened.close()
    if not names or not len(columns):
        raise ValueError(f"{folder} has no recorded gradients to draw")
    data = np.array([[np.nan if v is None else v / QUANT for v in row] for row in matrix])
    fig = Figure(figsize=(WIDTH_PX / DPI, png_height(len(names)) / DPI), dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.2, 0.1, 0.68, 0.8))
    cax = fig.add_axes((0.9, 0.1, 0.02, 0.8))
    finite = data[np.isfinite(data)]
    lo, hi = (np.percentile(finite, [2, 98]) if finite.size else (0.0, 1.0))
    if hi - lo < 1:
        lo, hi = lo - 0.5, hi + 0.5
    image = ax.imshow(np.ma.masked_invalid(data), aspect="auto", cmap="inferno",
                      vmin=lo, vmax=hi, interpolation="nearest")
    fig.colorbar(image, cax=cax, label="log10 " + ("‖g‖/‖w‖" if ratio else "‖g‖"))
    step = max(1, len(names) // 40)
    ax.set_yticks(range(0, len(names), step))
    ax.set_yticklabels([_short(n) for n in names[::step]], fontsize=8)
    xticks = np.unique(np.linspace(0, len(columns) - 1, min(len(columns), 10)).astype(int))
    ax.set_xticks(xticks)
    ax.set_xticklabels([str(columns.labels[i]) for i in xticks], fontsize=8)
    ax.set_xlabel("step")
    name = _plain(Path(title).name)
    ax.set_title(f"gradient flow · {name} (first layer at the top; dark = small)", fontsize=10)
    out = Path(target)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, format="png", dpi=DPI)
    return out


def _short(name: str) -> str:
    return _plain(name if len(name) <= MAX_LABEL else name[: MAX_LABEL - 1] + "…")


def _plain(text: str) -> str:
    """Names are text: no control character (``text.inert``), never matplotlib mathtext (which
    a pair of ``$`` would start)."""
    return inert(text).replace("$", r"\$")
