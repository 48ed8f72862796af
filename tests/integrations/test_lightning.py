"""Lightning 2.x with the real ``lightning`` package: zero-code ``gradsight run`` names a
Lightning script's parameters as its LightningModule does, with one entity per parameter (the
forward runs inside ``optimizer.step(closure)``, so no module has been called when the first
step begins); ``gradsight.lightning.Callback`` watches ``fit``, logs through the Trainer's
loggers, and under 16-bit AMP records the unscaled gradients and loss that a plain Lightning
hook measures."""

from __future__ import annotations

import csv
import math
import sys
from pathlib import Path
from typing import Any

import pytest

L = pytest.importorskip("lightning")
torch = pytest.importorskip("torch")

from gradsight.core.metrics import EVENT_MANUAL_OPTIMIZATION  # noqa: E402
from gradsight.core.run_view import RunView  # noqa: E402
from tests.conftest import read_json, run_gradsight  # noqa: E402

MODULE = '''
import torch, lightning as L
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

class Net(L.LightningModule):
    def __init__(self, unused_head=False):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1))
        self.head = nn.Linear(8, 3) if unused_head else None  # built, never called
    def training_step(self, batch, i):
        x, y = batch
        loss = nn.functional.mse_loss(self.net(x), y)
        self.log("train_loss", loss)
        return loss
    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.05)

def loader():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(256, 8, generator=g)
    y = x[:, :1] * 2 + 0.1 * torch.randn(256, 1, generator=g)
    return DataLoader(TensorDataset(x, y), batch_size=32)

def trainer(**kw):
    settings = dict(max_epochs=3, enable_checkpointing=False, enable_progress_bar=False,
                    enable_model_summary=False)
    return L.Trainer(**{**settings, **kw})
'''


def _script(tmp_path: Path, body: str) -> Path:
    (tmp_path / "litmodel.py").write_text(MODULE)
    path = tmp_path / "train.py"
    path.write_text("import sys\nfrom litmodel import *\n" + body)
    return path


