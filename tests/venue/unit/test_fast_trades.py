"""place_order, cancel_order and order_status have exactly the effects of ib_async's
IB.placeOrder, IB.cancelOrder and Wrapper.orderStatus, for any placements, cancels and
messages; a HorizonTrade reads as ib_async's Trade."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from ib_async import IB, LimitOrder, OrderStatus, Stock, Trade, TradeLogEntry
from ib_async.wrapper import Wrapper

from horizon.venues.ibkr.fast_trades import STATUS_FIELDS, HorizonTrade, install

_STATUSES = ["PreSubmitted", "Submitted", "Filled", "Cancelled"]
_NAN = float("nan")  # one object: a status holding it again is unchanged (a dict's identity test)
_NUMBERS = st.sampled_from([0.0, 1.0, _NAN]) | st.builds(float, st.just("nan"))
_MESSAGE = st.tuples(
    st.sampled_from([0, 1, 2, 3, 7]),  # orderId: 0 is a manual order, keyed by permId; 7 unknown
    st.sampled_from(_STATUSES),
    _NUMBERS,  # filled
    _NUMBERS,  # remaining
    _NUMBERS,  # avgFillPrice
    st.sampled_from([0, 99]),  # permId
    st.sampled_from([0, 1]),  # parentId
    _NUMBERS,  # lastFillPrice
    st.sampled_from([1, 2]),  # clientId
    st.sampled_from(["", "locate"]),  # whyHeld
    _NUMBERS,  # mktCapPrice
)
_KEYS: list[Any] = [(1, 1), (1, 2), (2, 3), 99]
_WHEN = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[tuple[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append((record.levelname, record.getMessage()))


@contextlib.contextmanager
def _captured(name: str, info: bool) -> Iterator[_Records]:
    """The lines of logger `name`, at INFO or at WARNING, kept from its parents meanwhile."""
    logger = logging.getLogger(name)
    records, level, propagate = _Records(), logger.level, logger.propagate
    logger.addHandler(records)
    logger.setLevel(logging.INFO if info else logging.WARNING)
    logger.propagate = False
    try:
        yield records
    finally:
        logger.removeHandler(records)
        logger.setLevel(level)
        logger.propagate = propagate


def _side(
    initial: list[tuple[Any, ...]], modified: list[bool], fast: bool
) -> tuple[IB, list[tuple[str, Any, str]]]:
    """An IB whose wrapper holds the same four trades, and the events it emits as a list."""
    ib = IB()
    if fast:
        install(ib)
    ib.wrapper.lastTime = _WHEN
    events: list[tuple[str, Any, str]] = []
    ib.orderStatusEvent += lambda t: events.append(("ib.orderStatus", t.order.orderId, ""))
    for key, start, was_modified in zip(_KEYS, initial, modified, strict=True):
        status = OrderStatus(*_keyed(key, start))
        trade = Trade(Stock("AAPL", "SMART", "USD"), LimitOrder("BUY", 1, 10.0), status)
        trade.order.orderId = status.orderId
        if was_modified:
            trade.log.append(TradeLogEntry(_WHEN, "Submitted", "Modify"))
        for name in ("statusEvent", "filledEvent", "cancelledEvent"):
            getattr(trade, name).connect(
                lambda t, name=name: events.append((name, t.order.orderId, t.orderStatus.status))
            )
        ib.wrapper.trades[key] = trade
    return ib, events


def _keyed(key: Any, message: tuple[Any, ...]) -> tuple[Any, ...]:
    """The message with the ids that find the trade under `key`."""
    fields = list(message)
    if key == 99:
        fields[0], fields[5] = 0, 99
    else:
        fields[8], fields[0] = key
    return tuple(fields)


def _state(ib: IB) -> list[Any]:
    return [
        (vars(t.orderStatus), [(e.time, e.status, e.message, e.errorCode) for e in t.log])
        for t in ib.wrapper.trades.values()
    ]


def _same(a: Any, b: Any) -> bool:
    """Equal, NaN equal to NaN (the two sides hold the same values, not the same objects)."""
    return repr(a) == repr(b)


@given(
    # a message, or (an index) the status a trade started with sent again: a modification's ack
    st.lists(st.tuples(_MESSAGE | st.integers(0, 3), st.integers(1, 3)), max_size=8),
    st.lists(_MESSAGE, min_size=4, max_size=4),
    st.lists(st.booleans(), min_size=4, max_size=4),
    st.booleans(),
)
def test_the_effects_are_ib_asyncs(
    drawn: list[tuple[tuple[Any, ...] | int, int]],
    initial: list[tuple[Any, ...]],
    modified: list[bool],
    info: bool,
) -> None:
    """Messages (each sent one to three times over) to trades whose statuses start as drawn,
    some with a modification pending: states, log entries, events and log lines all agree."""
    messages = [
        _keyed(_KEYS[message], initial[message]) if isinstance(message, int) else message
        for message, times in drawn
        for _ in range(times)
    ]
    with _captured("ib_async.wrapper", info) as records:
        theirs, their_events = _side(initial, modified, fast=False)
        for message in messages:
            theirs.wrapper.orderStatus(*message)
        their_lines, records.lines = records.lines, []
        ours, our_events = _side(initial, modified, fast=True)
        for message in messages:
            ours.wrapper.orderStatus(*message)
        our_lines = records.lines
    assert _same(_state(ours), _state(theirs))
    assert our_events == their_events
    assert _same(our_lines, their_lines)
    assert {type(v) for s, _ in _state(ours) for v in s.values()} <= {int, float, str}


def test_installed_on_one_ib_only() -> None:
    mine, other = IB(), IB()
    install(mine)
    assert mine.wrapper.orderStatus.__func__ is not Wrapper.orderStatus  # type: ignore[attr-defined]
    assert mine.placeOrder.__func__ is not IB.placeOrder  # type: ignore[attr-defined]
    assert other.wrapper.orderStatus.__func__ is Wrapper.orderStatus  # type: ignore[attr-defined]
    assert other.placeOrder.__func__ is IB.placeOrder  # type: ignore[attr-defined]
    assert mine.cancelOrder.__func__ is not IB.cancelOrder  # type: ignore[attr-defined]
    assert other.cancelOrder.__func__ is IB.cancelOrder  # type: ignore[attr-defined]


def test_the_fields_are_ib_asyncs() -> None:
    """Every OrderStatus field but its key is one orderStatus updates, in the class's order."""
    names = [f.name for f in dataclasses.fields(OrderStatus) if f.name != "orderId"]
    assert tuple(names) == STATUS_FIELDS


