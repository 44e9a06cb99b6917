"""The tap over TCP: transparent to ib_async, byte for byte, with many clients, through
drops and malformed frames on either side; the live-port valve."""

from __future__ import annotations

import asyncio
import struct
import threading
from decimal import Decimal

import ib_async
import pytest

from horizon.tap import LivePortRefused, Recorder, TapProxy
from horizon.tap.decode import EventKind
from horizon.venues.ibkr.simulator import GatewaySimulator
from horizon.venues.ibkr.simulator import messages as m
from horizon.venues.ibkr.simulator.codec import encode, encode_hello, frame_fields
from ibgateway_sim.wire.codec import decode_payload
from tests.sim.clients import connect_ib
from tests.tap.conftest import STILL_MARKET
from tests.tap.helpers import FakeGateway, Frames, chunked, read_until_closed

REPLY = frame_fields(["178", "20250115 09:30:00 EST"])
GARBAGE_LENGTH = struct.pack(">I", 0xFFFFFFF0) + b"\x01\x02"


async def flow(ib: ib_async.IB) -> dict[str, object]:
    """Connect-time state, a contract qualified, a market order filled, the time asked."""
    [contract] = await ib.qualifyContractsAsync(ib_async.Stock("AAPL", "SMART", "USD"))
    trade = ib.placeOrder(contract, ib_async.MarketOrder("BUY", 10))
    while not trade.isDone():
        await trade.statusEvent
    now = await ib.reqCurrentTimeAsync()
    return {
        "accounts": ib.managedAccounts(),
        "contract": (contract.conId, contract.primaryExchange, contract.currency),
        "status": trade.orderStatus.status,
        "filled": (trade.orderStatus.filled, len(trade.fills), trade.fills[0].execution.shares),
        "commission": trade.fills[0].commissionReport.commission,
        "time_aware": now.tzinfo is not None,
    }


async def test_ib_async_through_the_tap_gets_what_it_gets_direct(
    loop_gateway: GatewaySimulator,
) -> None:
    frames = Frames()
    recorder = Recorder(on_frame=frames)
    async with TapProxy("127.0.0.1", loop_gateway.port, tap=recorder.connection) as tap:
        direct = await connect_ib(loop_gateway, client_id=1)
        tapped = ib_async.IB()
        await tapped.connectAsync(
            "127.0.0.1", tap.port, clientId=2, timeout=4, raiseSyncErrors=True
        )
        try:
            assert await flow(tapped) == await flow(direct)
            assert loop_gateway.connected_client_ids() == {1, 2}
        finally:
            tapped.disconnect()
            direct.disconnect()
        await frames.await_until(lambda: bool(frames.named("CurrentTime")))
    assert {f.client_id for f in frames.seen if f.kind is EventKind.MESSAGE} == {2}
    assert not [f for f in frames.seen if f.error or f.unknown]
    names = {f.name for f in frames.seen}
    assert {"PlaceOrder", "ExecDetails", "CommissionReport", "ContractData"} <= names


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_bytes_arrive_exactly_as_sent_both_ways_however_chunked(seed: int) -> None:
    """A fake gateway and a raw client, both writing in random chunks, malformed frames
    included: each side receives exactly what the other sent, and it is all recorded."""
    frames = Frames()
    recorder = Recorder(on_frame=frames, redact=False)
    up = (
        encode_hello(157, 178)
        + encode(m.StartApi(client_id=4))
        + encode(m.ReqCurrentTime())
        + frame_fields(["abc", "1"])
        + frame_fields(["999", "x"])
        + GARBAGE_LENGTH
    )
    down = (
        REPLY
        + encode(m.ManagedAccounts(accounts="DU1234567"))
        + encode(m.CurrentTime(time=1736951400))
        + frame_fields(["3", "6"])
        + frame_fields(["777"])
        + GARBAGE_LENGTH
    )
    async with FakeGateway() as gw, TapProxy("127.0.0.1", gw.port, tap=recorder.connection) as tap:
        reader, writer = await asyncio.open_connection("127.0.0.1", tap.port)
        for chunk in chunked(up, seed):
            writer.write(chunk)
            await writer.drain()
        await gw.until(lambda: bool(gw.received) and len(gw.received[0]) >= len(up))
        await gw.send(chunked(down, seed + 100))
        got = await asyncio.wait_for(reader.readexactly(len(down)), 5)
        assert bytes(gw.received[0]) == up and got == down
        writer.close()
        await gw.until(lambda: gw.closed == 1)
        await frames.await_until(
            lambda: any(f.kind is EventKind.RAW and f.direction.name == "OUT" for f in frames.seen)
        )
    recorded_up = b"".join(f.raw for f in frames.seen if f.direction.name == "IN")
    recorded_down = b"".join(f.raw for f in frames.seen if f.direction.name == "OUT")
    assert recorded_up == up and recorded_down == down
    flagged = [
        (f.direction.name, f.name, f.unknown, f.error is not None)
        for f in frames.seen
        if f.unknown or f.error
    ]
    assert flagged == [
        ("IN", "?", False, True),
        ("IN", "msg999", True, False),
        ("IN", "raw", False, True),
        ("OUT", "OrderStatus", False, True),
        ("OUT", "msg777", True, False),
        ("OUT", "raw", False, True),
    ]


