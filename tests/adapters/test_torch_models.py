"""Awkward models: no parameters, frozen parameters, tied weights, several optimizers, parameter
groups added late, and zero-code discovery of models in a script (``gradsight.run_script``)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import gradsight  # noqa: E402
from gradsight.core.finding import Finding, Severity  # noqa: E402
from gradsight.core.run_view import RunView  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def serious(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity.at_least(Severity.WARNING)]


def regression_data(n: int = 64, features: int = 3, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, features, generator=g)
    return x, x[:, :1] * 2 - x[:, 1:2] + 0.5


def train_steps(model: nn.Module, optimizers: list[torch.optim.Optimizer], steps: int,
                x: torch.Tensor, y: torch.Tensor) -> list[float]:
    losses = []
    for _ in range(steps):
        for opt in optimizers:
            opt.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        for opt in optimizers:
            opt.step()
        losses.append(loss.item())
    return losses


def mlp() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 16), nn.ReLU(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 1))


def open_run(folder: Path) -> RunView:
    return RunView.open(folder)


# -- no parameters --------------------------------------------------------------------------


def test_model_without_parameters_optimizing_an_external_tensor(tmp_path: Path) -> None:
    torch.manual_seed(0)
    scale = torch.randn(3, requires_grad=True)
    optimizer = torch.optim.SGD([scale], lr=0.1)
    model = nn.ReLU()
    assert list(model.parameters()) == []
    with gradsight.watch(model, optimizer, out=tmp_path / "run", every=1) as w:
        for _ in range(5):
            optimizer.zero_grad()
            model(torch.randn(8, 3) * scale).sum().backward()
            optimizer.step()
    assert not [f for f in w.findings if f.severity == Severity.ERROR]
    run = open_run(tmp_path / "run")
    try:
        assert run.meta["status"] == "finished" and run.steps == 5
        np.testing.assert_array_equal(run.loss.steps, np.arange(5))
        # the optimized tensor is still tracked, under a name derived from the optimizer
        (entity,) = run.entities("param")
        assert len(run.metric("param", "update_norm")[entity.name]) == 5
    finally:
        run.close()


def test_model_without_parameters_and_without_optimizer_step(tmp_path: Path) -> None:
    model = nn.Sequential(nn.ReLU(), nn.Tanh())
    x = torch.randn(4, 3, requires_grad=True)
    with gradsight.watch(model, out=tmp_path / "run", every=1) as w:
        losses = []
        for _ in range(3):
            loss = model(x).sum()
            loss.backward()
            losses.append(float(loss.detach().double()))
    diagnosis = w.close()
    assert not [f for f in diagnosis.findings if f.severity == Severity.ERROR]
    assert diagnosis.status == "finished"
    run = open_run(tmp_path / "run")
    try:
        assert run.entities("param") == []
        # backward() calls without any step: one loss, their mean, at step 0
        np.testing.assert_array_equal(run.loss.steps, [0])
        np.testing.assert_allclose(run.loss.values, [np.mean(losses)], rtol=1e-12)
    finally:
        run.close()


# -- frozen parameters ----------------------------------------------------------------------


@pytest.mark.parametrize("in_optimizer", [False, True], ids=["left-out", "in-optimizer"])
def test_frozen_parameter_gives_no_finding(tmp_path: Path, in_optimizer: bool) -> None:
    model = mlp()
    model[2].requires_grad_(False)  # a frozen middle layer, on purpose
    params = model.parameters() if in_optimizer else (p for p in model.parameters() if p.requires_grad)
    optimizer = torch.optim.Adam(params, lr=1e-2)
    x, y = regression_data()
    with gradsight.watch(model, optimizer, out=tmp_path / "run", every=1) as w:
        losses = train_steps(model, [optimizer], 30, x, y)
    assert losses[-1] < 0.5 * losses[0]
    frozen = {"2.weight", "2.bias"}
    assert not [f for f in w.findings if frozen & set(f.where)], w.findings
    assert serious(w.findings) == []
    run = open_run(tmp_path / "run")
    try:
        for name in frozen:
            entity = run.entity("param", name)
            assert entity is not None and entity.get("requires_grad") is False
            assert not run.metric("param", "has_grad")[name].values.any()
            assert name not in run.metric("param", "grad_norm")
    finally:
        run.close()


# -- tied weights ---------------------------------------------------------------------------


class TiedLM(nn.Module):
    """A tiny language model whose output projection is its embedding (weight tying)."""

    def __init__(self, vocab: int = 12, dim: int = 8) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.mix = nn.Linear(dim, dim)
        self.head = nn.Linear(dim, vocab, bias=False)
        self.head.weight = self.embed.weight

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.head(torch.tanh(self.mix(self.embed(tokens))))


def test_tied_weights_recorded_once_under_first_name(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = TiedLM()
    assert model.head.weight is model.embed.weight
    names = [n for n, _ in model.named_parameters()]
    assert names == ["embed.weight", "mix.weight", "mix.bias"]
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    g = torch.Generator().manual_seed(0)
    grads, losses = [], []
    with gradsight.watch(model, optimizer, out=tmp_path / "run", every=1) as w:
        for _ in range(30):
            tokens = torch.randint(0, 12, (32,), generator=g)
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(tokens), (tokens + 1) % 12)
            loss.backward()
            grads.append(float(torch.linalg.vector_norm(model.embed.weight.grad, dtype=torch.float64)))
            optimizer.step()
            losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0]
    assert serious(w.findings) == []
    run = open_run(tmp_path / "run")
    try:
        assert [e.name for e in run.entities("param")] == names
        for metric in ("grad_norm", "update_norm", "weight_norm", "has_grad"):
            assert set(run.metric("param", metric)) == set(names), metric
        # one gradient: the sum of the embedding's and the projection's contributions
        np.testing.assert_allclose(run.metric("param", "grad_norm")["embed.weight"].values, grads,
                                   rtol=1e-6)
        assert run.entity("param", "embed.weight").get("module") == "embed"
    finally:
        run.close()


# -- several optimizers ---------------------------------------------------------------------


def split_model_run(tmp_path: Path, steps: int = 6):
    """One model, two optimizers (two param groups each), stepped one after the other."""
    model = mlp()
    first = torch.optim.Adam([
        {"params": model[0].weight}, {"params": model[0].bias, "lr": 5e-3},
    ], lr=1e-2)
    second = torch.optim.SGD([
        {"params": model[2].parameters()}, {"params": model[4].parameters(), "lr": 0.05},
    ], lr=0.1)
    x, y = regression_data()
    updates: dict[str, list[float]] = {n: [] for n, _ in model.named_parameters()}
    with gradsight.watch(model, out=tmp_path / "run", every=1) as w:
        for _ in range(steps):
            first.zero_grad()
            second.zero_grad()
            nn.functional.mse_loss(model(x), y).backward()
            before = {n: p.detach().clone().double() for n, p in model.named_parameters()}
            first.step()
            second.step()
            for n, p in model.named_parameters():
                updates[n].append(float(torch.linalg.vector_norm(p.detach().double() - before[n])))
    return model, w, updates


def test_model_split_across_two_optimizers_records_every_parameter(tmp_path: Path) -> None:
    model, w, updates = split_model_run(tmp_path)
    names = [n for n, _ in model.named_parameters()]
    assert serious(w.findings) == [], w.findings
    run = open_run(tmp_path / "run")
    try:
        update_norm = run.metric("param", "update_norm")
        lr = run.metric("param", "lr")
        assert set(update_norm) == set(names)
        for name in names:
            entity = run.entity("param", name)
            assert entity.get("optimized") is True
            values = update_norm[name].values
            assert len(values) >= 5 and np.all(values > 0), name
            # every recorded update is one the parameter really took
            for v in values:
                assert np.isclose(updates[name], v, rtol=1e-5).any(), (name, v)
        assert {run.entity("param", n).get("optimizer_type") for n in names} == {"Adam", "SGD"}
        assert set(lr["0.bias"].values) == {5e-3} and set(lr["0.weight"].values) == {1e-2}
        assert set(lr["2.weight"].values) == {0.1} and set(lr["4.bias"].values) == {0.05}
    finally:
        run.close()


def test_two_optimizers_record_each_iteration_under_its_own_step(tmp_path: Path) -> None:
    model, _, updates = split_model_run(tmp_path)
    run = open_run(tmp_path / "run")
    try:
        for name, series in run.metric("param", "update_norm").items():
            assert len(series) > 0
            for step, value in zip(series.steps, series.values):
                assert step < len(updates[name]), (name, step)
                np.testing.assert_allclose(value, updates[name][step], rtol=1e-5,
                                           err_msg=f"{name} step {step}")
    finally:
        run.close()


def test_two_optimizers_last_step_statistics_are_kept(tmp_path: Path) -> None:
    split_model_run(tmp_path)
    run = open_run(tmp_path / "run")
    try:
        has_grad = run.metric("param", "has_grad")
        for metric in ("grad_norm", "update_norm", "weight_norm"):
            series = run.metric("param", metric)
            for name, flags in has_grad.items():
                np.testing.assert_array_equal(series[name].steps, flags.steps,
                                              err_msg=f"{metric} {name}")
    finally:
        run.close()


def test_param_group_added_later_is_recorded_from_then_on(tmp_path: Path) -> None:
    model = mlp()
    optimizer = torch.optim.Adam(list(model[0].parameters()) + list(model[2].parameters()), lr=1e-2)
    x, y = regression_data()
    late = list(model[4].parameters())
    updates: list[float] = []
    with gradsight.watch(model, optimizer, out=tmp_path / "run", every=1) as w:
        for step in range(30):
            if step == 4:
                optimizer.add_param_group({"params": late, "lr": 2e-2})
            optimizer.zero_grad()
            nn.functional.mse_loss(model(x), y).backward()
            before = model[4].weight.detach().clone().double()
            optimizer.step()
            updates.append(float(torch.linalg.vector_norm(model[4].weight.detach().double() - before)))
    assert updates[:4] == [0.0] * 4 and all(u > 0 for u in updates[4:])
    # it received gradients before it was optimized, but it is optimized now: nothing to report
    assert serious(w.findings) == [], w.findings
    run = open_run(tmp_path / "run")
    try:
        weight = run.metric("param", "update_norm")["4.weight"]
        np.testing.assert_array_equal(weight.steps, np.arange(4, 30))
        np.testing.assert_allclose(weight.values, updates[4:], rtol=1e-5)
        lr = run.metric("param", "lr")["4.bias"]
        np.testing.assert_array_equal(lr.steps, np.arange(4, 30))
        assert set(lr.values) == {2e-2}
        # gradients were seen all along, before the group was added too
        np.testing.assert_array_equal(run.metric("param", "grad_norm")["4.weight"].steps,
                                      np.arange(30))
        entity = run.entity("param", "4.weight")
        assert entity.get("optimized") is True and entity.get("lr") == 2e-2
    finally:
        run.close()


def test_new_parameter_added_to_optimizer_is_recorded(tmp_path: Path) -> None:
    """A tensor outside the model (a learned temperature) joins the optimizer mid-run."""
    model = mlp()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    temperature = nn.Parameter(torch.ones(()))
    x, y = regression_data()
    with gradsight.watch(model, optimizer, out=tmp_path / "run", every=1):
        for step in range(8):
            if step == 3:
                optimizer.add_param_group({"params": [temperature]})
            optimizer.zero_grad()
            nn.functional.mse_loss(model(x) * temperature, y).backward()
            optimizer.step()
    run = open_run(tmp_path / "run")
    try:
        extra = [e.name for e in run.entities("param") if e.name not in dict(model.named_parameters())]
        assert len(extra) == 1
        np.testing.assert_array_equal(run.metric("param", "update_norm")[extra[0]].steps,
                                      np.arange(3, 8))
    finally:
        run.close()


# -- zero-code discovery: gradsight.run_script ----------------------------------------------

GAN_SCRIPT = """
    import torch
    from torch import nn

    torch.manual_seed(0)
    G = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))
    D = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 1))
    opt_g = torch.optim.Adam(G.parameters(), lr=1e-2)
    opt_d = torch.optim.Adam(D.parameters(), lr=1e-2)
    bce = nn.BCEWithLogitsLoss()
    center = torch.tensor([2.0, -1.0])
    for step in range(30):
        real = torch.randn(32, 2) * 0.5 + center
        fake = G(torch.randn(32, 2))
        opt_d.zero_grad()
        d_loss = bce(D(real), torch.ones(32, 1)) + bce(D(fake.detach()), torch.zeros(32, 1))
        d_loss.backward()
        opt_d.step()
        opt_g.zero_grad()
        g_loss = bce(D(fake), torch.ones(32, 1))
        g_loss.backward()
        opt_g.step()
    # the generator moved towards the real data
    with torch.no_grad():
        print("distance", float((G(torch.randn(256, 2)).mean(0) - center).norm()))
