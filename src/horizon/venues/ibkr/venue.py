"""Ibkr: Horizon's Interactive Brokers venue, over ib_async and a local TWS / IB Gateway.

The public API: instruments, orders, account and fills, each `*_async` method with its
blocking twin. The connection session is in `session.py`, the handling of gateway events in
`ingest.py`; every mapping (symbology, order translation, statuses, fills) is a pure function
in a sibling module. All ib_async objects live on one event loop: the caller's (for `*_async`
use) or a private loop thread (for the blocking methods), so fills and health checks flow
between calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import math
import time
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar

from ib_async import IB, Contract

from horizon.core.enums import OrderStatus, TimeInForce
from horizon.core.ratelimit import TokenBucket
from horizon.core.sync import LoopThread
from horizon.core.types import Balance, OrderAction, Position, VenueFill, VenueOrder
from horizon.errors import (
    ConfigurationError,
    InvalidOrder,
    RequestTimeout,
    UnknownInstrument,
    UnknownOrder,
)
from horizon.venues.ibkr import logfilter
from horizon.venues.ibkr.config import IbkrConfig
from horizon.venues.ibkr.extras import TicketsQuotesMixin
from horizon.venues.ibkr.frameguard import FrameGuard
from horizon.venues.ibkr.journal import FillJournal
from horizon.venues.ibkr.mapping.accounts import (
    balances_from_summary,
    decimal_from_float,
    position_from_ib,
)
from horizon.venues.ibkr.mapping.fills import ExecutionRecord, FillBook
from horizon.venues.ibkr.mapping.orders import amend_order, order_type_of, side_of, to_ib_order
from horizon.venues.ibkr.mapping.symbology import canonical_market_id, parse_market_id
from horizon.venues.ibkr.order_record import OrderRecord
from horizon.venues.ibkr.session import Session
from horizon.venues.ibkr.state import UNSET_DOUBLE, Listener, ib_decimal, log


class Ibkr(TicketsQuotesMixin, Session):
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
        self._config = IbkrConfig(
            host=host, port=port, client_id=client_id, paper=paper, account=account, **options
        )
        cfg = self._config
        if cfg.quiet_ib_async:
            logfilter.install()
        else:
            logfilter.uninstall()
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
        self._by_perm: dict[int, OrderRecord] = {}
        self._waiters: list[tuple[Callable[[], bool], asyncio.Future[None]]] = []
        self._listeners: list[Listener] = []
        self._up: asyncio.Event | None = None
        self._closing = False
        self._connected_once = False
        self._marked_down = False
        self._supervisor: asyncio.Task[None] | None = None
        self._health_task: asyncio.Task[None] | None = None
        self._replaying_history = False
        self._pacing_recovery = False
        self._last_pacing_error = 0.0
        self._fills_version = 0
        self._last_health_rtt_s: float | None = None
        self._last_health_at: datetime | None = None
        self._order_id_floor = 0
        self._journal_loaded = False
        self._unjournaled: dict[str, ExecutionRecord] = {}
        self._unjournaled_fees: dict[str, tuple[str, Decimal, str]] = {}
        self._first_replay = False
        self._orders_synced = False
        self._frames = FrameGuard()
        self._background: set[asyncio.Task[None]] = set()
        self.reconnects = 0
        self.pacing_errors = 0

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
            raise self._not_connected()
        return self._ib

    @property
    def client_id(self) -> int:
        """The client id in use (leased from `client_id_range` when one is configured)."""
        return self._client_id

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
        await self._ready()
        account = self._account_for(action.account)
        contract = await self.qualify_async(action.market_id)
        self._check_ticks(
            contract.conId, {"limit_price": action.limit_price, "stop_price": action.stop_price}
        )
        order = to_ib_order(action, account=account)
        await self._bucket.acquire_async()
        ib = await self._ready()
        record = self._place_order(ib, contract, order, action=action, account=account)
        return str(record.order_id)

    def submit(self, action: OrderAction) -> str:
        """Blocking twin of `submit_async`."""
        return self._sync(self.submit_async(action), "submit")

    def _record(self, order_id: str | int) -> OrderRecord:
        try:
            key = int(order_id)
        except (TypeError, ValueError) as exc:
            raise UnknownOrder(order_id) from exc
        record = self._orders.get(key)
        if record is None:
            raise UnknownOrder(key)
        return record

    async def cancel_async(self, order_id: str) -> None:
        """Ask IB to cancel. A finished order, or one already being cancelled, is left alone
        (logged), so cancel is idempotent."""
        record = self._record(order_id)
        if self._cancel_moot(record):
            return
        ib = await self._ready()
        await self._bucket.acquire_async()
        if self._cancel_moot(record):  # it finished while we waited for the connection/token
            return
        self._send("cancelOrder", lambda ib: ib.cancelOrder(record.ib_order), ib)
        log.info("cancel sent", extra={"order_id": record.order_id, "client_id": self._client_id})

    def _cancel_moot(self, record: OrderRecord) -> bool:
        if record.status.is_terminal or record.status is OrderStatus.PENDING_CANCEL:
            log.info(
                "cancel of a finished or cancelling order ignored",
                extra={"order_id": record.order_id, "status": record.status.value},
            )
            return True
        return False

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
        """Modify an open order in place (same order id), as TWS does on a re-sent placeOrder.

        Refused (InvalidOrder, nothing sent) for an order that is finished or being cancelled,
        checked again right before sending: the order may fill while the call waits.
        """
        record = self._record(order_id)
        self._check_amendable(record, quantity)
        self._check_ticks(
            record.contract.conId, {"limit_price": limit_price, "stop_price": stop_price}
        )
        amend_order(  # every field checked now, before any wait (InvalidOrder)
            record.ib_order, quantity=quantity, limit_price=limit_price, stop_price=stop_price
        )
        ib = await self._ready()
        await self._bucket.acquire_async()
        self._check_amendable(record, quantity)  # no await from here to the send
        new = amend_order(
            record.ib_order, quantity=quantity, limit_price=limit_price, stop_price=stop_price
        )
        # the client's placeOrder, not IB.placeOrder: ib_async asserts on a modify of a trade
        # it concluded itself (e.g. marked Cancelled on a refused cancel) *after* sending it
        self._send(
            "modify",
            lambda ib: ib.client.placeOrder(  # type: ignore[no-untyped-call]
                record.order_id, record.contract, new
            ),
            ib,
        )
        record.ib_order = new
        log.info("amend sent", extra={"order_id": record.order_id, "client_id": self._client_id})

    def _check_amendable(self, record: OrderRecord, quantity: Decimal | None) -> None:
        if record.status.is_terminal:
            raise InvalidOrder("order_id", f"order {record.order_id} is {record.status.value}")
        if record.status is OrderStatus.PENDING_CANCEL:
            raise InvalidOrder(
                "order_id", f"order {record.order_id} is being cancelled (pending_cancel)"
            )
        if quantity is not None and quantity <= record.filled:
            raise InvalidOrder(
                "quantity", f"{quantity} is not above the {record.filled} already filled"
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

        goal = " or ".join(sorted(s.value for s in wanted)) or "a final status"
        await self._wait(reached, timeout, f"order {order_id} reaching {goal}")
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
        order = record.ib_order
        qty = ib_decimal(order.totalQuantity)
        stop = order.trailStopPrice if order.orderType == "TRAIL" else order.auxPrice
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
            limit_price=decimal_from_float(order.lmtPrice, lambda v: v >= UNSET_DOUBLE),
            stop_price=decimal_from_float(stop, lambda v: v >= UNSET_DOUBLE),
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

    async def orders_async(self, market_id: str | None = None) -> list[VenueOrder]:
        """Every order this venue knows in this process, finished ones too, oldest first."""
        key = canonical_market_id(market_id) if market_id is not None else None
        return [
            self._view(r)
            for r in sorted(self._orders.values(), key=lambda r: r.order_id)
            if key is None or r.market_id == key
        ]

    def orders(self, market_id: str | None = None) -> list[VenueOrder]:
        """Blocking twin of `orders_async`."""
        return self._sync(self.orders_async(market_id), "orders")

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
                p,
                market_id=self._market_id_for(p.contract),
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
        return self._fills.drain(
            time.monotonic(), self._journal_drained if self._journal is not None else None
        )

    def _journal_drained(self, fills: list[VenueFill]) -> None:
        journal = self._journal
        assert journal is not None
        journal.open()  # after close(): a last drain still records what it hands out
        journal.drained(
            fills,
            captured=list(self._unjournaled.values()),
            fees=list(self._unjournaled_fees.values()),
        )
        self._unjournaled.clear()
        self._unjournaled_fees.clear()

    def drain_fills(self) -> list[VenueFill]:
        """Blocking twin of `drain_fills_async`."""
        return self._sync(self.drain_fills_async(), "drain_fills")

    async def wait_fills_async(self, count: int, timeout: float = 10.0) -> list[VenueFill]:
        """Wait until at least `count` fills are ready, then drain them (all that are ready).

        Nothing is drained on a timeout (RequestTimeout): every fill stays where the next
        `drain_fills()` finds it. Wakes on each captured execution or commission, and when a
        held fill's grace ends.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            now = time.monotonic()
            ready = self._fills.ready(now)
            if ready >= count:
                return await self.drain_fills_async()
            left = deadline - loop.time()
            if left <= 0:
                raise RequestTimeout(f"{count} fill(s) (got {ready} ready)", timeout)
            seen = self._fills_version

            def changed(seen: int = seen) -> bool:
                return self._fills_version != seen

            grace_ends = self._fills.next_ready_in(now)
            nap = left if grace_ends is None else min(left, grace_ends + 0.001)
            with contextlib.suppress(RequestTimeout):
                await self._wait(changed, nap, "fills")

    def wait_fills(self, count: int, timeout: float = 10.0) -> list[VenueFill]:
        """Blocking twin of `wait_fills_async`."""
        return self._sync(self.wait_fills_async(count, timeout), "wait_fills", timeout + 5)

    def pending_fills(self) -> int:
        """Fills captured but not yet drained (waiting for commission or for drain_fills)."""
        return self._fills.pending()
