"""Ibkr: Horizon's Interactive Brokers venue, over ib_async and a local TWS / IB Gateway.

`Ibkr` is wiring, delegation and the blocking twins. It builds its parts in `__init__`, each
owning its state: the `Connection` (the link to the gateway and its lifecycle), `Instruments`
(qualification), `OrderTracker` (the one placement path, records, reconciliation),
`FillCapture` (fills exactly once), `QuoteStreams` and `TicketDesk`. All ib_async objects live
on one event loop: the caller's (for `*_async` use) or a private loop thread (for the blocking
methods), so fills and health checks flow between calls.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, TypeVar

from ib_async import IB, Contract

from horizon.core.enums import OrderStatus
from horizon.core.ratelimit import TokenBucket
from horizon.core.sync import LoopThread, run_sync
from horizon.core.types import Balance, OrderAction, Position, VenueFill, VenueOrder
from horizon.errors import ConfigurationError, RequestTimeout
from horizon.venues.ibkr import logfilter
from horizon.venues.ibkr.bar_streams import BarStreams, BarSubscription
from horizon.venues.ibkr.changes import Changes
from horizon.venues.ibkr.config import IbkrConfig
from horizon.venues.ibkr.connection import Connection, HealthSample, Lifecycle, Listener
from horizon.venues.ibkr.fill_capture import FillCapture
from horizon.venues.ibkr.guards import Guards, PreTradeGuards
from horizon.venues.ibkr.history import HistoricalTick, History
from horizon.venues.ibkr.instruments import Instruments
from horizon.venues.ibkr.journal import FillJournal
from horizon.venues.ibkr.mapping.accounts import balances_from_summary, position_from_ib
from horizon.venues.ibkr.mapping.allocation import Allocation
from horizon.venues.ibkr.mapping.bars import Bar, BarSize, WhatToShow
from horizon.venues.ibkr.mapping.depth import DepthChange
from horizon.venues.ibkr.mapping.preview import Preview
from horizon.venues.ibkr.mapping.quotes import Quote, QuoteCallback, Subscription
from horizon.venues.ibkr.mapping.reference import (
    ContractInfo,
    Greeks,
    OptionChainInfo,
    PnLFigures,
    SymbolMatch,
)
from horizon.venues.ibkr.mapping.tickets import Ticket
from horizon.venues.ibkr.market_info import MarketInfo
from horizon.venues.ibkr.market_streams import DepthSubscription, MarketStreams, TickSubscription
from horizon.venues.ibkr.order_tracker import OrderTracker
from horizon.venues.ibkr.quote_streams import QuoteStreams, StreamState
from horizon.venues.ibkr.readiness import Readiness, RestartWindow, assess
from horizon.venues.ibkr.ticket_desk import TicketDesk

T = TypeVar("T")
log = logging.getLogger("horizon.venues.ibkr")
# the blocking twins of requests that may page, wait on IB's historical pacing, or stream
_LONG_REQUEST_S = 3600.0


@dataclass(frozen=True, slots=True)
class VenueStats:
    """Counters of one venue, for operators and tests (`Ibkr.stats`)."""

    lifecycle: Lifecycle
    requests_sent: int  # pacing tokens taken: every outbound request takes one
    reconnects: int
    pacing_errors: int  # IB error 100 received
    corrupt_frames: int  # sessions reset because the gateway's stream was corrupt
    orders: int  # orders this venue knows (placed or adopted)
    open_orders: int
    fills_pending: int  # captured, not yet handed out
    quote_streams: int
    history_requests: int = 0  # historical requests sent (bars, ticks, head timestamps)
    history_pacing_wait_s: float = 0.0  # time they waited on IB's historical pacing rules


@dataclass(frozen=True, slots=True)
class MetricsSnapshot:
    """Everything the metrics read from a venue, at one instant (bounded keys only)."""

    client_id: int
    connected: bool
    submitted: Mapping[str, int]  # account -> orders placed
    finals: Mapping[tuple[str, str], int]  # (account, final status) -> orders
    rejects: Mapping[str, int]  # IB code -> rejections
    fills: Mapping[str, int]  # account -> fills handed out
    fees: Mapping[str, Decimal]  # currency -> fees handed out
    reconnects: int
    disconnected_seconds: float
    requests: int
    pacing_wait_seconds: float
    pacing_errors: int
    fills_pending: int
    quote_streams: int
    quote_streams_delayed: int
    corrupt_frames: int


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
        unknown = sorted(set(options) - {f.name for f in dataclasses.fields(IbkrConfig)})
        if unknown:
            raise ConfigurationError(
                f"unknown Ibkr option(s) {', '.join(unknown)}; the options are the fields of "
                "horizon.venues.ibkr.IbkrConfig"
            )
        cfg = IbkrConfig(
            host=host, port=port, client_id=client_id, paper=paper, account=account, **options
        )
        self._config = cfg
        if cfg.quiet_ib_async:
            logfilter.install()
        else:
            logfilter.uninstall()
        self._journal = FillJournal(Path(cfg.fill_journal)) if cfg.fill_journal else None
        self._changes = Changes()
        self._connection = Connection(
            cfg, TokenBucket(cfg.rate, cfg.burst), LoopThread(name=f"horizon-ibkr-{client_id}")
        )
        self._instruments = Instruments(self._connection)
        # always there, so the kill switch works without any rule configured
        self._guards = PreTradeGuards(cfg.guards or Guards())
        self._quotes = QuoteStreams(cfg, self._connection, self._instruments)
        self._history = History(self._connection, self._instruments)
        self._bars = BarStreams(self._connection, self._instruments, self._history)
        self._info = MarketInfo(self._connection, self._instruments)
        self._market = MarketStreams(self._connection, self._instruments)
        self._orders = OrderTracker(
            self._connection,
            self._instruments,
            self._changes,
            self._journal,
            guards=self._guards,
            reference=self._quotes.reference,
            venue=self.name,
        )
        self._fills = FillCapture(
            cfg,
            self._connection,
            self._instruments,
            self._changes,
            self._journal,
            on_execution=self._orders.note_execution,
            venue=self.name,
        )
        self._tickets = TicketDesk(self._connection, self._instruments, self._orders, self._changes)
        # after every handshake, in this order: the orders the gateway reports, the journal
        # (what an earlier run left), the order-id floor, the day's executions (through the
        # journal's dedup), then every record brought to the gateway's truth
        if cfg.metrics:
            from horizon.venues.ibkr import metrics

            metrics.register(self)
        for step in (
            self._orders.sync_orders,
            self._fills.take_journal,
            self._orders.apply_floor,
            self._fills.sync_executions,
            self._orders.reconcile,
        ):
            self._connection.add_session_step(step)

    def _sync(self, coro: Awaitable[T], what: str, timeout: float | None = None) -> T:
        return run_sync(
            coro,  # type: ignore[arg-type]
            loop=self._connection.loop,
            timeout=timeout if timeout is not None else self._config.request_timeout + 5,
            what=what,
        )

    # ------------------------------------------------------------------ properties
    @property
    def config(self) -> IbkrConfig:
        return self._config

    @property
    def loop(self) -> Any:
        """The event loop the venue's I/O runs on."""
        return self._connection.loop

    @property
    def ib(self) -> IB:
        """The underlying ib_async `IB`: an escape hatch for what Horizon does not wrap.

        It lives on the venue's event loop; call its blocking methods only from that loop's
        side (inside `*_async` code), or use its `*Async` methods via the venue's loop.
        """
        ib = self._connection.ib
        if ib is None:
            raise self._connection.not_connected()
        return ib

    @property
    def client_id(self) -> int:
        """The client id in use (leased from `client_id_range` when one is configured)."""
        return self._connection.client_id

    @property
    def default_account(self) -> str | None:
        return self._connection.default_account

    @property
    def reconnects(self) -> int:
        return self._connection.reconnects

    @property
    def pacing_errors(self) -> int:
        return self._orders.pacing_errors

    @property
    def last_health(self) -> HealthSample | None:
        """The last successful health check (round trip in s, UTC time), or None."""
        return self._connection.last_health

    @property
    def _last_health_rtt_s(self) -> float | None:
        """The spec's name for `last_health.rtt_s` (read-only)."""
        sample = self._connection.last_health
        return sample.rtt_s if sample else None

    @property
    def _last_health_at(self) -> datetime | None:
        """The spec's name for `last_health.at` (read-only)."""
        sample = self._connection.last_health
        return sample.at if sample else None

    @property
    def stats(self) -> VenueStats:
        return VenueStats(
            lifecycle=self._connection.lifecycle,
            requests_sent=self._connection.bucket.granted,
            reconnects=self._connection.reconnects,
            pacing_errors=self._orders.pacing_errors,
            corrupt_frames=self._connection.corrupt_frames,
            orders=self._orders.count(),
            open_orders=len(self._orders.open_records()),
            fills_pending=self._fills.pending(),
            quote_streams=len(self._quotes.markets()),
            history_requests=self._history.requests,
            history_pacing_wait_s=self._history.waited_s,
        )

    def metrics_snapshot(self) -> MetricsSnapshot:
        """The venue's counters and gauges now (what `metrics` exports; usable without it)."""
        conn, streams = self._connection, self._quotes.states()
        return MetricsSnapshot(
            client_id=conn.client_id,
            connected=conn.is_connected(),
            submitted=dict(self._orders.submitted),
            finals=dict(self._orders.finals()),
            rejects=dict(self._orders.rejects),
            fills=dict(self._fills.fills_out),
            fees=dict(self._fills.fees_out),
            reconnects=conn.reconnects,
            disconnected_seconds=conn.disconnected_seconds(),
            requests=conn.bucket.granted,
            pacing_wait_seconds=conn.bucket.waited_s,
            pacing_errors=self._orders.pacing_errors,
            fills_pending=self._fills.pending(),
            quote_streams=len(streams),
            quote_streams_delayed=sum(s.delayed for s in streams),
            corrupt_frames=conn.corrupt_frames,
        )

    @property
    def bound_loop(self) -> Any:
        """The loop the venue lives on once connected (None before): never starts one."""
        return self._connection.bound_loop

    def readiness(self, restart_window: RestartWindow | None = None) -> Readiness:
        """Ready to trade? Connected, health check fresh, account mode verified, outside the
        gateway's restart window (what `/readyz` serves)."""
        cfg, conn = self._config, self._connection
        connected = conn.is_connected()
        # a (re)connect is a round trip too: it counts until the first check is due
        seen = [t for t in (conn.connected_at, conn.last_health and conn.last_health.at) if t]
        return assess(
            connected=connected,
            lifecycle=conn.lifecycle.value,
            last_health_at=max(seen) if seen else None,
            health_interval=cfg.health_check_interval,
            health_timeout=cfg.health_timeout,
            account_mode_verified=connected if cfg.verify_account_mode else None,
            mode=cfg.mode,
            window=restart_window,
            now=datetime.now(UTC),
        )

    def observe_latencies(
        self, *, ack: Callable[[float], None], health: Callable[[float], None]
    ) -> None:
        """Be told each submit -> acknowledgement latency and each health-check round trip
        (seconds), as they happen, on the venue's loop (the metrics' histograms use this)."""
        self._orders.ack_observers.append(ack)
        self._connection.health_observers.append(health)

    def add_listener(self, listener: Listener) -> None:
        """Be told when the connection goes down, comes back, or degrades (1100/1101/1102).

        Listeners run on the venue's loop and must not block.
        """
        self._connection.add_listener(listener)

    def managed_accounts(self) -> list[str]:
        return list(self._connection.accounts)

    def is_connected(self) -> bool:
        return self._connection.is_connected()

    # ------------------------------------------------------------------ lifecycle
    def connect(self) -> None:
        """Connect and synchronise; raises VenueUnavailable if the gateway isn't running."""
        cfg = self._config
        budget = (cfg.connect_timeout * 2 + 5) * self._connection.connect_attempts()
        self._sync(self.connect_async(), "connect", timeout=budget)

    async def connect_async(self) -> None:
        if self._journal is not None:
            self._journal.open()
        await self._connection.connect_async()

    def close(self) -> None:
        """Disconnect and stop background work. Idempotent."""
        loop = self._connection.bound_loop
        if loop is None:
            self._connection.runner.stop()
            self._close_journal()
            return
        if loop.is_running() and not loop.is_closed():
            try:
                self._sync(self.close_async(), "close", timeout=10)
            except RequestTimeout:
                self._close_journal()
        self._connection.release_loop()

    async def close_async(self) -> None:
        await self._connection.close_async()
        self._close_journal()

    def _close_journal(self) -> None:
        if self._journal is not None:
            self._journal.checkpoint()
            self._journal.close()  # the lock goes too: another venue may take the journal

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

    # ------------------------------------------------------------------ health
    async def health_check_async(self) -> bool:
        """A paced reqCurrentTime round trip; False (and marked disconnected) if it fails.

        Catches the half-open socket that ib_async still reports as connected.
        """
        return await self._connection.health_check_async()

    def health_check(self) -> bool:
        """Blocking twin of `health_check_async`."""
        timeout = self._config.health_timeout + 15
        return self._sync(self.health_check_async(), "health_check", timeout=timeout)

    # ------------------------------------------------------------------ instruments
    async def qualify_async(self, market_id: str) -> Contract:
        """The qualified contract of a market id (conId resolved once, then cached)."""
        return await self._instruments.qualify(market_id)

    def qualify(self, market_id: str) -> Contract:
        """Blocking twin of `qualify_async`."""
        return self._sync(self.qualify_async(market_id), "qualify")

    # ------------------------------------------------------------------ orders
    async def submit_async(self, action: OrderAction) -> str:
        """Place an order; returns its IB order id (as a string) once it is on the wire."""
        return await self._orders.submit(action)

    def submit(self, action: OrderAction) -> str:
        """Blocking twin of `submit_async`."""
        return self._sync(self.submit_async(action), "submit")

    async def preview_async(self, action: OrderAction) -> Preview:
        """IB's what-if check: the margin (before, after, change) and commission `action`
        would cost, and IB's warning, without placing anything. IB's refusal ->
        VenueRejected (its code); bad input -> InvalidOrder, as for submit."""
        return await self._orders.preview(action)

    def preview(self, action: OrderAction) -> Preview:
        """Blocking twin of `preview_async`."""
        return self._sync(self.preview_async(action), "preview")

    async def cancel_async(self, order_id: str) -> None:
        """Ask IB to cancel. A finished order, or one already being cancelled, is left alone
        (logged), so cancel is idempotent."""
        await self._orders.cancel(order_id)

    def cancel(self, order_id: str) -> None:
        """Blocking twin of `cancel_async`."""
        self._sync(self.cancel_async(order_id), "cancel")

    async def cancel_all_async(self, market_id: str | None = None) -> list[str]:
        """Cancel every open order of this venue (of one market if given); returns their ids."""
        return await self._orders.cancel_all(market_id)

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
        """Modify an open order in place (same order id), as TWS does on a re-sent placeOrder.

        Refused (InvalidOrder, nothing sent) for an order that is finished or being cancelled,
        checked again right before sending: the order may fill while the call waits.
        """
        await self._orders.amend(
            order_id, quantity=quantity, limit_price=limit_price, stop_price=stop_price
        )

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
        return self._orders.record(order_id).status

    def order_status(self, order_id: str) -> OrderStatus:
        """Blocking twin of `order_status_async`."""
        return self._sync(self.order_status_async(order_id), "order_status")

    async def order_async(self, order_id: str) -> VenueOrder:
        """The venue's full view of one order (status, fills so far, rejection reason)."""
        return self._orders.view(self._orders.record(order_id))

    def order(self, order_id: str) -> VenueOrder:
        """Blocking twin of `order_async`."""
        return self._sync(self.order_async(order_id), "order")

    async def wait_for_status_async(
        self, order_id: str, *statuses: OrderStatus, timeout: float = 10.0
    ) -> OrderStatus:
        """Wait until the order reaches one of `statuses` (default: any terminal status)."""
        return await self._orders.wait_for_status(order_id, statuses, timeout)

    def wait_for_status(
        self, order_id: str, *statuses: OrderStatus, timeout: float = 10.0
    ) -> OrderStatus:
        """Blocking twin of `wait_for_status_async`."""
        return self._sync(
            self.wait_for_status_async(order_id, *statuses, timeout=timeout),
            "wait_for_status",
            timeout=timeout + 5,
        )

    async def open_orders_async(self, market_id: str | None = None) -> list[VenueOrder]:
        """Orders of this venue that may still fill, oldest first."""
        await self._connection.ready()
        return self._orders.open_views(market_id)

    def open_orders(self, market_id: str | None = None) -> list[VenueOrder]:
        """Blocking twin of `open_orders_async`."""
        return self._sync(self.open_orders_async(market_id), "open_orders")

    async def orders_async(self, market_id: str | None = None) -> list[VenueOrder]:
        """Every order this venue knows in this process, finished ones too, oldest first."""
        return self._orders.all_views(market_id)

    def orders(self, market_id: str | None = None) -> list[VenueOrder]:
        """Blocking twin of `orders_async`."""
        return self._sync(self.orders_async(market_id), "orders")

    # ------------------------------------------------------------------ kill switch
    async def kill_switch_async(
        self, reason: str = "kill switch", *, cancel_all: bool = False
    ) -> list[str]:
        """Refuse every new order from now on (OrderRefused "kill_switch") until
        `resume_trading()`; with `cancel_all`, also cancel this venue's open orders (their
        ids are returned)."""
        self._guards.kill(reason)
        log.warning("kill switch thrown", extra={"reason": reason, "cancel_all": cancel_all})
        return await self._orders.cancel_all() if cancel_all else []

    def kill_switch(self, reason: str = "kill switch", *, cancel_all: bool = False) -> list[str]:
        """Blocking twin of `kill_switch_async`."""
        return self._sync(self.kill_switch_async(reason, cancel_all=cancel_all), "kill_switch")

    def resume_trading(self) -> None:
        """Undo `kill_switch()` (a kill-switch file, if configured, still refuses while it
        exists)."""
        self._guards.resume()
        log.warning("kill switch released")

    # ------------------------------------------------------------------ account
    async def balance_async(self, account: str | None = None) -> list[Balance]:
        """Cash and equity per account and currency, from IB's account summary."""
        rows = await self._connection.query(
            lambda ib: ib.accountSummaryAsync(account or ""), "account summary"
        )
        return balances_from_summary(rows, venue=self.name, account=account)

    def balance(self, account: str | None = None) -> list[Balance]:
        """Blocking twin of `balance_async`."""
        return self._sync(self.balance_async(account), "balance")

    async def positions_async(self, account: str | None = None) -> list[Position]:
        """Non-zero positions, as the gateway streams them (kept current since connect)."""
        ib = await self._connection.ready()
        return [
            position_from_ib(
                p,
                market_id=self._instruments.market_id_for(p.contract),
                currency=p.contract.currency,
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
        out with fee=None; the fee follows later as a record with `corrects` set. With a fill
        journal, fills come out only once the journal has recorded them (else JournalError,
        and the next call offers them again).
        """
        return self._fills.drain()

    def drain_fills(self) -> list[VenueFill]:
        """Blocking twin of `drain_fills_async`."""
        return self._sync(self.drain_fills_async(), "drain_fills")

    async def wait_fills_async(self, count: int, timeout: float = 10.0) -> list[VenueFill]:
        """Wait until at least `count` fills are ready, then drain them (all that are ready).

        Nothing is drained on a timeout (RequestTimeout): every fill stays where the next
        `drain_fills()` finds it.
        """
        return await self._fills.wait(count, timeout)

    def wait_fills(self, count: int, timeout: float = 10.0) -> list[VenueFill]:
        """Blocking twin of `wait_fills_async`."""
        return self._sync(self.wait_fills_async(count, timeout), "wait_fills", timeout + 5)

    def pending_fills(self) -> int:
        """Fills captured but not yet drained (waiting for commission or for drain_fills)."""
        return self._fills.pending()

    # ------------------------------------------------------------------ tickets
    def ticket(self, ticket_id: str) -> Ticket:
        """The ticket (kind, legs' order ids and roles) of a bracket or OCO submission."""
        return self._tickets.ticket(ticket_id)

    def ticket_legs(self, ticket_id: str) -> list[str]:
        """Order ids of a ticket's legs: (entry, take_profit, stop_loss) for a bracket, the
        given order for an OCO set. Their statuses come from `order_status(order_id)`."""
        return self._tickets.legs(ticket_id)

    async def submit_bracket_async(
        self, entry: OrderAction, take_profit: Decimal, stop_loss: Decimal
    ) -> str:
        """Place entry + take-profit (limit) + stop-loss (stop) as one ticket; its id.

        Everything is checked before the first order goes out; the legs go live together
        (entry and take-profit held, the stop-loss transmitting the three).
        """
        return await self._tickets.submit_bracket(entry, take_profit, stop_loss)

    def submit_bracket(self, entry: OrderAction, take_profit: Decimal, stop_loss: Decimal) -> str:
        """Blocking twin of `submit_bracket_async`."""
        return self._sync(
            self.submit_bracket_async(entry, take_profit, stop_loss), "submit_bracket"
        )

    async def submit_oco_async(self, actions: Sequence[OrderAction], *, oca_type: int = 1) -> str:
        """Place `actions` in one OCA group as one ticket; its id.

        oca_type 1: the first fill cancels the others; 2 / 3: the others shrink by each fill
        (with / without block). The group goes live as one: all legs but the last held.
        """
        return await self._tickets.submit_oco(actions, oca_type=oca_type)

    def submit_oco(self, actions: Sequence[OrderAction], *, oca_type: int = 1) -> str:
        """Blocking twin of `submit_oco_async`."""
        return self._sync(self.submit_oco_async(actions, oca_type=oca_type), "submit_oco")

    async def cancel_ticket_async(self, ticket_id: str) -> list[str]:
        """Cancel every open leg of a ticket; returns the ids of the legs that were open."""
        return await self._tickets.cancel_ticket(ticket_id)

    def cancel_ticket(self, ticket_id: str) -> list[str]:
        """Blocking twin of `cancel_ticket_async`."""
        return self._sync(self.cancel_ticket_async(ticket_id), "cancel_ticket")

    async def allocate_block_async(
        self, action: OrderAction, allocation: Allocation | Mapping[str, Decimal]
    ) -> list[str] | str:
        """Trade one block for several sub-accounts: with an `Allocation`, one order split by
        IB (its id); with ``{account: weight}``, one child order per account (their ids)."""
        return await self._tickets.allocate_block(action, allocation)

    def allocate_block(
        self, action: OrderAction, allocation: Allocation | Mapping[str, Decimal]
    ) -> list[str] | str:
        """Blocking twin of `allocate_block_async`."""
        return self._sync(self.allocate_block_async(action, allocation), "allocate_block")

    # ------------------------------------------------------------------ history
    async def bars_async(
        self,
        market_id: str,
        duration: timedelta | str,
        bar_size: BarSize | str,
        what: WhatToShow | str = WhatToShow.TRADES,
        rth: bool = True,
        end: datetime | None = None,
    ) -> list[Bar]:
        """Historical bars of `market_id` covering `duration` (a timedelta or IB's "1 Y",
        "30 D" ...) up to `end` (now when None), oldest first, each once. `bar_size` is one of
        IB's ("1 min", "5 secs", "1 day", ...: `BarSize`); `what` trades, midpoint, bid, ask,
        bid_ask, adjusted_last, historical_volatility, option_implied_volatility. Long ranges
        are split into the requests IB allows; IB's historical pacing is kept before sending
        (waiting, or HistoricalPacing with `history_pacing="refuse"`); IB's error 162 is
        HistoricalPacing, a request with no answer RequestTimeout (`history_timeout`)."""
        return await self._history.bars(market_id, duration, bar_size, what=what, rth=rth, end=end)

    def bars(
        self,
        market_id: str,
        duration: timedelta | str,
        bar_size: BarSize | str,
        what: WhatToShow | str = WhatToShow.TRADES,
        rth: bool = True,
        end: datetime | None = None,
    ) -> list[Bar]:
        """Blocking twin of `bars_async`."""
        return self._sync(
            self.bars_async(market_id, duration, bar_size, what, rth, end), "bars",
            timeout=_LONG_REQUEST_S,
        )  # fmt: skip

    async def head_timestamp_async(
        self, market_id: str, what: WhatToShow | str = WhatToShow.TRADES, rth: bool = True
    ) -> datetime:
        """The earliest time IB has `what` data for `market_id` (UTC)."""
        return await self._history.head_timestamp(market_id, what=what, rth=rth)

    def head_timestamp(
        self, market_id: str, what: WhatToShow | str = WhatToShow.TRADES, rth: bool = True
    ) -> datetime:
        """Blocking twin of `head_timestamp_async`."""
        return self._sync(
            self.head_timestamp_async(market_id, what, rth), "head_timestamp",
            timeout=_LONG_REQUEST_S,
        )  # fmt: skip

    async def historical_ticks_async(
        self,
        market_id: str,
        start: datetime,
        end: datetime | None = None,
        what: str = "trades",
        rth: bool = True,
        count: int = 1000,
    ) -> list[HistoricalTick]:
        """Up to `count` (at most 1000, IB's page) historical ticks of `market_id` from
        `start`: "trades", "bid_ask" or "midpoint"."""
        return await self._history.ticks(market_id, start, end=end, what=what, rth=rth, count=count)

    def historical_ticks(
        self,
        market_id: str,
        start: datetime,
        end: datetime | None = None,
        what: str = "trades",
        rth: bool = True,
        count: int = 1000,
    ) -> list[HistoricalTick]:
        """Blocking twin of `historical_ticks_async`."""
        return self._sync(
            self.historical_ticks_async(market_id, start, end, what, rth, count),
            "historical_ticks", timeout=_LONG_REQUEST_S,
        )  # fmt: skip

    async def subscribe_bars_async(
        self,
        market_id: str,
        bar_size: BarSize | str,
        what: WhatToShow | str = WhatToShow.TRADES,
        rth: bool = False,
        callback: Callable[[Bar], object] | None = None,
    ) -> BarSubscription:
        """Live bars of `market_id` (5 secs .. 8 hours, built from IB's 5-second real-time
        bars), each delivered once, whole and in order: iterate the subscription and/or get
        `callback(bar)` on the venue's loop. After a reconnect the bars completed while away
        are fetched from history and delivered first, so there is no gap."""
        return await self._bars.subscribe(
            market_id, bar_size, what=what, rth=rth, callback=callback
        )

    def subscribe_bars(
        self,
        market_id: str,
        bar_size: BarSize | str,
        what: WhatToShow | str = WhatToShow.TRADES,
        rth: bool = False,
        callback: Callable[[Bar], object] | None = None,
    ) -> BarSubscription:
        """Blocking twin of `subscribe_bars_async`."""
        return self._sync(
            self.subscribe_bars_async(market_id, bar_size, what, rth, callback), "subscribe_bars"
        )

    async def unsubscribe_bars_async(self, subscription: BarSubscription) -> None:
        """End a bar subscription (idempotent); cancelled at IB."""
        await self._bars.unsubscribe(subscription)

    def unsubscribe_bars(self, subscription: BarSubscription) -> None:
        """Blocking twin of `unsubscribe_bars_async`."""
        self._sync(self.unsubscribe_bars_async(subscription), "unsubscribe_bars")

    def bar_streams(self) -> list[tuple[str, str]]:
        """(market id, bar size) of every live bar stream."""
        return self._bars.streams()

    # ------------------------------------------------------------------ depth and ticks
    async def depth_async(
        self,
        market_id: str,
        rows: int = 5,
        smart: bool = False,
        callback: Callable[[DepthChange], object] | None = None,
    ) -> DepthSubscription:
        """A maintained order book of `market_id` (`rows` levels a side; `smart` for IB's
        consolidated depth): `snapshot()` is the book now, iterating gives each change
        (insert / update / delete applied as IB means them). Rebuilt from a fresh
        subscription when IB resets it (317) and after a reconnect."""
        return await self._market.depth(market_id, rows, smart, callback)

    def depth(
        self,
        market_id: str,
        rows: int = 5,
        smart: bool = False,
        callback: Callable[[DepthChange], object] | None = None,
    ) -> DepthSubscription:
        """Blocking twin of `depth_async`."""
        return self._sync(self.depth_async(market_id, rows, smart, callback), "depth")

    async def subscribe_ticks_async(
        self,
        market_id: str,
        what: str = "trades",
        callback: Callable[[HistoricalTick], object] | None = None,
    ) -> TickSubscription:
        """IB's tick-by-tick data of `market_id`: "trades", "all_trades", "bid_ask" or
        "midpoint"; each tick once, in order."""
        return await self._market.ticks(market_id, what, callback)

    def subscribe_ticks(
        self,
        market_id: str,
        what: str = "trades",
        callback: Callable[[HistoricalTick], object] | None = None,
    ) -> TickSubscription:
        """Blocking twin of `subscribe_ticks_async`."""
        return self._sync(self.subscribe_ticks_async(market_id, what, callback), "subscribe_ticks")

    async def unsubscribe_stream_async(
        self, subscription: DepthSubscription | TickSubscription
    ) -> None:
        """End a depth or tick subscription (idempotent); cancelled at IB."""
        await self._market.unsubscribe(subscription)

    def unsubscribe_stream(self, subscription: DepthSubscription | TickSubscription) -> None:
        """Blocking twin of `unsubscribe_stream_async`."""
        self._sync(self.unsubscribe_stream_async(subscription), "unsubscribe_stream")

    # ------------------------------------------------------------------ reference data
    async def search_async(self, pattern: str) -> list[SymbolMatch]:
        """Instruments whose symbol or name matches `pattern` (IB's reqMatchingSymbols)."""
        return await self._info.search(pattern)

    def search(self, pattern: str) -> list[SymbolMatch]:
        """Blocking twin of `search_async`."""
        return self._sync(self.search_async(pattern), "search")

    async def contract_details_async(self, market_id: str) -> ContractInfo:
        """What IB says about `market_id`: trading and liquid hours, time zone, min tick,
        market rules, valid exchanges, ISIN and the other security ids, industry, ..."""
        return await self._info.contract_details(market_id)

    def contract_details(self, market_id: str) -> ContractInfo:
        """Blocking twin of `contract_details_async`."""
        return self._sync(self.contract_details_async(market_id), "contract_details")

    async def option_chain_async(self, underlying: str) -> list[OptionChainInfo]:
        """The option series of `underlying`, one per exchange and trading class:
        expirations, strikes, multiplier (IB's reqSecDefOptParams)."""
        return await self._info.option_chain(underlying)

    def option_chain(self, underlying: str) -> list[OptionChainInfo]:
        """Blocking twin of `option_chain_async`."""
        return self._sync(self.option_chain_async(underlying), "option_chain")

    async def greeks_async(self, market_id: str) -> Greeks:
        """An option's model greeks from its market data (delta, gamma, vega, theta,
        implied volatility, model price, the underlying's price)."""
        return await self._info.greeks(market_id)

    def greeks(self, market_id: str) -> Greeks:
        """Blocking twin of `greeks_async`."""
        return self._sync(self.greeks_async(market_id), "greeks")

    async def implied_volatility_async(
        self, market_id: str, option_price: Decimal | str, underlying_price: Decimal | str
    ) -> Greeks:
        """IB's implied volatility of an option at these prices (with its greeks)."""
        return await self._info.implied_volatility(market_id, option_price, underlying_price)

    def implied_volatility(
        self, market_id: str, option_price: Decimal | str, underlying_price: Decimal | str
    ) -> Greeks:
        """Blocking twin of `implied_volatility_async`."""
        return self._sync(
            self.implied_volatility_async(market_id, option_price, underlying_price),
            "implied_volatility",
        )

    async def option_price_async(
        self, market_id: str, volatility: Decimal | str, underlying_price: Decimal | str
    ) -> Greeks:
        """IB's model price of an option at `volatility` (0.25 = 25 %), with its greeks."""
        return await self._info.option_price(market_id, volatility, underlying_price)

    def option_price(
        self, market_id: str, volatility: Decimal | str, underlying_price: Decimal | str
    ) -> Greeks:
        """Blocking twin of `option_price_async`."""
        return self._sync(
            self.option_price_async(market_id, volatility, underlying_price), "option_price"
        )

    async def pnl_async(
        self, market_id: str | None = None, account: str | None = None
    ) -> PnLFigures:
        """Daily, unrealized and realized PnL of the account, or of its `market_id` position
        (with the position's size and value). One IB subscription each, reused."""
        if market_id is None:
            return await self._info.pnl(account)
        return await self._info.position_pnl(market_id, account)

    def pnl(self, market_id: str | None = None, account: str | None = None) -> PnLFigures:
        """Blocking twin of `pnl_async`."""
        return self._sync(self.pnl_async(market_id, account), "pnl")

    # ------------------------------------------------------------------ quotes
    async def quote_async(self, market_id: str) -> Quote:
        """A snapshot of `market_id`'s top of book (delayed=True if the account has no
        real-time permission: the venue then falls back to delayed data)."""
        return await self._quotes.quote(market_id)

    def quote(self, market_id: str) -> Quote:
        """Blocking twin of `quote_async`."""
        timeout = self._quotes.snapshot_timeout()
        return self._sync(self.quote_async(market_id), "quote", timeout=timeout)

    async def subscribe_quotes_async(
        self, market_ids: Sequence[str], callback: QuoteCallback | None = None
    ) -> Subscription:
        """Stream quotes of `market_ids`: iterate the Subscription and/or get `callback(q)`;
        restored after a reconnect or a 1101. Callbacks run on the venue's loop."""
        return await self._quotes.subscribe(market_ids, callback)

    def subscribe_quotes(
        self, market_ids: Sequence[str], callback: QuoteCallback | None = None
    ) -> Subscription:
        """Blocking twin of `subscribe_quotes_async` (the callback runs on the venue's loop
        thread; from plain threads, read the subscription with `get(timeout)`)."""
        return self._sync(self.subscribe_quotes_async(market_ids, callback), "subscribe_quotes")

    async def unsubscribe_async(self, subscription: Subscription) -> None:
        """End a subscription (idempotent); a market nobody else follows is cancelled at IB."""
        await self._quotes.unsubscribe(subscription)

    def unsubscribe(self, subscription: Subscription) -> None:
        """Blocking twin of `unsubscribe_async`."""
        self._sync(self.unsubscribe_async(subscription), "unsubscribe")

    def subscribed_markets(self) -> list[str]:
        """Markets with a live reqMktData (one per market, however many subscribers)."""
        return self._quotes.markets()

    def quote_streams(self) -> list[StreamState]:
        """Each live stream: its market, how many subscriptions share it, whether its data
        is delayed, and why it failed if it did."""
        return self._quotes.states()