"""

GAN_NAMES = {f"{m}.{i}.{p}" for m in "GD" for i in (0, 2) for p in ("weight", "bias")}

# Run the API from a fresh interpreter: the script itself is the first to import torch, as with
# `gradsight run`.
FRESH_RUN = """
import json, sys
import gradsight
from gradsight.core.run_view import RunView
torch_before = "torch" in sys.modules
code, diagnosis = gradsight.run_script(sys.argv[1], [], out=sys.argv[2], every=1)
run = RunView.open(sys.argv[2])
print(json.dumps({
    "code": code,
    "torch_before": torch_before,
    "params": [e.name for e in run.entities("param")],
    "findings": [f.to_dict() for f in diagnosis.findings],
}))
"""


def run_fresh(script: Path, out: Path) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", FRESH_RUN, str(script), str(out)],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["torch_before"] is False
    return result


@pytest.fixture(scope="module")
def fresh_gan(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The GAN script run once through ``run_script`` in a fresh interpreter (shared: ~5 s)."""
    folder = tmp_path_factory.mktemp("fresh-gan")
    script = folder / "gan.py"
    script.write_text(textwrap.dedent(GAN_SCRIPT))
    return run_fresh(script, folder / "run")


def test_run_script_names_two_models_by_their_variables(fresh_gan: dict) -> None:
    assert fresh_gan["code"] == 0
    assert GAN_NAMES <= set(fresh_gan["params"]), fresh_gan["params"]
    assert [f for f in fresh_gan["findings"] if f["severity"] in ("error", "warning")] == []


