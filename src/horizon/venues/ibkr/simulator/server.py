"""The simulator's TCP side: an asyncio server, one session per connection, the clientId
registry, request handlers and engine-event dispatch. The only socket code.

Bytes go through `codec.GatewayConnection` (handshake, framing, rows); requests become engine
calls; engine events become messages (built by `mapping.py`) for the session(s) that own the
order. Everything runs on one event loop, so engine state needs no locks; `control.py` hops
calls from other threads onto that loop, in order.

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
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final

from horizon.venues.ibkr.simulator import messages as m
from horizon.venues.ibkr.simulator.codec import (
    MAX_VERSION,
    MIN_VERSION,
    BadMessage,
    ConnState,
    GatewayConnection,
    Hello,
    ProtocolError,
    UnknownMessage,
)
from horizon.venues.ibkr.simulator.engine import (
    Commission,
    ContractSpec,
    Engine,
    Event,
    ExecFilter,
    Execution,
    ExecutionMade,
    OrderError,
    OrderState,
    OrderUpdated,
    PositionRow,
)
from horizon.venues.ibkr.simulator.faults import FaultPlan, OneShot
from horizon.venues.ibkr.simulator.mapping import (
    DELAYED,
    LAST_TIMESTAMP,
    LEDGER_KEYS,
    Clock,
    commission_report,
    completed_order,
    contract11,
    contract_data,
    contract_query,
    exec_details,
    open_order,
    order_request,
    order_status,
    portfolio_row,
    position_row,
    quote_ticks,
    summary_rows,
)

log = logging.getLogger(__name__)


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
NOT_SUBSCRIBED: Final = 354
TEXT_NOT_SUBSCRIBED: Final = "Requested market data is not subscribed."
DELAYED_SHOWN: Final = 10167
TEXT_DELAYED_SHOWN: Final = (
    "Requested market data is not subscribed. Displaying delayed market data."
)
DELAYED_DISABLED: Final = 10168
TEXT_DELAYED_DISABLED: Final = (
    "Requested market data is not subscribed. Delayed market data is not enabled."
)
READ_ERROR: Final = 320
TEXT_READ_ERROR: Final = "Server error when reading an API client request."
NO_SECURITY: Final = 200
TEXT_NO_SECURITY: Final = "No security definition has been found for the request"


# --------------------------------------------------------------------------------------------
# Sessions
# --------------------------------------------------------------------------------------------


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
        if not self.sim.faults.frozen:
            self.sim._pump(self)

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
        self.flush()
        if abort:
            self.transport.abort()
        else:
            self.transport.close()
        self.closed = True


# --------------------------------------------------------------------------------------------
# The simulator
# --------------------------------------------------------------------------------------------


class Gateway:
    """The in-loop core: listener, sessions, clientId registry, request handlers, engine event
    dispatch, price timer. Everything here runs on one event loop; `GatewaySimulator` adds
    the threads, waits and the control API on top."""

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

    def _attach(self, s: Session) -> None:
        self._sessions.add(s)
        log.info("client connected", extra={"peer": s.peer})
        self._changed()

    def _detach(self, s: Session) -> None:
        self._sessions.discard(s)
        if s.client_id is not None and self._clients.get(s.client_id) is s:
            del self._clients[s.client_id]
        log.info("client disconnected", extra={"peer": s.peer, "client_id": s.client_id})
        self._changed()

    def _pump(self, s: Session) -> None:
        """Handle every complete event buffered on `s`, then flush its replies."""
        now = self._loop.time() if self._loop is not None else time.monotonic()
        while not s.closed:
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
                self._on_event(s, event, now)
        s.flush()
        self._flush_all()
        self._changed()

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
            s.backlog.append(event)
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
                s.backlog.append(event)
                self._schedule_backlog(s)
                return
            self.max_msgs_in_window = max(self.max_msgs_in_window, n)
            self.pacing_violations += 1
            log.warning("pacing violation", extra={"client_id": s.client_id, "count": n})
            s.send_error(
                -1,
                PACING,
                f"Max rate of messages per second has been exceeded:"
                f"max={self.pacing_limit} rec={n} (1)",
            )
            return
        self.max_msgs_in_window = max(self.max_msgs_in_window, n)
        self._handle(s, event)

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
            log.warning("client id already in use", extra={"peer": s.peer, "client_id": cid})
            s.send_error(-1, CLIENT_ID_IN_USE, TEXT_CLIENT_ID_IN_USE)
            s.close()
            return
        s.client_id, s.started = cid, True
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

    # ---- requests -----------------------------------------------------------------------

    def _on_current_time(self, s: Session, msg: m.ReqCurrentTime) -> None:
        s.send(m.CurrentTime(time=int(self._clock())))

    def _on_ids(self, s: Session, msg: m.ReqIds) -> None:
        s.send(m.NextValidId(order_id=self.engine.next_order_id_hint()))

    def _on_managed_accounts(self, s: Session, msg: m.ReqManagedAccts) -> None:
        s.send(m.ManagedAccounts(accounts=",".join(self.engine.accounts)))

    def _on_positions(self, s: Session, msg: m.ReqPositions) -> None:
        s.positions_sub = True
        for row in self.engine.positions():
            s.send(position_row(row))
        s.send(m.PositionEnd())

    def _on_cancel_positions(self, s: Session, msg: m.CancelPositions) -> None:
        s.positions_sub = False

    def _on_positions_multi(self, s: Session, msg: m.ReqPositionsMulti) -> None:
        for row in self._positions_of(msg.account):
            s.send(
                m.PositionMulti(
                    req_id=msg.req_id,
                    account=row.account,
                    contract=contract11(row.contract),
                    position=row.position,
                    avg_cost=row.avg_cost,
                    model_code=msg.model_code,
                )
            )
        s.send(m.PositionMultiEnd(req_id=msg.req_id))

    def _positions_of(self, account: str) -> list[PositionRow]:
        if account and account not in self.engine.accounts:
            return []
        return self.engine.positions(account or None)

    def _account_for(self, account: str) -> str | None:
        if account in self.engine.accounts:
            return account
        if not account and len(self.engine.accounts) == 1:
            return self.engine.accounts[0]
        return None

    def _on_account_updates(self, s: Session, msg: m.ReqAccountUpdates) -> None:
        account = self._account_for(msg.acct_code)
        if not msg.subscribe:
            s.account_sub = None
            return
        if account is None:
            log.warning(
                "account updates for an unknown account",
                extra={"client_id": s.client_id, "account": msg.acct_code},
            )
            return
        s.account_sub, s.account_sent = account, {}
        self._send_account_values(s, account)
        for row in self.engine.positions(account):
            s.send(portfolio_row(row))
        s.send(m.UpdateAccountTime(time_stamp=self._fmt.hhmm(self._clock())))
        s.send(m.AccountDownloadEnd(account=account))

    def _send_account_values(self, s: Session, account: str) -> None:
        for v in self.engine.account_values(account):
            key = (v.key, v.currency)
            if s.account_sent.get(key) != v.value:
                s.account_sent[key] = v.value
                s.send(
                    m.UpdateAccountValue(
                        key=v.key, value=v.value, currency=v.currency, account=v.account
                    )
                )

    def _on_account_updates_multi(self, s: Session, msg: m.ReqAccountUpdatesMulti) -> None:
        account = self._account_for(msg.account)
        if account is not None:
            s.multi_subs[msg.req_id] = (account, msg.ledger_and_nlv)
            s.multi_sent[msg.req_id] = {}
            self._send_multi(s, msg.req_id)
        s.send(m.AccountUpdateMultiEnd(req_id=msg.req_id))

    def _send_multi(self, s: Session, req_id: int) -> None:
        account, ledger_only = s.multi_subs[req_id]
        sent = s.multi_sent[req_id]
        for v in self.engine.account_values(account):
            if ledger_only and v.key not in LEDGER_KEYS and v.key != "NetLiquidation":
                continue
            key = (v.key, v.currency)
            if sent.get(key) != v.value:
                sent[key] = v.value
                s.send(
                    m.AccountUpdateMulti(
                        req_id=req_id,
                        account=account,
                        key=v.key,
                        value=v.value,
                        currency=v.currency,
                    )
                )

    def _on_cancel_account_updates_multi(
        self, s: Session, msg: m.CancelAccountUpdatesMulti
    ) -> None:
        s.multi_subs.pop(msg.req_id, None)
        s.multi_sent.pop(msg.req_id, None)

    def _on_account_summary(self, s: Session, msg: m.ReqAccountSummary) -> None:
        for account in self.engine.accounts:
            for tag, value, currency in summary_rows(self.engine.account_values(account), msg.tags):
                s.send(
                    m.AccountSummary(
                        req_id=msg.req_id, account=account, tag=tag, value=value, currency=currency
                    )
                )
        s.send(m.AccountSummaryEnd(req_id=msg.req_id))

    def _on_contract_details(self, s: Session, msg: m.ReqContractDetails) -> None:
        specs = self.engine.match_contracts(contract_query(msg.contract))
        if not specs:
            s.send_error(msg.req_id, NO_SECURITY, TEXT_NO_SECURITY)
            return
        now = self._clock()
        for spec in specs:
            s.send(contract_data(spec, msg.req_id, now))
        s.send(m.ContractDataEnd(req_id=msg.req_id))

    def _on_market_data_type(self, s: Session, msg: m.ReqMarketDataType) -> None:
        if 1 <= msg.market_data_type <= 4:
            s.md_type = msg.market_data_type

    def _has_realtime(self, spec: ContractSpec) -> bool:
        if isinstance(self.realtime_data, bool):
            return self.realtime_data
        return spec.symbol in self.realtime_data

    def _on_mkt_data(self, s: Session, msg: m.ReqMktData) -> None:
        specs = self.engine.match_contracts(contract_query(msg.contract))
        if len(specs) != 1:
            s.send_error(msg.req_id, NO_SECURITY, TEXT_NO_SECURITY)
            return
        spec = specs[0]
        md_type = s.md_type
        if md_type in (1, 2) and not self._has_realtime(spec):
            if not self.delayed_data:
                s.send_error(msg.req_id, NOT_SUBSCRIBED, TEXT_NOT_SUBSCRIBED)
                return
            # TWS falls back to delayed data for an account without the subscription
            s.send_error(msg.req_id, DELAYED_SHOWN, TEXT_DELAYED_SHOWN)
            md_type += 2
        elif md_type in (3, 4) and not self.delayed_data and not self._has_realtime(spec):
            s.send_error(msg.req_id, DELAYED_DISABLED, TEXT_DELAYED_DISABLED)
            return
        sub = MarketData(
            msg.req_id, spec.con_id, delayed=md_type in (3, 4), frozen=md_type in (2, 4)
        )
        s.send(
            m.TickReqParams(
                req_id=msg.req_id,
                min_tick=spec.min_tick,
                bbo_exchange="9c0001",
                snapshot_permissions=3,
            )
        )
        s.send(m.MarketDataType(req_id=msg.req_id, market_data_type=md_type))
        self._send_ticks(s, sub)
        if msg.snapshot or msg.regulatory_snapshot:
            s.send(m.TickSnapshotEnd(req_id=msg.req_id))
        elif not sub.frozen:
            s.market[msg.req_id] = sub

    def _send_ticks(self, s: Session, sub: MarketData) -> None:
        quote = self.engine.quote(sub.con_id)
        ticks = quote_ticks(quote)
        changed = False
        for tick_type, (value, size) in ticks.items():
            if sub.sent.get(tick_type) == (value, size):
                continue
            sub.sent[tick_type] = (value, size)
            changed = True
            wire_type = DELAYED[tick_type] if sub.delayed else tick_type
            if size is None:
                s.send(m.TickSize(req_id=sub.req_id, tick_type=wire_type, size=value))
            else:
                s.send(m.TickPrice(req_id=sub.req_id, tick_type=wire_type, price=value, size=size))
        if changed and not sub.delayed:
            s.send(
                m.TickString(
                    req_id=sub.req_id, tick_type=LAST_TIMESTAMP, value=str(int(quote.time))
                )
            )

    def _on_cancel_mkt_data(self, s: Session, msg: m.CancelMktData) -> None:
        s.market.pop(msg.req_id, None)

    def _refresh_market_data(self, con_id: int | None = None) -> None:
        for s in self._sessions:
            for sub in s.market.values():
                if con_id is None or sub.con_id == con_id:
                    self._send_ticks(s, sub)

    def _on_place_order(self, s: Session, msg: m.PlaceOrder) -> None:
        assert s.client_id is not None
        if self.faults.take(OneShot.DROP_ORDER):
            log.warning(
                "fault: placeOrder dropped",
                extra={"client_id": s.client_id, "order_id": msg.order_id},
            )
            return
        self._dispatch(self.engine.place(order_request(msg, s.client_id)))

    def _on_cancel_order(self, s: Session, msg: m.CancelOrder) -> None:
        assert s.client_id is not None
        self._dispatch(self.engine.cancel(s.client_id, msg.order_id))

    def _on_global_cancel(self, s: Session, msg: m.ReqGlobalCancel) -> None:
        self._dispatch(self.engine.global_cancel())

    def _send_open_orders(self, s: Session, orders: Iterable[OrderState]) -> None:
        for st in orders:
            s.send(open_order(st))
            s.send(order_status(st))
        s.send(m.OpenOrderEnd())

    def _on_open_orders(self, s: Session, msg: m.ReqOpenOrders) -> None:
        self._send_open_orders(s, self.engine.open_orders(s.client_id))

    def _on_all_open_orders(self, s: Session, msg: m.ReqAllOpenOrders) -> None:
        self._send_open_orders(s, self.engine.open_orders(None))

    def _on_auto_open_orders(self, s: Session, msg: m.ReqAutoOpenOrders) -> None:
        s.auto_open = msg.auto_bind and s.client_id == 0

    def _on_completed_orders(self, s: Session, msg: m.ReqCompletedOrders) -> None:
        for st in self.engine.completed_orders():
            if msg.api_only and st.client_id == 0:
                continue
            s.send(completed_order(st, self._fmt, self._clock()))
        s.send(m.CompletedOrdersEnd())

    def _on_executions(self, s: Session, msg: m.ReqExecutions) -> None:
        flt = ExecFilter(
            client_id=msg.client_id,
            account=msg.acct_code,
            time=msg.time,
            symbol=msg.symbol,
            sec_type=msg.sec_type,
            exchange=msg.exchange,
            side=msg.side,
        )
        try:
            rows = self.engine.executions(flt)
        except ValueError as exc:  # an unreadable filter time
            log.warning("bad execution filter", extra={"reason": str(exc)})
            rows = []
        for ex, cr in rows:
            s.send(exec_details(ex, msg.req_id, self._fmt))
            s.send(commission_report(cr))
        s.send(m.ExecDetailsEnd(req_id=msg.req_id))

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
