"""``replicas_diverged``'s first fix follows how the replicas bypassed DDP's averaging: a model
that optimizes by hand under Lightning (told by the adapter as an event, on any rank) must call
``self.manual_backward``; any other job must run its steps through the wrapper."""

from __future__ import annotations

from pathlib import Path

import pytest

from gradsight.adapters.torch.phrasebook import PHRASES
from gradsight.core import advice
from gradsight.core.metrics import EVENT_MANUAL_OPTIMIZATION
from gradsight.detectors.replicas_diverged import _job, detect

from .synthetic import SyntheticRun


def _drifting_job(tmp_path: Path, by_hand_on: int | None):  # type: ignore[no-untyped-def]
    """Two ranks whose replicas drift apart; rank ``by_hand_on`` told a manual optimization."""
    run = _job(0.01, unsynced=lambda step: step % 4 == 2)(SyntheticRun(tmp_path))
    if by_hand_on is not None:
        run._ranks[by_hand_on].event(0, EVENT_MANUAL_OPTIMIZATION, "model")
    return run.open()


@pytest.mark.parametrize("by_hand_on", [None, 0, 1])
def test_the_first_fix_names_the_backward_a_manual_optimization_needs(
        tmp_path: Path, by_hand_on: int | None) -> None:
    (finding,) = detect(_drifting_job(tmp_path, by_hand_on))
    first = finding.advice[0]
    assert first.action == advice.DDP_FORWARD
    assert first.args["manual_backward"] is (by_hand_on is not None)
    code = PHRASES[advice.DDP_FORWARD](first.args).code or ""
    assert ("self.manual_backward(loss)" in code) is (by_hand_on is not None)
    assert ("DistributedDataParallel" in code) is (by_hand_on is None)
