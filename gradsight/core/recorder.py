"""The recorder: the one door from a framework adapter into the core.

An adapter calls five methods and reads the schedule:

- ``describe(ParamInfo | ModuleInfo)``: what a parameter or module is;
- ``steps(first_step, names, rows)``: the always-on tier, rows of ``metrics.step_row_width``
  numbers for consecutive optimizer steps (the loss, then each parameter's ``STEP_METRICS``);
- ``record(step, role, names, metrics, values)``: a detail step's numbers, a matrix of
  ``len(names) x len(metrics)`` (several steps' in bulk: ``step`` a sequence, one matrix each);
- ``histograms(step, role, metric, names, values)``: ``len(names) x metrics.HIST_WIDTH``;
- ``event(step, kind, name, detail)``: something that happened once (``adapter_error``, ...);
- ``schedule.detail(step)`` / ``schedule.histogram(step)``: what to measure at a step.

``values`` may still be on an accelerator: anything with ``ready()`` and ``numpy()`` is kept
until ``ready()`` says its copy to the host has finished (the adapter started it without
waiting), so the training thread never waits on the device for statistics. Items are taken in
the order they came, when a later call finds them ready, or all at ``flush``/``close``.

Rows wait in the recorder (to be written as chunks) at most ``WRITE_S``: a timer thread takes
in finished copies and writes what is due even while the training thread is busy in one long
step, an evaluation or a checkpoint, and then asks the store to commit. So a ``kill -9`` loses
what the adapter still held (at most ``FLUSH_S`` on an accelerator, under Keras, of torch's
stability taps; no always-on row on a CPU) plus ``WRITE_S`` + ``TICK_S``: see ``tests/faults``.

The recorder also decides, from the always-on rows as they arrive, what the schedule cannot
know in advance: a value that leaves its band (``trigger``) or turns non-finite forces detail
on the next steps; and which chunks of the always-on tier are stored in full (the first
``FULL_STEPS`` steps, and every chunk near a forced window) or as summaries (min, max, mean).
"""

from __future__ import annotations

import contextlib
import warnings
import math
import os
import threading
import time
import weakref
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Protocol, Sequence

import numpy as np

from . import metrics as m
from .records import ModuleInfo, ParamInfo
from .schedule import NONFINITE_STEPS, TRIGGERED_STEPS, Schedule
from .store import RunStore
from .trigger import Band, Silence

FULL_STEPS = 10_000  # every step of every parameter kept in full up to here
CHUNK_STEPS = 64  # steps per stored chunk of the always-on tier
SUMMARY_CHUNKS = 4  # past FULL_STEPS, quiet chunks are summarized this many at a time
FLUSH_S = 0.5  # adapters ship rows from the device at least this often (a host sync)
WRITE_S = 0.2  # rows wait in the recorder at most this long before they go to the store
TICK_S = 0.05  # how often the timer thread looks for rows that are due
MAX_TRIGGER_EVENTS = 1000  # a noisy run keeps its first triggers, not an unbounded list

_M = len(m.STEP_METRICS)
_HEAD = len(m.STEP_ROW_HEAD)
_GRAD = m.STEP_METRICS.index(m.GRAD_NORM)
_WEIGHT = m.STEP_METRICS.index(m.WEIGHT_NORM)
_UPDATE = m.STEP_METRICS.index(m.UPDATE_NORM)
_OPTIMIZED = m.STEP_METRICS.index(m.OPTIMIZED)


class Deferred(Protocol):
    """Numbers whose copy to the host was started but may not have finished."""

    def ready(self) -> bool: ...

    def numpy(self) -> np.ndarray: ...


@dataclass
class _Now:
    values: np.ndarray

    def ready(self) -> bool:
        return True

    def numpy(self) -> np.ndarray:
        return self.values


@dataclass
class _Item:
    kind: str  # "steps", "record", "hist"
    values: Deferred
    args: tuple[Any, ...]


@dataclass
class _Layout:
    """One set of parameter names, in the order their rows hold them."""

    id: int
    names: tuple[str, ...]
    band: Band
    silence: Silence = field(default_factory=Silence)
    rows: list[np.ndarray] = field(default_factory=list)  # (steps, params, metrics)
    first: int | None = None  # step of rows[0][0]
    count: int = 0
    held: list[tuple[int, np.ndarray, bool]] = field(default_factory=list)  # (first, block, full)
    last_write: float = field(default_factory=time.monotonic)


