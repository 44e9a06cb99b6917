"""Record a session from the simulator through the tap, then serve it back: the same client
flow holds against the recording, with another client id and other request ids."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import ib_async
import pytest

from horizon.tap import Recorder, ReplayGateway, TapProxy, read_recording
from horizon.venues.ibkr.simulator import GatewaySimulator


async def client_flow(port: int, client_id: int, *, skip_ids: int = 0) -> dict[str, object]:
    """Connect, qualify a contract with reqContractDetails, place a market order, see it
    filled, ask the time. `skip_ids` draws ids first, so every request id and order id of the
    flow differs from the recorded one."""
    ib = ib_async.IB()
    await ib.connectAsync("127.0.0.1", port, clientId=client_id, timeout=4, raiseSyncErrors=True)
    try:
        for _ in range(skip_ids):
            ib.client.getReqId()
        [contract] = await ib.qualifyContractsAsync(ib_async.Stock("AAPL", "SMART", "USD"))
        trade = ib.placeOrder(contract, ib_async.MarketOrder("BUY", 10))
        while not trade.isDone():
            await trade.statusEvent
        [fill] = trade.fills
        return {
            "accounts": ib.managedAccounts(),
            "con_id": contract.conId,
            "status": trade.orderStatus.status,
            "order_id": trade.order.orderId,
            "fill": (
                fill.execution.orderId,
                fill.execution.shares,
                fill.execution.price,
                fill.commissionReport.commission,
            ),
            "positions": [(p.contract.conId, p.position) for p in ib.positions()],
            "time": (await ib.reqCurrentTimeAsync()).tzinfo is not None,
        }
    finally:
        ib.disconnect()


@pytest.fixture
async def recorded(
    loop_gateway: GatewaySimulator, tmp_path: Path
) -> tuple[Path, dict[str, object]]:
    """A recording of `client_flow` against the simulator, and what the flow saw."""
    path = tmp_path / "session.jsonl"
    recorder = Recorder(record=path)
    async with TapProxy("127.0.0.1", loop_gateway.port, tap=recorder.connection) as tap:
        seen = await client_flow(tap.port, client_id=1)
        await loop_gateway.wait_for_async(lambda: not loop_gateway.connected_client_ids())
    recorder.close()
    return path, seen


async def test_the_client_flow_holds_against_the_replayed_recording(
    recorded: tuple[Path, dict[str, object]],
) -> None:
    path, seen = recorded
    async with ReplayGateway(path) as gw:
        replayed = await client_flow(gw.port, client_id=1)
        assert gw.unmatched() == []
    assert seen["accounts"] == ["DU1234567"]
    assert replayed == {**seen, "accounts": ["DU0000001"]}  # the recording is redacted


async def test_another_client_id_and_other_ids_are_remapped(
    recorded: tuple[Path, dict[str, object]],
) -> None:
    path, seen = recorded
    async with ReplayGateway(path, connection=1) as gw:
        first = await client_flow(gw.port, client_id=8, skip_ids=5)
        second = await client_flow(gw.port, client_id=9, skip_ids=11)
        assert gw.unmatched() == []
    for replayed, shift in ((first, 5), (second, 11)):
        assert replayed["status"] == "Filled" and replayed["con_id"] == seen["con_id"]
        assert replayed["order_id"] == seen["order_id"] + shift  # type: ignore[operator]
        assert replayed["fill"] == (replayed["order_id"], *seen["fill"][1:])  # type: ignore[index]


def test_the_blocking_api_from_its_own_thread(gateway: GatewaySimulator, tmp_path: Path) -> None:
    """Tap and replay both in background threads, ib_async's blocking API in the test."""
    gateway.set_price("AAPL", Decimal("190.00"))
    path = tmp_path / "session.jsonl"
    recorder = Recorder(record=path, redact=False)
    tap = TapProxy("127.0.0.1", gateway.port, tap=recorder.connection)
    tap.start()
    try:
        ib = ib_async.IB()
        ib.connect("127.0.0.1", tap.port, clientId=3, timeout=4)
        recorded_time = ib.reqCurrentTime()
        ib.disconnect()
        gateway.wait_for(lambda: not gateway.connected_client_ids())
    finally:
        tap.stop()
    recorder.close()
    assert "DU1234567" in path.read_text()
    with ReplayGateway(read_recording(path)) as gw:
        ib = ib_async.IB()
        ib.connect("127.0.0.1", gw.port, clientId=3, timeout=4)
        try:
            assert ib.managedAccounts() == ["DU1234567"]
            assert ib.reqCurrentTime() == recorded_time
        finally:
            ib.disconnect()
        assert gw.unmatched() == []
