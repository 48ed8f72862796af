"""Detector registry and ``diagnose``: run every detector on a stored run, root cause first.

A detector is a module in ``gradsight.detectors`` with ``KIND``, ``PRIORITY`` (lower = more
often the root cause) and ``detect(run) -> list[Finding]``; ``EXPLAINED_BY`` optionally names
kinds that, when they touch the same parameters or modules, explain this one;
``EXPLAINED_IF_EARLIER`` kinds explain it when they began at an earlier step, wherever they are
(an explosion anywhere ends in NaN anywhere). Dropping a file in the package registers it: no
list to keep in sync.
"""

from __future__ import annotations

import importlib
import pkgutil
import warnings
from dataclasses import dataclass, field, replace
from types import ModuleType
from typing import Any, Callable, Mapping, Protocol

from .advice import phrase
from .finding import NEEDS_CAUSE, Finding, Severity
from .run_view import RunView


class Detector(Protocol):
    KIND: str
    PRIORITY: int

    def detect(self, run: RunView) -> list[Finding]: ...


@dataclass(frozen=True)
class DetectorInfo:
    kind: str
    priority: int
    explained_by: tuple[str, ...]
    detect: Callable[[RunView], list[Finding]]
    explained_if_earlier: tuple[str, ...] = ()
    scenarios: Mapping[str, Any] = field(default_factory=dict)  # its cases (core.scenarios)


def detectors() -> list[DetectorInfo]:
    """Every detector module in ``gradsight.detectors``, by priority."""
    package = importlib.import_module("gradsight.detectors")
    found = []
    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("_"):
            continue
        module: ModuleType = importlib.import_module(f"{package.__name__}.{info.name}")
        if hasattr(module, "detect") and hasattr(module, "KIND"):
            found.append(
                DetectorInfo(
                    module.KIND,
                    getattr(module, "PRIORITY", 50),
                    tuple(getattr(module, "EXPLAINED_BY", ())),
                    module.detect,
                    tuple(getattr(module, "EXPLAINED_IF_EARLIER", ())),
                    dict(getattr(module, "SCENARIOS", {})),
                )
            )
    return sorted(found, key=lambda d: (d.priority, d.kind))


def diagnose(run: RunView, infos: list[DetectorInfo] | None = None) -> list[Finding]:
    """All findings for a run (by ``infos``, default every detector), most likely root cause
    first. A detector that fails (a bug of ours) costs its own findings only: the others still
    judge the run, and an info finding says which check is missing and why."""
    infos = detectors() if infos is None else infos
    found: list[tuple[DetectorInfo, Finding]] = []
    with warnings.catch_warnings():
        # numpy's "all-NaN slice"/"mean of empty slice" on NaN runs are expected, not news
        warnings.simplefilter("ignore", RuntimeWarning)
        for info in infos:
            try:
                found.extend((info, f) for f in info.detect(run))
            except Exception as exc:  # noqa: BLE001 - one check's bug must not hide the rest
                found.append((_FAILED, _failed(info.kind, exc, run)))
    api = api_of(run)
    found = [(info, _worded(f, api)) for info, f in found]
    linked = [(info, _link_cause(info, f, found, run)) for info, f in found]
    linked = [(info, f) for info, f in linked
              if not f.evidence.get(NEEDS_CAUSE) or "caused_by" in f.evidence]
    linked.sort(
        key=lambda pair: (
            pair[1].severity == Severity.INFO,
            "caused_by" in pair[1].evidence,
            pair[0].priority,
            pair[1].step,
        )
    )
    return [f for _, f in linked]


_FAILED = DetectorInfo("watch_incomplete", 95, (), lambda run: [])


def _failed(kind: str, exc: Exception, run: RunView) -> Finding:
    """The info finding that stands for a check that raised instead of judging."""
    error = f"{type(exc).__name__}: {exc}"
    return Finding("watch_incomplete", Severity.INFO, [p.name for p in run.entities("param")]
                   or ["loss"], 0, f"the {kind} check failed ({error}), so its findings are "
                   "missing from this diagnosis; the others are complete",
                   {"failed_check": kind, "error": error},
                   ["the training itself was not affected; please report the error with this "
                    "run folder (`gradsight report DIR` judges it again)"])


def api_of(run: RunView) -> str:
    """Whose words the advice is in: the store's ``api`` (``torch``, ``keras``, ``tf1``), or
    for an older store, its framework's usual one."""
    api = run.meta.get("api")
    if isinstance(api, str) and api != "none":
        return api
    return "keras" if "tensorflow" in str(run.meta.get("framework")) else "torch"


def _worded(finding: Finding, api: str) -> Finding:
    """The finding's advice (``Fix`` data) as text and code in the run's framework."""
    if not finding.advice:
        return finding
    return replace(finding, fixes=[*finding.fixes, *(str(phrase(f, api)) for f in finding.advice)])


def _link_cause(
    info: DetectorInfo, finding: Finding, found: list[tuple[DetectorInfo, Finding]], run: RunView
) -> Finding:
    mine = _layers(finding.where, run)
    for other_info, other in found:
        overlapping = other_info.kind in info.explained_by and mine & _layers(other.where, run)
        earlier = other_info.kind in info.explained_if_earlier and other.step < finding.step
        if (overlapping or earlier) and other.severity != Severity.INFO:
            evidence = {**finding.evidence, "caused_by": other.kind}
            return replace(finding, evidence=evidence)
    return finding


def _layers(where: list[str], run: RunView) -> set[str]:
    """Names plus the modules that own them, so a weight and its layer's bias overlap."""
    out = set(where)
    for name in where:
        entity = run.entity("param", name)
        if entity is not None and entity.get("module") is not None:
            out.add(entity.get("module"))
    return out
