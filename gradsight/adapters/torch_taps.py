"""Taps on two PyTorch functions whose inputs the optimizer hooks never see.

- gradient clipping (``clip_grad_norm_`` / ``clip_grad_value_``): the optimizer step hook sees the
  gradients *after* clipping, which hides the very explosion the clipping contains. The tap
  hands the gradients to the watcher before the original clips them.
- ``torch.amp.GradScaler.scale``: under mixed precision ``backward`` receives ``loss * scale``
  (2**16 by default); the tap remembers which unscaled loss each scaled one came from so that
  the recorded loss is the user's loss.

Both wrappers call the original with the same arguments (a generator of parameters is turned
into a list first, because both the tap and the original must read it): what the training
computes is unchanged. The taps are module attributes, so scripts that import the function
after gradsight attached (``from torch.nn.utils import clip_grad_norm_``) get the wrapper too.
"""

from __future__ import annotations

import functools
import weakref
from typing import Any, Callable

import torch

ClipCallback = Callable[[list[torch.Tensor], str, float], None]


def _clip_targets() -> list[tuple[Any, str, str]]:
    """(module, function, kind) to wrap.

    Norm clipping is tapped at ``clip_grad._clip_grads_with_norm_``, which
    ``clip_grad_norm_`` looks up in its module at every call: that catches a
    ``clip_grad_norm_`` imported by name before gradsight attached (``watch()``), and the
    parameters arrive already listed. ``clip_grad_value_`` has no such inner function.
    """
    import torch.nn.utils as utils
    import torch.nn.utils.clip_grad as clip_grad

    targets = [(utils, "clip_grad_value_", "value"), (clip_grad, "clip_grad_value_", "value")]
    if hasattr(clip_grad, "_clip_grads_with_norm_"):
        targets.append((clip_grad, "_clip_grads_with_norm_", "norm"))
    else:  # older PyTorch: the public function only
        targets += [(utils, "clip_grad_norm_", "norm"), (clip_grad, "clip_grad_norm_", "norm")]
    return targets


class ClipTap:
    """Calls ``on_clip(parameters, kind, limit)`` before gradients are clipped."""

    def __init__(self, on_clip: ClipCallback) -> None:
        self._on_clip = on_clip
        self._saved: list[tuple[Any, str, Any]] = []

    def install(self) -> None:
        for module, name, kind in _clip_targets():
            original = getattr(module, name, None)
            if original is None or getattr(original, "_gradsight_tap", False):
                continue
            self._saved.append((module, name, original))
            setattr(module, name, self._wrap(original, kind))

    def remove(self) -> None:
        for module, name, original in reversed(self._saved):
            setattr(module, name, original)
        self._saved = []

    def _wrap(self, original: Callable[..., Any], kind: str) -> Callable[..., Any]:
        on_clip = self._on_clip

        @functools.wraps(original)
        def clip(parameters: Any, limit: Any, *args: Any, **kwargs: Any) -> Any:
            if not isinstance(parameters, torch.Tensor):
                parameters = list(parameters)  # both the tap and the original read it
            try:
                tensors = [parameters] if isinstance(parameters, torch.Tensor) else parameters
                on_clip([p for p in tensors if isinstance(p, torch.Tensor)], kind,
                        float(limit) if not isinstance(limit, torch.Tensor) else float("nan"))
            except Exception:  # watching must never break the user's step
                pass
            return original(parameters, limit, *args, **kwargs)

        clip._gradsight_tap = True  # type: ignore[attr-defined]
        return clip


class ScalerTap:
    """Maps each ``GradScaler.scale(loss)`` result back to ``loss``."""

    def __init__(self) -> None:
        self._scaled: dict[int, tuple[weakref.ref[torch.Tensor], torch.Tensor]] = {}
        self._saved: tuple[type, Callable[..., Any]] | None = None

    def install(self) -> None:
        scaler_type = getattr(getattr(torch, "amp", None), "GradScaler", None)
        if scaler_type is None or getattr(scaler_type.scale, "_gradsight_tap", False):
            return
        original = scaler_type.scale
        scaled = self._scaled

        @functools.wraps(original)
        def scale(scaler: Any, outputs: Any) -> Any:
            result = original(scaler, outputs)
            if isinstance(outputs, torch.Tensor) and isinstance(result, torch.Tensor):
                if len(scaled) > 64:  # only the current step's losses matter
                    scaled.clear()
                scaled[id(result)] = (weakref.ref(result), outputs.detach())
            return result

        scale._gradsight_tap = True  # type: ignore[attr-defined]
        scaler_type.scale = scale
        self._saved = (scaler_type, original)

    def remove(self) -> None:
        if self._saved is not None:
            scaler_type, original = self._saved
            scaler_type.scale = original
            self._saved = None
        self._scaled.clear()

    def unscaled(self, tensor: torch.Tensor) -> torch.Tensor:
        """The loss ``tensor`` was scaled from, or ``tensor`` itself."""
        entry = self._scaled.pop(id(tensor), None)
        if entry is not None and entry[0]() is tensor:
            return entry[1]
        return tensor
