"""The smaller faults: two runs racing for one folder, gradsight's frames in the user's
traceback, a bad ``--every``, a run that steps no optimizer."""

from __future__ import annotations

import multiprocessing as mp
import os
import subprocess
from pathlib import Path

import pytest

from gradsight.core.store import RunDataError, RunStore
from gradsight.run.session import default_folder
from tests.faults.conftest import ENV, command, gradsight, no_traceback, write

RACERS = 6


def _create(folder: str, barrier: object, results: object) -> None:
    barrier.wait()  # type: ignore[attr-defined]
    try:
        RunStore.create(folder).close()
        results.put("created")  # type: ignore[attr-defined]
    except RunDataError as exc:
        results.put(f"refused: {exc}")  # type: ignore[attr-defined]


def _pick(root: str, barrier: object, results: object) -> None:
    barrier.wait()  # type: ignore[attr-defined]
    results.put(str(default_folder("race", root)))  # type: ignore[attr-defined]


def race(target: object, arg: str) -> list[str]:
    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(RACERS), ctx.Queue()
    procs = [ctx.Process(target=target, args=(arg, barrier, results)) for _ in range(RACERS)]
    for p in procs:
        p.start()
    out = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    return out


def test_processes_racing_for_one_out_folder_one_wins(tmp_path: Path) -> None:
    results = race(_create, str(tmp_path / "run"))
    assert results.count("created") == 1, results
    assert all("already exists" in r for r in results if r != "created")


def test_processes_racing_for_default_folders_get_one_each(tmp_path: Path) -> None:
    folders = race(_pick, str(tmp_path))
    assert len(set(folders)) == RACERS, folders
    assert all(Path(f).is_dir() for f in folders)


def test_two_runs_started_together_keep_two_whole_runs(tmp_path: Path) -> None:
    write(tmp_path, "train.py", """\
        import torch
        torch.manual_seed(0)
        model = torch.nn.Linear(4, 1)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        for step in range(25):
            opt.zero_grad()
            model(torch.randn(8, 4)).pow(2).mean().backward()
            opt.step()
    """)
    procs = [subprocess.Popen(command("run", "--json", f"f{i}.json", "train.py"), cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env={**os.environ, **ENV}) for i in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=240)
        assert p.returncode == 0, err
    folders = sorted((tmp_path / "gradsight-runs").iterdir())
    assert len(folders) == 2
    for folder in folders:
        assert (folder / "findings.json").is_file() and (folder / "report.html").is_file()
        assert '"steps": 25' in (folder / "findings.json").read_text()


def test_users_backward_traceback_has_no_gradsight_frame(tmp_path: Path) -> None:
    write(tmp_path, "twice.py", """\
        import torch
        model = torch.nn.Linear(4, 1)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        loss = model(torch.randn(8, 4)).pow(2).mean()
        loss.backward()
        opt.step()
        loss.backward()  # a second backward through a freed graph
    """)
    proc = gradsight("run", "--out", "run", "twice.py", cwd=tmp_path)
    assert proc.returncode == 1
    tb = proc.stderr[proc.stderr.index("Traceback"):]
    frames = [line for line in tb.splitlines() if line.startswith("  File ")]
    assert "twice.py" in frames[0] and any("torch" in f for f in frames), frames
    assert not [f for f in frames if "gradsight" in f], frames
    assert "Trying to backward through the graph a second time" in tb


@pytest.mark.parametrize("every", ["abc", "1.5", "0"])
def test_every_that_is_no_step_count(tmp_path: Path, every: str) -> None:
    write(tmp_path, "plain.py", "open('ran.txt', 'w').write('yes')\n")
    proc = gradsight("run", "--every", every, "plain.py", cwd=tmp_path)
    assert proc.returncode == 2
    assert f"--every: expected a whole number of steps of at least 1, got '{every}'" in \
        proc.stderr
    assert "_positive" not in proc.stderr
    assert not (tmp_path / "ran.txt").exists()


def test_no_optimizer_shows_no_loss_trend_it_did_not_see(tmp_path: Path) -> None:
    write(tmp_path, "by_hand.py", """\
        import torch
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
        x = torch.randn(64, 4)
        y = x.sum(1, keepdim=True)
        for step in range(50):  # updates by hand: no optimizer ever steps
            model.zero_grad()
            loss = ((model(x) - y) ** 2).mean()
            loss.backward()
            with torch.no_grad():
                for p in model.parameters():
                    p -= 0.05 * p.grad
            if step in (0, 49):
                print(f"loss {loss.item():.4f}")
    """)
    proc = gradsight("run", "--out", "run", "by_hand.py", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    no_traceback(proc.stderr)
    first, last = [line for line in proc.stdout.splitlines() if line.startswith("loss ")]
    assert first != last  # the real loss moved
    assert "→" not in proc.stdout  # and gradsight claims no trend of its own
    assert "nothing was judged" in proc.stdout
