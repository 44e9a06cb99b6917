"""The wider order types through Ibkr over TCP: touched, pegged and auction orders, preview
(what-if), combos (fills per leg, once; the BAG's own execution is no fill) and IB's forced
liquidation (a fill flagged `liquidation`, delivered to a client that placed nothing)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from horizon.core import OrderAction, OrderStatus
from horizon.venues.ibkr import Ibkr
from ibgateway_sim import GatewaySimulator

AAPL = Decimal("190.00")
VERTICAL = "COMBO:+1 OPT:AAPL:20261218:180:C,-1 OPT:AAPL:20261218:190:C"


@pytest.fixture(autouse=True)
def _pin_aapl(gateway: GatewaySimulator) -> None:
    gateway.set_price("AAPL", AAPL)


def buy(**kw: object) -> OrderAction:
    base: dict[str, object] = {"market_id": "AAPL", "side": "buy", "quantity": Decimal(10)}
    base.update(kw)
    return OrderAction(**base)  # type: ignore[arg-type]


def test_market_if_touched_fills_once_touched(ibkr: Ibkr, gateway: GatewaySimulator) -> None:
    oid = ibkr.submit(buy(order_type="market_if_touched", stop_price="189.00"))
    assert ibkr.wait_for_status(oid, OrderStatus.ACCEPTED, timeout=5) is OrderStatus.ACCEPTED
    assert ibkr.drain_fills() == []
    gateway.set_price("AAPL", Decimal("189.00"))
    assert ibkr.wait_for_status(oid, OrderStatus.FILLED, timeout=5) is OrderStatus.FILLED
    [fill] = ibkr.wait_fills(1, timeout=5)
    assert fill.price == Decimal("189.01") and ibkr.drain_fills() == []


def test_relative_order_rests_at_its_peg(ibkr: Ibkr, gateway: GatewaySimulator) -> None:
    oid = ibkr.submit(buy(order_type="relative", offset="0.01", limit_price="191.00"))
    assert ibkr.wait_for_status(oid, OrderStatus.ACCEPTED, timeout=5) is OrderStatus.ACCEPTED
    gateway.set_price("AAPL", Decimal("189.90"))  # through the 190.00 peg
    [fill] = ibkr.wait_fills(1, timeout=5)
    assert fill.price == Decimal("190.00")
    [pos] = ibkr.positions()
    assert pos.quantity == Decimal(10)


def test_market_on_close_waits_for_the_closing_auction(
    ibkr: Ibkr, gateway: GatewaySimulator
) -> None:
    oid = ibkr.submit(buy(order_type="market_on_close"))
    assert ibkr.wait_for_status(oid, OrderStatus.ACCEPTED, timeout=5) is OrderStatus.ACCEPTED
    gateway.run_opening_auction()
    assert ibkr.order_status(oid) is OrderStatus.ACCEPTED
    gateway.run_closing_auction("AAPL")
    [fill] = ibkr.wait_fills(1, timeout=5)
    assert fill.price == AAPL


def test_limit_on_open_its_limit_missed_is_cancelled(
    ibkr: Ibkr, gateway: GatewaySimulator
) -> None:
    oid = ibkr.submit(buy(order_type="limit_on_open", limit_price="150.00"))
    assert ibkr.wait_for_status(oid, OrderStatus.ACCEPTED, timeout=5) is OrderStatus.ACCEPTED
    gateway.run_opening_auction("AAPL")
    assert ibkr.wait_for_status(oid, OrderStatus.CANCELED, timeout=5) is OrderStatus.CANCELED
    assert ibkr.drain_fills() == []


def test_preview_reports_reg_t_margin_and_places_nothing(
    ibkr: Ibkr, gateway: GatewaySimulator
) -> None:
    preview = ibkr.preview(buy(quantity=Decimal(100)))
    assert preview.initial_margin_change == Decimal(9500)  # 50% of 100 x 190.00 (the mark)
    assert preview.maintenance_margin_change == Decimal(4750)  # 25%
    assert preview.commission == Decimal("1") and preview.commission_currency == "USD"
    assert preview.warning is None
    assert gateway.engine.open_orders() == [] and gateway.executions() == []
    assert ibkr.open_orders() == []


async def test_preview_async_of_a_combo(aibkr: Ibkr, gateway: GatewaySimulator) -> None:
    preview = await aibkr.preview_async(
        OrderAction(market_id=VERTICAL, side="buy", quantity=Decimal(1), order_type="market"))
    assert preview.initial_margin_change is not None and preview.initial_margin_change > 0
    assert gateway.executions() == []


def test_vertical_combo_fills_per_leg_exactly_once(
    ibkr: Ibkr, gateway: GatewaySimulator
) -> None:
    oid = ibkr.submit(OrderAction(market_id=VERTICAL, side="buy", quantity=Decimal(2),
                                  order_type="market"))
    assert ibkr.wait_for_status(oid, OrderStatus.FILLED, timeout=5) is OrderStatus.FILLED
    fills = ibkr.wait_fills(2, timeout=5)
    assert sorted(f.side for f in fills) == ["buy", "sell"]
    assert {f.order_id for f in fills} == {oid}
    assert all(f.quantity == Decimal(2) for f in fills)
    truth = gateway.executions()
    assert [e.contract.sec_type for e in truth] == ["OPT", "OPT", "BAG"]
    assert {f.exec_id for f in fills} == {e.exec_id for e in truth[:2]}  # the BAG is no fill
    assert ibkr.drain_fills() == []
    positions = sorted(p.quantity for p in ibkr.positions())
    assert positions == [Decimal(-2), Decimal(2)]


async def test_combo_credit_limit_rests(aibkr: Ibkr, gateway: GatewaySimulator) -> None:
    oid = await aibkr.submit_async(OrderAction(
        market_id=VERTICAL, side="buy", quantity=Decimal(1), order_type="limit",
        limit_price="-5.00"))
    status = await aibkr.wait_for_status_async(oid, OrderStatus.ACCEPTED, timeout=5)
    assert status is OrderStatus.ACCEPTED
    [state] = gateway.engine.open_orders()
    assert state.contract.sec_type == "BAG" and state.request.limit_price == Decimal("-5.00")


def test_forced_liquidation_reaches_a_client_that_placed_nothing(
    ibkr: Ibkr, gateway: GatewaySimulator
) -> None:
    bystander = Ibkr(port=gateway.port, paper=True, client_id=7, commission_grace=0.5)
    bystander.connect()
    try:
        oid = ibkr.submit(buy())
        ibkr.wait_for_status(oid, OrderStatus.FILLED, timeout=5)
        ibkr.wait_fills(1, timeout=5)
        gateway.liquidate("DU1234567", "AAPL", Decimal(4))
        [forced] = bystander.wait_fills(1, timeout=5)
        assert forced.liquidation is True and forced.side == "sell"
        assert forced.quantity == Decimal(4)
        [mine] = ibkr.wait_fills(1, timeout=5)
        assert mine.exec_id == forced.exec_id and mine.liquidation is True
        assert ibkr.drain_fills() == [] and bystander.drain_fills() == []
        [liq] = [e for e in gateway.executions() if e.liquidation]
        assert (liq.order_id, liq.client_id) == (-1, 0)
        [pos] = ibkr.positions()
        assert pos.quantity == Decimal(6)
    finally:
        bystander.close()
