"""The simulator's TCP side: an asyncio server, one session per connection, the clientId
registry, pacing, and engine-event dispatch. The only socket code.

Bytes go through `codec.GatewayConnection` (handshake, framing, rows) held by each
`session.Session`; admitted requests go to the handlers in `requests.py` (a mixin of
`Gateway`), which turn them into engine calls; engine events become messages (built by
`mapping.py`) for the session(s) that own the order. Everything runs on one event loop, so
engine state needs no locks; `control.py` hops calls from other threads onto that loop, in order.

What a real gateway does that shapes this file:
* after the 2-field version reply nothing is sent until startApi; then managedAccounts,
  nextValidId and the farm notices; a clientId already in use gets error 326 and a close;
* order traffic goes only to the session whose clientId owns the order (TWS-entered orders:
  to clientId 0 sessions);
* a live fill is execDetails(reqId -1), then the order's status, then its commissionReport;
* bad input costs only the connection that sent it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any, Final

from horizon.venues.ibkr.simulator import messages as m
from horizon.venues.ibkr.simulator.codec import (
    MAX_VERSION,
    MIN_VERSION,
    BadMessage,
    ConnState,
    Hello,
    ProtocolError,
    UnknownMessage,
)
from horizon.venues.ibkr.simulator.engine import (
    Commission,
    ContractSpec,
    Engine,
    Event,
    Execution,
    ExecutionMade,
    OrderError,
    OrderUpdated,
    PositionRow,
)
from horizon.venues.ibkr.simulator.faults import FaultPlan, OneShot
from horizon.venues.ibkr.simulator.limits import Limits
from horizon.venues.ibkr.simulator.mapping import (
    Clock,
    commission_report,
    exec_details,
    open_order,
    order_status,
    portfolio_row,
    position_row,
)
from horizon.venues.ibkr.simulator.requests import (
    DELAYED_DISABLED,
    DELAYED_SHOWN,
    NO_SECURITY,
    NOT_SUBSCRIBED,
    TEXT_DELAYED_DISABLED,
    TEXT_DELAYED_SHOWN,
    TEXT_NO_SECURITY,
    TEXT_NOT_SUBSCRIBED,
    RequestHandlers,
)
from horizon.venues.ibkr.simulator.session import MarketData, Session

log = logging.getLogger(__name__)

__all__ = [  # incl. names now defined in requests.py / session.py, re-exported
    "CLIENT_ID_IN_USE", "DELAYED_DISABLED", "DELAYED_SHOWN", "FARM_NOTICES", "NOT_SUBSCRIBED",
    "NO_SECURITY", "PACING", "READ_ERROR", "TEXT_CLIENT_ID_IN_USE", "TEXT_DELAYED_DISABLED",
    "TEXT_DELAYED_SHOWN", "TEXT_NOT_SUBSCRIBED", "TEXT_NO_SECURITY", "TEXT_READ_ERROR",
    "Gateway", "MarketData", "RequestHandlers", "Session",
]  # fmt: skip


FARM_NOTICES: Final = (
    (2104, "Market data farm connection is OK:usfarm"),
    (2106, "HMDS data farm connection is OK:ushmds"),
    (2158, "Sec-def data farm connection is OK:secdefnj"),
)
CLIENT_ID_IN_USE: Final = 326
TEXT_CLIENT_ID_IN_USE: Final = (
    "Unable to connect as the client id is already in use. Retry with a unique client id."
)
PACING: Final = 100
RECEIVED_KEPT: Final = 100_000  # requests remembered for `GatewaySimulator.requests()`
READ_ERROR: Final = 320
TEXT_READ_ERROR: Final = "Server error when reading an API client request."


# --------------------------------------------------------------------------------------------
# The simulator
# --------------------------------------------------------------------------------------------


class Gateway(RequestHandlers):
    """The in-loop core: listener, sessions, clientId registry, pacing, engine event
    dispatch, price timer; the request handlers come from `RequestHandlers`. Everything here
    runs on one event loop; `GatewaySimulator` adds the threads, waits and the control API."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        accounts: Sequence[str] = ("DU1234567",),
        seed: int = 0,
        timezone: str = "UTC",
        pacing_limit: int | None = 50,
        liquidity: Decimal | None = None,
        read_only: bool = False,
        fa_groups: dict[str, Sequence[str]] | None = None,
        step_interval: float | None = 0.25,
        contracts: Iterable[ContractSpec] | None = None,
        *,
        clock: Callable[[], float] = time.time,
        min_version: int = MIN_VERSION,
        max_version: int = MAX_VERSION,
        realtime_data: bool | Iterable[str] = True,
        delayed_data: bool = True,
        exec_time_format: str = "zone",
        fa_profiles: dict[str, dict[str, Decimal]] | None = None,
        limits: Limits | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.timezone = timezone
        self.pacing_limit = pacing_limit
        self.step_interval = step_interval
        self.min_version, self.max_version = min_version, max_version
        self._clock = clock
        if exec_time_format not in ("zone", "utc"):
            raise ValueError(f"exec_time_format must be 'zone' or 'utc', got {exec_time_format!r}")
        # market-data entitlements: True = every symbol real-time, False = none, or symbols
        self.realtime_data: bool | frozenset[str] = (
            realtime_data if isinstance(realtime_data, bool) else frozenset(realtime_data)
        )
        self.delayed_data = delayed_data
        self._fmt = Clock(timezone, exec_time_format)
        self.engine = Engine(
            accounts=tuple(accounts),
            seed=seed,
            clock=clock,
            contracts=contracts,
            liquidity=liquidity,
            fa_groups=fa_groups,
            read_only=read_only,
            timezone=timezone,
            fa_profiles=fa_profiles,
        )
        self.faults = FaultPlan()
        self.limits = limits or Limits()
        self.disconnected_for_limits = 0  # clients cut off by `limits` (flooders, non-readers)
        # every request received, with the sender's client id (None before startApi)
        self._received: deque[tuple[int | None, Any]] = deque(maxlen=RECEIVED_KEPT)
        self.pacing_violations = 0
        self.max_msgs_in_window = 0
        self.listening = False
        self._sessions: set[Session] = set()
        self._clients: dict[int, Session] = {}
        self._manual_ids = 0
        self._server: asyncio.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._thread: threading.Thread | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._reopen: asyncio.TimerHandle | None = None
        self._cond = threading.Condition()
        self._changed_event: asyncio.Event | None = None
        self._handlers: dict[type, Callable[[Session, Any], None]] = {
            m.ReqCurrentTime: self._on_current_time,
            m.ReqIds: self._on_ids,
            m.ReqManagedAccts: self._on_managed_accounts,
            m.ReqPositions: self._on_positions,
            m.CancelPositions: self._on_cancel_positions,
            m.ReqPositionsMulti: self._on_positions_multi,
            m.CancelPositionsMulti: lambda s, msg: None,
            m.ReqAccountUpdates: self._on_account_updates,
            m.ReqAccountUpdatesMulti: self._on_account_updates_multi,
            m.CancelAccountUpdatesMulti: self._on_cancel_account_updates_multi,
            m.ReqAccountSummary: self._on_account_summary,
            m.CancelAccountSummary: lambda s, msg: None,
            m.ReqContractDetails: self._on_contract_details,
            m.ReqMarketDataType: self._on_market_data_type,
            m.ReqMktData: self._on_mkt_data,
            m.CancelMktData: self._on_cancel_mkt_data,
            m.PlaceOrder: self._on_place_order,
            m.CancelOrder: self._on_cancel_order,
            m.ReqGlobalCancel: self._on_global_cancel,
            m.ReqOpenOrders: self._on_open_orders,
            m.ReqAllOpenOrders: self._on_all_open_orders,
            m.ReqAutoOpenOrders: self._on_auto_open_orders,
            m.ReqCompletedOrders: self._on_completed_orders,
            m.ReqExecutions: self._on_executions,
            m.StartApi: self._on_duplicate_start_api,
        }

    async def _open(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._changed_event = asyncio.Event()
        await self._listen()
        self._schedule_step()
        log.info("gateway simulator listening", extra={"host": self.host, "port": self.port})

    async def _listen(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: Session(self), self.host, self.port, reuse_address=True
        )
        sockets = self._server.sockets
        if sockets and self.port == 0:
            self.port = sockets[0].getsockname()[1]
        self.listening = True
        self._changed()

    def _shutdown(self) -> None:
        for handle in (self._timer, self._reopen):
            if handle is not None:
                handle.cancel()
        self._timer = self._reopen = None
        if self._server is not None:
            self._server.close()
        self.listening = False
        for s in list(self._sessions):
            s.close(abort=True)
        self._sessions.clear()
        self._clients.clear()
        self._changed()

    async def _close(self) -> None:
        server = self._server
        self._shutdown()
        if server is not None:
            await server.wait_closed()
        self._server = None
        self._loop = None
        self._loop_thread = None

    # ---- change notification --------------------------------------------------------------

    def _changed(self) -> None:
        with self._cond:
            self._cond.notify_all()
        event = self._changed_event
        if event is not None:
            event.set()
            self._changed_event = asyncio.Event()

    # ---- sessions -----------------------------------------------------------------------

    def _attach(self, s: Session) -> bool:
        """A new connection; False (and closed) when the gateway is full."""
        limits = self.limits
        if len(self._sessions) >= limits.max_connections:
            log.warning(
                "connection refused: too many connections",
                extra={"peer": s.peer, "max_connections": limits.max_connections},
            )
            s.close(abort=True)
            return False
        self._sessions.add(s)
        if limits.handshake_timeout is not None and self._loop is not None:
            s.handshake_timer = self._loop.call_later(
                limits.handshake_timeout, self._handshake_expired, s
            )
        log.info("client connected", extra={"peer": s.peer})
        self._changed()
        return True

    def _handshake_expired(self, s: Session) -> None:
        s.handshake_timer = None
        if not s.started and not s.closed:
            log.warning(
                "no API handshake in time, closing the connection",
                extra={"peer": s.peer, "timeout_s": self.limits.handshake_timeout},
            )
            s.close(abort=True)

    def cut_off(self, s: Session, reason: str, **fields: object) -> None:
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
        s.backlog.clear()
        s.close(abort=True)
        self._changed()

    def _detach(self, s: Session) -> None:
        if s.handshake_timer is not None:
            s.handshake_timer.cancel()
            s.handshake_timer = None
        self._sessions.discard(s)
        if s.client_id is not None and self._clients.get(s.client_id) is s:
            del self._clients[s.client_id]
        log.info("client disconnected", extra={"peer": s.peer, "client_id": s.client_id})
        self._changed()

    def _pump(self, s: Session) -> None:
        """Handle the complete events buffered on `s`, then flush its replies.

        At most `limits.batch` per turn: the rest wait for the next turn of the loop (the
        client is not read meanwhile), so one client's flood cannot starve the others."""
        now = self._loop.time() if self._loop is not None else time.monotonic()
        budget = self.limits.batch
        while not s.closed:
            if budget <= 0:
                self._defer_pump(s)
                break
            budget -= 1
            try:
                event = s.conn.next_event()
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
            elif s.conn.state is ConnState.OPEN:
                self._received.append((s.client_id, event))
                self._on_event(s, event, now)
        s.flush()
        self._flush_all()
        self._changed()

    def _defer_pump(self, s: Session) -> None:
        if s.pump_scheduled or self._loop is None:
            return
        s.pump_scheduled = True
        s.pause_reading()
        self._loop.call_soon(self._resume_pump, s)

    def _resume_pump(self, s: Session) -> None:
        s.pump_scheduled = False
        if s.closed or self.faults.frozen:
            return
        self._pump(s)
        if not s.pump_scheduled and s.conn.buffered < self.limits.max_unread_bytes:
            s.resume_reading()

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
        reply = s.conn.accept(version, self._fmt.connection_time(self._clock()))
        s.paced = "+PACEAPI" in hello.options.split()
        s.out.append(reply)
        log.info("handshake", extra={"peer": s.peer, "version": version})

    def _on_event(self, s: Session, event: Any, now: float) -> None:
        if s.backlog:  # a paced (+PACEAPI) client: keep its order, queue behind the backlog
            self._queue(s, event)
            return
        window = s.window
        window.append(now)
        while now - window[0] >= 1.0:
            window.popleft()
        n = len(window)
        if self.pacing_limit is not None and n > self.pacing_limit:
            if s.paced:
                # TWS with +PACEAPI holds the excess and works it off at the limit
                window.pop()
                self._queue(s, event)
                self._schedule_backlog(s)
                return
            self.max_msgs_in_window = max(self.max_msgs_in_window, n)
            self.pacing_violations += 1
            s.refused += 1
            if now - s.refusals_logged_at >= self.limits.log_every:
                # one line per client and second, not one per refused message
                log.warning(
                    "pacing violations",
                    extra={"client_id": s.client_id, "count": n, "refused": s.refused},
                )
                s.refusals_logged_at = now
            s.send_error(
                -1,
                PACING,
                f"Max rate of messages per second has been exceeded:"
                f"max={self.pacing_limit} rec={n} (1)",
            )
            return
        self.max_msgs_in_window = max(self.max_msgs_in_window, n)
        self._handle(s, event)

    def _queue(self, s: Session, event: Any) -> None:
        if len(s.backlog) >= self.limits.max_backlog:
            self.cut_off(s, "its +PACEAPI backlog is full", max_backlog=self.limits.max_backlog)
            return
        s.backlog.append(event)

    def _schedule_backlog(self, s: Session) -> None:
        if self._loop is None or s.backlog_timer is not None:
            return
        at = s.window[0] + 1.0 if s.window else self._loop.time()
        s.backlog_timer = self._loop.call_at(at, self._drain_backlog, s)

    def _drain_backlog(self, s: Session) -> None:
        """Work off a paced client's queued requests as its 1-s window frees up."""
        assert self._loop is not None
        s.backlog_timer = None
        now = self._loop.time()
        window = s.window
        limit = self.pacing_limit
        while s.backlog and not s.closed:
            while window and now - window[0] >= 1.0:
                window.popleft()
            if limit is not None and len(window) >= limit:
                self._schedule_backlog(s)
                break
            window.append(now)
            self.max_msgs_in_window = max(self.max_msgs_in_window, len(window))
            self._handle(s, s.backlog.popleft())
        s.flush()
        self._flush_all()
        self._changed()

    def _handle(self, s: Session, event: Any) -> None:
        """Answer one admitted request."""
        if isinstance(event, BadMessage):
            log.warning(
                "malformed message",
                extra={"peer": s.peer, "msg_id": event.msg_id, "reason": event.reason},
            )
            s.send_error(-1, READ_ERROR, TEXT_READ_ERROR)
            return
        if isinstance(event, UnknownMessage):
            log.warning("unsupported message id", extra={"peer": s.peer, "msg_id": event.msg_id})
            s.send_error(-1, READ_ERROR, TEXT_READ_ERROR)
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
        handler = self._handlers.get(type(event))
        if handler is None:
            log.warning("request not handled", extra={"request": type(event).__name__})
            return
        try:
            handler(s, event)
        except Exception:
            # A bug answering one request must not take the connection (or the gateway)
            # down; it is logged loudly and the client hears what TWS says for a bad request.
            log.exception(
                "request handler failed",
                extra={"request": type(event).__name__, "client_id": s.client_id},
            )
            s.send_error(-1, READ_ERROR, TEXT_READ_ERROR)

    def _on_start_api(self, s: Session, msg: m.StartApi) -> None:
        cid = msg.client_id
        if cid in self._clients:
            log.warning(
                "client id %s already in use", cid, extra={"peer": s.peer, "client_id": cid}
            )
            s.send_error(-1, CLIENT_ID_IN_USE, TEXT_CLIENT_ID_IN_USE)
            s.close()
            return
        s.client_id, s.started = cid, True
        if s.handshake_timer is not None:
            s.handshake_timer.cancel()
            s.handshake_timer = None
        self._clients[cid] = s
        s.send(m.ManagedAccounts(accounts=",".join(self.engine.accounts)))
        s.send(m.NextValidId(order_id=self.engine.next_order_id_hint()))
        for code, text in FARM_NOTICES:
            s.send_error(-1, code, text)
        log.info("api started", extra={"peer": s.peer, "client_id": cid})

    def _on_duplicate_start_api(self, s: Session, msg: m.StartApi) -> None:
        log.warning("second startApi ignored", extra={"client_id": s.client_id})

    def _flush_all(self) -> None:
        for s in list(self._sessions):
            s.flush()

    # ---- engine events -> sessions --------------------------------------------------------

    def _audience(self, client_id: int) -> list[Session]:
        """Who hears about an order: its own client; TWS-entered (clientId 0) orders also go
        to clientId-0 sessions that asked for them with reqAutoOpenOrders."""
        out = []
        for s in self._sessions:
            if not s.started or s.closed:
                continue
            if s.client_id == client_id or (client_id == 0 and s.auto_open):
                out.append(s)
        return out

    def _dispatch(self, events: Sequence[Event]) -> None:
        """Turn engine events into messages, in order; commission reports follow the order
        status of their execution, as TWS sends them."""
        queue: deque[Event] = deque(events)
        later: list[tuple[list[Session], m.CommissionReport]] = []
        touched: set[tuple[str, int]] = set()
        while queue:
            ev = queue.popleft()
            if isinstance(ev, OrderUpdated):
                st = ev.order
                for s in self._audience(st.client_id):
                    s.send(open_order(st))
                    if st.margin is None:
                        s.send(order_status(st))
            elif isinstance(ev, ExecutionMade):
                ex, cr = ev.execution, ev.commission
                touched.add((ex.account, ex.contract.con_id))
                audience = self._audience(ex.client_id)
                details = exec_details(ex, -1, self._fmt)
                report = commission_report(cr)
                first = self.faults.take(OneShot.COMMISSION_FIRST)
                twice = self.faults.take(OneShot.DUPLICATE_EXEC)
                drop = self.faults.take(OneShot.DROP_COMMISSION)
                for s in audience:
                    if first and not drop:
                        s.send(report)
                    s.send(details)
                    if twice:
                        s.send(details)
                if not (first or drop):
                    later.append((audience, report))
                correction = self.faults.take_correction()
                if correction is not None:
                    queue.extend(
                        self.engine.correct_execution(
                            ex.exec_id, shares=correction.shares, price=correction.price
                        )
                    )
            elif isinstance(ev, OrderError):
                for s in self._audience(ev.client_id):
                    s.send_error(ev.order_id, ev.code, ev.text)
        for audience, report in later:
            for s in audience:
                s.send(report)
        if touched:
            self._push_account_changes(touched)

    def _push_account_changes(self, touched: set[tuple[str, int]]) -> None:
        """After fills: position, portfolio and account-value updates to subscribers."""
        accounts = {a for a, _ in touched}
        rows = {(r.account, r.contract.con_id): r for r in self.engine.positions()}
        for s in self._sessions:
            if not s.started:
                continue
            if s.positions_sub:
                for key in sorted(touched):
                    row = rows.get(key) or self._flat_row(*key)
                    s.send(position_row(row))
            if s.account_sub in accounts:
                for key in sorted(touched):
                    if key[0] == s.account_sub:
                        s.send(portfolio_row(rows.get(key) or self._flat_row(*key)))
                self._send_account_values(s, s.account_sub)
                s.send(m.UpdateAccountTime(time_stamp=self._fmt.hhmm(self._clock())))
            for req_id, (account, _) in s.multi_subs.items():
                if account in accounts:
                    self._send_multi(s, req_id)

    def _flat_row(self, account: str, con_id: int) -> PositionRow:
        zero = Decimal(0)
        return PositionRow(
            account=account,
            contract=self.engine.contract(con_id),
            position=zero,
            avg_cost=zero,
            market_price=zero,
            market_value=zero,
            unrealized_pnl=zero,
            realized_pnl=zero,
        )

    # ---- the clock ----------------------------------------------------------------------

    def _schedule_step(self) -> None:
        if self.step_interval and self._loop is not None:
            self._timer = self._loop.call_later(self.step_interval, self._on_step)

    def _on_step(self) -> None:
        try:
            self._dispatch(self.engine.step())
            self._refresh_market_data()
            self._flush_all()
            self._changed()
        finally:
            self._schedule_step()

    # ---- ground truth -------------------------------------------------------------------

    def executions(self) -> list[Execution]:
        """Every execution the engine made so far, corrections included, in order."""
        return [ex for ex, _ in self.engine.executions()]

    def commissions(self) -> dict[str, Commission]:
        return {cr.exec_id: cr for _, cr in self.engine.executions()}

    def connected_client_ids(self) -> set[int]:
        return set(self._clients)
