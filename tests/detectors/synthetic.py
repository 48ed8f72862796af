"""The synthetic-run builder lives in the package (``gradsight.core.synthetic``: detector
modules build their own scenarios with it); these are the detector tests' helpers around it."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from gradsight.core.run_view import RunView
from gradsight.core.store import RunStore
from gradsight.core.synthetic import *  # noqa: F401,F403
from gradsight.core.synthetic import INF, NAN, SyntheticRun, healthy_loss, when  # noqa: F401


def empty_run(tmp_path: str | Path, name: str = "empty") -> RunView:
    """A run with no entities and no stats (a script killed before its first step)."""
    store = RunStore.create(Path(tmp_path) / name)
    store.close()
    return RunView.open(Path(tmp_path) / name)


def kinds(findings: Iterable[Any]) -> list[str]:
    return [f.kind for f in findings]


def only(findings: list[Any], kind: str | None = None, api: str = "torch") -> Any:
    """The single finding (of ``kind``), its advice worded for ``api`` (synthetic runs are
    PyTorch runs), with a readable failure otherwise."""
    chosen = [f for f in findings if kind is None or f.kind == kind]
    assert len(chosen) == 1, f"expected one {kind or ''} finding, got {findings!r}"
    return worded(chosen[0], api)


def worded(finding: Any, api: str = "torch") -> Any:
    """The finding with its ``Fix`` data worded, as ``diagnose`` does."""
    from dataclasses import replace

    from gradsight.core.advice import phrase

    return replace(finding, fixes=[*finding.fixes, *(str(phrase(f, api)) for f in finding.advice)])
