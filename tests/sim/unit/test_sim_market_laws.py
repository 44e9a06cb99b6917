"""The market model's consistency laws, as properties over seeds, instruments and times:
a 5-second bar is the trades inside it, a daily bar its intraday bars, bid < ask on every
print, history up to now is the live tape, and a fill lies within the book at its time."""

from __future__ import annotations

from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from ibgateway_sim.engine import Engine, ExecutionMade
from ibgateway_sim.engine.bars import bar_of
from ibgateway_sim.engine.market import MarketSetup
from tests.sim.engine_helpers import AAPL, T0, FakeClock, order

INSTRUMENTS = st.sampled_from([AAPL, 12087792, 637533000])  # a stock, EUR.USD, ES
LAWS = settings(max_examples=12, deadline=None)


def ohlcv(b: object) -> tuple[object, ...]:
    return tuple(getattr(b, f) for f in ("open", "high", "low", "close", "volume"))


@LAWS
@given(seed=st.integers(0, 1000), con_id=INSTRUMENTS, back=st.integers(5, 20 * 86400),
       hours=st.booleans())
def test_five_second_bars_are_their_trades(seed: int, con_id: int, back: int,
                                           hours: bool) -> None:
    engine = Engine(clock=FakeClock(), seed=seed, market=MarketSetup(trading_hours=hours))
    inst = engine.market.instrument(con_id)
    start = (int(T0) - back) // 5 * 5
    trades = inst.trades(start - 30, start + 30)
    for bar in inst.intraday_bars(start - 30, start + 30, 5, rth=False):
        inside = [t for t in trades if bar.start <= t.time < bar.start + 5]
        assert ohlcv(bar_of(bar.start, inside)) == ohlcv(bar)
    assert all(t.bid < t.price < t.ask for t in trades)


@LAWS
@given(seed=st.integers(0, 1000), con_id=INSTRUMENTS, hours=st.booleans())
def test_daily_bars_are_their_intraday_bars(seed: int, con_id: int, hours: bool) -> None:
    engine = Engine(clock=FakeClock(), seed=seed, market=MarketSetup(trading_hours=hours))
    inst = engine.market.instrument(con_id)
    for trading_day in inst.days(T0 - 4 * 86400, T0 - 86400)[:2]:
        ((_, day),) = inst.daily_bars(trading_day.start, trading_day.end, rth=False)
        hours = inst.intraday_bars(trading_day.start, trading_day.end, 3600, rth=False)
        assert day.volume == sum(b.volume for b in hours)
        assert (day.high, day.low) == (max(b.high for b in hours), min(b.low for b in hours))
        assert (day.open, day.close) == (hours[0].open, hours[-1].close)


@LAWS
@given(seed=st.integers(0, 1000), steps=st.integers(1, 30))
def test_history_up_to_now_is_the_tape_and_fills_lie_in_the_book(seed: int,
                                                                steps: int) -> None:
    clock = FakeClock()
    engine = Engine(clock=clock, seed=seed)
    inst = engine.market.instrument(AAPL)
    for i in range(steps):
        clock.t += 1
        engine.step()
        q = engine.quote(AAPL)
        assert q.bid < q.ask
        if i % 5 == 0:
            for ev in engine.place(order(100 + i, "BUY" if i % 2 else "SELL", 100)):
                if isinstance(ev, ExecutionMade):
                    assert q.bid <= ev.execution.price <= q.ask
    tape = inst.tape.between(T0, clock.t + 1)
    hist = inst.summary(T0, clock.t + 1)
    assert hist is not None and ohlcv(hist) == ohlcv(bar_of(T0, tape))
    assert inst.summary(T0 - 60, T0 + 0.5) is not None
    assert hist.close == engine.quote(AAPL).last and hist.volume > D(0)
