"""``gradsight run`` / ``gradsight report`` as a shell or a CI job sees them (CONTRACT.md).

Every test here starts gradsight as a real subprocess (``python -m gradsight ...``) on small
scripts written into a temporary folder. Scripts that need PyTorch are tiny (a few layers, at
most 100 steps); the ones that only test how a script is run are plain Python, which is fast.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gradsight.core.run_view import RunView
from tests.conftest import read_json, run_gradsight

# The test machine is small and shared: one intra-op thread keeps tiny-model steps fast and
# their timing stable. It changes nothing gradsight observes.
ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
FINDING_KEYS = {"kind", "severity", "where", "step", "summary", "evidence", "fixes"}
SEVERITIES = {"error", "warning", "info"}


def gradsight(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return run_gradsight(*args, cwd=cwd, env=ENV, timeout=180)


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def problems(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in doc["findings"] if f["severity"] in ("error", "warning")]


# -- scripts -------------------------------------------------------------------------------

# Prints what a script can see of how it was started; imports a module from its own folder.
CONTEXT_SCRIPT = """\
import json
import os
import sys

import sibling_helper

print("first line from the script")
print("CONTEXT " + json.dumps({
    "name": __name__,
    "argv": sys.argv,
    "file": __file__,
    "path0": sys.path[0],
    "helper": sibling_helper.VALUE,
    "helper_file": os.path.realpath(sibling_helper.__file__),
}))
print("last line from the script")
"""

# A model with a layer whose output is never used, but whose parameters are in the optimizer:
# `spare.weight` and `spare.bias` never receive a gradient (a `no_gradient` warning, no error).
UNUSED_LAYER_SCRIPT = """\
import sys
import torch
from torch import nn

torch.manual_seed(0)
STEPS = int(sys.argv[1]) if len(sys.argv) > 1 else 40


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 1))
        self.spare = nn.Linear(4, 4)

    def forward(self, x):
        return self.body(x)


model = Net()
opt = torch.optim.Adam(model.parameters(), lr=0.01)
x = torch.randn(64, 4)
y = x[:, :1] * 2 - x[:, 1:2]
steps = 0
for _ in range(STEPS):
    opt.zero_grad()
    loss = ((model(x) - y) ** 2).mean()
    loss.backward()
    opt.step()
    steps += 1
print(f"script took {steps} optimizer steps")
if len(sys.argv) > 2:
    sys.exit(int(sys.argv[2]))
"""

# A small, healthy regression: the loss falls steadily, every layer learns.
HEALTHY_SCRIPT = """\
import torch
from torch import nn

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 1))
opt = torch.optim.Adam(model.parameters(), lr=0.01)
x = torch.randn(128, 4)
y = x[:, :1] * 2 - x[:, 1:2] + 0.5 * x[:, 2:3]
for step in range(100):
    opt.zero_grad()
    loss = ((model(x) - y) ** 2).mean()
    loss.backward()
    opt.step()
print(f"final loss {loss.item():.4f}")
"""


# -- runs shared by several tests (each costs a few seconds of PyTorch start-up) -------------


@pytest.fixture(scope="module")
def unused_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The unused-layer script, 40 steps, with --out and --json, no --fail-on."""
    root = tmp_path_factory.mktemp("unused")
    script = write(root, "unused_layer.py", UNUSED_LAYER_SCRIPT)
    out, json_path = root / "run", root / "exports" / "nested" / "findings-copy.json"
    proc = gradsight("run", "--out", str(out), "--json", str(json_path), str(script), "40",
                     cwd=root)
    return {"root": root, "script": script, "out": out, "json": json_path, "proc": proc}


