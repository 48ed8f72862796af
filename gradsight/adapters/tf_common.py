"""TensorFlow entry point: which TensorFlow the script speaks, and the watchers for it.

A TF1 script (placeholders, ``tf.Session``, ``tf.get_variable``) runs unmodified on TF 2.x once
``tensorflow`` means ``tensorflow.compat.v1`` with v2 behaviour off: ``tf1_mode`` recognizes one
from its source, and ``TFAttachment`` makes the alias for the script's run only.
"""

from __future__ import annotations

import io
import re
import sys
import tokenize
from types import ModuleType
from typing import Any


# Names that exist only in TF1's top-level namespace (gone from TF2's ``tf.``).
_TF1_API = re.compile(
    r"\btf\s*\.\s*(placeholder|Session|InteractiveSession|get_variable|variable_scope|"
    r"global_variables_initializer|initialize_all_variables|train\s*\.\s*\w*Optimizer|"
    r"layers\s*\.|contrib\s*\.|random_normal\b|truncated_normal\b|get_collection|GraphKeys)"
)
_COMPAT_IMPORT = re.compile(
    r"import\s+tensorflow\s*\.\s*compat\s*\.\s*v1|from\s+tensorflow\s*\.\s*compat\s+import"
)


def tf1_mode(source: str) -> bool:
    """Whether a script written against ``import tensorflow as tf`` uses the TF1 API
    (in its code: a docstring that mentions ``tf.placeholder`` does not count)."""
    code = _code_only(source)
    return bool(_TF1_API.search(code)) and not _COMPAT_IMPORT.search(code)


def _code_only(source: str) -> str:
    """The source with comments and string literals dropped (Python 2 prints still tokenize)."""
    out = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type not in (tokenize.COMMENT, tokenize.STRING):
                out.append(tok.string)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return source
    return " ".join(out)


class TFWatcher:
    """The session's one TensorFlow adapter: TF1 graphs and Keras 3 / ``tf.GradientTape``.

    Its parts attach as their modules finish importing (``keras`` may import TensorFlow
    half-way through its own import, so the Keras part waits for ``keras`` itself).
    """

    def __init__(self) -> None:
        self.parts: list[Any] = []

    framework = "tensorflow"

    @property
    def step(self) -> int:
        return max((p.step for p in self.parts), default=0)

    @property
    def api(self) -> str:
        """``keras`` or ``tf1``: the part that stepped most (the words its advice is in)."""
        stepped = [p for p in self.parts if p.step > 0]
        return max(stepped, key=lambda p: p.step).api if stepped else "keras"

    def add(self, part: Any) -> None:
        self.parts.append(part.start())

    def stop(self) -> None:
        for part in self.parts:
            part.stop()


class TFAttachment:
    """The import callback for ``tensorflow`` and ``keras``: attaches a ``TFWatcher`` to the
    session; in TF1 mode also makes ``import tensorflow`` return ``tensorflow.compat.v1`` until
    ``restore``."""

    def __init__(self, session: Any, tf1: bool) -> None:
        self.session = session
        self.tf1 = tf1
        self._real: ModuleType | None = None
        self._watcher: TFWatcher | None = None
        self._keras = False

    def __call__(self, module: ModuleType) -> None:
        if self._watcher is None:
            self._watcher = TFWatcher()
            self.session.attach(self._watcher)
        if module.__name__ == "tensorflow" and self._real is None:
            from .tf1.watcher import TF1Watcher

            self._real = module
            # Always: a script that imports tensorflow.compat.v1 itself is a TF1 script too,
            # and in a TF2 script these wrappers never fire (no Session, no v1 optimizer).
            self._watcher.add(TF1Watcher(self.session.recorder))
            if self.tf1:
                module.compat.v1.disable_v2_behavior()
                sys.modules["tensorflow"] = module.compat.v1  # what `import tensorflow` returns
        elif module.__name__ == "keras" and not self._keras:
            self._keras = True
            if module.config.backend() == "tensorflow":
                from .keras.watcher import KerasWatcher

                self._watcher.add(KerasWatcher(self.session.recorder))

    def restore(self) -> None:
        if self._real is not None and self.tf1:
            sys.modules["tensorflow"] = self._real