async def test_malformed_requests_reach_the_gateway_and_the_tap_keeps_serving(
    loop_gateway: GatewaySimulator,
) -> None:
    frames = Frames()
    recorder = Recorder(on_frame=frames)
    async with TapProxy("127.0.0.1", loop_gateway.port, tap=recorder.connection) as tap:
        reader, writer = await asyncio.open_connection("127.0.0.1", tap.port)
        writer.write(encode_hello(157, 178))
        await frames.await_until(lambda: bool(frames.named("version")))
        writer.write(encode(m.StartApi(client_id=5)) + frame_fields(["abc", "1"]))
        await frames.await_until(
            lambda: any(f.name == "ErrorMsg" and f.fields.get("code") == 320 for f in frames.seen)
        )
        writer.write(GARBAGE_LENGTH)  # the simulator closes on a length nobody could send
        await read_until_closed(reader)
        [bad] = [f for f in frames.seen if f.fields == {} and f.values == ("abc", "1")]
        assert bad.error is not None and bad.conn == 1
        await frames.await_until(lambda: bool(frames.named("raw")))
        assert frames.named("raw")[0].raw == GARBAGE_LENGTH
        second = ib_async.IB()
        await second.connectAsync("127.0.0.1", tap.port, clientId=6, timeout=4)
        try:
            assert (await second.reqCurrentTimeAsync()).tzinfo is not None
        finally:
            second.disconnect()
        assert tap.connections == 2


async def test_clients_at_once_each_have_their_own_upstream(loop_gateway: GatewaySimulator) -> None:
    frames = Frames()
    recorder = Recorder(on_frame=frames)
    async with TapProxy("127.0.0.1", loop_gateway.port, tap=recorder.connection) as tap:
        clients = [ib_async.IB() for _ in range(3)]
        await asyncio.gather(
            *(
                ib.connectAsync("127.0.0.1", tap.port, clientId=10 + i, timeout=4)
                for i, ib in enumerate(clients)
            )
        )
        try:
            assert loop_gateway.connected_client_ids() == {10, 11, 12} and tap.active == 3
            times = await asyncio.gather(*(ib.reqCurrentTimeAsync() for ib in clients))
            assert all(t.tzinfo is not None for t in times)
        finally:
            for ib in clients:
                ib.disconnect()
    by_conn = {f.conn: f.client_id for f in frames.named("StartApi")}
    assert sorted(by_conn.values()) == [10, 11, 12] and sorted(by_conn) == [1, 2, 3]


