"""Watching must not change training, and must leave PyTorch as it found it.

The same seeded training (dropout, so the random stream matters; Adam, so optimizer state
matters) runs once plain and once watched in the same process: losses, final parameters and the
global RNG state must be bit-identical.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402
from torch.nn.modules import module as nn_module  # noqa: E402
from torch.optim import optimizer as optim_module  # noqa: E402

import gradsight  # noqa: E402

STEPS = 20


def build() -> tuple[nn.Module, torch.optim.Optimizer]:
    torch.manual_seed(1234)
    model = nn.Sequential(
        nn.Linear(6, 32), nn.ReLU(), nn.Dropout(0.3),
        nn.Linear(32, 16), nn.Tanh(), nn.Dropout(0.2),
        nn.Linear(16, 1),
    )
    return model, torch.optim.Adam(model.parameters(), lr=1e-2)


def train(model: nn.Module, optimizer: torch.optim.Optimizer, steps: int,
          start: int = 0) -> list[torch.Tensor]:
    """Draws its data from the global generator, interleaved with dropout's draws."""
    losses = []
    for step in range(start, start + steps):
        x = torch.randn(16, 6)
        y = x[:, :1] * 2 - x[:, 1:2]
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.detach().clone())
        if step % 7 == 6:  # an evaluation pass now and then, as real loops do
            model.eval()
            with torch.no_grad():
                model(torch.randn(4, 6))
            model.train()
    return losses


def run(steps: int, watched: bool, tmp_path: Path, every: int | None) -> dict[str, Any]:
    model, optimizer = build()
    if watched:
        with gradsight.watch(model, optimizer, out=tmp_path / "run", every=every):
            losses = train(model, optimizer, steps)
    else:
        losses = train(model, optimizer, steps)
    return {
        "losses": losses,
        "params": {n: p.detach().clone() for n, p in model.named_parameters()},
        "adam": [
            {k: v.clone() for k, v in optimizer.state[p].items()} for p in model.parameters()
        ],
        "rng": torch.get_rng_state(),
    }


def assert_identical(plain: dict[str, Any], watched: dict[str, Any]) -> None:
    assert len(plain["losses"]) == len(watched["losses"])
    for i, (a, b) in enumerate(zip(plain["losses"], watched["losses"])):
        assert torch.equal(a, b), f"loss differs at step {i}: {a.item()!r} vs {b.item()!r}"
    assert plain["params"].keys() == watched["params"].keys()
    for name, p in plain["params"].items():
        assert torch.equal(p, watched["params"][name]), name
    for a, b in zip(plain["adam"], watched["adam"]):
        assert a.keys() == b.keys()
        for key in a:
            assert torch.equal(a[key], b[key]), key
    assert torch.equal(plain["rng"], watched["rng"])


@pytest.mark.parametrize("every, steps", [(1, STEPS), (None, 55)], ids=["every-1", "default"])
def test_watching_does_not_change_training(tmp_path: Path, every: int | None, steps: int) -> None:
    """The default schedule (55 steps) crosses the dense start and the step-50 sample, so the
    forward hook is switched off and on again along the way."""
    plain = run(steps, False, tmp_path, every)
    watched = run(steps, True, tmp_path, every)
    assert_identical(plain, watched)
    # the check is sensitive: a single extra random draw would have changed the first loss
    assert not torch.equal(plain["losses"][0], run_with_one_extra_draw())
    loaded = gradsight.load_run(tmp_path / "run")
    assert loaded.steps == steps


def run_with_one_extra_draw() -> torch.Tensor:
    model, optimizer = build()
    torch.rand(1)
    return train(model, optimizer, 1)[0]


def test_identical_when_watch_is_opened_and_closed_mid_training(tmp_path: Path) -> None:
    plain = run(STEPS, False, tmp_path, 1)
    model, optimizer = build()
    losses = train(model, optimizer, 5)
    with gradsight.watch(model, optimizer, out=tmp_path / "run", every=1):
        losses += train(model, optimizer, 10, start=5)
    losses += train(model, optimizer, STEPS - 15, start=15)
    watched = {
        "losses": losses,
        "params": {n: p.detach().clone() for n, p in model.named_parameters()},
        "adam": [{k: v.clone() for k, v in optimizer.state[p].items()} for p in model.parameters()],
        "rng": torch.get_rng_state(),
    }
    assert_identical(plain, watched)


# -- left as found --------------------------------------------------------------------------


