"""The run store and its reader: round trip, live reading, refusing to overwrite or misread."""

from __future__ import annotations

import json
import math
import sqlite3

import numpy as np
import pytest

from gradsight.core.schedule import DEFAULT_EVERY, DENSE_START, Schedule
from gradsight.core.run_view import RunView
from gradsight.core.store import DB_NAME, SCHEMA_VERSION, RunDataError, RunStore

PARAM_INFO = {
    "shape": [16, 4], "numel": 64, "requires_grad": True, "module": "0", "module_type": "Linear",
    "followed_by": "relu", "feeds": ["1"], "optimizer": 0, "optimizer_type": "SGD", "lr": 0.1,
    "optimized": True,
}


def _snapshot(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def test_round_trip(tmp_path):
    folder = tmp_path / "run"
    store = RunStore.create(folder)
    store.set_meta(framework="torch", script="train.py", status="finished", steps=12,
                   argv=["--epochs", 3])
    store.add_entities([
        ("param", "0.weight", 0, PARAM_INFO),
        ("param", "0.bias", 1, {**PARAM_INFO, "shape": [16], "numel": 16}),
        ("module", "1", 1,
         {"type": "ReLU", "activation": "relu", "inputs_from": ["0"], "owner": "model"}),
        ("module", "0", 0,
         {"type": "Linear", "activation": None, "inputs_from": [], "owner": "model"}),
    ])
    store.add_stats([
        (0, "param", "0.weight", "grad_norm", 0.5),
        (5, "param", "0.weight", "grad_norm", math.nan),
        (10, "param", "0.weight", "grad_norm", math.inf),
        (11, "param", "0.weight", "grad_norm", -math.inf),
        (0, "param", "0.bias", "grad_norm", 0.25),
        (0, "module", "1", "act_nonfinite", 0.0),
    ])
    store.add_stats([(3, "param", "0.weight", "grad_norm", 1.5)])  # out of order: sorted on read
    store.add_losses([(0, 2.0), (1, math.nan), (2, math.inf)])
    store.add_event(7, "exception", "RuntimeError", {"message": "boom", "lines": [1, 2]})
    store.close()

    view = RunView.open(folder)
    assert view.meta["schema_version"] == SCHEMA_VERSION
    assert view.meta["framework"] == "torch"
    assert view.meta["argv"] == ["--epochs", 3]
    assert view.steps == 12  # declared in meta wins

    params = view.entities("param")
    assert [e.name for e in params] == ["0.weight", "0.bias"]
    assert params[0].info == {**PARAM_INFO, "module_kind": "linear", "optimizer_kind": "sgd"}
    assert params[0].get("followed_by") == "relu" and params[0].get("missing", 7) == 7
    assert [e.name for e in view.entities("module")] == ["0", "1"]  # by order, not insertion
    assert view.entity("module", "1").get("activation") == "relu"
    assert view.entity("param", "nope") is None

    grads = view.metric("param", "grad_norm")
    assert set(grads) == {"0.weight", "0.bias"}
    w = grads["0.weight"]
    assert w.steps.tolist() == [0, 3, 5, 10, 11]
    assert w.values[0] == 0.5 and w.values[1] == 1.5
    assert math.isnan(w.values[2])
    assert w.values[3] == math.inf and w.values[4] == -math.inf
    assert len(w) == 5 and w.values.dtype == np.float64
    assert view.metric("module", "act_nonfinite")["1"].values.tolist() == [0.0]
    assert view.metric("param", "no_such_metric") == {}

    assert view.loss.steps.tolist() == [0, 1, 2]
    assert view.loss.values[0] == 2.0 and math.isnan(view.loss.values[1])
    assert view.loss.values[2] == math.inf
    assert view.recorded_steps.tolist() == [0, 3, 5, 10, 11]

    assert view.events() == [{"step": 7, "kind": "exception", "name": "RuntimeError",
                              "message": "boom", "lines": [1, 2]}]
    assert view.events("exception") == view.events() and view.events("other") == []
    view.close()


def test_nan_is_stored_as_null(tmp_path):
    store = RunStore.create(tmp_path / "run")
    store.add_stats([(0, "param", "w", "grad_norm", math.nan)])
    store.add_losses([(0, math.nan)])
    store.close()
    con = sqlite3.connect(tmp_path / "run" / DB_NAME)
    try:
        assert con.execute("SELECT value FROM stats").fetchall() == [(None,)]
        assert con.execute("SELECT value FROM loss").fetchall() == [(None,)]
    finally:
        con.close()


def test_steps_without_declared_count_come_from_the_data(tmp_path):
    store = RunStore.create(tmp_path / "run")
    store.add_losses([(s, 1.0) for s in range(8)])
    store.add_stats([(5, "param", "w", "grad_norm", 1.0)])
    store.close()
    assert RunView.open(tmp_path / "run").steps == 8
    empty = RunStore.create(tmp_path / "empty")
    empty.close()
    assert RunView.open(tmp_path / "empty").steps == 0


def test_reader_sees_flushed_rows_while_the_writer_is_open(tmp_path):
    folder = tmp_path / "run"
    store = RunStore.create(folder)
    try:
        store.set_meta(framework="torch")
        store.add_stats([(0, "param", "w", "grad_norm", 1.0)])
        store.add_losses([(0, 3.0)])
        store.flush()
        live = RunView.open(folder)
        assert live.meta["framework"] == "torch"
        assert live.metric("param", "grad_norm")["w"].values.tolist() == [1.0]
        assert live.loss.values.tolist() == [3.0]

        store.add_stats([(1, "param", "w", "grad_norm", 2.0)])
        store.flush()
        # a view is a snapshot of what it read (detectors must see one consistent run);
        # opening again sees the rows written since
        assert live.metric("param", "grad_norm")["w"].values.tolist() == [1.0]
        again = RunView.open(folder)
        assert again.metric("param", "grad_norm")["w"].steps.tolist() == [0, 1]
        live.close()
        again.close()
    finally:
        store.close()
    assert RunView.open(folder).metric("param", "grad_norm")["w"].values.tolist() == [1.0, 2.0]


def test_closed_store_refuses_rows_and_close_is_idempotent(tmp_path):
    store = RunStore.create(tmp_path / "run")
    store.close()
    store.close()
    with pytest.raises(RuntimeError, match="closed"):
        store.add_stats([(0, "param", "w", "grad_norm", 1.0)])


def test_create_refuses_an_existing_run_and_leaves_it_alone(tmp_path):
    folder = tmp_path / "run"
    store = RunStore.create(folder)
    store.add_losses([(0, 1.0)])
    store.close()
    (folder / "findings.json").write_text("{}")
    before = _snapshot(folder)

    with pytest.raises(RunDataError) as excinfo:
        RunStore.create(folder)
    message = str(excinfo.value)
    assert str(folder / DB_NAME) in message
    assert "already exists" in message and "never overwrites" in message
    assert _snapshot(folder) == before
    assert RunView.open(folder).loss.values.tolist() == [1.0]


def test_create_makes_missing_parent_folders(tmp_path):
    store = RunStore.create(tmp_path / "a" / "b" / "run")
    store.close()
    assert (tmp_path / "a" / "b" / "run" / DB_NAME).is_file()


@pytest.mark.parametrize("garbage", [b"this is not a database\n" * 200, b"\x00\xff" * 3000])
def test_open_garbage_raises_naming_the_file_and_changes_nothing(tmp_path, garbage):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / DB_NAME).write_bytes(garbage)
    before = _snapshot(folder)
    with pytest.raises(RunDataError) as excinfo:
        RunView.open(folder)
    assert str(folder / DB_NAME) in str(excinfo.value)
    assert "nothing was changed" in str(excinfo.value)
    assert _snapshot(folder) == before
    assert (folder / DB_NAME).read_bytes() == garbage


