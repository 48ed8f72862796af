"""``--tensorboard LOGDIR``: the run's numbers as TensorBoard scalars and histograms.

Exported from the store when the run ends, not written during training: no cost on the hot
path, and the same export works for any stored run. Written with TensorBoard's own event
writer (through ``torch.utils.tensorboard.SummaryWriter``), so the files open in TensorBoard next
to the user's other logs. Every tag starts with ``gradsight/`` so it never collides with theirs.

Tags: ``gradsight/loss``; per parameter ``gradsight/grad_norm/NAME``,
``gradsight/grad_to_weight/NAME``, ``gradsight/update_to_weight/NAME``; per module
``gradsight/act_std/NAME``, ``gradsight/dead_frac/NAME``, ``gradsight/saturated_frac/NAME``;
histograms ``gradsight/weights/NAME``, ``gradsight/grads/NAME``, ``gradsight/activations/NAME``
(NAME through ``text.inert``: a tag never carries a control character).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ..core.diagnosis import open_view
from ..core.run_view import Histograms, Series
from ..core.series import ratio_series
from .text import inert

PREFIX = "gradsight/"


def export_tensorboard(folder: str | Path, logdir: str | Path) -> Path:
    """Write the stored run in ``folder`` as TensorBoard event files into ``logdir``."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as exc:  # torch or tensorboard missing
        raise RuntimeError(
            f"--tensorboard needs the tensorboard package ({exc}); pip install tensorboard"
        ) from exc
    out = Path(logdir)
    out.mkdir(parents=True, exist_ok=True)
    view, opened = open_view(folder)  # a job: rank 0's view of it
    writer = SummaryWriter(log_dir=str(out))
    try:
        loss = view.loss
        for step, value in zip(loss.steps.tolist(), loss.values.tolist()):
            if math.isfinite(value):
                writer.add_scalar(PREFIX + "loss", value, step)
        grad = view.metric("param", "grad_norm")
        weight = view.metric("param", "weight_norm")
        _scalars(writer, "grad_norm", grad)
        _scalars(writer, "grad_to_weight", ratio_series(grad, weight))
        _scalars(writer, "update_to_weight", ratio_series(view.metric("param", "update_norm"), weight))
        _scalars(writer, "act_std", view.metric("module", "act_std"))
        _scalars(writer, "dead_frac", view.metric("module", "dead_frac"))
        _scalars(writer, "saturated_frac", view.metric("module", "act_saturated_frac"))
        _histograms(writer, "weights", view.histograms("param", "weight"))
        _histograms(writer, "grads", view.histograms("param", "grad"))
        _histograms(writer, "activations", view.histograms("module", "act"))
    finally:
        writer.close()
        opened.close()
    return out


def export_or_warn(folder: str | Path, logdir: str | Path) -> Path | None:
    """``export_tensorboard``; a failure is a warning on stderr, never a lost run."""
    try:
        return export_tensorboard(folder, logdir)
    except Exception as exc:  # noqa: BLE001 - the findings are already written
        print(f"gradsight: could not write TensorBoard logs to {logdir}: "
              f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return None


def _scalars(writer: Any, metric: str, series: Mapping[str, Series]) -> None:
    for name, s in series.items():
        tag = f"{PREFIX}{metric}/{inert(name)}"
        for step, value in zip(s.steps.tolist(), s.values.tolist()):
            if math.isfinite(value):
                writer.add_scalar(tag, value, step)


def _histograms(writer: Any, metric: str, tables: Mapping[str, Histograms]) -> None:
    for name, h in tables.items():
        tag = f"{PREFIX}{metric}/{inert(name)}"
        for i, step in enumerate(h.steps.tolist()):
            lo, hi, counts = float(h.lo[i]), float(h.hi[i]), h.counts[i]
            total = float(counts.sum())
            if not (math.isfinite(lo) and math.isfinite(hi)) or total <= 0:
                continue
            edges = np.linspace(lo, hi, len(counts) + 1)
            if hi == lo:  # a constant tensor: one bucket ending at its value
                edges = np.full(len(counts) + 1, lo)
            centers = (edges[:-1] + edges[1:]) / 2
            writer.add_histogram_raw(
                tag, min=lo, max=hi, num=total,
                sum=float((centers * counts).sum()),
                sum_squares=float((centers * centers * counts).sum()),
                bucket_limits=edges[1:].tolist(), bucket_counts=counts.tolist(),
                global_step=step,
            )
