"""Picking an option by delta through `Ibkr` over TCP: the simulator prices options from their
underlying, so after `set_price` moves the stock, every strike of the nearest expiry four
weeks or more away has its greeks, the deltas fall across the strikes, and the call nearest
a 0.30 delta is out of the money; moving the stock again moves that call's price and delta
with it.

Each test runs on a simulator whose clock reads today and on one years ahead of the fixed
expiries (2031-03-10): the universe's rolling expiries keep a live chain on any date. (Closer
to expiry a deep in-the-money call's price is its floor on the tick grid, its implied
volatility that rounding's, so its delta need not fall with the strike.)"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from horizon.venues.ibkr import Greeks, Ibkr
from ibgateway_sim import GatewaySimulator
from ibgateway_sim.clock import SimClock
from tests.venue.conftest import STILL_MARKET

YEARS_AHEAD = datetime(2031, 3, 10, 15, 0, tzinfo=UTC)  # a Monday, 10:00 in New York
HORIZON = timedelta(weeks=4)  # the shortest time to expiry the test picks


@pytest.fixture(params=["today", "2031"])
def gateway(request: pytest.FixtureRequest) -> Iterator[GatewaySimulator]:
    """The still-market simulator (as the suite's), its clock today's or 2031's."""
    clock: Callable[[], float] = (
        time.time if request.param == "today" else SimClock(YEARS_AHEAD.timestamp())
    )
    sim = GatewaySimulator(**STILL_MARKET, clock=clock)
    sim.start()
    try:
        yield sim
    finally:
        sim.stop()


def sim_today(gateway: GatewaySimulator) -> date:
    """The simulator's date: its clock's, not the wall clock's."""
    return datetime.fromtimestamp(gateway.options.clock(), UTC).date()


def nearest_expiry(ibkr: Ibkr, today: date) -> tuple[date, tuple[Decimal, ...]]:
    """The chain's nearest expiry at least `HORIZON` after `today`, and its strikes."""
    [smart] = [c for c in ibkr.option_chain("AAPL") if c.exchange == "SMART"]
    return next(e for e in smart.expirations if e >= today + HORIZON), smart.strikes


def option_id(expiry: date, strike: Decimal, right: str) -> str:
    return f"OPT:AAPL:{expiry:%Y%m%d}:{strike.normalize():f}:{right}"


def complete(g: Greeks) -> bool:
    return None not in (g.implied_volatility, g.delta, g.gamma, g.vega, g.theta,
                        g.option_price, g.underlying_price)  # fmt: skip


def test_the_call_nearest_a_030_delta_after_the_stock_moves(
    gateway: GatewaySimulator, ibkr: Ibkr
) -> None:
    gateway.set_price("AAPL", Decimal("205.00"))
    expiry, strikes = nearest_expiry(ibkr, sim_today(gateway))
    calls = {k: ibkr.greeks(option_id(expiry, k, "C")) for k in strikes}
    puts = {k: ibkr.greeks(option_id(expiry, k, "P")) for k in strikes}
    for g in (*calls.values(), *puts.values()):
        assert complete(g), g
        assert g.underlying_price == Decimal("205.00")
        assert g.gamma > 0 and g.vega > 0 and g.theta < 0  # type: ignore[operator]
        assert g.implied_volatility > 0  # type: ignore[operator]
    call_deltas = [calls[k].delta for k in strikes]
    put_deltas = [puts[k].delta for k in strikes]
    assert all(0 < d < 1 for d in call_deltas)  # type: ignore[operator]
    assert all(-1 < d < 0 for d in put_deltas)  # type: ignore[operator]
    assert call_deltas == sorted(call_deltas, reverse=True) and len(set(call_deltas)) > 1
    assert put_deltas == sorted(put_deltas, reverse=True) and len(set(put_deltas)) > 1
    for k in strikes:  # at least intrinsic value, so an implied volatility exists
        assert calls[k].option_price >= max(Decimal("205.00") - k, Decimal(0))  # type: ignore[operator]
        assert puts[k].option_price >= max(k - Decimal("205.00"), Decimal(0))  # type: ignore[operator]

    strike, picked = min(calls.items(), key=lambda kv: abs(kv[1].delta - Decimal("0.30")))  # type: ignore[operator]
    assert strike > Decimal("205.00") and Decimal("0.15") < picked.delta < Decimal("0.45")  # type: ignore[operator]

    gateway.set_price("AAPL", Decimal("215.00"))
    moved = ibkr.greeks(picked.market_id)
    assert moved.underlying_price == Decimal("215.00")
    assert moved.delta > picked.delta and moved.option_price > picked.option_price  # type: ignore[operator]


def test_an_in_the_money_call_keeps_its_greeks_when_the_stock_jumps(
    gateway: GatewaySimulator, ibkr: Ibkr
) -> None:
    """The case the independent paths got wrong: AAPL to 190 left the 180 call below its
    intrinsic value of 10, with no implied volatility and no greeks."""
    gateway.set_price("AAPL", Decimal("190.00"))
    expiry, _ = nearest_expiry(ibkr, sim_today(gateway))
    call = option_id(expiry, Decimal(180), "C")
    g = ibkr.greeks(call)
    assert complete(g), g
    assert g.option_price >= Decimal(10) and Decimal("0.5") < g.delta < 1  # type: ignore[operator]
    quote = ibkr.quote(call)
    assert quote.bid is not None and quote.bid >= Decimal(10)
