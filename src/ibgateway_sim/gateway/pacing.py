"""IB's pacing rule for one client, as a pure value: no loop, no timer, no socket; `now` is
passed in (the gateway passes its loop's monotonic time), so tests drive it with plain numbers.

TWS counts each client's messages in a sliding one-second window. Above the limit a plain
client gets error 100 for each excess message, which TWS drops (and the refused message still
counts, so a client that keeps flooding stays refused). A client that connected with the
`+PACEAPI` option is paced instead: the excess is held in order and worked off as the window
frees up, and once anything is held every later message queues behind it, so order is kept.
The backlog is bounded; a client that overflows it is cut off (the gateway's call).
"""

from __future__ import annotations

from collections import deque
from enum import Enum
from typing import Generic, TypeVar

T = TypeVar("T")


class Admission(Enum):
    NOW = "now"  # within the limit: handle it now
    QUEUED = "queued"  # +PACEAPI: held in the backlog, to be taken with `take_due`
    REFUSED = "refused"  # over the limit: answer error 100; the message is dropped
    OVERFLOW = "overflow"  # +PACEAPI, but the backlog is full: nothing was kept


class PacingWindow(Generic[T]):
    """One client's sliding window and its +PACEAPI backlog.

    `limit=None` turns pacing off (every message is admitted, and still counted, so the
    gateway can report the busiest second it saw)."""

    __slots__ = ("_backlog", "_times", "limit", "max_backlog", "paced", "refused", "span")

    def __init__(
        self, limit: int | None, *, max_backlog: int, paced: bool = False, span: float = 1.0
    ) -> None:
        self.limit = limit
        self.max_backlog = max_backlog
        self.paced = paced  # the client asked for +PACEAPI: excess is queued, not refused
        self.span = span
        self.refused = 0  # messages refused so far (error 100)
        self._times: deque[float] = deque()  # when the messages in the window were admitted
        self._backlog: deque[T] = deque()

    @property
    def count(self) -> int:
        """Messages in the window as last counted (`offer` / `take_due` trim it)."""
        return len(self._times)

    @property
    def held(self) -> int:
        """Messages waiting in the backlog."""
        return len(self._backlog)

    def offer(self, message: T, now: float) -> tuple[Admission, int]:
        """Admit, queue or refuse `message`, arriving at `now`; with the count of messages in
        the window once it was decided (for a refused one, including it)."""
        if self._backlog:  # something is held: keep the order, queue behind it
            return self._enqueue(message), len(self._times)
        times = self._times
        times.append(now)
        span = self.span
        while now - times[0] >= span:
            times.popleft()
        n = len(times)
        limit = self.limit
        if limit is not None and n > limit:
            if self.paced:
                times.pop()  # not admitted after all: its slot stays free
                return self._enqueue(message), n - 1
            self.refused += 1
            return Admission.REFUSED, n
        return Admission.NOW, n

    def _enqueue(self, message: T) -> Admission:
        if len(self._backlog) >= self.max_backlog:
            return Admission.OVERFLOW
        self._backlog.append(message)
        return Admission.QUEUED

    def take_due(self, now: float) -> T | None:
        """The oldest held message if the window has room for it at `now` (it is then counted
        in the window), else None: nothing is held, or the window is full until `next_slot`."""
        if not self._backlog:
            return None
        times = self._times
        span = self.span
        while times and now - times[0] >= span:
            times.popleft()
        if self.limit is not None and len(times) >= self.limit:
            return None
        times.append(now)
        return self._backlog.popleft()

    def next_slot(self, now: float) -> float:
        """When the oldest message leaves the window (`now` if the window is empty): the
        earliest time `take_due` can succeed while the window is full."""
        return self._times[0] + self.span if self._times else now

    def drop_backlog(self) -> None:
        """Forget what is held (the client is being cut off)."""
        self._backlog.clear()
