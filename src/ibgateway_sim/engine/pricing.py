"""Black-Scholes-Merton for European options on a dividend-paying underlying: the price, the
greeks TWS reports (delta, gamma, vega per vol point, theta per day), and the implied
volatility that reproduces a price.

Floats are fine here: results leave through `to_decimal`, rounded, as TWS's model values are
approximations too. Pure functions, no clock: the caller gives the time to expiry.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from decimal import Decimal

_SQRT_2PI = math.sqrt(2.0 * math.pi)
MIN_VOL, MAX_VOL = 1e-4, 5.0


def normal_cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def _normal_pdf(x: float) -> float:
    return math.exp(-0.5 * x * x) / _SQRT_2PI


@dataclass(frozen=True, slots=True)
class Greeks:
    price: float
    delta: float
    gamma: float
    vega: float  # per 1.00 of volatility / 100, i.e. per vol point, as TWS shows it
    theta: float  # per calendar day


def black_scholes(
    *, spot: float, strike: float, years: float, vol: float, rate: float, dividend: float,
    right: str,
) -> Greeks:  # fmt: skip
    """Price and greeks; `right` is "C" or "P"; `years` > 0 and `vol` > 0."""
    t, sig = max(years, 1e-9), max(vol, MIN_VOL)
    sq = sig * math.sqrt(t)
    d1 = (math.log(spot / strike) + (rate - dividend + 0.5 * sig * sig) * t) / sq
    d2 = d1 - sq
    dq, dr = math.exp(-dividend * t), math.exp(-rate * t)
    pdf = _normal_pdf(d1)
    gamma = dq * pdf / (spot * sq)
    vega = spot * dq * pdf * math.sqrt(t) / 100.0
    if right == "C":
        price = spot * dq * normal_cdf(d1) - strike * dr * normal_cdf(d2)
        delta = dq * normal_cdf(d1)
        theta = (
            -spot * dq * pdf * sig / (2 * math.sqrt(t))
            - rate * strike * dr * normal_cdf(d2)
            + dividend * spot * dq * normal_cdf(d1)
        )
    else:
        price = strike * dr * normal_cdf(-d2) - spot * dq * normal_cdf(-d1)
        delta = -dq * normal_cdf(-d1)
        theta = (
            -spot * dq * pdf * sig / (2 * math.sqrt(t))
            + rate * strike * dr * normal_cdf(-d2)
            - dividend * spot * dq * normal_cdf(-d1)
        )
    return Greeks(price, delta, gamma, vega, theta / 365.0)


def implied_vol(
    *, price: float, spot: float, strike: float, years: float, rate: float, dividend: float,
    right: str,
) -> float | None:  # fmt: skip
    """The volatility at which `black_scholes` gives `price` (bisection: the price is
    monotonic in vol); None when no volatility in [MIN_VOL, MAX_VOL] reaches it."""

    def at(v: float) -> float:
        return black_scholes(
            spot=spot, strike=strike, years=years, vol=v, rate=rate, dividend=dividend,
            right=right,
        ).price  # fmt: skip

    lo, hi = MIN_VOL, MAX_VOL
    if not at(lo) <= price <= at(hi):
        return None
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        if at(mid) < price:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-10:
            break
    return 0.5 * (lo + hi)


def to_decimal(x: float, places: int = 6) -> Decimal:
    return Decimal(f"{x:.{places}f}")


SECONDS_PER_YEAR = 365.0 * 86400.0
MIN_YEARS = 3600.0 / SECONDS_PER_YEAR  # an hour: the model's floor on time to expiry


def years_to_expiry(last_trade_date: str, now: float) -> float:
    """Years from `now` to 16:00 New York (21:00 UTC) on the option's last trade date."""
    expiry = dt.datetime.strptime(last_trade_date[:8], "%Y%m%d").replace(hour=21, tzinfo=dt.UTC)
    return max(expiry.timestamp() - now, 3600.0) / SECONDS_PER_YEAR


@dataclass(frozen=True, slots=True)
class OptionValues:
    """One option computation as TWS reports it; None where it is "not computed"."""

    implied_vol: float | None
    greeks: Greeks | None  # the price and greeks at `implied_vol`
    pv_dividend: float
    und_price: float


def option_values(
    *, spot: float, strike: float, years: float, rate: float, dividend: float, right: str,
    vol: float | None,
) -> OptionValues:  # fmt: skip
    """The computation at volatility `vol` (None when no volatility reproduces a price)."""
    pv_dividend = spot * (1.0 - math.exp(-dividend * years))
    if vol is None:
        return OptionValues(None, None, pv_dividend, spot)
    g = black_scholes(
        spot=spot, strike=strike, years=years, vol=vol, rate=rate, dividend=dividend, right=right
    )
    return OptionValues(vol, g, pv_dividend, spot)
