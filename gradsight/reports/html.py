"""``report.html``: one self-contained page that shows what the diagnosis saw.

The pictures are the ones experts diagnose from (TensorBoard's gradient and weight histograms),
next to the findings that explain them: findings first, then the gradient flow as a heat map of
layers x steps, update/weight ratios against their healthy band, activation health, the loss
with the steps where findings start, and per-layer distributions over time.

Why it looks like this:

- One file that works from ``file://`` offline: the chart library (Apache ECharts, vendored under
  ``vendor/``) and the data are inlined; nothing is fetched.
- Every name comes from the user's model and may contain anything: the template autoescapes,
  the data travels as JSON inside ``<script type="application/json">`` with ``<``, ``>`` and
  ``&`` escaped (so no name can close the tag), and the page puts names into the DOM with
  ``textContent`` only.
- Long runs are downsampled here, not in the browser: at most ``MAX_COLUMNS`` step columns
  (buckets of consecutive recorded steps) and a fixed budget of numbers, so a 100k-step,
  500-parameter run is a few MB that opens in seconds.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ..core.metrics import HIST_BINS
from ..core.schedule import NONFINITE_STEPS, TRIGGERED_STEPS
from ..core.run_view import Entity, Histograms, RunView
from ..core.series import ratio_series
from .columns import (LOG_FLOOR, MAX_COLUMNS, MIN_COLUMNS, QUANT, _num, forward_key, frac_matrix,
                      log_matrix, loss_points, make_columns)
from ..core.diagnosis import Diagnosis

REPORT_FILE = "report.html"
ECHARTS_VERSION = "6.1.0"

MATRIX_BUDGET = 450_000  # numbers in all per-layer x step matrices together
HIST_BUDGET = 150_000  # numbers in all embedded histograms together
MAX_HIST_STEPS = 40  # per tensor
MIN_HIST_STEPS = 2
HEALTHY_UPDATE_BAND = (1e-4, 1e-2)  # around the usual ~1e-3 per step (CS231n)
STALLED_UPDATE = 1e-5  # the stalled_weights detector's threshold


def write_report(folder: str | Path, diagnosis: Diagnosis | None = None) -> Path:
    """Render ``folder/report.html`` from the stored run (and its diagnosis); returns the path.

    Written to a temporary file first, so a failed render never leaves half a report.
    """
    from ..core.diagnosis import diagnose_folder, open_view

    path = Path(folder)
    if diagnosis is None:
        diagnosis = diagnose_folder(path)
    view, opened = open_view(path)  # a job's report: rank 0's view of the whole job
    try:
        html = render_html(view, diagnosis)
    finally:
        opened.close()
    target = path / REPORT_FILE
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(target)
    return target


def write_report_or_warn(folder: str | Path, diagnosis: Diagnosis | None = None) -> Path | None:
    """``write_report``, but a failure is a warning on stderr: the findings matter more than
    their pictures, and the run's other outputs must not be lost to a rendering bug."""
    import sys

    try:
        return write_report(folder, diagnosis)
    except Exception as exc:  # noqa: BLE001 - any rendering failure is reported, not raised
        print(f"gradsight: could not write {Path(folder) / REPORT_FILE}: "
              f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return None


def render_html(view: RunView, diagnosis: Diagnosis) -> str:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("gradsight.reports", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    data = build_data(view, diagnosis)
    script = _vendor_text("echarts.min.js")
    if "</script" in script.lower():  # inlined as-is, so it must not end its own tag
        raise RuntimeError("the vendored chart library contains '</script'; cannot inline it")
    findings = [_finding_card(i, f) for i, f in enumerate(data["findings"])]
    return env.get_template("report.html.j2").render(
        run=data["run"],
        findings=findings,
        failure=diagnosis.failure,
        counts=data["run"]["counts"],
        data_json=embed_json(data),
        echarts_js=script,
        echarts_version=ECHARTS_VERSION,
        app_js=_template_text("report.js"),
        style_css=_template_text("report.css"),
    )


def embed_json(data: Any) -> str:
    """JSON that is safe inside a ``<script>`` element whatever strings it holds."""
    text = json.dumps(data, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


# -- data ---------------------------------------------------------------------------------
def build_data(view: RunView, diagnosis: Diagnosis) -> dict[str, Any]:
    """Everything the page draws, downsampled and quantized, as plain JSON-able data."""
    params = sorted(view.entities("param"), key=lambda e: forward_key(view, e))
    modules = [m for m in view.entities("module") if _has_activation_stats(view, m.name)]
    width = max(1, 3 * len(params) + 3 * len(modules))
    columns = make_columns(
        view.watched_steps, max(MIN_COLUMNS, min(MAX_COLUMNS, MATRIX_BUDGET // width))
    )
    grad = view.metric("param", "grad_norm")
    weight = view.metric("param", "weight_norm")
    update = view.metric("param", "update_norm")
    names = [p.name for p in params]
    mod_names = [m.name for m in modules]
    findings = [f.to_dict() for f in diagnosis.findings]
    return {
        "run": _run_info(view, diagnosis),
        "findings": findings,
        "steps": columns.labels,
        "quant": QUANT,
        "log_floor": LOG_FLOOR,
        "params": [_param_info(p) for p in params],
        "modules": [_module_info(m) for m in modules],
        "grad": log_matrix(columns, names, grad),
        "grad_ratio": log_matrix(columns, names, ratio_series(grad, weight)),
        "update_ratio": log_matrix(columns, names, ratio_series(update, weight)),
        "dead": frac_matrix(columns, mod_names, view.metric("module", "dead_frac")),
        "saturated": frac_matrix(
            columns, mod_names, view.metric("module", "act_saturated_frac")
        ),
        "zero": frac_matrix(columns, mod_names, view.metric("module", "act_zero_frac")),
        "act_std": log_matrix(columns, mod_names, view.metric("module", "act_std")),
        "loss": loss_points(view.loss),
        "rank_losses": [{"rank": r, **loss_points(v.loss)}
                        for r, v in (getattr(view, "ranks", None) or {}).items()],
        "hist": _histograms(view, names, mod_names),
        "bands": {
            "healthy_update": list(HEALTHY_UPDATE_BAND),
            "stalled_update": STALLED_UPDATE,
        },
        "flagged": sorted({w for f in findings for w in f["where"]}),
        "detail_windows": detail_windows(view),
    }


def detail_windows(view: RunView, limit: int = 200) -> list[dict[str, Any]]:
    """The steps the always-on tier forced into detail, as ``{start, end, why}`` (end
    exclusive), overlapping windows merged: where the run left its band (a trigger) or went
    non-finite. The loss chart shades them, so a reader sees where detail was taken and why."""
    spans = [(e["step"] + 1, e["step"] + 1 + TRIGGERED_STEPS, str(e.get("name") or "trigger"))
             for e in view.events("trigger")]
    spans += [(e["step"] + 1, e["step"] + 1 + NONFINITE_STEPS, "non-finite")
              for e in view.events("nonfinite")]
    merged: list[dict[str, Any]] = []
    for start, end, why in sorted(spans):
        if merged and start <= merged[-1]["end"]:
            merged[-1]["end"] = max(merged[-1]["end"], end)
        elif len(merged) < limit:
            merged.append({"start": int(start), "end": int(end), "why": why})
    return merged


def _histograms(view: RunView, params: list[str], modules: list[str]) -> dict[str, Any]:
    wanted = {"weight": params, "grad": params, "act": modules}
    per_tensor = HIST_BUDGET // max(1, (2 * len(params) + len(modules)) * (HIST_BINS + 2))
    keep = max(MIN_HIST_STEPS, min(MAX_HIST_STEPS, per_tensor))
    tables = {
        "weight": view.histograms("param", "weight", keep),
        "grad": view.histograms("param", "grad", keep),
        "act": view.histograms("module", "act", keep),
    }
    return {
        kind: {n: _histogram(tables[kind][n], keep) for n in names if n in tables[kind]}
        for kind, names in wanted.items()
    }


def _histogram(h: Histograms, keep: int) -> dict[str, Any]:
    """``keep`` evenly spread steps (first and last included); counts as per-mille of the
    step's total, so the page needs no normalization."""
    picks = np.unique(np.linspace(0, len(h) - 1, min(keep, len(h))).round().astype(int))
    counts = []
    for i in picks:
        total = h.counts[i].sum()
        row = h.counts[i] * (1000.0 / total) if total > 0 else h.counts[i]
        counts.append([int(round(c)) for c in row])
    return {
        "steps": h.steps[picks].tolist(),
        "lo": [_num(h.lo[i], 5) for i in picks],
        "hi": [_num(h.hi[i], 5) for i in picks],
        "counts": counts,
    }


def _has_activation_stats(view: RunView, name: str) -> bool:
    return name in view.metric("module", "act_std")


def _param_info(p: Entity) -> dict[str, Any]:
    shape = p.get("shape") or []
    return {"name": p.name, "module": p.get("module"), "type": p.get("module_type"),
            "shape": shape, "matrix": len(shape) >= 2}


def _module_info(m: Entity) -> dict[str, Any]:
    return {"name": m.name, "type": m.get("type"), "activation": m.get("activation")}


def _run_info(view: RunView, diagnosis: Diagnosis) -> dict[str, Any]:
    meta = view.meta
    counts = {s: sum(1 for f in diagnosis.findings if f.severity.value == s)
              for s in ("error", "warning", "info")}
    return {
        "title": Path(str(meta.get("script") or meta.get("model") or diagnosis.folder)).name,
        "script": str(meta.get("script") or ""),
        "argv": [str(a) for a in meta.get("argv") or []],
        "model": str(meta.get("model") or ""),
        "framework": diagnosis.framework,
        "status": diagnosis.status,
        "steps": int(diagnosis.steps),
        "recorded_steps": int(len(view.full_detail_steps)),
        "started": str(meta.get("started") or ""),
        "ended": str(meta.get("ended") or ""),
        "folder": str(diagnosis.folder),
        "counts": counts,
        "numbers": {k: (_num(v) if isinstance(v, float) else v)
                    for k, v in diagnosis.numbers.items()},
        "job": diagnosis.job,
    }


def _finding_card(index: int, f: Mapping[str, Any]) -> dict[str, Any]:
    """What the template shows of a finding; evidence flattened to readable text."""
    return {
        "id": f"finding-{index}",
        "kind": f["kind"],
        "severity": f["severity"],
        "step": f["step"],
        "summary": f["summary"],
        "where": f["where"],
        "evidence": [(str(k), _evidence_text(v)) for k, v in f["evidence"].items()],
        "fixes": f["fixes"],
    }


def _evidence_text(value: Any, limit: int = 8) -> str:
    if isinstance(value, Mapping):
        items = list(value.items())
        text = ", ".join(f"{k}: {_evidence_text(v)}" for k, v in items[:limit])
        return text + (f", … ({len(items)} in all)" if len(items) > limit else "")
    if isinstance(value, (list, tuple)):
        text = ", ".join(_evidence_text(v) for v in value[:limit])
        return text + (f", … ({len(value)} in all)" if len(value) > limit else "")
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def _vendor_text(name: str) -> str:
    return resources.files("gradsight.reports").joinpath("vendor", name).read_text("utf-8")


def _template_text(name: str) -> str:
    return resources.files("gradsight.reports").joinpath("templates", name).read_text("utf-8")
