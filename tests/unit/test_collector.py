"""The cyclic collector paused around heavy stages, counted across parallel ones, and the
objects alive at a run's start frozen for the run only."""
from __future__ import annotations

import gc

from tasks.collector import collector_paused, startup_objects_frozen


def test_the_collector_pauses_while_stages_run_and_resumes_when_the_last_one_ends():
    assert gc.isenabled()
    with collector_paused():
        with collector_paused():                  # a second channel pulled in parallel
            assert not gc.isenabled()
        assert not gc.isenabled()                 # the first pull still runs
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()                 # paused by someone else before: left paused
    finally:
        gc.enable()


def _collectable(*objects) -> list[bool]:
    """Whether each object sits in one of the collector's three generations (a frozen one
    sits in the permanent generation, which gc.get_objects() leaves out)."""
    tracked = {id(o) for o in gc.get_objects()}
    return [id(o) in tracked for o in objects]


def test_objects_alive_at_the_start_are_frozen_for_the_run_and_released_after():
    # Checked object by object, not by gc.get_freeze_count(): another thread of the test
    # session may free a frozen object meanwhile, and the count drops with it.
    gc.unfreeze()
    alive = [[] for _ in range(1_000)]            # tracked containers alive when the run starts
    with startup_objects_frozen():
        assert gc.get_freeze_count() >= len(alive)
        later = [[] for _ in range(10)]           # made during the run: not frozen, collected as usual
        assert _collectable(alive[0], alive[-1], later[0], later[-1]) == [False, False, True, True]
    assert gc.get_freeze_count() == 0             # back in the oldest generation: collectable again
    assert _collectable(alive[0], later[0]) == [True, True]
