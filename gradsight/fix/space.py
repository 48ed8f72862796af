"""The repair space: the catalog's repairs, a learning-rate multiplier of any size, and
combinations of repairs from different families.

A trial's repair is named by a string so that it travels to the trial process as JSON and
appears as such in ``gradsight.fix/1``: one repair (``init:he``, ``lr:x100``, ``lr:/1000``) or
several joined by `` + `` (``init:he + lr:/10``), at most one per family, installed in the order
given. ``resolve`` turns any such name back into a repair, so a combination is installed by the
same hooks as its parts (``gradsight fix`` and the random-search benchmark alike).

    >>> resolve("init:he + lr:/100").name
    'init:he + lr:/100'
"""

from __future__ import annotations

import math
from typing import Any

from .repairs import (CATALOG, STABILITY_KINDS, LearningRate, ModelInfo, Repair, TrialHooks,
                      by_name)

SEP = " + "
# The families in the order a combination names (and installs) them; others come after.
FAMILIES = ("init", "norm", "optimizer", "lr", "clip")
# The largest learning-rate change tried either way: 1e4 takes a 1e-8 learning rate to 1e-4
# (the healthy end for Adam on a transformer) and a typo of 1000 down to 0.1.
LR_LIMIT = 1e4


def family(name: str) -> str:
    """``init:he`` -> ``init``; the family of a combination's first part."""
    return name.split(SEP)[0].split(":", 1)[0]


def parts(name: str) -> list[str]:
    return name.split(SEP)


def lr_name(factor: float) -> str:
    """The name of a learning-rate repair: ``lr:x100``, ``lr:/1000``, ``lr:x3.2``."""
    return LearningRate(_two_digits(factor)).name


def combine(*names: str) -> str:
    """One name for several repairs, in ``FAMILIES`` order (so one combination has one name);
    refuses two of the same family (one would overwrite the other)."""
    flat = [p for n in names for p in parts(n)]
    fams = [family(p) for p in flat]
    if len(set(fams)) != len(fams):
        raise ValueError(f"cannot combine {flat}: at most one repair per family "
                         f"({', '.join(fams)})")
    order = {fam: i for i, fam in enumerate(FAMILIES)}
    return SEP.join(sorted(flat, key=lambda p: order.get(family(p), len(FAMILIES))))


def resolve(name: str) -> Repair:
    """The repair a name stands for (a catalog name, any ``lr:`` factor, or a combination)."""
    pieces = parts(name)
    if len(pieces) > 1:
        return Combined([resolve(p) for p in pieces])
    if name.startswith("lr:x") or name.startswith("lr:/"):
        try:
            value = float(name[4:])
        except ValueError:
            value = float("nan")
        if not (math.isfinite(value) and value > 0):
            raise KeyError(f"bad learning-rate repair {name!r}: expected lr:xF or lr:/F with a "
                           "positive number F (lr:x100, lr:/10)")
        return LearningRate(value if name[3] == "x" else 1 / value)
    return by_name(name)


def families(info: ModelInfo) -> dict[str, list[str]]:
    """The catalog's repairs of the five training-side families that apply to this model, by
    family in ``FAMILIES`` order (the learning rate's list is empty: its multiplier is a number,
    see ``lr_name``). The stability repairs (``norm:qk``, ``loss:zloss``) are left out: they act
    on attention and output logits only where those grow, which ``applies`` cannot tell from
    the model's layers, so on most models they would be a no-op drawn as if it were a change."""
    out: dict[str, list[str]] = {fam: [] for fam in FAMILIES}
    for repair in CATALOG:
        fam = family(repair.name)
        if fam in out and fam != "lr" and not repair.targets <= STABILITY_KINDS and \
                repair.applies(info):
            out[fam].append(repair.name)
    return {fam: names for fam, names in out.items() if names or fam == "lr"}


class Combined(Repair):
    """Several repairs of different families in one trial."""

    def __init__(self, members: list[Repair]) -> None:
        self.members = members
        self.name = SEP.join(m.name for m in members)
        self.targets = frozenset().union(*(m.targets for m in members))

    def applies(self, info: ModelInfo) -> bool:
        return all(m.applies(info) for m in self.members)

    def install(self, torch: Any, ctx: TrialHooks) -> None:
        for member in self.members:
            member.install(torch, ctx)

    def code(self) -> str:
        return "\n".join(m.code() for m in self.members)


def _two_digits(factor: float) -> float:
    """Round to two significant digits, so a name and its number agree (``lr:x320``)."""
    if not (math.isfinite(factor) and factor > 0):
        raise ValueError(f"a learning-rate factor must be a positive number, got {factor!r}")
    big = factor >= 1
    value = factor if big else 1 / factor
    digits = 1 - int(math.floor(math.log10(value)))
    value = round(value, digits)
    return value if big else 1 / value
