"""The order flow as a real TWS sends it, seen raw: a cancel is orderStatus Cancelled then
error 202 with no openOrder; an open order carries deltaNeutralOrderType "None"."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from ibgateway_sim import GatewaySimulator
from ibgateway_sim.wire import messages as m
from tests.sim.clients import RawClient

AAPL = m.RequestContract(symbol="AAPL", sec_type="STK", exchange="SMART", currency="USD")


def limit_buy(order_id: int, price: str = "170.00") -> m.PlaceOrder:
    return m.PlaceOrder(
        order_id=order_id,
        contract=AAPL,
        action="BUY",
        total_quantity=Decimal(1),
        order_type="LMT",
        lmt_price=Decimal(price),
        tif="DAY",
    )


def after(raw: RawClient, mark: int) -> list[object]:
    return raw.received[mark:]


async def test_cancel_is_status_then_202_without_open_order(
    sim: GatewaySimulator, raw_factory: Callable[[int], RawClient]
) -> None:
    raw = raw_factory(sim.port)
    await raw.start(client_id=3)
    raw.send(limit_buy(10))
    (opened,) = await raw.expect(m.OpenOrder, lambda o: o.status == "Submitted")
    assert opened.delta_neutral_order_type == "None"
    mark = len(raw.received)
    raw.send(m.CancelOrder(order_id=10))
    await raw.expect(m.ErrorMsg, lambda e: e.code == 202)
    replies = [
        e for e in after(raw, mark) if isinstance(e, m.OrderStatus | m.OpenOrder | m.ErrorMsg)
    ]
    assert [type(e).__name__ for e in replies] == ["OrderStatus", "ErrorMsg"]
    status, error = replies
    assert isinstance(status, m.OrderStatus) and status.status == "Cancelled"
    assert isinstance(error, m.ErrorMsg) and error.req_id == 10


async def test_global_cancel_sends_no_open_order(
    sim: GatewaySimulator, raw_factory: Callable[[int], RawClient]
) -> None:
    raw = raw_factory(sim.port)
    await raw.start(client_id=3)
    raw.send(limit_buy(10))
    raw.send(limit_buy(11, "171.00"))
    await raw.expect(m.OpenOrder, lambda o: o.status == "Submitted", count=2)
    mark = len(raw.received)
    raw.send(m.ReqGlobalCancel())
    await raw.expect(m.ErrorMsg, lambda e: e.code == 202, count=2)
    replies = after(raw, mark)
    assert not [e for e in replies if isinstance(e, m.OpenOrder)]
    cancelled = [e.order_id for e in replies if isinstance(e, m.OrderStatus)]
    assert sorted(cancelled) == [10, 11]
