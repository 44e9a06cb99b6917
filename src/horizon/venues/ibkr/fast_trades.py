"""ib_async's `IB.placeOrder`, `IB.cancelOrder` and `Wrapper.orderStatus`, the same effects
without formatting log lines nobody reads.

Each builds an f-string of the whole Trade before the logger decides to drop it: on every
placement (``f"placeOrder: New order {trade}"``, ~40 us of its ~145), every cancel, and every
orderStatus, two or three an order (~60% of the method's cost even with the venue's cheaper
Order and Contract reprs; `dataclassAsDict` of the status another ~10%). `place_order`,
`cancel_order` and `order_status` do what ib_async's do, step for step, and make the same text
for a logger that will emit it. Installed on the venue's own IB only.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable
from types import MethodType
from typing import Any, Final

from eventkit import Event
from ib_async import IB, Contract, Order, OrderStatus, Trade, TradeLogEntry
from ib_async.wrapper import Wrapper

# the fields orderStatus updates, in ib_async's order (orderId is the key, never updated)
STATUS_FIELDS: Final = (
    "status", "filled", "remaining", "avgFillPrice", "permId", "parentId", "lastFillPrice",
    "clientId", "whyHeld", "mktCapPrice",
)  # fmt: skip


def order_status(
    self: Wrapper,
    # ib_async's parameter names, so a call by keyword reads the same
    orderId: int,
    status: str,
    filled: float,
    remaining: float,
    avgFillPrice: float,
    permId: int,
    parentId: int,
    lastFillPrice: float,
    clientId: int,
    whyHeld: str,
    mktCapPrice: float = 0.0,
) -> None:
    """`Wrapper.orderStatus`, term for term but the two costs above."""
    trade = self.trades.get(self.orderKey(clientId, orderId, permId))
    if not trade:
        self._logger.error(
            "orderStatus: No order found for orderId %s and clientId %s", orderId, clientId
        )
        return
    current = trade.orderStatus
    old_status = current.status
    new = (
        status, filled, remaining, avgFillPrice, permId, parentId, lastFillPrice, clientId,
        whyHeld, mktCapPrice,
    )  # fmt: skip
    # ib_async's `curr != {**curr, **new}`: a dict compares its values by identity, then ==
    values: dict[str, Any] = current.__dict__
    changed = False
    for name, value in zip(STATUS_FIELDS, new, strict=True):
        held = values[name] if name in values else getattr(current, name)
        if not (held is value or held == value):
            changed = True
            break
    msg: str | None
    if changed:
        values.update(zip(STATUS_FIELDS, new, strict=True))
        msg = ""
    elif status == "Submitted" and trade.log and trade.log[-1].message == "Modify":
        msg = "Modified"  # order modifications are acknowledged
    else:
        return
    trade.log.append(TradeLogEntry(self.lastTime, status, msg))
    logger = self._logger
    if logger.isEnabledFor(logging.INFO):
        logger.info(f"orderStatus: {trade}")
    self.ib.orderStatusEvent.emit(trade)
    emit_trade(trade, "statusEvent")
    if status != old_status:
        if status == OrderStatus.Filled:
            emit_trade(trade, "filledEvent")
        elif status == OrderStatus.Cancelled:
            emit_trade(trade, "cancelledEvent")


class HorizonTrade(Trade):
    """An ib_async Trade whose seven events are made when first used, not all in __init__.

    ib_async's Trade makes seven eventkit Events, each with two sub-events and their slot
    lists: ~63 of the ~81 objects a resting order holds, ~25 us to make, and walked by every
    full garbage collection for as long as the order rests (32 clients' open orders made those
    pauses the largest part of their ack p99). An event is made on its first access. This
    module's own emits of the trade on an event nobody has accessed yet (`emit_trade`: a
    resting order's statusEvent, twice) only note the event's name; when it is made, it is
    emitted the trade once, before anyone can listen, so its ``value()`` is what a Trade's
    holds and a listener sees the emits after it connected, as on a Trade. Its repr and str
    are Trade's, name and all; the slot keeps the noted names out of ``vars()``.
    """

    __qualname__ = "Trade"
    __slots__ = ("_emitted",)
    _emitted: tuple[str, ...]  # events emitted the trade before they were made

    def __post_init__(self) -> None:
        self._emitted = ()  # the events: see __getattr__

    def __getattr__(self, name: str) -> Event:
        if name not in Trade.events:
            raise AttributeError(f"'Trade' object has no attribute {name!r}")
        event = self.__dict__[name] = Event(name)
        if name in self._emitted:
            event.emit(self)  # no listener yet: only its value is set
        return event

    def note_emitted(self, name: str) -> None:
        """Event `name`, not made yet, has been emitted this trade (see `emit_trade`)."""
        if name not in self._emitted:
            self._emitted += (name,)


def emit_trade(trade: Trade, name: str) -> None:
    """``getattr(trade, name).emit(trade)``: how ib_async emits a trade on its own events. On a
    HorizonTrade whose event is not made yet, only noted: nobody can be listening to it."""
    event = trade.__dict__.get(name)
    if event is not None:
        event.emit(trade)
    elif type(trade) is HorizonTrade:
        trade.note_emitted(name)
    else:
        getattr(trade, name).emit(trade)


def place_order(self: IB, contract: Contract, order: Order) -> Trade:
    """`IB.placeOrder`, term for term but the log line's text."""
    client, wrapper, logger = self.client, self.wrapper, self._logger
    orderId = order.orderId or client.getReqId()  # ib_async's names, to read side by side
    client.placeOrder(orderId, contract, order)  # type: ignore[no-untyped-call]
    now = datetime.datetime.now(wrapper.defaultTimezone)
    key = wrapper.orderKey(wrapper.clientId, orderId, order.permId)
    trade = wrapper.trades.get(key)
    if trade:
        # this is a modification of an existing order
        assert trade.orderStatus.status not in OrderStatus.DoneStates  # ib_async's own refusal
        trade.log.append(TradeLogEntry(now, trade.orderStatus.status, "Modify"))
        if logger.isEnabledFor(logging.INFO):
            logger.info(f"placeOrder: Modify order {trade}")
        emit_trade(trade, "modifyEvent")
        self.orderModifyEvent.emit(trade)
    else:
        # this is a new order
        order.clientId = wrapper.clientId
        order.orderId = orderId
        orderStatus = OrderStatus(orderId=orderId, status=OrderStatus.PendingSubmit)
        log = [TradeLogEntry(now, orderStatus.status)]
        trade = HorizonTrade(contract, order, orderStatus, [], log)
        wrapper.trades[key] = trade
        if logger.isEnabledFor(logging.INFO):
            logger.info(f"placeOrder: New order {trade}")
        self.newOrderEvent.emit(trade)
    return trade


