"""``gradsight fix``: real trials, each a fresh process; the user's file is never edited."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, default_sigint, read_json, run_gradsight

pytest.importorskip("torch")

HIGH_LR = """
    import torch
    torch.manual_seed(0)
    x = torch.randn(256, 8)
    y = x @ torch.randn(8, 1) + 0.1 * torch.randn(256, 1)
    model = torch.nn.Sequential(torch.nn.Linear(8, 32), torch.nn.ReLU(), torch.nn.Linear(32, 1))
    opt = torch.optim.SGD(model.parameters(), lr={lr})
    for step in range(500):
        idx = torch.randint(0, 256, (32,))
        loss = ((model(x[idx]) - y[idx]) ** 2).mean()
        opt.zero_grad(); loss.backward(); opt.step()
"""

DEEP_SIGMOID = """
    import torch
    torch.manual_seed(0)
    x = torch.randn(256, 8)
    y = (x[:, :1] > 0).float()
    layers = []
    for i in range(10):
        layers += [torch.nn.Linear(8 if i == 0 else 32, 32), torch.nn.Sigmoid()]
    model = torch.nn.Sequential(*layers, torch.nn.Linear(32, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for step in range(500):
        idx = torch.randint(0, 256, (32,))
        loss = torch.nn.functional.binary_cross_entropy_with_logits(model(x[idx]), y[idx])
        opt.zero_grad(); loss.backward(); opt.step()
"""


def _fix(tmp_path: Path, script: Path, *args: str, budget: int | None = None,
         try_all: bool = False) -> tuple[dict, str]:
    out = tmp_path / "fix.json"
    extra = (["--budget", str(budget)] if budget else []) + (["--all"] if try_all else [])
    proc = run_gradsight("fix", "--json", str(out), "--out", str(tmp_path / "trials"), *extra,
                         str(script), *args, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    doc = read_json(out)
    assert doc["schema"] == "gradsight.fix/1"
    assert doc == read_json(tmp_path / "trials" / "fix.json")
    return doc, proc.stdout


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_three_layer_seed_init_repair_wins_and_weights_move(tmp_path: Path) -> None:
    script = tmp_path / "seed_000_001_identity.py"
    shutil.copy(EXAMPLES / "seed_000_001_identity.py", script)
    before, mtime = _digest(script), script.stat().st_mtime_ns
    doc, stdout = _fix(tmp_path, script, "3", try_all=True)
    assert _digest(script) == before and script.stat().st_mtime_ns == mtime  # never edited
    baseline = doc["baseline"]
    assert "vanishing_gradient" in {f["kind"] for f in baseline["findings"]}
    assert doc["best"] is not None and doc["best"].startswith("init:")
    best = doc["trials"][0]
    assert best["repair"] == doc["best"] and best["resolved"] and best["findings"] == []
    assert best["loss"] < baseline["loss"] / 10
    # the first layer moves: >5x what it moved under the N(0, 1e-3) init in the same steps
    assert best["weight_change"]["0.weight"] > 5 * baseline["weight_change"]["0.weight"]
    tried = [t["repair"] for t in doc["trials"]]
    assert "optimizer:adam" in tried and not any(r.startswith(("lr:/", "clip:")) for r in tried)
    assert all(t["repair"].split(":")[0] in ("init", "optimizer", "lr", "clip", "norm")
               for t in doc["trials"])
    assert "best: init:" in stdout and "torch.nn.init." in doc["best_code"]
    order = sorted(doc["trials"], key=lambda t: t["order"])
    assert [t["order"] for t in order] == list(range(1, len(order) + 1))
    assert order[0]["repair"] == "init:he"  # the init is the cause, and ReLU: He first


@pytest.mark.slow
def test_too_high_learning_rate_lower_lr_wins(tmp_path: Path, write_script) -> None:
    script = write_script(HIGH_LR.format(lr=1.0))
    doc, stdout = _fix(tmp_path, script, budget=100)
    assert {"nonfinite", "exploding_gradient"} <= {f["kind"] for f in doc["baseline"]["findings"]}
    assert doc["baseline"]["loss"] is None  # non-finite
    # the blow-up began after updates started: the learning rate first, and it resolves, so
    # fix stops there (one trial, not the plan's four)
    assert [t["repair"] for t in doc["trials"]] == ["lr:/10"] and doc["best"] == "lr:/10"
    assert doc["trials"][0]["order"] == 1 and doc["trials"][0]["loss"] < 0.1
    assert "lr = 0.1 * lr" in stdout and "stopped at the first repair that resolves" in stdout


@pytest.mark.slow
def test_learning_rate_typo_is_stepped_down_until_it_trains(tmp_path: Path,
                                                            write_script) -> None:
    """lr 100 is 1000x too high: /10 still diverges, so fix goes on to /100, /1000."""
    script = write_script(HIGH_LR.format(lr=100.0))
    doc, _ = _fix(tmp_path, script, budget=100)
    tried = [t["repair"] for t in sorted(doc["trials"], key=lambda t: t["order"])]
    assert tried[0] == "lr:/10" and doc["best"] in ("lr:/100", "lr:/1000")
    assert tried[:tried.index(doc["best"]) + 1] == ["lr:/10", "lr:/100", "lr:/1000"][
        :tried.index(doc["best"]) + 1]
    assert tried[-1] == doc["best"]  # stopped there


@pytest.mark.slow
def test_deep_sigmoid_gets_init_or_activation_aware_advice(tmp_path: Path, write_script) -> None:
    script = write_script(DEEP_SIGMOID)
    doc, stdout = _fix(tmp_path, script, budget=150, try_all=True)
    kinds = {f["kind"] for f in doc["baseline"]["findings"]}
    assert "vanishing_gradient" in kinds
    tried = [t["repair"] for t in doc["trials"]]
    assert "init:xavier" in tried and "init:lecun" in tried and "init:he" not in tried
    if doc["best"] is not None:
        assert doc["best"].startswith(("init:", "norm:"))
    else:
        assert "Sigmoid" in doc["advice"] and "ReLU" in doc["advice"]
        assert "activation-aware advice" in stdout


def test_healthy_run_has_nothing_to_fix(tmp_path: Path, write_script) -> None:
    script = write_script(HIGH_LR.format(lr=0.05))
    doc, stdout = _fix(tmp_path, script, budget=100)
    assert doc["baseline"]["findings"] == [] and doc["trials"] == [] and doc["best"] is None
    assert "nothing to fix" in doc["message"] and "nothing to fix" in stdout


@pytest.mark.slow
def test_seed_004_init_repair_wins(tmp_path: Path) -> None:
    doc, _ = _fix(tmp_path, EXAMPLES / "seed_004_digits_cnn.py", "--batch-size", "32",
                  budget=30)
    assert [f["kind"] for f in doc["baseline"]["findings"]] == ["poor_initialization"]
    assert doc["best"] is not None and doc["best"].startswith("init:")
    assert doc["trials"][0]["loss"] < doc["baseline"]["loss"] / 100
    assert "optimizer:adam" not in [t["repair"] for t in doc["trials"]]  # it already is Adam


@pytest.mark.slow
def test_ctrl_c_keeps_the_trials_done_so_far(tmp_path: Path) -> None:
    import json
    import os
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "fix.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "gradsight", "fix", "--all", "--json", str(out), "--out",
         str(tmp_path / "trials"), str(EXAMPLES / "seed_000_001_identity.py"), "3"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "COLUMNS": "120"}, preexec_fn=default_sigint,
    )
    deadline = time.time() + 240
    while time.time() < deadline:  # wait for the first repair trial to be recorded
        if out.exists():
            try:
                if json.loads(out.read_text())["trials"]:
                    break
            except ValueError:
                pass  # caught mid-write
        time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    stdout, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130, stdout[-2000:]
    doc = read_json(out)
    assert doc["schema"] == "gradsight.fix/1" and doc["baseline"]["findings"]
    assert 1 <= len(doc["trials"]) < 7 and "partial results kept" in stdout


KERAS_HIGH_LR = """
    import numpy as np
    import keras
    keras.utils.set_random_seed(0)
    x = np.random.randn(256, 8).astype("float32")
    y = x @ np.random.randn(8, 1).astype("float32")
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(32, activation="relu"),
                              keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=5.0), loss="mse")
    model.fit(x, y, batch_size=32, epochs=3, verbose=0)
"""


@pytest.mark.slow
def test_keras_script_is_diagnosed_but_not_repaired(tmp_path: Path, write_script) -> None:
    """fix installs its repairs through PyTorch hooks: on Keras it says so and tries nothing,
    rather than running trials in which no repair is installed."""
    pytest.importorskip("keras")
    doc, stdout = _fix(tmp_path, write_script(KERAS_HIGH_LR), budget=20)
    assert doc["baseline"]["findings"] and doc["trials"] == [] and doc["best"] is None
    assert "PyTorch only" in doc["message"] and "tensorflow" in doc["message"]
    assert "PyTorch only" in stdout
