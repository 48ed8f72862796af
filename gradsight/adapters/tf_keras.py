"""Keras 3 adapter (stub)."""
from __future__ import annotations
from typing import Any


class KerasWatcher:
    def __init__(self, recorder: Any) -> None:
        self.recorder = recorder
        self.step = 0

    def start(self) -> "KerasWatcher":
        return self

    def stop(self) -> None:
        pass
