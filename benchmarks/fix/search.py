"""The baseline ``gradsight fix`` is measured against: random search over the same repair space.

Each trial draws one setting per family, independently and uniformly, from what ``fix`` can
express for this model (``gradsight.fix.space.families``: the catalog's repairs that apply to
it), and a learning-rate multiplier log-uniform on [1/LR_LIMIT, LR_LIMIT]. It sees the model
(which repairs apply) but not the diagnosis. Trials run through ``gradsight.fix.trials.run_trial``
exactly as ``fix``'s do (same process per trial, same seeds and data order, same step budget,
repairs installed by the same hooks) and are judged by ``gradsight.fix.rank`` (findings gone
first, then fewer findings, then the loss after the budget). The search stops at its first
resolving trial, as ``fix`` does, or after ``limit`` trials. Seeded: a rerun draws the same
settings.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from gradsight.fix import rank
from gradsight.fix.repairs import ModelInfo
from gradsight.fix.space import LR_LIMIT, combine, families, lr_name
from gradsight.fix.trials import Trial, run_trial


def draw(rng: random.Random, info: ModelInfo) -> str:
    """One random setting: per family none or one of its repairs, and a learning-rate factor."""
    chosen = []
    for fam, names in families(info).items():
        if fam == "lr":
            exponent = rng.uniform(-math.log10(LR_LIMIT), math.log10(LR_LIMIT))
            chosen.append(lr_name(10.0 ** exponent))
            continue
        pick = rng.choice([None, *names])
        if pick is not None:
            chosen.append(pick)
    return combine(*chosen)


def settings(seed: int, info: ModelInfo, count: int) -> list[str]:
    """The first ``count`` distinct settings of search ``seed`` (a draw seen before is redrawn;
    a space too small for ``count`` gives what it has)."""
    rng = random.Random(seed)
    seen: list[str] = []
    for _ in range(count * 50):
        if len(seen) == count:
            break
        name = draw(rng, info)
        if name not in seen:
            seen.append(name)
    return seen


@dataclass
class Search:
    seed: int
    trials: list[Trial]


def search(script: str, args: list[str], baseline: Trial, info: ModelInfo, *, seed: int,
           limit: int, budget: int, folder: Path,
           on_trial: Callable[[Trial], None] | None = None) -> Search:
    """Random search with ``limit`` trials at most; stops at the first resolving one."""
    done: list[Trial] = []
    for i, name in enumerate(settings(seed, info, limit)):
        trial = run_trial(script, args, name, budget, folder / f"seed{seed}-{i + 1:02d}",
                          info.activations)
        done.append(trial)
        if on_trial is not None:
            on_trial(trial)
        if rank.resolved(trial, baseline):
            break
    return Search(seed, done)