def _named_as_printed(tmp_path: Path, body: str, out: str) -> list[str]:
    """Run ``body`` (which prints ``NAMES`` and the model's ``named_parameters()``) under
    ``gradsight run --fail-on warning``; assert it passed and the run's entities carry exactly
    those names, one each, over 24 steps (3 epochs x 8 batches). Returns the names."""
    done = run_gradsight("run", "--out", str(tmp_path / out), "--fail-on", "warning",
                         str(_script(tmp_path, body)), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    names = eval(next(line for line in done.stdout.splitlines()
                      if line.startswith("NAMES"))[len("NAMES "):])
    assert read_json(tmp_path / out / "findings.json")["findings"] == []
    view = RunView.open(tmp_path / out)
    try:
        assert [e.name for e in view.entities("param")] == names  # one entity each, by name
        assert view.steps == 24
    finally:
        view.close()
    return names


@pytest.mark.slow
def test_zero_code_run_names_the_lightning_module_once(tmp_path: Path) -> None:
    body = ("torch.manual_seed(0)\nmodel = Net(unused_head=len(sys.argv) > 1)\n"
            "print('NAMES', [n for n, _ in model.named_parameters()])\n"
            "trainer(logger=False).fit(model, loader())\n")
    _named_as_printed(tmp_path, body, "ok")
    script = _script(tmp_path, body)

    broken = run_gradsight("run", "--out", str(tmp_path / "bad"), str(script), "unused",
                           cwd=tmp_path)
    doc = read_json(tmp_path / "bad" / "findings.json")
    assert [(f["kind"], f["where"]) for f in doc["findings"]] == [
        ("no_gradient", ["head.weight", "head.bias"])], broken.stdout


@pytest.mark.slow
def test_zero_code_manual_optimization_names_the_lightning_module(tmp_path: Path) -> None:
    """Manual optimization: ``training_step`` calls ``self.net`` and steps an optimizer of
    ``self.net.parameters()`` itself, so the LightningModule is never called and its layer's
    call has returned when the step begins; the names are still the LightningModule's."""
    body = (
        "class Manual(Net):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.automatic_optimization = False\n"
        "    def training_step(self, batch, i):\n"
        "        opt = self.optimizers()\n"
        "        x, y = batch\n"
        "        loss = nn.functional.mse_loss(self.net(x), y)\n"
        "        opt.zero_grad()\n"
        "        self.manual_backward(loss)\n"
        "        opt.step()\n"
        "    def configure_optimizers(self):\n"
        "        return torch.optim.SGD(self.net.parameters(), lr=0.05)\n"
        "torch.manual_seed(0)\nmodel = Manual()\n"
        "print('NAMES', [n for n, _ in model.named_parameters()])\n"
        "trainer(logger=False).fit(model, loader())\n")
    names = _named_as_printed(tmp_path, body, "run")
    assert names[0] == "net.0.weight"
    view = RunView.open(tmp_path / "run")  # told, for DDP's advice: its backward is by hand
    try:
        assert {e["name"] for e in view.events(EVENT_MANUAL_OPTIMIZATION)} == {"model"}
    finally:
        view.close()


def _fit(tmp_path: Path, unused_head: bool, **trainer: Any) -> tuple[Any, Any, list, list]:
    sys.path.insert(0, str(tmp_path))
    (tmp_path / "litmodel.py").write_text(MODULE)
    try:
        import litmodel  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(tmp_path))
    import gradsight

    grads: list[dict[str, float]] = []
    losses: list[float] = []

    class Measure(L.pytorch.Callback):
        """What Lightning itself hands a callback: gradients after its AMP plugin unscaled
        them (``on_before_optimizer_step``), and each step's loss."""

        def on_before_optimizer_step(self, trainer: Any, module: Any, optimizer: Any) -> None:
            grads.append({n: float(torch.linalg.vector_norm(p.grad, dtype=torch.float64))
                          for n, p in module.named_parameters() if p.grad is not None})

        def on_train_batch_end(self, trainer: Any, module: Any, outputs: Any, *a: Any) -> None:
            losses.append(float(outputs["loss"]))

    callback = gradsight.lightning.Callback(out=tmp_path / "run", report=False)
    logger = L.pytorch.loggers.CSVLogger(tmp_path / "logs", name="exp")
    torch.manual_seed(0)
    model = litmodel.Net(unused_head=unused_head)
    litmodel.trainer(logger=logger, callbacks=[callback, Measure()], **trainer).fit(
        model, litmodel.loader())
    sys.modules.pop("litmodel", None)
    return callback, logger, grads, losses


@pytest.mark.slow
def test_callback_findings_go_to_the_loggers(tmp_path: Path) -> None:
    callback, logger, _, _ = _fit(tmp_path, unused_head=True)
    assert [(f.kind, f.where) for f in callback.findings] == [
        ("no_gradient", ["head.weight", "head.bias"])]
    assert callback.folder == tmp_path / "run"
    assert read_json(tmp_path / "run" / "findings.json")["findings"][0]["kind"] == "no_gradient"
    rows = list(csv.DictReader(open(Path(logger.log_dir) / "metrics.csv")))
    logged = next(r for r in rows if r.get("gradsight/warnings"))
    assert float(logged["gradsight/warnings"]) == 1.0
    assert float(logged["gradsight/no_gradient"]) == 2.0  # two places
    assert float(logged["gradsight/errors"]) == 0.0


