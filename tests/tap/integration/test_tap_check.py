"""The shape check: a recording from the simulator matches the simulator's shapes; a recording
whose answers changed shape does not; live ports are never checked against."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from pathlib import Path

import ib_async
import pytest

from horizon.tap import LivePortRefused, Recorder, TapProxy, check_recording, read_recording
from horizon.tap.recording import RecordedFrame, Recording, write_recording
from horizon.tap.wire import decode_payload, field_positions, frame, replace_fields
from horizon.venues.ibkr.simulator import GatewaySimulator
from tests.sim.clients import connect_ib
from tests.tap.integration.test_tap_replay import client_flow


@pytest.fixture
async def recording(loop_gateway: GatewaySimulator, tmp_path: Path) -> Recording:
    path = tmp_path / "session.jsonl"
    recorder = Recorder(record=path)
    async with TapProxy("127.0.0.1", loop_gateway.port, tap=recorder.connection) as tap:
        await client_flow(tap.port, client_id=1)
        await loop_gateway.wait_for_async(lambda: not loop_gateway.connected_client_ids())
    recorder.close()
    return read_recording(path)


async def test_a_simulator_recording_has_the_simulators_shapes(recording: Recording) -> None:
    result = await check_recording(recording)
    assert result.ok, result.report.differences()
    assert result.target == "the simulator" and result.connections == 1
    assert result.recorded_answers == result.live_answers > 100
    names = {k.name for k in result.report.kinds}
    assert {"ContractData", "OpenOrder", "ExecDetails", "CommissionReport"} <= names


async def test_against_a_gateway_at_a_port_accounts_and_order_ids_follow_it(
    recording: Recording, sim_factory: object
) -> None:
    """The recording is redacted (DU0000001) and this gateway has other accounts and a later
    nextValidId: the check adapts the requests the way a client would."""
    async with sim_factory(accounts=["DU7654321"]) as other:  # type: ignore[operator]
        other.set_price("AAPL", Decimal("190.00"))
        ib = await connect_ib(other, client_id=5)  # an order of another client: ids move on
        [aapl] = await ib.qualifyContractsAsync(ib_async.Stock("AAPL", "SMART", "USD"))
        resting = ib_async.LimitOrder("BUY", 1, 100.0, orderId=49)
        ib.placeOrder(aapl, resting)
        await other.wait_for_async(lambda: bool(other.engine.open_orders(5)))
        ib.disconnect()
        result = await check_recording(recording, port=other.port)
        assert result.ok, result.report.differences()
        assert result.target == f"127.0.0.1:{other.port}"
        [(execution, _)] = other.engine.executions()
        assert (execution.account, execution.client_id) == ("DU7654321", 1)
        assert execution.order_id > 49


def reshaped(f: RecordedFrame, **texts: str) -> RecordedFrame:
    """`f` with some fields' text replaced in its raw frame."""
    msg = decode_payload(f.direction, f.payload, f.version).message
    assert msg is not None
    where = field_positions(msg, f.version, texts)
    payload = replace_fields(f.payload, {i: texts[n].encode() for n, i in where.items()})
    return dataclasses.replace(f, raw=frame(payload))


async def test_answers_that_changed_shape_are_reported(
    recording: Recording, tmp_path: Path
) -> None:
    frames = []
    for f in recording.frames:
        if f.name == "ExecDetails":
            frames.append(reshaped(f, time="1736951401"))  # text -> numeric text
        elif f.name == "ContractData":  # one more field
            frames.append(dataclasses.replace(f, raw=frame(f.payload + b"extra\0")))
        elif f.name != "CommissionReport":  # the gateway sends one the recording lacks
            frames.append(f)
    path = tmp_path / "changed.jsonl"
    write_recording(path, frames, redacted=True)
    result = await check_recording(read_recording(path))
    assert not result.ok
    diffs = {k.name: k for k in result.report.differences()}
    assert set(diffs) == {"ExecDetails", "ContractData", "CommissionReport"}
    assert [d.field for d in diffs["ExecDetails"].fields] == ["time"]
    assert diffs["ContractData"].counts_differ and not diffs["ContractData"].fields
    assert diffs["CommissionReport"].missing == "recorded"


async def test_a_live_port_is_never_a_check_target(recording: Recording) -> None:
    with pytest.raises(LivePortRefused):
        await check_recording(recording, port=4001)
