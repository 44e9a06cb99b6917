"""Changes: where the venue's parts announce a state change and callers await a condition.

An order reaching a status, a fill becoming ready, a ticket's leg filling: each part calls
`notify()` after it changed its own state, and anyone waiting with `wait(predicate, ...)` is
woken if its predicate now holds. No polling, no sleeps; one object the parts share, because
a predicate may span parts (a ticket waits on its legs' records).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from horizon.errors import RequestTimeout


def _expire(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_exception(TimeoutError())


class Changes:
    """Waiters on predicates over the venue's state, woken by `notify()`. Loop-bound."""

    def __init__(self) -> None:
        self._waiters: list[tuple[Callable[[], bool], asyncio.Future[None]]] = []
        self.version = 0  # bumped by every notify: "has anything happened since?"

    def notify(self) -> None:
        self.version += 1
        still = []
        for predicate, fut in self._waiters:
            if fut.done():
                continue
            if predicate():
                fut.set_result(None)
            else:
                still.append((predicate, fut))
        self._waiters = still

    async def wait(self, predicate: Callable[[], bool], timeout: float, what: str) -> None:
        """Return once `predicate()` holds; RequestTimeout(what, timeout) if it does not in
        time (raised from None: the caller's timeout is the whole story)."""
        if predicate():
            return
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        self._waiters.append((predicate, fut))
        # a plain timer rather than asyncio.wait_for: this sits on the submit -> ack path
        timer = loop.call_later(timeout, _expire, fut)
        try:
            await fut
        except TimeoutError:
            raise RequestTimeout(what, timeout) from None
        finally:
            timer.cancel()

    async def wait_quietly(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Like `wait`, but a timeout is an answer (False), not an error."""
        try:
            await self.wait(predicate, timeout, "condition")
        except RequestTimeout:
            return False
        return True
