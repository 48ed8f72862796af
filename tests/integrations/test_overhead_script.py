"""The overhead benchmark runs end to end (its timings are not judged here: speed is measured
by `make bench`, never in tests). A smoke run at tiny sizes catches a benchmark that no longer
matches the adapter's layout (its --profile spans name gradsight's functions) or that lost its
summary line."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_overhead_benchmark_runs_and_profiles_at_tiny_sizes() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "overhead.py"), "--quick", "--device", "cpu",
         "--models", "mlp", "--rounds", "1", "--steps", "10", "--threads", "1", "--profile"],
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    summary = re.search(r"^mlp: plain [\d.]+ ms/step, default [\d.]+x, every-1 [\d.]+x, "
                        r"always-on [\d.]+x, grad-norm pass \+[\d.]+%", out, re.M)
    assert summary, out[-2000:]
    # every span of the profile found its function (a renamed one would time nothing)
    profiled = out.split("no step recorded (idle)")[0]
    for label in ("optimizer pre-hook (_pre_step)", "StepMeter.before_step",
                  "StepMeter.after_step", "stats.norms (all callers)"):
        assert label in profiled, label
