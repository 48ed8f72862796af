"""What a probe returns: the per-layer profile, the prediction, and contract findings."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.finding import Finding, _json_safe, findings_document

if TYPE_CHECKING:
    from .layer_stats import LayerStats


@dataclass
class ProbeResult:
    """``layers``: every measured module in forward order; ``prediction``: the same modules
    measured on a copy re-initialized as recommended; ``findings``: contract findings."""

    layers: list["LayerStats"]
    prediction: list["LayerStats"]
    findings: list[Finding]
    loss: float | None = None
    status: str = "probed"
    detail: dict[str, Any] = field(default_factory=dict)

    def layer(self, name: str) -> "LayerStats":
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(name)

    @property
    def framework(self) -> str:
        """``tensorflow`` for a Keras model (the findings contract's name), else ``torch``."""
        return "tensorflow" if self.detail.get("framework") in ("keras", "tensorflow") else "torch"

    @property
    def first_nonfinite(self) -> str | None:
        return next((layer.name for layer in self.layers if layer.nonfinite), None)

    def document(self) -> dict[str, Any]:
        """The findings JSON (``gradsight.findings/1``, step 0) plus a ``probe`` section."""
        doc = findings_document(self.findings, self.framework, 0)
        predicted = {p.name: p for p in self.prediction}
        rows = []
        for layer in self.layers:
            row = layer.as_dict()
            twin = predicted.get(layer.name)
            if twin is not None and layer.weight is not None:
                row["predicted_gain"] = twin.gain
                row["predicted_out_std"] = twin.out_std
            rows.append(row)
        doc["probe"] = _json_safe({"loss": self.loss, "status": self.status, "layers": rows,
                                   **self.detail})
        return doc

    def __repr__(self) -> str:
        kinds = ", ".join(f"{f.severity.value} {f.kind} at {', '.join(f.where[:3])}"
                          for f in self.findings) or "no finding"
        first = f", first non-finite at {self.first_nonfinite}" if self.first_nonfinite else ""
        return (f"ProbeResult({self.framework}, {len(self.layers)} layers, loss {self.loss}"
                f"{first}: {kinds})")

    def _repr_html_(self) -> str:
        """Jupyter: the findings as cards and the per-layer table."""
        from ..reports.notebook import probe_html

        return probe_html(self)

    def write(self, path: str | Path) -> None:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(self.document(), indent=2) + "\n")


def finite_or_none(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None
