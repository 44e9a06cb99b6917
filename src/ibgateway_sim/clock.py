"""`SimClock`: a clock tests drive, faster than wall time, so a session close is seconds away.

Pass it as `GatewaySimulator(clock=...)`; move it with `advance` or `set`, then call the
simulator's `step()` so the engine and the streams see the new time.
"""

from __future__ import annotations

import threading
import time

from ibgateway_sim.engine.sessions import US_EQUITY, Calendar


class SimClock:
    """Epoch seconds that move only when told to (thread-safe)."""

    def __init__(self, start: float) -> None:
        self._t = float(start)
        self._lock = threading.Lock()

    @classmethod
    def in_regular_session(cls, after: float, calendar: Calendar = US_EQUITY,
                           minutes_in: float = 1.0) -> SimClock:  # fmt: skip
        """A clock `minutes_in` minutes after the first regular open at or after `after`."""
        return cls(calendar.next_regular_open(after) + minutes_in * 60)

    def __call__(self) -> float:
        with self._lock:
            return self._t

    def advance(self, seconds: float) -> float:
        with self._lock:
            self._t += seconds
            return self._t

    def set(self, t: float) -> None:
        with self._lock:
            self._t = float(t)


class ShiftedClock:
    """Wall time moved to read `start` now, then running at wall speed: what replays a
    recorded day in real time (`horizon-ibkr sim --market-data`)."""

    def __init__(self, start: float) -> None:
        self._offset = float(start) - time.time()

    def __call__(self) -> float:
        return time.time() + self._offset
