"""run_sync: the ONE bridge from blocking code to Horizon's asyncio core.

A venue's I/O lives on an event loop. Sync callers (scripts, notebooks, the README quickstart)
get a private loop running in a daemon thread, so fills, health checks and reconnects keep
flowing between calls. Calling a blocking method from inside that loop would deadlock, so it is
refused with a clear error instead.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import threading
import weakref
from collections.abc import Coroutine
from typing import Any, TypeVar

from horizon.errors import HorizonError, RequestTimeout

T = TypeVar("T")


_RUNNING: weakref.WeakSet[LoopThread] = weakref.WeakSet()


@atexit.register
def _stop_all() -> None:
    """At interpreter exit (also after Ctrl-C in a blocking call): stop every loop thread
    cleanly, so no pending task is destroyed mid-flight ("Task was destroyed but it is
    pending!")."""
    for runner in list(_RUNNING):
        runner.stop()


class LoopThread:
    """An event loop in a daemon thread, started lazily, stopped by `stop()` (or at exit)."""

    def __init__(self, name: str = "horizon-loop") -> None:
        self._name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._thread is None or not self._thread.is_alive():
                ready = threading.Event()
                loop = asyncio.new_event_loop()

                def main() -> None:
                    asyncio.set_event_loop(loop)
                    loop.call_soon(ready.set)
                    loop.run_forever()

                thread = threading.Thread(target=main, name=self._name, daemon=True)
                thread.start()
                ready.wait()
                self._loop, self._thread = loop, thread
                _RUNNING.add(self)
            return self._loop

    def owns(self, loop: asyncio.AbstractEventLoop) -> bool:
        """Whether `loop` is this thread's loop (as opposed to a caller's own loop)."""
        return loop is self._loop

    def stop(self) -> None:
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        _RUNNING.discard(self)
        if loop is None or thread is None:
            return
        if loop.is_closed():
            return
        if threading.current_thread() is thread:
            loop.call_soon(loop.stop)
            return
        done = asyncio.run_coroutine_threadsafe(_cancel_pending(), loop)
        with contextlib.suppress(Exception):
            done.result(timeout=5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        if not thread.is_alive():
            loop.close()


async def _cancel_pending() -> None:
    """Cancel every other task on this loop and let each finish its cleanup."""
    me = asyncio.current_task()
    tasks = [t for t in asyncio.all_tasks() if t is not me and not t.done()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def run_sync(
    coro: Coroutine[Any, Any, T],
    *,
    loop: asyncio.AbstractEventLoop,
    timeout: float | None,
    what: str = "call",
) -> T:
    """Run `coro` on `loop` (the loop the venue lives on) and block until its result.

    Refused on the thread that runs `loop` itself: it would wait for work that its own waiting
    keeps from running.
    """
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        coro.close()
        raise HorizonError(
            f"blocking {what} called on the venue's own event loop; use `await ..._async()`"
        )
    future = asyncio.run_coroutine_threadsafe(coro, loop)
    try:
        done, _ = concurrent.futures.wait([future], timeout)
    except BaseException:  # Ctrl-C while waiting: stop the work we started, then go
        future.cancel()
        raise
    if not done:
        future.cancel()
        raise RequestTimeout(what, timeout or 0.0)
    # whatever the coroutine raised comes out as it was (a RequestTimeout raised inside,
    # with its own timeout and message, is not this bridge's timeout)
    return future.result()
