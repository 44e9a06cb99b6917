"""`ReplayGateway`: a recording served as a gateway on a TCP port.

    with ReplayGateway("session.jsonl") as gw:          # blocking code: its own thread
        ib.connect("127.0.0.1", gw.port, clientId=1)
    async with ReplayGateway("session.jsonl") as gw:    # or on the running loop
        ...

The k-th client to connect is served the k-th recorded connection (`connection=N` serves
recorded connection N to every client instead). What each conversation does is
`script.ReplaySession`'s: requests matched by type and position, ids remapped, answers in the
recorded order. `unmatched()` lists the requests nobody recorded an answer to: a replay test
should assert it is empty.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from types import TracebackType

from horizon.tap.recording import Recording, read_recording
from horizon.tap.script import ReplayScript, ReplaySession
from horizon.tap.serving import ServerThread

__all__ = ["ReplayGateway"]

log = logging.getLogger(__name__)


class _Served(asyncio.Protocol):
    def __init__(self, gateway: ReplayGateway) -> None:
        self.gateway = gateway
        self.session: ReplaySession | None = None
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.session = self.gateway.session_for_next_client()
        if self.session is None:
            log.warning("replay has no recorded connection left for a new client",
                        extra={"recording": str(self.gateway.path)})
            transport.close()

    def data_received(self, data: bytes) -> None:
        if self.session is None or self.transport is None:
            return
        reply = self.session.receive_data(data)
        if reply.data:
            self.transport.write(reply.data)
        if reply.close:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.gateway.forget(self)


class ReplayGateway:
    """Serve `path` (or an already-read `Recording`) on `host:port` (0 = any free port)."""

    def __init__(
        self,
        path: str | Path | Recording,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        connection: int | None = None,
    ) -> None:
        if isinstance(path, Recording):
            self.path: Path | None = None
            self.recording = path
        else:
            self.path = Path(path)
            self.recording = read_recording(self.path)
        self.scripts = ReplayScript.all_of(self.recording)
        if connection is not None:
            self.scripts = [s for s in self.scripts if s.conn == connection]
            if not self.scripts:
                raise ValueError(
                    f"the recording has no connection {connection} that got past the "
                    f"handshake; it has {[s.conn for s in ReplayScript.all_of(self.recording)]}"
                )
        if not self.scripts:
            raise ValueError("the recording holds no connection that got past the handshake")
        self.fixed = connection is not None
        self.host, self.port = host, port
        self.sessions: list[ReplaySession] = []
        self._open: set[_Served] = set()
        self._server: asyncio.Server | None = None
        self._thread = ServerThread("horizon-replay")

    def session_for_next_client(self) -> ReplaySession | None:
        index = 0 if self.fixed else len(self.sessions)
        if index >= len(self.scripts):
            return None
        session = ReplaySession(self.scripts[index])
        self.sessions.append(session)
        return session

    def unmatched(self) -> list[str]:
        """Requests of every client so far that the recording had no counterpart for."""
        return [name for s in self.sessions for name in s.unmatched]

    def forget(self, served: _Served) -> None:
        self._open.discard(served)

    def _accept(self) -> asyncio.Protocol:
        served = _Served(self)
        self._open.add(served)
        return served

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._accept, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for served in list(self._open):
            if served.transport is not None:
                served.transport.close()
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    def start(self) -> None:
        """Serve from a background thread; returns once listening (`port` is then real)."""
        self._thread.start(self.open)

    def stop(self) -> None:
        self._thread.stop(self.close)

    def __enter__(self) -> ReplayGateway:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> ReplayGateway:
        await self.open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
