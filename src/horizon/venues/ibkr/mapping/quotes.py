"""Quotes: an ib_async Ticker -> a Horizon `Quote`, market-data types, and the subscriber side
buffer of a quote stream. Pure: no requests, logging or clock reads (the venue passes `now`).

The one rule this module exists for: a quote is flagged ``delayed=True`` whenever anything
says its data may be delayed: the gateway's marketDataType (3 delayed, 4 delayed-frozen), a
delayed tick type (66..76, 88) in the update, or an IB notice (10167) about the request. A
delayed price passed off as real-time is how a fat-finger check lets a bad order through.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import IntEnum
from types import MappingProxyType
from typing import Final, Protocol

from horizon.core.types import require_utc
from horizon.errors import ConfigurationError
from horizon.venues.ibkr.mapping.accounts import decimal_from_float
from horizon.venues.ibkr.mapping.streams import Stream

__all__ = [
    "DELAYED_TICK_TYPES",
    "FALLBACK_CODES",
    "MarketDataType",
    "Quote",
    "QuoteCallback",
    "Subscription",
    "check_market_data_type",
    "fallback_type",
    "is_delayed",
    "quote_from_ticker",
]


class MarketDataType(IntEnum):
    """reqMarketDataType values. Delayed data is free; real-time needs a subscription."""

    REALTIME = 1
    FROZEN = 2  # the last real-time values, when the market is closed
    DELAYED = 3  # 15-20 minutes late; real-time where the account is subscribed
    DELAYED_FROZEN = 4

    @property
    def delayed(self) -> bool:
        return self in (MarketDataType.DELAYED, MarketDataType.DELAYED_FROZEN)


# real-time type -> its delayed twin, for the fall-back on a missing subscription
_FALLBACK: Final = MappingProxyType(
    {
        MarketDataType.REALTIME: MarketDataType.DELAYED,
        MarketDataType.FROZEN: MarketDataType.DELAYED_FROZEN,
    }
)

# IB message codes on a market-data request that mean "no real-time data for you here":
# 354 not subscribed, 10168 not subscribed and delayed not enabled (asked for real-time),
# 10197 no market data during a competing live session. Delayed data may still be allowed.
FALLBACK_CODES: Final = frozenset({354, 10168, 10197})
# 10167: "not subscribed, displaying delayed market data": the data that follows is delayed
DELAYED_NOTICE: Final = 10167

# IB tick types of delayed data: bid, ask, last, bid/ask/last size, high, low, volume, close,
# open (66..76) and the delayed last timestamp (88)
DELAYED_TICK_TYPES: Final = frozenset({*range(66, 77), 88})

_UNSET_DOUBLE: Final = 1.7976931348623157e308
_EMPTY_PRICE: Final = -1.0  # IB's "no bid/ask" (sent with size 0)


def check_market_data_type(value: object) -> MarketDataType:
    """The configured market data type; ConfigurationError for anything but 1..4."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigurationError(
            f"market_data_type must be 1 (real-time) or 3 (delayed, free), got {value!r}"
        )
    try:
        return MarketDataType(value)
    except ValueError:
        raise ConfigurationError(
            f"market_data_type must be 1 (real-time), 2 (frozen), 3 (delayed, free) or "
            f"4 (delayed-frozen), got {value!r}"
        ) from None


def fallback_type(current: int) -> MarketDataType | None:
    """The delayed type to fall back to from `current`; None when already delayed."""
    return _FALLBACK.get(MarketDataType(current))


def is_delayed(market_data_type: int, tick_types: Iterable[int] = (), notice: bool = False) -> bool:
    """True if anything about an update says its data may be delayed."""
    if notice or market_data_type in (MarketDataType.DELAYED, MarketDataType.DELAYED_FROZEN):
        return True
    return any(t in DELAYED_TICK_TYPES for t in tick_types)


