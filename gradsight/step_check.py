"""``gradsight.check(model, batch, loss_fn, optimizer=None)``: a pytest assertion that every
parameter will train.

    def test_every_parameter_trains():
        model = Net()
        gradsight.check(model, x, lambda out: F.cross_entropy(out, y),
                        torch.optim.Adam(model.parameters()))

One real training step (forward, backward, ``optimizer.step()``) on a deep copy of the model
and of the optimizer, then one ``AssertionError`` that lists *every* parameter that

- gets no gradient (its module never ran in the forward pass, or its output never reaches
  the loss), or a gradient that is exactly zero everywhere;
- is in no param group of the optimizer, or in one whose learning rate is 0;
- did not change in the step although it got a gradient and is optimized;
- starts from a badly scaled init: a Linear/Conv weight whose std is more than
  ``INIT_FACTOR`` times outside the range the standard inits give a weight of its shape,

each with its reason. The model, its optimizer and the global random state are left exactly as
found: everything runs on the copies, inside ``torch.random.fork_rng``.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any, Callable

from .probing.api import split_input

__all__ = ["check", "Problem"]

# The standard inits give a weight of a given shape a std between the smallest and the largest
# of: PyTorch's default 1/sqrt(3 fan_in), LeCun 1/sqrt(fan_in), He sqrt(2/fan_in) (or
# sqrt(2/fan_out), mode="fan_out", as torchvision's ResNets use), Glorot
# sqrt(2/(fan_in + fan_out)) with gain 1 or 5/3 (tanh), orthogonal 1/sqrt(max(fan_in, fan_out)).
# A std more than 3x outside that range scales the signal 3x beyond any of them at every layer.
# Story 003 (N(0, 1), 100 -> 100: 6x above the largest, Glorot-tanh 0.167) is caught with a
# margin of 2; stories 000/001 (N(0, 1e-3) on 1 and 16 inputs) are 140-250x below.
INIT_FACTOR = 3.0


@dataclass(frozen=True)
class Problem:
    """One parameter that will not train as it is, and why."""

    name: str
    kind: str  # no_gradient, zero_gradient, not_optimized, unchanged, poor_initialization
    reason: str

    def __str__(self) -> str:
        return f"{self.name}: {self.kind.replace('_', ' ')}: {self.reason}"


def check(model: Any, batch: Any, loss_fn: Callable[[Any], Any] | None = None,
          optimizer: Any = None) -> None:
    """Raise one ``AssertionError`` naming every parameter that will not train, with why.

    ``batch``: the model's input (a tensor, a tuple of positional arguments, or a dict of
    keyword arguments). ``loss_fn(output) -> scalar tensor``; without it the output must be a
    scalar or have ``.loss`` (Hugging Face models). ``optimizer``: the one training will use;
    without it, plain SGD over every parameter that requires a gradient.
    """
    problems = find_problems(model, batch, loss_fn, optimizer)
    if problems:
        lines = "\n".join(f"  {p}" for p in problems)
        raise AssertionError(
            f"gradsight.check: {len(problems)} problem(s) in {type(model).__name__}, found in "
            f"one training step on a copy:\n{lines}")


def find_problems(model: Any, batch: Any, loss_fn: Callable[[Any], Any] | None = None,
                  optimizer: Any = None) -> list[Problem]:
    """The problems ``check`` asserts on, as data."""
    import torch

    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"gradsight.check expects a torch.nn.Module, got "
                        f"{type(model).__name__}; pass the model itself (not a wrapper or a "
                        "function)")
    with torch.random.fork_rng(devices=_devices(model)):
        # one deepcopy of both: its memo maps each parameter the optimizer holds to the
        # copy's, so the copied optimizer steps the copied model, with the same state
        twin, opt = copy.deepcopy((model, optimizer))
        params = dict(twin.named_parameters())
        if opt is None:
            opt = torch.optim.SGD([p for p in twin.parameters() if p.requires_grad], lr=0.01)
        called = _forward_backward(twin, batch, loss_fn)
        before = {n: p.detach().clone() for n, p in params.items()}
        opt.step()
    optimized = _optimized(opt)
    problems: list[Problem] = []
    for name, p in params.items():
        if not p.requires_grad:
            continue
        owner = name.rsplit(".", 1)[0] if "." in name else ""
        grad_problem = _gradient_problem(name, p, owner, called)
        if grad_problem is not None:
            problems.append(grad_problem)
        lr = optimized.get(id(p))
        if lr is None:
            problems.append(Problem(name, "not_optimized", "requires a gradient but is in no "
                                    "param group of the optimizer: add it, or set "
                                    "requires_grad_(False) if it is meant to be frozen"))
        elif lr == 0:
            problems.append(Problem(name, "not_optimized", "its param group's learning rate "
                                    "is 0"))
        elif grad_problem is None and torch.equal(before[name], p.detach()):
            problems.append(Problem(name, "unchanged", "it got a gradient and is optimized, "
                                    "but optimizer.step() left it exactly as it was"))
    problems += _init_problems(twin)
    return problems


def _devices(model: Any) -> list[int]:
    return sorted({p.device.index or 0 for p in model.parameters() if p.device.type == "cuda"})


def _forward_backward(twin: Any, batch: Any, loss_fn: Callable[[Any], Any] | None) -> set[str]:
    """Run the step's forward and backward on the copy; the names of the modules called."""
    import torch

    names = {id(m): n for n, m in twin.named_modules()}
    called: set[str] = set()
    handle = torch.nn.modules.module.register_module_forward_hook(
        lambda module, args, out: called.add(names.get(id(module), "?")))
    try:
        args, kwargs = split_input(batch)
        output = twin(*args, **kwargs)
    finally:
        handle.remove()
    loss = loss_fn(output) if loss_fn is not None else getattr(output, "loss", output)
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        raise ValueError(f"gradsight.check needs a scalar loss; got {type(loss).__name__}"
                         f"{tuple(loss.shape) if isinstance(loss, torch.Tensor) else ''}: pass "
                         "loss_fn=lambda output: <your loss of the output>")
    twin.zero_grad(set_to_none=True)
    loss.backward()
    return called