def global_hooks() -> dict[str, list[int]]:
    tables = {
        "forward": nn_module._global_forward_hooks,
        "forward_pre": nn_module._global_forward_pre_hooks,
        "backward": nn_module._global_backward_hooks,
        "backward_pre": nn_module._global_backward_pre_hooks,
        "optimizer_pre": optim_module._global_optimizer_pre_hooks,
        "optimizer_post": optim_module._global_optimizer_post_hooks,
    }
    return {name: list(table.keys()) for name, table in tables.items()}


def local_hooks(model: nn.Module) -> list[tuple[str, list[int], list[int], list[int]]]:
    return [
        (name, list(m._forward_hooks), list(m._forward_pre_hooks), list(m._backward_hooks))
        for name, m in model.named_modules()
    ]


def optimizer_hooks(optimizer: torch.optim.Optimizer) -> tuple[list[int], list[int]]:
    return list(optimizer._optimizer_step_pre_hooks), list(optimizer._optimizer_step_post_hooks)


def modes(model: nn.Module) -> list[tuple[str, bool]]:
    return [(name, m.training) for name, m in model.named_modules()]


@pytest.mark.parametrize("every", [1, None])
def test_model_and_torch_left_as_found(tmp_path: Path, every: int | None) -> None:
    model, optimizer = build()
    model[2].eval()  # a mixed-mode model: the first dropout switched off on purpose
    own = model[0].register_forward_hook(lambda m, i, o: None)  # the user's own hook stays
    hooks_before, local_before = global_hooks(), local_hooks(model)
    opt_hooks_before, modes_before = optimizer_hooks(optimizer), modes(model)
    backward_before = torch.autograd.backward
    tensor_backward_before = torch.Tensor.backward
    assert hooks_before["forward"] == [] and hooks_before["optimizer_pre"] == []

    w = gradsight.watch(model, optimizer, out=tmp_path / "run", every=every)
    assert torch.autograd.backward is not backward_before  # watching is really on
    assert nn_module._global_forward_hooks  # the first step is recorded under any schedule
    for _ in range(3):
        optimizer.zero_grad()
        model(torch.randn(8, 6)).pow(2).mean().backward()
        optimizer.step()
    assert modes(model) == modes_before
    w.close()

    assert global_hooks() == hooks_before
    assert nn_module._global_forward_hooks == {}
    assert optim_module._global_optimizer_pre_hooks == {}
    assert optim_module._global_optimizer_post_hooks == {}
    assert local_hooks(model) == local_before
    assert optimizer_hooks(optimizer) == opt_hooks_before
    assert torch.autograd.backward is backward_before
    assert torch.Tensor.backward is tensor_backward_before
    assert modes(model) == modes_before
    assert model.training and not model[2].training and model[5].training
    own.remove()
    w.close()  # closing twice is harmless
    assert torch.autograd.backward is backward_before


def test_left_as_found_when_training_raises(tmp_path: Path) -> None:
    model, optimizer = build()
    hooks_before, backward_before = global_hooks(), torch.autograd.backward
    with pytest.raises(RuntimeError, match="boom"):
        with gradsight.watch(model, optimizer, out=tmp_path / "run", every=1):
            for step in range(3):
                optimizer.zero_grad()
                model(torch.randn(8, 6)).pow(2).mean().backward()
                optimizer.step()
                if step == 1:
                    raise RuntimeError("boom")
    assert global_hooks() == hooks_before
    assert torch.autograd.backward is backward_before
    loaded = gradsight.load_run(tmp_path / "run")
    assert loaded.status == "crashed" and loaded.steps == 2


def test_unwatched_training_after_close_is_not_recorded(tmp_path: Path) -> None:
    model, optimizer = build()
    with gradsight.watch(model, optimizer, out=tmp_path / "run", every=1):
        train(model, optimizer, 3)
    train(model, optimizer, 4)  # after close: no hook may write into the closed store
    loaded = gradsight.load_run(tmp_path / "run")
    assert loaded.steps == 3


def test_run_script_leaves_torch_as_found(tmp_path: Path) -> None:
    script = tmp_path / "train.py"
    script.write_text(
        "import torch\n"
        "torch.manual_seed(0)\n"
        "model = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))\n"
        "opt = torch.optim.Adam(model.parameters(), lr=1e-2)\n"
        "for _ in range(3):\n"
        "    opt.zero_grad()\n"
        "    model(torch.randn(8, 3)).pow(2).mean().backward()\n"
        "    opt.step()\n"
    )
    hooks_before, backward_before = global_hooks(), torch.autograd.backward
    code, diagnosis = gradsight.run_script(script, [], out=tmp_path / "run", every=1)
    assert code == 0 and diagnosis.steps == 3
    assert global_hooks() == hooks_before
    assert torch.autograd.backward is backward_before
