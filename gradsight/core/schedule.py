"""Which optimizer steps get the detail tier (activations, dead units, histograms, exact norms).

Every step gets the always-on tier (``metrics.STEP_METRICS``); detail costs more, so it goes to:

- the dense start, steps 0..DENSE_START-1, where initialization problems show and are cheapest
  to localize;
- one step in ``every`` (DEFAULT_EVERY by default): a detail step costs about as much as a
  plain step on a 2-core CPU, so one in 100 keeps it under 1%;
- forced windows: the steps after the always-on tier saw a series leave its band (``trigger``,
  TRIGGERED_STEPS of them) and the steps after the first non-finite value (NONFINITE_STEPS).

The schedule is a pure function of the step plus the forced windows, so an adapter that
decides detail inside a compiled graph (Keras) asks it for a ``mask`` of the coming steps
instead of re-implementing it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

DENSE_START = 10
DEFAULT_EVERY = 100
TRIGGERED_STEPS = 8  # detail steps after a trigger: the anomaly's first steps, layer by layer
NONFINITE_STEPS = 100  # after the first NaN/Inf, every step for this long (where it spreads)
# Histograms (the report's distribution views) on one scheduled detail step in HIST_EVERY, and
# no more often than every HIST_MIN_GAP steps: histograms of a 3M-parameter MLP cost ~25% of a
# plain step on a loaded 2-core CPU, and a distribution changes slowly. Default schedule:
# steps 0, 5, then one in 500; every=1: one step in 50.
HIST_EVERY = 5
HIST_MIN_GAP = 50


@dataclass
class Schedule:
    """Which steps get detail.

    >>> s = Schedule(); s.detail(3), s.detail(51), Schedule(every=1).detail(51)
    (True, False, True)
    >>> s.force(51, 2); s.detail(51), s.detail(52), s.detail(53)
    (True, True, False)
    """

    every: int | None = None
    windows: list[tuple[int, int]] = field(default_factory=list)  # forced [start, end)

    def __post_init__(self) -> None:
        if self.every is not None and self.every < 1:
            raise ValueError(f"every must be a positive number of steps, got {self.every}")

    def scheduled(self, step: int) -> bool:
        """The regular part: dense start and one step in ``every``."""
        if self.every is not None:
            return step % self.every == 0
        return step < DENSE_START or step % DEFAULT_EVERY == 0

    def forced(self, step: int) -> bool:
        return any(start <= step < end for start, end in self.windows)

    def detail(self, step: int) -> bool:
        return self.scheduled(step) or self.forced(step)

    def histogram(self, step: int) -> bool:
        """Whether a scheduled step also gets histograms: every HIST_EVERY-th scheduled one (by
        its rank among scheduled steps, so it is a pure function of the step), at least
        HIST_MIN_GAP steps apart after the dense start."""
        if self.every is not None:
            gap = self.every * max(HIST_EVERY, -(-HIST_MIN_GAP // self.every))
            return step % gap == 0
        if step < DENSE_START:
            rank: int | None = step
        else:
            rank = DENSE_START - 1 + step // DEFAULT_EVERY if step % DEFAULT_EVERY == 0 else None
        return rank is not None and rank % HIST_EVERY == 0

    def force(self, start: int, count: int = 1) -> None:
        """Detail for steps ``start .. start + count - 1`` (merged with an overlapping window)."""
        end = start + max(count, 1)
        if self.windows and self.windows[-1][0] <= start <= self.windows[-1][1]:
            last = self.windows[-1]
            self.windows[-1] = (last[0], max(last[1], end))
        else:
            self.windows.append((start, end))
            if len(self.windows) > 4096:  # keep the check cheap on a run that triggers a lot
                self.windows = self.windows[-2048:]

    def mask(self, start: int, count: int) -> np.ndarray:
        """``detail`` for ``count`` steps from ``start``, as a boolean array."""
        steps = np.arange(start, start + count)
        if self.every is not None:
            out = steps % self.every == 0
        else:
            out = (steps < DENSE_START) | (steps % DEFAULT_EVERY == 0)
        for lo, hi in self.windows:
            if hi > start and lo < start + count:
                out[max(lo - start, 0):min(hi - start, count)] = True
        return out
