"""Several steps' detail numbers handed to the recorder at once (what an adapter measures every
step, sent in bulk) read back exactly as the same numbers recorded one step at a time."""

from __future__ import annotations

import numpy as np

from gradsight.core.recorder import Recorder
from gradsight.core.run_view import RunView
from gradsight.core.store import RunStore

NAMES = ["blocks.0.attn", "blocks.1.attn"]
METRICS = ["attn_logit_max", "attn_entropy"]


def _write(folder, bulk: bool, steps, values) -> RunView:
    store = RunStore.create(folder)
    recorder = Recorder(store)
    if bulk:
        recorder.record(steps, "module", NAMES, METRICS, values)
    else:
        for step, block in zip(steps, values):
            recorder.record(step, "module", NAMES, METRICS, block)
    recorder.close()
    store.close()
    return RunView.open(folder)


def test_a_bulk_record_reads_back_as_one_record_per_step(tmp_path):
    rng = np.random.default_rng(0)
    steps = [3, 4, 5, 9]  # not necessarily consecutive
    values = rng.normal(size=(len(steps), len(NAMES), len(METRICS))) * 50
    views = [_write(tmp_path / name, bulk, steps, values)
             for name, bulk in (("bulk", True), ("single", False))]
    for metric_index, metric in enumerate(METRICS):
        series = [view.metric("module", metric) for view in views]
        for name_index, name in enumerate(NAMES):
            bulk, single = series[0][name], series[1][name]
            assert bulk.steps.tolist() == single.steps.tolist() == steps
            np.testing.assert_array_equal(bulk.values, single.values)
            # float32 detail storage: the numbers within its precision
            np.testing.assert_allclose(bulk.values, values[:, name_index, metric_index],
                                       rtol=1e-6)
    for view in views:
        view.close()


def test_an_empty_bulk_record_writes_nothing(tmp_path):
    store = RunStore.create(tmp_path / "run")
    recorder = Recorder(store)
    recorder.record([], "module", NAMES, METRICS, np.zeros((0, 2, 2)))
    recorder.close()
    store.close()
    view = RunView.open(tmp_path / "run")
    assert view.metric("module", METRICS[0]) == {}
    view.close()


def test_full_detail_steps_are_the_steps_with_parameter_detail(tmp_path):
    """A module metric kept every step (the output logits' log-sum-exp) makes no step "in full
    detail": the summary's count is of the steps with per-parameter detail."""
    store = RunStore.create(tmp_path / "run")
    recorder = Recorder(store)
    recorder.record(list(range(40)), "module", ["head"], ["logit_lse"], np.ones((40, 1, 1)))
    for step in (0, 1, 2, 30):
        recorder.record(step, "param", ["0.weight"], ["weight_norm"], np.ones((1, 1)))
    recorder.close()
    store.close()
    view = RunView.open(tmp_path / "run")
    try:
        assert view.full_detail_steps.tolist() == [0, 1, 2, 30]
        assert len(view.recorded_steps) == 40  # every step has some number
    finally:
        view.close()
