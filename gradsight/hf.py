"""``gradsight.hf.Callback``: watch a Hugging Face ``transformers.Trainer``.

    from transformers import Trainer
    import gradsight

    trainer = Trainer(model=model, args=args, train_dataset=data,
                      callbacks=[gradsight.hf.Callback()])
    trainer.train()

Names are the model's own (``bert.encoder.layer.0.attention.self.query.weight``). The watching
is the same as ``gradsight run``'s (which needs no callback on a Trainer script): the gradients
at ``optimizer.step``, after the Trainer's clipping and any AMP unscaling, and the loss through
``backward()``. At the end of ``train`` the counts of findings are appended to the Trainer's
``state.log_history`` (so they land in ``trainer_state.json``), and the terse diagnosis goes
to stderr on the main process. Under ``torchrun`` each process records its own store and the
main one reports the merged diagnosis.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from .integrations import RankedWatch, WatchedRun, finding_metrics, print_report

__all__ = ["Callback"]


class Callback(WatchedRun, TrainerCallback):  # type: ignore[misc]
    """Watches the Trainer's model from ``on_train_begin`` to ``on_train_end``.

    ``out``: the run folder (default ``gradsight-runs/<model class>-<time>``); ``every``:
    record full statistics every N steps; ``report``: print the terse diagnosis at the end.
    """

    def __init__(self, out: str | Path | None = None, every: int | None = None,
                 report: bool = True) -> None:
        self._out, self._every, self._report = out, every, report
        self._run: RankedWatch | None = None

    def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None,
                       **kwargs: Any) -> None:
        if model is None:
            raise ValueError("gradsight.hf.Callback got no model from the Trainer; expected "
                             "Trainer(model=...) (a model_init is called before training)")
        self._run = RankedWatch(self._out, self._every, type(model).__name__.lower())
        self._run.start(model, int(args.process_index), _broadcast)

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self._run is None or self._run.watch is None:
            return
        diagnosis = self._run.close("finished", _barrier)
        if diagnosis is None or not state.is_world_process_zero:
            return
        state.log_history.append({**finding_metrics(diagnosis.findings),
                                  "step": state.global_step})
        if self._report:
            print_report(diagnosis)


def _distributed() -> Any:
    import torch.distributed as dist

    return dist if dist.is_available() and dist.is_initialized() else None


def _broadcast(text: str) -> str:
    """Rank 0's run folder, for every process (itself when training is not distributed)."""
    dist = _distributed()
    if dist is None:
        return text
    box = [text]
    dist.broadcast_object_list(box, src=0)
    return str(box[0])


def _barrier() -> None:
    dist = _distributed()
    if dist is not None:
        dist.barrier()