@dataclass(frozen=True, slots=True, kw_only=True)
class Quote:
    """Top of book of one market at `timestamp` (UTC, when the venue received it).

    Prices and sizes are None when IB has none (no bid, no trade yet). `delayed` is True when
    the data is (or may be) delayed; treat such a quote as unfit for pre-trade price checks.
    """

    market_id: str
    bid: Decimal | None
    ask: Decimal | None
    last: Decimal | None
    bid_size: Decimal | None
    ask_size: Decimal | None
    last_size: Decimal | None
    timestamp: datetime
    delayed: bool

    def __post_init__(self) -> None:
        object.__setattr__(self, "timestamp", require_utc("timestamp", self.timestamp))

    @property
    def mid(self) -> Decimal | None:
        if self.bid is None or self.ask is None:
            return None
        return (self.bid + self.ask) / 2

    def same_book(self, other: Quote | None) -> bool:
        """Same prices, sizes and delayed flag (the timestamp aside)."""
        return other is not None and _book(self) == _book(other)


def _book(q: Quote) -> tuple[object, ...]:
    return (q.market_id, q.bid, q.ask, q.last, q.bid_size, q.ask_size, q.last_size, q.delayed)


class TickerLike(Protocol):
    """The part of an ib_async Ticker a quote is made of."""

    @property
    def bid(self) -> float: ...
    @property
    def ask(self) -> float: ...
    @property
    def last(self) -> float: ...
    @property
    def bidSize(self) -> float: ...
    @property
    def askSize(self) -> float: ...
    @property
    def lastSize(self) -> float: ...
    @property
    def time(self) -> datetime | None: ...
    @property
    def marketDataType(self) -> int: ...


def _unset(value: float) -> bool:
    return value >= _UNSET_DOUBLE


def _price(value: float | None, size: float | None = None) -> Decimal | None:
    if value is None:
        return None
    if value == _EMPTY_PRICE and (size is None or math.isnan(size) or size == 0):
        return None
    return decimal_from_float(value, _unset)


def _size(value: float | None) -> Decimal | None:
    if value is None:
        return None
    d = decimal_from_float(value, _unset)
    return None if d is None or d < 0 else d


def quote_from_ticker(
    ticker: TickerLike, *, market_id: str, now: datetime, delayed: bool = False
) -> Quote:
    """The Quote of an ib_async Ticker. `delayed` adds what the caller knows (10167 notices,
    delayed ticks seen earlier); the ticker's own marketDataType is always taken into account.

    The timestamp is the ticker's receive time (ib_async stamps it per packet), else `now`.
    """
    bid_size, ask_size = ticker.bidSize, ticker.askSize
    bid, ask = _price(ticker.bid, bid_size), _price(ticker.ask, ask_size)
    when = ticker.time if ticker.time is not None and ticker.time.tzinfo is not None else now
    return Quote(
        market_id=market_id,
        bid=bid,
        ask=ask,
        last=_price(ticker.last),
        bid_size=None if bid is None else _size(bid_size),  # IB's "no bid" comes with size 0
        ask_size=None if ask is None else _size(ask_size),
        last_size=_size(ticker.lastSize),
        timestamp=when.astimezone(UTC),
        delayed=is_delayed(ticker.marketDataType, notice=delayed),
    )


QuoteCallback = Callable[[Quote], object]


class Subscription(Stream[Quote]):
    """A live quote stream: iterate it (``async for q in sub``), read ``latest()``, block on
    ``get()`` from plain threads, or let the venue call `callback` with each quote (see
    `Stream`). A market IB refused is listed in `failures` with the reason; the others go on.
    """

    def __init__(
        self,
        market_ids: Sequence[str],
        *,
        callback: QuoteCallback | None = None,
        loop: asyncio.AbstractEventLoop | None = None,
        maxlen: int = 10_000,
    ) -> None:
        super().__init__(
            market_ids,
            key=_quote_market,
            callback=callback,
            loop=loop,
            maxlen=maxlen,
            what="quote",
        )


def _quote_market(quote: Quote) -> str:
    return quote.market_id
