"""The market model: one price path per instrument behind every view of it.

An instrument's path is its generated history (`path.py`) up to the simulator's start and
the live tape (`tape.py`) after it; the live book continues from the generated close. Bars
of any size, historical ticks and the quote's day statistics are all summaries of that one
path, which is what makes them agree. The session clock (`sessions.py`) says when each
instrument trades; `session_events` reports the boundaries the clock crossed, so DAY orders
expire at the regular close and listeners (auctions, later) hear about it.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

from .bars import Bar, Trade, merge
from .book import Book, to_grid
from .model import ContractSpec
from .path import PathParams, SyntheticPath
from .replay import ReplaySetup, ReplayUnknownSymbol, Series
from .replay_path import ReplayPath
from .sessions import ALWAYS_OPEN, Calendar, SessionEvent, TradingDay, calendar_for
from .tape import Tape


@dataclass(frozen=True, slots=True)
class MarketSetup:
    """How the market behaves: trading hours on or off (off: always open, the default),
    the path parameters for every instrument, per symbol overrides, and the files whose
    instruments replay recorded data instead of a generated path."""

    trading_hours: bool = False
    params: PathParams = field(default_factory=PathParams)
    per_symbol: Mapping[str, PathParams] = field(default_factory=dict)
    replay: ReplaySetup | None = None

    def params_for(self, spec: ContractSpec) -> PathParams:
        return self.per_symbol.get(spec.symbol, self.params)


class Instrument:
    """One instrument's path: generated (or replayed) history, then the live tape."""

    def __init__(
        self, spec: ContractSpec, path: SyntheticPath | ReplayPath, tape: Tape
    ) -> None:
        self.spec = spec
        self.path = path
        self.tape = tape
        self.calendar: Calendar = path.calendar

    @property
    def anchor(self) -> float:
        return self.tape.start

    def summary(self, start: float, end: float) -> Bar | None:
        """The bar of every trade in [start, end)."""
        anchor = self.anchor
        parts = []
        if start < anchor:
            parts.append(self.path.summary(start, min(end, anchor)))
        if end > anchor:
            parts.append(self.tape.summary(max(start, anchor), end))
        return merge(start, parts)

    def trades(self, start: float, end: float) -> list[Trade]:
        out = self.path.trades(start, min(end, self.anchor)) if start < self.anchor else []
        return out + self.tape.between(max(start, self.anchor), end)

    def days(self, start: float, end: float) -> list[TradingDay]:
        return self.calendar.days(start, end)

    def intraday_bars(self, start: float, end: float, size: int, rth: bool) -> list[Bar]:
        """Bars of `size` seconds over [start, end), aligned to the epoch (so to the hour in
        every zone with a whole-hour offset) and cut at the session's edges."""
        out: list[Bar] = []
        for day in self.days(start, end):
            lo, hi = day.window(rth)
            a, b = max(lo, start), min(hi, end)
            # the first bar starts on its boundary, as IB's do (a request's start cuts no bar)
            t = max(lo, math.floor(a / size) * size)
            while t < b:
                nxt = min((math.floor(t / size) + 1) * size, b)
                bar = self.summary(t, nxt)
                if bar is not None:
                    out.append(bar)
                t = nxt
        return out

    def daily_bars(self, start: float, end: float, rth: bool) -> list[tuple[dt.date, Bar]]:
        """One bar per trading day overlapping [start, end), dated by the day's reference
        date; a day generated whole is one node, so a year takes a few hundred lookups."""
        out = []
        for day in self.days(start, end):
            lo, hi = day.window(rth)
            bar = self.summary(max(lo, start), min(hi, end))
            if bar is not None:
                out.append((day.ref_date, bar))
        return out

    def first_time(self) -> float:
        return self.path.first_time()

    def price_before(self, t: float) -> Decimal:
        """The last trade before `t` (the generated close when the tape has none yet)."""
        last = self.tape.last_before(t)
        return last.price if last is not None else self.path.anchor_price