@pytest.fixture(scope="module")
def healthy_default(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("healthy_default")
    script = write(root, "healthy.py", HEALTHY_SCRIPT)
    out = root / "run"
    proc = gradsight("run", "--out", str(out), str(script), cwd=root)
    return {"out": out, "proc": proc}


# -- how the script is run ---------------------------------------------------------------------


SCRIPT_ARGS = ["--lr", "3", "-v", "--out", "not-a-run-folder", "--json", "not-findings.json",
               "--fail-on", "error", "--help", "--", "tail"]


def _context(stdout: str) -> dict[str, Any]:
    lines = [line for line in stdout.splitlines() if line.startswith("CONTEXT ")]
    assert len(lines) == 1, stdout
    return json.loads(lines[0][len("CONTEXT "):])


@pytest.fixture
def context_script(tmp_path: Path) -> Path:
    write(tmp_path, "proj/sibling_helper.py", "VALUE = 'from the sibling module'\n")
    return write(tmp_path, "proj/train.py", CONTEXT_SCRIPT)


def test_script_runs_as_python_would_run_it(tmp_path: Path, context_script: Path) -> None:
    plain = subprocess.run([sys.executable, "proj/train.py", *SCRIPT_ARGS], cwd=tmp_path,
                           capture_output=True, text=True, timeout=60)
    assert plain.returncode == 0, plain.stderr
    expected = _context(plain.stdout)

    proc = gradsight("run", "--out", "run", "proj/train.py", *SCRIPT_ARGS, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    seen = _context(proc.stdout)

    assert seen["name"] == "__main__"
    # Option-like arguments after SCRIPT belong to the script, "--" included, not to gradsight.
    assert seen["argv"] == ["proj/train.py", *SCRIPT_ARGS] == expected["argv"]
    # The script's folder comes first on sys.path: the sibling module is importable.
    assert seen["path0"] == expected["path0"] == str((tmp_path / "proj").resolve())
    assert seen["helper"] == "from the sibling module"
    assert seen["helper_file"] == str((tmp_path / "proj" / "sibling_helper.py").resolve())
    assert Path(tmp_path / seen["file"]).resolve() == context_script.resolve()
    # gradsight took none of the script's options for itself.
    assert not (tmp_path / "not-a-run-folder").exists()
    assert not (tmp_path / "not-findings.json").exists()
    assert (tmp_path / "run" / "findings.json").is_file()
    # The script's stdout comes through untouched, before the diagnosis.
    lines = proc.stdout.splitlines()
    assert lines[0] == "first line from the script"
    assert lines[2] == "last line from the script"
    assert lines[3].startswith("gradsight")


def test_script_file_is_absolute_like_python(tmp_path: Path, context_script: Path) -> None:
    plain = subprocess.run([sys.executable, "proj/train.py"], cwd=tmp_path,
                           capture_output=True, text=True, timeout=60)
    proc = gradsight("run", "--out", "run", "proj/train.py", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert _context(proc.stdout)["file"] == _context(plain.stdout)["file"]


def test_argv0_is_kept_exactly_as_typed(tmp_path: Path, context_script: Path) -> None:
    proc = gradsight("run", "--out", "run", "./proj/train.py", "a", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert _context(proc.stdout)["argv"] == ["./proj/train.py", "a"]


# -- what a run writes -------------------------------------------------------------------------


def test_out_writes_store_and_findings_and_json_copy(unused_run: dict[str, Any]) -> None:
    proc, out = unused_run["proc"], unused_run["out"]
    assert proc.returncode == 0, proc.stderr  # a warning without --fail-on is not a failure
    assert (out / "run.sqlite").is_file()
    assert (out / "findings.json").is_file()
    # --json writes the same document (creating its parent folders).
    assert unused_run["json"].is_file()
    assert read_json(unused_run["json"]) == read_json(out / "findings.json")
    assert proc.stdout.splitlines()[0] == "script took 40 optimizer steps"
    assert f"run folder: {out}" in proc.stdout
    view = RunView.open(out)
    try:
        assert view.meta["status"] == "finished"
        assert view.meta["framework"] == "torch"
        assert view.steps == 40
    finally:
        view.close()


def test_findings_document_follows_the_schema(unused_run: dict[str, Any]) -> None:
    doc = read_json(unused_run["out"] / "findings.json")
    assert set(doc) == {"schema", "framework", "steps", "findings"}
    assert doc["schema"] == "gradsight.findings/1"
    assert doc["framework"] == "torch"
    assert doc["steps"] == 40  # what the script printed it took
    assert doc["findings"], "the unused layer must be reported"
    for finding in doc["findings"]:
        # the contract's keys, and "advice": the fixes as data (an extension)
        assert set(finding) - {"advice"} == FINDING_KEYS
        for item in finding.get("advice", []):
            assert set(item) == {"action", "args"} and isinstance(item["action"], str)
        assert len(finding.get("advice", finding["fixes"])) == len(finding["fixes"])
        assert isinstance(finding["kind"], str) and finding["kind"]
        assert finding["severity"] in SEVERITIES
        assert isinstance(finding["where"], list) and finding["where"]
        assert all(isinstance(w, str) for w in finding["where"])
        assert isinstance(finding["step"], int) and 0 <= finding["step"] < doc["steps"]
        assert isinstance(finding["summary"], str) and "\n" not in finding["summary"]
        assert isinstance(finding["evidence"], dict)
        assert isinstance(finding["fixes"], list) and finding["fixes"]
        assert all(isinstance(f, str) and f for f in finding["fixes"])
    by_kind = {f["kind"]: f for f in doc["findings"]}
    assert "no_gradient" in by_kind
    no_grad = by_kind["no_gradient"]
    assert no_grad["severity"] == "warning"
    assert set(no_grad["where"]) == {"spare.weight", "spare.bias"}
    assert no_grad["step"] == 0
    assert not [f for f in doc["findings"] if f["severity"] == "error"]
    # Root cause first: errors, then warnings, then infos.
    ranks = [("error", "warning", "info").index(f["severity"]) for f in doc["findings"]]
    assert ranks == sorted(ranks)


def test_default_folder_is_under_cwd(tmp_path: Path) -> None:
    write(tmp_path, "my_experiment.py", "print('plain script')\n")
    proc = gradsight("run", "my_experiment.py", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    runs = list((tmp_path / "gradsight-runs").iterdir())
    assert len(runs) == 1
    assert re.fullmatch(r"my_experiment-\d{8}-\d{6}(-\d+)?", runs[0].name), runs[0].name
    assert (runs[0] / "run.sqlite").is_file()
    assert (runs[0] / "findings.json").is_file()
    assert f"gradsight-runs/{runs[0].name}" in proc.stdout
    # A second run of the same script gets its own folder and never touches the first.
    first_store = (runs[0] / "run.sqlite").read_bytes()
    again = gradsight("run", "my_experiment.py", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert len(list((tmp_path / "gradsight-runs").iterdir())) == 2
    assert (runs[0] / "run.sqlite").read_bytes() == first_store


# -- exit status -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ending", "status", "meta_status"),
    [
        ("sys.exit(3)", 3, "failed"),
        ("sys.exit('bad config: no data folder')", 1, "failed"),
        ("sys.exit(0)", 0, "finished"),
        ("raise SystemExit", 0, "finished"),
        ("pass", 0, "finished"),
    ],
)
def test_script_exit_status_is_passed_through(
    tmp_path: Path, ending: str, status: int, meta_status: str
) -> None:
    write(tmp_path, "ends.py", f"import sys\nprint('working')\n{ending}\nprint('not reached')\n")
    proc = gradsight("run", "--out", "run", "ends.py", cwd=tmp_path)
    assert proc.returncode == status, proc.stderr
    assert "working" in proc.stdout
    assert "gradsight" in proc.stdout  # the diagnosis is printed whatever the ending
    if "bad config" in ending:
        assert "bad config: no data folder" in proc.stderr  # as Python prints it
    assert (tmp_path / "run" / "findings.json").is_file()
    view = RunView.open(tmp_path / "run")
    try:
        assert view.meta["status"] == meta_status
        assert view.meta["exit_code"] == status
    finally:
        view.close()


def test_script_failure_status_wins_over_fail_on(tmp_path: Path) -> None:
    """A torch script that takes 5 steps then ``sys.exit(3)``: 3, not --fail-on's 1."""
    script = write(tmp_path, "unused_layer.py", UNUSED_LAYER_SCRIPT)
    proc = gradsight("run", "--out", "run", "--fail-on", "warning", str(script), "5", "3",
                     cwd=tmp_path)
    assert proc.returncode == 3, proc.stderr
    doc = read_json(tmp_path / "run" / "findings.json")
    assert doc["steps"] == 5
    assert "no_gradient" in {f["kind"] for f in doc["findings"]}
    assert "no_gradient" in proc.stdout


def test_healthy_script_exits_0_without_problems(healthy_default: dict[str, Any]) -> None:
    proc = healthy_default["proc"]
    assert proc.returncode == 0, proc.stderr
    doc = read_json(healthy_default["out"] / "findings.json")
    assert doc["steps"] == 100
    assert problems(doc) == [], doc
    assert "0 error(s), 0 warning(s)" in proc.stdout
    assert "no training problem found" in proc.stdout


def test_fail_on_warning_fails_on_a_warning(tmp_path: Path) -> None:
    script = write(tmp_path, "unused_layer.py", UNUSED_LAYER_SCRIPT)
    proc = gradsight("run", "--out", "run", "--fail-on", "warning", str(script), "20",
                     cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    doc = read_json(tmp_path / "run" / "findings.json")
    assert [f["kind"] for f in problems(doc)] == ["no_gradient"]
    assert "no_gradient" in proc.stdout


def test_fail_on_error_ignores_a_warning(tmp_path: Path) -> None:
    script = write(tmp_path, "unused_layer.py", UNUSED_LAYER_SCRIPT)
    proc = gradsight("run", "--out", "run", "--fail-on", "error", str(script), "20",
                     cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    doc = read_json(tmp_path / "run" / "findings.json")
    assert [f["severity"] for f in problems(doc)] == ["warning"]


def test_fail_on_rejects_unknown_severity(tmp_path: Path) -> None:
    write(tmp_path, "plain.py", "open('ran.txt', 'w').write('yes')\n")
    proc = gradsight("run", "--fail-on", "info", "plain.py", cwd=tmp_path)
    assert proc.returncode == 2
    assert "--fail-on" in proc.stderr
    assert not (tmp_path / "ran.txt").exists()


# -- recording schedule --------------------------------------------------------------------------


def test_default_schedule_records_fewer_steps(healthy_default: dict[str, Any]) -> None:
    view = RunView.open(healthy_default["out"])
    try:
        recorded = view.recorded_steps
        assert 0 < len(recorded) < 100
        assert recorded[0] == 0  # initialization is always seen
        assert set(recorded.tolist()) <= set(range(100))
        # The loss is kept at every optimizer step whatever the schedule.
        np.testing.assert_array_equal(view.loss.steps, np.arange(100))
        assert np.isfinite(view.loss.values).all()
    finally:
        view.close()


def test_every_1_records_every_step(tmp_path: Path) -> None:
    script = write(tmp_path, "healthy.py", HEALTHY_SCRIPT)
    proc = gradsight("run", "--out", "run", "--every", "1", str(script), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    view = RunView.open(tmp_path / "run")
    try:
        np.testing.assert_array_equal(view.recorded_steps, np.arange(100))
        np.testing.assert_array_equal(view.loss.steps, np.arange(100))
        grad = view.metric("param", "grad_norm")
        assert grad, "gradient norms must be recorded"
        for name, series in grad.items():
            np.testing.assert_array_equal(series.steps, np.arange(100), err_msg=name)
        assert view.meta["every"] == 1
    finally:
        view.close()


@pytest.mark.parametrize("every", ["0", "-5", "often"])
def test_every_must_be_a_positive_number(tmp_path: Path, every: str) -> None:
    write(tmp_path, "plain.py", "open('ran.txt', 'w').write('yes')\n")
    proc = gradsight("run", "--every", every, "plain.py", cwd=tmp_path)
    assert proc.returncode == 2
    assert "--every" in proc.stderr
    assert not (tmp_path / "ran.txt").exists()
    assert not (tmp_path / "gradsight-runs").exists()


# -- report ----------------------------------------------------------------------------------------


def test_report_rereads_a_finished_run(unused_run: dict[str, Any], tmp_path: Path) -> None:
    out = unused_run["out"]
    doc = read_json(out / "findings.json")
    copy = tmp_path / "again.json"
    proc = gradsight("report", str(out), "--json", str(copy), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    kinds = {f["kind"] for f in doc["findings"]}
    assert kinds
    for kind in kinds:
        assert kind in proc.stdout
    assert "1 warning(s)" in proc.stdout
    assert "40 steps" in proc.stdout
    assert read_json(copy) == doc  # the same diagnosis from the stored data alone


# -- bad invocations ----------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["does_not_exist.py", "a_folder"])
def test_missing_script_is_a_clear_usage_error(tmp_path: Path, target: str) -> None:
    (tmp_path / "a_folder").mkdir()
    proc = gradsight("run", target, "--lr", "3", cwd=tmp_path)
    assert proc.returncode == 2
    assert target in proc.stderr
    assert "no such script" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""
    assert not (tmp_path / "gradsight-runs").exists()  # nothing recorded for nothing run


def test_out_never_overwrites_a_recorded_run(tmp_path: Path) -> None:
    write(tmp_path, "plain.py", "open('ran.txt', 'a').write('ran\\n')\n")
    first = gradsight("run", "--out", "run", "plain.py", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    store = (tmp_path / "run" / "run.sqlite").read_bytes()
    findings = (tmp_path / "run" / "findings.json").read_bytes()
    second = gradsight("run", "--out", "run", "plain.py", cwd=tmp_path)
    assert second.returncode != 0
    assert "already exists" in second.stderr
    assert (tmp_path / "run" / "run.sqlite").read_bytes() == store
    assert (tmp_path / "run" / "findings.json").read_bytes() == findings
    assert (tmp_path / "ran.txt").read_text() == "ran\n"  # the script did not run again


def test_out_on_a_recorded_run_is_a_clean_usage_error(tmp_path: Path) -> None:
    write(tmp_path, "plain.py", "print('hello')\n")
    assert gradsight("run", "--out", "run", "plain.py", cwd=tmp_path).returncode == 0
    second = gradsight("run", "--out", "run", "plain.py", cwd=tmp_path)
    assert second.returncode == 2
    assert second.stderr.startswith("gradsight: ")
    assert "Traceback" not in second.stderr


def test_steps_counts_optimizer_steps_not_backward_passes(tmp_path: Path) -> None:
    script = write(tmp_path, "saliency.py", """\
        import torch
        from torch import nn

        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))
        opt = torch.optim.SGD(model.parameters(), lr=0.05)
        x = torch.randn(32, 4)
        y = x.sum(1, keepdim=True)
        for _ in range(10):
            opt.zero_grad()
            loss = ((model(x) - y) ** 2).mean()
            loss.backward()
            opt.step()
        # After training: one more backward, e.g. for a saliency map. No optimizer step.
        probe = x[:1].clone().requires_grad_(True)
        model(probe).sum().backward()
        print("saliency", probe.grad.abs().sum().item())
    """)
    proc = gradsight("run", "--out", "run", str(script), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert read_json(tmp_path / "run" / "findings.json")["steps"] == 10
    assert "10 steps" in proc.stdout
