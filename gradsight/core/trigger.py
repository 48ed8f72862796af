"""When the always-on tier should call for detail: a series that leaves its running band.

The rule, per series (the loss, each parameter's gradient norm and update/weight ratio), on the
log of the value (these numbers are positive and span decades, and a spike is a *ratio*):

- the band is an exponential moving average of the log value (time constant ~``1/ALPHA`` = 32
  steps) and of its absolute deviation from that average (a robust spread: one spike moves it
  little);
- a value is out of band when it is at least ``Z`` deviations above the average *and* at least
  ``MIN_JUMP`` times the average's value. ``Z`` = 6 is the z-score OLMo-core skips a step at; the
  ``MIN_JUMP`` floor keeps a very steady series (deviation near 0) from firing on a wiggle;
- only upward jumps count (a loss or gradient that suddenly falls is no alarm), and not before
  ``WARMUP`` steps of the series have been seen (the first steps of training move fast);
- an out-of-band value enters the band clipped to its edge, so a spike does not widen the band
  for the steps after it, while a lasting new level is followed within ~32 steps.

One more trigger is no band: every gradient of the model exactly 0 at a step after one that
had any other value (``Silence``). A model whose output went constant (its output unit died, a
whole layer is dead) has that at once; bands see only upward jumps, and its death would wait
for the next scheduled detail step (a hundred steps later) to be seen.

A trigger only asks for detail on the next steps (``schedule.TRIGGERED_STEPS``); what it means
is for the detectors to say, from the stored every-step series.
"""

from __future__ import annotations

import math

import numpy as np

ALPHA = 1.0 / 32
Z = 6.0
MIN_JUMP = 4.0
WARMUP = 16
_LOG_JUMP = math.log(MIN_JUMP)
_MAD_TO_SIGMA = 1.25  # mean absolute deviation x 1.25 ~ the standard deviation (normal)


class Band:
    """Running bands of ``n`` positive series at once (one entry per series).

    >>> band = Band(1)
    >>> [bool(band.update(np.array([1.0 + 0.01 * (i % 3)]))[0]) for i in range(20)][-1]
    False
    >>> bool(band.update(np.array([50.0]))[0])
    True
    """

    def __init__(self, n: int) -> None:
        self.mean = np.zeros(n)
        self.dev = np.zeros(n)
        self.seen = np.zeros(n, dtype=np.int64)

    def update(self, values: np.ndarray) -> np.ndarray:
        """Fold in one step's values; returns which entries were above their band."""
        with np.errstate(divide="ignore", invalid="ignore"):
            logs = np.log(np.asarray(values, dtype=np.float64))
        ok = np.isfinite(logs)
        first = ok & (self.seen == 0)
        self.mean[first] = logs[first]
        diff = np.where(ok, logs - self.mean, 0.0)
        limit = np.maximum(Z * _MAD_TO_SIGMA * self.dev, _LOG_JUMP)
        out = ok & (self.seen >= WARMUP) & (diff > limit)
        clipped = np.where(out, limit, diff)
        step = ok & ~first
        self.mean[step] += ALPHA * clipped[step]
        self.dev[step] += ALPHA * (np.abs(clipped[step]) - self.dev[step])
        self.seen[ok] += 1
        return out

    def resize(self, n: int) -> None:
        """A new set of series (the parameters changed): start their bands again."""
        if n != len(self.mean):
            self.__init__(n)  # type: ignore[misc]


class Silence:
    """Whether the gradients just went silent: all exactly 0 (the finite ones, at least one),
    where the step before had some other value."""

    def __init__(self) -> None:
        self.alive = False

    def update(self, grads: np.ndarray) -> bool:
        finite = grads[np.isfinite(grads)]
        if not finite.size:
            return False
        silent = not bool((finite != 0).any())
        fired, self.alive = silent and self.alive, not silent
        return fired