def cancel_order(self: IB, order: Order, manualCancelOrderTime: str = "") -> Trade | None:
    """`IB.cancelOrder`, term for term but the log line's text."""
    wrapper, logger = self.wrapper, self._logger
    self.client.cancelOrder(order.orderId, manualCancelOrderTime)  # type: ignore[no-untyped-call]
    now = datetime.datetime.now(wrapper.defaultTimezone)
    trade = wrapper.trades.get(wrapper.orderKey(order.clientId, order.orderId, order.permId))
    if trade:
        if not trade.isDone():
            status = trade.orderStatus.status
            never_sent = status == OrderStatus.PendingSubmit and not order.transmit
            if never_sent or status == OrderStatus.Inactive:
                new_status = OrderStatus.Cancelled
            else:
                new_status = OrderStatus.PendingCancel
            trade.log.append(TradeLogEntry(now, new_status))
            trade.orderStatus.status = new_status
            if logger.isEnabledFor(logging.INFO):
                logger.info(f"cancelOrder: {trade}")
            emit_trade(trade, "cancelEvent")
            emit_trade(trade, "statusEvent")
            self.cancelOrderEvent.emit(trade)
            self.orderStatusEvent.emit(trade)
            if new_status == OrderStatus.Cancelled:
                emit_trade(trade, "cancelledEvent")
    else:
        logger.error(f"cancelOrder: Unknown orderId {order.orderId}")
    return trade


def install(ib: IB) -> None:
    """Use `place_order` and `cancel_order` for this IB's placeOrder and cancelOrder, and
    `order_status` for its wrapper's orderStatus messages (ib_async's decoder looks the method
    up by name on every message); other IBs keep ib_async's."""
    place: Callable[[Contract, Order], Trade] = MethodType(place_order, ib)
    ib.placeOrder = place  # type: ignore[method-assign,assignment]
    cancel: Callable[..., Trade | None] = MethodType(cancel_order, ib)
    ib.cancelOrder = cancel  # type: ignore[method-assign]
    status: Callable[..., None] = MethodType(order_status, ib.wrapper)
    ib.wrapper.orderStatus = status  # type: ignore[method-assign]
