"""``gradsight demo``: seeds 000/001 told end to end, with no user files.

A 3-layer ReLU net with every weight from N(0, 1e-3) learns nothing: each gradient that
reaches the first layer is a product of two 1e-3-scale matrices. gradsight names the layer and
the numbers; then the answer's fix (Glorot weights, bias 0.1) is applied and the same watch
shows the weights moving and no warning.
"""

from __future__ import annotations

import sys
from pathlib import Path

from rich.console import Console
from rich.rule import Rule

STEPS = 3000


def main(out_root: str | Path = "gradsight-runs", steps: int = STEPS) -> int:
    try:
        import torch
    except ImportError:
        print("gradsight demo needs PyTorch: pip install 'gradsight[torch]'", file=sys.stderr)
        return 2
    from ..reports.terminal import render
    from .session import default_folder
    from .watch import watch

    console = Console()
    results = {}
    for label, fixed in (("before", False), ("after", True)):
        console.print(Rule(_title(fixed)))
        model, optimizer = _network(torch, fixed)
        first = model[0].weight.detach().clone()
        with watch(model, optimizer, out=default_folder(f"demo-{label}", out_root)) as w:
            loss = _train(torch, model, optimizer, steps)
        diagnosis = w.close()
        render(diagnosis, console)
        moved = ((model[0].weight.detach() - first).norm() / first.norm()).item()
        results[label] = (moved, loss, diagnosis)
        console.print(f"first layer moved {100 * moved:.1f}% of its norm in {steps} steps; "
                      f"final loss {loss:.3g}")
    before, after = results["before"], results["after"]
    console.print(Rule("summary"))
    console.print(
        f"first-layer movement {100 * before[0]:.1f}% -> {100 * after[0]:.1f}%, "
        f"final loss {before[1]:.3g} -> {after[1]:.3g}, warnings/errors "
        f"{_problems(before[2])} -> {_problems(after[2])}"
    )
    return 0


def _title(fixed: bool) -> str:
    if fixed:
        return "after the fix: Glorot (Xavier) weights, bias 0.1"
    return "seed 000/001: a 3-layer ReLU net, every weight and bias from N(0, 1e-3)"


def _network(torch, fixed: bool):  # type: ignore[no-untyped-def]
    torch.manual_seed(0)
    nn = torch.nn
    model = nn.Sequential(nn.Linear(1, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(),
                          nn.Linear(16, 1))
    for layer in model:
        if isinstance(layer, nn.Linear):
            if fixed:
                nn.init.xavier_uniform_(layer.weight)
                nn.init.constant_(layer.bias, 0.1)
            else:
                nn.init.normal_(layer.weight, 0.0, 1e-3)
                nn.init.normal_(layer.bias, 0.0, 1e-3)
    return model, torch.optim.SGD(model.parameters(), lr=1e-3)


def _train(torch, model, optimizer, steps: int) -> float:  # type: ignore[no-untyped-def]
    """The seed's loop: one random input in [-1, 1) per step, reconstruct it."""
    generator = torch.Generator().manual_seed(1)
    total, window = 0.0, max(1, steps // 10)
    for step in range(steps):
        x = torch.rand(1, 1, generator=generator) * 2 - 1
        loss = ((x[0, 0] - 2.0 * model(x)[0, 0]) ** 2).sum()
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_value_(model.parameters(), 4.5)
        optimizer.step()
        if step >= steps - window:
            total += loss.item()
    return total / window


def _problems(diagnosis) -> int:  # type: ignore[no-untyped-def]
    return sum(1 for f in diagnosis.findings if f.severity.value in ("error", "warning"))
