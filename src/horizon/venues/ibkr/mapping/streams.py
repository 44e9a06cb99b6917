"""The subscriber side of a live stream (quotes, bars, depth changes, ticks): a buffer the
venue's loop fills and any thread or loop drains. Pure: no requests, no clock reads.

Items are queued (at most `maxlen`; the oldest go first, counted in `dropped`) until
consumed: iterate it (``async for x in stream``), block on ``get()`` from plain threads, read
``latest(key)``, or let the venue call `callback` with each item. Iteration ends after the
stream is closed (unsubscribe, or the venue's close) once the queue is empty. A market IB
refused is listed in `failures` with the reason; `degraded` names markets whose data farm is
down (IB 2103/2105/2157): the stream is silent because the farm is, not because it ended.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Generic, TypeVar

from horizon.errors import HorizonError, RequestTimeout

__all__ = ["Stream"]

T = TypeVar("T")


class Stream(Generic[T]):
    """A live stream of `T`. Thread-safe: the venue's loop produces, anyone consumes."""

    def __init__(
        self,
        market_ids: Sequence[str],
        *,
        key: Callable[[T], str],
        callback: Callable[[T], object] | None = None,
        loop: asyncio.AbstractEventLoop | None = None,
        maxlen: int = 10_000,
        what: str = "item",
    ) -> None:
        self.market_ids: tuple[str, ...] = tuple(market_ids)
        self.callback = callback
        self.failures: dict[str, str] = {}
        self.degraded: dict[str, str] = {}
        self.dropped = 0
        self._key = key
        self._what = what
        self._loop = loop
        self._queue: deque[T] = deque()
        self._maxlen = maxlen
        self._latest: dict[str, T] = {}
        self._closed = False
        self._cond = threading.Condition()
        self._waiters: list[asyncio.Future[None]] = []

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"{type(self).__name__}({', '.join(self.market_ids)}; {state})"

    @property
    def closed(self) -> bool:
        return self._closed

    def latest(self, market_id: str) -> T | None:
        """The newest item of `market_id` seen by this stream (consumed or not)."""
        with self._cond:
            return self._latest.get(market_id)

    def pending(self) -> int:
        with self._cond:
            return len(self._queue)

    # ---- producer side (the venue) ------------------------------------------------------
    def push(self, item: T) -> None:
        with self._cond:
            if self._closed:
                return
            self._latest[self._key(item)] = item
            self._queue.append(item)
            if len(self._queue) > self._maxlen:
                self._queue.popleft()
                self.dropped += 1
            self._wake()

    def fail(self, market_id: str, reason: str) -> None:
        with self._cond:
            self.failures[market_id] = reason
            self._wake()

    def degrade(self, market_id: str, reason: str | None) -> None:
        """Mark (reason) or clear (None) a data-farm outage of `market_id`."""
        with self._cond:
            if reason is None:
                self.degraded.pop(market_id, None)
            else:
                self.degraded[market_id] = reason

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._wake()

    def _wake(self) -> None:
        self._cond.notify_all()
        waiters, self._waiters = self._waiters, []
        for fut in waiters:
            loop = fut.get_loop()
            if loop.is_closed():
                continue
            loop.call_soon_threadsafe(_resolve, fut)

    # ---- consumer side ------------------------------------------------------------------
    def get(self, timeout: float | None = None) -> T:
        """Block until the next item; RequestTimeout after `timeout` seconds, StopIteration
        once the stream is closed and drained. Not on the venue's own loop thread."""
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is not None and running is self._loop:
            raise HorizonError(
                f"{type(self).__name__}.get() blocks; on the venue's loop use `async for`"
            )
        with self._cond:
            if not self._cond.wait_for(lambda: bool(self._queue) or self._closed, timeout):
                raise RequestTimeout(f"next {self._what}", timeout or 0.0)
            if self._queue:
                return self._queue.popleft()
        raise StopIteration

    def __iter__(self) -> Iterator[T]:
        while True:
            try:
                yield self.get()
            except StopIteration:
                return

    def __aiter__(self) -> AsyncIterator[T]:
        return self

    async def __anext__(self) -> T:
        while True:
            with self._cond:
                if self._queue:
                    return self._queue.popleft()
                if self._closed:
                    raise StopAsyncIteration
                fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                self._waiters.append(fut)
            await fut

    async def next_async(self, timeout: float) -> T:
        """The next item within `timeout` seconds (RequestTimeout otherwise)."""
        try:
            return await asyncio.wait_for(self.__anext__(), timeout)
        except TimeoutError as exc:
            raise RequestTimeout(f"next {self._what}", timeout) from exc


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)