class Recorder:
    """Turns adapter measurements into store rows; owns the schedule's forced windows."""

    def __init__(self, store: RunStore, schedule: Schedule | None = None) -> None:
        self.store = store
        self.schedule = schedule or Schedule()
        self.nonfinite_seen = False
        self.last_step = -1
        self._described: dict[tuple[str, str], Any] = {}
        self._layouts: dict[tuple[str, ...], _Layout] = {}
        self._queue: deque[_Item] = deque()
        self._loss_band = Band(1)
        self._triggers = 0
        self._dead_held: dict[str, int] = {}  # module -> dead windows in a row (DEAD_SUSPECT)
        self._detail_layouts: dict[tuple[tuple[str, ...], tuple[str, ...]], int] = {}
        self._layout_ids = 0
        self._loss_rows: list[tuple[int, float]] = []
        self._last_loss_write = time.monotonic()
        # The training thread and the timer thread both take values in: one at a time.
        self._lock = threading.RLock()
        self._timer: threading.Thread | None = None
        self._stopped = threading.Event()
        if hasattr(os, "register_at_fork"):  # a forked child must not inherit a held lock
            me = weakref.ref(self)
            os.register_at_fork(after_in_child=lambda: _forked(me()))

    # -- the door -------------------------------------------------------------------------
    def describe(self, info: ParamInfo | ModuleInfo) -> None:
        """Declare a parameter or module; written again only when what is known changes."""
        role = "param" if isinstance(info, ParamInfo) else "module"
        key = (role, info.name)
        with self._lock:
            if self._described.get(key) != info:
                self._described[key] = info
                self.store.add_entities([(role, info.name, info.order, info.as_info())])

    def steps(self, first_step: int, names: Sequence[str], rows: Any) -> None:
        """Always-on rows for steps ``first_step, first_step + 1, ...``."""
        with self._lock:
            self._queue.append(_Item("steps", _deferred(rows), (first_step, tuple(names))))
            self.poll()
        if self._timer is None:
            self._start_timer()

    def record(self, step: int | Sequence[int], role: str, names: Sequence[str],
               metrics: Sequence[str], values: Any) -> None:
        """Detail numbers: ``values[i][j]`` is ``metrics[j]`` of ``names[i]`` (per step, bulk)."""
        steps = (int(step),) if isinstance(step, (int, np.integer)) else tuple(map(int, step))
        if names and steps:
            with self._lock:
                self._queue.append(_Item("record", _deferred(values),
                                         (steps, role, tuple(names), tuple(metrics))))
                self.poll()

    def histograms(self, step: int, role: str, metric: str, names: Sequence[str],
                   values: Any) -> None:
        """Rows of ``[lo, hi, counts...]`` (``metrics.HIST_WIDTH`` numbers) per name."""
        if names:
            with self._lock:
                self._queue.append(_Item("hist", _deferred(values), (step, role, metric,
                                                                     tuple(names))))

    def event(self, step: int, kind: str, name: str, detail: dict[str, Any]) -> None:
        self.store.add_event(step, kind, name, dict(detail))

    def error(self, part: str, exc: BaseException, step: int | None = None) -> None:
        """An exception inside gradsight's own watching: recorded, never raised."""
        self.event(self.last_step if step is None else step, "adapter_error", part,
                   {"error": f"{type(exc).__name__}: {exc}"})

    # -- taking values in -----------------------------------------------------------------
    def poll(self) -> None:
        """Take in the queued values whose copies have finished, in order."""
        with self._lock:
            while self._queue and self._queue[0].values.ready():
                self._take(self._queue.popleft())
            self._write_due(force=False)

    def flush(self) -> None:
        """Take in everything queued (waiting for its copies) and hand it all to the store."""
        with self._lock:
            while self._queue:
                self._take(self._queue.popleft())
            self._write_due(force=True)

    def close(self) -> None:
        self._stopped.set()
        if self._timer is not None and self._timer is not threading.current_thread():
            self._timer.join(timeout=5)
        self.flush()

    # -- writing by time ------------------------------------------------------------------
    def _start_timer(self) -> None:
        with self._lock:
            if self._timer is None and not self._stopped.is_set():
                self._timer = threading.Thread(target=self._tick, name="gradsight-recorder",
                                               daemon=True)
                self._timer.start()

    def _tick(self) -> None:
        """Write rows that are due although no new step came (a long step, an evaluation)."""
        while not self._stopped.wait(TICK_S) and not self.store.closed:
            try:
                self.poll()
            except Exception as exc:  # noqa: BLE001 - the timer must never take training down
                with contextlib.suppress(Exception):
                    self.error("recorder_timer", exc)
                return

    def _take(self, item: _Item) -> None:
        values = np.asarray(item.values.numpy(), dtype=np.float64)
        if item.kind == "steps":
            self._take_steps(*item.args, values)
        elif item.kind == "record":
            steps, role, names, metrics = item.args
            values = values.reshape(len(steps), len(names), len(metrics))
            layout = self._detail_layout(names, metrics)
            self.store.add_detail(steps, role, layout, values, m.exact_columns(metrics))
            self.last_step = max(self.last_step, *steps)
            for one, block in zip(steps, values) if role == "module" else ():
                self._confirm_dead(one, names, metrics, block)
        else:
            step, role, metric, names = item.args
            values = values.reshape(len(names), m.HIST_WIDTH)
            self.store.add_hists([(step, role, n, metric, row[0], row[1], row[2:])
                                  for n, row in zip(names, values)])

    def _take_steps(self, first: int, names: tuple[str, ...], rows: np.ndarray) -> None:
        layout = self._layout(names)
        rows = rows.reshape(-1, m.step_row_width(len(names)))
        seen, losses = rows[:, 0] > 0.5, rows[:, 1]
        per_param = rows[:, _HEAD:].reshape(len(rows), len(names), _M)
        for i in range(len(rows)):
            loss = float(losses[i]) if seen[i] else None
            self._watch_step(first + i, loss, per_param[i], layout)
            if loss is not None:
                self._loss_rows.append((first + i, loss))
        if layout.first is None or layout.first + layout.count != first:
            self._end_chunk(layout)  # a gap: steps are only ever appended in order
            layout.first = first
        layout.rows.append(per_param)
        layout.count += len(rows)
        self.last_step = max(self.last_step, first + len(rows) - 1)
        if layout.count >= CHUNK_STEPS:
            self._end_chunk(layout)

    def _watch_step(self, step: int, loss: float | None, params: np.ndarray,
                    layout: _Layout) -> None:
        """Non-finite values and band triggers of one step: detail on the next steps."""
        grads = params[:, _GRAD]
        broken = loss is not None and not math.isfinite(loss)
        optimized = params[:, _OPTIMIZED] > 0.5
        broken = broken or bool((optimized & ~np.isfinite(params[:, _WEIGHT])).any())
        if broken and not self.nonfinite_seen:  # NaN gradients alone: a skipped AMP step
            self.nonfinite_seen = True
            self.schedule.force(step + 1, NONFINITE_STEPS)
            self.event(step, "nonfinite", "", {"loss": loss})
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = params[:, _UPDATE] / params[:, _WEIGHT]
        fired = layout.band.update(np.concatenate([grads, ratio]))
        loss_fired = loss is not None and bool(self._loss_band.update(np.array([loss]))[0])
        silent = layout.silence.update(grads)
        if (fired.any() or loss_fired or silent) and not self.schedule.forced(step + 1):
            self.schedule.force(step + 1, TRIGGERED_STEPS)
            if self._triggers < MAX_TRIGGER_EVENTS:
                self._triggers += 1
                n = len(layout.names)
                series = (["loss"] if loss_fired else []) + ["gradients_silent"] * silent + [
                    f"{m.GRAD_NORM}:{layout.names[i]}" for i in np.nonzero(fired[:n])[0][:8]
                ] + [f"update_ratio:{layout.names[i]}" for i in np.nonzero(fired[n:])[0][:8]]
                self.event(step, "trigger", series[0], {"series": series})

    def _confirm_dead(self, step: int, names: tuple[str, ...], metrics: tuple[str, ...],
                      values: np.ndarray) -> None:
        """A layer that looks dead at one detail step gets a window of detail right after it
        (``metrics.DEAD_SUSPECT``), so that its death is confirmed where it is first seen
        rather than a few scheduled steps (hundreds of steps) later."""
        if m.DEAD_FRAC_WINDOW in metrics:
            column = values[:, metrics.index(m.DEAD_FRAC_WINDOW)]
            for name, v in zip(names, column):
                held = bool(np.isfinite(v) and v >= m.DEAD_SUSPECT)
                self._dead_held[name] = self._dead_held.get(name, 0) + 1 if held else 0
        if m.DEAD_FRAC not in metrics:
            return
        column = values[:, metrics.index(m.DEAD_FRAC)]
        for name, v in zip(names, column):
            if np.isfinite(v) and v >= m.DEAD_SUSPECT and \
                    self._dead_held.get(name, 0) < m.DEAD_CONFIRMATIONS and \
                    not self.schedule.forced(step + 1):
                self.schedule.force(step + 1, m.DEAD_WINDOW)
                return

    # -- writing the always-on tier -------------------------------------------------------
    def _layout(self, names: tuple[str, ...]) -> _Layout:
        layout = self._layouts.get(names)
        if layout is None:
            layout = _Layout(self._new_layout_id(), names, Band(2 * len(names)))
            self._layouts[names] = layout
            self.store.add_layout(layout.id, names, m.STEP_METRICS)
        return layout

    def _detail_layout(self, names: tuple[str, ...], metrics: tuple[str, ...]) -> int:
        """The store's id of a detail record's (names, metrics), declared once."""
        key = (names, metrics)
        known = self._detail_layouts.get(key)
        if known is None:
            known = self._detail_layouts[key] = self._new_layout_id()
            self.store.add_layout(known, names, metrics)
        return known

    def _new_layout_id(self) -> int:
        self._layout_ids += 1
        return self._layout_ids - 1

    def _end_chunk(self, layout: _Layout) -> None:
        """Close the rows gathered so far into a chunk, held until it can be judged."""
        if layout.rows and layout.first is not None:
            block = np.concatenate(layout.rows)
            full = layout.first < FULL_STEPS or any(
                self.schedule.forced(s) for s in range(layout.first, layout.first + len(block)))
            layout.held.append((layout.first, block, full))
        layout.rows, layout.first, layout.count = [], None, 0

    def _write_due(self, force: bool) -> None:
        now = time.monotonic()
        wrote = False
        if self._loss_rows and (force or now - self._last_loss_write >= WRITE_S):
            self.store.add_losses(self._loss_rows)
            self._loss_rows, self._last_loss_write = [], now
            wrote = True
        for layout in self._layouts.values():
            due = force or now - layout.last_write >= WRITE_S
            if due:
                self._end_chunk(layout)
            held = layout.held
            if held and (due or len(held) >= SUMMARY_CHUNKS or any(h[2] for h in held)):
                self._write_held(layout)
                layout.last_write = now
                wrote = True
        if wrote and not force:
            self.store.commit()  # on disk now, not at the store's next interval

    def _write_held(self, layout: _Layout) -> None:
        """Full chunks as they are, with the chunk before each (the lead-up to what made it
        full); runs of quiet chunks as one summary each."""
        held = layout.held
        full = [h[2] or (i + 1 < len(held) and held[i + 1][2]) for i, h in enumerate(held)]
        quiet: list[tuple[int, np.ndarray]] = []
        for (first, block, _), keep in zip(held, full):
            if keep:
                if quiet:
                    self._write_summary(layout, quiet)
                    quiet = []
                self.store.add_param_steps(first, len(block), layout.id, False, block)
            else:
                quiet.append((first, block))
        if quiet:
            self._write_summary(layout, quiet)
        layout.held = []

    def _write_summary(self, layout: _Layout, chunks: list[tuple[int, np.ndarray]]) -> None:
        block = np.concatenate([b for _, b in chunks])
        with np.errstate(all="ignore"), _quiet():  # all-NaN slices: metrics a param lacks
            stats = np.stack([np.nanmin(block, 0), np.nanmax(block, 0), np.nanmean(block, 0)])
        self.store.add_param_steps(chunks[0][0], len(block), layout.id, True, stats)


def _forked(recorder: "Recorder | None") -> None:
    """In a forked child: a fresh lock and no timer (the parent's thread is not there; the
    child's own watching, if any, starts its own recorder)."""
    if recorder is not None:
        recorder._lock = threading.RLock()
        recorder._timer = None
        recorder._stopped = threading.Event()
        recorder._stopped.set()


@contextlib.contextmanager
def _quiet() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def _deferred(values: Any) -> Deferred:
    if hasattr(values, "ready") and hasattr(values, "numpy"):
        return values  # type: ignore[no-any-return]
    return _Now(np.asarray(values, dtype=np.float64))
