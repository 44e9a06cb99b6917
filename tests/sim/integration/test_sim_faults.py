"""Every fault of the control API, over TCP. The raw wire client shows what the libraries would
normalise away (duplicates, ordering, ids); ib_async shows what a real client makes of it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import ib_async
import pytest

from ibgateway_sim import GatewaySimulator
from ibgateway_sim.wire import messages as m
from tests.sim.clients import RawClient, connect_ib, until

AAPL = m.RequestContract(symbol="AAPL", sec_type="STK", exchange="SMART", currency="USD")
RawFactory = Callable[[int], RawClient]


def market(order_id: int, qty: int = 5, action: str = "BUY") -> m.PlaceOrder:
    return m.PlaceOrder(
        order_id=order_id,
        contract=AAPL,
        action=action,
        total_quantity=Decimal(qty),
        order_type="MKT",
        tif="DAY",
    )


async def barrier(raw: RawClient) -> None:
    """The gateway answers in order: once this reply is in, everything before it is too."""
    before = len(raw.of(m.CurrentTime))
    raw.send(m.ReqCurrentTime())
    await raw.expect(m.CurrentTime, count=before + 1)


async def filled(raw: RawClient, order_id: int) -> None:
    await raw.expect(m.OrderStatus, lambda s: s.order_id == order_id and s.status == "Filled")


async def test_restart_drops_everyone_refuses_then_comes_back_intact(
    sim: GatewaySimulator,
) -> None:
    ib = await connect_ib(sim)
    contract = (await ib.qualifyContractsAsync(ib_async.Stock("AAPL", "SMART", "USD")))[0]
    done = ib.placeOrder(contract, ib_async.MarketOrder("BUY", 2))
    resting = ib.placeOrder(contract, ib_async.LimitOrder("BUY", 2, 170.00))
    await until(
        ib,
        lambda: done.orderStatus.status == "Filled" and resting.orderStatus.status == "Submitted",
    )
    lost = asyncio.Event()
    ib.disconnectedEvent += lost.set

    sim.restart(downtime=0.3)
    await asyncio.wait_for(lost.wait(), 2)
    assert not sim.listening and sim.connected_client_ids() == set()
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", sim.port)

    await sim.wait_for_async(lambda: sim.listening, timeout=2)
    again = await connect_ib(sim)
    try:
        assert [t.order.permId for t in again.openTrades()] == [resting.order.permId]
        assert [f.execution.execId for f in again.fills()] == [
            f.execution.execId for f in done.fills
        ]
    finally:
        again.disconnect()


async def test_freeze_is_half_open_and_thaw_answers(
    sim: GatewaySimulator, ib: ib_async.IB, raw_factory: RawFactory
) -> None:
    sim.freeze()
    pending = asyncio.ensure_future(ib.reqCurrentTimeAsync())
    newcomer = raw_factory(sim.port)
    await newcomer.open()  # the TCP connect itself succeeds
    done, _ = await asyncio.wait({pending}, timeout=0.3)
    assert not done and newcomer.conn is not None and newcomer.conn.version == 0
    assert ib.isConnected()

    sim.thaw()
    now = await asyncio.wait_for(pending, 2)
    assert now.tzinfo is not None
    assert await newcomer.wait_version() == 178


async def test_delay_holds_every_reply(sim: GatewaySimulator, ib: ib_async.IB) -> None:
    sim.delay(0.2)
    started = time.perf_counter()
    await ib.reqCurrentTimeAsync()
    assert time.perf_counter() - started >= 0.2
    sim.delay(0)
    started = time.perf_counter()
    await ib.reqCurrentTimeAsync()
    assert time.perf_counter() - started < 0.1


async def test_duplicate_next_exec(sim: GatewaySimulator, raw_factory: RawFactory) -> None:
    raw = raw_factory(sim.port)
    await raw.start(client_id=1)
    sim.duplicate_next_exec()
    raw.send(market(10))
    await filled(raw, 10)
    await barrier(raw)
    first, second = raw.of(m.ExecDetails)
    assert first == second and first.req_id == -1
    assert len(sim.executions()) == 1
    raw.send(market(11))  # only the next one was doubled
    await filled(raw, 11)
    await barrier(raw)
    assert len(raw.of(m.ExecDetails)) == 3


async def test_duplicate_exec_is_one_fill_in_ib_async(
    sim: GatewaySimulator, ib: ib_async.IB
) -> None:
    sim.duplicate_next_exec()
    contract = (await ib.qualifyContractsAsync(ib_async.Stock("AAPL", "SMART", "USD")))[0]
    trade = ib.placeOrder(contract, ib_async.MarketOrder("BUY", 1))
    await until(
        ib,
        lambda: (
            trade.orderStatus.status == "Filled" and trade.fills[0].commissionReport.commission > 0
        ),
    )
    assert len(trade.fills) == 1


async def test_commission_before_exec(sim: GatewaySimulator, raw_factory: RawFactory) -> None:
    raw = raw_factory(sim.port)
    await raw.start(client_id=1)
    sim.commission_before_exec()
    raw.send(market(10))
    await filled(raw, 10)
    await barrier(raw)
    kinds = [type(e) for e in raw.received if isinstance(e, m.ExecDetails | m.CommissionReport)]
    assert kinds == [m.CommissionReport, m.ExecDetails]


async def test_drop_next_commission_is_replayed_by_req_executions(
    sim: GatewaySimulator, raw_factory: RawFactory
) -> None:
    raw = raw_factory(sim.port)
    await raw.start(client_id=1)
    sim.drop_next_commission()
    raw.send(market(10))
    await filled(raw, 10)
    await barrier(raw)
    (details,) = raw.of(m.ExecDetails)
    assert raw.of(m.CommissionReport) == []
    raw.send(m.ReqExecutions(req_id=77))
    await raw.expect(m.ExecDetailsEnd, lambda e: e.req_id == 77)
    (report,) = raw.of(m.CommissionReport)
    assert report.exec_id == details.exec_id and report.commission > 0


async def test_correct_next_exec(sim: GatewaySimulator, raw_factory: RawFactory) -> None:
    raw = raw_factory(sim.port)
    await raw.start(client_id=1)
    sim.correct_next_exec(shares=Decimal(4))
    raw.send(market(10, qty=5))
    await filled(raw, 10)
    await raw.expect(m.ExecDetails, count=2)
    original, correction = raw.of(m.ExecDetails)
    head, _, last = original.exec_id.rpartition(".")
    assert last == "01" and correction.exec_id == f"{head}.02"
    assert (original.shares, correction.shares) == (5, 4)
    await raw.expect(m.CommissionReport, lambda r: r.exec_id == correction.exec_id)
    assert sim.executions()[-1].corrects == original.exec_id
    (position,) = sim.engine.positions("DU1234567")
    assert position.position == 4


async def test_drop_next_order(sim: GatewaySimulator, raw_factory: RawFactory) -> None:
    raw = raw_factory(sim.port)
    await raw.start(client_id=1)
    sim.drop_next_order()
    raw.send(market(10))
    await barrier(raw)
    assert raw.of(m.OpenOrder) == [] and sim.engine.order(1, 10) is None
    raw.send(market(11))
    await filled(raw, 11)


async def test_manual_order_goes_to_client_zero_only(
    sim: GatewaySimulator, raw_factory: RawFactory
) -> None:
    zero, other = raw_factory(sim.port), raw_factory(sim.port)
    await zero.start(client_id=0)
    await other.start(client_id=5)
    zero.send(m.ReqAutoOpenOrders(auto_bind=True))
    await barrier(zero)
    order_id = sim.inject_manual_order(quantity=Decimal(2), limit_price=Decimal("170.00"))
    opened = (await zero.expect(m.OpenOrder))[0]
    assert (opened.order_id, opened.client_id, opened.status) == (order_id, 0, "PreSubmitted")
    await barrier(other)
    assert other.of(m.OpenOrder) == []


async def test_send_error_broadcasts_connectivity_notices(
    sim: GatewaySimulator, ib: ib_async.IB
) -> None:
    codes: list[int] = []
    ib.errorEvent += lambda req_id, code, text, contract: codes.append(code)
    sim.send_error(1100, "Connectivity between IB and Trader Workstation has been lost.")
    sim.send_error(
        1102, "Connectivity between IB and Trader Workstation has been restored - data maintained."
    )
    await until(ib, lambda: codes == [1100, 1102])


async def test_the_step_timer_moves_prices_deterministically(sim_factory: Any) -> None:
    quotes = []
    for _ in range(2):
        async with sim_factory(seed=11) as sim:
            sim.step(5)
            quotes.append(sim.engine.quote(265598).last)
    assert quotes[0] == quotes[1]
    async with sim_factory(seed=11, step_interval=0.02) as sim:
        ib = await connect_ib(sim)
        try:
            ticker = ib.reqMktData(
                (await ib.qualifyContractsAsync(ib_async.Stock("AAPL", "SMART", "USD")))[0]
            )
            await until(ib, lambda: ticker.last > 0)
            first = ticker.last
            await until(ib, lambda: ticker.last != first)
        finally:
            ib.disconnect()


async def test_control_calls_from_another_thread_take_effect_in_order(
    sim: GatewaySimulator, ib: ib_async.IB
) -> None:
    def drive() -> list[Decimal]:
        seen = []
        for price in ("181.00", "182.00", "183.00"):
            sim.set_price("AAPL", Decimal(price))
            seen.append(sim.engine.quote(265598).last)
        return seen

    assert await asyncio.to_thread(drive) == [
        Decimal("181.00"),
        Decimal("182.00"),
        Decimal("183.00"),
    ]


def test_thread_mode_with_blocking_ib_async() -> None:
    sim = GatewaySimulator(port=0, accounts=["DU1234567"], seed=7, step_interval=None)
    sim.start()
    try:
        ib = ib_async.IB()
        ib.connect("127.0.0.1", sim.port, clientId=1, timeout=4)
        try:
            contract = ib.qualifyContracts(ib_async.Stock("AAPL", "SMART", "USD"))[0]
            trade = ib.placeOrder(contract, ib_async.MarketOrder("BUY", 1))
            sim.wait_for(lambda: len(sim.executions()) == 1, timeout=5)
            ib.reqCurrentTime()  # a round trip: everything sent before its reply is processed
            assert trade.orderStatus.status == "Filled"
            assert trade.fills[0].commissionReport.commission > 0
        finally:
            ib.disconnect()
        with pytest.raises(TimeoutError):
            sim.wait_for(lambda: len(sim.executions()) == 2, timeout=0.1)
    finally:
        sim.stop()
    assert not sim.listening
