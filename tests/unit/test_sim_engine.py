"""Paper engine: contracts, market and limit orders, positions, accounts, executions."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from horizon.venues.ibkr.simulator.engine import (
    ContractQuery,
    Engine,
    ExecutionMade,
    OrderRequest,
    OrderUpdated,
)

AAPL = 265598
T0 = 1_795_000_000.0


class FakeClock:
    def __init__(self, t: float = T0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def engine(clock: FakeClock) -> Engine:
    return Engine(clock=clock, seed=7)


def order(oid: int, action: str = "BUY", qty: str = "100", otype: str = "MKT",
          con_id: int = AAPL, **kw: object) -> OrderRequest:
    return OrderRequest(client_id=1, order_id=oid, contract=ContractQuery(con_id=con_id),
                        action=action, quantity=D(qty), order_type=otype, **kw)  # type: ignore[arg-type]


def statuses(events: list[object]) -> list[str]:
    return [e.order.status for e in events if isinstance(e, OrderUpdated)]


def test_market_buy_fills_at_ask_with_status_sequence(engine: Engine) -> None:
    ask = engine.quote(AAPL).ask
    events = engine.place(order(1))
    assert statuses(events) == ["PreSubmitted", "Submitted", "Filled"]
    fills = [e for e in events if isinstance(e, ExecutionMade)]
    assert len(fills) == 1
    ex = fills[0].execution
    assert (ex.side, ex.shares, ex.price, ex.account) == ("BOT", D(100), ask, "DU1234567")
    assert fills[0].commission.commission == D("1.00")
    assert fills[0].commission.realized_pnl is None
    [pos] = engine.positions()
    assert pos.position == D(100)


def test_limit_rests_then_fills_at_limit_when_price_moves(engine: Engine) -> None:
    events = engine.place(order(1, otype="LMT", limit_price=D("180.00")))
    assert statuses(events) == ["PreSubmitted", "Submitted"]
    events = engine.set_price(AAPL, D("179.50"))
    fills = [e.execution for e in events if isinstance(e, ExecutionMade)]
    assert [f.price for f in fills] == [D("180.00")]
    assert statuses(events) == ["Filled"]
