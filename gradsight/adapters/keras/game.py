"""Which differentiated loss each Keras optimizer step is for, and what ``core.game``'s tap is
told (two-player training: a GAN).

Keras takes a step's gradients from ``tape.gradient(loss, sources)`` and hands them to
``optimizer.apply`` later, sometimes after another tape's gradient: the TensorFlow DCGAN
tutorial differentiates both players' losses, then applies both updates. So each loss is held
with the variables it was differentiated for, and an optimizer step takes the latest loss whose
sources are among its variables (else the latest one: a loss differentiated for something else,
as before). What a loss reaches: inside a ``tf.function`` (``fit``, most custom loops), the watched
variables whose reads its graph depends on (the generator's loss runs the discriminator); run
eagerly, everything its tape watched (a tape watches every trainable variable read inside it, so
one persistent tape around two models side by side reads as a game there). The same loss
differentiated twice (one objective, two optimizers on a persistent tape) is one loss: the first
step that takes it owns it, and it is the run's loss once, so it is no game.

The run's loss is the clock optimizer's own (the first to step), not two optimizers' losses at
the same step numbers (a GAN's players, two models side by side); another optimizer's loss is
the run's only while the clock's steps have none of their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import keras
import tensorflow as tf

from ...core.game import GameTap
from ...core.recorder import Recorder

HELD = 8  # losses held for the next optimizer steps (a custom loop can differentiate several)


def backing(variable: Any) -> Any:
    """The TensorFlow variable behind a Keras one (what a tape watches), or the variable."""
    return variable.value if isinstance(variable, keras.Variable) else variable


@dataclass
class _Loss:
    target: Any
    sources: set[int]
    watched: set[int] | None


class LossPairing:
    def __init__(self) -> None:
        self.game = GameTap()
        self._held: list[_Loss] = []
        self._last_taken: Any = None
        self._clock_has_loss = False

    def clock_changed(self) -> None:
        """Another optimizer is the clock now (the run's next phase): its losses are the run's."""
        self._clock_has_loss = False

    def saw(self, tape: Any, target: Any, sources: Any) -> None:
        """A scalar ``target`` was differentiated for ``sources`` on ``tape``."""
        watched = None
        if self.game.checking:
            watched = reached_variables(target, tape.watched_variables())
        keys = {id(backing(v)) for v in tf.nest.flatten(sources)}
        self._held.append(_Loss(target, keys, watched))
        del self._held[:-HELD]

    def take(self, key: int, variables: list[Any], clock: bool, recorder: Recorder,
             step: Callable[[], int]) -> Any:
        """The loss an optimizer step (``key``: the optimizer's id) is for, if it is the run's;
        else ``None``. ``step``: the host step, asked for only while the
        game is still checked."""
        host = step() if self.game.checking else 0
        backed = [backing(v) for v in variables]
        keys = {id(v) for v in backed}
        at = next((i for i in range(len(self._held) - 1, -1, -1)
                   if self._held[i].sources & keys), len(self._held) - 1)
        loss = self._held[at] if at >= 0 else None
        del self._held[:at + 1]
        fresh = loss is not None and loss.target is not self._last_taken
        if fresh:
            self._last_taken = loss.target
            self.game.saw(None if loss.watched is None else lambda: loss.watched)
        self.game.stepped(key, lambda: backed, recorder, host)
        if not fresh or (not clock and (self.game.found or self._clock_has_loss)):
            return None
        self._clock_has_loss |= clock
        return loss.target


def reached_variables(target: Any, watched: Any) -> set[int]:
    """ids of the ``watched`` variables that ``target`` depends on: in a traced graph, those
    whose captured handles its ops read (a walk of the graph upstream of ``target``, every op
    once); run eagerly there is no graph, and every watched variable counts."""
    graph = getattr(target, "graph", None)
    captures = getattr(graph, "captures", None)
    if tf.executing_eagerly() or not captures:
        return {id(v) for v in watched}
    inner = {id(outer): internal for outer, internal in captures}
    placeholders: set[int] = set()
    seen: set[Any] = set()
    stack = [target.op]
    while stack:
        op = stack.pop()
        if op in seen:
            continue
        seen.add(op)
        for tensor in op.inputs:
            if tensor.op.type == "Placeholder":
                placeholders.add(id(tensor))
            stack.append(tensor.op)
    return {id(v) for v in watched
            if id(v.handle) in inner and id(inner[id(v.handle)]) in placeholders}


def host_step(optimizer: Any) -> int:
    """The optimizer's step count on the host, also while a ``tf.function`` is traced."""
    with tf.init_scope():
        return int(optimizer.iterations.numpy())

