"""Options priced from their underlying: one market model behind an option's every number.

An option has no price path of its own. Its price at any instant is Black-Scholes-Merton on
the underlying's price at that instant, at the option's implied volatility and the
simulator's rate and dividend yield (`pricing.py`), on the tick grid, floored at intrinsic
value (an American option is never worth less than exercising it) and capped at the
underlying's price (a call) or the strike (a put). Every underlying trade maps to one option
trade at that price, so the option's history, bars and tape are the underlying's mapped, and
`set_price` on the underlying moves its options.

Implied volatility is per contract and constant (sticky strike): a seeded level per
underlying near its path's volatility, with an equity skew and smile in log-moneyness
against the underlying's initial price, slightly higher for short expiries. `set_price` on an
option sets its volatility to the one that reproduces the price (from then on).

The time to expiry a price uses is taken at the start of the trading day the trade is in, so
within a day an option's price is a monotone function of the underlying's price (rising for
a call, falling for a put): that keeps an option's bar of any size exactly the mapped bar of
its underlying, and a daily bar its intraday bars. The greeks streamed with the quote are
computed at the clock's own time, as the option calculators compute them.

Pure functions and one small class; no clock is read here.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Protocol

from .bars import Bar, Trade, merge
from .model import ContractSpec
from .path import PathParams
from .pricing import (
    MAX_VOL,
    MIN_VOL,
    SECONDS_PER_YEAR,
    black_scholes,
    implied_vol,
    years_to_expiry,
)
from .sessions import Calendar

MIN_IV, MAX_IV = 0.05, 2.0  # the surface's bounds
SKEW, SMILE, TERM = -0.6, 1.2, 0.15  # per unit of log-moneyness, its square, short-dated lift


@dataclass(frozen=True, slots=True)
class OptionRates:
    """The rate and continuous dividend yield options are priced at (fractions a year)."""

    rate: float = 0.045
    dividend: float = 0.0


def smile_vol(level: float, strike: float, reference: float, years: float) -> float:
    """The surface's volatility for a strike: `level` at the money, higher below it (skew)
    and on both wings (smile), a little higher for expiries under a year."""
    m = math.log(strike / reference)
    term = 1.0 + TERM * max(0.0, 1.0 - years)
    return min(max(level * term * (1.0 + SKEW * m + SMILE * m * m), MIN_IV), MAX_IV)


def vol_level(seed: int, under_con_id: int, path_volatility: float) -> float:
    """A seeded at-the-money volatility per underlying, near its price path's volatility."""
    return path_volatility * random.Random(f"{seed}:iv:{under_con_id}").uniform(0.95, 1.15)


def _grid(x: Decimal, tick: Decimal, rounding: str) -> Decimal:
    return ((x / tick).to_integral_value(rounding) * tick).quantize(tick)


def intrinsic(spec: ContractSpec, spot: Decimal) -> Decimal:
    return max(spot - spec.strike, Decimal(0)) if spec.right == "C" else max(
        spec.strike - spot, Decimal(0)
    )


def option_price(
    spec: ContractSpec, spot: Decimal, years: float, vol: float, rates: OptionRates
) -> Decimal:
    """The option's price on its tick grid: Black-Scholes rounded to the nearest tick, at
    least intrinsic value and the model's value at no volatility (both rounded up, so an
    implied volatility always reproduces it) and one tick, at most the underlying's price
    (a call, rounded down) or the strike (a put). Weakly monotone in `spot`."""
    tick = spec.min_tick
    s, k = float(spot), float(spec.strike)
    value = black_scholes(
        spot=s, strike=k, years=years, vol=vol, rate=rates.rate, dividend=rates.dividend,
        right=spec.right,
    ).price  # fmt: skip
    forward = s * math.exp(-rates.dividend * years) - k * math.exp(-rates.rate * years)
    floor = max(forward if spec.right == "C" else -forward, 0.0)
    price = _grid(Decimal(f"{value:.8f}"), tick, "ROUND_HALF_EVEN")
    price = max(price, _grid(intrinsic(spec, spot), tick, ROUND_CEILING),
                _grid(Decimal(f"{floor:.8f}"), tick, ROUND_CEILING), tick)  # fmt: skip
    cap = _grid(spot, tick, ROUND_FLOOR) if spec.right == "C" else spec.strike
    return min(price, max(cap, tick))


def vol_for_price(
    spec: ContractSpec, price: Decimal, spot: Decimal, years: float, rates: OptionRates
) -> float | None:
    """The volatility at which the option is worth `price` (None when none in the model's
    range reproduces it, e.g. below intrinsic value)."""
    if price < intrinsic(spec, spot):
        return None
    vol = implied_vol(
        price=float(price), spot=float(spot), strike=float(spec.strike), years=years,
        rate=rates.rate, dividend=rates.dividend, right=spec.right,
    )  # fmt: skip
    return None if vol is None else min(max(vol, MIN_VOL), MAX_VOL)


