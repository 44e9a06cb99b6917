"""Reading a user's market data for replay: CSV files of bars or of trades, per symbol.

Two layouts, told apart by the header (names are case-insensitive, any column order, extra
columns ignored):

* bars:  `time,symbol,open,high,low,close,volume` — one bar per row, dated by its start;
* ticks: `time,symbol,price,size` — one trade per row.

`time` is ISO 8601 (`2024-07-22T13:30:00Z`, `2024-07-22 09:30:00-04:00`), IB's
`20240722 13:30:00` (optionally followed by a zone name, as TWS writes it) or
`20240722-13:30:00`, or epoch seconds. A time without an offset is UTC, or in the zone of
an optional `tz` column (`America/New_York`). `symbol` is the instrument's local symbol
(`AAPL`, `EUR.USD`, `ESZ6`); it may be left out of a file given for one symbol.

Every mistake is a `ReplayError` naming the file and the line, raised when the simulator is
built, never in the middle of a run. Pure: reads files, keeps no state.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import Enum
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_IB_TIME = re.compile(r"(\d{8})[ -](\d{2}:\d{2}:\d{2}(?:\.\d+)?)(?:\s+(\S+))?")
BAR_COLUMNS = ("open", "high", "low", "close", "volume")
TICK_COLUMNS = ("price", "size")


class ReplayError(ValueError):
    """A replay file the simulator cannot use: where (file, line) and why."""

    def __init__(self, file: str, line: int, reason: str) -> None:
        super().__init__(f"{file}, line {line}: {reason}")
        self.file = file
        self.line = line
        self.reason = reason


class ReplayFormatError(ReplayError):
    """A missing column, a time or number that does not parse, a bar whose high is below
    its low, a price off the instrument's tick grid."""


class ReplayOrderError(ReplayError):
    """A row dated before the row above it (of the same symbol)."""


class ReplayGapError(ReplayError):
    """More trading time between two rows of a symbol than the setup allows."""


class ReplayUnknownSymbol(ReplayError):
    """A symbol that names no instrument of the simulator (or several)."""


class Kind(Enum):
    BARS = "bars"
    TICKS = "ticks"


@dataclass(frozen=True, slots=True)
class Row:
    """One row as read: its start time (epoch s), prices (one for a tick, O H L C for a
    bar) and volume (a tick's size), and the line it came from."""

    time: float
    prices: tuple[Decimal, ...]
    volume: Decimal
    line: int


@dataclass(frozen=True, slots=True)
class Series:
    """One symbol's rows from one file, in time order."""

    symbol: str
    file: str
    kind: Kind
    rows: tuple[Row, ...]

    def error(self, cls: type[ReplayError], row: Row, reason: str) -> ReplayError:
        return cls(self.file, row.line, reason)


@dataclass(frozen=True, slots=True)
class ReplaySetup:
    """What to replay and how strictly.

    `sources`: (symbol or None, file) pairs; None takes the symbols from the file's column.
    `max_gap`: the most trading seconds allowed between two consecutive rows of a symbol
    (after a bar's end); None allows any gap, through which the price holds still.
    `bar_seconds`: the length of a bar; None infers it per symbol as the shortest step
    between two rows (60 for a lone bar)."""

    sources: tuple[tuple[str | None, str], ...]
    max_gap: float | None = None
    bar_seconds: int | None = None

    @classmethod
    def of(
        cls, market_data: str | Path | Mapping[str, str | Path], *, max_gap: float | None = None,
        bar_seconds: int | None = None,
    ) -> ReplaySetup:  # fmt: skip
        """From a path, or a mapping symbol -> path."""
        sources: tuple[tuple[str | None, str], ...]
        if isinstance(market_data, Mapping):
            sources = tuple((sym, str(p)) for sym, p in market_data.items())
        else:
            sources = ((None, str(market_data)),)
        return cls(sources, max_gap, bar_seconds)

    def start_time(self) -> float:
        """The earliest row of every file (where a replay from the beginning starts)."""
        return min(s.rows[0].time for s in self.load())

    def load(self) -> list[Series]:
        """Every symbol's series from every file (errors raised here)."""
        out: list[Series] = []
        for symbol, file in self.sources:
            out.extend(read_file(file, symbol))
        return out


def read_file(file: str, symbol: str | None = None) -> list[Series]:
    """The series in one CSV file, one per symbol, in order of first appearance."""
    try:
        with open(file, newline="", encoding="utf-8-sig") as fh:
            return read_rows(file, csv.reader(fh), symbol)
    except OSError as exc:
        raise ReplayFormatError(file, 0, f"cannot read the file ({exc.strerror})") from exc


