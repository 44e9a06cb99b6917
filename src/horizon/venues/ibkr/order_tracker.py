"""OrderTracker: every order this venue placed, from the one placement path to its final state.

`place()` is THE way an order leaves the venue (submits, ticket legs, allocations): a fresh
id above every id handed out, one placeOrder, one record. The records then follow the
gateway: ib_async's order updates, order errors, the executions the fill capture counts, and
after every (re)connect a reconciliation against the gateway's open and completed orders, so
no record is left pending that the gateway does not show. Cancel and amend check the order's
state right before they send (the order may have filled while the call waited).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Final

from ib_async import IB, Contract, Order, OrderState, Trade

from horizon.core.enums import OrderStatus, TimeInForce
from horizon.core.types import OrderAction, VenueOrder
from horizon.errors import (
    HorizonError,
    InvalidOrder,
    OrderRefused,
    UnknownOrder,
    VenueRejected,
    VenueUnavailable,
)
from horizon.venues.ibkr.changes import Changes
from horizon.venues.ibkr.connection import Connection, utc_now
from horizon.venues.ibkr.guards import PreTradeGuards, Reference
from horizon.venues.ibkr.instruments import Instruments
from horizon.venues.ibkr.journal import FillJournal
from horizon.venues.ibkr.mapping.accounts import (
    UNSET_DOUBLE,
    decimal_from_float,
    ib_decimal,
    ib_price,
)
from horizon.venues.ibkr.mapping.fills import ExecutionRecord, exec_base
from horizon.venues.ibkr.mapping.orders import (
    amend_order,
    check_combo,
    order_type_of,
    side_of,
    stop_of,
    to_ib_order,
)
from horizon.venues.ibkr.mapping.preview import Preview, preview_of
from horizon.venues.ibkr.mapping.status import ErrorKind, classify_error
from horizon.venues.ibkr.mapping.symbology import canonical_market_id, is_combo
from horizon.venues.ibkr.order_record import (
    FINISHED_UNSEEN,
    LOST_BEFORE_ACK,
    NEVER_ACKNOWLEDGED,
    REFUSED_BY_PACING,
    OrderRecord,
)

log = logging.getLogger("horizon.venues.ibkr")

# what the rules judge an order's price by: (qualified contract, market id) -> a quote, if any
ReferenceSource = Callable[[Contract, str], Awaitable[Reference | None]]

COMPLETED_ORDERS_VERSION: Final = 150  # reqCompletedOrders exists from server version 150

# errors after which the order is still live at IB (a refused cancel or modify, a warning)
_COMPACTED: Final = Order()  # the ib_order of every compacted record: finished, never sent


def _compact_slack(order_memory: int) -> int:
    """Records placed between two compactions: each sorts the records kept in full."""
    return max(8, min(256, order_memory // 4))


_ORDER_STAYS_LIVE: Final = frozenset(
    {ErrorKind.CANCEL_REJECTED, ErrorKind.AMEND_REJECTED, ErrorKind.WARNING, ErrorKind.INFO}
)


def concluded_locally(trade: Trade) -> bool:
    """True when ib_async itself wrote this status, not the gateway.

    ib_async marks a trade Cancelled for *any* non-warning error on its order id, including a
    refused cancel (161, 10147) or modify, after which the order is in fact still live (or
    filled) at IB. Such an update carries the error code in its log entry; the gateway's own
    orderStatus messages carry none. The error itself reaches `OrderTracker.on_error`.
    """
    if trade.orderStatus.status in ("Cancelled", "ApiCancelled") and trade.log:
        code = trade.log[-1].errorCode
        return bool(code) and classify_error(code) in _ORDER_STAYS_LIVE
    return False


def apply_trade(record: OrderRecord, trade: Trade) -> bool:
    """Bring a record to what ib_async's trade says; True if anything changed.

    A trade rebuilt from a completedOrder (an order that finished while we were away) carries
    its fills in `filledQuantity`, not in an orderStatus; a Filled order's filled quantity is
    its total.
    """
    order, st = trade.order, trade.orderStatus
    raw = (st.status, st.filled, st.remaining, st.avgFillPrice, order.permId or st.permId)
    if raw == record.last_raw:
        return False  # openOrder and orderStatus often repeat each other: skip the Decimal work
    record.last_raw = raw
    filled = ib_decimal(st.filled)
    remaining = ib_decimal(st.remaining)
    done_qty = float(order.filledQuantity)
    if not st.filled and done_qty and done_qty < UNSET_DOUBLE:
        filled = ib_decimal(done_qty)
        remaining = max(ib_decimal(order.totalQuantity) - filled, Decimal(0))
    if st.status == "Filled":
        filled = max(filled, ib_decimal(order.totalQuantity))
        remaining = Decimal(0)
    return record.apply_status(
        ib_status=st.status,
        filled=filled,
        remaining=remaining,
        avg_fill_price=decimal_from_float(st.avgFillPrice),
        perm_id=order.permId or st.permId,
        at=time.time(),
    )


class OrderTracker:
    """The order ledger of one venue and the only code that places, cancels or amends."""

    def __init__(
        self,
        connection: Connection,
        instruments: Instruments,
        changes: Changes,
        journal: FillJournal | None,
        *,
        guards: PreTradeGuards | None = None,
        reference: ReferenceSource | None = None,
        venue: str = "ibkr",
    ) -> None:
        self._connection = connection
        self.guards = guards
        self._reference = reference
        self._instruments = instruments
        self._changes = changes
        self._journal = journal
        self._venue = venue
        self._orders: dict[int, OrderRecord] = {}
        self._by_perm: dict[int, OrderRecord] = {}
        # what-if order ids awaiting IB's answer -> the error that refused one, if any
        self._previews: dict[int, tuple[int, str] | None] = {}
        self._id_floor = 0  # no order id below it may be handed out again
        self._full: dict[int, OrderRecord] = {}  # records not compacted (what _compact reads)
        self._compacted: deque[OrderRecord] = deque()  # oldest first: the next to forget
        self._forgotten_finals: Counter[tuple[str, str]] = Counter()  # for finals()
        self._forgotten_upto = 0  # highest order id forgotten (for UnknownOrder's message)
        memory = connection.config.order_memory
        self._compact_at = memory + _compact_slack(memory)
        self._orders_synced = False  # this session fetched open and completed orders
        self._pacing_recovery = False
        self._ack_sweep_armed = False
        self._last_pacing_error = 0.0
        self.pacing_errors = 0
        # for metrics: bounded keys only (accounts of this login, IB error codes)
        self.submitted: Counter[str] = Counter()  # account -> orders placed
        self.rejects: Counter[str] = Counter()  # IB code (or "lost", "pacing") -> rejections
        self.ack_observers: list[Callable[[float], None]] = []  # submit -> ack, seconds
        connection.add_ib_hook(self._hook)
        connection.add_error_handler(self.on_error)

    def _hook(self, ib: IB) -> None:
        ib.orderStatusEvent += self.on_trade_update

    # ------------------------------------------------------------------ lookups and views
    def record(self, order_id: str | int) -> OrderRecord:
        try:
            key = int(order_id)
        except (TypeError, ValueError) as exc:
            raise UnknownOrder(order_id) from exc
        record = self._orders.get(key)
        if record is None:
            history = self._connection.config.order_history
            forgotten = history if history is not None and key <= self._forgotten_upto else None
            raise UnknownOrder(key, forgotten=forgotten)
        return record

    def known(self, order_id: str | int) -> OrderRecord | None:
        """The record of an order id, or None (never placed, or forgotten)."""
        try:
            return self._orders.get(int(order_id))
        except (TypeError, ValueError):
            return None

    def finals(self) -> Counter[tuple[str, str]]:
        """(account, final status) -> orders: what the metrics count as orders by outcome."""
        # list(): one C-level copy, so a metrics scrape from another thread never iterates
        # the dict while the venue's loop adds an order to it
        live = Counter(
            (r.account, r.status.value) for r in list(self._orders.values()) if r.status.is_terminal
        )
        return live + self._forgotten_finals

    def count(self) -> int:
        """Orders this venue knows (placed or adopted, not forgotten)."""
        return len(self._orders)

    def records(self) -> list[OrderRecord]:
        """Every record, oldest (lowest id) first."""
        return sorted(self._orders.values(), key=lambda r: r.order_id)

    def view(self, record: OrderRecord) -> VenueOrder:
        if record.final_view is not None:
            return record.final_view
        order = record.ib_order
        qty = ib_decimal(order.totalQuantity)
        stop = stop_of(order)
        return VenueOrder(
            venue=self._venue,
            order_id=str(record.order_id),
            market_id=record.market_id,
            side=side_of(order.action),
            quantity=qty,
            # what was asked for (an opening-auction order is MKT + OPG on the wire); an
            # adopted order has only IB's fields to say it
            order_type=record.action.order_type
            if record.action is not None
            else order_type_of(order.orderType, order.tif),
            status=record.status,
            filled=record.filled,
            remaining=record.remaining if record.remaining is not None else qty - record.filled,
            avg_fill_price=record.avg_fill_price,
            limit_price=ib_price(order.lmtPrice),
            stop_price=ib_price(stop),
            tif=TimeInForce(order.tif or "DAY"),
            account=record.account,
            client_order_id=order.orderRef or None,
            reason=record.reason,
            updated_at=record.updated_at,
        )

    async def wait_for_status(
        self, order_id: str, statuses: tuple[OrderStatus, ...], timeout: float
    ) -> OrderStatus:
        record = self.record(order_id)
        wanted = set(statuses)

        def reached() -> bool:
            return record.status in wanted if wanted else record.status.is_terminal

        goal = " or ".join(sorted(s.value for s in wanted)) or "a final status"
        await self._changes.wait(reached, timeout, f"order {order_id} reaching {goal}")
        return record.status

    def _compact(self) -> None:
        """Keep the newest `order_memory` finished orders in full; compact the older ones to
        what order() reports and let ib_async forget their Trade and fills (ib_async keeps
        every one for the session: ~12 KB an order, gigabytes in a day at 10 orders/s). A
        fill still missing its commission keeps its order in full until the next round."""
        cfg = self._connection.config
        finished = sorted(
            (r for r in self._full.values() if r.status.is_terminal),
            key=lambda r: (r.updated_ts or 0.0, r.order_id),
        )
        ib = self._connection.ib
        wrapper = ib.wrapper if ib is not None else None
        for record in finished[: max(len(finished) - cfg.order_memory, 0)]:
            trade = None
            if wrapper is not None:
                key = (record.ib_order.clientId, record.order_id)
                trade = wrapper.trades.get(key) or wrapper.permId2Trade.get(record.perm_id)
                if trade is not None and any(
                    not f.commissionReport.execId for f in trade.fills
                ):  # fmt: skip
                    continue  # its fee is still to come: ib_async joins it to the Fill
            record.final_view = self.view(record)
            # what only a live record reads (its view is made now): ~0.4 KB an order kept
            record.ib_order, record.action, record.last_raw = _COMPACTED, None, None
            del self._full[record.order_id]
            if cfg.order_history is not None:  # the queue of the next to forget
                self._compacted.append(record)
            if wrapper is not None and trade is not None:
                wrapper.trades.pop(key, None)
                wrapper.permId2Trade.pop(record.perm_id, None)
                for fill in trade.fills:
                    wrapper.fills.pop(fill.execution.execId, None)
        self._forget(cfg.order_history)
        self._compact_at = len(self._full) + _compact_slack(cfg.order_memory)

    def _forget(self, history: int | None) -> None:
        """Beyond `order_history` compacted records, forget the oldest: their fills were
        handed out with their own dedup memory, and reconciliation reads only live orders,
        so what goes is order() of an order finished long ago (UnknownOrder says why)."""
        if history is None:
            return
        while len(self._compacted) > history:
            record = self._compacted.popleft()
            if self._orders.get(record.order_id) is not record:
                continue
            del self._orders[record.order_id]
            if self._by_perm.get(record.perm_id) is record:
                del self._by_perm[record.perm_id]
            self._forgotten_finals[(record.account, record.status.value)] += 1
            self._forgotten_upto = max(self._forgotten_upto, record.order_id)

    # ------------------------------------------------------------------ placing
    def _allocate_order_id(self, ib: IB) -> int:
        """The next order id: above every id this venue handed out (in this process, or with
        a journal in an earlier one), whatever the gateway's nextValidId said after a restart.
        Journaled (in blocks) before the order is sent, so a failed write sends nothing."""
        cfg = self._connection.config
        try:
            candidate = ib.client.getReqId()
        except ConnectionError as exc:
            raise VenueUnavailable(cfg.host, cfg.port, "the connection dropped") from exc
        order_id = max(candidate, self._id_floor)
        while order_id in self._orders:  # adopted orders of an earlier run, say
            order_id += 1
        if self._journal is not None:
            self._journal.reserve_order_id(order_id)
        self._id_floor = order_id + 1
        ib.client.updateReqId(order_id + 1)  # type: ignore[no-untyped-call]
        return order_id

    def allocate_ids(self, ib: IB, count: int) -> list[int]:
        """Ids for the legs of a ticket, which must name each other before they are sent."""
        return [self._allocate_order_id(ib) for _ in range(count)]

    async def place(
        self,
        contract: Contract,
        order: Order,
        *,
        action: OrderAction,
        account: str,
        remaining: Decimal | None = None,
        **log_fields: object,
    ) -> OrderRecord:
        """THE placement path (submits, ticket legs, allocations): the pre-trade rules, one
        pacing token, a fresh id above every id used, one placeOrder (a dead socket is
        VenueUnavailable, nothing sent), one record."""
        if self._connection.config.read_only:
            raise OrderRefused("read_only", "this venue is read-only (read_only=True)")
        guards, market_id = self.guards, self._instruments.market_id_for(contract)
        ref = None
        if guards is not None:
            await self._restart_gate(guards)
            if guards.guards.needs_price and self._reference is not None:
                ref = await self._reference(contract, market_id)

        def send(ib: IB) -> Trade:
            # no await from the rules to the send: the day's tally cannot race another order
            notional = None
            if guards is not None:
                notional = guards.check(
                    action, market_id=market_id, account=account, ref=ref, now=utc_now()
                )
            if not order.orderId:
                order.orderId = self._allocate_order_id(ib)
            trade = ib.placeOrder(contract, order)
            if guards is not None:
                guards.record(account, notional, utc_now())
            return trade

        trade = await self._connection.send("placeOrder", send)
        record = OrderRecord(
            order_id=trade.order.orderId,
            market_id=self._instruments.market_id_for(contract),
            action=action,
            ib_order=trade.order,
            contract=contract,
            account=account,
            remaining=action.quantity if remaining is None else remaining,
            updated_ts=time.time(),
            sent_at=time.monotonic(),
        )
        self._orders[record.order_id] = self._full[record.order_id] = record
        self.submitted[account] += 1
        self._watch_ack()
        if len(self._full) > self._compact_at:
            self._compact()
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
                    "client_id": self._connection.client_id,
                    **log_fields,
                },
            )
        return record

    def _watch_ack(self) -> None:
        """Arm the sweep for orders left unacknowledged (one timer, however many orders)."""
        timeout = self._connection.config.ack_timeout
        if timeout and not self._ack_sweep_armed:
            self._ack_sweep_armed = True
            self._connection.loop.call_later(timeout / 2, self._sweep_unacked)

    def _sweep_unacked(self) -> None:
        self._ack_sweep_armed = False
        timeout = self._connection.config.ack_timeout
        assert timeout
        now = time.monotonic()
        waiting = [
            r for r in self._orders.values() if r.sent_at is not None and not r.status.is_terminal
        ]
        late = [r for r in waiting if now - (r.sent_at or now) >= timeout]
        if late and self._connection.is_connected():
            self._connection.spawn(self._probe_unacked(late))
        if waiting:
            self._watch_ack()

    async def _probe_unacked(self, late: list[OrderRecord]) -> None:
        """The gateway answers in order: once a reqOpenOrders sent now is answered, an order
        placed before it and still unacknowledged is one the gateway does not have."""
        connection = self._connection
        ib = await connection.ready()
        await connection.bucket.acquire_async()
        try:
            await asyncio.wait_for(ib.reqOpenOrdersAsync(), connection.config.request_timeout)
        except (TimeoutError, ConnectionError):
            return  # the connection is in trouble: reconciliation after it will decide
        now = time.time()
        for record in late:
            if record.sent_at is not None and not record.status.is_terminal:
                record.sent_at = None
                record.reject(NEVER_ACKNOWLEDGED, now)
                self.rejects["unacknowledged"] += 1
                log.error(
                    "order never acknowledged; the gateway does not know it",
                    extra={"order_id": record.order_id, "client_id": connection.client_id},
                )
        self._changes.notify()

    async def _restart_gate(self, guards: PreTradeGuards) -> None:
        """Around the gateway's daily restart new orders are refused, or held until after
        it, rather than lost in flight."""
        window = guards.guards.restart_window
        if window is None or not window.contains(utc_now()):
            return
        if guards.guards.restart_window_action == "refuse":
            raise OrderRefused(
                "restart_window", f"inside the gateway's restart window {window}: not sent"
            )
        log.warning("order held until the gateway's restart window ends", extra={
            "window": str(window), "client_id": self._connection.client_id,
        })  # fmt: skip
        await asyncio.sleep(window.remaining(utc_now()))
        await self._connection.ready()

    async def submit(self, action: OrderAction) -> str:
        """Place an order; returns its IB order id (as a string) once it is on the wire."""
        await self._connection.ready()
        account = self._connection.account_for(action.account)
        check_combo(action)
        contract = await self._instruments.qualify(action.market_id)
        self._instruments.check_ticks(
            contract.conId, {"limit_price": action.limit_price, "stop_price": action.stop_price}
        )
        watched = await self._instruments.watched([action])
        order = to_ib_order(action, account=account, watched=watched)
        record = await self.place(contract, order, action=action, account=account)
        return str(record.order_id)

    async def preview(self, action: OrderAction) -> Preview:
        """IB's what-if check of `action`: the margin and commission it would cost, nothing
        placed. Its own order id (IB answers by it), so no id is ever reused; refused by IB
        -> VenueRejected with IB's code."""
        await self._connection.ready()
        account = self._connection.account_for(action.account)
        check_combo(action)
        contract = await self._instruments.qualify(action.market_id)
        self._instruments.check_ticks(
            contract.conId, {"limit_price": action.limit_price, "stop_price": action.stop_price}
        )
        watched = await self._instruments.watched([action])
        order = to_ib_order(action, account=account, watched=watched)
        order.whatIf = True
        sent: list[int] = []

        def what_if(ib: IB) -> Awaitable[OrderState | None]:
            order.orderId = self._allocate_order_id(ib)
            sent.append(order.orderId)
            self._previews[order.orderId] = None
            # ib_async's whatIfOrderAsync, but with an id from this venue's floor
            future: Awaitable[OrderState | None] = ib.wrapper.startReq(  # type: ignore[no-untyped-call]
                order.orderId, contract
            )
            ib.client.placeOrder(order.orderId, contract, order)  # type: ignore[no-untyped-call]
            return future

        market_id = self._instruments.market_id_for(contract)
        try:
            state = await self._connection.query(what_if, f"preview of {market_id}")
        finally:
            refusals = [self._previews.pop(i, None) for i in sent]
        if state is None:  # ib_async ends the request empty when IB refuses it
            refusal = next((r for r in reversed(refusals) if r is not None), None)
            code, text = refusal or (0, "the gateway refused the what-if order")
            raise VenueRejected(code, text, order_id=sent[-1] if sent else None)
        return preview_of(state, market_id=market_id, account=account)

    # ------------------------------------------------------------------ cancel / amend
    async def cancel(self, order_id: str) -> None:
        """Ask IB to cancel. A finished order, or one already being cancelled, is left alone
        (logged), so cancel is idempotent."""
        record = self.record(order_id)
        if self._cancel_moot(record):
            return

        def send(ib: IB) -> None:
            if self._cancel_moot(record):  # it finished while we waited for the token
                return
            ib.cancelOrder(record.ib_order)
            log.info(
                "cancel sent",
                extra={"order_id": record.order_id, "client_id": self._connection.client_id},
            )

        await self._connection.send("cancelOrder", send)

    def _cancel_moot(self, record: OrderRecord) -> bool:
        if record.status.is_terminal or record.status is OrderStatus.PENDING_CANCEL:
            log.info(
                "cancel of a finished or cancelling order ignored",
                extra={"order_id": record.order_id, "status": record.status.value},
            )
            return True
        return False

    async def cancel_all(self, market_id: str | None = None) -> list[str]:
        """Cancel every open order of this venue (of one market if given); returns their ids."""
        key = self._instruments_key(market_id)
        cancelled = []
        for record in list(self._orders.values()):
            if record.status.is_terminal or record.status is OrderStatus.PENDING_CANCEL:
                continue
            if key is not None and record.market_id != key:
                continue
            await self.cancel(str(record.order_id))
            cancelled.append(str(record.order_id))
        return cancelled

    async def amend(
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
        record = self.record(order_id)
        self._check_amendable(record, quantity)
        self._instruments.check_ticks(
            record.contract.conId, {"limit_price": limit_price, "stop_price": stop_price}
        )
        amend_order(  # every field checked now, before any wait (InvalidOrder)
            record.ib_order, quantity=quantity, limit_price=limit_price, stop_price=stop_price
        )

        def send(ib: IB) -> None:
            self._check_amendable(record, quantity)
            new = amend_order(
                record.ib_order, quantity=quantity, limit_price=limit_price, stop_price=stop_price
            )
            # the client's placeOrder, not IB.placeOrder: ib_async asserts on a modify of a
            # trade it concluded itself (e.g. marked Cancelled on a refused cancel) *after*
            # sending it
            ib.client.placeOrder(  # type: ignore[no-untyped-call]
                record.order_id, record.contract, new
            )
            record.ib_order = new
            log.info(
                "amend sent",
                extra={"order_id": record.order_id, "client_id": self._connection.client_id},
            )

        await self._connection.send("modify", send)

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

    @staticmethod
    def _instruments_key(market_id: str | None) -> str | None:
        return canonical_market_id(market_id) if market_id is not None else None

    def open_records(self) -> list[OrderRecord]:
        """The open orders' records, oldest first. Only finished orders are compacted, so
        they are among the records kept in full: a few thousand, not the whole day's book."""
        return sorted(
            (r for r in list(self._full.values()) if r.status.is_open), key=lambda r: r.order_id
        )

    def open_views(self, market_id: str | None = None) -> list[VenueOrder]:
        key = self._instruments_key(market_id)
        return [self.view(r) for r in self.open_records() if key is None or r.market_id == key]

    def all_views(self, market_id: str | None = None) -> list[VenueOrder]:
        key = self._instruments_key(market_id)
        return [self.view(r) for r in self.records() if key is None or r.market_id == key]

    # ------------------------------------------------------------------ gateway events
    def on_trade_update(self, trade: Trade) -> None:
        order = trade.order
        if concluded_locally(trade):
            return
        client_id = self._connection.client_id
        if order.clientId not in (client_id, 0) and client_id != 0:
            return
        record = self._orders.get(order.orderId)
        if record is None and order.permId:
            record = self._by_perm.get(order.permId)
        if record is None:
            return
        if apply_trade(record, trade):
            if record.acknowledged and record.sent_at is not None:
                took, record.sent_at = time.monotonic() - record.sent_at, None
                for observe in self.ack_observers:
                    observe(took)
            if record.perm_id:
                self._by_perm[record.perm_id] = record
            if log.isEnabledFor(logging.DEBUG):
                log.debug(
                    "order status",
                    extra={
                        "order_id": record.order_id,
                        "status": record.status.value,
                        "ib_status": trade.orderStatus.status,
                        "filled": str(record.filled),
                    },
                )
            self._changes.notify()

    def note_execution(self, rec: ExecutionRecord) -> None:
        """Count an execution on its order's record (found by order id, else perm id)."""
        client_id = self._connection.client_id
        record = self._orders.get(rec.order_id) if rec.client_id == client_id else None
        if record is None and rec.perm_id:
            record = self._by_perm.get(rec.perm_id)
        if record is None:
            return
        if is_combo(record.market_id) and not rec.market_id.startswith(("COMBO:", "BAG:")):
            # a combo leg's execution: the BAG's own execution (whose contract comes without
            # its legs, so its id may be the opaque BAG:...) counts the combo
            return
        if record.note_execution(exec_base(rec.exec_id), rec.quantity, rec.perm_id):
            if record.perm_id:
                self._by_perm[record.perm_id] = record
            self._changes.notify()

    def on_error(self, req_id: int, code: int, text: str, contract: object) -> bool:
        """IB errors of this venue's orders (and pacing, and 1101/1102); True if owned."""
        kind = classify_error(code)
        if kind is ErrorKind.PACING:
            self.pacing_errors += 1
            self._last_pacing_error = time.monotonic()
            log.error(
                "IB pacing violation (error 100): %s",
                text,
                extra={"code": code, "client_id": self._connection.client_id},
            )
            if not self._pacing_recovery:
                self._pacing_recovery = True
                self._connection.spawn(self._recover_refused())
            return True
        if kind is ErrorKind.CONNECTIVITY_RESTORED:
            self._connection.spawn(self._resync())
            return False  # others (quotes) act on it too
        record = self._orders.get(req_id)
        if record is None:
            if req_id in self._previews:
                self._previews[req_id] = (code, text)
                return True
            return False
        self._on_order_error(record, code, kind, text)
        return True

    def _on_order_error(self, record: OrderRecord, code: int, kind: ErrorKind, text: str) -> None:
        record.error_codes += (code,)
        fields = {
            "order_id": record.order_id,
            "code": code,
            "client_id": self._connection.client_id,
        }
        now = time.time()
        if record.status.is_terminal:
            # e.g. 103/104 for a modify that crossed the fill or the cancel: the gateway's
            # own final report stands; a later error never overrides it. An Inactive status
            # comes before the error that says why: that error is the rejection's reason.
            if record.status is OrderStatus.REJECTED and record.reason is None:
                record.reason = f"IB error {code}: {text}"
                self.rejects[str(code)] += 1
                log.warning("order rejected: %s", text, extra=fields)
            elif kind is ErrorKind.ORDER_CANCELLED and record.status is OrderStatus.CANCELED:
                log.info("order cancelled: %s", text, extra=fields)  # 202 confirms it
            else:
                log.warning(
                    "message for a %s order %s: %s", record.status.value, code, text, extra=fields
                )
        elif kind in (ErrorKind.ORDER_REJECTED, ErrorKind.UNKNOWN_CONTRACT) or (
            not record.acknowledged
            and kind is not ErrorKind.ORDER_CANCELLED
            and (kind not in _ORDER_STAYS_LIVE or code == 110)
        ):
            record.reject(f"IB error {code}: {text}", now)
            self.rejects[str(code)] += 1
            log.warning("order rejected: %s", text, extra=fields)
        elif kind is ErrorKind.ORDER_CANCELLED:
            record.reason = record.reason or text
            log.info("order cancelled: %s", text, extra=fields)
        elif kind in _ORDER_STAYS_LIVE:
            # the order lives on at IB whatever ib_async concluded locally
            record.reason = f"IB {code}: {text}"
            log.warning("order message %s: %s", code, text, extra=fields)
        else:
            record.reason = f"IB {code}: {text}"
            log.error("order error %s: %s", code, text, extra=fields)
        self._changes.notify()

    # ------------------------------------------------------------------ session steps
    async def sync_orders(self, ib: IB, first: bool) -> None:
        """Open orders, then the day's completed ones: what reconciliation compares with."""
        self._orders_synced = False
        if self._connection.config.read_only:
            return  # a read-only API session cannot see or place orders
        await self._connection.startup_request(ib.reqOpenOrdersAsync(), "reqOpenOrders")
        if ib.client.serverVersion() >= COMPLETED_ORDERS_VERSION:
            await self._connection.startup_request(
                ib.reqCompletedOrdersAsync(False), "reqCompletedOrders"
            )
        self._orders_synced = True

    async def apply_floor(self, ib: IB, first: bool) -> None:
        """ib_async restarts its id counter at the gateway's nextValidId, which is below the
        ids of orders that never reached it: never hand out an id twice."""
        if self._journal is not None:
            self._id_floor = max(self._id_floor, self._journal.order_id_floor)
        ib.client.updateReqId(self._id_floor)  # type: ignore[no-untyped-call]

    async def reconcile(self, ib: IB, first: bool) -> None:
        """After a (re)connect, bring every non-final order record to the gateway's truth.

        An order is found among the open orders by its order id, among the day's completed
        orders by its perm id (known from its acknowledgement or, when that was lost in the
        drop, from its executions) or by its client order id (orderRef) when that is unique.
        An order found nowhere is judged by what it left: executions covering its quantity
        make it FILLED; an order the gateway never acknowledged is REJECTED (lost before the
        gateway saw it); one it did acknowledge, and that is no longer open, finished while
        we were away (CANCELED, or FILLED if its executions say so).
        """
        self._reconcile(ib)

    def _reconcile(self, ib: IB) -> None:
        client_id = self._connection.client_id
        trades = ib.trades()
        mine = [t for t in trades if client_id in (0, t.order.clientId)]
        by_id = {t.order.orderId: t for t in mine if t.order.orderId}
        by_perm = {t.order.permId: t for t in trades if t.order.permId}
        refs: dict[str, list[Trade]] = {}
        for t in trades:
            if t.order.orderRef and not t.order.orderId:
                refs.setdefault(t.order.orderRef, []).append(t)
        now = time.time()
        for record in self._orders.values():
            if record.status.is_terminal:
                continue
            ref = record.ib_order.orderRef
            trade = (
                by_id.get(record.order_id)
                or (by_perm.get(record.perm_id) if record.perm_id else None)
                or (refs[ref][0] if ref and len(refs.get(ref, ())) == 1 else None)
            )
            if trade is not None:
                apply_trade(record, trade)
                if record.perm_id:
                    self._by_perm[record.perm_id] = record
                continue
            total = ib_decimal(record.ib_order.totalQuantity)
            if record.executions and record.executed >= total > 0:
                record.conclude("Filled", record.executed, now)
            elif not record.acknowledged and not record.executions:
                record.reject(LOST_BEFORE_ACK, now)
                self.rejects["lost"] += 1
                log.error(
                    "order lost before the gateway acknowledged it",
                    extra={"order_id": record.order_id, "client_id": client_id},
                )
            elif self._orders_synced:
                record.conclude("Cancelled", record.executed, now, reason=FINISHED_UNSEEN)
                log.warning(
                    "order finished at the gateway while disconnected",
                    extra={
                        "order_id": record.order_id,
                        "filled": str(record.filled),
                        "client_id": client_id,
                    },
                )
        self._adopt_open_orders(ib.openTrades())
        self._changes.notify()

    def _adopt_open_orders(self, trades: list[Trade]) -> None:
        """Open orders of this client id that this process did not place (a previous run of
        it, before a crash or restart): tracked too, so open_orders(), cancel() and amend()
        see them."""
        client_id = self._connection.client_id
        for trade in trades:
            order = trade.order
            mine = client_id in (0, order.clientId)
            if not mine or not order.orderId or order.orderId in self._orders:
                continue
            record = OrderRecord(
                order_id=order.orderId,
                market_id=self._instruments.market_id_for(trade.contract),
                action=None,
                ib_order=order,
                contract=trade.contract,
                account=order.account,
            )
            apply_trade(record, trade)
            self._orders[record.order_id] = self._full[record.order_id] = record
            if record.perm_id:
                self._by_perm[record.perm_id] = record
            log.info(
                "open order adopted from the gateway",
                extra={"order_id": record.order_id, "client_id": client_id},
            )

    # ------------------------------------------------------------------ recovery
    async def _recover_refused(self) -> None:
        """After error 100: find the orders the gateway dropped instead of leaving them pending.

        Error 100 names no request. The gateway answers in order, so once a reqOpenOrders sent
        *after* the refusals is answered, every earlier order it accepted has been
        acknowledged; an earlier order still unacknowledged was dropped: REJECTED. The probe
        waits for a quiet second first (else it is refused too) and is retried if it was.
        """
        connection = self._connection
        try:
            for _ in range(5):
                # a debounce: sleep until one full second has passed without a refusal
                while (quiet := time.monotonic() - self._last_pacing_error) < 1.0:  # noqa: ASYNC110
                    await asyncio.sleep(1.0 - quiet)
                suspects = [r for r in self._orders.values() if not r.acknowledged]
                ib = await connection.ready()
                await connection.bucket.acquire_async()
                try:
                    await asyncio.wait_for(ib.reqOpenOrdersAsync(), 2.0)
                except TimeoutError:
                    continue  # the probe itself was refused: wait for quiet again
                now = time.time()
                for record in suspects:
                    if not record.acknowledged and not record.status.is_terminal:
                        record.reject(REFUSED_BY_PACING, now)
                        self.rejects["100"] += 1
                        log.error(
                            "order refused by the gateway's pacing (error 100)",
                            extra={"order_id": record.order_id, "client_id": connection.client_id},
                        )
                self._changes.notify()
                return
            log.warning("could not confirm orders after error 100", extra={"attempts": 5})
        except (HorizonError, ConnectionError) as exc:
            log.warning("recovery after error 100 failed", extra={"error": str(exc)})
        finally:
            self._pacing_recovery = False

    async def _resync(self) -> None:
        """After 1101/1102: re-request open orders and executions on the live socket."""
        connection = self._connection
        timeout = connection.config.request_timeout
        try:
            ib = await connection.ready()
            await connection.bucket.acquire_async()
            await asyncio.wait_for(ib.reqOpenOrdersAsync(), timeout)
            await connection.bucket.acquire_async()
            await asyncio.wait_for(ib.reqExecutionsAsync(), timeout)
            self._reconcile(ib)
        except (HorizonError, TimeoutError, ConnectionError) as exc:
            log.warning("resync after connectivity restore failed", extra={"error": str(exc)})
