"""The run's clock: which optimizer's steps are the run's steps (its losses, its layer outputs).

The first optimizer to step is the clock. Training in phases hands it on:

- the clock's optimizer is gone (garbage-collected: a ``train(model)`` function that makes its
  own optimizer, called for a teacher and then for a student, as the knowledge-distillation
  tutorial does): the next optimizer to step is the clock, and counts on from the run's step;
- an optimizer that first steps once the run has taken steps (a fine-tuning phase with a new
  optimizer, a second model trained after the first) counts its steps on from the run's, and
  becomes the clock when it steps twice with no step of the clock between: the clock is idle.
  An auxiliary optimizer that steps now and then between the clock's steps never does, and a
  GAN's other player, which starts with the first, counts from 0 beside it.

Before, a second phase was not watched at all once its predecessor's optimizer was gone (the
distillation tutorial's student: 45 of 75 steps missing, read as backward calls with no step).
"""

from __future__ import annotations

import weakref
from typing import Any

LATE = 1  # an optimizer that first steps after this many run steps starts a phase


class RunClock:
    def __init__(self) -> None:
        self._ref: "weakref.ref[Any] | None" = None
        self._last: int | None = None  # id of the optimizer that stepped last
        self._late: set[int] = set()  # ids of optimizers that began after the run had

    def is_clock(self, optimizer: Any) -> bool:
        return self._ref is not None and self._ref() is optimizer

    def first_steps(self, optimizer: Any, run_step: int) -> int:
        """An optimizer is about to step for the first time: the step its count starts at."""
        if self._ref is None or self._ref() is None:
            self._ref = weakref.ref(optimizer)
            return run_step
        if run_step > LATE:
            self._late.add(id(optimizer))
            return run_step
        return 0

    def stepping(self, optimizer: Any) -> None:
        """An optimizer steps (before its statistics): it takes the clock if the clock idles."""
        if not self.is_clock(optimizer) and self._last == id(optimizer) and \
                id(optimizer) in self._late:
            self._ref = weakref.ref(optimizer)

    def stepped(self, optimizer: Any) -> None:
        self._last = id(optimizer)
