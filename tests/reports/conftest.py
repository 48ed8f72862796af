"""Real training runs shared by the report tests (short: a few hundred steps)."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from tests.conftest import EXAMPLES, run_gradsight
from tests.reports.browser import Browser, chromium_path


@pytest.fixture(scope="package")
def seed_run_tb(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Seed 000/001 (3 layers, vanishing gradients), also exported to TensorBoard."""
    base = tmp_path_factory.mktemp("seed-tb")
    out, logdir = base / "run", base / "tb"
    proc = run_gradsight("run", "--out", str(out), "--tensorboard", str(logdir),
                         str(EXAMPLES / "seed_000_001_identity.py"), "3", "--steps", "300")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, logdir


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    """One headless Chromium per test module (a skip, or a failure under make test, without it)."""
    chromium_path()
    b = Browser(tmp_path_factory.mktemp("chromium-profile"))
    yield b
    b.close()
