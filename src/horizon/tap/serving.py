"""Running an asyncio server from blocking code: its own loop in a daemon thread.

The tap proxy and the replay gateway live on an event loop. Inside one, use them with
`async with`; from blocking code (ib_async's blocking API, ibapi, a plain pytest test), their
`start()` hands the server to a `ServerThread`, which returns once the port is bound (the
readiness handshake: the caller reads the real port right after).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any

Step = Callable[[], Coroutine[Any, Any, None]]


class ServerThread:
    """One loop in one daemon thread, for one server's lifetime."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self, open_server: Step) -> None:
        """Run `open_server()` on a new loop in a new thread; return once it has finished
        (re-raising what it raised), leaving the loop running."""
        if self._thread is not None:
            raise RuntimeError(f"{self.name} is already running")
        ready = threading.Event()
        failure: list[BaseException] = []
        loop = asyncio.new_event_loop()

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(open_server())
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        thread = threading.Thread(target=run, name=self.name, daemon=True)
        thread.start()
        ready.wait()
        if failure:
            thread.join()
            raise failure[0]
        self._loop, self._thread = loop, thread

    def stop(self, close_server: Step, timeout: float = 10) -> None:
        """Run `close_server()` on the thread's loop, then stop the loop and join the thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        asyncio.run_coroutine_threadsafe(close_server(), loop).result(timeout)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        self._loop = self._thread = None
