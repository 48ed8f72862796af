"""One conformance suite for every adapter: PyTorch, Keras 3 (a ``tf.function`` loop) and TF1
graph code (``tf.Session``) train the same small MLP through ``drivers/``, each computing its own
float64 oracle of every step. For each framework:

- the always-on tier equals the oracle at every step (gradient norms exactly; weight and update
  norms exactly for tensors of at most ``UPDATE_SAMPLE`` elements, within the sampling
  estimator's error above that);
- watching changes nothing: the same losses, final weights and RNG state as a plain run;
- the framework is left as found: every attribute gradsight patched is the original again;
- a run killed with ``kill -9`` keeps its always-on rows up to the last flush.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from gradsight.core.metrics import UPDATE_SAMPLE
from gradsight.core.recorder import FLUSH_S
from gradsight.core.run_view import RunView

DRIVERS = Path(__file__).resolve().parent / "drivers"
ROOT = Path(__file__).resolve().parents[2]
FRAMEWORKS = {"torch": "torch_mlp.py", "keras": "keras_mlp.py", "tf1": "tf1_mlp.py"}
NEEDS = {"torch": "torch", "keras": "tensorflow", "tf1": "tensorflow"}
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONHASHSEED": "0"}
# Sampled update norms of the driver's larger tensors (1024-8192 elements; the sample is 4096):
# measured median relative error ~1-3%, single steps up to ~15%.
ESTIMATE_MEDIAN, ESTIMATE_MAX = 0.05, 0.3


def _python(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=ROOT,
                          env=ENV, timeout=timeout)


@pytest.fixture(scope="module", params=sorted(FRAMEWORKS))
def trained(request, tmp_path_factory) -> dict:
    framework = request.param
    pytest.importorskip(NEEDS[framework])
    tmp = tmp_path_factory.mktemp(framework)
    driver = str(DRIVERS / FRAMEWORKS[framework])
    plain = _python(driver, str(tmp / "plain.json"))
    assert plain.returncode == 0, plain.stderr[-2000:]
    watched = _python("-m", "gradsight", "run", "--out", str(tmp / "run"), driver,
                      str(tmp / "watched.json"))
    assert watched.returncode == 0, watched.stderr[-2000:]
    return {"framework": framework, "folder": tmp / "run",
            "plain": json.loads((tmp / "plain.json").read_text()),
            "watched": json.loads((tmp / "watched.json").read_text())}


def test_watching_changes_nothing(trained: dict) -> None:
    plain, watched = trained["plain"], trained["watched"]
    assert [s["loss"] for s in watched["log"]] == [s["loss"] for s in plain["log"]]
    assert watched["weights"] == plain["weights"]
    assert watched["rng"] == plain["rng"]


def test_always_on_tier_equals_the_oracle_at_every_step(trained: dict) -> None:
    log = trained["watched"]["log"]
    view = RunView.open(trained["folder"])
    try:
        np.testing.assert_array_equal(view.loss.steps, np.arange(len(log)))
        np.testing.assert_allclose(view.loss.values, [s["loss"] for s in log], rtol=1e-6)
        metrics = ("grad_norm", "weight_norm", "update_norm")
        for i, metric in enumerate(metrics):
            series = view.metric("param", metric)
            for name in log[0]["stats"]:
                want = np.array([s["stats"][name][i] for s in log])
                got = series[name]
                np.testing.assert_array_equal(got.steps, np.arange(len(log)), err_msg=name)
                shape = view.entity("param", name).get("shape")
                estimated = metric != "grad_norm" and int(np.prod(shape)) > UPDATE_SAMPLE
                if not estimated:
                    np.testing.assert_allclose(got.values, want, rtol=1e-5, atol=1e-12,
                                               err_msg=f"{name} {metric}")
                    continue
                error = np.abs(got.values - want) / want
                assert np.median(error) < ESTIMATE_MEDIAN, (name, metric, np.median(error))
                assert error.max() < ESTIMATE_MAX, (name, metric, error.max())
    finally:
        view.close()


LEFT_AS_FOUND = r"""
import sys
import gradsight
framework = sys.argv[1]
if framework == "torch":
    import torch, torch.nn.utils.clip_grad as cg
    from torch.optim import optimizer as o
    def snapshot():
        return {"backward": torch.autograd.backward, "compile": torch.compile,
                "clip_value": torch.nn.utils.clip_grad_value_,
                "clip_norm_inner": cg._clip_grads_with_norm_, "scale": torch.amp.GradScaler.scale,
                "pre_hooks": len(o._global_optimizer_pre_hooks),
                "post_hooks": len(o._global_optimizer_post_hooks),
                "forward_hooks": len(torch.nn.modules.module._global_forward_hooks)}
else:
    import keras, tensorflow as tf
    from tensorflow.python.client import session
    from tensorflow.python.eager.polymorphic_function import polymorphic_function as pf
    def snapshot():
        return {"apply": keras.optimizers.Optimizer.__dict__.get("apply"),
                "layer_call": keras.layers.Layer.__dict__.get("__call__"),
                "fit": keras.Model.__dict__.get("fit"), "gradient": tf.GradientTape.gradient,
                "function_call": pf.Function.__call__, "run": session.BaseSession.run,
                "v1_gradients": tf.compat.v1.gradients,
                "apply_gradients": tf.compat.v1.train.Optimizer.apply_gradients,
                "compute_gradients": tf.compat.v1.train.Optimizer.compute_gradients,
                "tensorflow": sys.modules["tensorflow"]}
before = snapshot()
code, diagnosis = gradsight.run_script(sys.argv[2], [sys.argv[3]], out=sys.argv[4])
after = snapshot()
changed = [k for k in before if before[k] is not after[k] and before[k] != after[k]]
print("STEPS", diagnosis.steps, "CHANGED", changed, "CODE", code)
"""


def test_framework_is_left_as_found(trained: dict, tmp_path: Path) -> None:
    framework = trained["framework"]
    proc = _python("-c", LEFT_AS_FOUND, framework, str(DRIVERS / FRAMEWORKS[framework]),
                   str(tmp_path / "out.json"), str(tmp_path / "run"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("STEPS")][-1]
    assert line == "STEPS 40 CHANGED [] CODE 0", line


def test_kill_9_keeps_the_rows_up_to_the_last_flush(trained: dict, tmp_path: Path) -> None:
    framework, slow = trained["framework"], 0.05
    proc = subprocess.Popen(
        [sys.executable, "-u", "-m", "gradsight", "run", "--out", str(tmp_path / "run"),
         str(DRIVERS / FRAMEWORKS[framework]), str(tmp_path / "out.json"), "400", "--slow",
         str(slow)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT,
        env=ENV)
    try:
        seen = -1
        deadline = time.monotonic() + 300
        while seen < 60 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if line.startswith("step"):
                seen = int(line.split()[1])
        time.sleep(2 * FLUSH_S + 0.5)  # the flush by time, then the store's commit interval
        done = seen + 1 + int((2 * FLUSH_S + 0.5) / slow)  # at most this many steps trained
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert seen >= 60
    view = RunView.open(tmp_path / "run")
    try:
        kept = view.metric("param", "grad_norm")
        assert kept, "no always-on rows survived"
        last = max(int(s.steps.max()) for s in kept.values())
        # everything older than two flush intervals is on disk
        lost_at_most = int(2 * FLUSH_S / slow) + 2
        assert last >= seen - lost_at_most, (last, seen)
        assert last <= done
        assert int(view.loss.steps.max()) >= seen - lost_at_most
    finally:
        view.close()
