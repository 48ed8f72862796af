"""Findings: what a detector concludes, and their contract JSON (``gradsight.findings/1``).

Findings are plain data. Reports render them generically and never branch on ``kind``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Iterable, Mapping

from .advice import Fix

FINDINGS_SCHEMA = "gradsight.findings/1"
# Evidence key of a finding that stands only with a cause: the diagnosis keeps it where another
# finding explains it (``caused_by``) and drops it otherwise (a short run's flat loss: slow to
# start, or unable to learn, which only a cause such as vanishing gradients tells apart).
NEEDS_CAUSE = "needs_cause"


class Severity(str, Enum):
    """How bad a finding is; ``error`` means that part of training is broken."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    def __str__(self) -> str:
        return self.value

    @property
    def rank(self) -> int:
        """0 for the worst, so that sorting by rank puts errors first."""
        return {"error": 0, "warning": 1, "info": 2}[self.value]

    def at_least(self, other: "Severity") -> bool:
        """``True`` when this severity is as bad as ``other`` or worse."""
        return self.rank <= other.rank


@dataclass(frozen=True)
class Finding:
    """One diagnosis, localized to parameters/modules (``where``) and the first step it held.

    >>> f = Finding("no_gradient", Severity.WARNING, ["bn.weight"], 0, "never gets a gradient")
    >>> f.to_dict()["severity"]
    'warning'
    """

    kind: str
    severity: Severity
    where: list[str]
    step: int
    summary: str
    evidence: dict[str, Any] = field(default_factory=dict)
    fixes: list[str] = field(default_factory=list)  # the advice in the user's framework
    advice: list[Fix] = field(default_factory=list)  # the same, as data (``core.advice``)

    def to_dict(self) -> dict[str, Any]:
        out = {
            "kind": self.kind,
            "severity": self.severity.value,
            "where": list(self.where),
            "step": int(self.step),
            "summary": self.summary,
            "evidence": _json_safe(self.evidence),
            "fixes": list(self.fixes),
        }
        if self.advice:
            out["advice"] = [_json_safe(fix.to_dict()) for fix in self.advice]
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Finding":
        return cls(
            kind=str(data["kind"]),
            severity=Severity(data["severity"]),
            where=[str(w) for w in data.get("where", [])],
            step=int(data.get("step", 0)),
            summary=str(data.get("summary", "")),
            evidence=dict(data.get("evidence", {})),
            fixes=[str(f) for f in data.get("fixes", [])],
            advice=[Fix(str(a.get("action")), dict(a.get("args") or {}))
                    for a in data.get("advice", []) if isinstance(a, Mapping)],
        )


def findings_document(
    findings: Iterable[Finding], framework: str, steps: int
) -> dict[str, Any]:
    """The contract document for a list of findings, already ordered root cause first."""
    return {
        "schema": FINDINGS_SCHEMA,
        "framework": framework,
        "steps": int(steps),
        "findings": [f.to_dict() for f in findings],
    }


def worst_severity(findings: Iterable[Finding]) -> Severity | None:
    worst: Severity | None = None
    for f in findings:
        if worst is None or f.severity.rank < worst.rank:
            worst = f.severity
    return worst


def _json_safe(value: Any) -> Any:
    """Evidence may hold numpy scalars or non-finite floats; JSON has neither."""
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(number):
        return "nan"
    if math.isinf(number):
        return "inf" if number > 0 else "-inf"
    if number.is_integer() and not isinstance(value, float) and abs(number) < 2**53:
        return int(number)
    return number
