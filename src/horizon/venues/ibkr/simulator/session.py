"""One client connection of the simulated gateway: an `asyncio.Protocol` holding the codec
state, clientId, subscriptions and pacing window, and the output buffer that the fault plan
(freeze, delay) acts on. What to do with a request is the `Gateway`'s business (`server.py`).
"""

from __future__ import annotations

import asyncio
import socket
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from horizon.venues.ibkr.simulator import messages as m
from horizon.venues.ibkr.simulator.codec import GatewayConnection

if TYPE_CHECKING:
    from horizon.venues.ibkr.simulator.server import Gateway


@dataclass(slots=True)
class MarketData:
    req_id: int
    con_id: int
    delayed: bool
    frozen: bool
    sent: dict[int, tuple[Decimal, Decimal | None]] = field(default_factory=dict)


class Session(asyncio.Protocol):
    """One client connection: codec state, clientId, subscriptions, pacing window."""

    def __init__(self, sim: Gateway) -> None:
        self.sim = sim
        self.conn = GatewayConnection(sim.min_version, sim.max_version)
        self.transport: asyncio.Transport | None = None
        self.peer = ""
        self.client_id: int | None = None
        self.started = False
        self.closed = False
        self.out: list[bytes] = []
        self.held: list[bytes] = []
        self.send_after = 0.0
        self.window: deque[float] = deque()
        self.paced = False  # the client asked for +PACEAPI: excess is queued, not refused
        self.backlog: deque[Any] = deque()
        self.backlog_timer: asyncio.TimerHandle | None = None
        self.md_type = 1
        self.market: dict[int, MarketData] = {}
        self.positions_sub = False
        self.account_sub: str | None = None
        self.account_sent: dict[tuple[str, str], str] = {}
        self.multi_subs: dict[int, tuple[str, bool]] = {}
        self.multi_sent: dict[int, dict[tuple[str, str], str]] = {}
        self.auto_open = False
        self.handshake_timer: asyncio.TimerHandle | None = None
        self.pump_scheduled = False
        self.reading_paused = False
        self.refused = 0  # requests refused for pacing (error 100)
        self.refusals_logged_at = float("-inf")

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        peer = transport.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if peer else "?"
        self.sim._attach(self)

    def data_received(self, data: bytes) -> None:
        self.conn.receive_data(data)
        if self.pump_scheduled:  # a turn is already due: keep the order, keep it fair
            if self.conn.buffered >= self.sim.limits.max_unread_bytes:
                self.pause_reading()
            return
        if not self.sim.faults.frozen:
            self.sim._pump(self)

    def pause_reading(self) -> None:
        if not self.reading_paused and self.transport is not None and not self.closed:
            self.reading_paused = True
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self.reading_paused and self.transport is not None and not self.closed:
            self.reading_paused = False
            self.transport.resume_reading()

    def eof_received(self) -> bool:
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.sim._detach(self)

    # output
    def send(self, msg: m.Message) -> None:
        if not self.closed:
            self.out.append(self.conn.send(msg))

    def send_error(self, req_id: int, code: int, text: str) -> None:
        self.send(m.ErrorMsg(req_id=req_id, code=code, text=text))

    def flush(self) -> None:
        if not self.out or self.transport is None:
            return
        data = b"".join(self.out)
        self.out.clear()
        faults = self.sim.faults
        if faults.frozen:
            self.held.append(data)
        elif faults.delay > 0:
            loop = asyncio.get_running_loop()
            when = max(loop.time() + faults.delay, self.send_after)
            self.send_after = when
            loop.call_at(when, self._write, data)
        else:
            self.transport.write(data)
        unsent = self.transport.get_write_buffer_size()
        if unsent > self.sim.limits.max_unsent_bytes and not self.closed:
            self.sim.cut_off(self, "it does not read what it is sent", unsent_bytes=unsent)

    def release(self) -> None:
        """After a thaw: what was held goes out, then anything new."""
        if self.held and self.transport is not None:
            self.out[:0] = self.held
            self.held.clear()
        self.flush()

    def _write(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def close(self, *, abort: bool = False) -> None:
        if self.transport is None or self.closed:
            return
        self.closed = True  # first: the last flush below cannot re-enter
        self.flush()
        if abort:
            self.transport.abort()
        else:
            self.transport.close()