def read_rows(file: str, lines: Iterable[list[str]], symbol: str | None = None) -> list[Series]:
    """The series in CSV rows (the first is the header); `file` names them in errors."""
    it = iter(lines)
    header = next(it, None)
    if header is None:
        raise ReplayFormatError(file, 1, "the file is empty; it needs a header row")
    names = [h.strip().lower() for h in header]
    col = {n: i for i, n in enumerate(names)}
    wanted: tuple[str, ...]
    if all(c in col for c in BAR_COLUMNS):
        kind, wanted = Kind.BARS, BAR_COLUMNS
    elif all(c in col for c in TICK_COLUMNS):
        kind, wanted = Kind.TICKS, TICK_COLUMNS
    else:
        raise ReplayFormatError(file, 1, "the header needs time and either "
                                f"{','.join(BAR_COLUMNS)} (bars) or {','.join(TICK_COLUMNS)} "
                                f"(ticks); it has {','.join(names)}")  # fmt: skip
    if "time" not in col:
        raise ReplayFormatError(file, 1, "the header has no time column")
    if symbol is None and "symbol" not in col:
        raise ReplayFormatError(file, 1, "the header has no symbol column; add one, or give "
                                "the file for one symbol (market_data={'AAPL': file})")  # fmt: skip
    rows: dict[str, list[Row]] = {}
    for number, cells in enumerate(it, start=2):
        if not any(c.strip() for c in cells):
            continue  # a blank line
        if len(cells) < len(names):
            raise ReplayFormatError(file, number, f"{len(cells)} fields, the header has "
                                    f"{len(names)}")  # fmt: skip

        def cell(name: str, cells: list[str] = cells) -> str:
            return cells[col[name]].strip()

        sym = cell("symbol") if "symbol" in col else ""
        if symbol is not None and sym and sym != symbol:
            raise ReplayFormatError(file, number, f"symbol {sym!r} in the file given for "
                                    f"{symbol!r}")  # fmt: skip
        sym = symbol or sym
        if not sym:
            raise ReplayFormatError(file, number, "the symbol is empty")
        zone = cell("tz") if "tz" in col else ""
        t = parse_time(cell("time"), zone, file, number)
        values = [parse_number(cell(n), n, file, number) for n in wanted]
        if kind is Kind.BARS:
            o, h, lo, c, v = values
            check_bar(o, h, lo, c, file, number)
            row = Row(t, (o, h, lo, c), v, number)
        else:
            p, v = values
            if p <= 0:
                raise ReplayFormatError(file, number, f"price must be > 0, got {p}")
            row = Row(t, (p,), v, number)
        if v < 0:
            raise ReplayFormatError(file, number, f"volume must be >= 0, got {v}")
        series = rows.setdefault(sym, [])
        if series and (t < series[-1].time or (kind is Kind.BARS and t == series[-1].time)):
            raise ReplayOrderError(file, number, f"{sym} at {_iso(t)} comes after "
                                   f"{_iso(series[-1].time)} (line {series[-1].line}); "
                                   "sort the file by time")  # fmt: skip
        series.append(row)
    return [Series(sym, file, kind, tuple(r)) for sym, r in rows.items()]


def check_bar(o: Decimal, h: Decimal, lo: Decimal, c: Decimal, file: str, line: int) -> None:
    if lo <= 0:
        raise ReplayFormatError(file, line, f"prices must be > 0, got low {lo}")
    if not (lo <= o <= h and lo <= c <= h):
        raise ReplayFormatError(file, line, f"open {o} and close {c} must lie within low {lo} "
                                f"and high {h}")  # fmt: skip


def parse_number(text: str, name: str, file: str, line: int) -> Decimal:
    try:
        d = Decimal(text)
    except InvalidOperation:
        raise ReplayFormatError(file, line, f"{name} {text!r} is not a number") from None
    if not d.is_finite():
        raise ReplayFormatError(file, line, f"{name} {text!r} is not a finite number")
    return d


def parse_time(text: str, zone: str, file: str, line: int) -> float:
    """Epoch seconds of a row's time (see the module docstring for the forms)."""
    try:
        tz: dt.tzinfo = ZoneInfo(zone) if zone else dt.UTC
    except (ZoneInfoNotFoundError, ValueError):
        raise ReplayFormatError(file, line, f"unknown time zone {zone!r}") from None
    s = text.strip()
    ib = _IB_TIME.fullmatch(s)
    try:
        if ib is not None:
            day, clock, rest = ib.groups()
            fmt = "%Y%m%d %H:%M:%S.%f" if "." in clock else "%Y%m%d %H:%M:%S"
            stamp = dt.datetime.strptime(f"{day} {clock}", fmt)
            if rest:
                tz = ZoneInfo(rest)
            elif s[8] == "-":
                tz = dt.UTC  # IB's dash form is UTC
            return stamp.replace(tzinfo=tz).timestamp()
        if s.replace(".", "", 1).isdigit() and len(s) != 8:
            return float(s)  # epoch seconds
        stamp = dt.datetime.fromisoformat(s)
    except (ValueError, ZoneInfoNotFoundError):
        reason = f"time {text!r} is not ISO 8601, 'YYYYMMDD HH:MM:SS [zone]' or epoch seconds"
        raise ReplayFormatError(file, line, reason) from None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=tz)
    return stamp.timestamp()


def _iso(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
