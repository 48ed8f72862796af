"""The fault matrix: each row runs gradsight as a user would (a real subprocess), breaks
something on purpose, and asserts what is kept: steps recorded against steps trained, the exit
status, the files present and readable.

Rows marked ``faults_bench`` take longer (several random kills, Keras, a size-limited file
system); they run with ``make bench-faults`` (``pytest -m faults_bench tests/faults``), the rest
in ``make test``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Sequence

import pytest

from tests.conftest import Background

__all__ = ["Background", "gradsight", "write", "command", "no_traceback", "read_only"]

BENCH = "faults_bench"
# Small shared test machine: one intra-op thread keeps tiny-model steps fast and steady.
ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "COLUMNS": "120"}
POSIX_ONLY = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and mounts")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``faults_bench`` rows only when asked for by ``-m``."""
    if BENCH in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason="a slow fault row: make bench-faults runs it")
    for item in items:
        if item.get_closest_marker(BENCH) is not None:
            item.add_marker(skip)


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "gradsight", *args]


def gradsight(*args: str, cwd: Path, prefix: Sequence[str] = (), timeout: float = 240,
              env: dict[str, str] | None = None, **kwargs: Any
              ) -> subprocess.CompletedProcess[str]:
    """``python -m gradsight ARGS`` (behind ``prefix``, e.g. ``setpriv``), output captured."""
    return subprocess.run([*prefix, *command(*args)], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **ENV, **(env or {})}, **kwargs)


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def no_traceback(stderr: str) -> None:
    assert "Traceback" not in stderr, stderr[-3000:]


# -- privileges: read-only paths and small file systems --------------------------------------


def unprivileged() -> list[str] | None:
    """A prefix under which permission bits hold: none needed for a normal user; as root,
    ``setpriv`` drops the capabilities that let root write anywhere. None: not possible here."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        return None
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--"]


@pytest.fixture
def as_user() -> list[str]:
    prefix = unprivileged()
    if prefix is None:
        pytest.skip("running as root without setpriv: permission bits cannot be enforced")
    return prefix


def read_only(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o555)
    return path


class Tmpfs:
    """A small tmpfs mounted for one test (root only; Linux), unmounted afterwards."""

    def __init__(self, where: Path, size_kib: int) -> None:
        self.where = where
        where.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kib}k", "tmpfs",
                               str(where)], capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip()})")

    def close(self) -> None:
        subprocess.run(["umount", "-l", str(self.where)], capture_output=True)


@pytest.fixture
def small_disk(tmp_path: Path) -> Any:
    if sys.platform != "linux" or os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("a tmpfs needs root on Linux")
    disk = Tmpfs(tmp_path / "disk", 256)
    try:
        yield disk.where
    finally:
        disk.close()


@pytest.fixture(scope="package")
def stored_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real run: 300 steps, NaN from step 21 (detail rows, histograms, an event, chunks)."""
    from tests.faults.scripts import NAN_AT_21

    root = tmp_path_factory.mktemp("stored")
    write(root, "nan.py", NAN_AT_21)
    proc = gradsight("run", "--out", "run", "nan.py", cwd=root)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return root / "run"
