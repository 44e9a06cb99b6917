"""Helpers of the tap's integration tests: a frame collector to wait on, a scripted fake
gateway, and a raw byte client. Every wait is on an event, with a deadline."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable

from horizon.tap.recording import RecordedFrame


class Frames:
    """What a Recorder's `on_frame` saw. Waits on a condition the recorder's thread (or loop)
    notifies; `await_until` is for tests whose tap runs on their own loop."""

    def __init__(self) -> None:
        self.seen: list[RecordedFrame] = []
        self._cond = threading.Condition()
        self._event = asyncio.Event()

    def __call__(self, frame: RecordedFrame) -> None:
        with self._cond:
            self.seen.append(frame)
            self._cond.notify_all()
        self._event.set()  # only awaited when the tap runs on the test's own loop

    def named(self, name: str, conn: int | None = None) -> list[RecordedFrame]:
        with self._cond:
            return [f for f in self.seen if f.name == name and conn in (None, f.conn)]

    def wait(self, pred: Callable[[], bool], timeout: float = 5) -> None:
        with self._cond:
            assert self._cond.wait_for(pred, timeout), "the recording never got there"

    async def await_until(self, pred: Callable[[], bool], timeout: float = 5) -> None:
        async def loop() -> None:
            while not pred():
                self._event.clear()
                await self._event.wait()

        await asyncio.wait_for(loop(), timeout)


class FakeGateway:
    """A TCP server that keeps every byte each connection sent and sends what a test says:
    a gateway that can misbehave on cue."""

    def __init__(self) -> None:
        self.received: list[bytearray] = []
        self.writers: list[asyncio.StreamWriter] = []
        self.port = 0
        self._server: asyncio.Server | None = None
        self._news = asyncio.Event()
        self.closed = 0

    async def __aenter__(self) -> FakeGateway:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for w in self.writers:
            w.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        buf = bytearray()
        self.received.append(buf)
        self.writers.append(writer)
        self._poke()
        try:
            while data := await reader.read(65536):
                buf += data
                self._poke()
        except ConnectionError:
            pass
        finally:
            self.closed += 1
            self._poke()

    def _poke(self) -> None:
        self._news.set()

    async def until(self, pred: Callable[[], bool], timeout: float = 5) -> None:
        async def loop() -> None:
            while not pred():
                self._news.clear()
                await self._news.wait()

        await asyncio.wait_for(loop(), timeout)

    async def send(self, chunks: list[bytes], conn: int = 0) -> None:
        writer = self.writers[conn]
        for chunk in chunks:
            writer.write(chunk)
            await writer.drain()

    def drop(self, conn: int = 0) -> None:
        self.writers[conn].close()


async def read_until_closed(reader: asyncio.StreamReader, timeout: float = 5) -> bytes:
    async def loop() -> bytes:
        out = bytearray()
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                out += data
        return bytes(out)

    return await asyncio.wait_for(loop(), timeout)


def chunked(data: bytes, rng_seed: int, most: int = 7) -> list[bytes]:
    """`data` cut at random places (1..most bytes per chunk), the same cuts for a seed."""
    import random

    rng = random.Random(rng_seed)
    out, i = [], 0
    while i < len(data):
        n = rng.randint(1, most)
        out.append(data[i : i + n])
        i += n
    return out
