"""PyTorch training in phases, each with its own optimizer: the run's steps go on counting.

A ``train(model)`` function that makes its own optimizer, called for a teacher and then for a
student (the knowledge-distillation tutorial's shape): the teacher's optimizer is gone when the
student's steps, and the student's 45 steps were not watched at all (read as backward calls with
no step), while the teacher's leftover gradients were read as "in no optimizer". Optimizers that
stay alive hand the clock on when the first one idles; an auxiliary optimizer stepping now and
then between the main one's steps does not take it. Real training; losses measured here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import gradsight  # noqa: E402
from gradsight.core.run_view import RunView  # noqa: E402
from gradsight.run.runner import run_script  # noqa: E402

SCRIPT = """
import json, sys
import torch
from torch import nn

torch.manual_seed(0)
x = torch.randn(256, 8)
y = (x[:, :1] * 2).tanh()
losses = []

def train(model, steps, opt=None):
    opt = opt or torch.optim.Adam(model.parameters(), lr=1e-2)  # its own, if none is given
    for _ in range(steps):
        rows = torch.randint(0, 256, (32,))
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(x[rows]), y[rows])
        loss.backward()
        opt.step()
        losses.append(loss.item())

teacher = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 1))
student = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 1))
if sys.argv[1] == "gone":  # each phase's optimizer dies with its call
    train(teacher, 30)
    train(student, 45)
else:  # both optimizers alive to the end
    opt_t = torch.optim.Adam(teacher.parameters(), lr=1e-2)
    opt_s = torch.optim.Adam(student.parameters(), lr=1e-2)
    train(teacher, 30, opt_t)
    train(student, 45, opt_s)
json.dump(losses, open(sys.argv[2], "w"))
"""


@pytest.mark.parametrize("phase_optimizers", ["gone", "alive"])
def test_a_second_phase_continues_the_run(tmp_path: Path, phase_optimizers: str) -> None:
    import json

    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    code, diagnosis = run_script(script, [phase_optimizers, str(tmp_path / "losses.json")],
                                 out=tmp_path / "run")
    assert code == 0
    measured = json.loads((tmp_path / "losses.json").read_text())
    view = RunView.open(tmp_path / "run")
    try:
        assert view.steps == 75
        loss = view.loss
        # every step's loss once; the student's second step onward by the student's own clock
        np.testing.assert_array_equal(loss.steps[:30], np.arange(30))
        np.testing.assert_allclose(loss.values[:30], measured[:30], rtol=1e-5)
        np.testing.assert_allclose(loss.values[-40:], measured[-40:], rtol=1e-5)
        assert loss.steps[-1] == 74
        assert view.events("backward_without_step") == []
        student = view.metric("param", "grad_norm")["student.0.weight"]
        assert student.steps.min() >= 30 and student.steps.max() == 74
    finally:
        view.close()
    assert [f.kind for f in diagnosis.findings if f.severity.value != "info"] == []


def test_an_auxiliary_optimizer_does_not_take_the_clock(tmp_path: Path) -> None:
    """A second optimizer (a learnable temperature) steps every 10th step from step 20: the main
    optimizer keeps the clock, and the run's loss is still every step's."""
    torch.manual_seed(0)
    x, y = torch.randn(256, 8), torch.randint(0, 3, (256,))
    model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 3))
    temperature = nn.Parameter(torch.ones(()))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    opt_t = torch.optim.SGD([temperature], lr=0.01)
    losses = []
    with gradsight.watch(model, out=tmp_path / "run"):
        for step in range(60):
            rows = torch.randint(0, 256, (32,))
            opt.zero_grad()
            opt_t.zero_grad()
            loss = nn.functional.cross_entropy(model(x[rows]) / temperature, y[rows])
            loss.backward()
            opt.step()
            if step >= 20 and step % 10 == 0:
                opt_t.step()
            losses.append(loss.item())
    view = RunView.open(tmp_path / "run")
    try:
        np.testing.assert_array_equal(view.loss.steps, np.arange(60))
        np.testing.assert_allclose(view.loss.values, losses, rtol=1e-5)
    finally:
        view.close()


@pytest.mark.parametrize("phase_optimizers", ["gone", "alive"])
def test_a_model_first_called_between_detail_steps_is_described_whole(
        tmp_path: Path, phase_optimizers: str) -> None:
    """The student first runs at step 30, where forward hooks are off: its layers get their
    forward order and data flow from its next forward pass (all of them tied at one order made
    poor_initialization multiply scales across a whole second GPT-2 and across both models),
    and the teacher, named before the student came, keeps its names: its rows are not split
    between ``0.weight`` and ``teacher.0.weight``."""
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    code, diagnosis = run_script(script, [phase_optimizers, str(tmp_path / "losses.json")],
                                 out=tmp_path / "run")
    assert code == 0
    view = RunView.open(tmp_path / "run")
    try:
        params = {e.name for e in view.entities("param")}
        assert params == {"0.weight", "0.bias", "2.weight", "2.bias", "student.0.weight",
                          "student.0.bias", "student.2.weight", "student.2.bias"}
        assert view.metric("param", "grad_norm")["0.weight"].steps.max() == 29
        modules = {e.name: e for e in view.entities("module")}
        student = [modules[f"student.{i}"] for i in range(3)]
        orders = [m.order for m in student]
        assert orders == sorted(orders) and len(set(orders)) == 3  # forward order, untied
        assert modules["0"].order < orders[0]  # the teacher ran first
        assert student[1].get("inputs_from") == ["student.0"]  # the data flow was seen
        assert student[2].get("inputs_from") == ["student.1"]
        assert student[0].get("owner") == "student" and modules["0"].get("owner") == "teacher"
    finally:
        view.close()
    advice = [fix for f in diagnosis.findings for fix in f.fixes]
    assert not any("student.student" in fix for fix in advice)


WRAPPED = """
import sys
import torch
from torch import nn

torch.manual_seed(0)
x = torch.randn(256, 4)
y = x.sum(1, keepdim=True)

def train(model, steps):
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    for _ in range(steps):
        opt.zero_grad()
        nn.functional.mse_loss(model(x), y).backward()
        opt.step()

base = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 4))
train(nn.Sequential(base, nn.Linear(4, 1)), 30)  # a first head
model = nn.Sequential(base, nn.Linear(4, 1))  # the same base, a new head: its "1" is taken
train(model, 30)
"""


def test_a_new_model_wrapping_the_first_keeps_every_name_apart(tmp_path: Path) -> None:
    """The second model holds the first's base under "0" and a new head under "1": the base
    keeps its names, and the new head's, which a kept name already holds, take its label."""
    script = tmp_path / "train.py"
    script.write_text(WRAPPED)
    code, _ = run_script(script, [], out=tmp_path / "run")
    assert code == 0
    view = RunView.open(tmp_path / "run")
    try:
        params = {e.name: e for e in view.entities("param")}
        assert len(params) == 8  # base 4, first head 2, new head 2: no name holds two tensors
        grads = view.metric("param", "grad_norm")
        base = [n for n in params if n.endswith("0.0.weight")]
        assert len(base) == 1 and grads[base[0]].steps.max() == 59  # the base: one series
        heads = [n for n in params if n.endswith("1.weight") and params[n].get("shape") == [1, 4]]
        assert len(heads) == 2
        steps = sorted((int(grads[n].steps.min()), int(grads[n].steps.max())) for n in heads)
        assert steps == [(0, 29), (30, 59)]  # each head its own phase, under its own name
    finally:
        view.close()
