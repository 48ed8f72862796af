"""Two-player training (a GAN): optimizers that each step on a loss of their own, one of which is
computed through the other's parameters.

A discriminator's loss is driven toward chance by the generator it is trained against, and the
generator's loss rises whenever the discriminator wins a round: neither loss is meant to fall,
so the loss rules (``loss_not_decreasing``, ``loss_diverging``, ``loss_spike``) do not apply.
The watcher asks this tap two things:

- whose loss each ``backward`` was: the calls since the last optimizer step belong to the
  optimizer that steps next (``stepped`` returns how many), so that in a game the run's loss is
  the clock optimizer's own and not a mean with the other player's (it was: D's and G's losses
  averaged). Outside a game every loss stays the run's (one objective stepped by two
  optimizers, whichever steps first);
- whether it is a game: the first ``CHECKED_LOSSES`` losses' autograd graphs are walked for the
  parameters they reach (their ``AccumulateGrad`` nodes). Two optimizers that each have losses
  of their own, one of them reaching the other's parameters (the generator's loss goes through
  the discriminator), are a game: one ``GAME_EVENT`` event says so. A single objective stepped
  by several optimizers (one backward, then every step) has no second loss; two models trained
  side by side on their own losses never reach each other's parameters.

Not seen: a game whose players hide their parameters from each other's graphs (the
discriminator's ``requires_grad`` switched off during the generator's step *and* the fake
samples detached for the discriminator's): its losses are judged as any run's. Not told apart
from a game: one objective minimized by alternating optimizers, each on a freshly computed loss
(block coordinate descent); its loss rules are left out too.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import torch

from ...core.recorder import Recorder

GAME_EVENT = "adversarial"
CHECKED_LOSSES = 8  # graph walks: the first losses only (a walk visits every node once)


def reached_parameters(loss: torch.Tensor) -> set[int]:
    """ids of the leaf tensors (parameters) ``loss``'s autograd graph accumulates into."""
    out: set[int] = set()
    seen: set[Any] = set()
    stack = [loss.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        variable = getattr(node, "variable", None)
        if variable is not None:
            out.add(id(variable))
        stack.extend(child for child, _ in node.next_functions)
    return out


class GameTap:
    def __init__(self) -> None:
        self.found = False
        self._pending = 0  # backward calls since the last optimizer step
        self._reached: list[set[int]] = []  # their graphs' parameters, while still checking
        self._walks = 0
        self._own: dict[int, set[int]] = {}  # id(optimizer) -> parameters its losses reach
        self._params: dict[int, set[int]] = {}  # id(optimizer) -> its parameters

    @property
    def checking(self) -> bool:
        return not self.found and self._walks < CHECKED_LOSSES

    def saw(self, loss: torch.Tensor) -> None:
        self._pending += 1
        if self.checking and loss.grad_fn is not None:
            self._walks += 1
            self._reached.append(reached_parameters(loss))

    def stepped(self, index: int, params: Callable[[], Sequence[torch.Tensor]],
                recorder: Recorder, step: int) -> int:
        """An optimizer (``index``: its id; watched or not) stepped: how many backward calls
        since the last step were its own."""
        own, self._pending = self._pending, 0
        reached, self._reached = self._reached, []
        if self.found or (not reached and not self.checking):
            return own
        if index not in self._params:
            self._params[index] = {id(p) for p in params()}
        if own and reached:
            self._own.setdefault(index, set()).update(*reached)
        for player, touched in self._own.items():
            for other, theirs in self._params.items():
                if other != player and other in self._own and touched & theirs:
                    self.found = True
                    recorder.event(step, GAME_EVENT, "", {"players": len(self._own)})
                    return own
        return own
