"""One client connection of the simulated gateway: an `asyncio.Protocol` holding the codec
state, the client's identity, its pacing window, and the output buffer that the fault plan
(freeze, delay) acts on.

What to do with a request is not its business: it tells its owner (a `SessionOwner`, the
gateway core) that it opened, has input, or closed, through that small interface and nothing
else. It reads the fault plan and the limits it was built with, so a frozen gateway holds its
replies and a client that stops reading is reported to the owner.
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass
from typing import Any, Protocol

from ibgateway_sim.faults import FaultPlan
from ibgateway_sim.gateway.pacing import PacingWindow
from ibgateway_sim.limits import Limits
from ibgateway_sim.wire import messages as m
from ibgateway_sim.wire.codec import GatewayConnection


class SessionOwner(Protocol):
    """What a session tells the gateway that accepted it."""

    def session_opened(self, session: Session, /) -> bool:
        """A new connection; False if it is not wanted (the owner closed it)."""
        ...

    def session_readable(self, session: Session, /) -> None:
        """Bytes arrived: handle the complete events in `session.conn`, within a budget;
        `session.yield_turn()` asks for another turn when the budget runs out."""
        ...

    def session_closed(self, session: Session, /) -> None:
        """The connection is gone (either side closed it)."""
        ...

    def cut_off(self, session: Session, /, reason: str, **fields: object) -> None:
        """The client broke a limit (here: it does not read what it is sent)."""
        ...


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """One client connection as a test or an operator sees it: who, whether its API session
    started, its pacing state and its live market-data subscriptions."""

    peer: str
    client_id: int | None
    started: bool
    paced: bool  # asked for +PACEAPI
    backlog: int  # requests queued by +PACEAPI pacing
    refused: int  # requests refused with error 100
    market_data: tuple[int, ...] = ()  # req ids of its streaming reqMktData subscriptions
    nodelay: bool = False  # its socket has TCP_NODELAY (replies are not held back by Nagle)


class Session(asyncio.Protocol):
    """One client connection: codec state, clientId, pacing window, output buffer."""

    def __init__(
        self,
        owner: SessionOwner,
        conn: GatewayConnection,
        *,
        pacing: PacingWindow[Any],
        faults: FaultPlan,
        limits: Limits,
    ) -> None:
        self._owner = owner
        self.conn = conn
        self.pacing = pacing
        self._faults = faults
        self._limits = limits
        self._transport: asyncio.Transport | None = None
        self.peer = ""
        self.nodelay = False
        self.client_id: int | None = None
        self.started = False
        self.closed = False
        self._out: list[bytes] = []
        self._held: list[bytes] = []
        self._send_after = 0.0
        self._turn_pending = False
        self._reading_paused = False

    # ---- asyncio.Protocol -----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.nodelay = bool(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        peer = transport.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if peer else "?"
        self._owner.session_opened(self)

    def data_received(self, data: bytes) -> None:
        self.conn.receive_data(data)
        if self._turn_pending:  # a turn is already due: keep the order, keep it fair
            if self.conn.buffered >= self._limits.max_unread_bytes:
                self.pause_reading()
            return
        if not self._faults.frozen:
            self._owner.session_readable(self)

    def eof_received(self) -> bool:
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._owner.session_closed(self)

    # ---- input flow -----------------------------------------------------------------------

    def yield_turn(self) -> None:
        """The owner's budget for this turn ran out with input left: stop reading this client
        and give the owner another turn on the next pass of the loop, so one client's flood
        cannot starve the others."""
        if self._turn_pending:
            return
        self._turn_pending = True
        self.pause_reading()
        asyncio.get_running_loop().call_soon(self._next_turn)

    def _next_turn(self) -> None:
        self._turn_pending = False
        if self.closed or self._faults.frozen:
            return
        self._owner.session_readable(self)
        if not self._turn_pending and self.conn.buffered < self._limits.max_unread_bytes:
            self.resume_reading()

    def pause_reading(self) -> None:
        if not self._reading_paused and self._transport is not None and not self.closed:
            self._reading_paused = True
            self._transport.pause_reading()

    def resume_reading(self) -> None:
        if self._reading_paused and self._transport is not None and not self.closed:
            self._reading_paused = False
            self._transport.resume_reading()

    # ---- the API session ------------------------------------------------------------------

    def start(self, client_id: int) -> None:
        """startApi was accepted: the session now speaks for `client_id`."""
        self.client_id, self.started = client_id, True

    # ---- output ---------------------------------------------------------------------------

    def send(self, msg: m.Message) -> None:
        if not self.closed:  # what conn.send does, inline: once per reply
            framer = self.conn.framers.get(type(msg))
            if framer is None:
                framer = self.conn.framer(type(msg))
            self._out.append(framer(msg))

    def send_shared(self, msg: m.Message, encoded: dict[tuple[m.Message, int], bytes]) -> None:
        """`send`, with the bytes shared by every session at the same version in one round of
        pushes (`encoded` lives for the round): 32 clients of one account get the same
        account values after a fill, encoded once."""
        if self.closed:
            return
        key = (msg, self.conn.version)
        data = encoded.get(key)
        if data is None:
            data = encoded[key] = self.conn.send(msg)
        self._out.append(data)

    def send_frame(self, data: bytes) -> None:
        """A message already framed at this session's version (`conn.version`)."""
        if not self.closed:
            self._out.append(data)

    def send_error(self, req_id: int, code: int, text: str) -> None:
        self.send(m.ErrorMsg(req_id=req_id, code=code, text=text))

    def send_raw(self, data: bytes) -> None:
        """Bytes into the stream as they are: the handshake's version reply (framed by the
        codec), or what no gateway sends (the raw-bytes fault)."""
        self._out.append(bytes(data))

    def flush(self) -> None:
        if not self._out or self._transport is None:
            return
        data = b"".join(self._out)
        self._out.clear()
        faults = self._faults
        if faults.frozen:
            self._held.append(data)
        elif faults.delay > 0:
            loop = asyncio.get_running_loop()
            when = max(loop.time() + faults.delay, self._send_after)
            self._send_after = when
            loop.call_at(when, self._write, data)
        else:
            self._transport.write(data)
        unsent = self._transport.get_write_buffer_size()
        if unsent > self._limits.max_unsent_bytes and not self.closed:
            self._owner.cut_off(self, "it does not read what it is sent", unsent_bytes=unsent)

    def release(self) -> None:
        """After a thaw: what was held goes out, then anything new."""
        if self._held and self._transport is not None:
            self._out[:0] = self._held
            self._held.clear()
        self.flush()

    def _write(self, data: bytes) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(data)

    def close(self, *, abort: bool = False) -> None:
        if self._transport is None or self.closed:
            return
        self.closed = True  # first: the last flush below cannot re-enter
        self.flush()
        if abort:
            self._transport.abort()
        else:
            self._transport.close()
