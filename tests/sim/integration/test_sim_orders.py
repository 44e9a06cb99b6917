"""Raw ib_async orders against the simulator: every order type and TIF, modify, cancel, global
cancel, fills with commissions, executions, rejections, pacing, market data."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import ib_async
import pytest

from ibgateway_sim import GatewaySimulator
from ibgateway_sim.wire import messages as m
from tests.sim.clients import RawClient, connect_ib, until

FA = ["DF1234567", "DU1234568", "DU1234569"]


async def aapl(ib: ib_async.IB) -> ib_async.Contract:
    (contract,) = await ib.qualifyContractsAsync(ib_async.Stock("AAPL", "SMART", "USD"))
    assert contract is not None
    return contract


def errors_of(ib: ib_async.IB) -> list[tuple[int, int, str]]:
    seen: list[tuple[int, int, str]] = []
    ib.errorEvent += lambda req_id, code, text, contract: seen.append((req_id, code, text))
    return seen


def status(trade: ib_async.Trade) -> str:
    return trade.orderStatus.status


# ---- order types ---------------------------------------------------------------------------

ORDER_TYPES: dict[str, tuple[Callable[[], ib_async.Order], list[str]]] = {
    # name: (order, prices to set afterwards, in turn)
    "MKT": (lambda: ib_async.MarketOrder("BUY", 10), []),
    "LMT": (lambda: ib_async.LimitOrder("BUY", 10, 180.00), ["179.50"]),
    "STP": (lambda: ib_async.StopOrder("SELL", 10, 180.00), ["179.00"]),
    "STP LMT": (lambda: ib_async.StopLimitOrder("BUY", 10, 191.00, 190.00), ["190.50"]),
    "TRAIL %": (
        lambda: ib_async.Order(
            action="SELL", totalQuantity=10, orderType="TRAIL", trailingPercent=1.0
        ),
        ["190.00", "186.00"],
    ),
    "TRAIL $": (
        lambda: ib_async.Order(action="SELL", totalQuantity=10, orderType="TRAIL", auxPrice=2.00),
        ["190.00", "187.90"],
    ),
}


@pytest.mark.parametrize("name", list(ORDER_TYPES))
async def test_each_order_type_fills_with_a_commission(
    sim: GatewaySimulator, ib: ib_async.IB, name: str
) -> None:
    make, prices = ORDER_TYPES[name]
    trade = ib.placeOrder(await aapl(ib), make())
    if prices:
        await until(ib, lambda: status(trade) == "Submitted")
        assert not trade.fills
    for price in prices:
        sim.set_price("AAPL", Decimal(price))
    await until(
        ib,
        lambda: (
            status(trade) == "Filled"
            and bool(trade.fills)
            and trade.fills[-1].commissionReport.commission > 0
        ),
    )
    fill = trade.fills[0]
    assert trade.order.permId == fill.execution.permId > 0
    assert fill.execution.shares == 10 and fill.execution.time.tzinfo is not None
    truth = sim.executions()
    assert [e.exec_id for e in truth] == [fill.execution.execId]
    assert (
        float(sim.commissions()[fill.execution.execId].commission)
        == fill.commissionReport.commission
    )
    assert [entry.status for entry in trade.log][:1] == ["PendingSubmit"]
    assert "Submitted" in [entry.status for entry in trade.log]


# ---- time in force --------------------------------------------------------------------------


async def test_gtc_rests_and_is_echoed(sim: GatewaySimulator, ib: ib_async.IB) -> None:
    trade = ib.placeOrder(await aapl(ib), ib_async.LimitOrder("BUY", 1, 170.00, tif="GTC"))
    await until(ib, lambda: status(trade) == "Submitted")
    (state,) = sim.engine.open_orders(1)
    assert state.request.tif == "GTC"
    (open_trade,) = await ib.reqOpenOrdersAsync()
    assert open_trade.order.tif == "GTC"


async def test_ioc_that_cannot_fill_is_cancelled(ib: ib_async.IB) -> None:
    trade = ib.placeOrder(await aapl(ib), ib_async.LimitOrder("BUY", 1, 170.00, tif="IOC"))
    await until(ib, lambda: status(trade) == "Cancelled")
    assert not trade.fills


async def test_opg_waits_for_the_open(sim: GatewaySimulator, ib: ib_async.IB) -> None:
    trade = ib.placeOrder(await aapl(ib), ib_async.MarketOrder("BUY", 2, tif="OPG"))
    await until(ib, lambda: status(trade) in ("PreSubmitted", "Submitted"))
    assert not trade.fills
    sim.step()
    assert status(trade) == "Submitted" and not trade.fills
    sim.run_opening_auction("AAPL")
    await until(ib, lambda: status(trade) == "Filled")
    assert len(trade.fills) == 1


async def test_gtd_rests_until_its_date_and_a_past_date_is_rejected(
    sim: GatewaySimulator, ib: ib_async.IB
) -> None:
    errors = errors_of(ib)
    contract = await aapl(ib)
    live = ib.placeOrder(
        contract,
        ib_async.LimitOrder(
            "BUY", 1, 170.00, tif="GTD", goodTillDate="20991231 16:00:00 US/Eastern"
        ),
    )
    await until(ib, lambda: status(live) == "Submitted")
    (open_trade,) = await ib.reqOpenOrdersAsync()
    assert open_trade.order.goodTillDate == "20991231 16:00:00 US/Eastern"
    past = ib.placeOrder(
        contract, ib_async.LimitOrder("BUY", 1, 170.00, tif="GTD", goodTillDate="20200101-12:00:00")
    )
    await until(ib, lambda: status(past) in ("Cancelled", "Inactive"))
    assert (past.order.orderId, 201) in [(r, c) for r, c, _ in errors]


# ---- modify / cancel -----------------------------------------------------------------------


async def test_modify_is_a_resent_place_order(sim: GatewaySimulator, ib: ib_async.IB) -> None:
    trade = ib.placeOrder(await aapl(ib), ib_async.LimitOrder("BUY", 10, 180.00))
    await until(ib, lambda: status(trade) == "Submitted")
    trade.order.lmtPrice = 181.00
    trade.order.totalQuantity = 12
    ib.placeOrder(trade.contract, trade.order)
    await sim.wait_for_async(
        lambda: sim.engine.open_orders(1)[0].request.limit_price == Decimal("181.0")
    )
    (state,) = sim.engine.open_orders(1)
    assert state.request.quantity == 12 and state.order_id == trade.order.orderId
    sim.set_price("AAPL", Decimal("180.50"))
    await until(ib, lambda: status(trade) == "Filled")
    assert sum(f.execution.shares for f in trade.fills) == 12
    assert trade.orderStatus.avgFillPrice <= 181.00


async def test_cancel(sim: GatewaySimulator, ib: ib_async.IB) -> None:
    errors = errors_of(ib)
    trade = ib.placeOrder(await aapl(ib), ib_async.LimitOrder("BUY", 1, 170.00))
    await until(ib, lambda: status(trade) == "Submitted")
    ib.cancelOrder(trade.order)
    await until(ib, lambda: status(trade) == "Cancelled")
    assert (trade.order.orderId, 202) in [(r, c) for r, c, _ in errors]
    assert sim.engine.open_orders() == []


async def test_global_cancel(sim: GatewaySimulator, ib: ib_async.IB) -> None:
    contract = await aapl(ib)
    trades = [ib.placeOrder(contract, ib_async.LimitOrder("BUY", 1, p)) for p in (170.0, 171.0)]
    await until(ib, lambda: all(status(t) == "Submitted" for t in trades))
    ib.reqGlobalCancel()
    await until(ib, lambda: all(status(t) == "Cancelled" for t in trades))
    assert sim.engine.open_orders() == []


async def test_bracket_children_work_after_the_parent_fills(
    sim: GatewaySimulator, ib: ib_async.IB
) -> None:
    contract = await aapl(ib)
    parent, take, stop = ib.bracketOrder("BUY", 5, 186.00, 195.00, 175.00)
    trades = [ib.placeOrder(contract, o) for o in (parent, take, stop)]
    await until(
        ib,
        lambda: status(trades[0]) == "Filled" and all(status(t) == "Submitted" for t in trades[1:]),
    )
    sim.set_price("AAPL", Decimal("196.00"))
    await until(ib, lambda: status(trades[1]) == "Filled" and status(trades[2]) == "Cancelled")


# ---- executions ----------------------------------------------------------------------------


async def test_req_executions_honours_every_filter_field(
    sim: GatewaySimulator, ib: ib_async.IB
) -> None:
    contract = await aapl(ib)
    (msft,) = await ib.qualifyContractsAsync(ib_async.Stock("MSFT", "SMART", "USD"))
    buy = ib.placeOrder(contract, ib_async.MarketOrder("BUY", 3))
    sell = ib.placeOrder(msft, ib_async.MarketOrder("SELL", 2))
    await until(ib, lambda: status(buy) == "Filled" and status(sell) == "Filled")
    ex_buy, ex_sell = (t.fills[0].execution.execId for t in (buy, sell))

    async def ids(**flt: Any) -> list[str]:
        fills = await ib.reqExecutionsAsync(ib_async.ExecutionFilter(**flt))
        return [f.execution.execId for f in fills]

    assert await ids() == [ex_buy, ex_sell]
    assert await ids(symbol="AAPL") == [ex_buy]
    assert await ids(side="SELL") == [ex_sell]
    assert await ids(secType="STK") == [ex_buy, ex_sell]
    assert await ids(secType="OPT") == []
    assert await ids(clientId=1) == [ex_buy, ex_sell]
    assert await ids(clientId=2) == []
    assert await ids(acctCode="DU1234567") == [ex_buy, ex_sell]
    assert await ids(acctCode="DU0000000") == []
    assert await ids(exchange="ISLAND") == [ex_buy, ex_sell]
    assert await ids(exchange="NYSE") == []
    assert await ids(time="20000101 00:00:00 UTC") == [ex_buy, ex_sell]
    assert await ids(time="20990101-00:00:00") == []


async def test_execution_times_follow_the_gateway_zone(sim_factory: Any, raw_factory: Any) -> None:
    async with sim_factory(timezone="US/Eastern") as sim:
        ib = await connect_ib(sim)
        try:
            trade = ib.placeOrder(await aapl(ib), ib_async.MarketOrder("BUY", 1))
            await until(ib, lambda: status(trade) == "Filled")
            fills = await ib.reqExecutionsAsync()
            assert fills[0].time.tzinfo is not None
            raw: RawClient = raw_factory(sim.port)
            await raw.start(client_id=9)
            raw.send(m.ReqExecutions(req_id=1))
            (details,) = await raw.expect(m.ExecDetails)
            assert details.time.endswith(" US/Eastern") and details.time[8] == " "
            truth = sim.executions()[0].time
            assert abs(fills[0].time.timestamp() - truth) < 1
        finally:
            ib.disconnect()


# ---- rejections ----------------------------------------------------------------------------


async def test_price_off_the_tick_grid_is_110(ib: ib_async.IB) -> None:
    errors = errors_of(ib)
    trade = ib.placeOrder(await aapl(ib), ib_async.LimitOrder("BUY", 1, 180.001))
    await until(ib, lambda: status(trade) == "Cancelled")
    assert [c for r, c, _ in errors if r == trade.order.orderId] == [110]


async def test_insufficient_buying_power_is_201(ib: ib_async.IB) -> None:
    errors = errors_of(ib)
    trade = ib.placeOrder(await aapl(ib), ib_async.MarketOrder("BUY", 100_000))
    # Inactive (what the gateway reports first) is final in ib_async 2.1.0
    await until(ib, lambda: status(trade) == "Inactive" and bool(errors))
    ((_, code, text),) = [e for e in errors if e[0] == trade.order.orderId]
    assert code == 201 and text.startswith("Order rejected - reason:")


async def test_read_only_gateway_refuses_orders(sim_factory: Any) -> None:
    async with sim_factory(read_only=True) as sim:
        ib = await connect_ib(sim)
        try:
            errors = errors_of(ib)
            trade = ib.placeOrder(await aapl(ib), ib_async.MarketOrder("BUY", 1))
            await until(ib, lambda: any(c == 321 for _, c, _ in errors))
            ((_, _, text),) = [e for e in errors if e[1] == 321]
            assert "Read-Only" in text
            assert sim.executions() == [] and not trade.fills
        finally:
            ib.disconnect()


async def test_what_if(ib: ib_async.IB) -> None:
    state = await ib.whatIfOrderAsync(await aapl(ib), ib_async.MarketOrder("BUY", 100))
    assert float(state.initMarginChange) > 0
    assert float(state.equityWithLoanBefore) == pytest.approx(1_000_000)


# ---- pacing --------------------------------------------------------------------------------


async def test_more_than_50_messages_a_second_get_error_100(
    sim: GatewaySimulator, raw_factory: Callable[[int], RawClient]
) -> None:
    raw = raw_factory(sim.port)
    await raw.start(client_id=4)  # startApi itself is message 1 of the window
    for _ in range(60):
        raw.send(m.ReqCurrentTime())
    errors = await raw.expect(m.ErrorMsg, lambda e: e.code == 100, count=11)
    assert "max=50" in errors[0].text
    assert len(raw.of(m.CurrentTime)) == 49
    assert sim.pacing_violations == 11
    assert sim.max_msgs_in_window == 61


async def test_ib_async_with_its_throttle_off_trips_pacing(
    sim: GatewaySimulator, ib: ib_async.IB
) -> None:
    errors = errors_of(ib)
    ib.client.MaxRequests = 0  # ib_async normally queues at 45 msg/s
    for _ in range(70):
        ib.client.reqCurrentTime()
    await until(ib, lambda: any(c == 100 for _, c, _ in errors))
    assert sim.pacing_violations > 0


async def test_pacing_can_be_disabled(sim_factory: Any, raw_factory: Any) -> None:
    async with sim_factory(pacing_limit=None) as sim:
        raw = raw_factory(sim.port)
        await raw.start(client_id=4)
        for _ in range(300):
            raw.send(m.ReqCurrentTime())
        await raw.expect(m.CurrentTime, count=300)
        assert sim.pacing_violations == 0 and not raw.of(m.ErrorMsg)[3:]
        assert sim.max_msgs_in_window >= 300


# ---- market data ---------------------------------------------------------------------------


async def test_real_time_market_data(sim: GatewaySimulator, ib: ib_async.IB) -> None:
    ticker = ib.reqMktData(await aapl(ib))
    await until(ib, lambda: ticker.bid > 0 and ticker.ask > ticker.bid and ticker.last > 0)
    assert ticker.marketDataType == 1
    sim.set_price("AAPL", Decimal("190.00"))
    await until(ib, lambda: ticker.last == 190.0)
    assert ticker.bid < 190.0 < ticker.ask
    assert [len(s.market_data) for s in sim.sessions()] == [1]
    ib.cancelMktData(ticker.contract)
    await sim.wait_for_async(lambda: not any(s.market_data for s in sim.sessions()))


async def test_delayed_market_data(sim: GatewaySimulator, ib: ib_async.IB) -> None:
    ib.reqMarketDataType(3)
    ticker = ib.reqMktData(await aapl(ib))
    await until(ib, lambda: ticker.marketDataType == 3 and ticker.bid > 0 and ticker.last > 0)
    tick_types = {t.tickType for t in ticker.ticks}
    assert tick_types and tick_types <= {66, 67, 68, 69, 70, 71, 72, 73, 74, 75}
    sim.set_price("AAPL", Decimal("191.00"))
    await until(ib, lambda: ticker.last == 191.0)


async def test_snapshot(ib: ib_async.IB) -> None:
    (ticker,) = await ib.reqTickersAsync(await aapl(ib))
    assert ticker.bid > 0 and ticker.ask > 0 and ticker.last > 0


# ---- other clients -------------------------------------------------------------------------


async def test_client_zero_sees_orders_entered_in_tws(sim: GatewaySimulator) -> None:
    ib = await connect_ib(sim, client_id=0)  # ib_async sends reqAutoOpenOrders(True)
    try:
        order_id = sim.inject_manual_order("AAPL", "BUY", Decimal(3), "LMT", Decimal("170.00"))
        assert order_id < 0
        await until(ib, lambda: len(ib.openTrades()) == 1)
        (trade,) = ib.openTrades()
        assert trade.order.clientId == 0 and trade.order.orderId == order_id
        sim.set_price("AAPL", Decimal("169.00"))
        await until(ib, lambda: status(trade) == "Filled" and len(ib.fills()) == 1)
    finally:
        ib.disconnect()


async def test_orders_of_other_clients_stay_private_until_asked(sim: GatewaySimulator) -> None:
    one, two = await connect_ib(sim, 1), await connect_ib(sim, 2)
    try:
        trade = one.placeOrder(await aapl(one), ib_async.LimitOrder("BUY", 1, 170.00))
        await until(one, lambda: status(trade) == "Submitted")
        assert two.openTrades() == []
        everything = await two.reqAllOpenOrdersAsync()
        assert [t.order.permId for t in everything] == [trade.order.permId]
    finally:
        one.disconnect()
        two.disconnect()


async def test_fa_group_order_executes_per_sub_account(sim_factory: Any) -> None:
    async with sim_factory(accounts=FA) as sim:
        ib = await connect_ib(sim)
        try:
            order = ib_async.MarketOrder("BUY", 10, faGroup="All", faMethod="EqualQuantity")
            trade = ib.placeOrder(await aapl(ib), order)
            await until(ib, lambda: status(trade) == "Filled" and len(trade.fills) == 2)
            assert {f.execution.acctNumber for f in trade.fills} == {"DU1234568", "DU1234569"}
            assert all(f.commissionReport.commission > 0 for f in trade.fills)
            positions = await asyncio.wait_for(ib.reqPositionsAsync(), 2)
            assert {(p.account, p.position) for p in positions} == {
                ("DU1234568", 5.0),
                ("DU1234569", 5.0),
            }
        finally:
            ib.disconnect()
