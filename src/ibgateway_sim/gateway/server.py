"""The gateway core: the TCP listener, one `Session` per connection, the clientId registry,
pacing, routing admitted requests to the handlers of their area, and the price timer. The only
socket code.

Bytes go through `wire.codec.GatewayConnection` (handshake, framing, rows) held by each
session; admitted requests go to the area handlers in `handlers/`, which turn them into engine
calls; engine events become messages for the sessions that hear about them (`dispatch.py`).
Everything runs on one event loop, so engine state needs no locks; `control.py` hops calls
from other threads onto that loop, in order.

What a real gateway does that shapes this module:
* after the 2-field version reply nothing is sent until startApi; then managedAccounts,
  nextValidId and the farm notices; a clientId already in use gets error 326 and a close;
* each client is paced on its own (`pacing.py`); one client's flood is worked off a batch per
  turn of the loop, so it cannot starve the others;
* bad input costs only the connection that sent it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

from ibgateway_sim.engine import Engine, Event
from ibgateway_sim.engine.model import SessionCrossed
from ibgateway_sim.engine.option_model import OptionRates
from ibgateway_sim.faults import FaultPlan
from ibgateway_sim.gateway.codes import (
    CLIENT_ID_IN_USE,
    FARM_NOTICES,
    PACING,
    READ_ERROR,
    TEXT_CLIENT_ID_IN_USE,
    TEXT_READ_ERROR,
    text_pacing,
)
from ibgateway_sim.gateway.dispatch import EventDispatcher
from ibgateway_sim.gateway.handlers.accounts import AccountHandlers
from ibgateway_sim.gateway.handlers.base import Area, Handler
from ibgateway_sim.gateway.handlers.contracts import ContractHandlers
from ibgateway_sim.gateway.handlers.executions import ExecutionHandlers
from ibgateway_sim.gateway.handlers.fa import FaHandlers
from ibgateway_sim.gateway.handlers.history import HistoryHandlers
from ibgateway_sim.gateway.handlers.market_data import MarketDataHandlers
from ibgateway_sim.gateway.handlers.misc import MiscHandlers
from ibgateway_sim.gateway.handlers.news import NewsHandlers
from ibgateway_sim.gateway.handlers.options import OptionHandlers
from ibgateway_sim.gateway.handlers.orders import OrderHandlers
from ibgateway_sim.gateway.handlers.pnl import PnLHandlers
from ibgateway_sim.gateway.handlers.reference import ReferenceHandlers
from ibgateway_sim.gateway.handlers.scanners import ScannerHandlers
from ibgateway_sim.gateway.handlers.streams import StreamHandlers
from ibgateway_sim.gateway.handlers.wsh import WshHandlers
from ibgateway_sim.gateway.mapping import TimeFormatter
from ibgateway_sim.gateway.options import GatewayOptions
from ibgateway_sim.gateway.pacing import Admission, PacingWindow
from ibgateway_sim.gateway.session import Session, SessionInfo
from ibgateway_sim.gateway.validation import CHECKED, refusal_of, request_id, request_id_of
from ibgateway_sim.wire import messages as m
from ibgateway_sim.wire.codec import (
    BadMessage,
    ConnState,
    GatewayConnection,
    Hello,
    ProtocolError,
    UnknownMessage,
    decode_payload,
)
from ibgateway_sim.wire.messages import SPECS, Direction

log = logging.getLogger(__name__)

RECEIVED_KEPT: Final = 100_000  # requests remembered for `GatewaySimulator.requests()`


_OPEN: Final = ConnState.OPEN
_NOW: Final = Admission.NOW


def _msg_id(event: m.Message | UnknownMessage | BadMessage) -> int | None:
    return event.msg_id if isinstance(event, UnknownMessage | BadMessage) else event.MSG_ID


# each request row's message id, by class: `_msg_id` in one lookup for a row
_REQUEST_IDS: Final[dict[type, int]] = {
    cls: cls.MSG_ID for (d, _), cls in SPECS.items() if d is Direction.IN
}


def _ids_of(kind: type | None) -> frozenset[int] | None:
    """The inbound message ids whose rows are a `kind`, so only those frames are decoded;
    None when any frame may be one (no kind, or not a kind of row)."""
    if kind is None or not issubclass(kind, m.Message):
        return None
    return frozenset(
        cls.MSG_ID for (d, _), cls in SPECS.items() if d is Direction.IN and issubclass(cls, kind)
    )


@dataclass(slots=True)
class _Watch:
    """The gateway's own timers and bookkeeping for one connection."""

    handshake_timer: asyncio.TimerHandle | None = None
    drain_timer: asyncio.TimerHandle | None = None  # works off its +PACEAPI backlog
    refusals_logged_at: float = float("-inf")


