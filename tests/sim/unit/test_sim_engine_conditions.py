"""Paper engine, order conditions (TWS API "Order Conditions"): an order is held
PreSubmitted until its chain holds, then works (or, with conditionsCancelOrder, is
cancelled). AAPL starts at 185.00 with a 184.99 / 185.01 quote; a fake clock drives time."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from ibgateway_sim.engine import ConditionRequest, Engine
from ibgateway_sim.engine.market import MarketSetup
from ibgateway_sim.engine.sessions import US_EQUITY
from tests.sim.engine_helpers import AAPL, MSFT, FakeClock, errors, fills, order, statuses


def price(value: str, above: bool = True, method: int = 2, con_id: int = AAPL,
          conj: str = "a") -> ConditionRequest:
    return ConditionRequest(1, (conj, "1" if above else "0", value, str(con_id), "SMART",
                                str(method)))


def time_after(at: str, conj: str = "a") -> ConditionRequest:
    return ConditionRequest(3, (conj, "1", at))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def engine(clock: FakeClock) -> Engine:
    return Engine(clock=clock, seed=7)


def test_held_presubmitted_until_the_price_condition_holds(engine: Engine) -> None:
    events = engine.place(order(1, conditions=(price("186.00"),)))
    assert statuses(events) == ["PreSubmitted"] and fills(events) == []
    assert fills(engine.set_price(AAPL, D("185.50"))) == []
    state = engine.order(1, 1)
    assert state is not None and state.status == "PreSubmitted"
    events = engine.set_price(AAPL, D("186.00"))
    assert statuses(events, 1)[:1] == ["Submitted"]
    (ex,) = fills(events)
    assert ex.price == D("186.01") and ex.order_id == 1  # then a market order: the ask


def test_a_condition_already_true_releases_at_placement(engine: Engine) -> None:
    events = engine.place(order(1, conditions=(price("180.00"),)))
    assert statuses(events)[:2] == ["PreSubmitted", "Submitted"] and len(fills(events)) == 1


def test_conditions_cancel_order_cancels_instead(engine: Engine) -> None:
    engine.place(order(1, otype="LMT", limit_price=D("150.00"),
                       conditions=(price("186.00"),), conditions_cancel_order=True))
    events = engine.set_price(AAPL, D("186.50"))
    assert statuses(events, 1) == ["Cancelled"] and fills(events) == []


@pytest.mark.parametrize(
    ("method", "moves", "released_at"),
    [
        (2, ["186.00"], 0),  # last
        (3, ["186.00", "186.00"], 1),  # double last: two updates in a row
        (4, ["185.99"], 0),  # bid/ask: above reads the ask, 186.00
        (1, ["185.99", "185.99"], 1),  # double bid/ask
        (7, ["185.99"], 0),  # last or bid/ask
        (8, ["186.00"], 0),  # midpoint
        (0, ["186.00"], 0),  # default for a stock: last
    ],
)
def test_trigger_methods(engine: Engine, method: int, moves: list[str], released_at: int
                         ) -> None:
    engine.place(order(1, conditions=(price("186.00", method=method),)))
    released = [bool(fills(engine.set_price(AAPL, D(p)))) for p in moves]
    assert released.index(True) == released_at


def test_double_last_needs_consecutive_updates(engine: Engine) -> None:
    engine.place(order(1, conditions=(price("186.00", method=3),)))
    assert fills(engine.set_price(AAPL, D("186.00"))) == []
    assert fills(engine.set_price(AAPL, D("185.00"))) == []  # the run is broken
    assert fills(engine.set_price(AAPL, D("186.00"))) == []
    assert len(fills(engine.set_price(AAPL, D("186.10")))) == 1


def test_midpoint_below(engine: Engine) -> None:
    engine.place(order(1, conditions=(price("184.00", above=False, method=8),)))
    assert fills(engine.set_price(AAPL, D("184.01"))) == []
    assert len(fills(engine.set_price(AAPL, D("184.00")))) == 1


def test_conjunctions_read_left_to_right(engine: Engine, clock: FakeClock) -> None:
    # (price >= 186 OR time passed) AND MSFT <= 100: the 'o' joins the first to the second
    conds = (price("186.00", conj="o"), time_after("20261118 12:00:00 UTC"),
             price("100.00", above=False, con_id=MSFT))
    engine.place(order(1, conditions=conds))
    assert fills(engine.set_price(AAPL, D("190.00"))) == []  # MSFT still far above 100
    assert len(fills(engine.set_price(MSFT, D("99.00")))) == 1


def test_an_or_releases_on_either(engine: Engine, clock: FakeClock) -> None:
    engine.place(order(1, conditions=(price("190.00", conj="o"),
                                      time_after("20261118-11:30:00"))))
    assert fills(engine.step()) == []
    clock.t += 30 * 60  # 11:36:40 UTC
    assert len(fills(engine.step())) == 1


def test_time_condition_in_a_named_zone(engine: Engine, clock: FakeClock) -> None:
    engine.place(order(1, conditions=(time_after("20261118 06:10:00 US/Eastern"),)))
    assert fills(engine.step()) == []  # 11:06:40 UTC is 06:06:40 in New York
    clock.t += 240
    assert len(fills(engine.step())) == 1


def test_margin_cushion_condition(engine: Engine) -> None:
    # all cash: the cushion is 100%; "below 90%" holds once a position takes margin
    engine.place(order(1, qty=100, conditions=(ConditionRequest(4, ("a", "0", "90")),)))
    assert fills(engine.step()) == []
    engine.place(order(2, qty=10000))  # 1.85m of AAPL on 1m cash: the cushion falls
    state = engine.order(1, 1)
    assert state is not None and state.status == "Filled"


def test_execution_condition_waits_for_a_fill_of_that_symbol(engine: Engine) -> None:
    cond = ConditionRequest(5, ("a", "STK", "SMART", "MSFT"))
    engine.place(order(1, conditions=(cond,)))
    engine.place(order(2))  # an AAPL fill: not the one it waits for
    state = engine.order(1, 1)
    assert state is not None and state.status == "PreSubmitted"
    events = engine.place(order(3, con_id=MSFT))
    assert [e.order_id for e in fills(events)] == [3, 1]


def test_volume_and_percent_change_conditions(engine: Engine) -> None:
    q = engine.quote(AAPL)
    vol = ConditionRequest(6, ("a", "1", str(q.volume + 300), str(AAPL), "SMART"))
    engine.place(order(1, conditions=(vol,)))
    pct = ConditionRequest(7, ("a", "1", "5", str(AAPL), "SMART"))
    engine.place(order(2, conditions=(pct,)))
    engine.set_price(AAPL, D("185.00"))
    engine.set_price(AAPL, D("185.00"))
    assert [engine.order(1, i).status for i in (1, 2)] == ["PreSubmitted", "PreSubmitted"]
    engine.set_price(AAPL, q.close * D("1.05"))  # volume +300 and +5% on the close
    assert [engine.order(1, i).status for i in (1, 2)] == ["Filled", "Filled"]


@pytest.mark.parametrize(
    ("cond", "code"),
    [
        (ConditionRequest(1, ("x", "1", "1", str(AAPL), "SMART", "2")), 201),
        (ConditionRequest(1, ("a", "1", "1", str(AAPL), "SMART", "5")), 201),
        (ConditionRequest(3, ("a", "1", "tomorrow")), 201),
        (ConditionRequest(1, ("a", "1", "1", "999999", "SMART", "2")), 200),
    ],
)
def test_unreadable_conditions_are_rejected(engine: Engine, cond: ConditionRequest,
                                            code: int) -> None:
    events = engine.place(order(1, conditions=(cond,)))
    assert errors(events) == [(1, code)] and statuses(events) == ["Inactive"]


def test_conditions_wait_for_regular_hours_unless_ignore_rth() -> None:
    clock = FakeClock(US_EQUITY.next_regular_open(1_795_000_000.0) - 3600)  # pre-market
    engine = Engine(clock=clock, seed=7, market=MarketSetup(trading_hours=True))
    engine.place(order(1, outside_rth=True, conditions=(price("100.00"),)))
    engine.place(order(2, outside_rth=True, conditions=(price("100.00"),),
                       conditions_ignore_rth=True))
    engine.step()
    assert [engine.order(1, i).status for i in (1, 2)] == ["PreSubmitted", "Filled"]
    clock.t += 3600
    engine.step()
    assert engine.order(1, 1).status == "Filled"
