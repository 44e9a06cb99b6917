"""Orders through Ibkr over TCP: every type and TIF, amend, cancel, rejections, status map."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from horizon.core import OrderAction, OrderStatus
from horizon.errors import InvalidMarketId, InvalidOrder, UnknownInstrument, UnknownOrder
from horizon.venues.ibkr import Ibkr
from ibgateway_sim import GatewaySimulator
from ibgateway_sim.wire import messages as m

AAPL = Decimal("190.00")


@pytest.fixture(autouse=True)
def _pin_aapl(gateway: GatewaySimulator) -> None:
    gateway.set_price("AAPL", AAPL)


def buy(**kw: object) -> OrderAction:
    base: dict[str, object] = {"market_id": "AAPL", "side": "buy", "quantity": Decimal(10)}
    base.update(kw)
    return OrderAction(**base)  # type: ignore[arg-type]


def test_market_order_fills_with_commission(ibkr: Ibkr, gateway: GatewaySimulator) -> None:
    oid = ibkr.submit(buy(client_order_id="my-1"))
    assert ibkr.wait_for_status(oid, OrderStatus.FILLED, timeout=5) is OrderStatus.FILLED
    [fill] = ibkr.wait_fills(1, timeout=5)
    [truth] = gateway.executions()
    assert fill.exec_id == truth.exec_id
    assert fill.order_id == oid
    assert fill.market_id == "AAPL"
    assert fill.side == "buy" and fill.quantity == Decimal(10)
    assert fill.price == truth.price
    assert fill.fee == gateway.commissions()[truth.exec_id].commission
    assert fill.fee is not None and fill.fee > 0
    assert fill.fee_currency == "USD"
    assert fill.account == "DU1234567"
    assert fill.client_order_id == "my-1"
    assert fill.timestamp.utcoffset() == timedelta(0)
    assert abs(fill.timestamp.timestamp() - truth.time) < 1.0
    assert ibkr.drain_fills() == []  # exactly once
    [pos] = ibkr.positions()
    assert pos.market_id == "AAPL" and pos.quantity == Decimal(10)


def test_limit_rests_then_amend_then_cancel(ibkr: Ibkr, gateway: GatewaySimulator) -> None:
    oid = ibkr.submit(buy(order_type="limit", limit_price="150.00", tif="GTC"))
    assert ibkr.wait_for_status(oid, OrderStatus.ACCEPTED, timeout=5) is OrderStatus.ACCEPTED
    [view] = ibkr.open_orders()
    assert view.order_id == oid and view.limit_price == Decimal("150.00")
    assert view.tif == "GTC" and view.remaining == Decimal(10)
    ibkr.amend(oid, quantity=Decimal(20), limit_price=Decimal("151.00"))
    gateway.wait_for(
        lambda: (o := gateway.engine.order(1, int(oid))) is not None
        and o.request.quantity == Decimal(20)
        and o.request.limit_price == Decimal("151.00"),
        timeout=5,
    )
    ibkr.cancel(oid)
    assert ibkr.wait_for_status(oid, OrderStatus.CANCELED, timeout=5) is OrderStatus.CANCELED
    assert ibkr.open_orders() == []
    ibkr.cancel(oid)  # idempotent on a finished order
    assert gateway.executions() == []


@pytest.mark.parametrize(
    ("kw", "ib_type"),
    [
        ({"order_type": "stop", "stop_price": "200.00"}, "STP"),
        ({"order_type": "stop_limit", "stop_price": "200.00", "limit_price": "201.00"}, "STP LMT"),
        ({"order_type": "trailing_stop", "trail_percent": "2"}, "TRAIL"),
        ({"order_type": "trailing_stop", "trail_amount": "1.50"}, "TRAIL"),
    ],
)
def test_stop_family_rests_with_the_right_ib_type(
    ibkr: Ibkr, gateway: GatewaySimulator, kw: dict[str, object], ib_type: str
) -> None:
    oid = ibkr.submit(buy(**kw))
    ibkr.wait_for_status(oid, OrderStatus.ACCEPTED, timeout=5)
    order = gateway.engine.order(1, int(oid))
    assert order is not None and order.request.order_type == ib_type
    if "stop_price" in kw:
        assert order.request.aux_price == Decimal(str(kw["stop_price"]))
    if "trail_percent" in kw:
        assert order.request.trailing_percent == Decimal(2)
    if "trail_amount" in kw:
        assert order.request.aux_price == Decimal("1.50")


def test_stop_triggers_when_price_crosses(ibkr: Ibkr, gateway: GatewaySimulator) -> None:
    oid = ibkr.submit(buy(order_type="stop", stop_price="195.00"))
    ibkr.wait_for_status(oid, OrderStatus.ACCEPTED, timeout=5)
    gateway.set_price("AAPL", Decimal("196.00"))
    assert ibkr.wait_for_status(oid, timeout=5) is OrderStatus.FILLED
    assert len(ibkr.wait_fills(1, timeout=5)) == 1


@pytest.mark.parametrize("tif", ["DAY", "GTC", "OPG"])
def test_tifs_reach_the_gateway(ibkr: Ibkr, gateway: GatewaySimulator, tif: str) -> None:
    oid = ibkr.submit(buy(order_type="limit", limit_price="100.00", tif=tif))
    gateway.wait_for(lambda: gateway.engine.order(1, int(oid)) is not None, timeout=5)
    order = gateway.engine.order(1, int(oid))
    assert order is not None and order.request.tif == tif


def test_gtd_sends_good_till_in_utc(ibkr: Ibkr, gateway: GatewaySimulator) -> None:
    until = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    oid = ibkr.submit(buy(order_type="limit", limit_price="100.00", tif="GTD", good_till=until))
    ibkr.wait_for_status(oid, OrderStatus.ACCEPTED, timeout=5)
    order = gateway.engine.order(1, int(oid))
    assert order is not None and order.request.tif == "GTD"
    assert until.strftime("%Y%m%d") in order.request.good_till_date


def test_ioc_limit_that_cannot_fill_is_cancelled(ibkr: Ibkr) -> None:
    oid = ibkr.submit(buy(order_type="limit", limit_price="100.00", tif="IOC"))
    assert ibkr.wait_for_status(oid, timeout=5) is OrderStatus.CANCELED


def test_insufficient_buying_power_is_rejected_with_reason(ibkr: Ibkr) -> None:
    oid = ibkr.submit(buy(quantity=10_000_000))
    assert ibkr.wait_for_status(oid, timeout=5) is OrderStatus.REJECTED
    view = ibkr.order(oid)
    assert view.status is OrderStatus.REJECTED
    assert view.reason is not None and "201" in view.reason


def test_off_tick_price_is_refused_before_sending(ibkr: Ibkr, gateway: GatewaySimulator) -> None:
    with pytest.raises(InvalidOrder, match="limit_price"):
        ibkr.submit(buy(order_type="limit", limit_price="150.001"))
    assert gateway.engine.open_orders() == []


def test_unknown_and_malformed_instruments_send_nothing(
    ibkr: Ibkr, gateway: GatewaySimulator
) -> None:
    with pytest.raises(UnknownInstrument, match="NOSUCH"):
        ibkr.submit(buy(market_id="NOSUCH"))
    with pytest.raises(InvalidMarketId, match="strike"):
        ibkr.submit(buy(market_id="OPT:AAPL:20260619:-5:C"))
    assert gateway.engine.open_orders() == [] and gateway.engine.completed_orders() == []


def test_each_symbology_kind_qualifies(ibkr: Ibkr) -> None:
    for market_id, sec_type in [
        ("AAPL", "STK"),
        ("OPT:AAPL:20260619:180:C", "OPT"),
        ("FUT:ES:202503:CME", "FUT"),
        ("FX:EUR.USD", "CASH"),
    ]:
        contract = ibkr.qualify(market_id)
        assert contract.secType == sec_type and contract.conId > 0


def test_cancel_all_per_symbol_then_all(ibkr: Ibkr, gateway: GatewaySimulator) -> None:
    gateway.set_price("MSFT", Decimal("400.00"))
    a1 = ibkr.submit(buy(order_type="limit", limit_price="100.00"))
    a2 = ibkr.submit(buy(order_type="limit", limit_price="101.00"))
    m1 = ibkr.submit(buy(market_id="MSFT", order_type="limit", limit_price="200.00"))
    for oid in (a1, a2, m1):
        ibkr.wait_for_status(oid, OrderStatus.ACCEPTED, timeout=5)
    assert sorted(ibkr.cancel_all("AAPL")) == sorted([a1, a2])
    ibkr.wait_for_status(a1, OrderStatus.CANCELED, timeout=5)
    ibkr.wait_for_status(a2, OrderStatus.CANCELED, timeout=5)
    assert ibkr.order_status(m1) is OrderStatus.ACCEPTED
    assert ibkr.cancel_all() == [m1]
    assert ibkr.wait_for_status(m1, timeout=5) is OrderStatus.CANCELED


def test_unknown_order_id_is_a_typed_error(ibkr: Ibkr) -> None:
    with pytest.raises(UnknownOrder):
        ibkr.cancel("999999")
    with pytest.raises(UnknownOrder):
        ibkr.order_status("not-a-number")


def test_amend_refuses_what_the_order_type_cannot_take(ibkr: Ibkr) -> None:
    oid = ibkr.submit(buy(order_type="limit", limit_price="100.00"))
    ibkr.wait_for_status(oid, OrderStatus.ACCEPTED, timeout=5)
    with pytest.raises(InvalidOrder, match="stop_price"):
        ibkr.amend(oid, stop_price=Decimal("99.00"))


async def test_async_submit_and_fill(aibkr: Ibkr, gateway: GatewaySimulator) -> None:
    oid = await aibkr.submit_async(buy(side="sell", quantity=5))
    assert await aibkr.wait_for_status_async(oid, timeout=5) is OrderStatus.FILLED
    [fill] = await aibkr.wait_fills_async(1, timeout=5)
    assert fill.side == "sell" and fill.quantity == Decimal(5)
    [pos] = await aibkr.positions_async()
    assert pos.quantity == Decimal(-5)


def test_a_refused_cancel_does_not_revive_a_cancelled_order(
    ibkr: Ibkr, gateway: GatewaySimulator
) -> None:
    oid = ibkr.submit(buy(order_type="limit", limit_price="150.00"))
    ibkr.wait_for_status(oid, OrderStatus.ACCEPTED, timeout=5)
    ibkr.cancel(oid)
    ibkr.wait_for_status(oid, OrderStatus.CANCELED, timeout=5)
    # a second cancel straight through ib_async: the gateway refuses it (161 / 10147)
    [trade] = [t for t in ibkr.ib.trades() if t.order.orderId == int(oid)]
    ibkr.loop.call_soon_threadsafe(ibkr.ib.cancelOrder, trade.order)
    gateway.wait_for(lambda: len(gateway.requests(kind=m.CancelOrder)) == 2, timeout=5)
    assert ibkr.health_check()  # its answer comes after the refusal: the venue has seen it
    assert ibkr.order_status(oid) is OrderStatus.CANCELED


def test_a_preset_warning_leaves_the_order_live_and_it_fills(
    ibkr: Ibkr, gateway: GatewaySimulator
) -> None:
    """IB's 10349 ("TIF set to DAY based on order preset") is a warning: ib_async marks the
    trade Cancelled, but the order lives at IB, and fills."""
    oid = ibkr.submit(buy(order_type="limit", limit_price="150.00", tif="GTC"))
    ibkr.wait_for_status(oid, OrderStatus.ACCEPTED, timeout=5)
    gateway.send_error(10349, "Order TIF was set to DAY based on order preset.", req_id=int(oid))
    assert ibkr.health_check()  # answered after the warning: the venue has seen it
    assert ibkr.order_status(oid) is OrderStatus.ACCEPTED
    gateway.set_price("AAPL", Decimal("149.00"))
    assert ibkr.wait_for_status(oid, timeout=5) is OrderStatus.FILLED