class Market:
    """Every instrument's path and the session clock; owned by the engine."""

    def __init__(
        self,
        *,
        seed: int,
        anchor: float,
        setup: MarketSetup,
        spec_of: Callable[[int], ContractSpec],
        universe: Iterable[ContractSpec] = (),
    ) -> None:
        """`universe`: the instruments the replay files' symbols are looked up in."""
        self.seed = seed
        self.anchor = float(math.floor(anchor))
        self.setup = setup
        self._spec_of = spec_of
        self._instruments: dict[int, Instrument] = {}
        self.step_times: list[float] = []  # when each global step happened
        self._seen = anchor  # the session clock's last reading
        self._next_edge: dict[str, float] = {}
        self._replays: dict[int, ReplayPath] = {}
        if setup.replay is not None:
            self._replays = self._bind(setup.replay, list(universe))

    def _bind(self, replay: ReplaySetup, universe: list[ContractSpec]) -> dict[int, ReplayPath]:
        """Each file's symbols resolved to instruments (by local symbol) and checked now,
        so a bad file fails when the simulator is built."""
        by_local: dict[str, list[ContractSpec]] = {}
        for spec in universe:
            by_local.setdefault(spec.local_symbol, []).append(spec)
        out: dict[int, ReplayPath] = {}
        seen: dict[int, Series] = {}
        for series in replay.load():
            first = series.rows[0]
            specs = by_local.get(series.symbol, [])
            if len(specs) != 1:
                what = "no instrument" if not specs else f"{len(specs)} instruments"
                raise series.error(ReplayUnknownSymbol, first, f"{series.symbol!r} names {what}"
                                   " of the simulator (use its local symbol: AAPL, EUR.USD, "
                                   "ESZ6)")  # fmt: skip
            spec = specs[0]
            if spec.con_id in seen:
                raise series.error(ReplayUnknownSymbol, first, f"{series.symbol} is replayed "
                                   f"from {seen[spec.con_id].file} already")  # fmt: skip
            seen[spec.con_id] = series
            out[spec.con_id] = ReplayPath(
                series, spec, self.calendar(spec), self.anchor, self.setup.params_for(spec),
                self.seed, max_gap=replay.max_gap, bar_seconds=replay.bar_seconds,
            )  # fmt: skip
        return out

    def replayed(self, con_id: int) -> ReplayPath | None:
        """The replay behind `con_id`, if its path comes from a file."""
        return self._replays.get(con_id)

    def instrument(self, con_id: int) -> Instrument:
        inst = self._instruments.get(con_id)
        if inst is None:
            spec = self._spec_of(con_id)
            params = self.setup.params_for(spec)
            start = max(to_grid(spec.initial_price, spec.min_tick), 2 * spec.min_tick)
            path: SyntheticPath | ReplayPath | None = self._replays.get(con_id)
            if path is None:
                path = SyntheticPath(
                    spec, self.seed, self.calendar(spec), int(self.anchor), start, params
                )
            inst = self._instruments[con_id] = Instrument(spec, path, Tape(self.anchor))
        return inst

    def new_book(self, con_id: int, now: float, steps: int) -> Book:
        """The live book of `con_id`, continuing its path: the day's high, low and volume so
        far and the previous close come from history; its trades go on the tape."""
        inst = self.instrument(con_id)
        spec = inst.spec
        prev_close, today = day_stats(inst, self.anchor - 1)
        calendar = inst.calendar
        replay = self._replays.get(con_id)
        return Book(
            spec,
            self.seed,
            now,
            steps,
            tape=inst.tape,
            step_times=self.step_times,
            spread_ticks=self.spread_ticks(spec),
            prev_close=prev_close,
            today=today,
            is_open=None if calendar is ALWAYS_OPEN else calendar.is_open,
            last=None if replay is None else replay.anchor_price,
            feed=None if replay is None else replay.due,
        )

    def calendar(self, spec: ContractSpec) -> Calendar:
        return calendar_for(spec, self.setup.trading_hours)

    def spread_ticks(self, spec: ContractSpec) -> int:
        return self.setup.params_for(spec).spread_ticks

    def is_open(self, spec: ContractSpec, t: float, rth: bool = False) -> bool:
        """Whether `spec` trades at `t` (in its regular session, if `rth`)."""
        return self.calendar(spec).is_open(t, rth)

    def trades_now(self, spec: ContractSpec, t: float, *, outside_rth: bool) -> bool:
        """Whether an order may fill now: always with trading hours off; else in the regular
        session, or in the whole trading day for an order allowed outside it."""
        if not self.setup.trading_hours:
            return True
        return self.calendar(spec).is_open(t, rth=not outside_rth)

    def session_events(self, now: float, calendars: set[Calendar]) -> list[SessionEvent]:
        """The session boundaries crossed since the last call (none while trading hours are
        off: an always-open market has no close)."""
        after, self._seen = self._seen, max(self._seen, now)
        if not self.setup.trading_hours or now <= after:
            return []
        out: list[SessionEvent] = []
        for cal in calendars:
            if cal is ALWAYS_OPEN or self._next_edge.get(cal.name, -math.inf) > now:
                continue
            out.extend(cal.edges(after, now))
            upcoming = cal.edges(now, now + 8 * 86400)
            self._next_edge[cal.name] = upcoming[0].at if upcoming else math.inf
        out.sort(key=lambda e: e.at)
        return out

    def calendars(self, specs: list[ContractSpec]) -> set[Calendar]:
        return {self.calendar(s) for s in specs}


def zone_of(spec: ContractSpec) -> dt.tzinfo:
    return ZoneInfo(spec.time_zone_id) if spec.time_zone_id else dt.UTC


def day_stats(inst: Instrument, now: float) -> tuple[Decimal, Bar | None]:
    """(previous close, today's bar so far) for the quote's close/high/low/volume ticks."""
    days = inst.days(now - 10 * 86400, now + 1)
    past = [d for d in days if d.start <= now]
    if not past:
        return inst.path.anchor_price, None
    today = past[-1]
    before = inst.summary(past[-2].start, past[-2].end) if len(past) > 1 else None
    bar = inst.summary(today.start, min(today.end, now + 1))
    prev = before.close if before is not None else inst.path.anchor_price
    return prev, bar
