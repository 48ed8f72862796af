"""Real ``torch.distributed`` jobs (gloo on 127.0.0.1, 2 and 4 ranks) run through ``gradsight
run``: one folder and one diagnosis per job, sharded norms equal to a one-process oracle, and
the bugs only a job has. What each job really did is measured by the job itself with plain
torch (``job.py`` writes every rank's losses and final parameters), never taken from gradsight.

The jobs start together (at most ``PARALLEL`` at a time) when the first test asks for one.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest

from tests.conftest import read_json

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.slow

JOB = Path(__file__).with_name("job.py")
PARALLEL = 3
TIMEOUT = 420
# mode -> (world size, launcher)
JOBS = {"healthy": (2, "spawn"), "fsdp": (2, "spawn"), "fsdp_plain": (2, "plain"),
        "bypass": (4, "spawn"), "seed": (2, "spawn"), "noavg": (2, "spawn"),
        "forked_noavg": (2, "fork"), "nan": (2, "spawn"),
        "kill": (2, "torchrun"), "unused": (2, "spawn")}
try:  # ``accelerate launch`` where the package is installed (the ``hf`` extra)
    import accelerate  # noqa: F401

    JOBS["accelerate"] = (2, "accelerate")
except ImportError:
    pass


@dataclass
class Done:
    proc: subprocess.CompletedProcess[str]
    folder: Path  # the run folder
    measured: Path  # what the ranks wrote

    @property
    def doc(self) -> dict[str, Any]:
        return read_json(self.folder / "findings.json")

    def rank(self, r: int) -> dict[str, Any]:
        return json.loads((self.measured / f"rank{r}.json").read_text())

    def findings(self, kind: str) -> list[dict[str, Any]]:
        return [f for f in self.doc["findings"] if f["kind"] == kind]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(base: Path, name: str) -> Done:
    world, launcher = JOBS[name]
    mode = name.removesuffix("_plain").removeprefix("forked_")
    folder, measured = base / name / "run", base / name / "measured"
    measured.mkdir(parents=True)
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "COLUMNS": "120", "PATH": bin_dir + os.pathsep + os.environ["PATH"],
           "JOB_LAUNCH": launcher}
    script = [str(JOB), mode, str(world), str(measured)]
    if launcher == "accelerate":  # its CPU multi-process mode: gloo, like --multi_gpu's DDP
        script = [str(JOB.with_name("accelerate_job.py")), str(measured)]
    if launcher == "plain":
        command = [sys.executable, *script]
    else:
        head = [sys.executable, "-m", "gradsight", "run", "--out", str(folder)]
        if launcher == "torchrun":
            head += ["torchrun", "--nproc_per_node", str(world), "--master_addr", "127.0.0.1",
                     "--master_port", str(_free_port())]
        elif launcher == "accelerate":
            head += ["accelerate", "launch", "--multi_gpu", "--num_processes", str(world),
                     "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
                     "--main_process_ip", "127.0.0.1", "--main_process_port", str(_free_port())]
        command = head + script
    proc = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, env=env)
    if launcher == "plain" and proc.returncode != 0:
        # The unwatched oracle (no gradsight in it) is tried twice: gloo's teardown under FSDP2
        # aborted a process once in a CI run of this busy machine. A watched job gets no retry.
        first = proc.stderr
        for stale in measured.iterdir():
            stale.unlink()
        proc = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, env=env)
        proc.stderr = f"(first try)\n{first[-1500:]}\n(second try)\n{proc.stderr}"
    return Done(proc, folder, measured)


@pytest.fixture(scope="module")
def jobs(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[dict[str, Future[Done]]]:
    """Every job the selected tests of this module need (a test needs each job whose name,
    up to its first "_", is in the test's name), started together."""
    base = tmp_path_factory.mktemp("jobs")
    selected = {item.name for item in request.session.items if item.module is sys.modules[
        __name__]}
    wanted = [name for name in JOBS if any(name.split("_")[0] in test for test in selected)]
    pool = ThreadPoolExecutor(PARALLEL)
    futures = {name: pool.submit(_run, base, name) for name in wanted}
    yield futures
    pool.shutdown(wait=True)


def _done(jobs: dict[str, Future[Done]], name: str, ok: bool = True) -> Done:
    done = jobs[name].result()
    if ok:
        assert done.proc.returncode == 0, done.proc.stderr[-3000:]
    return done


def _max_relative_difference(a: dict[str, Any], b: dict[str, Any]) -> float:
    """Largest |a - b| / max|a| over the parameters, measured from what the ranks wrote."""
    return max(float(np.abs(np.subtract(a[n], b[n])).max() / np.abs(a[n]).max()) for n in a)


def test_a_healthy_ddp_resnet_is_one_job_with_no_warning(jobs) -> None:
    done = _done(jobs, "healthy")
    doc = done.doc
    assert [f for f in doc["findings"] if f["severity"] != "info"] == []
    assert doc["steps"] == 24 and doc["job"]["world_size"] == 2
    assert [r["status"] for r in doc["job"]["ranks"]] == ["finished", "finished"]
    assert "24 steps · run finished · 2 ranks · 0 error(s), 0 warning(s)" in done.proc.stdout
    # one folder: the ranks' stores are kept in it, no per-rank diagnosis beside them
    assert len(list(done.folder.glob("processes/*/run.sqlite"))) == 2
    assert list(done.folder.glob("processes/*/findings.json")) == []
    # replicas that DDP kept identical (measured: the ranks' final parameters, to the bit)
    assert done.rank(0)["params"] == done.rank(1)["params"]
    # the top-level report shows the job: rank 0's charts under the model's own names
    html = (done.folder / "report.html").read_text()
    assert "(0 recorded)" not in html and 'id="ranks"' in html
    data = json.loads(html.split('id="gs-data">')[1].split("</script")[0])
    assert [p["name"] for p in data["params"]][:2] == ["stem.0.weight", "stem.1.weight"]
    assert [r["rank"] for r in data["rank_losses"]] == [0, 1] and data["grad"]


def test_fsdp2_norms_are_the_whole_parameters(jobs) -> None:
    """FSDP2 shards each parameter by rows (33 rows: 17 + 16; one row: 1 + 0): every norm
    gradsight reports is the whole parameter's, as one process training the same job sees it."""
    from tests.distributed.job import batch, build, loss_of

    done = _done(jobs, "fsdp")
    assert [f for f in done.doc["findings"] if f["severity"] != "info"] == []
    plain = _done(jobs, "fsdp_plain")
    for r in (0, 1):  # watching changed nothing: the same losses and parameters, to the bit
        assert done.rank(r) == plain.rank(r)
    from gradsight.core.job import Job

    job = Job.open(done.folder)
    assert job is not None
    try:
        view = job.view()
        entity = view.entity("param", "0.weight")
        assert entity.get("placement") == "shard(0)" and entity.get("shape") == [33, 6]
        grad, preclip, weight, update = (view.metric("param", m) for m in (
            "grad_norm", "grad_norm_preclip", "weight_norm", "update_norm"))
        clipped = 0
        model = build("fsdp")
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        for step in range(12):  # the oracle: both ranks' batches, gradients averaged
            optimizer.zero_grad()
            loss = sum(loss_of("fsdp", model(x), y) for x, y in
                       (batch("fsdp", r, step) for r in (0, 1))) / 2
            loss.backward()
            raw = {n: float(p.grad.norm()) for n, p in model.named_parameters()}
            total = float(torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5))
            clipped += total > 0.5
            before = {n: p.detach().clone() for n, p in model.named_parameters()}
            grads = {n: float(p.grad.norm()) for n, p in model.named_parameters()}
            optimizer.step()
            for name, p in model.named_parameters():
                at = list(grad[name].steps).index(step)
                assert grad[name].values[at] == pytest.approx(grads[name], rel=1e-5)
                if total > 0.5:  # the norm before clipping, from the clip coefficient
                    at = list(preclip[name].steps).index(step)
                    assert preclip[name].values[at] == pytest.approx(raw[name], rel=1e-5)
                at = list(weight[name].steps).index(step)
                assert weight[name].values[at] == pytest.approx(float(p.detach().norm()), rel=1e-5)
                at = list(update[name].steps).index(step)
                assert update[name].values[at] == pytest.approx(
                    float((p.detach() - before[name]).norm()), rel=1e-4)
        assert clipped >= 3  # the clipping path was exercised
    finally:
        job.close()