class OptionPricer:
    """How one option's price follows its underlying's: the pricing instant of a time (the
    start of its trading day), the volatility in force, and the mapping of a trade or bar."""

    def __init__(
        self, spec: ContractSpec, calendar: Calendar, vol: float, rates: OptionRates
    ) -> None:
        self.spec = spec
        self.calendar = calendar
        self.vol = vol
        self.rates = rates
        self._window = (math.inf, -math.inf)  # the trading day last looked up
        self._expiry = years_to_expiry(spec.last_trade_date, 0.0) * SECONDS_PER_YEAR
        self._prices: dict[tuple[Decimal, float, float], Decimal] = {}

    def window(self, t: float) -> tuple[float, float] | None:
        """The trading day holding `t` as [start, end), if it trades then."""
        lo, hi = self._window
        if lo <= t < hi:
            return self._window
        day = self.calendar.day_at(t)
        if day is None:
            return None
        self._window = (day.start, day.end)
        return self._window

    def priced_at(self, t: float) -> float:
        """The instant whose time to expiry prices a trade at `t`: its trading day's start
        (or `t` itself outside every trading day)."""
        window = self.window(t)
        return t if window is None else window[0]

    def years(self, t: float) -> float:
        """Years to expiry from the pricing instant of `t` (as `pricing.years_to_expiry`)."""
        return max(self._expiry - self.priced_at(t), 3600.0) / SECONDS_PER_YEAR

    def price(self, spot: Decimal, t: float) -> Decimal:
        key = (spot, self.priced_at(t), self.vol)
        price = self._prices.get(key)
        if price is None:
            if len(self._prices) > 100_000:
                self._prices.clear()
            price = self._prices[key] = option_price(
                self.spec, spot, self.years(t), self.vol, self.rates
            )
        return price

    def trade(self, under: Trade, under_lot: Decimal, spread: Decimal) -> Trade:
        """The option's print for an underlying print: its price, the underlying's size in
        lots as contracts, the book one spread either side."""
        p = self.price(under.price, under.time)
        size = max(under.size / under_lot, Decimal(1)).to_integral_value(ROUND_FLOOR)
        lots = (under.bid_size / under_lot).to_integral_value(ROUND_FLOOR)
        return Trade(
            time=under.time, price=p, size=size, bid=max(p - spread, Decimal(0)),
            ask=p + spread, bid_size=max(lots, Decimal(1)),
            ask_size=max((under.ask_size / under_lot).to_integral_value(ROUND_FLOOR),
                         Decimal(1)),
        )  # fmt: skip

    def bar(self, under: Bar, under_lot: Decimal) -> Bar:
        """The option's bar for an underlying bar inside one trading day: the price mapping
        is monotone there, so the extremes map to the extremes (swapped for a put)."""
        t = under.start
        o, c = self.price(under.open, t), self.price(under.close, t)
        up, down = self.price(under.high, t), self.price(under.low, t)
        high, low = (up, down) if self.spec.right == "C" else (down, up)
        tick = self.spec.min_tick
        return Bar(
            start=under.start, open=o, high=high, low=low, close=c,
            volume=(under.volume / under_lot).to_integral_value(ROUND_FLOOR),
            wap=((o + high + low + c) / 4).quantize(tick / 100), count=under.count,
        )  # fmt: skip


class UnderlyingPath(Protocol):
    """What a derived path reads of its underlying's generated or replayed history."""

    anchor_price: Decimal

    def summary(self, start: float, end: float) -> Bar | None: ...

    def trades(self, start: float, end: float) -> list[Trade]: ...

    def first_time(self) -> float: ...


class DerivedPath:
    """An option's history before the simulator started: its underlying's, mapped through
    `OptionPricer` one trading day at a time (the same interface as `path.SyntheticPath`
    where `market.Instrument` reads one)."""

    def __init__(
        self, spec: ContractSpec, under: UnderlyingPath, under_lot: Decimal,
        pricer: OptionPricer, params: PathParams, anchor: float,
    ) -> None:  # fmt: skip
        self.spec = spec
        self.under = under
        self.under_lot = under_lot
        self.pricer = pricer
        self.calendar = pricer.calendar
        self.params = params
        self.spread = params.spread_ticks * spec.min_tick
        self.anchor_price = pricer.price(under.anchor_price, anchor - 1)

    def summary(self, start: float, end: float) -> Bar | None:
        """The mapped bar of each trading day's part of [start, end), merged."""
        window = self.pricer.window(start)
        if window is not None and end <= window[1]:  # inside one day: the common case
            part = self.under.summary(start, end)
            return None if part is None else self.pricer.bar(part, self.under_lot)
        parts = []
        for day in self.calendar.days(start, end):
            part = self.under.summary(max(start, day.start), min(end, day.end))
            if part is not None:
                parts.append(self.pricer.bar(part, self.under_lot))
        return merge(float(math.ceil(start)), parts)

    def trades(self, start: float, end: float) -> list[Trade]:
        return [self.pricer.trade(t, self.under_lot, self.spread)
                for t in self.under.trades(start, end)]  # fmt: skip

    def first_time(self) -> float:
        return self.under.first_time()


@dataclass(slots=True)
class Follower:
    """The live side of a derived option: how far its book has followed the underlying's
    tape, and the pricing instant of its last quote."""

    under_con_id: int
    pricer: OptionPricer
    under_lot: Decimal
    spread: Decimal
    seen: int = 0  # underlying tape entries already mapped onto the option's
    priced: float = -math.inf
