"""The simulated clock every sandbox shares: time moves only when the demo or a test says so."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta


class SimClock:
    def __init__(self, start: datetime):
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._now += delta
            return self._now

    def set(self, moment: datetime) -> None:
        with self._lock:
            if moment < self._now:
                raise ValueError("the simulated clock never goes backwards")
            self._now = moment
