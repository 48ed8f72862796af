"""The detail tier on the steps the schedule picks: layer outputs, dead units, exact weight
norms, non-finite counts and histograms, all computed on the device and handed to the
recorder as ``stats.HostCopy`` values (no host sync).

Layer outputs are measured by a global forward hook that the watcher registers only for detail
steps (any global hook sends every module call down PyTorch's slower hook path). Per module the
calls of one step are averaged (``metrics.ACT_METRICS``); for the ReLU family, which units were
positive for any input of the step, kept over ``metrics.DEAD_WINDOW`` detail steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import torch

from ...core import metrics as m
from ...core.recorder import Recorder
from . import stats


@dataclass
class _Output:
    family: str | None
    total: torch.Tensor | None = None
    calls: int = 0
    active: torch.Tensor | None = None
    sample: torch.Tensor | None = None  # the first call's output, sampled, on histogram steps


class DeadWindows:
    """Which units fired over the last ``metrics.DEAD_WINDOW`` detail steps, per name."""

    def __init__(self) -> None:
        self._windows: dict[str, tuple[torch.Tensor, int]] = {}

    def close(self, name: str, active: torch.Tensor) -> torch.Tensor | None:
        """Add a step's active units; the window's dead fraction when it is complete."""
        seen, count = self._windows.get(name, (active, 0))
        seen = seen | active if seen.shape == active.shape else active
        count += 1
        if count >= m.DEAD_WINDOW:
            self._windows.pop(name, None)
            return 1 - seen.to(stats.F64).mean()
        self._windows[name] = (seen, count)
        return None


class Outputs:
    """Layer outputs seen during one detail step, keyed by id(module)."""

    def __init__(self) -> None:
        self._seen: dict[int, _Output] = {}
        self._windows = DeadWindows()
        self._cut: set[int] = set()  # modules with trainable weights whose output had no grad
        self._said: set[str] = set()

    def add(self, module: torch.nn.Module, family: str | None, output: torch.Tensor,
            histogram: bool) -> None:
        key = id(module)
        acc = self._seen.get(key)
        if acc is None:
            acc = self._seen[key] = _Output(family)
        if not output.requires_grad and any(  # in a training forward: cut off from autograd
                p is not None and p.requires_grad for p in module._parameters.values()):
            self._cut.add(key)
        vector = stats.activation_vector(output, family)
        acc.total = vector if acc.total is None else acc.total + vector
        if acc.calls == 0 and histogram:
            acc.sample = stats.hist_sample(output, copy=True)
        acc.calls += 1
        if family in m.RELU_FAMILY:
            units = stats.active_units(output)
            same = acc.active is not None and acc.active.shape == units.shape
            acc.active = acc.active | units if same else units  # type: ignore[operator]

    def ship(self, step: int, names: dict[int, str], recorder: Recorder) -> None:
        """The step's module rows (and dead units, histograms) to the recorder."""
        rows, row_names, dead, dead_names, window, window_names, samples = [], [], [], [], [], [], []
        for key, acc in self._seen.items():
            name = names.get(key)
            if name is None or acc.total is None:
                continue
            row_names.append(name)
            rows.append(acc.total / acc.calls)
            if acc.active is not None:
                dead_names.append(name)
                dead.append(1 - acc.active.to(stats.F64).mean())
                closed = self._windows.close(name, acc.active)
                if closed is not None:
                    window_names.append(name)
                    window.append(closed)
            if acc.sample is not None:
                samples.append((name, acc.sample))
        if rows:
            recorder.record(step, "module", row_names, m.ACT_METRICS,
                            stats.HostCopy(torch.stack(_on_one_device(rows))))
        if dead:
            recorder.record(step, "module", dead_names, (m.DEAD_FRAC,),
                            stats.HostCopy(torch.stack(_on_one_device(dead))[:, None]))
        if window:
            recorder.record(step, "module", window_names, (m.DEAD_FRAC_WINDOW,),
                            stats.HostCopy(torch.stack(_on_one_device(window))[:, None]))
        histograms(recorder, step, "module", m.HIST_ACT, samples, sampled=True)
        for key in self._cut:  # once per layer: its output carried no gradient
            name = names.get(key)
            if name is not None and name not in self._said:
                self._said.add(name)
                recorder.event(step, m.EVENT_OUTPUT_WITHOUT_GRAD, name, {})
        self._seen.clear()

    def clear(self) -> None:
        self._seen.clear()


def param_norms(recorder: Recorder, step: int, metric: str, names: Sequence[str],
                tensors: Sequence[torch.Tensor]) -> torch.Tensor | None:
    """Exact norms of ``tensors`` as ``metric`` rows; returns them (on the device)."""
    if not tensors:
        return None
    values = stats.norm_vector(tensors)[:, None]
    recorder.record(step, "param", names, (metric,), stats.HostCopy(values))
    return values


def nonfinite_counts(recorder: Recorder, step: int, metric: str, names: Sequence[str],
                     tensors: Sequence[torch.Tensor]) -> None:
    if tensors:
        values = torch.stack(_on_one_device(stats.nonfinite_counts(tensors)))[:, None]
        recorder.record(step, "param", names, (metric,), stats.HostCopy(values))


def histograms(recorder: Recorder, step: int, role: str, metric: str,
               named: Iterable[tuple[str, torch.Tensor]], sampled: bool = False) -> None:
    """Value histograms, all tensors of a device in one batched computation."""
    by_device: dict[torch.device, list[tuple[str, torch.Tensor]]] = {}
    for name, tensor in named:
        sample = tensor if sampled else stats.hist_sample(tensor)
        by_device.setdefault(sample.device, []).append((name, sample))
    for group in by_device.values():
        values = stats.histograms([sample for _, sample in group])
        recorder.histograms(step, role, metric, [n for n, _ in group], stats.HostCopy(values))


def _on_one_device(values: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """Values of several devices (a model split across GPUs) gathered on the first one."""
    device = values[0].device
    return [v.to(device, stats.F64, non_blocking=True) for v in values]