def _gradient_problem(name: str, p: Any, owner: str, called: set[str]) -> Problem | None:
    if p.grad is None:
        if owner not in called:
            why = (f"its module {owner or '(the model)'} never ran in the forward pass: call "
                   "it, or delete it")
        else:
            why = (f"its module {owner or '(the model)'} ran, but its output does not reach "
                   "the loss: is the result used (x = layer(x)), or cut by .detach(), "
                   "torch.no_grad(), .item() or .data?")
        return Problem(name, "no_gradient", why)
    if not bool(p.grad.any()):
        return Problem(name, "zero_gradient", "its gradient is exactly 0 everywhere (dead "
                       "ReLUs or a zero-initialized layer between it and the loss, or a mask)")
    return None


def _optimized(opt: Any) -> dict[int, float]:
    out: dict[int, float] = {}
    for group in opt.param_groups:
        lr = group.get("lr", math.nan)
        for p in group["params"]:
            out[id(p)] = float(lr)
    return out


def _init_problems(twin: Any) -> list[Problem]:
    import torch

    out = []
    for mname, module in twin.named_modules():
        weight = getattr(module, "weight", None)
        if not isinstance(module, (torch.nn.Linear, torch.nn.modules.conv._ConvNd)) or \
                not isinstance(weight, torch.Tensor) or weight.numel() < 2:
            continue
        fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(weight)
        low, high = standard_std_range(fan_in, fan_out)
        std = float(weight.detach().double().std())
        if std == 0.0:  # all zeros is a deliberate choice (zero-init output or residual
            continue    # branch), not a scale; what it does to gradients shows above
        if math.isfinite(std) and low / INIT_FACTOR <= std <= high * INIT_FACTOR:
            continue
        lecun = 1.0 / math.sqrt(fan_in)
        name = f"{mname}.weight" if mname else "weight"
        above = not std < low
        out.append(Problem(name, "poor_initialization",
                           f"std {std:.3g} is {'above' if above else 'below'} every standard "
                           f"init for its shape ({low:.3g} to {high:.3g}; fan_in {fan_in}, "
                           f"fan_out {fan_out}), {std / lecun:.3g}x 1/sqrt(fan_in), so the "
                           f"signal {'grows' if above else 'shrinks'} at every layer: use He "
                           "(before ReLU) or Xavier/Glorot init"))
    return out


def standard_std_range(fan_in: int, fan_out: int) -> tuple[float, float]:
    """The smallest and the largest std the standard inits give a weight of this shape."""
    glorot = math.sqrt(2.0 / (fan_in + fan_out))
    stds = (1.0 / math.sqrt(3 * fan_in), 1.0 / math.sqrt(fan_in), math.sqrt(2.0 / fan_in),
            math.sqrt(2.0 / fan_out), glorot, 5.0 / 3.0 * glorot,
            1.0 / math.sqrt(max(fan_in, fan_out)))
    return min(stds), max(stds)