# ---- placeOrder -----------------------------------------------------------------------------
# a step: place a new order (its orderId 0: the next request id; or one the caller chose), or
# place again the order of an earlier step (a modification), its trade first set to `status`
_NEW = st.tuples(st.just("new"), st.sampled_from([0, 0, 5, 6]))
_AGAIN = st.tuples(st.just("again"), st.integers(0, 7), st.sampled_from(["Submitted", "Filled"]))
# or cancel the order of an earlier step (or, its index past them, an order never placed), its
# trade first set to `status` and the order's transmit flag to `transmit`
_CANCEL = st.tuples(
    st.just("cancel"),
    st.integers(0, 3),
    st.sampled_from(["PendingSubmit", "Inactive", "Submitted", "Filled", "Cancelled"]),
    st.booleans(),
)
_TIME = re.compile(r"datetime\.datetime\([^)]*\)")


def _placing(steps: list[tuple[Any, ...]], fast: bool) -> list[Any]:
    """Every observable effect of the steps on one IB, times aside (each side has its own)."""
    ib = IB()
    if fast:
        install(ib)
    ib.client.isReady = lambda: True  # type: ignore[method-assign]
    ib.client.updateReqId(100)
    ib.wrapper.clientId = 3
    sent: list[tuple[Any, ...]] = []
    ib.client.placeOrder = lambda oid, contract, order: sent.append(  # type: ignore[method-assign]
        (oid, contract.symbol, order.orderId, order.lmtPrice)
    )
    ib.client.cancelOrder = lambda oid, when: sent.append(("cancel", oid, when))  # type: ignore[method-assign]
    effects: list[Any] = []
    ib.newOrderEvent += lambda t: effects.append(("new", t.order.orderId))
    ib.orderModifyEvent += lambda t: effects.append(("modify", t.order.orderId))
    ib.cancelOrderEvent += lambda t: effects.append(("cancel", t.order.orderId))
    ib.orderStatusEvent += lambda t: effects.append(("status", t.orderStatus.status))
    placed: list[Trade] = []
    for step in steps:
        if step[0] == "cancel":
            if step[1] < len(placed):
                placed[step[1]].orderStatus.status = step[2]
                order = placed[step[1]].order
            else:
                order = LimitOrder("SELL", 1, 1.0)
                order.orderId = 77
            order.transmit = step[3]
            cancelled = ib.cancelOrder(order)
            effects.append(("cancelled", None if cancelled is None else cancelled.order.orderId))
            continue
        if step[0] == "new":
            order = LimitOrder("BUY", 1, 10.0 + len(placed))
            order.orderId = step[1]
        elif placed:
            trade = placed[step[1] % len(placed)]
            trade.orderStatus.status = step[2]
            order = trade.order
        else:
            continue
        try:
            trade = ib.placeOrder(Stock("AAPL", "SMART", "USD"), order)
        except AssertionError:
            effects.append(("refused", order.orderId))
            continue
        if trade not in placed:
            for name in ("modifyEvent", "cancelEvent", "cancelledEvent", "statusEvent"):
                getattr(trade, name).connect(
                    lambda t, name=name: effects.append((name, t.order.orderId))
                )
            placed.append(trade)
    state = [
        (key, trade.order.orderId, trade.order.clientId, vars(trade.orderStatus),
         [(e.status, e.message, e.time.tzinfo) for e in trade.log])
        for key, trade in ib.wrapper.trades.items()
    ]  # fmt: skip
    return [sent, effects, state, [trade in placed for trade in ib.wrapper.trades.values()]]


