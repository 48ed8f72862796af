"""The recorder: the only door from a framework adapter into the core.

Adapters hand it numbers in two ways:

- ``record(step, role, name, stats)`` with plain Python floats, and
- ``defer(keys, values)`` with a device-side vector (anything with ``.tolist()``) whose host
  copy is taken only when the *next* batch arrives, or at ``close``. By then the device has long
  finished computing it, so the training thread never waits on a device sync for statistics.

A histogram travels the same deferred path: its ``HIST_BINS + 2`` numbers ``[lo, hi, counts...]``
under one key repeated, whose role is ``hist_role(role)``; the recorder reassembles it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Protocol, Sequence

from .store import HistRow, RunStore, StatRow

LOSS_ROLE = "loss"

# Default cadence: every step at first, when initialization problems show and when they are
# cheapest to localize, then one step in DEFAULT_EVERY: a recorded step costs ~0.6-0.8 of a
# plain step on a 2-core CPU (benchmarks/overhead.py), so 1 in 100 keeps watching under 1%.
DENSE_START = 10
DEFAULT_EVERY = 100
# Histograms (the report's distribution views) on one recorded step in HIST_EVERY, and no more
# often than every HIST_MIN_GAP steps: the histograms of a 3M-parameter MLP (weights, gradients,
# activations) cost ~25% of a plain step on a loaded 2-core CPU, ~0.5% spread over 50 steps, and
# a distribution changes slowly. Default schedule: steps 0, 5, then one in 500; --every 1: one
# step in 50.
HIST_EVERY = 5
HIST_MIN_GAP = 50
HIST_BINS = 30
_HIST_PREFIX = "hist:"


def hist_role(role: str) -> str:
    """The key role under which a histogram of a ``role`` entity is deferred."""
    return _HIST_PREFIX + role


class SupportsToList(Protocol):
    def tolist(self) -> Any: ...


Key = tuple[int, str, str, str]  # (step, role, name, metric); role "loss" for losses


@dataclass
class Schedule:
    """Which optimizer steps get full statistics.

    >>> Schedule().is_recorded(3), Schedule().is_recorded(51), Schedule(every=1).is_recorded(51)
    (True, False, True)
    """

    every: int | None = None
    forced: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        if self.every is not None and self.every < 1:
            raise ValueError(f"every must be a positive number of steps, got {self.every}")

    def is_recorded(self, step: int) -> bool:
        if step in self.forced:
            return True
        if self.every is not None:
            return step % self.every == 0
        return step < DENSE_START or step % DEFAULT_EVERY == 0

    def is_histogram(self, step: int) -> bool:
        """Whether a recorded step also gets histograms: every HIST_EVERY-th scheduled one
        (by its rank among scheduled steps, so it is a pure function of the step), at least
        HIST_MIN_GAP steps apart after the dense start."""
        if self.every is not None:
            gap = self.every * max(HIST_EVERY, -(-HIST_MIN_GAP // self.every))
            return step % gap == 0
        if step < DENSE_START:
            rank = step
        else:
            rank = DENSE_START - 1 + step // DEFAULT_EVERY if step % DEFAULT_EVERY == 0 else None
        return rank is not None and rank % HIST_EVERY == 0

    def force(self, step: int) -> None:
        self.forced.add(step)


class Recorder:
    """Turns adapter measurements into store rows; owns the schedule."""

    def __init__(self, store: RunStore, schedule: Schedule | None = None) -> None:
        self.store = store
        self.schedule = schedule or Schedule()
        self.nonfinite_seen = False
        self.last_step = -1
        self._pending: list[tuple[list[Key], SupportsToList]] = []
        self._incoming: list[tuple[list[Key], SupportsToList]] = []
        self._described: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}

    def wants(self, step: int) -> bool:
        return self.schedule.is_recorded(step)

    def wants_histogram(self, step: int) -> bool:
        return self.schedule.is_histogram(step)

    def describe(self, role: str, name: str, order: int, info: Mapping[str, Any]) -> None:
        """Declare a parameter or module; written again only when what is known changes."""
        key = (role, name)
        value = (order, dict(info))
        if self._described.get(key) != value:
            self._described[key] = value
            self.store.add_entities([(role, name, order, dict(info))])

    def record(self, step: int, role: str, name: str, stats: Mapping[str, float]) -> None:
        self.last_step = max(self.last_step, step)
        self.store.add_stats([(step, role, name, m, float(v)) for m, v in stats.items()])

    def record_rows(self, rows: Sequence[StatRow]) -> None:
        """Many ``(step, role, name, metric, value)`` rows of plain numbers at once."""
        if rows:
            self.last_step = max(self.last_step, max(r[0] for r in rows))
            self.store.add_stats(rows)

    def loss(self, step: int, value: float) -> None:
        self.last_step = max(self.last_step, step)
        self.store.add_losses([(step, float(value))])

    def defer(self, keys: Sequence[Key], values: SupportsToList) -> None:
        """Queue device values for ``keys`` (one call per device); see ``end_batch``."""
        if keys:
            self._incoming.append((list(keys), values))

    def end_batch(self) -> None:
        """Close the batch of one recorded step: the *previous* batch is converted now."""
        self.convert_pending()
        self._pending, self._incoming = self._incoming, []

    def event(self, step: int, kind: str, name: str, detail: Mapping[str, Any]) -> None:
        self.store.add_event(step, kind, name, dict(detail))

    def convert_pending(self) -> None:
        pending, self._pending = self._pending, []
        for keys, values in pending:
            self._convert(keys, values.tolist())

    def _convert(self, keys: list[Key], numbers: list[float]) -> None:
        if len(numbers) != len(keys):
            raise ValueError(f"deferred batch has {len(numbers)} values for {len(keys)} keys")
        stats: list[StatRow] = []
        losses: list[tuple[int, float]] = []
        hists: list[HistRow] = []
        i = 0
        while i < len(keys):
            step, role, name, metric = keys[i]
            if role.startswith(_HIST_PREFIX):  # [lo, hi, counts...] under one repeated key
                end = i + HIST_BINS + 2
                lo, hi, *counts = numbers[i:end]
                hists.append((step, role[len(_HIST_PREFIX):], name, metric, lo, hi, counts))
                i = end
                continue
            value = float(numbers[i])
            i += 1
            if not math.isfinite(value) and metric in _FINITE_EXPECTED:
                self._on_nonfinite()
            self.last_step = max(self.last_step, step)
            if role == LOSS_ROLE:
                losses.append((step, value))
            else:
                stats.append((step, role, name, metric, value))
        self.store.add_stats(stats)
        self.store.add_losses(losses)
        if hists:
            self.store.add_hists(hists)

    def _on_nonfinite(self) -> None:
        # Record the very next step in full: its activations show where the values break.
        if not self.nonfinite_seen:
            self.nonfinite_seen = True
            self.schedule.force(self.last_step + 1)

    def close(self) -> None:
        self.end_batch()
        self.convert_pending()


# Metrics whose non-finite value means the numbers broke (a "nonfinite" count of 0 is fine).
_FINITE_EXPECTED = frozenset({"value", "grad_norm", "weight_norm", "update_norm", "act_std"})
