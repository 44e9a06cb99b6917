"""Ibkr: Horizon's Interactive Brokers venue, over ib_async and a local TWS / IB Gateway.

This module does the I/O: connection lifecycle, pacing, reconnection and reconciliation. Every
mapping (symbology, order translation, statuses, fills) is a pure function in a sibling module.
All ib_async objects live on one event loop: the caller's (for `*_async` use) or a private loop
thread (for the blocking methods), so fills and health checks flow between calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, TypeVar

from ib_async import IB, CommissionReport, Contract, Execution, Trade

from horizon.core.enums import OrderStatus, TimeInForce
from horizon.core.ratelimit import TokenBucket
from horizon.core.sync import LoopThread, run_sync
from horizon.core.types import Balance, OrderAction, Position, VenueFill, VenueOrder
from horizon.errors import (
    AccountModeMismatch,
    ClientIdInUse,
    ConfigurationError,
    HorizonError,
    InvalidOrder,
    RequestTimeout,
    UnknownInstrument,
    UnknownOrder,
    VenueUnavailable,
)
from horizon.venues.ibkr.accounts import (
    balances_from_summary,
    decimal_from_float,
    position_from_ib,
)
from horizon.venues.ibkr.capture import install_taps
from horizon.venues.ibkr.config import IbkrConfig
from horizon.venues.ibkr.fills import (
    ExecutionRecord,
    FillBook,
    liquidity_from_ib,
    parse_exec_time,
    side_from_exec,
)
from horizon.venues.ibkr.journal import FillJournal
from horizon.venues.ibkr.orders import amend_order, check_tick, order_type_of, side_of, to_ib_order
from horizon.venues.ibkr.resilience import ConnectionEvent, ConnectionState, backoff_delays
from horizon.venues.ibkr.status import ErrorKind, classify_error, is_paper_account
from horizon.venues.ibkr.symbology import canonical_market_id, market_id_of, parse_market_id
from horizon.venues.ibkr.tracking import LOST_BEFORE_ACK, OrderRecord

log = logging.getLogger("horizon.venues.ibkr")

T = TypeVar("T")
Listener = Callable[[ConnectionEvent], None]

_UNSET_DOUBLE = 1.7976931348623157e308


# errors after which the order is still live at IB (a refused cancel or modify, a warning)
_ORDER_STAYS_LIVE = frozenset(
    {ErrorKind.CANCEL_REJECTED, ErrorKind.AMEND_REJECTED, ErrorKind.WARNING, ErrorKind.INFO}
)


def _now() -> datetime:
    return datetime.now(UTC)


def _dec(value: float) -> Decimal:
    return decimal_from_float(value, lambda v: v >= _UNSET_DOUBLE) or Decimal(0)


class Ibkr:
    """Interactive Brokers through a locally running TWS or IB Gateway.

    `paper` must agree with `port` (7497/4002 paper, 7496/4001 live): a mismatch is refused
    before any socket opens. Blocking methods mirror the `*_async` twins one for one.
    """

    name: ClassVar[str] = "ibkr"
    requires_local_gateway: ClassVar[bool] = True

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 7497,
        client_id: int = 1,
        paper: bool = True,
        *,
        account: str | None = None,
        **options: Any,
    ) -> None:
        self._config = IbkrConfig(
            host=host, port=port, client_id=client_id, paper=paper, account=account, **options
        )
        cfg = self._config
        self._bucket = TokenBucket(cfg.rate, cfg.burst)
        self._fills = FillBook(
            venue=self.name, commission_grace=cfg.commission_grace, memory=cfg.dedup_memory
        )
        self._journal = FillJournal(Path(cfg.fill_journal)) if cfg.fill_journal else None
        self._runner = LoopThread(name=f"horizon-ibkr-{client_id}")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ib: IB | None = None
        self._client_id = client_id
        self._accounts: list[str] = []
        self._default_account: str | None = None
        self._contracts: dict[str, Contract] = {}
        self._min_ticks: dict[int, Decimal] = {}
        self._market_ids: dict[int, str] = {}
        self._orders: dict[int, OrderRecord] = {}
        self._waiters: list[tuple[Callable[[], bool], asyncio.Future[None]]] = []
        self._listeners: list[Listener] = []
        self._up: asyncio.Event | None = None
        self._closing = False
        self._connected_once = False
        self._marked_down = False
        self._supervisor: asyncio.Task[None] | None = None
        self._health_task: asyncio.Task[None] | None = None
        self._replaying_history = False
        self._fills_version = 0
        self._last_health_rtt_s: float | None = None
        self._last_health_at: datetime | None = None
        self.reconnects = 0
        self.pacing_errors = 0
        if self._journal is not None:
            restored = self._journal.load()
            self._fills.mark_drained(restored.drained)
            now = time.monotonic()
            for rec in restored.pending:
                self._fills.add_execution(rec, now)
            for exec_id, (fee, currency) in restored.commissions.items():
                self._fills.add_commission(exec_id, fee, currency, now)

    # ------------------------------------------------------------------ properties
    @property
    def config(self) -> IbkrConfig:
        return self._config

    @property
    def ib(self) -> IB:
        """The underlying ib_async `IB`: an escape hatch for what Horizon does not wrap.

        It lives on the venue's event loop; call its blocking methods only from that loop's
        side (inside `*_async` code), or use its `*Async` methods via the venue's loop.
        """
        if self._ib is None:
            raise VenueUnavailable(self._config.host, self._config.port, "not connected yet")
        return self._ib

    @property
    def client_id(self) -> int:
        """The client id in use (leased from `client_id_range` when one is configured)."""
        return self._client_id

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The event loop the venue's I/O runs on."""
        return self._loop or self._runner.loop

    def is_connected(self) -> bool:
        return self._ib is not None and self._ib.isConnected() and not self._marked_down

    def add_listener(self, listener: Listener) -> None:
        """Be told when the connection goes down, comes back, or degrades (1100/1101/1102).

        Listeners run on the venue's loop and must not block.
        """
        self._listeners.append(listener)

    def managed_accounts(self) -> list[str]:
        return list(self._accounts)

    @property
    def default_account(self) -> str | None:
        return self._default_account

    # ------------------------------------------------------------------ sync bridge
    def _sync(self, coro: Awaitable[T], what: str, timeout: float | None = None) -> T:
        return run_sync(
            coro,  # type: ignore[arg-type]
            loop=self.loop,
            timeout=timeout if timeout is not None else self._config.request_timeout + 5,
            what=what,
        )

    def __enter__(self) -> Ibkr:
        self.connect()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> Ibkr:
        await self.connect_async()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close_async()

    # ------------------------------------------------------------------ connect / close
    def connect(self) -> None:
        """Connect and synchronise; raises VenueUnavailable if the gateway isn't running."""
        cfg = self._config
        tries = 1 if cfg.client_id_range is None else len(self._candidate_client_ids())
        budget = (cfg.connect_timeout * 2 + 5) * tries
        self._sync(self.connect_async(), "connect", timeout=budget)

    async def connect_async(self) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is not None and self._loop is not loop and not self._loop.is_closed():
            raise HorizonError("this Ibkr venue is bound to another event loop; make a new one")
        self._loop = loop
        if self.is_connected():
            return
        self._closing = False
        self._up = self._up or asyncio.Event()
        await self._open_session(first=not self._connected_once)
        self._connected_once = True
        if self._supervisor is None or self._supervisor.done():
            self._supervisor = loop.create_task(self._supervise(), name="horizon-ibkr-supervisor")
        if self._config.health_check_interval and (
            self._health_task is None or self._health_task.done()
        ):
            self._health_task = loop.create_task(self._health_loop(), name="horizon-ibkr-health")

    def close(self) -> None:
        """Disconnect and stop background work. Idempotent."""
        if self._loop is None:
            self._runner.stop()
            return
        if self._loop.is_running() and not self._loop.is_closed():
            with contextlib.suppress(RequestTimeout):
                self._sync(self.close_async(), "close", timeout=10)
        self._runner.stop()

    async def close_async(self) -> None:
        self._closing = True
        for task in (self._supervisor, self._health_task):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._supervisor = self._health_task = None
        if self._ib is not None and self._ib.isConnected():
            self._ib.disconnect()
        if self._up is not None:
            self._up.clear()
        if self._journal is not None:
            self._journal.close()
        self._emit(ConnectionState.CLOSED, "closed by the application")

    def _candidate_client_ids(self) -> list[int]:
        rng = self._config.client_id_range
        if rng is None:
            return [self._client_id]
        lo, hi = rng
        return list(range(lo, hi + 1))

    async def _open_session(self, *, first: bool) -> None:
        """Connect (leasing a client id if a range is set), verify, and reconcile."""
        cfg = self._config
        last_clash: ClientIdInUse | None = None
        for client_id in self._candidate_client_ids():
            try:
                await self._connect_once(client_id, first=first)
            except ClientIdInUse as exc:
                last_clash = exc
                log.warning(
                    "client id %s in use on %s:%s",
                    client_id, cfg.host, cfg.port,
                    extra={"client_id": client_id, "host": cfg.host, "port": cfg.port},
                )
                continue
            return
        assert last_clash is not None
        raise last_clash

    async def _connect_once(self, client_id: int, *, first: bool) -> None:
        cfg = self._config
        ib = self._ib or IB()
        if self._ib is None:
            ib.errorEvent += self._on_error
            ib.disconnectedEvent += self._on_disconnected
            ib.orderStatusEvent += self._on_trade_update
            ib.openOrderEvent += self._on_trade_update
            self._ib = ib
        install_taps(ib, self._on_execution, self._on_commission)
        self._client_id = client_id
        self._replaying_history = first and self._journal is None and not (
            cfg.replay_fills_on_first_connect
        )
        clash: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def watch_326(req_id: int, code: int, text: str, contract: object) -> None:
            if code == 326 and not clash.done():
                clash.set_result(None)

        ib.errorEvent += watch_326
        for _ in range(3):  # handshake + startup requests draw on the same budget
            await self._bucket.acquire_async()
        connect = asyncio.ensure_future(
            ib.connectAsync(
                cfg.host,
                cfg.port,
                clientId=client_id,
                timeout=cfg.connect_timeout,
                readonly=cfg.readonly,
                account=cfg.account or "",
            )
        )
        try:
            done, _ = await asyncio.wait({connect, clash}, return_when=asyncio.FIRST_COMPLETED)
            if clash in done and not connect.done():
                connect.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await connect
                ib.disconnect()
                raise ClientIdInUse(cfg.host, cfg.port, client_id)
            await connect
        except ClientIdInUse:
            raise
        except (ConnectionRefusedError, OSError) as exc:
            raise VenueUnavailable(cfg.host, cfg.port, f"connection refused: {exc}") from exc
        except TimeoutError as exc:
            ib.disconnect()
            if clash.done():
                raise ClientIdInUse(cfg.host, cfg.port, client_id) from exc
            raise VenueUnavailable(
                cfg.host,
                cfg.port,
                f"TCP connected but no API handshake within {cfg.connect_timeout:g} s: the "
                "gateway is wedged, still starting, or 'Enable ActiveX and Socket Clients' is off",
            ) from exc
        except ConnectionError as exc:
            ib.disconnect()
            raise VenueUnavailable(cfg.host, cfg.port, str(exc)) from exc
        finally:
            ib.errorEvent -= watch_326
            if not clash.done():
                clash.cancel()
        self._replaying_history = False
        self._accounts = list(ib.managedAccounts())
        self._check_account_mode()
        self._default_account = cfg.account or (self._accounts[0] if self._accounts else None)
        self._marked_down = False
        self._reconcile_orders()
        assert self._up is not None
        self._up.set()
        log.info(
            "connected to %s:%s as client %s",
            cfg.host, cfg.port, client_id,
            extra={
                "host": cfg.host, "port": cfg.port, "client_id": client_id,
                "accounts": ",".join(self._accounts), "server_version": ib.client.serverVersion(),
            },
        )

    def _check_account_mode(self) -> None:
        cfg = self._config
        accounts = self._accounts
        if cfg.account is not None and cfg.account not in accounts:
            self._abort_connect()
            raise ConfigurationError(
                f"account {cfg.account!r} is not managed by this login (managed: "
                f"{', '.join(accounts)}); pass one of those, or account=None for the first"
            )
        if not cfg.verify_account_mode:
            return
        wrong = [a for a in accounts if is_paper_account(a) != cfg.paper]
        if wrong:
            self._abort_connect()
            asked, found = ("PAPER", "LIVE") if cfg.paper else ("LIVE", "PAPER")
            raise AccountModeMismatch(
                f"{asked} trading was asked (paper={cfg.paper}) but {cfg.host}:{cfg.port} "
                f"serves {found} account(s) {', '.join(wrong)}; disconnected. Point the venue "
                "at the gateway of the mode you mean (paper ids start with 'D'), or pass "
                "verify_account_mode=False if your account ids do not follow IB's convention"
            )

    def _abort_connect(self) -> None:
        self._closing = True
        if self._ib is not None:
            self._ib.disconnect()

    # ------------------------------------------------------------------ resilience
    def _emit(self, state: ConnectionState, detail: str = "", attempt: int = 0) -> None:
        event = ConnectionEvent(state=state, at=_now(), detail=detail, attempt=attempt)
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("connection listener failed", extra={"state": state.value})

    def _on_disconnected(self) -> None:
        if self._up is not None:
            self._up.clear()
        if self._closing:
            return
        cfg = self._config
        log.warning(
            "disconnected from %s:%s",
            cfg.host, cfg.port,
            extra={"host": cfg.host, "port": cfg.port, "client_id": self._client_id},
        )
        self._emit(ConnectionState.DISCONNECTED, "socket closed")

    async def _supervise(self) -> None:
        """Reconnect with backoff whenever the connection drops, until close()."""
        assert self._up is not None
        cfg = self._config
        while not self._closing:
            if self.is_connected():
                self._up.set()
                await self._wait_down()
                continue
            if not cfg.reconnect:
                return
            started = time.monotonic()
            for attempt, delay in enumerate(
                backoff_delays(cfg.reconnect_initial_delay, cfg.reconnect_max_delay), start=1
            ):
                if self._closing:
                    return
                await asyncio.sleep(delay)
                try:
                    await self._open_session(first=False)
                except (VenueUnavailable, TimeoutError, OSError) as exc:
                    log.warning(
                        "reconnect attempt %s failed",
                        attempt,
                        extra={"attempt": attempt, "delay_s": round(delay, 3), "error": str(exc),
                               "client_id": self._client_id},
                    )
                    continue
                except ConfigurationError as exc:
                    log.error("reconnect refused: %s", exc, extra={"attempt": attempt})
                    self._emit(ConnectionState.CLOSED, str(exc), attempt)
                    return
                self.reconnects += 1
                took = time.monotonic() - started
                log.info(
                    "reconnected after %s attempt(s)",
                    attempt,
                    extra={"attempt": attempt, "downtime_s": round(took, 3),
                           "client_id": self._client_id},
                )
                self._emit(ConnectionState.RECONNECTED, f"after {took:.2f} s", attempt)
                break

    async def _wait_down(self) -> None:
        while not self._closing and self.is_connected():
            fut = asyncio.get_running_loop().create_future()

            def done(fut: asyncio.Future[None] = fut) -> None:
                if not fut.done():
                    fut.set_result(None)

            assert self._ib is not None
            self._ib.disconnectedEvent += done
            try:
                # re-check after subscribing: marked-down needs no event
                if self.is_connected():
                    await asyncio.wait_for(fut, timeout=1.0)
            except TimeoutError:
                pass
            finally:
                self._ib.disconnectedEvent -= done

    async def _ready(self) -> IB:
        """The connected IB, waiting out a reconnection up to `reconnect_wait`."""
        cfg = self._config
        if self._ib is None or self._up is None or self._closing:
            raise VenueUnavailable(cfg.host, cfg.port, "not connected; call connect() first")
        if self.is_connected():
            return self._ib
        if not cfg.reconnect:
            raise VenueUnavailable(cfg.host, cfg.port, "disconnected and reconnect=False")
        try:
            await asyncio.wait_for(self._up.wait(), cfg.reconnect_wait)
        except TimeoutError as exc:
            raise VenueUnavailable(
                cfg.host, cfg.port, f"still reconnecting after {cfg.reconnect_wait:g} s"
            ) from exc
        return self._ib

    async def _health_loop(self) -> None:
        interval = self._config.health_check_interval
        assert interval
        while not self._closing:
            await asyncio.sleep(interval)
            if self.is_connected():
                await self.health_check_async()

    # ------------------------------------------------------------------ health
    def health_check(self) -> bool:
        """Blocking twin of `health_check_async`."""
        return self._sync(
            self.health_check_async(), "health_check", timeout=self._config.health_timeout + 15
        )

    async def health_check_async(self) -> bool:
        """A paced reqCurrentTime round trip; False (and marked disconnected) if it fails.

        Catches the half-open socket that ib_async still reports as connected.
        """
        cfg = self._config
        ib = self._ib
        if ib is None or not ib.isConnected() or self._marked_down:
            return False
        await self._bucket.acquire_async()
        started = time.perf_counter()
        try:
            await asyncio.wait_for(ib.reqCurrentTimeAsync(), cfg.health_timeout)
        except (TimeoutError, ConnectionError, OSError) as exc:
            log.warning(
                "health check failed; marking the connection down",
                extra={"host": cfg.host, "port": cfg.port, "client_id": self._client_id,
                       "timeout_s": cfg.health_timeout, "error": type(exc).__name__},
            )
            self._marked_down = True
            if self._up is not None:
                self._up.clear()
            ib.disconnect()
            return False
        self._last_health_rtt_s = time.perf_counter() - started
        self._last_health_at = _now()
        return True

    # ------------------------------------------------------------------ events from ib_async
    def _on_error(self, req_id: int, code: int, text: str, contract: object) -> None:
        kind = classify_error(code)
        fields = {"req_id": req_id, "code": code, "client_id": self._client_id, "kind": kind.value}
        record = self._orders.get(req_id)
        if kind is ErrorKind.INFO:
            log.info("IB notice %s: %s", code, text, extra=fields)
        elif kind is ErrorKind.PACING:
            self.pacing_errors += 1
            log.error("IB pacing violation (error 100): %s", text, extra=fields)
        elif kind is ErrorKind.CONNECTIVITY_LOST:
            log.warning("IB connectivity lost (1100)", extra=fields)
            self._emit(ConnectionState.DEGRADED, text)
        elif kind is ErrorKind.CONNECTIVITY_RESTORED:
            log.warning("IB connectivity restored (%s)", code, extra=fields)
            self._emit(ConnectionState.RESTORED, text)
            if self._loop is not None:
                self._loop.create_task(self._resync())
        elif record is not None:
            self._on_order_error(record, code, kind, text)
        elif kind is ErrorKind.WARNING:
            log.warning("IB warning %s: %s", code, text, extra=fields)
        else:
            log.error("IB error %s: %s", code, text, extra=fields)

    def _on_order_error(self, record: OrderRecord, code: int, kind: ErrorKind, text: str) -> None:
        record.error_codes.append(code)
        fields = {"order_id": record.order_id, "code": code, "client_id": self._client_id}
        now = _now()
        if kind in (ErrorKind.ORDER_REJECTED, ErrorKind.UNKNOWN_CONTRACT) or (
            not record.acknowledged and (kind not in _ORDER_STAYS_LIVE or code == 110)
        ):
            record.reject(f"IB error {code}: {text}", now)
            log.warning("order rejected: %s", text, extra=fields)
        elif kind is ErrorKind.ORDER_CANCELLED:
            record.reason = record.reason or text
            log.info("order cancelled: %s", text, extra=fields)
        elif kind in _ORDER_STAYS_LIVE:
            # the order lives on at IB whatever ib_async concluded locally
            record.undo_local_cancel(now)
            record.reason = f"IB {code}: {text}"
            log.warning("order message %s: %s", code, text, extra=fields)
        else:
            record.reason = f"IB {code}: {text}"
            log.error("order error %s: %s", code, text, extra=fields)
        self._notify()

    def _on_trade_update(self, trade: Trade) -> None:
        order, st = trade.order, trade.orderStatus
        if order.clientId not in (self._client_id, 0) and self._client_id != 0:
            return
        record = self._orders.get(order.orderId)
        if record is None and order.permId:
            record = self._record_by_perm(order.permId)
        if record is None:
            return
        changed = record.apply_status(
            ib_status=st.status,
            filled=_dec(st.filled),
            remaining=_dec(st.remaining),
            avg_fill_price=decimal_from_float(st.avgFillPrice),
            perm_id=order.permId or st.permId,
            at=_now(),
        )
        if changed:
            log.debug(
                "order status",
                extra={"order_id": record.order_id, "status": record.status.value,
                       "ib_status": st.status, "filled": str(record.filled)},
            )
            self._notify()

    def _record_by_perm(self, perm_id: int) -> OrderRecord | None:
        return next((r for r in self._orders.values() if r.perm_id == perm_id), None)

    def _on_execution(
        self, req_id: int, live: bool, contract: Contract, execution: Execution, raw_time: str
    ) -> None:
        if self._client_id != 0 and execution.clientId not in (self._client_id, 0):
            return
        try:
            when = parse_exec_time(raw_time, gateway_tz=self._config.gateway_timezone)
        except ValueError:
            log.warning(
                "unparseable execution time; using ib_async's",
                extra={"exec_id": execution.execId, "raw_time": raw_time},
            )
            when = execution.time if execution.time.tzinfo else execution.time.replace(tzinfo=UTC)
            when = when.astimezone(UTC)
        record = ExecutionRecord(
            exec_id=execution.execId,
            order_id=execution.orderId,
            perm_id=execution.permId,
            client_id=execution.clientId,
            account=execution.acctNumber,
            market_id=self._market_id_for(contract),
            side=side_from_exec(execution.side),
            quantity=_dec(execution.shares),
            price=_dec(execution.price),
            time=when,
            exchange=execution.exchange,
            liquidity=liquidity_from_ib(execution.lastLiquidity),
            order_ref=execution.orderRef or "",
        )
        if not live and self._replaying_history:
            # the day's executions from before this process existed: history, not new fills
            self._fills.mark_drained([record.exec_id])
            return
        if self._fills.add_execution(record, time.monotonic()):
            self._fills_changed()
            if self._journal is not None:
                self._journal.captured(record)
            log.debug("fill captured", extra={"exec_id": record.exec_id, "live": live})
        else:
            log.info(
                "duplicate execution dropped",
                extra={"exec_id": record.exec_id, "order_id": record.order_id,
                       "client_id": self._client_id},
            )

    def _on_commission(self, report: CommissionReport) -> None:
        fee = _dec(report.commission)
        if self._fills.add_commission(report.execId, fee, report.currency, time.monotonic()):
            self._fills_changed()
            if self._journal is not None:
                self._journal.commission(report.execId, fee, report.currency)

    def _fills_changed(self) -> None:
        self._fills_version += 1
        self._notify()

    def _market_id_for(self, contract: Contract) -> str:
        known = self._market_ids.get(contract.conId)
        if known is not None:
            return known
        market_id = market_id_of(contract)
        if contract.conId:
            self._market_ids[contract.conId] = market_id
        return market_id

    def _notify(self) -> None:
        still = []
        for predicate, fut in self._waiters:
            if fut.done():
                continue
            if predicate():
                fut.set_result(None)
            else:
                still.append((predicate, fut))
        self._waiters = still

    async def _wait(self, predicate: Callable[[], bool], timeout: float, what: str) -> None:
        if predicate():
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((predicate, fut))
        try:
            await asyncio.wait_for(fut, timeout)
        except TimeoutError as exc:
            raise RequestTimeout(what, timeout) from exc

    # ------------------------------------------------------------------ reconciliation
    def _reconcile_orders(self) -> None:
        """After a (re)connect, bring every non-final order record to the gateway's truth."""
        assert self._ib is not None
        trades = self._ib.trades()
        by_id = {t.order.orderId: t for t in trades if t.order.orderId}
        by_perm = {t.order.permId: t for t in trades if t.order.permId}
        executed = {f.execution.orderId for f in self._ib.fills()}
        for record in self._orders.values():
            if record.status.is_terminal:
                continue
            trade = by_id.get(record.order_id) or by_perm.get(record.perm_id)
            if trade is not None:
                self._on_trade_update_for(record, trade)
            elif not record.acknowledged and record.order_id not in executed:
                record.reject(LOST_BEFORE_ACK, _now())
                log.error(
                    "order lost before the gateway acknowledged it",
                    extra={"order_id": record.order_id, "client_id": self._client_id},
                )
        self._notify()

    def _on_trade_update_for(self, record: OrderRecord, trade: Trade) -> None:
        st = trade.orderStatus
        record.apply_status(
            ib_status=st.status,
            filled=_dec(st.filled),
            remaining=_dec(st.remaining),
            avg_fill_price=decimal_from_float(st.avgFillPrice),
            perm_id=trade.order.permId or st.permId,
            at=_now(),
        )

    async def _resync(self) -> None:
        """After 1101/1102: re-request open orders and executions on the live socket."""
        try:
            ib = await self._ready()
            await self._bucket.acquire_async()
            await asyncio.wait_for(ib.reqOpenOrdersAsync(), self._config.request_timeout)
            await self._bucket.acquire_async()
            await asyncio.wait_for(ib.reqExecutionsAsync(), self._config.request_timeout)
            self._reconcile_orders()
        except (HorizonError, TimeoutError, ConnectionError) as exc:
            log.warning("resync after connectivity restore failed", extra={"error": str(exc)})

    async def _query(self, request: Callable[[IB], Awaitable[T]], what: str) -> T:
        """A paced, idempotent request: retried once if the socket drops under it.

        Only for reads. Orders are never retried: a placeOrder that may have reached the
        gateway is reconciled after the reconnect instead of being sent twice.
        """
        cfg = self._config
        for attempt in (1, 2):
            ib = await self._ready()
            await self._bucket.acquire_async()
            try:
                return await asyncio.wait_for(request(ib), cfg.request_timeout)
            except TimeoutError as exc:
                raise RequestTimeout(what, cfg.request_timeout) from exc
            except ConnectionError as exc:
                log.warning(
                    "connection lost during a request",
                    extra={"what": what, "attempt": attempt, "client_id": self._client_id},
                )
                if attempt == 2 or not cfg.reconnect:
                    raise VenueUnavailable(cfg.host, cfg.port, f"{what}: {exc}") from exc
        raise AssertionError("unreachable")

    def _send(self, what: str, send: Callable[[IB], T], ib: IB) -> T:
        """A fire-and-forget send (placeOrder, cancelOrder): a dead socket is a typed error."""
        cfg = self._config
        if not ib.isConnected():
            raise VenueUnavailable(cfg.host, cfg.port, f"{what}: the connection dropped")
        try:
            return send(ib)
        except ConnectionError as exc:
            raise VenueUnavailable(cfg.host, cfg.port, f"{what}: {exc}") from exc

    # ------------------------------------------------------------------ instruments
    async def qualify_async(self, market_id: str) -> Contract:
        """The qualified contract of a market id (conId resolved once, then cached)."""
        key = canonical_market_id(market_id)
        cached = self._contracts.get(key)
        if cached is not None:
            return cached
        contract = parse_market_id(market_id)
        details = await self._query(
            lambda ib: ib.reqContractDetailsAsync(contract), f"contract details for {key}"
        )
        if not details:
            raise UnknownInstrument(key, "IB has no security definition for it (error 200)")
        if len(details) > 1:
            options = ", ".join(
                f"{d.contract.localSymbol}@{d.contract.exchange}" for d in details[:5] if d.contract
            )
            raise UnknownInstrument(
                key, f"ambiguous: {len(details)} contracts match ({options}); be more specific"
            )
        qualified = details[0].contract
        assert qualified is not None
        if not qualified.exchange and contract.exchange:
            qualified.exchange = contract.exchange
        self._contracts[key] = qualified
        self._market_ids[qualified.conId] = key
        if details[0].minTick and not math.isnan(details[0].minTick):
            self._min_ticks[qualified.conId] = Decimal(repr(details[0].minTick))
        return qualified

    def qualify(self, market_id: str) -> Contract:
        """Blocking twin of `qualify_async`."""
        return self._sync(self.qualify_async(market_id), "qualify")

    # ------------------------------------------------------------------ orders
    def _account_for(self, requested: str | None) -> str:
        account = requested or self._default_account
        if account is None:
            raise ConfigurationError("the gateway reported no managed account; cannot route")
        if self._accounts and account not in self._accounts:
            raise InvalidOrder(
                "account",
                f"{account!r} is not managed by this login ({', '.join(self._accounts)})",
            )
        return account

    async def submit_async(self, action: OrderAction) -> str:
        """Place an order; returns its IB order id (as a string) once it is on the wire."""
        ib = await self._ready()
        account = self._account_for(action.account)
        contract = await self.qualify_async(action.market_id)
        tick = self._min_ticks.get(contract.conId)
        if tick:
            for field in ("limit_price", "stop_price"):
                price = getattr(action, field)
                if price is not None:
                    check_tick(price, tick, field)
        order = to_ib_order(action, account=account)
        await self._bucket.acquire_async()
        ib = await self._ready()
        trade = self._send("placeOrder", lambda ib: ib.placeOrder(contract, order), ib)
        record = OrderRecord(
            order_id=trade.order.orderId,
            market_id=canonical_market_id(action.market_id),
            action=action,
            ib_order=trade.order,
            contract=contract,
            account=account,
            remaining=action.quantity,
            updated_at=_now(),
        )
        self._orders[record.order_id] = record
        log.info(
            "order submitted",
            extra={"order_id": record.order_id, "market_id": record.market_id,
                   "side": action.side.value, "quantity": str(action.quantity),
                   "order_type": action.order_type.value, "account": account,
                   "client_id": self._client_id},
        )
        return str(record.order_id)

    def submit(self, action: OrderAction) -> str:
        """Blocking twin of `submit_async`."""
        return self._sync(self.submit_async(action), "submit")

    def _record(self, order_id: str | int) -> OrderRecord:
        try:
            key = int(order_id)
        except (TypeError, ValueError) as exc:
            raise UnknownOrder(order_id) from exc  # type: ignore[arg-type]
        record = self._orders.get(key)
        if record is None:
            raise UnknownOrder(key)
        return record

    async def cancel_async(self, order_id: str) -> None:
        """Ask IB to cancel. A finished order is left alone (logged), so cancel is idempotent."""
        record = self._record(order_id)
        if record.status.is_terminal:
            log.info(
                "cancel of a finished order ignored",
                extra={"order_id": record.order_id, "status": record.status.value},
            )
            return
        ib = await self._ready()
        await self._bucket.acquire_async()
        self._send(
            "cancelOrder", lambda ib: ib.cancelOrder(record.ib_order), ib  # type: ignore[arg-type]
        )
        log.info("cancel sent", extra={"order_id": record.order_id, "client_id": self._client_id})

    def cancel(self, order_id: str) -> None:
        """Blocking twin of `cancel_async`."""
        self._sync(self.cancel_async(order_id), "cancel")

    async def cancel_all_async(self, market_id: str | None = None) -> list[str]:
        """Cancel every open order of this venue (of one market if given); returns their ids."""
        key = canonical_market_id(market_id) if market_id is not None else None
        cancelled = []
        for record in list(self._orders.values()):
            if record.status.is_terminal or record.status is OrderStatus.PENDING_CANCEL:
                continue
            if key is not None and record.market_id != key:
                continue
            await self.cancel_async(str(record.order_id))
            cancelled.append(str(record.order_id))
        return cancelled

    def cancel_all(self, market_id: str | None = None) -> list[str]:
        """Blocking twin of `cancel_all_async`."""
        return self._sync(self.cancel_all_async(market_id), "cancel_all")

    async def amend_async(
        self,
        order_id: str,
        *,
        quantity: Decimal | None = None,
        limit_price: Decimal | None = None,
        stop_price: Decimal | None = None,
    ) -> None:
        """Modify an open order in place (same order id), as TWS does on a re-sent placeOrder."""
        record = self._record(order_id)
        if record.status.is_terminal:
            raise InvalidOrder("order_id", f"order {order_id} is {record.status.value}")
        new = amend_order(
            record.ib_order,  # type: ignore[arg-type]
            quantity=quantity, limit_price=limit_price, stop_price=stop_price,
        )
        if quantity is not None and quantity <= record.filled:
            raise InvalidOrder(
                "quantity", f"{quantity} is not above the {record.filled} already filled"
            )
        tick = self._min_ticks.get(record.contract.conId)  # type: ignore[attr-defined]
        if tick:
            for field, price in (("limit_price", limit_price), ("stop_price", stop_price)):
                if price is not None:
                    check_tick(price, tick, field)
        ib = await self._ready()
        await self._bucket.acquire_async()
        self._send(
            "modify", lambda ib: ib.placeOrder(record.contract, new), ib  # type: ignore[arg-type]
        )
        record.ib_order = new
        log.info("amend sent", extra={"order_id": record.order_id, "client_id": self._client_id})

    def amend(
        self,
        order_id: str,
        *,
        quantity: Decimal | None = None,
        limit_price: Decimal | None = None,
        stop_price: Decimal | None = None,
    ) -> None:
        """Blocking twin of `amend_async`."""
        self._sync(
            self.amend_async(
                order_id, quantity=quantity, limit_price=limit_price, stop_price=stop_price
            ),
            "amend",
        )

    async def order_status_async(self, order_id: str) -> OrderStatus:
        return self._record(order_id).status

    def order_status(self, order_id: str) -> OrderStatus:
        """Blocking twin of `order_status_async`."""
        return self._sync(self.order_status_async(order_id), "order_status")

    async def order_async(self, order_id: str) -> VenueOrder:
        """The venue's full view of one order (status, fills so far, rejection reason)."""
        return self._view(self._record(order_id))

    def order(self, order_id: str) -> VenueOrder:
        """Blocking twin of `order_async`."""
        return self._sync(self.order_async(order_id), "order")

    async def wait_for_status_async(
        self, order_id: str, *statuses: OrderStatus, timeout: float = 10.0
    ) -> OrderStatus:
        """Wait until the order reaches one of `statuses` (default: any terminal status)."""
        record = self._record(order_id)
        wanted = set(statuses)

        def reached() -> bool:
            return record.status in wanted if wanted else record.status.is_terminal

        await self._wait(reached, timeout, f"order {order_id} reaching {sorted(wanted) or 'done'}")
        return record.status

    def wait_for_status(
        self, order_id: str, *statuses: OrderStatus, timeout: float = 10.0
    ) -> OrderStatus:
        """Blocking twin of `wait_for_status_async`."""
        return self._sync(
            self.wait_for_status_async(order_id, *statuses, timeout=timeout),
            "wait_for_status",
            timeout=timeout + 5,
        )

    def _view(self, record: OrderRecord) -> VenueOrder:
        order: Any = record.ib_order
        qty = _dec(order.totalQuantity)
        return VenueOrder(
            venue=self.name,
            order_id=str(record.order_id),
            market_id=record.market_id,
            side=side_of(order.action),
            quantity=qty,
            order_type=order_type_of(order.orderType),
            status=record.status,
            filled=record.filled,
            remaining=record.remaining if record.remaining is not None else qty - record.filled,
            avg_fill_price=record.avg_fill_price,
            limit_price=decimal_from_float(order.lmtPrice, lambda v: v >= _UNSET_DOUBLE),
            stop_price=decimal_from_float(order.auxPrice, lambda v: v >= _UNSET_DOUBLE),
            tif=TimeInForce(order.tif or "DAY"),
            account=record.account,
            client_order_id=order.orderRef or None,
            reason=record.reason,
            updated_at=record.updated_at,
        )

    async def open_orders_async(self, market_id: str | None = None) -> list[VenueOrder]:
        """Orders of this venue that may still fill, oldest first."""
        await self._ready()
        key = canonical_market_id(market_id) if market_id is not None else None
        return [
            self._view(r)
            for r in sorted(self._orders.values(), key=lambda r: r.order_id)
            if r.status.is_open and (key is None or r.market_id == key)
        ]

    def open_orders(self, market_id: str | None = None) -> list[VenueOrder]:
        """Blocking twin of `open_orders_async`."""
        return self._sync(self.open_orders_async(market_id), "open_orders")

    # ------------------------------------------------------------------ account
    async def balance_async(self, account: str | None = None) -> list[Balance]:
        """Cash and equity per account and currency, from IB's account summary."""
        rows = await self._query(
            lambda ib: ib.accountSummaryAsync(account or ""), "account summary"
        )
        return balances_from_summary(rows, venue=self.name, account=account)

    def balance(self, account: str | None = None) -> list[Balance]:
        """Blocking twin of `balance_async`."""
        return self._sync(self.balance_async(account), "balance")

    async def positions_async(self, account: str | None = None) -> list[Position]:
        """Non-zero positions, as the gateway streams them (kept current since connect)."""
        ib = await self._ready()
        return [
            position_from_ib(
                p, market_id=self._market_id_for(p.contract), currency=p.contract.currency,
                venue=self.name,
            )
            for p in ib.positions(account or "")
            if p.position
        ]

    def positions(self, account: str | None = None) -> list[Position]:
        """Blocking twin of `positions_async`."""
        return self._sync(self.positions_async(account), "positions")

    # ------------------------------------------------------------------ fills
    async def drain_fills_async(self) -> list[VenueFill]:
        """Every fill captured since the last call, each exactly once, oldest first.

        A fill waits for its commission report at most `commission_grace` seconds, then comes
        out with fee=None; the fee follows later as a record with `corrects` set.
        """
        fills = self._fills.drain(time.monotonic())
        if fills and self._journal is not None:
            self._journal.drained(fills)
        return fills

    def drain_fills(self) -> list[VenueFill]:
        """Blocking twin of `drain_fills_async`."""
        return self._sync(self.drain_fills_async(), "drain_fills")

    async def wait_fills_async(self, count: int, timeout: float = 10.0) -> list[VenueFill]:
        """Drain until at least `count` fills came out (they are returned), or time out.

        Wakes on each captured execution or commission, and when a held fill's grace ends.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        got: list[VenueFill] = []
        while True:
            got += await self.drain_fills_async()
            if len(got) >= count:
                return got
            left = deadline - loop.time()
            if left <= 0:
                raise RequestTimeout(f"{count} fill(s) (got {len(got)})", timeout)
            seen = self._fills_version

            def changed(seen: int = seen) -> bool:
                return self._fills_version != seen

            nap = min(left, self._config.commission_grace + 0.01) if self.pending_fills() else left
            with contextlib.suppress(RequestTimeout):
                await self._wait(changed, nap, "fills")

    def wait_fills(self, count: int, timeout: float = 10.0) -> list[VenueFill]:
        """Blocking twin of `wait_fills_async`."""
        return self._sync(self.wait_fills_async(count, timeout), "wait_fills", timeout + 5)

    def pending_fills(self) -> int:
        """Fills captured but not yet drained (waiting for commission or for drain_fills)."""
        return self._fills.pending()

