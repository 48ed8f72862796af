"""Two-player training (a GAN), told from what the adapters see: optimizers that each step on a
loss of their own, one of which is computed through the other's parameters.

A discriminator's loss is driven toward chance by the generator it is trained against, and the
generator's loss rises whenever the discriminator wins a round: neither loss is meant to fall,
so the loss rules (``loss_not_decreasing``, ``loss_diverging``, ``loss_spike``) do not apply.
An adapter tells this tap each loss it sees (with, while the tap is still checking, the
parameters the loss reaches: PyTorch's autograd graph, a Keras tape's watched variables) and
each optimizer step; it answers how many of the losses since the last step were the stepping
optimizer's own, and whether the run is a game. Two optimizers that each have losses of their
own, one of them reaching the other's parameters (the generator's loss goes through the
discriminator), are a game: one ``GAME_EVENT`` event says so. A single objective stepped by
several optimizers has no second loss; two models trained side by side on their own losses never
reach each other's parameters. Only the first ``CHECKED_LOSSES`` losses are looked at: the
players and their graphs are set from the first steps.

Not told apart from a game: one objective minimized by alternating optimizers, each on a freshly
computed loss (block coordinate descent); its loss rules are left out too.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

from .recorder import Recorder

GAME_EVENT = "adversarial"
CHECKED_LOSSES = 8  # the first losses only (a PyTorch graph walk visits every node once)


class GameTap:
    def __init__(self) -> None:
        self.found = False
        self._pending = 0  # losses seen since the last optimizer step
        self._reached: list[set[int]] = []  # the parameters they reach, while still checking
        self._walks = 0
        self._own: dict[int, set[int]] = {}  # optimizer key -> parameters its losses reach
        self._params: dict[int, set[int]] = {}  # optimizer key -> its parameters

    @property
    def checking(self) -> bool:
        return not self.found and self._walks < CHECKED_LOSSES

    def saw(self, reached: Callable[[], set[int]] | None) -> None:
        """A loss was differentiated; ``reached`` gives the ids of the parameters it reaches
        (asked only while the tap is checking; ``None``: a loss with no graph)."""
        self._pending += 1
        if self.checking and reached is not None:
            self._walks += 1
            self._reached.append(reached())

    def stepped(self, key: int, params: Callable[[], Iterable[Any]], recorder: Recorder,
                step: int) -> int:
        """An optimizer (``key``: its id; watched or not) stepped: how many losses since the
        last step were its own."""
        own, self._pending = self._pending, 0
        reached, self._reached = self._reached, []
        if self.found or (not reached and not self.checking):
            return own
        if key not in self._params:
            self._params[key] = {id(p) for p in params()}
        if own and reached:
            self._own.setdefault(key, set()).update(*reached)
        for player, touched in self._own.items():
            for other, theirs in self._params.items():
                if other != player and other in self._own and touched & theirs:
                    self.found = True
                    recorder.event(step, GAME_EVENT, "", {"players": len(self._own)})
                    return own
        return own
