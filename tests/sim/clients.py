"""Clients of the simulator for its tests: raw ib_async connections, a wait on ib_async's
own updates, and a raw wire client for what the libraries would hide."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import ib_async

from ibgateway_sim import GatewaySimulator
from ibgateway_sim.wire import messages as m
from ibgateway_sim.wire.codec import MAX_VERSION, MIN_VERSION, ClientConnection

M = TypeVar("M", bound=m.Message)
DEFAULTS: dict[str, Any] = {
    "host": "127.0.0.1",
    "port": 0,
    "accounts": ["DU1234567"],
    "seed": 7,
    "step_interval": None,
}


@contextlib.asynccontextmanager
async def running_sim(**options: Any) -> AsyncIterator[GatewaySimulator]:
    async with GatewaySimulator(**{**DEFAULTS, **options}) as sim:
        yield sim


async def connect_ib(sim: GatewaySimulator, client_id: int = 1, **kw: Any) -> ib_async.IB:
    ib = ib_async.IB()
    await ib.connectAsync("127.0.0.1", sim.port, clientId=client_id, timeout=kw.pop("timeout", 4),
                          raiseSyncErrors=True, **kw)
    return ib


async def until(ib: ib_async.IB, pred: Callable[[], bool], timeout: float = 2) -> None:
    """Wait until `pred()` holds on the client's side: re-checked after every packet ib_async
    has processed (its updateEvent), never by polling."""

    async def loop() -> None:
        while not pred():
            await ib.updateEvent

    await asyncio.wait_for(loop(), timeout)


class RawClient:
    """A TWS API client written against the simulator's own codec: it shows every message
    exactly as sent (duplicates, order, ids), which the IB libraries normalise away."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn: ClientConnection | None = None
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.received: list[Any] = []
        self._new = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.eof = asyncio.Event()

    async def open(self, lo: int = MIN_VERSION, hi: int = MAX_VERSION) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.conn = ClientConnection(lo, hi)
        self.writer.write(self.conn.hello_bytes)
        self._task = asyncio.create_task(self._read())

    async def start(self, client_id: int, lo: int = MIN_VERSION, hi: int = MAX_VERSION) -> None:
        """Handshake + startApi, then wait for nextValidId."""
        await self.open(lo, hi)
        await self.wait_version()
        self.send(m.StartApi(client_id=client_id))
        await self.expect(m.NextValidId)

    async def wait_version(self, timeout: float = 2) -> int:
        await self.wait(lambda: bool(self.conn and self.conn.version) or self.eof.is_set(),
                        timeout)
        assert self.conn is not None
        return self.conn.version

    async def _read(self) -> None:
        assert self.reader is not None and self.conn is not None
        try:
            while data := await self.reader.read(65536):
                self.conn.receive_data(data)
                while (event := self.conn.next_event()) is not None:
                    self.received.append(event)
                self._notify()
                if self.conn.version:
                    self._notify()
        except ConnectionError:
            pass
        finally:
            self.eof.set()
            self._notify()

    def _notify(self) -> None:
        self._new.set()
        self._new = asyncio.Event()

    def send(self, msg: m.Message) -> None:
        assert self.writer is not None and self.conn is not None
        self.writer.write(self.conn.send(msg))

    def send_bytes(self, data: bytes) -> None:
        assert self.writer is not None
        self.writer.write(data)

    async def wait(self, pred: Callable[[], bool], timeout: float = 2) -> None:
        async def loop() -> None:
            while not pred():
                await self._new.wait()

        await asyncio.wait_for(loop(), timeout)

    def of(self, cls: type[M]) -> list[M]:
        return [e for e in self.received if isinstance(e, cls)]

    async def expect(self, cls: type[M], pred: Callable[[M], bool] = lambda _: True,
                     timeout: float = 2, count: int = 1) -> list[M]:
        await self.wait(lambda: len([e for e in self.of(cls) if pred(e)]) >= count, timeout)
        return [e for e in self.of(cls) if pred(e)]

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(ConnectionError):
                await self.writer.wait_closed()
        if self._task is not None:
            await self._task
