"""A job's stores read together (``core.job``), the ranks' findings merged, and how a job ended:
synthetic jobs written through the real store, numbers checked against numpy."""

from __future__ import annotations

import math
import os
import signal
from pathlib import Path

import numpy as np
import pytest

from gradsight.core.diagnosis import diagnose_folder, merge_ranks
from gradsight.core.finding import Finding, Severity
from gradsight.core.job import Job, RankRecord, root_sum_squares
from gradsight.core.series import Series
from gradsight.core.synthetic import NAN, SyntheticRun, healthy_loss, when

STEPS = range(0, 30, 3)


def test_root_sum_squares_equals_numpy_on_the_common_steps() -> None:
    rng = np.random.default_rng(0)
    a = Series(np.arange(0, 20), rng.random(20))
    b = Series(np.arange(5, 25), rng.random(20))
    c = Series(np.arange(0, 30, 2), rng.random(15))
    merged = root_sum_squares([a, b, c])
    steps = sorted(set(range(0, 20)) & set(range(5, 25)) & set(range(0, 30, 2)))
    assert merged.steps.tolist() == steps
    oracle = [math.sqrt(sum(float(s.values[list(s.steps).index(t)]) ** 2 for s in (a, b, c)))
              for t in steps]
    np.testing.assert_allclose(merged.values, oracle, rtol=1e-15)


def _sharded_job(tmp_path: Path) -> SyntheticRun:
    """Two ranks, each holding half of every parameter: rank r's norms are (r + 1) x base."""
    def rank_run(run: SyntheticRun, rank: int) -> SyntheticRun:
        return run.mlp([4, 16, 1]).steps(STEPS, grad_norm=0.1 * (rank + 1),
                                         weight_norm=1.0 + rank, update_norm=1e-3 * (rank + 1),
                                         loss=lambda s: healthy_loss(s) * (1 + rank))
    return SyntheticRun(tmp_path).job(2, rank_run, placement="shard(0)")


def test_a_sharded_parameter_has_the_whole_parameters_norms(tmp_path: Path) -> None:
    view = _sharded_job(tmp_path).open()
    assert view.rank == 0 and sorted(view.ranks) == [0, 1]
    grad = view.metric("param", "grad_norm")["0.weight"]
    weight = view.metric("param", "weight_norm")["0.weight"]
    update = view.metric("param", "update_norm")["2.bias"]
    np.testing.assert_allclose(grad.values, math.hypot(0.1, 0.2), rtol=1e-12)
    np.testing.assert_allclose(weight.values, math.hypot(1.0, 2.0), rtol=1e-12)
    np.testing.assert_allclose(update.values, math.hypot(1e-3, 2e-3), rtol=1e-12)
    assert grad.steps.tolist() == list(STEPS)
    # what is not a norm of the shard stays the rank's own: its loss, its learning rate
    assert view.loss.values[0] == pytest.approx(healthy_loss(0))
    assert view.ranks[1].loss.values[0] == pytest.approx(2 * healthy_loss(0))


def test_whole_parameters_are_not_merged(tmp_path: Path) -> None:
    def rank_run(run: SyntheticRun, rank: int) -> SyntheticRun:
        return run.mlp([4, 16, 1]).steps(STEPS, grad_norm=0.1 * (rank + 1))
    view = SyntheticRun(tmp_path).job(2, rank_run, placement="replicate").open()
    np.testing.assert_allclose(view.metric("param", "grad_norm")["0.weight"].values, 0.1)


def _finding(kind: str, where: list[str]) -> Finding:
    return Finding(kind, Severity.WARNING, where, 3, f"{kind} summary")


def test_merge_names_the_ranks_a_finding_holds_on() -> None:
    both = _finding("dead_units", ["1"])
    merged = merge_ranks({0: [both, _finding("loss_spike", ["loss"])],
                          1: [both, _finding("stalled_weights", ["2.weight"])],
                          2: [both]})
    assert [f.kind for f in merged] == ["dead_units", "loss_spike", "stalled_weights"]
    assert "rank" not in merged[0].evidence and "ranks" not in merged[0].evidence
    assert merged[1].evidence["rank"] == 0 and merged[1].summary.startswith("on rank 0 only:")
    assert merged[2].evidence["rank"] == 1


def test_merge_lists_several_ranks() -> None:
    some = _finding("dead_units", ["1"])
    merged = merge_ranks({0: [], 1: [some], 2: [some]})
    assert merged[0].evidence["ranks"] == [1, 2]
    assert merged[0].summary.startswith("on ranks 1, 2 only:")


def _gone_pid() -> int:
    """A pid that no process has now."""
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return pid


def _ended(tmp_path: Path, statuses: dict[int, tuple[str, int]], **parent: object) -> Job:
    def rank_run(run: SyntheticRun, rank: int) -> SyntheticRun:
        status, steps = statuses[rank]
        meta = {"status": status, "pid": _gone_pid()}
        if status == "crashed":
            meta["error"] = "RuntimeError: Connection reset by peer\nmore lines"
        return run.mlp([4, 8, 1]).steps(range(steps)).set_meta(**meta)
    SyntheticRun(tmp_path).job(len(statuses), rank_run).set_meta(**parent).open()
    job = Job.open(tmp_path / "run")
    assert job is not None
    return job


