"""``gradsight.keras.Callback``: explicit watching of one ``model.fit``.

    from gradsight.keras import Callback
    watcher = Callback(out="runs/exp1")
    model.fit(x, y, callbacks=[watcher])
    print(watcher.findings)

The same machinery as ``gradsight run`` and ``gradsight.watch(model)``. The statistics are
ops in the traced training step, so the callback must be there when ``fit`` first traces it
(the first ``fit`` of a model, or after ``model.compile``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras

from .core.finding import Finding
from .core.diagnosis import Diagnosis
from .run.watch import Watch


class Callback(keras.callbacks.Callback):
    """Watches the model it is given to, from ``on_train_begin`` to ``on_train_end``."""

    def __init__(self, out: str | Path | None = None, every: int | None = None) -> None:
        super().__init__()
        self._out = out
        self._every = every
        self.watch: Watch | None = None
        self.diagnosis: Diagnosis | None = None

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.watch = Watch(self.model, getattr(self.model, "optimizer", None), out=self._out,
                           every=self._every)

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self.watch is not None:
            self.diagnosis = self.watch.close()

    @property
    def findings(self) -> list[Finding]:
        return self.diagnosis.findings if self.diagnosis is not None else []
