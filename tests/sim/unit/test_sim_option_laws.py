"""Options priced from their underlying, as laws over seeds, contracts and underlying prices:
an option's mid lies between its intrinsic value and the underlying's price (a call) or the
strike (a put), the implied volatility streamed with it reprices it within half a spread and
is the calculators' answer, its price moves with the underlying's, and its history is its
underlying's mapped (a daily bar its intraday bars, a 5-second bar its trades)."""

from __future__ import annotations

import itertools
from decimal import Decimal as D

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ibgateway_sim.engine import ContractQuery, ContractSpec, Engine, EngineError
from ibgateway_sim.engine.bars import bar_of
from ibgateway_sim.engine.market import MarketSetup
from ibgateway_sim.engine.option_model import intrinsic
from ibgateway_sim.engine.pricing import implied_vol, years_to_expiry
from ibgateway_sim.gateway.option_ticks import MODEL_OPTION, quote_computations
from tests.sim.engine_helpers import AAPL, T0, FakeClock, fills, order

LAWS = settings(max_examples=40, deadline=None)
RATE, DIVIDEND = 0.045, 0.0
OPTIONS = [
    s for s in Engine(clock=FakeClock()).match_contracts(ContractQuery(symbol="AAPL",
                                                                       sec_type="OPT"))
    if s.last_trade_date > "20261121"  # live from T0 through the laws' three days after it
]  # fmt: skip


def option(strike: int, right: str, expiry: str = "20270115") -> ContractSpec:
    (spec,) = [s for s in OPTIONS if s.strike == strike and s.right == right
               and s.last_trade_date == expiry]  # fmt: skip
    return spec


def ohlcv(b: object) -> tuple[object, ...]:
    return tuple(getattr(b, f) for f in ("open", "high", "low", "close", "volume"))


@LAWS
@given(seed=st.integers(0, 1000), spec=st.sampled_from(OPTIONS),
       spot=st.decimals(D("120.00"), D("260.00"), places=2), later=st.integers(0, 3 * 86400))
# a found case: just after midnight a deep in-the-money call rounded below the model's value
# at no volatility, so no volatility reproduced it
@example(seed=7, spec=option(150, "C", "20261218"), spot=D("205.00"), later=15 * 86400 - 39400)
def test_an_options_mid_lies_within_its_bounds_and_its_iv_reprices_it(
    seed: int, spec: ContractSpec, spot: D, later: int
) -> None:  # fmt: skip
    clock = FakeClock()
    engine = Engine(clock=clock, seed=seed)
    engine.quote(spec.con_id)
    clock.t += later
    engine.set_price(AAPL, spot)
    q = engine.quote(spec.con_id)
    mid = (q.bid + q.ask) / 2
    assert intrinsic(spec, spot) <= mid <= (spot if spec.right == "C" else spec.strike)
    assert q.bid < q.ask
    years = years_to_expiry(spec.last_trade_date, clock.t)
    model = quote_computations(spec, q, spot, years, RATE, DIVIDEND)[MODEL_OPTION]
    assert model.implied_vol is not None and model.greeks is not None
    assert abs(D(model.greeks.price) - mid) <= (q.ask - q.bid) / 2
    calculator = implied_vol(price=float(mid), spot=float(spot), strike=float(spec.strike),
                             years=years, rate=RATE, dividend=DIVIDEND, right=spec.right)
    assert calculator == pytest.approx(model.implied_vol, abs=1e-9)
    delta = model.greeks.delta
    assert (0 < delta < 1) if spec.right == "C" else (-1 < delta < 0)


@LAWS
@given(seed=st.integers(0, 1000), spec=st.sampled_from(OPTIONS),
       moves=st.lists(st.integers(-300, 300), min_size=2, max_size=8))