@given(st.lists(_NEW | _AGAIN | _CANCEL, max_size=10), st.booleans())
# each way a cancel goes: to PendingCancel, to Cancelled (an order never transmitted), nowhere
# (a done order: ib_async counts Inactive as done, so its Inactive -> Cancelled is never
# reached), and an error (an order never placed)
@example([("new", 0), ("cancel", 0, "PendingSubmit", True)], False)
@example([("new", 0), ("cancel", 0, "PendingSubmit", False)], True)
@example([("new", 0), ("cancel", 0, "Inactive", True), ("cancel", 5, "Filled", True)], True)
def test_placements_are_ib_asyncs(steps: list[tuple[Any, ...]], info: bool) -> None:
    """New orders, orders with ids of their own, modifications, a modification of a done order
    (ib_async's assertion), cancels of orders in every state and of one never placed: what is
    sent, kept, emitted, refused and logged all agree."""
    with _captured("ib_async.ib", info) as records:
        theirs = _placing(steps, fast=False)
        their_lines, records.lines = records.lines, []
        ours = _placing(steps, fast=True)
        our_lines = records.lines
    assert ours == theirs
    assert [(lv, _TIME.sub("T", m)) for lv, m in our_lines] == [
        (lv, _TIME.sub("T", m)) for lv, m in their_lines
    ]
    if info and steps and steps[0][0] == "new":
        assert their_lines  # the comparison above compared something


# ---- HorizonTrade ---------------------------------------------------------------------------


def _pair() -> tuple[Trade, Trade]:
    def fields() -> tuple[Any, ...]:
        status = OrderStatus(orderId=4, status="Submitted", filled=1.0)
        log = [TradeLogEntry(_WHEN, "PendingSubmit"), TradeLogEntry(_WHEN, "Submitted", "")]
        return Stock("AAPL", "SMART", "USD"), LimitOrder("BUY", 2, 10.5), status, [], log

    return Trade(*fields()), HorizonTrade(*fields())


@pytest.mark.parametrize("name", Trade.events)
def test_an_event_made_on_first_use_behaves_as_a_trades(name: str) -> None:
    """Emitted before anyone listens, then listened to: the same value, calls and name."""
    seen = []
    for trade in _pair():
        calls: list[tuple[Any, ...]] = []
        getattr(trade, name).emit(trade.order.orderId, "first")
        first = getattr(trade, name).value()
        getattr(trade, name).connect(lambda *args, calls=calls: calls.append(args))
        getattr(trade, name).emit(trade.order.orderId, "second")
        seen.append((first, getattr(trade, name).value(), calls, getattr(trade, name).name()))
    assert seen[0] == seen[1]
    assert seen[1][2] == [(0, "second")]


