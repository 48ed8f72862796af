"""Taps on PyTorch functions whose inputs the optimizer hooks never see.

- gradient clipping: the optimizer step hook sees the gradients *after* clipping, which hides
  the very explosion the clipping contains. Norm clipping (``clip_grad_norm_``) scales every
  gradient by one coefficient, ``min(max_norm / (total_norm + 1e-6), 1)``: the tap hands that
  coefficient (a device tensor) to the watcher, which recovers each gradient's norm before
  clipping from its norm after, with no extra pass over the gradients. Value clipping
  (``clip_grad_value_``) clamps elements, so there the norms are taken before the original runs.
- ``torch.amp.GradScaler.scale``: under mixed precision ``backward`` receives ``loss * scale``
  (2**16 by default); the tap remembers which unscaled loss each scaled one came from, so the
  recorded loss is the user's loss.

Each wrapper calls the original with the same arguments (a generator of parameters is listed
first, because both the tap and the original read it); the tap's own work runs in a ``Guard``.
The taps are module attributes, so a script that imports the function after gradsight attached
(``from torch.nn.utils import clip_grad_norm_``) gets the wrapper too, and norm clipping is tapped
at ``clip_grad._clip_grads_with_norm_``, which ``clip_grad_norm_`` looks up at every call: that
also catches a ``clip_grad_norm_`` imported by name before watching began.
"""

from __future__ import annotations

import functools
import weakref
from typing import Any, Callable

import torch

from ..patching import Guard, Patches
from .stats import is_dtensor, local

# on_clip(parameters, "norm", max_norm, coefficient) or (parameters, "value", clip_value, None)
ClipCallback = Callable[[list[torch.Tensor], str, float, Any], None]


def _clip_targets() -> list[tuple[Any, str, str]]:
    import torch.nn.utils as utils
    import torch.nn.utils.clip_grad as clip_grad

    targets = [(utils, "clip_grad_value_", "value"), (clip_grad, "clip_grad_value_", "value")]
    if hasattr(clip_grad, "_clip_grads_with_norm_"):
        targets.append((clip_grad, "_clip_grads_with_norm_", "norm"))
    return targets


def install_clip_tap(patches: Patches, guard: Guard, on_clip: ClipCallback) -> None:
    for module, name, kind in _clip_targets():
        if getattr(getattr(module, name, None), "_gradsight_tap", False):
            continue
        patches.wrap(module, name, lambda original, kind=kind: _clip_wrapper(
            original, kind, guard, on_clip))


def _clip_wrapper(original: Callable[..., Any], kind: str, guard: Guard,
                  on_clip: ClipCallback) -> Callable[..., Any]:
    @functools.wraps(original)
    def clip(parameters: Any, limit: Any, *args: Any, **kwargs: Any) -> Any:
        if not isinstance(parameters, torch.Tensor):
            parameters = list(parameters)  # both the tap and the original read it
        if guard.active:
            guard.run(_tap, on_clip, kind, parameters, limit, args, kwargs)
        return original(parameters, limit, *args, **kwargs)

    clip._gradsight_tap = True  # type: ignore[attr-defined]
    return clip


def _tap(on_clip: ClipCallback, kind: str, parameters: Any, limit: Any, args: Any,
         kwargs: Any) -> None:
    tensors = [parameters] if isinstance(parameters, torch.Tensor) else parameters
    tensors = [p for p in tensors if isinstance(p, torch.Tensor)]
    value = float(limit) if not isinstance(limit, torch.Tensor) else float("nan")
    coefficient = None
    if kind == "norm":
        total = args[0] if args else kwargs.get("total_norm")
        if not isinstance(total, torch.Tensor):
            return
        if is_dtensor(total):  # FSDP2: torch reduced it across ranks already (Replicate)
            if not all(p.is_replicate() for p in total.placements):
                on_clip(tensors, kind, value, None)  # a reduction still pending: unknown
                return
            total = local(total)
        coefficient = torch.clamp(float(limit) / (total.detach() + 1e-6), max=1.0)
    on_clip(tensors, kind, value, coefficient)