def test_run_script_two_models_healthy_in_process(tmp_path: Path, write_script, capsys) -> None:
    script = write_script(GAN_SCRIPT, "gan.py")
    code, diagnosis = gradsight.run_script(script, [], out=tmp_path / "run", every=1)
    assert code == 0 and diagnosis.status == "finished"
    assert serious(diagnosis.findings) == [], diagnosis.findings
    distance = float(capsys.readouterr().out.split("distance")[1])
    assert distance < 1.5  # it did learn: the initial generator outputs sit ~2.2 away
    run = open_run(tmp_path / "run")
    try:
        params = run.entities("param")
        assert sum(e.name.endswith("0.weight") for e in params) >= 2  # both models are tracked
        assert len(params) >= 8
        assert len(run.loss) >= 30
    finally:
        run.close()


def test_run_script_two_models_names_are_stable_from_the_first_step(fresh_gan: dict) -> None:
    assert set(fresh_gan["params"]) == GAN_NAMES


ONE_OPTIMIZER_TWO_MODELS = """
    import itertools
    import torch
    from torch import nn

    torch.manual_seed(0)
    encoder = nn.Sequential(nn.Linear(3, 8), nn.Tanh())
    decoder = nn.Sequential(nn.Linear(8, 3))
    opt = torch.optim.Adam(itertools.chain(encoder.parameters(), decoder.parameters()), lr=1e-2)
    for _ in range(5):
        x = torch.randn(16, 3)
        opt.zero_grad()
        nn.functional.mse_loss(decoder(encoder(x)), x).backward()
        opt.step()
"""


