"""Real training runs shared by the report tests (short: a few hundred steps)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, run_gradsight


@pytest.fixture(scope="package")
def seed_run_tb(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Seed 000/001 (3 layers, vanishing gradients), also exported to TensorBoard."""
    base = tmp_path_factory.mktemp("seed-tb")
    out, logdir = base / "run", base / "tb"
    proc = run_gradsight("run", "--out", str(out), "--tensorboard", str(logdir),
                         str(EXAMPLES / "seed_000_001_identity.py"), "3", "--steps", "300")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, logdir
