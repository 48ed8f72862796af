"""How the stability taps name the modules they measure (``stability.Namer``), from what the
torch watcher has seen: its layout's names, the forward order, the detail step's outputs."""

from __future__ import annotations

import weakref
from typing import Any

import torch
from torch import nn

from .layout import is_watched_module


class WatcherNames:
    """What the stability taps ask of the watcher (``stability.Namer``)."""

    def __init__(self, watcher: Any) -> None:  # a TorchWatcher (typed loosely: no cycle)
        self._w = watcher
        # classes -> (layout, modules seen, the last linear layer found): the search below runs
        # once per layout and set of modules seen, not at every loss call of every step
        self._linear: dict[int, tuple[Any, int, weakref.ref[nn.Module] | None]] = {}

    def name(self, module: nn.Module) -> str | None:
        name = self._w._layout.module_names.get(id(module))
        return (name or type(module).__name__) if name is not None else None

    def order(self, module: nn.Module) -> int:
        seen = list(self._w._seen)
        return seen.index(id(module)) if id(module) in self._w._seen else len(seen)

    def described(self, module: nn.Module) -> bool:
        return is_watched_module(module)

    def producer(self, tensor: torch.Tensor, classes: int) -> nn.Module | None:
        """The layer whose output ``tensor`` is (or is a view of), on a detail step; else the
        last linear layer called with ``classes`` outputs."""
        for t in (tensor, tensor._base):
            entry = self._w._flow.get(id(t)) if t is not None else None
            ref = self._w._seen.get(entry[1]) if entry is not None and entry[0]() is t else None
            if ref is not None and ref() is not None:
                return ref()
        return self._last_linear(classes)

    def _last_linear(self, classes: int) -> nn.Module | None:
        layout, seen = self._w._layout, len(self._w._seen)
        cached = self._linear.get(classes)
        if cached is not None and cached[0] is layout and cached[1] == seen:
            module = cached[2]() if cached[2] is not None else None
            if module is not None or cached[2] is None:
                return module
        found = None
        for ref in reversed(list(self._w._seen.values())):
            module = ref()
            if isinstance(module, nn.Linear) and module.out_features == classes and \
                    id(module) in layout.module_names:
                found = module
                break
        self._linear[classes] = (layout, seen, weakref.ref(found) if found is not None else None)
        return found
