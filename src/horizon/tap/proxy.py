"""The tap itself: a transparent TCP proxy between TWS API clients and a gateway.

Each accepted client gets its own upstream connection. Every chunk read from one side is
written to the other *before* anything else looks at it, untouched and at once (asyncio
protocols, no stream buffers in between). The chunk, stamped with the time it was read, then
waits in one queue for the connection's tap (the recorder). The queue is worked off once the
wire has been quiet for `QUIET_S` (or has been busy for `MAX_LAG_S`): a request and its answer
are both forwarded before either is decoded, so decoding, redaction and recording stand
between no read and its write, and the taps see every chunk in the order it was read.
Either side closing closes the other side of that pair only; the listener and the other pairs
carry on. A tap that fails is logged and detached; the bytes keep flowing.

Reading from a side pauses while the other side's transport is over its write high-water
mark, so a slow reader cannot make the proxy buffer without bound.

The safety valve mirrors the venue's: the known live ports are refused unless the caller says
`allow_live=True`, and then `warning` holds the text the CLI shouts.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import deque
from collections.abc import Callable
from types import MappingProxyType, TracebackType
from typing import Final, Protocol

from horizon.tap.errors import LivePortRefused, UpstreamUnavailable
from horizon.tap.serving import ServerThread
from horizon.tap.wire import Direction
from horizon.venues.ibkr.config import KNOWN_PORTS

__all__ = ["LIVE_PORTS", "ConnectionTap", "TapProxy", "check_upstream"]

log = logging.getLogger(__name__)

HELLO: Final = b"API\0"
_RANGE: Final = re.compile(rb"v(\d+)(?:\.\.(\d+))?")
QUIET_S: Final = 0.001  # the wire this long quiet: decode and record what was forwarded
MAX_LAG_S: Final = 0.05  # ... but never let the recording fall further behind than this

# port -> application, for the well-known ports of live trading
LIVE_PORTS: Final = MappingProxyType(
    {port: app for port, (app, paper) in KNOWN_PORTS.items() if not paper}
)


def check_upstream(port: int, *, allow_live: bool) -> str | None:
    """Refuse a known live port unless `allow_live`; then return the warning to show."""
    app = LIVE_PORTS.get(port)
    if app is None:
        return None
    if not allow_live:
        raise LivePortRefused(port, app)
    return (
        f"WARNING: tapping port {port}, a known IBKR LIVE port ({app} live). Everything this "
        "session does is real money; the recording holds real account activity (account ids, "
        "order refs and names are redacted unless --no-redact, prices and sizes are not)."
    )


class ConnectionTap(Protocol):
    """What the proxy tells about one client connection, after forwarding: each chunk with
    the time it was read, and who closed the connection ("client", "gateway", "tap" or
    "upstream unreachable")."""

    def data(self, direction: Direction, data: bytes, at: float) -> None: ...

    def closed(self, by: str, at: float) -> None: ...


TapFactory = Callable[[int], ConnectionTap]


class _Side(asyncio.Protocol):
    """One socket of a pair; `direction` is that of the bytes it reads."""

    def __init__(self, pair: _Pair, direction: Direction, name: str) -> None:
        self.pair = pair
        self.direction = direction
        self.name = name
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.pair.made(self)

    def data_received(self, data: bytes) -> None:
        self.pair.forward(self, data)

    def eof_received(self) -> bool:
        return False  # close this side; connection_lost closes the other

    def connection_lost(self, exc: Exception | None) -> None:
        self.pair.lost(self)

    def pause_writing(self) -> None:
        self.pair.other(self).pause_reading()

    def resume_writing(self) -> None:
        self.pair.other(self).resume_reading()

    def pause_reading(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()  # after what is still buffered for it has been written


def capped_hello(data: bytes, max_version: int | None) -> bytes | None:
    """The client's first bytes with the version range of its hello (``API\\0``, then the
    framed ``vMIN..MAX[ options]``) capped at `max_version`; None until the hello is whole.
    Bytes that are no hello, or a range whose minimum is above the cap, pass unchanged (the
    gateway then answers as it would)."""
    if len(data) < 8:
        return None if HELLO.startswith(data[:4]) else data
    if not data.startswith(HELLO) or max_version is None:
        return data
    size = int.from_bytes(data[4:8], "big")
    if len(data) < 8 + size:
        return None
    text, rest = data[8 : 8 + size], data[8 + size :]
    match = _RANGE.match(text)
    if match is None:
        return data
    low, high = int(match[1]), int(match[2] or match[1])
    if high <= max_version or low > max_version:
        return data
    capped = b"v%d..%d" % (low, max_version) + text[match.end() :]
    return HELLO + len(capped).to_bytes(4, "big") + capped + rest


class _Pair:
    """A client and its upstream connection."""

    def __init__(self, proxy: TapProxy, conn: int) -> None:
        self.proxy = proxy
        self.conn = conn
        self.client = _Side(self, Direction.IN, "client")
        self.gateway = _Side(self, Direction.OUT, "gateway")
        self.tap: ConnectionTap | None = None
        self.closed_by: str | None = None
        self.done = asyncio.Event()
        self._connecting: asyncio.Task[None] | None = None
        self._finished: set[str] = set()
        # the client's first bytes while its hello is rewritten (max_version), else None
        self._hello: bytearray | None = bytearray() if proxy.max_version else None

    def other(self, side: _Side) -> _Side:
        return self.gateway if side is self.client else self.client

    def made(self, side: _Side) -> None:
        if side is self.client:
            side.pause_reading()  # until the upstream connection exists
            self.tap = self.proxy.new_tap(self.conn)
            self._connecting = asyncio.get_running_loop().create_task(self._connect())

    async def _connect(self) -> None:
        loop = asyncio.get_running_loop()
        proxy = self.proxy
        try:
            await loop.create_connection(
                lambda: self.gateway, proxy.upstream_host, proxy.upstream_port
            )
        except OSError as exc:
            why = UpstreamUnavailable(proxy.upstream_host, proxy.upstream_port, exc.strerror or "")
            log.warning("upstream refused a tapped connection",
                        extra={"conn": self.conn, "error": str(why)})
            self._end("upstream unreachable")
            self.client.close()
        finally:
            if self.gateway.transport is None:  # it never existed: nothing will report it lost
                self._gone(self.gateway)
        if self.closed_by is not None:  # the client left while we were connecting
            self.gateway.close()
        else:
            self.client.resume_reading()

    def forward(self, side: _Side, data: bytes) -> None:
        if self._hello is not None and side is self.client:
            self._hello += data
            hello = capped_hello(bytes(self._hello), self.proxy.max_version)
            if hello is None:
                return  # the hello is not complete yet
            data, self._hello = hello, None
        peer = self.other(side).transport
        if peer is not None:
            peer.write(data)
        if self.tap is not None:
            self.proxy.observe(self, side.direction, data)

    def tell(self, direction: Direction | None, data: bytes, at: float, by: str) -> None:
        """Run on the proxy's queue: hand one chunk (or the close) to the tap."""
        tap = self.tap
        if tap is None:
            return
        try:
            if direction is None:
                self.tap = None
                tap.closed(by, at)
            else:
                tap.data(direction, data, at)
        except Exception:  # a recorder bug must never stop the bytes
            log.exception("tap failed; this connection is forwarded but no longer recorded",
                          extra={"conn": self.conn})
            self.tap = None

    def lost(self, side: _Side) -> None:
        self._end(side.name)
        self.other(side).close()
        self._gone(side)

    def _gone(self, side: _Side) -> None:
        self._finished.add(side.name)
        if len(self._finished) == 2:
            self.done.set()
            self.proxy.forget(self)

    def _end(self, by: str) -> None:
        if self.closed_by is not None:
            return
        self.closed_by = by
        if self.tap is not None:
            self.proxy.observe(self, None, b"", by)

    def shut(self) -> None:
        if self._connecting is not None and not self._connecting.done():
            self._connecting.cancel()
        self._end("tap")
        self.client.close()
        self.gateway.close()


