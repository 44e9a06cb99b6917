"""TokenBucket: the pacing every outbound gateway request goes through.

IB disconnects or answers error 100 above ~50 messages/s. A bucket of `rate` tokens per second
holding at most `burst` keeps a client under that in every window, while a saturated caller
still gets the full rate. Waiters *reserve* their token (the level may go negative, like the
generic cell rate algorithm), so concurrent callers are served first come, first served and
none of them spins.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

Clock = Callable[[], float]


class TokenBucket:
    def __init__(
        self,
        rate: float = 45.0,
        burst: int = 10,
        *,
        clock: Clock = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not rate > 0:
            raise ValueError(f"rate must be positive, got {rate!r}")
        if burst < 1:
            raise ValueError(f"burst must be at least 1, got {burst!r}")
        self.rate = float(rate)
        self.burst = int(burst)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = float(burst)
        self._stamp = clock()
        self.granted = 0  # tokens handed out
        self.waited_s = 0.0  # time callers were told to wait for theirs, in all

    def _refill(self, now: float) -> None:
        elapsed = max(0.0, now - self._stamp)
        self._tokens = min(float(self.burst), self._tokens + elapsed * self.rate)
        self._stamp = now

    @property
    def tokens(self) -> float:
        """Tokens available now (negative while waiters hold reservations)."""
        with self._lock:
            self._refill(self._clock())
            return self._tokens

    def try_acquire(self) -> bool:
        """Take a token if one is free now; never waits and never reserves."""
        with self._lock:
            self._refill(self._clock())
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                self.granted += 1
                return True
            return False

    def reserve(self) -> float:
        """Take a token now or in the future; return how long to wait (seconds) before using it."""
        with self._lock:
            self._refill(self._clock())
            self._tokens -= 1.0
            self.granted += 1
            delay = 0.0 if self._tokens >= 0.0 else -self._tokens / self.rate
            self.waited_s += delay
            return delay

    def refund(self, tokens: int) -> None:
        """Give back `tokens` spent on a connection the gateway refused (a clientId clash):
        its pacing window closed with it, so they should not slow the next attempt. The
        level never rises above `burst`."""
        if tokens < 0:
            raise ValueError(f"tokens must be >= 0, got {tokens!r}")
        with self._lock:
            self._refill(self._clock())
            self._tokens = min(float(self.burst), self._tokens + tokens)

    def acquire(self) -> None:
        """Block the calling thread until a token is ours."""
        delay = self.reserve()
        if delay > 0:
            self._sleep(delay)

    async def acquire_async(self) -> None:
        """Wait (without blocking the loop) until a token is ours."""
        delay = self.reserve()
        if delay > 0:
            await asyncio.sleep(delay)