def test_open_truncated_zero_byte_store(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / DB_NAME).write_bytes(b"")
    with pytest.raises(RunDataError, match="run.sqlite"):
        RunView.open(folder)
    assert (folder / DB_NAME).read_bytes() == b""


def test_open_a_sqlite_file_not_written_by_gradsight(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    con = sqlite3.connect(folder / DB_NAME)
    con.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    con.commit()
    con.close()
    with pytest.raises(RunDataError, match="no schema version"):
        RunView.open(folder)


def test_newer_schema_version_says_upgrade(tmp_path):
    folder = tmp_path / "run"
    store = RunStore.create(folder)
    store.set_meta(schema_version=SCHEMA_VERSION + 1)
    store.close()
    with pytest.raises(RunDataError, match="upgrade gradsight") as excinfo:
        RunView.open(folder)
    assert str(SCHEMA_VERSION + 1) in str(excinfo.value)


def test_missing_folder_and_folder_without_store(tmp_path):
    with pytest.raises(RunDataError, match="not a folder"):
        RunView.open(tmp_path / "nope")
    (tmp_path / "plain").mkdir()
    with pytest.raises(RunDataError, match="has no run.sqlite"):
        RunView.open(tmp_path / "plain")


def test_entity_info_round_trips_through_json(tmp_path):
    info = {**PARAM_INFO, "lr": math.nan, "shape": (3, 2), "extra": {"nested": [1, None]}}
    store = RunStore.create(tmp_path / "run")
    store.add_entities([("param", "w", 0, info)])
    store.close()
    got = RunView.open(tmp_path / "run").entity("param", "w").info
    assert math.isnan(got["lr"])
    assert got["shape"] == [3, 2]
    assert got["extra"] == {"nested": [1, None]}
    assert json.loads(json.dumps(got["extra"])) == got["extra"]


# -- Schedule -------------------------------------------------------------------------------

def test_default_schedule_dense_start_then_every_default_every():
    schedule = Schedule()
    recorded = [s for s in range(3 * DEFAULT_EVERY + 1) if schedule.detail(s)]
    expected = sorted(set(range(DENSE_START)) | set(range(0, 3 * DEFAULT_EVERY + 1, DEFAULT_EVERY)))
    assert recorded == expected
    assert schedule.detail(DENSE_START - 1)
    assert not schedule.detail(DENSE_START) or DENSE_START % DEFAULT_EVERY == 0
    assert not schedule.detail(DEFAULT_EVERY + 1)
    assert schedule.detail(100 * DEFAULT_EVERY)


def test_every_one_records_every_step():
    schedule = Schedule(every=1)
    assert all(schedule.detail(s) for s in range(500))


def test_every_n_records_multiples_of_n():
    schedule = Schedule(every=7)
    assert [s for s in range(30) if schedule.detail(s)] == [0, 7, 14, 21, 28]


@pytest.mark.parametrize("every", [0, -1])
def test_every_below_one_is_refused(every):
    with pytest.raises(ValueError, match="positive"):
        Schedule(every=every)


def test_forced_steps_are_recorded():
    schedule = Schedule()
    step = DEFAULT_EVERY + 1
    assert not schedule.detail(step)
    schedule.force(step)
    assert schedule.detail(step)
