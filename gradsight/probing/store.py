"""A probe's measurements as a one-step run in a real store, judged by the real detectors.

The probe measures one forward and backward pass at initialization (``measure``/``keras``); this
writes it as step 0 of a run (the always-on row: which parameters got a gradient, the
gradient and weight norms; the detail values: each layer's output statistics and the weights
before any update) and diagnoses it with ``core.diagnosis``, exactly as a watched run is. So
``gradsight probe`` and ``gradsight run`` cannot disagree on what they both see: there is one
diagnosis engine, and the probe is a run of one step.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Sequence

import numpy as np

from ..core import metrics as m
from ..core import records
from ..core.diagnosis import Diagnosis, diagnose_folder
from ..core.finding import Finding
from ..core.records import ModuleInfo, ParamInfo
from ..core.recorder import Recorder
from ..core.store import RunStore
from .layer_stats import LayerStats, ParamStats


def diagnose_profile(layers: Sequence[LayerStats], params: Sequence[ParamStats],
                     loss: float | None, framework: str, api: str, owner: str | None = None,
                     folder: str | Path | None = None) -> Diagnosis:
    """The diagnosis of one measured pass (kept in ``folder`` if given, else discarded)."""
    if folder is not None:
        return _diagnose(Path(folder), layers, params, loss, framework, api, owner)
    with tempfile.TemporaryDirectory(prefix="gradsight-probe-") as tmp:
        return _diagnose(Path(tmp) / "probe", layers, params, loss, framework, api, owner)


def profile_findings(layers: Sequence[LayerStats], params: Sequence[ParamStats],
                     loss: float | None, framework: str, api: str,
                     owner: str | None = None) -> list[Finding]:
    return diagnose_profile(layers, params, loss, framework, api, owner).findings


def _diagnose(folder: Path, layers: Sequence[LayerStats], params: Sequence[ParamStats],
              loss: float | None, framework: str, api: str, owner: str | None) -> Diagnosis:
    store = RunStore.create(folder)
    recorder = Recorder(store)
    store.set_meta(mode="probe", framework=framework, api=api, status="probed", steps=0)
    try:
        write_profile(recorder, layers, params, loss, owner)
        recorder.close()
    finally:
        store.close()
    return diagnose_folder(folder, "probed", merge_children=False)


def write_profile(recorder: Recorder, layers: Sequence[LayerStats],
                  params: Sequence[ParamStats], loss: float | None, owner: str | None) -> None:
    """Step 0 of a run, from the probe's numbers."""
    by_name = {layer.name: layer for layer in layers}
    consumers = _consumers(layers)
    producers = {c: p for p, cs in consumers.items() for c in cs}
    for layer in layers:
        recorder.describe(ModuleInfo(
            layer.name, layer.order, layer.type, _kind(layer), layer.activation,
            (producers[layer.name],) if layer.name in producers else (), owner))
    for i, p in enumerate(params):
        layer = by_name.get(p.module or "")
        recorder.describe(ParamInfo(
            p.name, i, p.shape, requires_grad=p.requires_grad, module=p.module,
            module_type=layer.type if layer is not None else None,
            module_kind=_kind(layer) if layer is not None else None,
            followed_by=layer.followed_by if layer is not None else None,
            feeds=tuple(consumers.get(p.module or "", ())), optimized=p.requires_grad,
            fan_in=p.fan_in, is_bias=p.is_bias))
    names = [p.name for p in params]
    row = [1.0 if loss is not None else 0.0, loss if loss is not None else math.nan]
    for p in params:
        got = p.grad_norm is not None
        row += [float(got), p.grad_norm if got else math.nan, math.nan, p.weight_norm,
                math.nan, math.nan, 1.0 if p.requires_grad else 0.0, math.nan]
    recorder.steps(0, names, np.array([row]))
    recorder.record(0, "param", names, (m.WEIGHT_NORM_INIT,), [[p.weight_norm] for p in params])
    rows = [layer for layer in layers if math.isfinite(layer.out_std) or layer.nonfinite]
    recorder.record(0, "module", [layer.name for layer in rows], m.ACT_METRICS, [
        [layer.out_mean, layer.out_std, layer.zero_frac, float(layer.nonfinite),
         layer.saturated_frac or 0.0] for layer in rows])
    dead = [layer for layer in layers if layer.dead_frac is not None]
    recorder.record(0, "module", [layer.name for layer in dead], (m.DEAD_FRAC,),
                    [[layer.dead_frac] for layer in dead])


def _kind(layer: LayerStats) -> str:
    if layer.activation is not None:
        return records.ACTIVATION
    if layer.recurrent:
        return records.RECURRENT
    return records.legacy_kind(layer.type.split("+", 1)[0]) or records.OTHER


def _consumers(layers: Sequence[LayerStats]) -> dict[str, list[str]]:
    """The module that takes each module's output: the next one measured (a probe replays a
    chain; its ``followed_by`` is what it knows of the data flow)."""
    ordered = sorted(layers, key=lambda layer: layer.order)
    return {a.name: [b.name] for a, b in zip(ordered, ordered[1:])}
