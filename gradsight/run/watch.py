"""``gradsight.watch(model, optimizer)``: the one-line API, same machinery as ``gradsight run``."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Any

from ..core.finding import Finding
from .frameworks import adapter_for
from .session import Diagnosis, Session, run_folder


class Watch:
    """Watches one model (and optionally one optimizer) until closed.

    >>> # with gradsight.watch(model, optimizer, out="runs/exp1") as w:
    >>> #     train()
    >>> # print(w.findings)
    """

    def __init__(self, model: Any, optimizer: Any = None, *, out: str | Path | None = None,
                 every: int | None = None, tensorboard: str | Path | None = None) -> None:
        self.session = Session(run_folder(out, type(model).__name__.lower()), every,
                               tensorboard=tensorboard, mode="watch",
                               model=type(model).__name__)
        self.session.attach(adapter_for(self.session, model, optimizer))
        self.diagnosis: Diagnosis | None = None

    @property
    def folder(self) -> Path:
        return self.session.folder

    @property
    def findings(self) -> list[Finding]:
        """Findings so far (while watching) or final (after ``close``)."""
        if self.diagnosis is not None:
            return self.diagnosis.findings
        return self.session.diagnose_now().findings

    def close(self, status: str = "finished") -> Diagnosis:
        if self.diagnosis is None:
            from ..reports.notebook import Run

            self.diagnosis = Run.of(self.session.finish(status))
        return self.diagnosis

    def __repr__(self) -> str:
        """Cheap while watching (no diagnosis: ``findings`` or the notebook view do that)."""
        head = f"Watch({self.session.framework}, "
        if self.diagnosis is None:
            return head + f"watching, {self.session.step} steps, {self.folder})"
        kinds = ", ".join(f"{f.severity.value} {f.kind}" for f in self.diagnosis.findings)
        return head + (f"closed, {self.diagnosis.steps} steps, {self.folder}: "
                       f"{kinds or 'no finding'})")

    def _repr_html_(self) -> str:
        """Jupyter: the findings as cards and the gradient-flow heat map, so far or final."""
        from ..reports.notebook import diagnosis_html

        diagnosis = self.diagnosis or self.session.diagnose_now()
        state = "closed" if self.diagnosis is not None else "watching"
        return diagnosis_html(diagnosis, f"gradsight watch ({state})")

    def __enter__(self) -> "Watch":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self.close("finished")
        elif issubclass(exc_type, KeyboardInterrupt):
            self.close("interrupted")
        else:
            self.close("crashed")


def watch(model: Any, optimizer: Any = None, *, out: str | Path | None = None,
          every: int | None = None, tensorboard: str | Path | None = None) -> Watch:
    """Start watching ``model`` (and ``optimizer``); returns a ``Watch``, also a context manager.

    ``tensorboard=LOGDIR`` also exports the run as TensorBoard scalars and histograms on close.
    """
    return Watch(model, optimizer, out=out, every=every, tensorboard=tensorboard)