async def test_a_side_dropping_closes_that_pair_only(loop_gateway: GatewaySimulator) -> None:
    # two pairs on the simulator, one on a fake gateway
    async with (
        FakeGateway() as fake,
        TapProxy("127.0.0.1", loop_gateway.port) as tap,
        TapProxy("127.0.0.1", fake.port) as tap_fake,
    ):
        leaving, staying = ib_async.IB(), ib_async.IB()
        await leaving.connectAsync("127.0.0.1", tap.port, clientId=21, timeout=4)
        await staying.connectAsync("127.0.0.1", tap.port, clientId=22, timeout=4)
        leaving.disconnect()  # the client drops: its upstream goes, the other stays
        await loop_gateway.wait_for_async(lambda: loop_gateway.connected_client_ids() == {22})
        assert (await staying.reqCurrentTimeAsync()).tzinfo is not None
        reader, writer = await asyncio.open_connection("127.0.0.1", tap_fake.port)
        writer.write(encode_hello(157, 178))
        await fake.until(lambda: bool(fake.received and fake.received[0]))
        fake.drop()  # the gateway drops: the client sees the end of its stream
        assert await read_until_closed(reader) == b""
        writer.close()
        assert (await staying.reqCurrentTimeAsync()).tzinfo is not None
        assert tap.active == 1
        staying.disconnect()


async def test_a_gateway_that_is_not_there_closes_the_client() -> None:
    async with FakeGateway() as fake:
        port = fake.port
    async with TapProxy("127.0.0.1", port) as tap:
        reader, writer = await asyncio.open_connection("127.0.0.1", tap.port)
        assert await read_until_closed(reader) == b""
        writer.close()


@pytest.mark.parametrize("port", [7496, 4001])
def test_known_live_ports_are_refused_unless_asked_for(port: int) -> None:
    with pytest.raises(LivePortRefused, match=f"port {port} is a known IBKR LIVE port"):
        TapProxy("127.0.0.1", port)
    allowed = TapProxy("127.0.0.1", port, allow_live=True)
    assert allowed.warning is not None and "LIVE" in allowed.warning
    assert TapProxy("127.0.0.1", 4002).warning is None


@pytest.mark.parametrize(
    ("maximum", "cap"), [(178, None), (226, None), (226, 200)],
    ids=["text", "protobuf", "capped-to-text"],
)
def test_ibapi_through_the_tap(maximum: int, cap: int | None) -> None:
    """IB's official client (EClient + reader thread, v100..226) through a tap in its own
    thread: connect, the time, contract details, an order to its fill. With the simulator at
    178 every frame is decoded; at 226 (its default) the session runs in protobuf through the
    tap untouched, and the recording keeps each frame as it travelled, flagged undecoded, its
    account ids replaced byte for byte. A tap with `max_version=200` caps the client's hello,
    so the same client on the same 226 simulator speaks text and every frame is decoded."""
    with GatewaySimulator(**STILL_MARKET, max_server_version=maximum) as gateway:
        _ibapi_through_the_tap(gateway, maximum, cap)


def _ibapi_through_the_tap(gateway: GatewaySimulator, maximum: int, cap: int | None) -> None:
    from ibapi.client import EClient
    from ibapi.contract import Contract
    from ibapi.order import Order
    from ibapi.wrapper import EWrapper

    gateway.set_price("AAPL", Decimal("190.00"))

    class App(EWrapper, EClient):  # type: ignore[misc]
        """Notes callbacks; `wait` blocks on a condition they notify."""

        def __init__(self) -> None:
            EWrapper.__init__(self)
            EClient.__init__(self, self)
            self.cond = threading.Condition()
            self.seen: set[str] = set()

        def note(self, what: str) -> None:
            with self.cond:
                self.seen.add(what)
                self.cond.notify_all()

        def wait(self, *what: str) -> None:
            with self.cond:
                assert self.cond.wait_for(lambda: set(what) <= self.seen, 5), self.seen

        def nextValidId(self, orderId: int) -> None:
            self.note("nextValidId")

        def currentTime(self, time: int) -> None:
            self.note("currentTime")

        def contractDetailsEnd(self, reqId: int) -> None:
            self.note(f"contractDetailsEnd {reqId}")

        def commissionAndFeesReport(self, report: object) -> None:
            self.note("commission")

    frames = Frames()
    recorder = Recorder(on_frame=frames)
    tap = TapProxy("127.0.0.1", gateway.port, tap=recorder.connection, max_version=cap)
    tap.start()
    app = App()
    # the simulator speaks no version between 179 and 202: a client capped there gets 178
    negotiated = maximum if cap is None else min(maximum, cap if cap > 202 else 178)
    try:
        app.connect("127.0.0.1", tap.port, clientId=31)
        reader = threading.Thread(target=app.run, daemon=True)
        reader.start()
        app.wait("nextValidId")
        app.reqCurrentTime()
        contract = Contract()
        contract.symbol, contract.secType = "AAPL", "STK"
        contract.exchange, contract.currency = "SMART", "USD"
        app.reqContractDetails(77, contract)
        order = Order()
        order.action, order.orderType, order.totalQuantity = "BUY", "MKT", Decimal(3)
        app.placeOrder(500, contract, order)
        app.wait("currentTime", "contractDetailsEnd 77", "commission")
        frames.wait(lambda: bool(_commission_reports(frames, negotiated)))
    finally:
        app.disconnect()
        reader.join(timeout=5)
        tap.stop()
    [hello] = frames.named("hello")
    assert hello.fields["max_version"] == (cap or 226)
    assert frames.named("version")[0].version == negotiated
    if negotiated > 200:
        messages = [f for f in frames.seen if f.kind is EventKind.MESSAGE]
        assert messages and all(f.error and "protobuf" in f.error for f in messages)
        # redacted all the same, in the raw bytes, and the frames still read (the wait above)
        assert b"DU1234567" not in b"".join(f.raw for f in messages)
        assert b"DU0000001" in b"".join(f.raw for f in messages)
        return
    assert frames.named("ContractDataEnd")[0].fields["req_id"] == 77
    assert frames.named("PlaceOrder")[0].fields["order_id"] == 500
    assert not [f for f in frames.seen if f.error or f.unknown]
    assert {f.client_id for f in frames.named("PlaceOrder")} == {31}



