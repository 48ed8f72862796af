"""Two-player training (a GAN) in PyTorch: what ``core.game``'s tap is told.

Every ``backward`` is a loss the tap sees; while it checks, the loss's autograd graph is walked for
the parameters it reaches (its ``AccumulateGrad`` nodes). The backward calls since the last
optimizer step belong to the optimizer that steps next, so that in a game the run's loss is the
clock optimizer's own and not a mean with the other player's (it was: D's and G's losses
averaged). Outside a game every loss stays the run's (one objective stepped by two optimizers,
whichever steps first).

Not seen: a game whose players hide their parameters from each other's graphs (the
discriminator's ``requires_grad`` switched off during the generator's step *and* the fake
samples detached for the discriminator's): its losses are judged as any run's.
"""

from __future__ import annotations

from typing import Any

import torch

from ...core.game import GAME_EVENT, GameTap

__all__ = ["GAME_EVENT", "GameTap", "reached_parameters"]


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