def _nothing() -> None:
    pass


def routes_of(areas: Sequence[Area]) -> dict[type, Handler]:
    """The one routing table: each request type is handled by exactly one area."""
    routes: dict[type, Handler] = {}
    for area in areas:
        for kind, handler in area.handlers.items():
            if kind in routes:
                raise ValueError(f"{kind.__name__} is handled by two areas")
            routes[kind] = handler
    return routes


class Gateway:
    """The in-loop core. Built with its `GatewayOptions`; `on_change` is called after every
    change a waiter may care about (the control layer's waits hang on it). Everything here
    runs on one event loop; `GatewaySimulator` adds the threads, waits and the control API."""

    def __init__(
        self, options: GatewayOptions, *, on_change: Callable[[], None] = _nothing
    ) -> None:
        self.options = options
        self.host = options.host
        self.port = options.port  # the bound port once listening (also after port 0)
        self.limits = options.limits
        self.faults = FaultPlan()
        self.engine = Engine(
            accounts=options.accounts,
            seed=options.seed,
            clock=options.clock,
            contracts=options.contracts,
            liquidity=options.liquidity,
            fa_groups=options.fa_groups,
            read_only=options.read_only,
            timezone=options.timezone,
            fa_profiles=options.fa_profiles,
            market=replace(options.market, rates=OptionRates(
                rate=float(options.interest_rate), dividend=float(options.dividend_yield))),
        )  # fmt: skip
        self.session_listeners: list[Callable[[Any], None]] = []  # SessionEvent hooks
        self.listening = False
        self.pacing_violations = 0  # requests refused with error 100, over all clients
        self.max_msgs_in_window = 0  # the busiest second any client had
        self.disconnected_for_limits = 0  # clients cut off by `limits` (flooders, non-readers)
        self._on_change = on_change
        self._clock = options.clock
        self._sessions: dict[Session, _Watch] = {}
        self._clients: dict[int, Session] = {}
        # every request received: the sender's client id (None before startApi), its message
        # id, and its frame at the session's version, decoded again by `received()`. Not the
        # decoded row: a placeOrder is 140 slots and ~1 kB that every full garbage collection
        # walks (100,000 of them: ~100 MB); a tuple of ints and bytes is not even tracked
        self._received: deque[tuple[int | None, int | None, int, bytes]] = deque(
            maxlen=RECEIVED_KEPT
        )
        self._server: asyncio.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._step_timer: asyncio.TimerHandle | None = None
        self._reopen: asyncio.TimerHandle | None = None
        self._account_timer: asyncio.TimerHandle | None = None

        times = TimeFormatter(options.timezone, options.exec_time_format)
        self._times = times
        self._accounts = AccountHandlers(self.engine, clock=options.clock, times=times)
        self._market_data = MarketDataHandlers(
            self.engine,
            realtime_data=options.realtime_data,
            delayed_data=options.delayed_data,
            paused=lambda: self.faults.market_data_paused,
            clock=options.clock,
            rate=options.interest_rate,
            dividend_yield=options.dividend_yield,
        )
        self._history = HistoryHandlers(
            self.engine,
            clock=options.clock,
            pacing=options.historical_pacing,
            farm_down=lambda: "hmds" in self.faults.farms_down,
        )
        self._streams = StreamHandlers(
            self.engine, clock=options.clock, paused=lambda: self.faults.market_data_paused
        )
        self._dispatcher = EventDispatcher(
            self._sessions.keys(),
            self.engine,
            faults=self.faults,
            times=times,
            after_fills=self._after_fills,
        )
        self._pnl = PnLHandlers(self.engine)
        self._scanners = ScannerHandlers(self.engine)
        self._news = NewsHandlers(self.engine, clock=options.clock)
        self._areas: tuple[Area, ...] = (
            self._accounts,
            self._market_data,
            OrderHandlers(self.engine, self.faults, dispatcher=self._dispatcher,
                          clock=options.clock, times=times),
            ContractHandlers(self.engine, clock=options.clock),
            ExecutionHandlers(self.engine, times=times),
            MiscHandlers(clock=options.clock),
            ReferenceHandlers(self.engine),
            self._pnl,
            OptionHandlers(self.engine, dispatcher=self._dispatcher, clock=options.clock,
                           rate=options.interest_rate, dividend_yield=options.dividend_yield),
            self._news,
            self._scanners,
            WshHandlers(self.engine, clock=options.clock),
            FaHandlers(self.engine),
            self._history,
            self._streams,
        )  # fmt: skip
        self._routes = routes_of(self._areas)
        self._routes[m.StartApi] = self._on_duplicate_start_api

    # ---- lifecycle ------------------------------------------------------------------------

    async def open(self) -> None:
        """Listen; returns once bound (`port` is then the real one)."""
        self._loop = asyncio.get_running_loop()
        await self._listen()
        self._schedule_step()
        self._schedule_account_updates()
        log.info("gateway simulator listening", extra={"host": self.host, "port": self.port})

    async def _listen(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            self._new_session, self.host, self.port, reuse_address=True
        )
        sockets = self._server.sockets
        if sockets and self.port == 0:
            self.port = sockets[0].getsockname()[1]
        self.listening = True
        self._on_change()

    def _new_session(self) -> Session:
        options = self.options
        return Session(
            self,
            GatewayConnection(options.min_server_version, options.max_server_version),
            pacing=PacingWindow(options.pacing_limit, max_backlog=self.limits.max_backlog),
            faults=self.faults,
            limits=self.limits,
        )

    def shutdown(self) -> None:
        """Stop listening and drop every connection (synchronous; `close` also waits)."""
        for handle in (self._step_timer, self._reopen, self._account_timer):
            if handle is not None:
                handle.cancel()
        self._step_timer = self._reopen = self._account_timer = None
        if self._server is not None:
            self._server.close()
        self.listening = False
        for s, watch in list(self._sessions.items()):
            s.close(abort=True)
            for timer in (watch.handshake_timer, watch.drain_timer):
                if timer is not None:
                    timer.cancel()
        self._sessions.clear()
        self._clients.clear()
        self._on_change()

    async def close(self) -> None:
        server = self._server
        self.shutdown()
        if server is not None:
            await server.wait_closed()
        self._server = None
        self._loop = None

    def restart(self, downtime: float) -> None:
        """Every socket drops and connects are refused for `downtime` seconds; then the same
        port listens again. The engine (orders, executions) is not touched here."""
        if self._server is not None:
            self._server.close()
            self._server = None
        self.listening = False
        for s in list(self._sessions):
            s.close(abort=True)
        self._clients.clear()
        assert self._loop is not None
        loop = self._loop
        self._reopen = loop.call_later(downtime, lambda: loop.create_task(self._listen()))

    # ---- SessionOwner: what a session tells the gateway ------------------------------------

    def session_opened(self, s: Session) -> bool:
        """A new connection; False (and closed) when the gateway is full."""
        limits = self.limits
        if len(self._sessions) >= limits.max_connections:
            log.warning(
                "connection refused: too many connections",
                extra={"peer": s.peer, "max_connections": limits.max_connections},
            )
            s.close(abort=True)
            return False
        watch = self._sessions[s] = _Watch()
        if limits.handshake_timeout is not None and self._loop is not None:
            watch.handshake_timer = self._loop.call_later(
                limits.handshake_timeout, self._handshake_expired, s
            )
        log.info("client connected", extra={"peer": s.peer})
        self._on_change()
        return True

    def _handshake_expired(self, s: Session) -> None:
        watch = self._sessions.get(s)
        if watch is not None:
            watch.handshake_timer = None
        if not s.started and not s.closed:
            log.warning(
                "no API handshake in time, closing the connection",
                extra={"peer": s.peer, "timeout_s": self.limits.handshake_timeout},
            )
            s.close(abort=True)

    def cut_off(self, s: Session, /, reason: str, **fields: object) -> None:
        """Disconnect a client that broke one of the `limits` (as TWS drops a client that
        floods it or does not read)."""
        if s.closed:
            return
        self.disconnected_for_limits += 1
        log.warning(
            "client disconnected: %s",
            reason,
            extra={"peer": s.peer, "client_id": s.client_id, **fields},
        )
        s.pacing.drop_backlog()
        s.close(abort=True)
        self._on_change()

    def session_closed(self, s: Session) -> None:
        watch = self._sessions.pop(s, None)
        if watch is not None:
            for timer in (watch.handshake_timer, watch.drain_timer):
                if timer is not None:
                    timer.cancel()
        if s.client_id is not None and self._clients.get(s.client_id) is s:
            del self._clients[s.client_id]
        for area in self._areas:
            area.forget(s)
        self._dispatcher.forget(s)
        log.info("client disconnected", extra={"peer": s.peer, "client_id": s.client_id})
        self._on_change()

    def session_readable(self, s: Session) -> None:
        """Handle the complete events buffered on `s`, then flush the replies.

        At most `limits.batch` per turn: the rest wait for the next turn of the loop (the
        client is not read meanwhile), so one client's flood cannot starve the others."""
        now = self._loop.time() if self._loop is not None else time.monotonic()
        budget = self.limits.batch
        conn = s.conn
        keep = self._received.append
        offer = s.pacing.offer
        routes = self._routes
        while not s.closed:
            if budget <= 0:
                s.yield_turn()
                break
            budget -= 1
            try:
                event = conn.next_event()
            except ProtocolError as exc:
                log.warning(
                    "protocol error, closing the connection",
                    extra={"peer": s.peer, "reason": str(exc)},
                )
                s.close(abort=True)
                break
            if event is None:
                break
            if isinstance(event, Hello):
                self._on_hello(s, event)
            elif conn.state is _OPEN:
                kind = type(event)
                msg_id = _REQUEST_IDS.get(kind)
                keep((s.client_id, _msg_id(event) if msg_id is None else msg_id, conn.version,
                      conn.last_payload))
                admission, count = offer(event, now)
                if admission is _NOW:  # `_admit`, inline: most requests take this way
                    self.max_msgs_in_window = max(self.max_msgs_in_window, count)
                    handler = routes.get(kind)
                    if handler is not None and s.started and kind not in CHECKED:
                        try:  # `_handle`, inline, for a request with no fields to check
                            handler(s, event)
                        except Exception:
                            self._failed(s, event)
                    else:
                        self._handle(s, event)
                else:
                    self._admitted_later(s, admission, count, now)
        s.flush()
        self.flush_all()
        self._on_change()

    # ---- handshake and pacing -------------------------------------------------------------

    def _on_hello(self, s: Session, hello: Hello) -> None:
        version = s.conn.negotiate()
        if version is None:
            log.warning(
                "no common API version, closing the connection",
                extra={
                    "peer": s.peer,
                    "client_min": hello.min_version,
                    "client_max": hello.max_version,
                },
            )
            s.conn.refuse()
            s.close()
            return
        reply = s.conn.accept(version, self._times.connection_time(self._clock()))
        s.pacing.paced = "+PACEAPI" in hello.options.split()
        s.send_raw(reply)
        log.info("handshake", extra={"peer": s.peer, "version": version})

    def _admitted_later(self, s: Session, admission: Admission, count: int, now: float) -> None:
        """A request pacing did not admit now: queued, refused, or one too many queued."""
        if admission is Admission.QUEUED:
            self._schedule_drain(s)
        elif admission is Admission.REFUSED:
            self._refuse(s, count, now)
        else:
            self.cut_off(s, "its +PACEAPI backlog is full", max_backlog=self.limits.max_backlog)

    def _refuse(self, s: Session, count: int, now: float) -> None:
        self.max_msgs_in_window = max(self.max_msgs_in_window, count)
        self.pacing_violations += 1
        watch = self._sessions.get(s)
        if watch is not None and now - watch.refusals_logged_at >= self.limits.log_every:
            # one line per client and second, not one per refused message
            log.warning(
                "pacing violations",
                extra={"client_id": s.client_id, "count": count, "refused": s.pacing.refused},
            )
            watch.refusals_logged_at = now
        limit = s.pacing.limit
        assert limit is not None
        s.send_error(-1, PACING, text_pacing(limit, count))

    def _schedule_drain(self, s: Session) -> None:
        watch = self._sessions.get(s)
        if self._loop is None or watch is None or watch.drain_timer is not None:
            return
        at = s.pacing.next_slot(self._loop.time())
        watch.drain_timer = self._loop.call_at(at, self._drain, s)

    def _drain(self, s: Session) -> None:
        """Work off a paced client's queued requests as its window frees up."""
        assert self._loop is not None
        watch = self._sessions.get(s)
        if watch is not None:
            watch.drain_timer = None
        now = self._loop.time()
        pacing = s.pacing
        while not s.closed:
            event = pacing.take_due(now)
            if event is None:
                break
            self.max_msgs_in_window = max(self.max_msgs_in_window, pacing.count)
            self._handle(s, event)
        if pacing.held and not s.closed:
            self._schedule_drain(s)
        s.flush()
        self.flush_all()
        self._on_change()

    # ---- routing --------------------------------------------------------------------------

    def _handle(self, s: Session, event: Any) -> None:
        """Answer one admitted request."""
        handler = self._routes.get(type(event))
        if handler is not None and s.started:  # the way of nearly every request
            refusal = refusal_of(event)
            if refusal is not None:
                s.send_error(refusal.req_id, refusal.code, refusal.text)
                return
            try:
                handler(s, event)
            except Exception:
                self._failed(s, event)
            return
        if isinstance(event, BadMessage):
            log.warning(
                "malformed message",
                extra={"peer": s.peer, "msg_id": event.msg_id, "reason": event.reason},
            )
            s.send_error(request_id(event.msg_id, event.fields), READ_ERROR, TEXT_READ_ERROR)
            return
        if isinstance(event, UnknownMessage):
            log.warning("unsupported message id", extra={"peer": s.peer, "msg_id": event.msg_id})
            s.send_error(request_id(event.msg_id, event.fields), READ_ERROR, TEXT_READ_ERROR)
            return
        if not s.started:
            if isinstance(event, m.StartApi):
                self._on_start_api(s, event)
            else:
                log.warning(
                    "request before startApi ignored",
                    extra={"peer": s.peer, "request": type(event).__name__},
                )
            return
        refusal = refusal_of(event)
        if refusal is not None:  # TWS validates a request's fields before anything else
            s.send_error(refusal.req_id, refusal.code, refusal.text)
            return
        if handler is None:
            log.warning("request not handled", extra={"request": type(event).__name__})
            s.send_error(request_id_of(event), READ_ERROR, TEXT_READ_ERROR)
            return
        self._answer(s, event, handler)

    def _answer(self, s: Session, event: Any, handler: Handler) -> None:
        try:
            handler(s, event)
        except Exception:
            self._failed(s, event)

    def _failed(self, s: Session, event: Any) -> None:
        # A bug answering one request must not take the connection (or the gateway) down;
        # it is logged loudly and the client hears what TWS says for a bad request.
        log.exception(
            "request handler failed",
            extra={"request": type(event).__name__, "client_id": s.client_id},
        )
        s.send_error(request_id_of(event), READ_ERROR, TEXT_READ_ERROR)

    def _on_start_api(self, s: Session, msg: m.StartApi) -> None:
        cid = msg.client_id
        if cid in self._clients:
            log.warning(
                "client id %s already in use", cid, extra={"peer": s.peer, "client_id": cid}
            )
            s.send_error(-1, CLIENT_ID_IN_USE, TEXT_CLIENT_ID_IN_USE)
            s.close()
            return
        s.start(cid)
        watch = self._sessions.get(s)
        if watch is not None and watch.handshake_timer is not None:
            watch.handshake_timer.cancel()
            watch.handshake_timer = None
        self._clients[cid] = s
        s.send(m.ManagedAccounts(accounts=",".join(self.engine.accounts)))
        s.send(m.NextValidId(order_id=self.engine.next_order_id_hint()))
        for code, text in FARM_NOTICES:
            s.send_error(-1, code, text)
        log.info("api started", extra={"peer": s.peer, "client_id": cid})

    def _on_duplicate_start_api(self, s: Session, msg: m.StartApi) -> None:
        log.warning("second startApi ignored", extra={"client_id": s.client_id})

    # ---- what the control layer drives ------------------------------------------------------

    def flush_all(self) -> None:
        for s in list(self._sessions):
            s.flush()

    def dispatch(self, events: Sequence[Event]) -> None:
        """Engine events -> messages to whoever hears about them (see `dispatch.py`);
        session boundaries go to the session listeners."""
        self._dispatcher.dispatch(events)
        for ev in events:
            if isinstance(ev, SessionCrossed):
                for listener in list(self.session_listeners):
                    listener(ev.event)

    def refresh_market_data(self, con_id: int | None = None) -> None:
        """Send the ticks that changed (of `con_id`, or of every instrument), and the PnL
        and scans that prices move."""
        self._market_data.refresh(con_id)
        self._pnl.refresh()
        self._scanners.refresh()
        self._history.refresh()
        self._streams.refresh()

    def _after_fills(self, touched: set[tuple[str, int]]) -> None:
        self._accounts.after_fills(touched)
        self._pnl.refresh()

    def post_bulletin(self, message: str, msg_type: int, origin_exchange: str) -> None:
        """An IB news bulletin to every connection subscribed with reqNewsBulletins."""
        self._news.post_bulletin(message, msg_type, origin_exchange)

    def _schedule_account_updates(self) -> None:
        interval = self.options.account_update_interval
        if interval and self._loop is not None:
            self._account_timer = self._loop.call_later(interval, self._on_account_cycle)

    def _on_account_cycle(self) -> None:
        """TWS's account-update cycle: subscribers get the account values that changed."""
        try:
            self._accounts.refresh()
            self.flush_all()
            self._on_change()
        finally:
            self._schedule_account_updates()

    def announce_market_data(
        self, code: int | None, text: str = "", market_data_type: int = 0
    ) -> None:
        """A notice or a market data type change to every market data subscription."""
        self._market_data.announce(code, text, market_data_type)

    def streams(self, client_id: int) -> dict[str, tuple[int, ...]]:
        """A client's live streams by kind (real-time bars, tick-by-tick, depth, keep up to
        date history): what a test checks after a cancel."""
        for s in list(self._sessions):
            if s.client_id == client_id and not s.closed:
                out = self._streams.streams(s)
                out["keep_up_to_date"] = self._history.keep_up_to_date(s)
                return out
        return {}

    def release_held(self) -> None:
        """After a thaw: each connection sends what it held and handles what it was sent."""
        for s in list(self._sessions):
            s.release()
            self.session_readable(s)

    def broadcast_error(self, req_id: int, code: int, text: str) -> None:
        """An error or notice to every started session."""
        for s in self._sessions:
            if s.started:
                s.send_error(req_id, code, text)

    def inject_bytes(self, data: bytes, client_id: int | None = None) -> None:
        """Raw bytes into the stream of every started session (or of one client id)."""
        for s in self._sessions:
            if s.started and (client_id is None or s.client_id == client_id):
                s.send_raw(data)

    def _schedule_step(self) -> None:
        interval = self.options.step_interval
        if interval and self._loop is not None:
            self._step_timer = self._loop.call_later(interval, self._on_step)

    def _on_step(self) -> None:
        try:
            self.dispatch(self.engine.step())
            self.refresh_market_data()
            self.flush_all()
            self._on_change()
        finally:
            self._schedule_step()

    # ---- observation: safe from any thread ----------------------------------------------------

    def sessions(self) -> list[SessionInfo]:
        """The open connections, as a test or an operator sees them."""
        return [
            SessionInfo(
                peer=s.peer,
                client_id=s.client_id,
                started=s.started,
                paced=s.pacing.paced,
                backlog=s.pacing.held,
                refused=s.pacing.refused,
                market_data=self._market_data.subscriptions(s),
                nodelay=s.nodelay,
            )
            for s in list(self._sessions)
            if not s.closed
        ]

    def received(self, kind: type | None = None) -> list[tuple[int | None, Any]]:
        """Every request received (the newest `RECEIVED_KEPT`), with its sender's client id
        (None before startApi); only those that are a `kind` if given. The frames are copied
        in one step against the loop's appends, then decoded as they were on arrival."""
        ids = _ids_of(kind)
        decoded = [
            (cid, decode_payload(Direction.IN, payload, version))
            for cid, msg_id, version, payload in self._received.copy()
            if ids is None or msg_id in ids
        ]
        return decoded if kind is None else [(c, e) for c, e in decoded if isinstance(e, kind)]

    def client_ids(self) -> set[int]:
        return set(self._clients)

    def routes(self) -> Mapping[type, Handler]:
        """Which request types are answered (for tests: every inbound row has a handler)."""
        return dict(self._routes)
