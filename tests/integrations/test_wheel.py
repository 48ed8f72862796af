"""``pip install gradsight[torch]`` from a wheel built here, into a fresh virtual environment,
then ``gradsight run`` from another folder: the installed package (not this checkout) runs a
script, writes the findings and the report (the templates and the chart library are in the
wheel), and carries its metadata (URLs, classifiers, extras).

The fresh environment sees this environment's installed packages (torch, numpy, ...) through a
folder of links to them, leaving out this checkout's own (editable) gradsight, so pip resolves
``gradsight[torch]`` against real installed distributions and installs only the wheel, with
no index (``--no-index``: nothing may be downloaded). Measured on a loaded 2-core machine:
about 30 s this way, against 2 min 50 s for a venv that installs torch 2.13 and matplotlib.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytest.importorskip("build")
pytest.importorskip("torch")

SCRIPT = """
import torch
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
model.add_module("spare", torch.nn.Linear(4, 4))  # never called
opt = torch.optim.SGD(model.parameters(), lr=0.05)
x = torch.randn(32, 4)
for _ in range(20):
    loss = (model[2](model[1](model[0](x))) - x[:, :1]).pow(2).mean()
    opt.zero_grad(); loss.backward(); opt.step()
"""


def _run(*cmd: str | Path, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, f"{cmd}: {proc.stdout[-2000:]}{proc.stderr[-3000:]}"
    return proc


@pytest.mark.slow
def test_wheel_installs_and_runs_in_a_fresh_venv(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    source = tmp_path / "src"  # a copy, so the build leaves nothing in the checkout
    shutil.copytree(ROOT / "gradsight", source / "gradsight",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    wheels = tmp_path / "wheels"
    _run(sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", wheels, source,
         cwd=tmp_path, env=env)
    (wheel,) = wheels.glob("gradsight-*.whl")

    shared = tmp_path / "shared"  # this environment's packages, less its own gradsight
    shared.mkdir()
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if not entry.name.lower().startswith(("gradsight", "__editable__", "_gradsight")) \
                and entry.suffix != ".pth":
            (shared / entry.name).symlink_to(entry)
    target = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(target)
    bin_dir = target / "bin"
    site = Path(subprocess.check_output(
        [bin_dir / "python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        text=True).strip())
    (site / "_shared.pth").write_text(f"{shared}\n")
    _run(bin_dir / "python", "-m", "pip", "install", "--no-index", "--find-links", wheels,
         f"{wheel}[torch]", cwd=tmp_path, env=env)

    work = tmp_path / "work"
    work.mkdir()
    (work / "train.py").write_text(SCRIPT)
    where = _run(bin_dir / "python", "-c", "import gradsight; print(gradsight.__file__)",
                 cwd=work, env=env).stdout.strip()
    assert Path(where).is_relative_to(site), where  # the wheel's copy, not the checkout
    assert _run(bin_dir / "gradsight", "-V", cwd=work, env=env).stdout.strip() == \
        "gradsight 0.1.0"
    run = _run(bin_dir / "gradsight", "run", "--out", "run", "--json", "-", "train.py",
               cwd=work, env=env)
    assert [f["kind"] for f in json.loads(run.stdout)["findings"]] == ["no_gradient"]
    report = (work / "run" / "report.html").read_text()
    assert "echarts" in report.lower() and len(report) > 500_000  # template + vendored library
    meta = _run(bin_dir / "python", "-c", (
        "import importlib.metadata as m, json; d = m.metadata('gradsight'); "
        "print(json.dumps({'urls': d.get_all('Project-URL'), 'classifiers': "
        "d.get_all('Classifier'), 'extras': d.get_all('Provides-Extra')}))"),
        cwd=work, env=env)
    info = json.loads(meta.stdout)
    assert any(u.startswith("Documentation, https://") for u in info["urls"])
    assert "Programming Language :: Python :: 3" in info["classifiers"]
    assert {"torch", "tensorflow", "lightning", "hf", "pandas"} <= set(info["extras"])
