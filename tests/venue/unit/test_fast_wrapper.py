"""order_status has exactly the effects of ib_async's Wrapper.orderStatus, for any messages."""

from __future__ import annotations

import dataclasses
import logging
from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from ib_async import IB, LimitOrder, OrderStatus, Stock, Trade, TradeLogEntry
from ib_async.wrapper import Wrapper

from horizon.venues.ibkr.fast_wrapper import STATUS_FIELDS, install

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


def _side(
    initial: list[tuple[Any, ...]], modified: list[bool], fast: bool
) -> tuple[IB, list[tuple[str, Any, str]]]:
    """An IB whose wrapper holds the same four trades, and the events it emits as a list."""
    ib = IB()
    if fast:
        install(ib.wrapper)
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
    logger = logging.getLogger("ib_async.wrapper")
    records, level, propagate = _Records(), logger.level, logger.propagate
    logger.addHandler(records)
    logger.setLevel(logging.INFO if info else logging.WARNING)
    logger.propagate = False
    try:
        theirs, their_events = _side(initial, modified, fast=False)
        for message in messages:
            theirs.wrapper.orderStatus(*message)
        their_lines, records.lines = records.lines, []
        ours, our_events = _side(initial, modified, fast=True)
        for message in messages:
            ours.wrapper.orderStatus(*message)
        our_lines = records.lines
    finally:
        logger.removeHandler(records)
        logger.setLevel(level)
        logger.propagate = propagate
    assert _same(_state(ours), _state(theirs))
    assert our_events == their_events
    assert _same(our_lines, their_lines)
    assert {type(v) for s, _ in _state(ours) for v in s.values()} <= {int, float, str}


def test_installed_on_one_wrapper_only() -> None:
    mine, other = IB(), IB()
    install(mine.wrapper)
    assert mine.wrapper.orderStatus.__func__ is not Wrapper.orderStatus  # type: ignore[attr-defined]
    assert other.wrapper.orderStatus.__func__ is Wrapper.orderStatus  # type: ignore[attr-defined]


def test_the_fields_are_ib_asyncs() -> None:
    """Every OrderStatus field but its key is one orderStatus updates, in the class's order."""
    names = [f.name for f in dataclasses.fields(OrderStatus) if f.name != "orderId"]
    assert tuple(names) == STATUS_FIELDS
