"""Reading a store that may be damaged: values that are not what their column should hold.

SQLite keeps whatever was written: text in a ``REAL`` column, a blob in ``step``, a ``meta``
value that is not JSON. A store written by gradsight never holds them, but a run folder copied
by hand, edited, or hit by a disk fault can. Readers take every value through these converters:
a value that cannot be what its column means is set aside and counted in ``Damage``, so that
the rest of the run is still diagnosed (and the diagnosis says how much was set aside) instead
of a traceback.
"""

from __future__ import annotations

import json
import math
from typing import Any

MISSING: Any = object()  # a JSON value that could not be read


class Damage:
    """What the readers of one store set aside, per table."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def note(self, table: str, count: int = 1) -> None:
        self.counts[table] = self.counts.get(table, 0) + count

    def __bool__(self) -> bool:
        return bool(self.counts)

    def summary(self) -> str:
        """``meta 1, stats 3`` (rows or values set aside per table)."""
        return ", ".join(f"{table} {n}" for table, n in sorted(self.counts.items()))


def from_json(text: Any, damage: Damage, table: str, kind: type | None = None) -> Any:
    """``text`` decoded; ``MISSING`` (noted) when it is not JSON or not of ``kind``."""
    try:
        value = json.loads(text)
    except (TypeError, ValueError, RecursionError):
        damage.note(table)
        return MISSING
    if kind is not None and not isinstance(value, kind):
        damage.note(table)
        return MISSING
    return value


def integer(value: Any) -> int | None:
    """A step, count or order as an int; None when the value is no whole number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return None


def real(value: Any, damage: Damage, table: str) -> float:
    """A stored number as a float; NULL (how NaN is stored) is NaN; anything that is no number
    (text, a blob) is NaN too, and noted."""
    if value is None:
        return math.nan
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    damage.note(table)
    return math.nan