def test_run_script_in_process_after_torch_import_uses_script_variable_names(
        tmp_path: Path, write_script) -> None:
    assert "torch" in sys.modules
    script = write_script(ONE_OPTIMIZER_TWO_MODELS, "ae.py")
    code, _ = gradsight.run_script(script, [], out=tmp_path / "run", every=1)
    assert code == 0
    run = open_run(tmp_path / "run")
    try:
        assert {e.name for e in run.entities("param")} == {
            "encoder.0.weight", "encoder.0.bias", "decoder.0.weight", "decoder.0.bias"}
    finally:
        run.close()


LOCAL_MODEL_SCRIPT = """
    import torch
    from torch import nn


    def main():
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(3, 16), nn.ReLU(), nn.Linear(16, 1))
        opt = torch.optim.Adam(model.parameters(), lr=1e-2)
        first = last = None
        for _ in range(30):
            x = torch.randn(64, 3)
            y = x[:, :1] * 2 - x[:, 1:2]
            opt.zero_grad()
            loss = nn.functional.mse_loss(model(x), y)
            loss.backward()
            opt.step()
            first = loss.item() if first is None else first
            last = loss.item()
        assert last < 0.5 * first, (first, last)


    if __name__ == "__main__":
        main()
"""


def test_run_script_local_model_named_without_prefix(tmp_path: Path, write_script) -> None:
    script = write_script(LOCAL_MODEL_SCRIPT, "local.py")
    code, diagnosis = gradsight.run_script(script, [], out=tmp_path / "run", every=1)
    assert code == 0  # the script's own assertion (it learned) held
    assert diagnosis.steps == 30
    assert serious(diagnosis.findings) == [], diagnosis.findings
    run = open_run(tmp_path / "run")
    try:
        assert [e.name for e in run.entities("param")] == ["0.weight", "0.bias", "2.weight", "2.bias"]
        assert {e.name for e in run.entities("module")} == {"0", "1", "2"}
        np.testing.assert_array_equal(run.metric("param", "has_grad")["0.weight"].steps,
                                      np.arange(30))
    finally:
        run.close()
