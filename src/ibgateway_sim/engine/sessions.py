"""Trading hours: when each instrument trades, and when its regular (liquid) hours are.

One `Calendar` per market, in the market's own zone, so daylight saving moves the sessions
as it does at the exchange:

* US equities and their options: 04:00-20:00 America/New_York with the regular session
  09:30-16:00 inside it (pre and post market around it), Monday to Friday;
* CME futures: Sunday 17:00 to Friday 16:00 America/Chicago with a daily break 16:00-17:00;
  the trading day that opens at 17:00 is the next calendar day's; liquid hours 08:30-15:00;
* FX (IDEALPRO): 24/5, Sunday 17:15 to Friday 17:00 America/New_York, break 17:00-17:15.

`ALWAYS_OPEN` is the calendar of a simulator with trading hours off (the default): every UTC
day is one session, all of it regular, so a CI run on Saturday night behaves as on Tuesday
morning. Holidays are not modelled. Pure functions of time; no clock is read here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import Enum
from zoneinfo import ZoneInfo

from .model import ContractSpec


@dataclass(frozen=True, slots=True)
class TradingDay:
    """One trading day: its reference date, the window it trades in and its regular
    (liquid) part, all in epoch seconds UTC (half-open intervals)."""

    ref_date: dt.date
    start: float
    end: float
    rth_start: float
    rth_end: float

    def window(self, rth: bool) -> tuple[float, float]:
        return (self.rth_start, self.rth_end) if rth else (self.start, self.end)


class Edge(Enum):
    """What a session boundary is."""

    OPEN = "open"  # the trading day starts (pre market for equities)
    REGULAR_OPEN = "regular_open"  # the regular (liquid) session starts
    REGULAR_CLOSE = "regular_close"  # the regular session ends: DAY orders expire here
    CLOSE = "close"  # the trading day ends (post market over)


@dataclass(frozen=True, slots=True)
class SessionEvent:
    """A session boundary the simulator's clock crossed."""

    calendar: str  # "US_EQUITY" | "CME" | "FX" | "ALWAYS_OPEN"
    edge: Edge
    at: float  # epoch seconds of the boundary
    ref_date: dt.date


@dataclass(frozen=True, slots=True)
class Calendar:
    """A market's weekly schedule. Times are (hour, minute) in `zone`; `start_offset_days`
    is -1 when the trading day opens the evening before its reference date."""

    name: str
    zone: str
    start: tuple[int, int]
    end: tuple[int, int]
    rth_start: tuple[int, int]
    rth_end: tuple[int, int]
    start_offset_days: int = 0
    rth_offset_days: int = 0
    weekdays: frozenset[int] = frozenset(range(5))  # the reference dates' weekdays (Mon=0)

    def day(self, ref: dt.date) -> TradingDay | None:
        """The trading day of reference date `ref`, or None when there is none (a weekend)."""
        if ref.weekday() not in self.weekdays:
            return None
        tz = _tz(self.zone)
        first = ref + dt.timedelta(days=self.start_offset_days)

        def at(day: dt.date, hm: tuple[int, int]) -> float:
            return dt.datetime(day.year, day.month, day.day, *hm, tzinfo=tz).timestamp()

        def later(hm: tuple[int, int]) -> dt.date:
            return ref if hm > (0, 0) else ref + dt.timedelta(days=1)  # 00:00 ends a day

        return TradingDay(
            ref_date=ref,
            start=at(first, self.start),
            end=at(later(self.end), self.end),
            rth_start=at(ref + dt.timedelta(days=self.rth_offset_days), self.rth_start),
            rth_end=at(later(self.rth_end), self.rth_end),
        )

    def days(self, start: float, end: float) -> list[TradingDay]:
        """The trading days whose window overlaps [start, end), in order."""
        tz = _tz(self.zone)
        first = dt.datetime.fromtimestamp(start, tz).date() - dt.timedelta(days=1)
        last = dt.datetime.fromtimestamp(end, tz).date() + dt.timedelta(days=2)
        out = []
        ref = first
        while ref <= last:
            d = self.day(ref)
            if d is not None and d.end > start and d.start < end:
                out.append(d)
            ref += dt.timedelta(days=1)
        return out

    def day_at(self, t: float) -> TradingDay | None:
        """The trading day whose window holds `t`, if it trades then."""
        for d in self.days(t, t + 1):
            if d.start <= t < d.end:
                return d
        return None

    def is_open(self, t: float, rth: bool = False) -> bool:
        d = self.day_at(t)
        if d is None:
            return False
        lo, hi = d.window(rth)
        return lo <= t < hi

    def edges(self, after: float, upto: float) -> list[SessionEvent]:
        """The boundaries in (after, upto], in time order."""
        out = []
        for d in self.days(after - 86400, upto + 86400):
            for edge, at in (
                (Edge.OPEN, d.start),
                (Edge.REGULAR_OPEN, d.rth_start),
                (Edge.REGULAR_CLOSE, d.rth_end),
                (Edge.CLOSE, d.end),
            ):
                if after < at <= upto:
                    out.append(SessionEvent(self.name, edge, at, d.ref_date))
        out.sort(key=lambda e: e.at)
        return out

    def next_regular_open(self, t: float) -> float:
        """The first regular-session open at or after `t` (for starting a test clock)."""
        for d in self.days(t, t + 10 * 86400):
            if d.rth_start >= t:
                return d.rth_start
        raise ValueError("no regular session within ten days")


