"""Historical-data requests as IB reads them: bar sizes, durations, IB's limits on duration
per bar size, what to show, and how bars are dated on the wire. Pure functions.

Limits follow IB's "historical data limitations" table (the longest duration each bar size
may be asked for); the texts of the errors are those real gateways send (the invalid bar
size text is quoted from a captured error 321; "invalid step" from a captured 162).
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from dataclasses import dataclass
from decimal import Decimal

from .bars import Bar
from .path import TRADING_YEAR

DAY, WEEK, MONTH = 86400, 7 * 86400, 30 * 86400

BAR_SIZES: dict[str, int] = {
    "1 secs": 1, "5 secs": 5, "10 secs": 10, "15 secs": 15, "30 secs": 30,
    "1 min": 60, "2 mins": 120, "3 mins": 180, "5 mins": 300, "10 mins": 600,
    "15 mins": 900, "20 mins": 1200, "30 mins": 1800,
    "1 hour": 3600, "2 hours": 7200, "3 hours": 10800, "4 hours": 14400, "8 hours": 28800,
    "1 day": DAY, "1 week": WEEK, "1W": WEEK, "1 month": MONTH, "1M": MONTH,
}  # fmt: skip
"""Seconds per bar; day, week and month bars follow the trading calendar instead."""

MAX_DURATION: dict[int, int] = {
    1: 1800, 5: 3600, 10: 14400, 15: 14400, 30: 28800, 60: DAY, 120: 2 * DAY,
    180: WEEK, 300: WEEK, 600: WEEK, 900: WEEK, 1200: WEEK,
    1800: MONTH, 3600: MONTH, 7200: MONTH, 10800: MONTH, 14400: MONTH, 28800: MONTH,
}  # fmt: skip
"""IB's longest duration per intraday bar size, in seconds (day bars and up: any)."""

WHAT_TO_SHOW = frozenset({
    "TRADES", "MIDPOINT", "BID", "ASK", "BID_ASK", "ADJUSTED_LAST",
    "HISTORICAL_VOLATILITY", "OPTION_IMPLIED_VOLATILITY", "SCHEDULE",
})  # fmt: skip

TEXT_BAR_SIZE = (
    "Error validating request.-'bK' : cause - Historical data bar size setting is invalid. "
    "Legal ones are: 1 secs, 5 secs, 10 secs, 15 secs, 30 secs, 1 min, 2 mins, 3 mins, "
    "5 mins, 10 mins, 15 mins, 20 mins, 30 mins, 1 hour, 2 hours, 3 hours, 4 hours, "
    "8 hours, 1 day, 1W, 1M"
)
TEXT_DURATION = "Error validating request.-'bK' : cause - Historical data duration is invalid"
TEXT_DAYS_365 = (
    "Error validating request.-'bK' : cause - Historical data request for durations longer "
    "than 365 days must be made in years."
)
HMDS = "Historical Market Data Service error message:"


class HistoryRequestError(Exception):
    """A request IB would refuse: `code` (321 or 162) and its text."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(f"{code}: {text}")
        self.code = code
        self.text = text


def bar_seconds(bar_size: str) -> int:
    size = BAR_SIZES.get(" ".join(bar_size.split()))
    if size is None:
        raise HistoryRequestError(321, TEXT_BAR_SIZE)
    return size


def duration_seconds(duration: str) -> int:
    """ "N S|D|W|M|Y" in seconds (a month is 30 days, a year 365)."""
    parts = duration.split()
    if len(parts) != 2 or not parts[0].isdigit() or parts[1].upper() not in "SDWMY":
        raise HistoryRequestError(321, TEXT_DURATION)
    n, unit = int(parts[0]), parts[1].upper()
    if unit == "D" and n > 365:
        raise HistoryRequestError(321, TEXT_DAYS_365)
    return n * {"S": 1, "D": DAY, "W": WEEK, "M": MONTH, "Y": 365 * DAY}[unit]


def check_limits(size: int, duration: int) -> None:
    """IB's step limit: too long a duration for the bar size is error 162."""
    limit = MAX_DURATION.get(size)
    if limit is not None and duration > limit:
        raise HistoryRequestError(162, f"{HMDS}invalid step: {size}")


@dataclass(frozen=True, slots=True)
class ShownBar:
    """A bar as the wire shows it: unset volume, wap and count are -1 (not TRADES)."""

    start: float
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    wap: Decimal
    count: int


_NONE = Decimal(-1)


def shown(bars: list[Bar], what: str, spread: Decimal, implied_vol: float) -> list[ShownBar]:
    """TRADES bars turned into what was asked for. The book is the last trade +- the
    spread, so BID and ASK bars are the trade bars shifted, MIDPOINT is the trade bar;
    BID_ASK is (average bid, max ask, min bid, average ask) as IB defines it."""
    out = []
    prev: list[Decimal] = []
    for b in bars:
        if what in ("TRADES", "ADJUSTED_LAST"):
            out.append(ShownBar(b.start, b.open, b.high, b.low, b.close, b.volume, b.wap,
                                b.count))  # fmt: skip
            continue
        if what == "HISTORICAL_VOLATILITY":
            prev.append(b.close)
            v = _realized(prev[-31:])
            out.append(ShownBar(b.start, v, v, v, v, _NONE, _NONE, -1))
            continue
        if what == "OPTION_IMPLIED_VOLATILITY":
            v = Decimal(f"{implied_vol:.6f}")
            out.append(ShownBar(b.start, v, v, v, v, _NONE, _NONE, -1))
            continue
        shift = {"BID": -spread, "ASK": spread}.get(what, Decimal(0))
        if what == "BID_ASK":
            wap = b.wap
            o, h, lo, c = wap - spread, b.high + spread, b.low - spread, wap + spread
        else:
            o, h, lo, c = b.open + shift, b.high + shift, b.low + shift, b.close + shift
        out.append(ShownBar(b.start, o, h, lo, c, _NONE, _NONE, -1))
    return out


def _realized(closes: list[Decimal]) -> Decimal:
    """Annualised standard deviation of daily log returns (252 days a year)."""
    if len(closes) < 3:
        return Decimal("0.000000")
    rets = [math.log(float(b) / float(a)) for a, b in itertools.pairwise(closes)]
    mean = sum(rets) / len(rets)
    var = sum((r - mean) ** 2 for r in rets) / (len(rets) - 1)
    return Decimal(f"{math.sqrt(var * 252):.6f}")


def bar_date(start: float, size: int, format_date: int, zone: dt.tzinfo, zone_name: str) -> str:
    """How historicalData dates a bar: daily and longer bars as yyyymmdd; intraday ones as
    "yyyymmdd hh:mm:ss <zone>" (formatDate 1) or epoch seconds (formatDate 2)."""
    if size >= DAY:
        return dt.datetime.fromtimestamp(start, zone).strftime("%Y%m%d")
    if format_date == 2:
        return str(int(start))
    return dt.datetime.fromtimestamp(start, zone).strftime("%Y%m%d %H:%M:%S ") + zone_name


def range_text(t: float, zone: dt.tzinfo, zone_name: str) -> str:
    """historicalData's start/end strings: "yyyymmdd hh:mm:ss <zone>"."""
    return dt.datetime.fromtimestamp(t, zone).strftime("%Y%m%d %H:%M:%S ") + zone_name


def volatility_per_bar(volatility: float, size: int) -> float:
    return volatility * math.sqrt(size / TRADING_YEAR)
