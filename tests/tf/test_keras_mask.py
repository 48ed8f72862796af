"""The Keras graph's detail mask (``adapters/keras/mask.py``): the host reads rows every few
dozen steps, so a window the recorder opens after a row (a layer suspected dead, a band trigger)
often names steps the graph has already run. Such a window is opened again from the step the
graph is at, as long; windows the graph saw in time, and steps already covered, are not."""

from __future__ import annotations

from gradsight.adapters.keras.mask import DetailMask
from gradsight.core.schedule import Schedule


def _detail(schedule: Schedule, steps: range) -> list[int]:
    return [s for s in steps if schedule.forced(s)]


def test_a_window_opened_for_steps_already_run_is_opened_again_from_now() -> None:
    schedule = Schedule()
    mask = DetailMask(schedule)
    mask.refill(96)
    schedule.force(101, 5)  # a layer looked dead at scheduled step 100 (rows read at 128)
    mask.refill(128)
    assert _detail(schedule, range(120, 160)) == [128, 129, 130, 131, 132]
    mask.refill(160)  # nothing new since: nothing more
    assert _detail(schedule, range(133, 200)) == []


def test_a_window_still_ahead_is_left_as_it_is() -> None:
    schedule = Schedule()
    mask = DetailMask(schedule)
    schedule.force(140, 8)
    mask.refill(128)
    assert _detail(schedule, range(100, 200)) == list(range(140, 148))


def test_an_extended_window_counts_from_its_old_end() -> None:
    schedule = Schedule()
    mask = DetailMask(schedule)
    schedule.force(101, 5)
    mask.refill(104)  # steps 104, 105 still ahead: seen in time; 101-103 lost, re-opened once
    assert _detail(schedule, range(100, 120)) == [101, 102, 103, 104, 105, 106, 107, 108]
    schedule.force(109, 8)  # extends the merged window [101, 109) to [101, 117)
    mask.refill(130)
    assert _detail(schedule, range(117, 160)) == list(range(130, 138))