@pytest.mark.slow
def test_callback_under_16bit_amp_records_unscaled_values(tmp_path: Path) -> None:
    """Lightning's 16-mixed plugin scales the loss by 2**16 before backward; gradsight's
    numbers are the ones Lightning's own hook sees after unscaling, not 65536x larger. (On
    the CPU Lightning turns ``precision="16-mixed"`` into bf16, which has no scaler: the
    plugin is given explicitly, with the GradScaler a GPU run would get.)"""
    from lightning.pytorch.plugins.precision import MixedPrecision

    scaler = torch.amp.GradScaler("cpu")
    callback, _, grads, losses = _fit(
        tmp_path, unused_head=False, plugins=[MixedPrecision("16-mixed", "cpu", scaler)])
    assert scaler.get_scale() >= 2.0**15  # the loss really was scaled
    assert callback.findings == []
    # GradScaler skips the update of a step whose scaled gradients overflowed: Lightning's
    # hook saw that step, the optimizer never took it, so gradsight counts only the others.
    taken = [g for g in grads if all(math.isfinite(v) for v in g.values())]
    skipped = [i for i, g in enumerate(grads) if g not in taken]
    view = RunView.open(tmp_path / "run")
    try:
        norms, loss = view.metric("param", "grad_norm"), view.loss
        assert view.steps == len(taken) == 24 - len(skipped)
        for step in (0, 5, len(taken) - 1):
            for name, measured in taken[step].items():
                at = list(norms[name].steps).index(step)
                assert math.isclose(norms[name].values[at], measured, rel_tol=1e-3), name
        first_skip = skipped[0] if skipped else 24
        for step in range(min(first_skip, 5)):  # before a skip, step i is batch i
            at = list(loss.steps).index(step)
            assert math.isclose(loss.values[at], losses[step], rel_tol=1e-3)
    finally:
        view.close()


DDP_SCRIPT = '''
import sys
from litmodel import *
import gradsight

if __name__ == "__main__":  # Lightning's DDP launcher runs this file again for rank 1
    torch.manual_seed(0)
    callback = gradsight.lightning.Callback(out=sys.argv[1], report=False)
    fit = trainer(logger=False, accelerator="cpu", devices=2, callbacks=[callback],
                  strategy="ddp_find_unused_parameters_true", max_epochs=1)
    fit.fit(Net(unused_head=True), loader())
    print("RANK", fit.global_rank, [(f.kind, f.where) for f in callback.findings])
'''


@pytest.mark.slow
def test_callback_under_ddp_strategy(tmp_path: Path) -> None:
    """Two gloo processes: each rank records its own store, names are the LightningModule's
    (no ``module.`` from the DDP wrapper), rank 0 reports the merged diagnosis."""
    import subprocess

    (tmp_path / "litmodel.py").write_text(MODULE)
    (tmp_path / "train.py").write_text(DDP_SCRIPT)
    proc = subprocess.run([sys.executable, "train.py", str(tmp_path / "run")], cwd=tmp_path,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "RANK 0 [('no_gradient', ['head.weight', 'head.bias'])]" in proc.stdout
    doc = read_json(tmp_path / "run" / "findings.json")
    assert [(f["kind"], f["where"]) for f in doc["findings"]] == [
        ("no_gradient", ["head.weight", "head.bias"])]
    rank1 = RunView.open(tmp_path / "run" / "processes" / "rank1")
    try:
        assert rank1.meta["rank"] == 1
        assert {e.name for e in rank1.entities("param")} == {
            "net.0.weight", "net.0.bias", "net.2.weight", "net.2.bias", "head.weight",
            "head.bias"}
    finally:
        rank1.close()


ZERO_CODE_DDP = '''
if __name__ == "__main__":  # Lightning's DDP launcher runs this file again for rank 1
    torch.manual_seed(0)
    fit = trainer(logger=False, accelerator="cpu", devices=2,
                  strategy="ddp_find_unused_parameters_true", max_epochs=1)
    fit.fit(Net(unused_head=True), loader())
'''


@pytest.mark.slow
def test_zero_code_ddp_the_launcher_is_rank_0_of_the_job(tmp_path: Path) -> None:
    """Lightning's DDP launcher trains as rank 0 and starts rank 1 as a new interpreter: both
    are ranks of one job (the launcher's own store was a process outside it, so replicas were
    never compared and a finding of rank 0 named a pid)."""
    script = _script(tmp_path, ZERO_CODE_DDP)
    proc = run_gradsight("run", "--out", str(tmp_path / "run"), str(script), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    doc = read_json(tmp_path / "run" / "findings.json")
    ranks = doc["job"]["ranks"]
    assert [r["rank"] for r in ranks] == [0, 1]
    assert all(r["steps"] == 4 and r["status"] == "finished" for r in ranks)
    assert [(f["kind"], f["where"]) for f in doc["findings"]] == [
        ("no_gradient", ["head.weight", "head.bias"])]
    assert not any("process" in f["evidence"] for f in doc["findings"])
