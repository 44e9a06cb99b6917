"""IB time strings the engine must read: goodTillDate, goodAfterTime, ExecutionFilter.time."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def parse_ib_time(text: str, default_tz: str = "UTC") -> float:
    """Epoch seconds of an IB time string.

    Accepted: "YYYYMMDD HH:MM:SS TZ" (zoneinfo name such as US/Eastern or UTC),
    "YYYYMMDD HH:MM:SS" and "YYYYMMDD  HH:MM:SS" (in `default_tz`, the gateway's zone),
    "YYYYMMDD-HH:MM:SS" (UTC), "YYYYMMDD" (end of that day in `default_tz`) and plain epoch
    seconds. Raises ValueError for anything else.
    """
    s = text.strip()
    if s.isdigit() and len(s) != 8:
        return float(int(s))
    if len(s) == 8 and s.isdigit():
        day = dt.datetime.strptime(s, "%Y%m%d").replace(hour=23, minute=59, second=59)
        return day.replace(tzinfo=ib_zone(default_tz)).timestamp()
    if len(s) >= 17 and s[8] == "-":
        when = dt.datetime.strptime(s[:17], "%Y%m%d-%H:%M:%S")
        return when.replace(tzinfo=dt.UTC).timestamp()
    parts = s.split()
    if len(parts) not in (2, 3):
        raise ValueError(f"not an IB time: {text!r}")
    when = dt.datetime.strptime(f"{parts[0]} {parts[1]}", "%Y%m%d %H:%M:%S")
    zone = ib_zone(parts[2] if len(parts) == 3 else default_tz)
    return when.replace(tzinfo=zone).timestamp()


def ib_zone(name: str) -> dt.tzinfo:
    """The zone an IB time string names (UTC/GMT/Z, or a zoneinfo name such as US/Eastern)."""
    if name.upper() in ("UTC", "GMT", "Z"):
        return dt.UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc
