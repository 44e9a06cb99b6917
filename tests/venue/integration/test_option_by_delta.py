"""Picking an option by delta through `Ibkr` over TCP: the simulator prices options from their
underlying, so after `set_price` moves the stock, every strike of the nearest expiry has its
greeks, the deltas fall across the strikes, and the call nearest a 0.30 delta is out of the
money; moving the stock again moves that call's price and delta with it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from horizon.venues.ibkr import Greeks, Ibkr
from ibgateway_sim import GatewaySimulator


def nearest_expiry(ibkr: Ibkr) -> tuple[date, tuple[Decimal, ...]]:
    [smart] = [c for c in ibkr.option_chain("AAPL") if c.exchange == "SMART"]
    return next(e for e in smart.expirations if e > date.today()), smart.strikes


def option_id(expiry: date, strike: Decimal, right: str) -> str:
    return f"OPT:AAPL:{expiry:%Y%m%d}:{strike.normalize():f}:{right}"


def complete(g: Greeks) -> bool:
    return None not in (g.implied_volatility, g.delta, g.gamma, g.vega, g.theta,
                        g.option_price, g.underlying_price)  # fmt: skip


def test_the_call_nearest_a_030_delta_after_the_stock_moves(
    gateway: GatewaySimulator, ibkr: Ibkr
) -> None:
    gateway.set_price("AAPL", Decimal("205.00"))
    expiry, strikes = nearest_expiry(ibkr)
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
    expiry, _ = nearest_expiry(ibkr)
    call = option_id(expiry, Decimal(180), "C")
    g = ibkr.greeks(call)
    assert complete(g), g
    assert g.option_price >= Decimal(10) and Decimal("0.5") < g.delta < 1  # type: ignore[operator]
    quote = ibkr.quote(call)
    assert quote.bid is not None and quote.bid >= Decimal(10)
