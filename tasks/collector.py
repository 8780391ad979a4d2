"""Python's cyclic garbage collector around the stages that make many small objects.

The collector scans every tracked object of the heap again each time enough new ones pile up,
so a stage that makes and keeps hundreds of thousands of them (pulled payloads, parcels and
their quotes, carrier answers) pays for scanning the whole heap over and over: at 100k orders
11 s of the flow's 61 s of CPU (47 full collections). These stages leave almost no cyclic
garbage; what they leave is found when the collector resumes.
"""
from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_paused = {"running": 0, "resume": False}   # stages under collector_paused, and whether to resume it
_lock = threading.Lock()


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the collector for the duration. Process-wide and counted: stages running in
    parallel threads (one pull per channel) resume it when the last one ends, and only if it
    was running when the first began."""
    with _lock:
        if not _paused["running"]:
            _paused["resume"] = gc.isenabled()
            gc.disable()
        _paused["running"] += 1
    try:
        yield
    finally:
        with _lock:
            _paused["running"] -= 1
            if not _paused["running"] and _paused["resume"]:
                gc.enable()


@contextmanager
def startup_objects_frozen() -> Iterator[None]:
    """Objects alive when a flow run starts (modules, Prefect's and pandas' own, the world) go to
    the collector's permanent generation for the run, so no collection scans them again; they
    return to the oldest generation afterwards, so a long-lived process leaks nothing."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
