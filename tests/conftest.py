"""Shared helpers: run gradsight as a user would (a subprocess), write small scripts."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def run_gradsight(*args: str, cwd: Path | None = None, timeout: float = 600,
                  env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m gradsight ARGS`` in a subprocess, output captured as text."""
    full_env = {**os.environ, "COLUMNS": "120", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "gradsight", *args],
        cwd=cwd, capture_output=True, text=True, timeout=timeout, env=full_env,
    )


def read_json(path: Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text())


@pytest.fixture
def write_script(tmp_path: Path) -> Callable[[str, str], Path]:
    """Write a dedented script into tmp_path and return its path."""

    def write(text: str, name: str = "train.py") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text))
        return path

    return write


def default_sigint() -> None:
    """In the child: Ctrl-C as in a terminal. A test run started in the background by a
    non-interactive shell inherits SIGINT ignored, and Python then never raises
    KeyboardInterrupt: the Ctrl-C tests would test the shell, not gradsight."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Background:
    """``python -m gradsight ARGS`` in the background, its stdout read line by line; each line
    ``PREFIX N`` the script prints (``step 12``) is kept as step N with the time it arrived."""

    def __init__(self, args: Sequence[str], cwd: Path, env: dict[str, str] | None = None,
                 prefix: str = "step ") -> None:
        self.stderr_path = cwd / "stderr.txt"
        self._prefix = prefix
        self._stderr = open(self.stderr_path, "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gradsight", *args], cwd=cwd, stdout=subprocess.PIPE,
            stderr=self._stderr, text=True, env={**os.environ, "COLUMNS": "120", **(env or {})},
            preexec_fn=default_sigint)
        self.steps: list[tuple[int, float]] = []  # (step, arrival time)
        self.lines: list[str] = []
        self._queue: queue.Queue[int | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            now = time.monotonic()
            self.lines.append(line.rstrip("\n"))
            if line.startswith(self._prefix):
                step = int(line[len(self._prefix):].split()[0])
                self.steps.append((step, now))
                self._queue.put(step)
        self._queue.put(None)

    def wait_for_step(self, minimum: int, timeout: float = 180) -> int:
        deadline = time.monotonic() + timeout
        while True:
            try:
                step = self._queue.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                raise AssertionError(f"no step {minimum} in {timeout} s: {self.lines[-3:]}")
            if step is None:
                raise AssertionError(f"gradsight ended early:\n{self.stdout}\n{self.stderr}")
            if step >= minimum:
                return step

    def finish(self, timeout: float = 120) -> int:
        status = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=10)
        self._stderr.close()
        return status

    @property
    def stdout(self) -> str:
        return "\n".join(self.lines)

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)
        if not self._stderr.closed:
            self._stderr.close()
