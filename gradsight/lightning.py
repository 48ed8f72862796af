"""``gradsight.lightning.Callback``: watch a Lightning ``Trainer.fit``.

    import lightning as L
    import gradsight

    trainer = L.Trainer(max_epochs=3, callbacks=[gradsight.lightning.Callback()])
    trainer.fit(model, loader)
    print(trainer.callbacks[0].findings)

The LightningModule is the model: names are its ``named_parameters()`` (``net.0.weight``),
whatever strategy wraps it. Every optimizer it configures is watched, through the same hooks
as ``gradsight run``: gradients are read at ``optimizer.step``, after Lightning's AMP plugin
has unscaled them, and the loss through ``backward()`` with the ``GradScaler``'s scale taken
out, so mixed precision does not inflate anything. Under a multi-process strategy each rank
records its own process and rank 0 reports the merged diagnosis. At the end of ``fit`` the
findings go to every logger of the Trainer (``gradsight/errors``, ``gradsight/warnings``,
``gradsight/<kind>``; TensorBoard also gets them as text) and to stderr on rank 0.

``gradsight run train.py`` needs no callback: it names a Lightning script's parameters the
same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

try:  # the unified package; the standalone ``pytorch_lightning`` has the same API
    from lightning.pytorch import Callback as _LightningCallback
except ImportError:  # pragma: no cover - depends on what is installed
    from pytorch_lightning import Callback as _LightningCallback

from .integrations import RankedWatch, WatchedRun, finding_metrics, findings_markdown, print_report

__all__ = ["Callback"]


class Callback(WatchedRun, _LightningCallback):  # type: ignore[misc]
    """Watches the LightningModule from ``on_fit_start`` to ``on_fit_end``.

    ``out``: the run folder (default ``gradsight-runs/<module class>-<time>``); ``every``:
    record full statistics every N steps; ``report``: print the terse diagnosis at the end.
    """

    def __init__(self, out: str | Path | None = None, every: int | None = None,
                 report: bool = True) -> None:
        super().__init__()
        self._out, self._every, self._report = out, every, report
        self._run: RankedWatch | None = None

    def on_fit_start(self, trainer: Any, pl_module: Any) -> None:
        self._run = RankedWatch(self._out, self._every, type(pl_module).__name__.lower())
        self._run.start(pl_module, trainer.global_rank,
                        lambda text: trainer.strategy.broadcast(text, src=0))

    def on_fit_end(self, trainer: Any, pl_module: Any) -> None:
        self._finish(trainer, "finished")

    def on_exception(self, trainer: Any, pl_module: Any, exception: BaseException) -> None:
        status = "interrupted" if isinstance(exception, KeyboardInterrupt) else "crashed"
        self._finish(trainer, status, barrier=False)  # other ranks may never reach a barrier

    def _finish(self, trainer: Any, status: str, barrier: bool = True) -> None:
        if self._run is None or self._run.watch is None:
            return
        diagnosis = self._run.close(status, trainer.strategy.barrier if barrier else None)
        if diagnosis is None or trainer.global_rank != 0:
            return
        for logger in trainer.loggers:
            logger.log_metrics(finding_metrics(diagnosis.findings), step=trainer.global_step)
            add_text = getattr(getattr(logger, "experiment", None), "add_text", None)
            if callable(add_text):  # TensorBoard's SummaryWriter
                add_text("gradsight/findings", findings_markdown(diagnosis),
                         global_step=trainer.global_step)
            logger.save()
        if self._report:
            print_report(diagnosis)
