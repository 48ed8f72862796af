"""One entity per parameter, named by the module that holds it plainly: a wrapper that exposes
the model twice (Lightning Fabric's ``_FabricModule``) is looked through, a model that
registers a submodule once keeps its names, and a model whose forward first runs inside
``optimizer.step(closure)`` is found holding its parameters (``live_owners``)."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from gradsight.adapters.torch.layout import live_owners, resolve_layout, unwrap  # noqa: E402
from tests.conftest import read_json, run_gradsight  # noqa: E402


class Twice(nn.Module):
    """Registers the same model under two names, as Fabric does."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self._forward_module = model
        self._original_module = model


class Body(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))


def test_unwrap_looks_through_a_model_exposed_twice() -> None:
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 1))
    assert unwrap(Twice(model)) is model
    ddp_like = Twice(model)
    ddp_like._forward_module = Twice(model)  # a wrapper inside, the bare model beside it
    assert unwrap(ddp_like) is model
    body = Body()
    assert unwrap(body) is body  # one registration: its names stay body.0.weight
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    layout = resolve_layout([optimizer], [Twice(model)], {})
    assert list(layout.params) == ["0.weight", "0.bias", "1.weight", "1.bias"]


def test_live_owners_finds_the_outermost_model_holding_the_parameters() -> None:
    body = Body()
    inner = {id(p) for p in body.body[2].parameters()}
    assert live_owners(inner) == [body]
    assert live_owners({id(torch.zeros(1))}) == []


@pytest.mark.slow
def test_fabric_script_gets_the_model_names(tmp_path: Path, write_script) -> None:
    pytest.importorskip("lightning")
    script = write_script("""
        import torch, lightning as L
        from torch import nn
        fabric = L.Fabric(accelerator="cpu", devices=1)
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1), nn.Linear(1, 1))
        optimizer = torch.optim.SGD(model[:3].parameters(), lr=0.05)
        model, optimizer = fabric.setup(model, optimizer)
        x = torch.randn(64, 8); y = x[:, :1]
        for step in range(20):
            loss = nn.functional.mse_loss(model(x), y)
            optimizer.zero_grad(); fabric.backward(loss); optimizer.step()
    """)
    proc = run_gradsight("run", "--out", str(tmp_path / "run"), str(script), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    doc = read_json(tmp_path / "run" / "findings.json")
    places = {w for f in doc["findings"] for w in f["where"]}
    assert places and all(not w.startswith("_forward_module") for w in places)
    assert [(f["kind"], f["where"]) for f in doc["findings"]] == [
        ("not_optimized", ["3.weight", "3.bias"])]
