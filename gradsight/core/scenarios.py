"""The cases each detector carries with it: a positive, a healthy and a boundary run at least.

A detector module defines ``SCENARIOS = {"positive...": Scenario(...), "healthy...": ...,
"boundary...": ...}``; the conformance suite collects every detector's scenarios, builds each
as a synthetic run (``core.synthetic``), runs *every* detector on it (the contract checks: pure
function of the run, names as the run names them, JSON round trip) and checks the owning
detector's expectation. A new detector is one file, and its tests come with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .finding import Severity
from .run_view import RunView
from .synthetic import SyntheticRun

KINDS_OF_CASE = ("positive", "healthy", "boundary")


@dataclass(frozen=True)
class Scenario:
    """``build`` fills a fresh ``SyntheticRun``; the owning detector must then find nothing
    (``expect=None``) or a finding of ``expect``'s severity whose ``where`` starts with
    ``first`` and holds ``where``."""

    build: Callable[[SyntheticRun], SyntheticRun]
    expect: Severity | None = None
    where: tuple[str, ...] = ()
    first: str | None = None
    why: str = ""

    def run(self, folder: str | Path, name: str) -> RunView:
        return self.build(SyntheticRun(folder, name)).open()
