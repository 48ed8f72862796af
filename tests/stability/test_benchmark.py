"""The fast subset of ``make bench-stability`` (``benchmarks/stability/sweep.py --quick``): two
real runs of the benchmark's GPT under ``gradsight run``, one that diverges (lr 1, plain) and one
that does not (lr 0.03, qk-layernorm); their fates measured by the script in plain torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parents[2]
SWEEP = ROOT / "benchmarks" / "stability" / "sweep.py"


def test_the_diverging_run_is_warned_first_and_the_stable_one_not(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, str(SWEEP), "--quick", "--out", str(tmp_path),
                           "-j", "2"], capture_output=True, text=True, env=env, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    runs = json.loads((tmp_path / "results.json").read_text())["runs"]
    bad, good = runs["plain-lr1"], runs["qk-lr0.03"]
    assert bad["diverged"] and not good["diverged"]
    warned = bad["gradsight"]
    assert warned is not None and warned["kind"] == "attention_logit_growth"
    assert warned["step"] < bad["diverge_step"]
    assert warned["where"][0] == bad["layer_grew_first"]  # measured with plain torch
    for rule in ("megatron", "olmo"):  # the loss rules fire late, or not at all
        assert bad[rule] is None or bad[rule] > warned["step"]
    assert good["gradsight"] is None


NANOGPT = ROOT / "benchmarks" / "stability" / "nanogpt.py"


def test_nanogpt_at_30x_its_learning_rate_is_warned_at_the_layer_measured_first(
        tmp_path: Path) -> None:
    """The wild corpus's nanoGPT (written by others) at its own learning rate and at 30x, 100
    steps each: the exact largest attention logit, measured in plain torch, stays far below 100
    at 1x and passes it at 30x; gradsight warns at 30x only, and names first the layer whose
    exact logit passed 100 first."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, str(NANOGPT), "--iters", "100", "--scales", "1,30",
                           "--out", str(tmp_path), "-j", "2"], capture_output=True, text=True,
                          env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    own, high = results["1"], results["30"]
    assert own["steps"] == high["steps"] == 100
    assert own["exact_max_logit"] < 100 and own["level_reached"] is None
    assert own["warnings"] == []
    assert high["level_reached"] is not None
    warned = high["warnings"]
    assert warned and warned[0]["kind"] == "attention_logit_growth"
    assert warned[0]["where"][0] == f"transformer.h.{high['level_reached'][1]}.attn"
