"""TensorFlow entry point: which TensorFlow the script speaks, and the watchers for it.

A TF1 script (placeholders, ``tf.Session``, ``tf.get_variable``) runs unmodified on TF 2.x once
``tensorflow`` means ``tensorflow.compat.v1`` with v2 behaviour off: ``tf1_mode`` recognizes one
from its source, and ``TFAttachment`` makes the alias for the script's run only.
"""

from __future__ import annotations

import re
import sys
from types import ModuleType
from typing import Any

from ..core.recorder import Recorder

# Names that exist only in TF1's top-level namespace (gone from TF2's ``tf.``).
_TF1_API = re.compile(
    r"\btf\s*\.\s*(placeholder|Session|InteractiveSession|get_variable|variable_scope|"
    r"global_variables_initializer|initialize_all_variables|train\s*\.\s*\w*Optimizer|"
    r"layers\s*\.|contrib\s*\.|random_normal\b|truncated_normal\b|get_collection|GraphKeys)"
)
_COMPAT_IMPORT = re.compile(r"import\s+tensorflow\.compat\.v1|from\s+tensorflow\.compat\s+import")


def tf1_mode(source: str) -> bool:
    """Whether a script written against ``import tensorflow as tf`` uses the TF1 API."""
    return bool(_TF1_API.search(source)) and not _COMPAT_IMPORT.search(source)


class TFWatcher:
    """The session's one TensorFlow adapter: TF1 graphs and Keras 3 / ``tf.GradientTape``."""

    def __init__(self, recorder: Recorder, tf1: bool) -> None:
        from .tf1 import TF1Watcher
        from .tf_keras import KerasWatcher

        self.parts: list[Any] = [KerasWatcher(recorder)]
        if tf1:
            self.parts.append(TF1Watcher(recorder))

    @property
    def framework(self) -> str:
        return "tensorflow"

    @property
    def step(self) -> int:
        return max(p.step for p in self.parts)

    def start(self) -> "TFWatcher":
        for part in self.parts:
            part.start()
        return self

    def stop(self) -> None:
        for part in self.parts:
            part.stop()


class TFAttachment:
    """Attaches a ``TFWatcher`` when the script imports TensorFlow; in TF1 mode also makes
    ``import tensorflow`` return ``tensorflow.compat.v1`` until ``restore``."""

    def __init__(self, session: Any, tf1: bool) -> None:
        self.session = session
        self.tf1 = tf1
        self._real: ModuleType | None = None

    def __call__(self, module: ModuleType) -> None:
        if self._real is not None:
            return
        self._real = sys.modules.get("tensorflow", module)
        watcher = TFWatcher(self.session.recorder, self.tf1)  # imports our modules first
        self.session.attach(watcher.start())
        if self.tf1:
            compat = self._real.compat.v1
            compat.disable_v2_behavior()
            sys.modules["tensorflow"] = compat  # what `import tensorflow as tf` now returns

    def restore(self) -> None:
        if self._real is not None and self.tf1:
            sys.modules["tensorflow"] = self._real
