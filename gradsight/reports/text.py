"""Names as inert text: the one place that decides how a user's name is shown.

Parameter and module names come from the user's model and may contain anything: an escape
sequence that sets the terminal's title, clears the screen or recolours what follows (ESC, CSI,
OSC), DEL, the C1 controls (``\\x9b`` is a one-byte CSI), bidirectional overrides that make a
name read backwards. Every report shows them through ``inert``: a character that is not
printable is shown as its Python escape (``\\x1b``), so what reaches a terminal, a picture, a
TensorBoard tag or a JSON consumer's screen is only ever text.

>>> inert("evil\\x1b]0;pwned\\x07")
'evil\\\\x1b]0;pwned\\\\x07'
>>> inert("fc.weight")
'fc.weight'
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..core.diagnosis import Diagnosis

__all__ = ["inert", "inert_findings"]


def inert(text: Any, *, lines: bool = False) -> str:
    """``text`` with every non-printable character (C0/C1 controls, DEL, format and separator
    characters) shown as its escape; ``lines`` keeps newlines, for multi-line text such as a
    fix's code. Printable text comes back unchanged."""
    value = str(text)
    if value.isprintable():
        return value
    return "".join(c if c.isprintable() or (lines and c == "\n") else _escape(c)
                   for c in value)


def inert_findings(diagnosis: Diagnosis) -> Diagnosis:
    """A diagnosis whose findings' human text (summary, fixes) is inert, for every consumer of
    that text (the findings JSON, ``watch().findings``). ``where`` and ``evidence`` stay exact:
    they are data, names exactly as the framework spells them (the contract)."""
    clean = [replace(f, summary=inert(f.summary, lines=True),
                     fixes=[inert(fix, lines=True) for fix in f.fixes])
             for f in diagnosis.findings]
    return replace(diagnosis, findings=clean)


def _escape(char: str) -> str:
    return repr(char)[1:-1]  # '\x1b', '\x9b', '\u202e': how Python itself shows it