def _commission_reports(frames: Frames, version: int) -> list[object]:
    """The commission reports the recording holds: decoded by the tap at text versions, read
    back from the frames' bytes with the simulator's own codec when they travelled as protobuf."""
    if version <= 200:
        return list(frames.named("CommissionReport"))
    outbound = [f.payload for f in list(frames.seen) if f.direction is m.Direction.OUT
                and f.kind is EventKind.MESSAGE]  # fmt: skip
    return [
        msg for payload in outbound
        if isinstance(msg := decode_payload(m.Direction.OUT, payload, version), m.CommissionReport)
    ]  # fmt: skip

class Listener:
    """A ConnectionTap that keeps what it is told, and can be told to fail."""

    def __init__(self, fail: bool = False) -> None:
        self.told: list[tuple[str, bytes, float]] = []
        self.fail = fail
        self.event = asyncio.Event()

    def data(self, direction: m.Direction, data: bytes, at: float) -> None:
        self.told.append((direction.name, data, at))
        self.event.set()
        if self.fail:
            raise RuntimeError("a recorder bug")

    def closed(self, by: str, at: float) -> None:
        self.told.append(("closed", by.encode(), at))
        self.event.set()


async def test_a_tap_hears_every_chunk_in_read_order_and_a_failing_one_is_detached() -> None:
    ticks = iter(range(1, 10_000))
    listeners: list[Listener] = []

    def factory(conn: int) -> Listener:
        listeners.append(Listener(fail=conn == 2))
        return listeners[-1]

    up = encode_hello(157, 178) + encode(m.StartApi(client_id=4))
    async with (
        FakeGateway() as gw,
        TapProxy("127.0.0.1", gw.port, tap=factory, clock=lambda: float(next(ticks))) as tap,
    ):
        for n in (1, 2):
            reader, writer = await asyncio.open_connection("127.0.0.1", tap.port)
            writer.write(up)
            await gw.until(lambda n=n: len(gw.received) == n and len(gw.received[-1]) == len(up))
            await gw.send([REPLY], conn=n - 1)
            assert await asyncio.wait_for(reader.readexactly(len(REPLY)), 5) == REPLY
            writer.write(encode(m.ReqCurrentTime()))  # after the failure: still forwarded
            await gw.until(lambda n=n: len(gw.received[n - 1]) > len(up))
            writer.close()
            await gw.until(lambda n=n: gw.closed == n)
    first, second = listeners
    assert b"".join(d for who, d, _ in first.told if who == "IN") == up + encode(m.ReqCurrentTime())
    assert [who for who, _, _ in first.told][-1] == "closed"
    assert [at for _, _, at in first.told] == sorted(at for _, _, at in first.told)
    assert len(second.told) == 1  # it raised on the first chunk and was told nothing more
