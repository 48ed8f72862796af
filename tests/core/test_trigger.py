"""The always-on tier's triggers: a series that leaves its running band, and gradients that go
silent (every one exactly 0 after a step with any other value), each calling for detail."""

from __future__ import annotations

import numpy as np

from gradsight.core import metrics as m
from gradsight.core.recorder import Recorder
from gradsight.core.run_view import RunView
from gradsight.core.schedule import TRIGGERED_STEPS, Schedule
from gradsight.core.store import RunStore
from gradsight.core.trigger import Band, Silence


def test_silence_fires_once_when_the_gradients_stop():
    silence = Silence()
    seen = [silence.update(np.array(g, dtype=float)) for g in (
        [0.3, 0.1], [0.2, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, np.nan], [0.1, 0.0], [0.0, 0.0])]
    assert seen == [False, False, True, False, False, False, True]


def test_a_run_silent_from_the_start_is_no_trigger():
    """Nothing stopped: it never moved (no_gradient's or dead_units' story from step 0)."""
    silence = Silence()
    assert not any(silence.update(np.zeros(3)) for _ in range(50))


def test_a_band_fires_on_a_jump_up_never_on_a_fall():
    band = Band(1)
    values = [1.0 + 0.01 * (i % 3) for i in range(40)]
    assert not any(band.update(np.array([v]))[0] for v in values)
    assert not band.update(np.array([1e-6]))[0]  # a fall
    assert band.update(np.array([50.0]))[0]


def _rows(grads: list[float]) -> np.ndarray:
    """Always-on rows of one parameter: a loss, and its gradient norm per step."""
    width = m.step_row_width(1)
    rows = np.zeros((len(grads), width))
    rows[:, 0], rows[:, 1] = 1.0, 1.0  # loss seen, loss 1.0
    at = len(m.STEP_ROW_HEAD)
    for name, value in ((m.HAS_GRAD, 1.0), (m.WEIGHT_NORM, 1.0), (m.UPDATE_NORM, 1e-3),
                        (m.LR, 0.1), (m.OPTIMIZED, 1.0)):
        rows[:, at + m.STEP_METRICS.index(name)] = value
    rows[:, at + m.STEP_METRICS.index(m.GRAD_NORM)] = grads
    rows[:, at + m.STEP_METRICS.index(m.UPDATE_NORM)] = np.where(np.array(grads) > 0, 1e-3, 0)
    return rows


def test_the_recorder_opens_a_detail_window_where_the_gradients_go_silent(tmp_path):
    store = RunStore.create(tmp_path / "run")
    schedule = Schedule()
    recorder = Recorder(store, schedule)
    grads = [0.5] * 150 + [0.0] * 100  # silent from step 150: scheduled detail only at 200
    recorder.steps(0, ["out.weight"], _rows(grads))
    recorder.close()
    store.close()
    assert all(schedule.forced(step) for step in range(151, 151 + TRIGGERED_STEPS))
    view = RunView.open(tmp_path / "run")
    try:
        (event,) = view.events("trigger")
        assert event["step"] == 150 and event["series"] == ["gradients_silent"]
    finally:
        view.close()
