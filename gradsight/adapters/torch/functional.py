"""Activations applied as functions inside ``forward`` (``F.relu``, ``torch.tanh``,
``x.clamp(min=0)``, ...), measured where their output is consumed.

No module hook sees a function, but the next layer with parameters sees its result as its
input. On detail steps, when a layer's input was not some module's output, the autograd graph
behind it says what made it: walking back from the input's ``grad_fn`` through nodes that only
move values (views, flatten, max-pool, dropout's mask) to an activation node, and past it to
the node of the module output it was applied to. The statistics are then the producer's:

- ReLU family (``relu``, ``threshold``, ``clamp``/``hardtanh`` with a lower bound of 0): which
  input features were positive for any sample of the batch (features: the channel of a
  convolution's or batch norm's input, the last dimension otherwise). A feature that is zero
  for every input is a dead unit of the layer the ReLU was applied to;
- tanh/sigmoid: the fraction of values within 0.01 of an asymptote.

They are shipped as that producer module's ``dead_frac``/``dead_frac_window``/
``act_saturated_frac`` rows, and the producer is described as applying the activation, as a
Keras ``Dense(activation=...)`` is: its weights are then "followed by" it, and the data flow
producer -> consumer is known. Inputs without a ``grad_fn`` are data, never judged. Everything
is device ops on tensors the forward pass already made; the graph walk is host bookkeeping.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from ...core import metrics as m
from ...core.recorder import Recorder
from . import stats
from .detail import DeadWindows

MAX_WALK = 8  # graph nodes walked back from a layer's input
# Nodes that only move or select values: a ReLU's zeros and a tanh's values pass them unchanged.
MOVES = ("ViewBackward", "ReshapeAlias", "UnsafeViewBackward", "PermuteBackward",
         "TransposeBackward", "TBackward", "SqueezeBackward", "UnsqueezeBackward",
         "CloneBackward", "SelectBackward", "SliceBackward", "MaxPool", "AdaptiveMaxPool",
         "ExpandBackward")
# ... and nodes that keep zeros zero (a scaling mask, an average of non-negative values).
KEEPS_ZEROS = ("NativeDropoutBackward", "AvgPool", "AdaptiveAvgPool")
FAMILIES = {"ReluBackward": "relu", "ThresholdBackward": "relu", "TanhBackward": "tanh",
            "SigmoidBackward": "sigmoid", "GeluBackward": "gelu", "LeakyReluBackward":
            "leaky_relu", "EluBackward": "elu", "SiluBackward": "silu"}
BOUNDED_BELOW = ("ClampBackward", "ClampMinBackward", "HardtanhBackward")  # relu if min is 0
CHANNEL_FIRST = ("conv", "batch_norm", "norm")  # neutral kinds whose inputs are (N, C, ...)


def _kind(node: Any) -> str:
    return type(node).__name__.rstrip("0123456789")


def activation_of(node: Any) -> tuple[str, Any] | None:
    """(family, the activation's node) behind ``node``, walking back over nodes that only
    move values; None when no activation is found."""
    zeros_only = False
    for _ in range(MAX_WALK):
        if node is None:
            return None
        kind = _kind(node)
        family = FAMILIES.get(kind)
        if family is None and kind in BOUNDED_BELOW:
            low = getattr(node, "_saved_min", getattr(node, "_saved_min_val", None))
            family = "relu" if isinstance(low, (int, float)) and low == 0 else None
            if family is None:
                return None
        if family is not None:
            if zeros_only and family != "relu":
                return None  # a scaled tanh output no longer shows its saturation
            return family, node
        if kind.startswith(KEEPS_ZEROS) or (kind == "MulBackward" and _one_input(node)):
            zeros_only = True  # dropout: x * mask, mask a constant
        elif not kind.startswith(MOVES):
            return None
        node = _first_input(node)
    return None


def _first_input(node: Any) -> Any:
    for child, _ in getattr(node, "next_functions", ()):
        if child is not None:
            return child
    return None


def _one_input(node: Any) -> bool:
    return sum(child is not None for child, _ in node.next_functions) == 1


@dataclass
class _Seen:
    family: str
    active: torch.Tensor | None = None
    saturated: torch.Tensor | None = None
    calls: int = 0


class FunctionalActivations:
    """Per detail step: which module outputs went through which functional activation, and
    the activation's statistics, measured at the consumer."""

    def __init__(self) -> None:
        self.families: dict[int, str] = {}  # id(producer module) -> family, over the run
        self.edges: dict[int, set[int]] = {}  # id(consumer) -> ids of producers
        self.changed = False  # a family or an edge the layout has not described yet
        self._nodes: dict[int, int] = {}  # id(grad_fn of a module output) -> id(module)
        self._seen: dict[int, _Seen] = {}
        self._windows = DeadWindows()
        self.at_loss: set[int] = set()  # ids of modules whose ReLU output the loss takes
        self._said: set[str] = set()

    def produced(self, key: int, output: torch.Tensor) -> None:
        """A watched module's output (its graph node is what an activation is applied to)."""
        if output.grad_fn is not None:
            self._nodes[id(output.grad_fn)] = key

    def consumed(self, key: int, kind: str | None, value: torch.Tensor) -> None:
        """A layer with parameters took ``value`` (not a module's output) as its input."""
        found = self._producer_of(value)
        if found is None:
            return
        family, producer = found
        if producer == key:
            return
        if self.families.get(producer) != family or producer not in self.edges.get(key, set()):
            self.families[producer] = family
            self.edges.setdefault(key, set()).add(producer)
            self.changed = True
        self._measure(producer, family, value.detach(), 1 if kind in CHANNEL_FIRST else -1)

    def consumed_by_loss(self, value: torch.Tensor, class_dim: int) -> None:
        """The training loss took ``value``: an activation applied to the model's output
        before the loss (``torch.relu(self.fc(x))`` fed to a cross-entropy) is the output
        layer's, and a ReLU there kills outputs (classes) as it kills hidden units: a class
        whose score is clamped to 0 for every input gets no gradient again. Features are
        ``class_dim`` (the loss function's class axis) where the value has more than 2 dims,
        the last one otherwise. The module is remembered as feeding the loss (``at_loss``),
        an activation module (``nn.ReLU`` last in a ``Sequential``) too."""
        if not self._nodes or value.grad_fn is None:
            return  # not a detail step (no module output was seen), or data
        found = activation_of(value.grad_fn)
        if found is not None and id(found[1]) in self._nodes:
            if found[0] in m.RELU_FAMILY:
                self.at_loss.add(self._nodes[id(found[1])])
            return  # an activation module's output: measured as such
        if not value.is_floating_point() or value.ndim < 2:
            return
        behind = self._producer_behind(found)
        if behind is None:
            return
        family, producer = behind
        if family in m.RELU_FAMILY:
            self.at_loss.add(producer)
        if self.families.get(producer) != family:
            self.families[producer] = family
            self.changed = True
        self._measure(producer, family, value.detach(), class_dim if value.ndim > 2 else -1)

    def _producer_of(self, value: torch.Tensor) -> tuple[str, int] | None:
        """(family, id of the module whose output the functional activation behind ``value``
        was applied to); None where there is none, or where it is an activation module's own
        output (measured as such)."""
        if value.grad_fn is None or not value.is_floating_point() or value.ndim < 2:
            return None  # data, or nothing to take units from
        return self._producer_behind(activation_of(value.grad_fn))

    def _producer_behind(self, found: tuple[str, Any] | None) -> tuple[str, int] | None:
        """``_producer_of`` from the activation node ``activation_of`` found (or None)."""
        if found is None:
            return None
        family, activation = found
        if id(activation) in self._nodes:
            return None  # an activation module's output (nn.ReLU, nn.Tanh): measured as such
        node = _first_input(activation)
        for _ in range(MAX_WALK):  # past value-moving nodes to the module output it came from
            if node is None or id(node) in self._nodes or not _kind(node).startswith(MOVES):
                break
            node = _first_input(node)
        producer = self._nodes.get(id(node)) if node is not None else None
        return None if producer is None else (family, producer)

    def _measure(self, producer: int, family: str, x: torch.Tensor, feature_dim: int) -> None:
        acc = self._seen.setdefault(producer, _Seen(family))
        if acc.family != family:
            return
        acc.calls += 1
        if family in m.RELU_FAMILY:
            dims = tuple(i for i in range(x.ndim) if i != feature_dim % x.ndim)
            units = x.amax(dim=dims) > 0
            same = acc.active is not None and acc.active.shape == units.shape
            acc.active = acc.active | units if same else units  # type: ignore[operator]
        elif family in m.SATURATING:
            level = m.SATURATION_LEVEL
            flat = x.abs() > level if family == "tanh" else (x < 1 - level) | (x > level)
            fraction = flat.sum(dtype=stats.F64) / max(x.numel(), 1)
            acc.saturated = fraction if acc.saturated is None else acc.saturated + fraction

    def ship(self, step: int, names: dict[int, str], recorder: Recorder) -> None:
        """The step's rows, under the producers' names (after their own output rows, so a
        saturation measured here is the one kept for the step)."""
        for key in self.at_loss:
            name = names.get(key)
            if name is not None and name not in self._said:
                self._said.add(name)
                recorder.event(step, m.EVENT_ACTIVATION_AT_LOSS, name, {})
        for key, acc in self._seen.items():
            name = names.get(key)
            if name is None:
                continue
            if acc.active is not None:
                dead = 1 - acc.active.to(stats.F64).mean()
                values = [dead]
                metrics = [m.DEAD_FRAC]
                closed = self._windows.close(name, acc.active)
                if closed is not None:
                    values.append(closed)
                    metrics.append(m.DEAD_FRAC_WINDOW)
                recorder.record(step, "module", [name], metrics,
                                stats.HostCopy(torch.stack(values)[None]))
            if acc.saturated is not None:
                recorder.record(step, "module", [name], (m.ACT_SATURATED_FRAC,),
                                stats.HostCopy((acc.saturated / acc.calls).reshape(1, 1)))
        self.clear()

    def clear(self) -> None:
        self._seen.clear()
        self._nodes.clear()
