"""The venue's shared state and the blocking-call bridge, split out of `venue.py`.

`Ibkr` is assembled from three layers that share this state: gateway events and
reconciliation (`ingest.py`), the connection session (`session.py`) and the public API
(`venue.py`). Each layer's methods are in its own module; the state they share is declared
here once, so every layer type-checks on its own.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from ib_async import IB, Contract, Order

from horizon.core.ratelimit import TokenBucket
from horizon.core.sync import LoopThread, run_sync
from horizon.core.types import OrderAction
from horizon.errors import VenueUnavailable
from horizon.venues.ibkr.config import IbkrConfig
from horizon.venues.ibkr.frameguard import FrameGuard
from horizon.venues.ibkr.mapping.accounts import decimal_from_float
from horizon.venues.ibkr.mapping.fills import ExecutionRecord, FillBook
from horizon.venues.ibkr.mapping.orders import check_tick
from horizon.venues.ibkr.mapping.symbology import canonical_market_id
from horizon.venues.ibkr.order_record import OrderRecord
from horizon.venues.ibkr.resilience import ConnectionEvent

if TYPE_CHECKING:
    from horizon.venues.ibkr.journal import FillJournal

log = logging.getLogger("horizon.venues.ibkr")

T = TypeVar("T")
Listener = Callable[[ConnectionEvent], None]

UNSET_DOUBLE = 1.7976931348623157e308


async def _logged(coro: Coroutine[Any, Any, None]) -> None:
    try:
        await coro
    except asyncio.CancelledError:
        raise
    except Exception:
        name = getattr(coro, "__qualname__", "?")
        log.exception("venue background task failed", extra={"task": name})


def utc_now() -> datetime:
    return datetime.now(UTC)


def ib_decimal(value: float) -> Decimal:
    """Decimal of an ib_async float; IB's UNSET (max double) and NaN read as 0."""
    return decimal_from_float(value, lambda v: v >= UNSET_DOUBLE) or Decimal(0)


class VenueState:
    """Attributes every layer of `Ibkr` reads and writes (set in `Ibkr.__init__`)."""

    name: ClassVar[str] = "ibkr"
    _config: IbkrConfig
    _bucket: TokenBucket
    _fills: FillBook
    _journal: FillJournal | None
    _runner: LoopThread
    _loop: asyncio.AbstractEventLoop | None
    _ib: IB | None
    _client_id: int
    _accounts: list[str]
    _default_account: str | None
    _contracts: dict[str, Contract]
    _min_ticks: dict[int, Decimal]
    _market_ids: dict[int, str]
    _orders: dict[int, OrderRecord]
    _by_perm: dict[int, OrderRecord]
    _waiters: list[tuple[Callable[[], bool], asyncio.Future[None]]]
    _listeners: list[Listener]
    _up: asyncio.Event | None
    _closing: bool
    _connected_once: bool
    _marked_down: bool
    _supervisor: asyncio.Task[None] | None
    _health_task: asyncio.Task[None] | None
    _replaying_history: bool
    _pacing_recovery: bool
    _last_pacing_error: float
    _fills_version: int
    _order_id_floor: int
    _journal_loaded: bool
    _unjournaled: dict[str, ExecutionRecord]
    _unjournaled_fees: dict[str, tuple[str, Decimal, str]]
    _first_replay: bool
    _orders_synced: bool
    _frames: FrameGuard
    _background: set[asyncio.Task[None]]
    _last_health_rtt_s: float | None
    _last_health_at: datetime | None
    reconnects: int
    pacing_errors: int

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The event loop the venue's I/O runs on."""
        return self._loop or self._runner.loop

    def _sync(self, coro: Awaitable[T], what: str, timeout: float | None = None) -> T:
        return run_sync(
            coro,  # type: ignore[arg-type]
            loop=self.loop,
            timeout=timeout if timeout is not None else self._config.request_timeout + 5,
            what=what,
        )

    def _check_ticks(self, con_id: int, prices: Mapping[str, Decimal | None]) -> None:
        """Refuse prices off the contract's tick grid before sending (IB would answer 110)."""
        tick = self._min_ticks.get(con_id)
        if not tick:
            return
        for field, price in prices.items():
            if price is not None:
                check_tick(price, tick, field)

    def _spawn_background(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run `coro` on the venue's loop until it ends or the venue closes (cancelled then);
        what it raises is logged, never lost in a forgotten task."""
        loop = self._loop
        if loop is None or loop.is_closed():
            coro.close()
            return
        task = loop.create_task(_logged(coro))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _allocate_order_id(self, ib: IB) -> int:
        """The next order id: above every id this venue handed out (in this process, or with
        a journal in an earlier one), whatever the gateway's nextValidId said after a restart.
        Journaled (in blocks) before the order is sent, so a failed write sends nothing."""
        cfg = self._config
        try:
            candidate = ib.client.getReqId()
        except ConnectionError as exc:
            raise VenueUnavailable(cfg.host, cfg.port, "the connection dropped") from exc
        order_id = max(candidate, self._order_id_floor)
        while order_id in self._orders:  # adopted orders of an earlier run, say
            order_id += 1
        if self._journal is not None:
            self._journal.reserve_order_id(order_id)
        self._order_id_floor = order_id + 1
        ib.client.updateReqId(order_id + 1)  # type: ignore[no-untyped-call]
        return order_id

    def _place_order(
        self,
        ib: IB,
        contract: Contract,
        order: Order,
        *,
        action: OrderAction,
        account: str,
        remaining: Decimal | None = None,
        **log_fields: object,
    ) -> OrderRecord:
        """THE placement path (submits, ticket legs, allocations): a fresh id above every id
        used, one placeOrder (a dead socket is VenueUnavailable, nothing sent), one record.
        Synchronous: the caller took its pacing token and the connected IB just before."""
        if not order.orderId:
            order.orderId = self._allocate_order_id(ib)
        trade = self._send("placeOrder", lambda ib: ib.placeOrder(contract, order), ib)
        record = OrderRecord(
            order_id=trade.order.orderId,
            market_id=self._market_ids.get(contract.conId) or canonical_market_id(action.market_id),
            action=action,
            ib_order=trade.order,
            contract=contract,
            account=account,
            remaining=action.quantity if remaining is None else remaining,
            updated_at=utc_now(),
        )
        self._orders[record.order_id] = record
        if log.isEnabledFor(logging.INFO):
            log.info(
                "order submitted",
                extra={
                    "order_id": record.order_id,
                    "market_id": record.market_id,
                    "side": action.side.value,
                    "quantity": str(action.quantity),
                    "order_type": action.order_type.value,
                    "account": account,
                    "client_id": self._client_id,
                    **log_fields,
                },
            )
        return record

    def _send(self, what: str, send: Callable[[IB], T], ib: IB) -> T:
        raise NotImplementedError

    async def _ready(self) -> IB:
        """The connected IB (the session layer implements the waiting)."""
        raise NotImplementedError
