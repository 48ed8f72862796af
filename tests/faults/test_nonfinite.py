"""After the first non-finite value every step is kept: its loss and always-on row (every
parameter's gradient, weight and update norms), and the detail tier (activations, exact norms)
at each of the next ``NONFINITE_STEPS`` steps, where the NaN spreads. Keras decides detail
inside its traced step, so the window must open there, not when the host next reads."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from gradsight.core.run_view import RunView
from gradsight.core.schedule import NONFINITE_STEPS
from tests.faults.conftest import gradsight, write
from tests.faults.scripts import KERAS_NAN_AT_21

FIRST_NAN, STEPS = 21, 300


def every_step_after_the_nan_is_kept(folder: Path) -> None:
    view = RunView.open(folder)
    try:
        assert view.steps == STEPS
        np.testing.assert_array_equal(view.loss.steps, np.arange(STEPS))
        loss = view.loss.values
        assert np.isfinite(loss[:FIRST_NAN]).all() and not np.isfinite(loss[FIRST_NAN:]).any()
        [event] = view.events("nonfinite")
        assert event["step"] == FIRST_NAN
        weights = view.metric("param", "weight_norm")
        assert weights
        for name, series in weights.items():  # the always-on row of every step
            np.testing.assert_array_equal(series.steps, np.arange(STEPS), err_msg=name)
        window = set(range(FIRST_NAN + 1, FIRST_NAN + 1 + NONFINITE_STEPS))
        detail = set(view.recorded_steps.tolist())
        assert window <= detail, sorted(window - detail)
        acts = view.metric("module", "act_std")
        assert acts
        for name, series in acts.items():  # activations at each step of the window
            assert window <= set(series.steps.tolist()), name
    finally:
        view.close()


def test_torch_keeps_every_step_after_the_first_nan(stored_run: Path) -> None:
    every_step_after_the_nan_is_kept(stored_run)


@pytest.mark.faults_bench
def test_keras_keeps_every_step_after_the_first_nan(tmp_path: Path) -> None:
    if importlib.util.find_spec("keras") is None:  # (not imported here: TensorFlow is slow)
        pytest.skip("keras is not installed")
    write(tmp_path, "keras_nan.py", KERAS_NAN_AT_21)
    proc = gradsight("run", "--out", "run", "keras_nan.py", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    every_step_after_the_nan_is_kept(tmp_path / "run")
