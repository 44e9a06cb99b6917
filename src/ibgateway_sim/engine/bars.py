"""Trades, bars and how bars combine: the one aggregation every bar size and stream uses.

A bar is a summary of the trades in a half-open interval [start, start + size): open is the
first trade, close the last, high/low the extremes, volume the sum, wap the volume-weighted
price and count the number of trades. `merge` combines adjacent bars into a larger one, and
is associative, which is what makes a daily bar agree with its intraday bars by construction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Trade:
    """One print and the book just after it (the book is centred on the last trade)."""

    time: float  # epoch seconds UTC
    price: Decimal
    size: Decimal
    bid: Decimal
    ask: Decimal
    bid_size: Decimal
    ask_size: Decimal


@dataclass(frozen=True, slots=True)
class Bar:
    start: float  # epoch seconds of the interval's start
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    wap: Decimal
    count: int

    @property
    def turnover(self) -> Decimal:
        return self.wap * self.volume


def bar_of(start: float, trades: Sequence[Trade]) -> Bar | None:
    """The bar of `trades` (in time order), or None when there are none."""
    if not trades:
        return None
    volume = sum((t.size for t in trades), Decimal(0))
    turnover = sum((t.price * t.size for t in trades), Decimal(0))
    return Bar(
        start=start,
        open=trades[0].price,
        high=max(t.price for t in trades),
        low=min(t.price for t in trades),
        close=trades[-1].price,
        volume=volume,
        wap=turnover / volume if volume else trades[-1].price,
        count=len(trades),
    )


def merge(start: float, bars: Iterable[Bar | None]) -> Bar | None:
    """One bar from consecutive bars (None entries, empty intervals, are skipped)."""
    parts = [b for b in bars if b is not None]
    if not parts:
        return None
    volume = sum((b.volume for b in parts), Decimal(0))
    turnover = sum((b.turnover for b in parts), Decimal(0))
    return Bar(
        start=start,
        open=parts[0].open,
        high=max(b.high for b in parts),
        low=min(b.low for b in parts),
        close=parts[-1].close,
        volume=volume,
        wap=turnover / volume if volume else parts[-1].close,
        count=sum(b.count for b in parts),
    )


def flat(start: float, price: Decimal) -> Bar:
    """An interval without trades, as real-time bars show it: the last price, no volume."""
    return Bar(start, price, price, price, price, Decimal(0), price, 0)