def test_ddp_bypass_on_four_ranks_is_replicas_diverged(jobs) -> None:
    done = _done(jobs, "bypass")
    # measured: the replicas' final parameters differ (the raw module's steps are local)
    assert _max_relative_difference(done.rank(0)["params"], done.rank(3)["params"]) > 1e-3
    (finding,) = done.findings("replicas_diverged")
    assert finding["severity"] == "error" and finding["step"] == 2  # the first raw step
    assert finding["where"][0] == "0.weight" and len(finding["where"]) == 4
    assert finding["evidence"]["ranks_compared"] == [0, 1, 2, 3]
    assert finding["evidence"]["steps_gradients_not_synchronized"] == [2, 5, 8, 11, 14]
    assert finding["evidence"]["differ_at_initialization"] == []
    assert "DDP-wrapped model" in finding["fixes"][0]
    assert done.doc["job"]["world_size"] == 4


def test_rank_seeded_init_is_replicas_diverged_from_the_start(jobs) -> None:
    done = _done(jobs, "seed")
    (finding,) = done.findings("replicas_diverged")
    assert finding["step"] == 0 and finding["severity"] == "error"
    assert finding["evidence"]["differ_at_initialization"] == finding["where"]
    assert finding["evidence"]["steps_gradients_not_synchronized"] == []  # averaged by hand
    assert "same seed on every rank" in finding["fixes"][0]


