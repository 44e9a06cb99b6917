"""A replayed instrument's path: the trades of a user's file, as history before the simulator
started and as a live feed after it.

The file's times are kept as they are: rows before the simulator's start (its clock's first
reading) are history, rows after it print on the live tape when the clock passes them, so a
clock started inside the file replays the rest forward. A bar replays as four prints, open
first, then low and high (high first for a falling bar), close last, a quarter of the bar
apart (whole seconds) and its volume split among them, so every bar of the file's size (and
every coarser one) is exactly the file's bar. A tick row is one print. The book around a
print is the print plus and minus the spread, as for a generated path.

The same interface as `path.SyntheticPath` where `market.Instrument` reads one.
"""

from __future__ import annotations

import random
from bisect import bisect_left, bisect_right
from decimal import Decimal

from .bars import Bar, Trade, bar_of
from .model import ContractSpec
from .path import LOTS, PathParams
from .replay import Kind, ReplayFormatError, ReplayGapError, ReplayOrderError, Row, Series
from .sessions import Calendar

DEFAULT_BAR_SECONDS = 60  # a file with a single bar


class ReplayPath:
    """History (trades before `anchor`) and the live feed (the rest) of one file's symbol."""

    def __init__(
        self,
        series: Series,
        spec: ContractSpec,
        calendar: Calendar,
        anchor: float,
        params: PathParams,
        seed: int,
        *,
        max_gap: float | None = None,
        bar_seconds: int | None = None,
    ) -> None:
        self.spec = spec
        self.calendar = calendar
        self.anchor = anchor
        self.params = params
        self.file = series.file
        self.bar_seconds = _bar_seconds(series, bar_seconds)
        _check_gaps(series, calendar, self.bar_seconds, max_gap)
        self._trades = _trades(series, spec, params, seed, self.bar_seconds)
        self._times = [t.time for t in self._trades]
        self._live = bisect_left(self._times, anchor)  # the first trade not yet printed
        first = self._trades[0].price
        self.anchor_price = self._trades[self._live - 1].price if self._live else first
        self.last_time = self._times[-1]

    def summary(self, start: float, end: float) -> Bar | None:
        """The bar of the file's trades in [start, end) before the anchor."""
        return bar_of(start, self.trades(start, end))

    def trades(self, start: float, end: float) -> list[Trade]:
        lo = bisect_left(self._times, start)
        hi = bisect_left(self._times, min(end, self.anchor))
        return self._trades[lo:hi]

    def first_time(self) -> float:
        """When history begins (reqHeadTimeStamp): the file's first row, or the start."""
        return min(self._times[0], self.anchor)

    def due(self, now: float) -> list[Trade]:
        """The trades at or before `now` not printed yet, in order (each is printed once)."""
        hi = bisect_right(self._times, now, lo=self._live)
        out, self._live = self._trades[self._live : hi], max(self._live, hi)
        return out

    @property
    def exhausted(self) -> bool:
        """Whether every row has been printed (the replay is over; the price holds)."""
        return self._live >= len(self._trades)


def _bar_seconds(series: Series, given: int | None) -> int:
    if series.kind is Kind.TICKS:
        return 0
    steps = [b.time - a.time for a, b in zip(series.rows, series.rows[1:], strict=False)]
    if given is not None:
        for (a, b), step in zip(zip(series.rows, series.rows[1:], strict=False), steps,
                                strict=True):  # fmt: skip
            if step < given:
                raise series.error(ReplayOrderError, b, f"bars of {given} s overlap: this one "
                                   f"starts {step:g} s after line {a.line}")  # fmt: skip
        return given
    return int(min(steps)) if steps else DEFAULT_BAR_SECONDS


def _check_gaps(series: Series, calendar: Calendar, bar: int, max_gap: float | None) -> None:
    if max_gap is None:
        return
    for a, b in zip(series.rows, series.rows[1:], strict=False):
        after = a.time + bar
        if b.time - after <= max_gap:
            continue
        gap = open_seconds(calendar, after, b.time)
        if gap > max_gap:
            raise series.error(ReplayGapError, b, f"{gap:g} s of trading time since line "
                               f"{a.line} (max_gap is {max_gap:g} s)")  # fmt: skip


def open_seconds(calendar: Calendar, start: float, end: float) -> float:
    """The seconds of [start, end) in which `calendar` trades."""
    return sum(
        max(0.0, min(d.end, end) - max(d.start, start)) for d in calendar.days(start, end)
    )


def _trades(
    series: Series, spec: ContractSpec, params: PathParams, seed: int, bar: int
) -> list[Trade]:
    tick = spec.min_tick
    spread = params.spread_ticks * tick
    lot = LOTS.get(spec.sec_type, Decimal(1))
    rng = random.Random(f"{seed}:{spec.con_id}:replay")
    out: list[Trade] = []
    for row in series.rows:
        prices = [_on_grid(series, row, p, tick) for p in row.prices]
        if series.kind is Kind.TICKS:
            prints = [(row.time, prices[0], row.volume)]
        else:
            prints = _bar_prints(row, prices, bar)
        for t, price, size in prints:
            out.append(Trade(
                time=t, price=price, size=size, bid=max(price - spread, Decimal(0)),
                ask=price + spread, bid_size=lot * rng.randint(1, 30),
                ask_size=lot * rng.randint(1, 30),
            ))  # fmt: skip
    return out


def _bar_prints(row: Row, prices: list[Decimal], bar: int) -> list[tuple[float, Decimal, Decimal]]:
    o, h, lo, c = prices
    path = (o, lo, h, c) if c >= o else (o, h, lo, c)
    v = row.volume
    if v == v.to_integral_value():
        part = (v / 4).to_integral_value(rounding="ROUND_FLOOR")
    else:
        part = v / 4
    sizes = (part, part, part, v - 3 * part)
    return [(row.time + k * bar // 4, p, q) for k, (p, q) in enumerate(zip(path, sizes,
                                                                            strict=True))]


def _on_grid(series: Series, row: Row, price: Decimal, tick: Decimal) -> Decimal:
    if price % tick != 0:
        raise series.error(ReplayFormatError, row, f"price {price} is not a multiple of "
                           f"{series.symbol}'s minimum tick {tick}")  # fmt: skip
    return price.quantize(tick)
