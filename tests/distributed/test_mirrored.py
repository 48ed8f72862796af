"""``tf.distribute.MirroredStrategy`` over two logical CPU devices gets the findings one device
gets (Keras ``fit``, seed 000/001's collapsing init).

What the Keras adapter sees there (README, "Distributed"): Keras applies the gradients inside
each replica, so the gradient norms and the loss recorded under the strategy are one replica's
share (its half batch, scaled by 1/replicas), while weights and updates are the job's; the
layer-output rings cannot be written from a replica (a slice of a mirrored variable is a
tensor), so layer outputs are turned off and said so (``watch_incomplete``, info).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

pytest.importorskip("tensorflow")

from tests.tf.conftest import gradsight_run  # noqa: E402

JOB = Path(__file__).with_name("mirrored_job.py")
pytestmark = pytest.mark.slow


def _problems(doc: dict) -> list[tuple[str, str, list[str]]]:
    """The root findings (warnings and errors no other finding explains)."""
    return sorted((f["kind"], f["severity"], f["where"]) for f in doc["findings"]
                  if f["severity"] != "info" and "caused_by" not in f["evidence"])


def _symptoms(doc: dict) -> list[tuple[str, str]]:
    return [(f["kind"], f["evidence"]["caused_by"]) for f in doc["findings"]
            if f["severity"] != "info" and "caused_by" in f["evidence"]]


def test_mirrored_strategy_gets_the_findings_of_one_device(tmp_path: Path) -> None:
    with ThreadPoolExecutor(2) as pool:
        single, mirrored = pool.map(
            lambda mode: gradsight_run(tmp_path, JOB, mode, name=mode), ("single", "mirrored"))
    assert "replicas 2" in mirrored["_stdout"] and "replicas 1" in single["_stdout"]
    assert mirrored["steps"] == single["steps"] == 40
    assert _problems(mirrored) == _problems(single)
    assert [kind for kind, _, _ in _problems(single)] == ["poor_initialization"]
    # symptoms, where there are any, are the init's (one device also measures the loss against
    # its reference, which makes the 40 steps at it one)
    for run in (single, mirrored):
        assert all(cause == "poor_initialization" for _, cause in _symptoms(run))
    # what is not seen under the strategy is said, never silently missing
    incomplete = [f for f in mirrored["findings"] if f["kind"] == "watch_incomplete"]
    assert incomplete and incomplete[0]["severity"] == "info"
    assert incomplete[0]["evidence"]["adapter_errors"][0]["part"] == "keras: layer outputs"
