"""Paper engine, auctions run by the session clock (trading hours on): the closing auction at
each regular close, before DAY orders expire, and the opening auction at each regular open."""

from __future__ import annotations

from decimal import Decimal as D

from ibgateway_sim.engine import Engine
from ibgateway_sim.engine.market import MarketSetup
from ibgateway_sim.engine.sessions import US_EQUITY
from tests.sim.engine_helpers import AAPL, FakeClock, fills, order, statuses

OPEN = US_EQUITY.next_regular_open(1_795_000_000.0)  # a Thursday's 09:30 New York


def engine_at(t: float) -> tuple[Engine, FakeClock]:
    clock = FakeClock(t)
    return Engine(clock=clock, seed=7, market=MarketSetup(trading_hours=True)), clock


def test_moc_executes_at_the_close_and_day_orders_expire() -> None:
    engine, clock = engine_at(OPEN + 6.5 * 3600 - 60)  # 15:59
    engine.place(order(1, otype="MOC"))
    engine.place(order(2, otype="LMT", limit_price=D("100.00")))  # a DAY order
    engine.place(order(3, otype="LMT", limit_price=D("100.00"), tif="GTC"))
    engine.step()
    close = engine.quote(AAPL).last
    clock.t += 61  # 16:00:01
    events = engine.step()
    (ex,) = fills(events)
    assert (ex.order_id, ex.price) == (1, close)
    assert statuses(events, 1) == ["Filled"] and statuses(events, 2) == ["Cancelled"]
    assert engine.order(1, 3).status == "Submitted"  # GTC lives on


def test_opg_executes_at_the_regular_open() -> None:
    engine, clock = engine_at(OPEN - 600)  # 09:20, pre-market
    engine.place(order(1, tif="OPG"))
    engine.place(order(2, otype="LMT", limit_price=D("1.00"), tif="OPG"))
    assert fills(engine.step()) == []
    clock.t += 601
    events = engine.step()
    assert [ex.order_id for ex in fills(events)] == [1]
    assert statuses(events, 2) == ["Cancelled"]  # its limit missed: cancelled as IB does