US_EQUITY = Calendar("US_EQUITY", "America/New_York", (4, 0), (20, 0), (9, 30), (16, 0))
CME = Calendar(
    "CME", "America/Chicago", (17, 0), (16, 0), (8, 30), (15, 0), start_offset_days=-1
)
FX = Calendar(
    "FX", "America/New_York", (17, 15), (17, 0), (17, 15), (17, 0),
    start_offset_days=-1, rth_offset_days=-1,
)
ALWAYS_OPEN = Calendar(
    "ALWAYS_OPEN", "UTC", (0, 0), (0, 0), (0, 0), (0, 0), weekdays=frozenset(range(7))
)


def calendar_for(spec: ContractSpec, trading_hours: bool) -> Calendar:
    """The calendar an instrument trades by (ALWAYS_OPEN while trading hours are off)."""
    if not trading_hours:
        return ALWAYS_OPEN
    return {"FUT": CME, "CASH": FX}.get(spec.sec_type, US_EQUITY)


def hours_fields(calendar: Calendar, zone: str, today: dt.date) -> tuple[str, str]:
    """Contract details' tradingHours and liquidHours for a week from `today`, in the
    contract's zone, IB's format: `20250115:0930-20250115:1600;20250118:CLOSED`. A day is
    listed by its session (which may open the evening before), and CLOSED when it has none
    and none opens on it."""
    tz = _tz(zone)

    def stamp(t: float) -> str:
        return dt.datetime.fromtimestamp(t, tz).strftime("%Y%m%d:%H%M")

    trading, liquid = [], []
    refs = [today + dt.timedelta(days=i) for i in range(8)]
    opens = {
        dt.datetime.fromtimestamp(d.start, tz).date()
        for d in (calendar.day(r) for r in refs) if d is not None
    }  # fmt: skip
    for ref in refs[:7]:
        d = calendar.day(ref)
        if d is None:
            if ref in opens:  # the next trading day opens this evening (CME, FX Sundays)
                continue
            trading.append(f"{ref:%Y%m%d}:CLOSED")
            liquid.append(f"{ref:%Y%m%d}:CLOSED")
            continue
        trading.append(f"{stamp(d.start)}-{stamp(d.end)}")
        liquid.append(f"{stamp(d.rth_start)}-{stamp(d.rth_end)}")
    return ";".join(trading), ";".join(liquid)


def _tz(name: str) -> dt.tzinfo:
    return dt.UTC if name in ("", "UTC", "GMT") else ZoneInfo(name)