def test_a_hand_written_average_that_never_runs_noavg_is_replicas_diverged(jobs) -> None:
    """No DDP and no gradient ever synchronized: only the same start says the ranks are
    replicas (an ensemble would start from different seeds)."""
    done = _done(jobs, "noavg")
    # measured: the same start, different ends
    assert done.rank(0)["losses"][0] != done.rank(1)["losses"][0]  # different batches
    assert _max_relative_difference(done.rank(0)["params"], done.rank(1)["params"]) > 1e-3
    (finding,) = done.findings("replicas_diverged")
    assert finding["step"] == 0 and finding["severity"] == "error"
    assert finding["where"][0] == "0.weight"
    assert finding["evidence"]["differ_at_initialization"] == []
    assert finding["evidence"]["steps_gradients_not_synchronized"][:3] == [0, 1, 2]
    assert "all-reduce every parameter's gradient" in finding["fixes"][0]


def test_forked_ranks_are_watched_like_spawned_ones(jobs) -> None:
    """Ranks started as forked multiprocessing Processes (the distributed tutorial's launcher)
    inherit the parent's watching but not its store's writer: each now watches itself into its
    own store, closed at its end, and the job is judged as under mp.spawn."""
    done = _done(jobs, "forked_noavg")
    assert [(r["rank"], r["status"], r["steps"]) for r in done.doc["job"]["ranks"]] == [
        (0, "finished", 12), (1, "finished", 12)]
    (finding,) = done.findings("replicas_diverged")
    assert finding["where"][0] == "0.weight" and finding["severity"] == "error"


def test_a_nan_on_one_rank_names_the_rank_and_the_first_module(jobs) -> None:
    done = _done(jobs, "nan")
    assert not np.isfinite(done.rank(1)["losses"][6]) and np.isfinite(done.rank(0)["losses"][6])
    (finding,) = done.findings("nonfinite")
    assert finding["evidence"]["rank"] == 1 and finding["evidence"]["ranks_later"] == [0]
    assert finding["where"][0] == "0" and finding["step"] == 6
    assert finding["summary"].startswith("on rank 1 then on the others")


def test_a_killed_rank_is_named_and_what_was_recorded_is_judged(jobs) -> None:
    done = _done(jobs, "kill", ok=False)
    assert done.proc.returncode != 0  # torchrun's own failure, passed on
    job = done.doc["job"]
    failed = job["failed"]
    assert failed["rank"] == 1 and failed["status"] == "killed" and failed["signal"] == "SIGKILL"
    # rank 1 died in step 7; a kill loses at most the last half second (a step is 0.3 s)
    assert 5 <= failed["step"] <= 7
    statuses = {r["rank"]: r["status"] for r in job["ranks"]}
    assert statuses[1] == "killed" and statuses[0] in ("crashed", "killed")
    assert done.doc["steps"] >= 5 and "rank 1 (pid" in done.proc.stdout
    assert [f for f in done.doc["findings"] if f["severity"] != "info"] == []


def test_ddp_unused_parameters_are_no_gradient_when_ddp_stops_the_job(jobs) -> None:
    done = _done(jobs, "unused", ok=False)
    assert "did not receive grad" in done.proc.stderr  # DDP's own error ended the job
    (finding,) = done.findings("no_gradient")
    assert finding["where"] == ["unused.weight", "unused.bias"]
    assert "Expected to have finished reduction" in finding["evidence"]["stopped_the_job"]
    assert "find_unused_parameters=True" in finding["fixes"][0]
    statuses = [r["status"] for r in done.doc["job"]["ranks"]]
    assert "crashed" in statuses and set(statuses) <= {"crashed", "killed"}, statuses
    caused = done.findings("replicas_diverged")
    assert all(f["evidence"].get("caused_by") == "no_gradient" for f in caused)


def test_accelerate_launch_is_one_job(jobs) -> None:
    """``accelerate launch`` (2 CPU processes, gloo) of a script whose every third step goes
    through ``accelerator.unwrap_model``: the DDP bypass, found as in a plain DDP script."""
    if "accelerate" not in jobs:
        pytest.skip("accelerate is not installed")
    done = _done(jobs, "accelerate")
    measured = [json.loads((done.measured / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert _max_relative_difference(*measured) > 1e-3
    (finding,) = done.findings("replicas_diverged")
    assert finding["step"] == 2 and finding["where"][0] == "0.weight"
    assert finding["evidence"]["steps_gradients_not_synchronized"] == [2, 5, 8, 11]
    assert done.doc["job"]["world_size"] == 2