class ClipBook:
    """What the clipping tap saw this step: per parameter the clip coefficient (norm clipping)
    or the norm before clipping (value clipping), and the limits, recorded on detail steps."""

    def __init__(self) -> None:
        self.entries: dict[int, tuple[str, Any]] = {}  # id(param) -> ("norm", coef) | ("value", n)
        self.limits: dict[int, tuple[str, float]] = {}

    def saw(self, params: list[torch.Tensor], kind: str, limit: float, coef: Any) -> None:
        if kind == "norm":
            for p in params if coef is not None else ():
                self.entries[id(p)] = ("norm", coef)
        else:
            from .stats import norms

            with torch.no_grad():
                pairs = [(p, p.grad) for p in params if p.grad is not None]
                for (p, _), value in zip(pairs, norms([g for _, g in pairs])):
                    self.entries[id(p)] = ("value", value)
        for p in params:
            self.limits[id(p)] = (kind, limit)

    def record_limits(self, recorder: Any, step: int, names: list[str],
                      params: list[torch.Tensor]) -> None:
        from ...core import metrics as m

        for kind, metric in (("norm", m.CLIP_NORM_LIMIT), ("value", m.CLIP_VALUE_LIMIT)):
            named = [(n, self.limits[id(p)][1]) for n, p in zip(names, params)
                     if self.limits.get(id(p), ("",))[0] == kind]
            if named:
                recorder.record(step, "param", [n for n, _ in named], (metric,),
                                [[v] for _, v in named])

    def clear(self) -> None:
        self.entries.clear()


class GradResets:
    """Whether each parameter's gradient was reset between two optimizer steps: a wrapper of
    ``Optimizer.zero_grad`` and ``Module.zero_grad`` notes the parameters they reset, and a
    ``.grad`` that is not the tensor the last step used (set to None, replaced) is reset too.
    What is left is a gradient the next backward added to: ``.grad`` never reset."""

    def __init__(self) -> None:
        self._reset: set[int] = set()
        self._used: dict[int, int] = {}  # id(param) -> id of the .grad the last step used

    def install(self, patches: Patches, guard: Guard) -> None:
        def make(original: Callable[..., Any], owner: str) -> Callable[..., Any]:
            @functools.wraps(original)
            def zero_grad(self: Any, *args: Any, **kwargs: Any) -> Any:
                if guard.active:
                    guard.run(resets._noted, self, owner)
                return original(self, *args, **kwargs)

            return zero_grad

        resets = self
        patches.wrap(torch.optim.Optimizer, "zero_grad", lambda o: make(o, "optimizer"))
        patches.wrap(torch.nn.Module, "zero_grad", lambda o: make(o, "module"))

    def _noted(self, owner_object: Any, owner: str) -> None:
        if owner == "optimizer":
            params = [p for g in owner_object.param_groups for p in g["params"]]
        else:
            params = list(owner_object.parameters())
        self._reset.update(id(p) for p in params)

    def since_last_step(self, params: list[torch.Tensor], step: int) -> tuple[float, ...]:
        """1.0 reset, 0.0 accumulated into, NaN unknown (no step seen before)."""
        out = []
        for p in params:
            used = self._used.get(id(p))
            if used is None or p.grad is None:
                out.append(float("nan") if used is None else 1.0)
            else:
                out.append(1.0 if id(p) in self._reset or id(p.grad) != used else 0.0)
        return tuple(out)

    def stepped(self, params: list[torch.Tensor]) -> None:
        for p in params:
            self._reset.discard(id(p))
            if p.grad is not None:
                self._used[id(p)] = id(p.grad)


class ScalerTap:
    """Maps each ``GradScaler.scale(loss)`` result back to ``loss``."""

    def __init__(self) -> None:
        self._scaled: dict[int, tuple[weakref.ref[torch.Tensor], torch.Tensor]] = {}

    def install(self, patches: Patches, guard: Guard) -> None:
        scaler_type = getattr(getattr(torch, "amp", None), "GradScaler", None)
        if scaler_type is None or getattr(scaler_type.scale, "_gradsight_tap", False):
            return
        scaled = self._scaled

        def make(original: Callable[..., Any]) -> Callable[..., Any]:
            @functools.wraps(original)
            def scale(scaler: Any, outputs: Any) -> Any:
                result = original(scaler, outputs)
                if guard.active and isinstance(outputs, torch.Tensor) and isinstance(
                        result, torch.Tensor):
                    if len(scaled) > 64:  # only the current step's losses matter
                        scaled.clear()
                    scaled[id(result)] = (weakref.ref(result), outputs.detach())
                return result

            scale._gradsight_tap = True  # type: ignore[attr-defined]
            return scale

        patches.wrap(scaler_type, "scale", make)

    def unscaled(self, tensor: torch.Tensor) -> torch.Tensor:
        """The loss ``tensor`` was scaled from, or ``tensor`` itself."""
        entry = self._scaled.pop(id(tensor), None)
        if entry is not None and entry[0]() is tensor:
            return entry[1]
        return tensor

    def clear(self) -> None:
        self._scaled.clear()
