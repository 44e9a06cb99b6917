"""Bars: IB's bar sizes and durations, long ranges split into the requests IB allows, and
ib_async's BarData / RealTimeBar read into Decimal, tz-aware UTC `Bar`s. Pure; no I/O.

IB accepts exactly these bar sizes (its own error text lists them: "Legal ones are: 1 secs,
5 secs, 10 secs, 15 secs, 30 secs, 1 min, 2 mins, 3 mins, 5 mins, 10 mins, 15 mins, 20 mins,
30 mins, 1 hour, 2 hours, 3 hours, 4 hours, 8 hours, 1 day, 1W, 1M") and, per bar size, a
longest duration in one request (TWS API "Historical Bar Data", valid duration / bar size
table): a longer range is split into chunks of at most that, newest first, as IB pages.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ib_async import BarData, RealTimeBar

from horizon.core.values import require_utc
from horizon.errors import InvalidRequest
from horizon.venues.ibkr.mapping.accounts import decimal_from_float

__all__ = [
    "BAR_SIZES",
    "Bar",
    "BarSize",
    "WhatToShow",
    "bar_from_ib",
    "bar_from_realtime",
    "chunks",
    "duration_text",
    "end_text",
]


class BarSize(StrEnum):
    """IB's bar size settings, spelled as IB spells them on the wire."""

    SEC_1 = "1 secs"
    SEC_5 = "5 secs"
    SEC_10 = "10 secs"
    SEC_15 = "15 secs"
    SEC_30 = "30 secs"
    MIN_1 = "1 min"
    MIN_2 = "2 mins"
    MIN_3 = "3 mins"
    MIN_5 = "5 mins"
    MIN_10 = "10 mins"
    MIN_15 = "15 mins"
    MIN_20 = "20 mins"
    MIN_30 = "30 mins"
    HOUR_1 = "1 hour"
    HOUR_2 = "2 hours"
    HOUR_3 = "3 hours"
    HOUR_4 = "4 hours"
    HOUR_8 = "8 hours"
    DAY_1 = "1 day"
    WEEK_1 = "1 week"
    MONTH_1 = "1 month"


class WhatToShow(StrEnum):
    TRADES = "trades"
    MIDPOINT = "midpoint"
    BID = "bid"
    ASK = "ask"
    BID_ASK = "bid_ask"
    ADJUSTED_LAST = "adjusted_last"
    HISTORICAL_VOLATILITY = "historical_volatility"
    OPTION_IMPLIED_VOLATILITY = "option_implied_volatility"

    @property
    def ib(self) -> str:
        return self.value.upper()


_DAY: Final = 86_400
# bar size -> (its length in seconds, the longest duration IB serves in one request, seconds).
# Months and weeks are taken at their longest (31 d, 7 d) so a chunk never overshoots.
BAR_SIZES: Final = MappingProxyType(
    {
        BarSize.SEC_1: (1, 1_800),
        BarSize.SEC_5: (5, 3_600),
        BarSize.SEC_10: (10, 14_400),
        BarSize.SEC_15: (15, 14_400),
        BarSize.SEC_30: (30, 28_800),
        BarSize.MIN_1: (60, _DAY),
        BarSize.MIN_2: (120, 2 * _DAY),
        BarSize.MIN_3: (180, 7 * _DAY),
        BarSize.MIN_5: (300, 7 * _DAY),
        BarSize.MIN_10: (600, 7 * _DAY),
        BarSize.MIN_15: (900, 7 * _DAY),
        BarSize.MIN_20: (1_200, 7 * _DAY),
        BarSize.MIN_30: (1_800, 28 * _DAY),
        BarSize.HOUR_1: (3_600, 28 * _DAY),
        BarSize.HOUR_2: (7_200, 28 * _DAY),
        BarSize.HOUR_3: (10_800, 28 * _DAY),
        BarSize.HOUR_4: (14_400, 28 * _DAY),
        BarSize.HOUR_8: (28_800, 28 * _DAY),
        BarSize.DAY_1: (_DAY, 365 * _DAY),
        BarSize.WEEK_1: (7 * _DAY, 365 * _DAY),
        BarSize.MONTH_1: (31 * _DAY, 365 * _DAY),
    }
)
_DAILY: Final = frozenset({BarSize.DAY_1, BarSize.WEEK_1, BarSize.MONTH_1})