def test_a_horizon_trade_is_a_trade_to_its_readers() -> None:
    theirs, ours = _pair()
    assert isinstance(ours, Trade)
    assert repr(ours) == repr(theirs) and str(ours) == str(theirs)
    assert ours.isActive() == theirs.isActive() and ours.filled() == theirs.filled()
    assert not set(Trade.events) & vars(ours).keys()  # none made until used
    assert ours.statusEvent is ours.statusEvent  # made once
    assert set(vars(ours)) == set(vars(theirs)) - set(Trade.events) | {"statusEvent"}
    with pytest.raises(AttributeError, match="'Trade' object has no attribute 'nonsense'"):
        _ = ours.nonsense  # type: ignore[attr-defined]
    with pytest.raises(AttributeError, match="'Trade' object has no attribute 'nonsense'"):
        _ = theirs.nonsense  # type: ignore[attr-defined]
    assert copy.copy(ours).statusEvent is ours.statusEvent  # a shallow copy shares, as Trade's


def test_placements_make_horizon_trades() -> None:
    """The venue's own placements hold the lighter Trade; ib_async's IB keeps its own."""
    trades = []
    for fast in (True, False):
        ib = IB()
        if fast:
            install(ib)
        ib.client.isReady = lambda: True  # type: ignore[method-assign]
        ib.client.placeOrder = lambda *args: None  # type: ignore[method-assign]
        trades.append(ib.placeOrder(Stock("AAPL", "SMART", "USD"), LimitOrder("BUY", 1, 1.0)))
    assert type(trades[0]) is HorizonTrade and type(trades[1]) is Trade


def _emits(fast: bool, statuses: list[str], cancel: bool) -> list[Any]:
    """One trade on one IB: orderStatus messages (and a cancel), nobody listening; then each
    event's value, and what listeners connected afterwards see of one message more."""
    ib = IB()
    if fast:
        install(ib)
    ib.client.cancelOrder = lambda *args: None  # type: ignore[method-assign]
    made = HorizonTrade if fast else Trade
    order = LimitOrder("BUY", 2, 10.5)
    order.orderId, order.clientId = 1, 1
    status = OrderStatus(orderId=1, status="PendingSubmit")
    trade = made(Stock("AAPL", "SMART", "USD"), order, status)
    ib.wrapper.trades[(1, 1)] = trade
    for status in statuses:
        ib.wrapper.orderStatus(1, status, 0.0, 2.0, 0.0, 9, 0, 0.0, 1, "", 0.0)
    if cancel:
        ib.cancelOrder(order)
    unmade = [name for name in Trade.events if name not in vars(trade)]
    values = []
    for name in Trade.events:
        value = getattr(trade, name).value()
        values.append("the trade" if value is trade else value)
    calls: list[tuple[str, bool]] = []
    for name in Trade.events:
        getattr(trade, name).connect(lambda t, name=name: calls.append((name, t is trade)))
    ib.wrapper.orderStatus(1, "Cancelled", 0.0, 2.0, 0.0, 9, 0, 0.0, 1, "", 0.0)
    return [unmade, values, calls]


@pytest.mark.parametrize(
    ("statuses", "cancel"),
    [([], False), (["Submitted"], False), (["PreSubmitted", "Submitted"], True),
     (["Submitted", "Filled"], False), (["Submitted"], True)],
)  # fmt: skip
def test_an_event_emitted_before_it_is_made_holds_what_a_trades_holds(
    statuses: list[str], cancel: bool
) -> None:
    """The status a resting order gets makes none of its events; each, made later, holds
    the value a Trade's holds, and its listeners see what a Trade's see."""
    ours, theirs = _emits(True, statuses, cancel), _emits(False, statuses, cancel)
    assert ours[1:] == theirs[1:]
    assert ours[0] == list(Trade.events) and theirs[0] == []  # made on first use only
    if statuses:
        assert ours[1][Trade.events.index("statusEvent")] == "the trade"
