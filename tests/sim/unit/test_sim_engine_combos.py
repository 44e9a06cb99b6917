"""Paper engine, combo (BAG) orders: legs executed together at the net price, one execution
per leg plus the BAG's own, positions per leg, credits, what-if. Fake clock; nothing waits."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from ibgateway_sim.engine import ComboLegRequest, ContractQuery, Engine, OrderRequest
from tests.sim.engine_helpers import FakeClock, errors, fills, statuses


@pytest.fixture
def engine() -> Engine:
    return Engine(clock=FakeClock(), seed=7)


def call(engine: Engine, strike: int) -> int:
    (spec,) = engine.match_contracts(ContractQuery(
        symbol="AAPL", sec_type="OPT", last_trade_date="20261218", strike=D(strike), right="C"))
    return spec.con_id


def vertical(engine: Engine, oid: int, *, action: str = "BUY", otype: str = "LMT",
             limit: D | None = None, legs: tuple[ComboLegRequest, ...] | None = None,
             what_if: bool = False) -> OrderRequest:
    long_leg, short_leg = call(engine, 180), call(engine, 190)
    return OrderRequest(
        client_id=1, order_id=oid,
        contract=ContractQuery(symbol="AAPL", sec_type="BAG", exchange="SMART", currency="USD"),
        action=action, quantity=D(2), order_type=otype, limit_price=limit, what_if=what_if,
        combo_legs=legs if legs is not None else (
            ComboLegRequest(long_leg, 1, "BUY", "SMART"),
            ComboLegRequest(short_leg, 1, "SELL", "SMART")))


def net_ask(engine: Engine) -> D:
    return engine.quote(call(engine, 180)).ask - engine.quote(call(engine, 190)).bid


def test_market_vertical_executes_both_legs_and_the_bag(engine: Engine) -> None:
    events = engine.place(vertical(engine, 1, otype="MKT"))
    execs = fills(events)
    assert [e.contract.sec_type for e in execs] == ["OPT", "OPT", "BAG"]
    long_ex, short_ex, bag = execs
    assert (long_ex.side, short_ex.side, bag.side) == ("BOT", "SLD", "BOT")
    assert {e.order_id for e in execs} == {1} and len({e.perm_id for e in execs}) == 1
    assert long_ex.shares == short_ex.shares == bag.shares == 2
    assert bag.price == long_ex.price - short_ex.price == net_ask(engine)
    comms = {cr.exec_id: cr.commission for _, cr in engine.executions()}
    assert comms[long_ex.exec_id] > 0 and comms[short_ex.exec_id] > 0
    assert comms[bag.exec_id] == 0  # commissions are per leg
    positions = {p.contract.con_id: p.position for p in engine.positions()}
    assert positions == {call(engine, 180): 2, call(engine, 190): -2}
    assert statuses(events)[-1] == "Filled"


def test_limit_vertical_waits_for_its_net_price(engine: Engine) -> None:
    limit = net_ask(engine) - D("1.00")
    events = engine.place(vertical(engine, 1, limit=limit))
    assert fills(events) == [] and statuses(events)[-1] == "Submitted"
    state = engine.order(1, 1)
    assert state is not None and state.contract.sec_type == "BAG"


def test_a_negative_limit_is_a_credit(engine: Engine) -> None:
    # selling the vertical receives the net bid; a buy with limit -x asks to be paid x
    events = engine.place(vertical(engine, 1, action="SELL", limit=D("-1.00")))
    assert errors(events) == []
    assert fills(events)  # the 180/190 call spread is worth more than 0, so selling at >= -1
    bag = fills(events)[-1]
    assert bag.side == "SLD" and bag.price > D("-1.00")


def test_combo_without_legs_or_with_an_unknown_leg_is_refused(engine: Engine) -> None:
    assert errors(engine.place(vertical(engine, 1, legs=()))) == [(1, 321)]
    bad = (ComboLegRequest(123, 1, "BUY"),)
    assert errors(engine.place(vertical(engine, 2, legs=bad))) == [(2, 200)]
    assert errors(engine.place(vertical(engine, 3, otype="STP"))) == [(3, 201)]


def test_combo_what_if_places_nothing(engine: Engine) -> None:
    (update,) = engine.place(vertical(engine, 1, otype="MKT", what_if=True))
    margin = update.order.margin  # type: ignore[union-attr]
    assert margin is not None and margin.init_margin_change > 0 and margin.commission > 0
    assert engine.open_orders() == [] and engine.executions() == [] and engine.order(1, 1) is None