@dataclass(frozen=True, slots=True, kw_only=True)
class Bar:
    """One bar. `start` is tz-aware UTC: intraday bars start at their first second; daily and
    longer bars at midnight of their trading date in the exchange's zone. `wap` and `count`
    are None where IB sends none (MIDPOINT / BID / ASK bars carry no trades)."""

    market_id: str
    start: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    wap: Decimal | None
    count: int | None


def _price(value: float) -> Decimal:
    d = decimal_from_float(float(value))
    return d if d is not None else Decimal(0)


def _optional(value: float) -> Decimal | None:
    number = float(value)
    if math.isnan(number) or number < 0:  # IB sends -1 where it has no figure
        return None
    return decimal_from_float(number)


def _zone(name: str | None) -> tzinfo:
    if not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def bar_from_ib(bar: BarData, *, market_id: str, time_zone: str | None = None) -> Bar:
    """A Bar of ib_async's BarData (requested with formatDate=2: intraday times are UTC; a
    daily bar's date is the exchange's trading date, placed at midnight of `time_zone`)."""
    when = bar.date
    if isinstance(when, datetime):
        start = require_utc("bar.date", when) if when.tzinfo else when.replace(tzinfo=UTC)
    elif isinstance(when, date):
        start = datetime(when.year, when.month, when.day, tzinfo=_zone(time_zone)).astimezone(UTC)
    else:
        raise TypeError(f"bar date {when!r} is neither a date nor a datetime")
    count = int(bar.barCount)
    return Bar(
        market_id=market_id,
        start=start,
        open=_price(bar.open),
        high=_price(bar.high),
        low=_price(bar.low),
        close=_price(bar.close),
        volume=_optional(bar.volume) or Decimal(0),
        wap=_optional(bar.average),
        count=count if count >= 0 else None,
    )


def bar_from_realtime(bar: RealTimeBar, *, market_id: str) -> Bar:
    """A Bar of one 5-second real-time bar (its `time` is the bar's start, UTC)."""
    when = bar.time
    start = when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)
    return Bar(
        market_id=market_id,
        start=start,
        open=_price(bar.open_),
        high=_price(bar.high),
        low=_price(bar.low),
        close=_price(bar.close),
        volume=_optional(bar.volume) or Decimal(0),
        wap=_optional(bar.wap),
        count=bar.count if bar.count >= 0 else None,
    )


def bar_seconds(bar_size: BarSize) -> int:
    return BAR_SIZES[bar_size][0]


def duration_text(seconds: int, bar_size: BarSize) -> str:
    """IB's durationStr for a span: seconds ("N S") up to a day for intraday bars, else days
    ("N D"), and years ("N Y") for daily and longer bars beyond a year."""
    if seconds <= 0:
        raise InvalidRequest("duration", f"must be positive, got {seconds} s")
    if bar_size in _DAILY:
        days = math.ceil(seconds / _DAY)
        return f"{math.ceil(days / 365)} Y" if days > 365 else f"{days} D"
    if seconds <= _DAY:
        return f"{seconds} S"
    return f"{math.ceil(seconds / _DAY)} D"


def end_text(end: datetime | None) -> str:
    """IB's endDateTime: "" for now, else ``YYYYMMDD-HH:MM:SS`` (UTC by definition)."""
    if end is None:
        return ""
    return require_utc("end", end).strftime("%Y%m%d-%H:%M:%S")


def chunks(
    start: datetime, end: datetime, bar_size: BarSize
) -> list[tuple[datetime, int]]:
    """(chunk end, chunk seconds) requests covering start..end, newest first, none longer
    than IB serves for `bar_size`; the caller merges them oldest first, dropping the bars two
    chunks share at a seam."""
    begin, finish = require_utc("start", start), require_utc("end", end)
    if finish <= begin:
        raise InvalidRequest("end", f"{finish.isoformat()} is not after {begin.isoformat()}")
    longest = BAR_SIZES[bar_size][1]
    out = []
    cursor = finish
    while cursor > begin:
        span = min(longest, math.ceil((cursor - begin).total_seconds()))
        out.append((cursor, span))
        cursor -= timedelta(seconds=span)
    return out