class TapProxy:
    """Listen on `host:port` (0 = any free port; `port` is the real one once open) and tap
    every client through to `upstream_host:upstream_port`.

    `tap(conn)` is called for each client connection (numbered from 1) and returns what is
    told about its bytes, typically `Recorder.connection`. Use `async with TapProxy(...)` on a
    loop, or `start()` / `stop()` from blocking code. `max_version` is the one change the
    proxy may make to the bytes: it caps the version range of each client's hello, so a
    client that would speak protobuf (server version 201 and up) speaks text instead."""

    def __init__(
        self,
        upstream_host: str,
        upstream_port: int,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        allow_live: bool = False,
        tap: TapFactory | None = None,
        clock: Callable[[], float] = time.time,
        max_version: int | None = None,
    ) -> None:
        self.warning = check_upstream(upstream_port, allow_live=allow_live)
        # cap the server version clients may negotiate (200: a text session, every frame
        # decoded); None forwards the hello as sent, like every other byte
        self.max_version = max_version
        self.clock = clock
        self.upstream_host, self.upstream_port = upstream_host, upstream_port
        self.host, self.port = host, port
        self.connections = 0  # clients accepted so far
        self.tap = tap  # may be set after open(), before the loop accepts a client
        self._pairs: set[_Pair] = set()
        self._queue: deque[tuple[_Pair, Direction | None, bytes, float, str]] = deque()
        self._draining: asyncio.TimerHandle | None = None
        self._last = self._since = 0.0  # loop times: the newest chunk, the oldest undrained
        self._server: asyncio.Server | None = None
        self._thread = ServerThread("horizon-tap")

    @property
    def active(self) -> int:
        """Client connections open now."""
        return len(self._pairs)

    def new_tap(self, conn: int) -> ConnectionTap | None:
        return self.tap(conn) if self.tap is not None else None

    def forget(self, pair: _Pair) -> None:
        self._pairs.discard(pair)

    def observe(self, pair: _Pair, direction: Direction | None, data: bytes, by: str = "") -> None:
        """Queue a forwarded chunk (direction None: the close) for its tap."""
        self._queue.append((pair, direction, data, self.clock(), by))
        loop = asyncio.get_running_loop()
        self._last = now = loop.time()
        if self._draining is None:
            self._since = now
            self._draining = loop.call_at(now + QUIET_S, self._drain_when_quiet)

    def _drain_when_quiet(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        if now - self._last < QUIET_S and now - self._since < MAX_LAG_S:
            self._draining = loop.call_at(self._last + QUIET_S, self._drain_when_quiet)
            return
        self._draining = None
        self._drain()

    def _drain(self) -> None:
        queue = self._queue
        while queue:
            pair, direction, data, at, by = queue.popleft()
            pair.tell(direction, data, at, by)

    def _accept(self) -> asyncio.Protocol:
        self.connections += 1
        pair = _Pair(self, self.connections)
        self._pairs.add(pair)
        return pair.client

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._accept, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("tap listening", extra={"listen": f"{self.host}:{self.port}",
                                         "upstream": f"{self.upstream_host}:{self.upstream_port}"})

    async def close(self) -> None:
        """Stop listening, close every pair, and return once all have closed."""
        if self._server is not None:
            self._server.close()
        pairs = list(self._pairs)
        for pair in pairs:
            pair.shut()
        if pairs:
            await asyncio.wait([asyncio.ensure_future(p.done.wait()) for p in pairs], timeout=5)
        if self._draining is not None:
            self._draining.cancel()
            self._draining = None
        self._drain()  # what was read before the close is recorded before close() returns
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> TapProxy:
        await self.open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def start(self) -> None:
        """Serve from a background thread; returns once listening (`port` is then real)."""
        self._thread.start(self.open)

    def stop(self) -> None:
        self._thread.stop(self.close)