def test_the_rank_killed_first_is_named_with_its_last_recorded_step(tmp_path: Path) -> None:
    job = _ended(tmp_path, {0: ("crashed", 9), 1: ("running", 7), 2: ("finished", 9)})
    assert [r.status for r in job.ranked] == ["crashed", "killed", "finished"]
    failed = job.failure
    assert failed is not None and failed["rank"] == 1 and failed["step"] == 7
    assert failed["status"] == "killed"
    assert job.ranked[0].error == "RuntimeError: Connection reset by peer"


def test_the_launchers_word_on_the_first_failure_wins(tmp_path: Path) -> None:
    job = _ended(tmp_path, {0: ("crashed", 5), 1: ("running", 5)})
    assert job.failure is not None and job.failure["rank"] == 1  # without it: the kill
    told = Job(job.folder, job._views, {"failed_process": {"pid": int(job.ranked[0].pid),
                                                           "exit_code": 1}})
    assert told.failure is not None and told.failure["rank"] == 0
    assert told.failure["exit_code"] == 1
    job.close()


def test_a_finished_job_has_no_failure(tmp_path: Path) -> None:
    job = _ended(tmp_path, {0: ("finished", 4), 1: ("finished", 4)})
    assert job.failure is None and job.summary()["world_size"] == 2
    assert RankRecord(0, "12", "finished", 4).as_dict() == {
        "rank": 0, "pid": "12", "status": "finished", "steps": 4}


def test_ranks_that_died_before_their_first_step_are_reported(tmp_path: Path) -> None:
    def rank_run(run: SyntheticRun, rank: int) -> SyntheticRun:
        return run.mlp([4, 8, 1]).set_meta(status="running", pid=_gone_pid())
    SyntheticRun(tmp_path).job(2, rank_run).open()
    diagnosis = diagnose_folder(tmp_path / "run")
    assert diagnosis.steps == 0 and diagnosis.job is not None
    assert diagnosis.job["failed"]["rank"] == 0 and diagnosis.job["failed"]["step"] == 0
    assert [r["status"] for r in diagnosis.job["ranks"]] == ["killed", "killed"]


def _nan_job(tmp_path: Path, rank_one_first: bool) -> SyntheticRun:
    """Rank 1's layer "0" and loss go NaN at step 12; rank 0 follows at 15 (or also at 12)."""
    def rank_run(run: SyntheticRun, rank: int) -> SyntheticRun:
        start = 12 if rank == 1 or not rank_one_first else 15
        act = {"0": {"act_nonfinite": when(lambda s: s >= 12, 1, 0)}} if rank == 1 else {}
        return run.mlp([4, 16, 1]).steps(
            STEPS, act=act, weight_norm=when(lambda s: s >= 12, NAN, 1.0),
            loss=when(lambda s: s >= start, NAN, healthy_loss))
    return SyntheticRun(tmp_path).job(2, rank_run, placement="replicate")


def test_a_nan_from_one_rank_is_judged_on_that_rank(tmp_path: Path) -> None:
    _nan_job(tmp_path, rank_one_first=True).open()
    diagnosis = diagnose_folder(tmp_path / "run")
    (nonfinite,) = [f for f in diagnosis.findings if f.kind == "nonfinite"]
    assert nonfinite.evidence["rank"] == 1 and nonfinite.evidence["ranks_later"] == [0]
    assert nonfinite.where[0] == "0" and nonfinite.step == 12
    assert nonfinite.summary.startswith("on rank 1 then on the others")


def test_a_nan_on_every_rank_at_once_names_no_rank(tmp_path: Path) -> None:
    _nan_job(tmp_path, rank_one_first=False).open()
    diagnosis = diagnose_folder(tmp_path / "run")
    (nonfinite,) = [f for f in diagnosis.findings if f.kind == "nonfinite"]
    assert "rank" not in nonfinite.evidence


def test_the_launchers_exceptions_name_the_failed_worker() -> None:
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError, ProcessFailure
    from torch.multiprocessing import ProcessExitedException, ProcessRaisedException

    from gradsight.run.workers import first_failure

    exited = ProcessExitedException("process 1 terminated with signal SIGKILL", error_index=1,
                                    error_pid=4242, exit_code=-9, signal_name="SIGKILL")
    assert first_failure(exited) == {"pid": 4242, "index": 1, "signal": "SIGKILL",
                                     "exit_code": -9}
    raised = ProcessRaisedException("boom", error_index=0, error_pid=77)
    assert first_failure(RuntimeError("wrapped").with_traceback(None)) is None
    try:
        raise RuntimeError("outer") from raised
    except RuntimeError as outer:
        assert first_failure(outer) == {"pid": 77, "index": 0}
    failure = ProcessFailure(local_rank=1, pid=999, exitcode=-int(signal.SIGKILL),
                             error_file="<N/A>")
    child = ChildFailedError("train.py", {1: failure})
    assert first_failure(child) == {"pid": 999, "rank": 1, "exit_code": -9,
                                    "signal": "SIGKILL"}