def test_an_option_moves_with_its_underlying(seed: int, spec: ContractSpec,
                                             moves: list[int]) -> None:
    clock = FakeClock()
    engine = Engine(clock=clock, seed=seed)
    seen = []
    for ticks in moves:
        clock.t += 1
        spot = D("185.00") + D(ticks) / 10
        engine.set_price(AAPL, spot)
        seen.append((spot, engine.quote(spec.con_id).last))
    sign = 1 if spec.right == "C" else -1
    for (s1, p1), (s2, p2) in itertools.pairwise(seen):  # monotone within one day
        assert (p2 - p1) * (s2 - s1) * sign >= 0
    tape = engine.market.instrument(spec.con_id).tape.between(T0, clock.t + 1)
    assert [t.price for t in tape][-len(moves):] == [p for _, p in seen]


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 1000), spec=st.sampled_from(OPTIONS), hours=st.booleans(),
       back=st.integers(5, 10 * 86400))
def test_an_options_history_is_consistent_at_every_bar_size(
    seed: int, spec: ContractSpec, hours: bool, back: int
) -> None:  # fmt: skip
    engine = Engine(clock=FakeClock(), seed=seed, market=MarketSetup(trading_hours=hours))
    inst = engine.market.instrument(spec.con_id)
    start = (int(T0) - back) // 5 * 5
    trades = inst.trades(start - 30, start + 30)
    for bar in inst.intraday_bars(start - 30, start + 30, 5, rth=False):
        inside = [t for t in trades if bar.start <= t.time < bar.start + 5]
        assert ohlcv(bar_of(bar.start, inside)) == ohlcv(bar)
    assert all(t.bid < t.price < t.ask for t in trades)
    for day in inst.days(T0 - 4 * 86400, T0 - 86400)[:2]:
        ((_, daily),) = inst.daily_bars(day.start, day.end, rth=False)
        hourly = inst.intraday_bars(day.start, day.end, 3600, rth=False)
        assert daily.volume == sum(b.volume for b in hourly)
        assert (daily.high, daily.low) == (max(b.high for b in hourly),
                                           min(b.low for b in hourly))
        assert (daily.open, daily.close) == (hourly[0].open, hourly[-1].close)


def test_history_runs_into_the_live_book_without_a_seam() -> None:
    engine = Engine(clock=FakeClock(), seed=3)
    spec = option(185, "C")
    inst = engine.market.instrument(spec.con_id)
    before = inst.summary(T0 - 60, T0)
    assert before is not None and before.close == engine.quote(spec.con_id).last


def test_the_180_call_is_worth_at_least_its_intrinsic_value_after_the_stock_jumps() -> None:
    engine = Engine(clock=FakeClock(), seed=0)
    call = option(180, "C")
    engine.set_price(AAPL, D("190"))
    q = engine.quote(call.con_id)
    assert q.bid >= D(10) and q.last > D(10)


def test_setting_an_options_price_sets_its_volatility_which_later_prices_follow() -> None:
    clock = FakeClock()
    engine = Engine(clock=clock, seed=0)
    call = option(190, "C")
    engine.set_price(AAPL, D("185"))
    engine.set_price(call.con_id, D("20.00"))
    assert engine.quote(call.con_id).last == D("20.00")
    clock.t += 1
    engine.set_price(AAPL, D("186"))
    assert D("20.00") < engine.quote(call.con_id).last < D("21.00")
    with pytest.raises(EngineError, match="intrinsic value 6"):
        engine.set_price(option(180, "C").con_id, D("5.00"))


def test_a_resting_option_order_fills_when_its_underlying_moves_it() -> None:
    clock = FakeClock()
    engine = Engine(clock=clock, seed=0)
    put = option(190, "P")
    engine.set_price(AAPL, D("185"))
    limit = engine.quote(put.con_id).ask - 2
    assert not fills(engine.place(order(1, "BUY", 1, "LMT", con_id=put.con_id,
                                        limit_price=limit)))  # fmt: skip
    clock.t += 1
    (fill,) = fills(engine.set_price(AAPL, D("190")))
    assert fill.price <= limit and fill.shares == 1
