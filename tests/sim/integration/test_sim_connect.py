"""Raw ib_async (no Horizon code) against the simulator: connect, accounts, time, contracts,
version negotiation and the clientId registry."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import ib_async
import pytest

from ibgateway_sim import GatewaySimulator
from ibgateway_sim.wire import messages as m
from ibgateway_sim.wire.protoforms import DEFAULT_MAX_SERVER_VERSION
from tests.sim.clients import RawClient, connect_ib, running_sim, until

FA = ["DF1234567", "DU1234568", "DU1234569"]


async def test_connect_completes_well_under_a_second(sim: GatewaySimulator) -> None:
    started = time.perf_counter()
    ib = await connect_ib(sim)  # raiseSyncErrors: any sync timeout would raise
    elapsed = time.perf_counter() - started
    try:
        assert elapsed < 0.5, elapsed
        assert ib.client.serverVersion() == 178
        assert ib.managedAccounts() == ["DU1234567"]
        assert sim.connected_client_ids() == {1}
        values = {v.tag: v.value for v in ib.accountValues() if v.currency in ("USD", "")}
        assert values["NetLiquidation"] == "1000000.00"
        assert values["AccountType"] == "INDIVIDUAL"
    finally:
        ib.disconnect()
    await sim.wait_for_async(lambda: sim.connected_client_ids() == set())


async def test_financial_advisor_accounts(sim_factory: Any) -> None:
    async with sim_factory(accounts=FA) as sim:
        started = time.perf_counter()
        ib = await connect_ib(sim)
        try:
            assert time.perf_counter() - started < 0.5
            assert ib.managedAccounts() == FA
            # one reqAccountUpdatesMulti per managed account was answered during connect
            accounts_seen = {v.account for v in ib.accountValues()}
            assert accounts_seen == set(FA)
            summary = await ib.accountSummaryAsync()
            net = {r.account: r.value for r in summary if r.tag == "NetLiquidation"}
            assert net == {
                "DF1234567": "0.00",
                "DU1234568": "1000000.00",
                "DU1234569": "1000000.00",
            }
        finally:
            ib.disconnect()


async def test_account_summary_with_ledger_tags(ib: ib_async.IB) -> None:
    rows = await ib.accountSummaryAsync("DU1234567")
    tags = {(r.tag, r.currency) for r in rows}
    for tag in (
        "NetLiquidation",
        "TotalCashValue",
        "BuyingPower",
        "AvailableFunds",
        "ExcessLiquidity",
        "InitMarginReq",
    ):
        assert (tag, "USD") in tags
    assert ("AccountType", "") in tags
    # $LEDGER:ALL, which ib_async asks for, gives the per-currency ledger
    assert ("CashBalance", "BASE") in tags and ("CashBalance", "USD") in tags


async def test_current_time_is_tz_aware(ib: ib_async.IB) -> None:
    now = await ib.reqCurrentTimeAsync()
    assert now.tzinfo is not None
    assert abs((now - dt.datetime.now(dt.UTC)).total_seconds()) < 5


@pytest.mark.parametrize(
    ("contract", "expected"),
    [
        (ib_async.Stock("AAPL", "SMART", "USD"), {"conId": 265598, "primaryExchange": "NASDAQ"}),
        (
            ib_async.Option("AAPL", "20260619", 180, "C", "SMART"),
            {"secType": "OPT", "multiplier": "100", "right": "C"},
        ),
        (ib_async.Future("ES", "202503", "CME"), {"localSymbol": "ESH5", "multiplier": "50"}),
        (ib_async.Forex("EURUSD"), {"localSymbol": "EUR.USD", "exchange": "IDEALPRO"}),
    ],
    ids=["stock", "option", "future", "forex"],
)
async def test_qualify_one_contract_of_each_kind(
    ib: ib_async.IB, contract: ib_async.Contract, expected: dict[str, Any]
) -> None:
    (qualified,) = await ib.qualifyContractsAsync(contract)
    assert qualified is not None and qualified.conId > 0
    for key, value in expected.items():
        assert getattr(qualified, key) == value, key
    details = await ib.reqContractDetailsAsync(qualified)
    assert len(details) == 1 and details[0].minTick > 0 and details[0].longName


async def test_unknown_contract_is_error_200(ib: ib_async.IB) -> None:
    errors: list[tuple[int, int]] = []
    ib.errorEvent += lambda req_id, code, text, contract: errors.append((req_id, code))
    (result,) = await ib.qualifyContractsAsync(ib_async.Stock("NOSUCH", "SMART", "USD"))
    assert result is None
    assert [code for _, code in errors] == [200]


async def test_duplicate_client_id_gets_326_and_is_closed(
    sim: GatewaySimulator, ib: ib_async.IB, raw_factory: Callable[[int], RawClient]
) -> None:
    raw = raw_factory(sim.port)
    await raw.open()
    await raw.wait_version()
    raw.send(m.StartApi(client_id=1))
    await asyncio.wait_for(raw.eof.wait(), 2)  # the gateway closed the second socket
    errors = raw.of(m.ErrorMsg)
    assert [e.code for e in errors] == [326]
    assert not raw.of(m.NextValidId) and not raw.of(m.ManagedAccounts)
    assert sim.connected_client_ids() == {1}

    second = ib_async.IB()
    started = time.perf_counter()
    with pytest.raises((TimeoutError, ConnectionError)):
        await second.connectAsync("127.0.0.1", sim.port, clientId=1, timeout=0.5)
    assert time.perf_counter() - started < 1.0
    assert ib.isConnected()  # the first client is untouched


@pytest.mark.parametrize(
    ("lo", "hi", "agreed"),
    [(157, 178, 178), (100, 226, DEFAULT_MAX_SERVER_VERSION), (157, 176, 176), (163, 163, 163)],
)
async def test_version_negotiation(
    sim: GatewaySimulator, raw_factory: Callable[[int], RawClient], lo: int, hi: int, agreed: int
) -> None:
    raw = raw_factory(sim.port)
    await raw.start(client_id=5, lo=lo, hi=hi)
    assert raw.conn is not None and raw.conn.version == agreed
    raw.send(m.ReqCurrentTime())
    await raw.expect(m.CurrentTime)


async def test_a_client_without_a_common_version_is_refused(
    sim: GatewaySimulator, raw_factory: Callable[[int], RawClient]
) -> None:
    raw = raw_factory(sim.port)
    await raw.open(lo=100, hi=150)
    await asyncio.wait_for(raw.eof.wait(), 2)
    assert raw.conn is not None and raw.conn.version == 0 and raw.received == []


async def test_ib_async_capped_at_176_trades_at_176(sim: GatewaySimulator) -> None:
    """What ib_insync 0.9.86 asks for: every encoder and decoder follows the version."""
    ib = ib_async.IB()
    ib.client.MaxClientVersion = 176
    await ib.connectAsync("127.0.0.1", sim.port, clientId=3, timeout=4, raiseSyncErrors=True)
    try:
        assert ib.client.serverVersion() == 176
        contract = (await ib.qualifyContractsAsync(ib_async.Stock("MSFT", "SMART", "USD")))[0]
        trade = ib.placeOrder(contract, ib_async.LimitOrder("BUY", 3, 400.00))
        await sim.wait_for_async(lambda: bool(sim.engine.open_orders(3)))
        sim.set_price("MSFT", Decimal("399.00"))
        await until(ib, lambda: trade.orderStatus.status == "Filled")
        assert trade.order.permId > 0 and trade.fills[0].commissionReport.commission > 0
    finally:
        ib.disconnect()


async def test_startup_sync_restores_open_orders_and_fills_for_a_returning_client(
    sim: GatewaySimulator,
) -> None:
    ib = await connect_ib(sim, client_id=7)
    contract = (await ib.qualifyContractsAsync(ib_async.Stock("IBM", "SMART", "USD")))[0]
    filled = ib.placeOrder(contract, ib_async.MarketOrder("BUY", 5))
    resting = ib.placeOrder(contract, ib_async.LimitOrder("BUY", 5, 100.00))
    await until(
        ib,
        lambda: filled.orderStatus.status == "Filled" and resting.orderStatus.status == "Submitted",
    )
    ib.disconnect()
    await sim.wait_for_async(lambda: 7 not in sim.connected_client_ids())

    again = await connect_ib(sim, client_id=7)
    try:
        open_ids = {t.order.orderId for t in again.openTrades()}
        assert open_ids == {resting.order.orderId}
        fills = again.fills()
        assert [f.execution.execId for f in fills] == [sim.executions()[0].exec_id]
        assert fills[0].commissionReport.commission > 0
        completed = await again.reqCompletedOrdersAsync(False)
        assert [t.orderStatus.status for t in completed] == ["Filled"]
        assert completed[0].order.permId == filled.order.permId
    finally:
        again.disconnect()


async def test_connection_time_is_in_the_gateway_zone(sim_factory: Any, raw_factory: Any) -> None:
    async with sim_factory(timezone="US/Eastern") as sim:
        raw = raw_factory(sim.port)
        await raw.open()
        await raw.wait_version()
        assert raw.conn is not None
        assert raw.conn.connection_time.endswith((" EST", " EDT"))


async def test_every_accepted_socket_has_nodelay(sim: GatewaySimulator, ib: ib_async.IB) -> None:
    sessions = sim.sessions()
    assert sessions
    assert all(session.nodelay for session in sessions)


async def test_a_pinned_protobuf_version_is_negotiated(
    sim_factory: Any, raw_factory: Callable[[int], RawClient]
) -> None:
    async with sim_factory(max_server_version=226) as sim:
        raw = raw_factory(sim.port)
        await raw.start(client_id=5, lo=100, hi=226)
        assert raw.conn is not None and raw.conn.version == 226
        raw.send(m.ReqCurrentTime())
        await raw.expect(m.CurrentTime)


@pytest.mark.parametrize("maximum", [178, 213, 226])
async def test_ib_async_runs_its_trading_cycle_on_text_whatever_the_maximum(maximum: int) -> None:
    """ib_async 2.1 asks for at most 178: against a simulator whose maximum is 213 or 226 it is
    negotiated down to text and runs as against 178 (ids, accounts, contract, place, fill with
    commission, cancel, positions, account summary, market data)."""
    async with running_sim(max_server_version=maximum) as sim:
        ib = await connect_ib(sim)
        try:
            assert ib.client.serverVersion() == 178
            assert ib.managedAccounts() == ["DU1234567"]
            (aapl,) = await ib.qualifyContractsAsync(ib_async.Stock("AAPL", "SMART", "USD"))
            assert aapl is not None and aapl.conId == 265598

            buy = ib.placeOrder(aapl, ib_async.MarketOrder("BUY", 10))
            await until(ib, lambda: buy.orderStatus.status == "Filled" and bool(buy.fills)
                        and buy.fills[-1].commissionReport.commission > 0)  # fmt: skip
            rest = ib.placeOrder(aapl, ib_async.LimitOrder("BUY", 5, 100.0))
            await until(ib, lambda: rest.orderStatus.status == "Submitted")
            ib.cancelOrder(rest.order)
            await until(ib, lambda: rest.orderStatus.status == "Cancelled")

            positions = await ib.reqPositionsAsync()
            assert [(p.contract.conId, p.position) for p in positions] == [(265598, 10)]
            summary = await ib.accountSummaryAsync()
            assert any(v.tag == "NetLiquidation" for v in summary)
            ticker = ib.reqMktData(aapl)
            await until(ib, lambda: ticker.last > 0)
            ib.cancelMktData(aapl)
        finally:
            ib.disconnect()
