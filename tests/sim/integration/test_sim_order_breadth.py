"""The wider order types with raw ib_async: pegged and auction orders, what-if, combos."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import ib_async

from ibgateway_sim import GatewaySimulator
from ibgateway_sim.wire import messages as m
from tests.sim.clients import RawClient, until


async def qualify(ib: ib_async.IB, contract: ib_async.Contract) -> ib_async.Contract:
    (done,) = await ib.qualifyContractsAsync(contract)
    assert done is not None
    return done


async def aapl(ib: ib_async.IB) -> ib_async.Contract:
    return await qualify(ib, ib_async.Stock("AAPL", "SMART", "USD"))


async def vertical(ib: ib_async.IB) -> ib_async.Contract:
    legs = [
        await qualify(ib, ib_async.Option("AAPL", "20261218", k, "C", "SMART")) for k in (180, 190)
    ]
    return ib_async.Bag(
        symbol="AAPL",
        exchange="SMART",
        currency="USD",
        comboLegs=[
            ib_async.ComboLeg(conId=legs[0].conId, ratio=1, action="BUY", exchange="SMART"),
            ib_async.ComboLeg(conId=legs[1].conId, ratio=1, action="SELL", exchange="SMART"),
        ],
    )


def status(trade: ib_async.Trade) -> str:
    return trade.orderStatus.status


async def test_rel_rests_then_fills_when_the_market_trades_through(
    sim: GatewaySimulator, ib: ib_async.IB
) -> None:
    order = ib_async.Order(
        action="BUY", totalQuantity=5, orderType="REL", auxPrice=0.01, lmtPrice=186.0
    )
    trade = ib.placeOrder(await aapl(ib), order)
    await until(ib, lambda: status(trade) == "Submitted")
    sim.set_price("AAPL", Decimal("184.90"))  # through the 185.00 peg
    await until(ib, lambda: status(trade) == "Filled")
    assert trade.fills[0].execution.price == 185.00


async def test_moc_fills_only_in_the_closing_auction(
    sim: GatewaySimulator, ib: ib_async.IB
) -> None:
    trade = ib.placeOrder(
        await aapl(ib), ib_async.Order(action="BUY", totalQuantity=3, orderType="MOC")
    )
    await until(ib, lambda: status(trade) == "Submitted")
    sim.step(3)
    assert not trade.fills
    sim.run_closing_auction("AAPL")
    await until(ib, lambda: status(trade) == "Filled")
    assert trade.fills[0].commissionReport.commission > 0


async def test_moc_with_gtc_is_refused(ib: ib_async.IB) -> None:
    codes: list[int] = []
    ib.errorEvent += lambda req_id, code, text, contract: codes.append(code)
    trade = ib.placeOrder(
        await aapl(ib), ib_async.Order(action="BUY", totalQuantity=3, orderType="MOC", tif="GTC")
    )
    await until(ib, lambda: status(trade) == "Inactive" and 201 in codes)
    assert not trade.fills


async def test_what_if_answers_margin_and_commission_and_keeps_nothing(
    sim: GatewaySimulator, ib: ib_async.IB
) -> None:
    state = await ib.whatIfOrderAsync(await aapl(ib), ib_async.MarketOrder("BUY", 100))
    assert Decimal(state.initMarginChange) == Decimal(state.initMarginAfter) - Decimal(
        state.initMarginBefore
    )
    # Reg T: 50% initial, 25% maintenance of about 18,500 of stock
    assert Decimal(state.initMarginChange) == 2 * Decimal(state.maintMarginChange) > 9000
    assert state.minCommission == state.maxCommission == state.commission == 1.0
    assert state.commissionCurrency == "USD"
    assert sim.engine.open_orders() == [] and sim.executions() == []


async def test_vertical_combo_executes_per_leg_and_fills_the_bag(
    sim: GatewaySimulator, ib: ib_async.IB
) -> None:
    bag = await vertical(ib)
    trade = ib.placeOrder(bag, ib_async.MarketOrder("BUY", 2))
    await until(ib, lambda: status(trade) == "Filled")
    await until(ib, lambda: len(trade.fills) == 3)
    kinds = sorted(f.contract.secType for f in trade.fills)
    assert kinds == ["BAG", "OPT", "OPT"]
    assert trade.filled() == 2  # ib_async counts the BAG's own execution for a combo
    positions = {p.contract.conId: p.position for p in await ib.reqPositionsAsync()}
    assert sorted(positions.values()) == [-2.0, 2.0]
    opened = [r for r in sim.engine.completed_orders() if r.order_id == trade.order.orderId]
    assert opened and opened[0].contract.sec_type == "BAG"


async def test_a_bag_has_no_contract_details(
    sim: GatewaySimulator, raw_factory: Callable[[int], RawClient]
) -> None:
    """TWS answers 321, which ib_async takes for a warning, so its request never ends (the
    hang users report); the raw client shows what was sent."""
    raw = raw_factory(sim.port)
    await raw.start(client_id=5)
    raw.send(
        m.ReqContractDetails(
            req_id=7,
            contract=m.RequestContract(
                symbol="AAPL", sec_type="BAG", exchange="SMART", currency="USD"
            ),
        )
    )
    (error,) = await raw.expect(m.ErrorMsg, lambda e: e.req_id == 7)
    assert error.code == 321 and "'BAG' isn't supported" in error.text
    assert raw.of(m.ContractDataEnd) == []


async def test_combo_open_order_carries_its_legs(sim: GatewaySimulator, ib: ib_async.IB) -> None:
    bag = await vertical(ib)
    trade = ib.placeOrder(bag, ib_async.LimitOrder("BUY", 1, -50.0))  # asks a 50 credit
    await until(ib, lambda: status(trade) == "Submitted")
    ib.client.reqAllOpenOrders()  # a fresh openOrder, decoded from the wire
    await until(ib, lambda: any(len(t.contract.comboLegs or []) == 2 for t in ib.openTrades()))
    assert sim.executions() == []
