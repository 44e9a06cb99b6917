"""Bad input never takes the simulator down: garbage handshakes, malformed frames, unknown
message ids, absurd lengths and half-sent frames cost at most the connection that sent them.
Fuzzed with hypothesis over real TCP against one running simulator; a healthy client must
still work afterwards and asyncio must never have logged a failed protocol callback."""

from __future__ import annotations

import logging
import socket
import struct
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ibgateway_sim import GatewaySimulator
from ibgateway_sim.wire import messages as m
from ibgateway_sim.wire.codec import (
    ClientConnection,
    encode,
    encode_hello,
    frame,
    frame_fields,
)
from ibgateway_sim.wire.messages import Direction
from tests.sim.strategies import any_message

FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module")
def gateway() -> Iterator[GatewaySimulator]:
    sim = GatewaySimulator(
        port=0, accounts=["DU1234567"], seed=3, step_interval=None, pacing_limit=None
    )
    sim.start()
    try:
        yield sim
    finally:
        sim.stop()


class Wire:
    """A blocking raw client: reads wait on the socket (with a timeout), never on sleeps."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=2)
        self.conn = ClientConnection()
        self.received: list[Any] = []
        self.closed_by_peer = False

    def hello(self, lo: int = 157, hi: int = 178) -> None:
        self.conn = ClientConnection(lo, hi)
        self.sock.sendall(self.conn.hello_bytes)

    def start(self, client_id: int) -> None:
        self.hello()
        self.read_until(lambda: self.conn.version > 0)
        self.send(m.StartApi(client_id=client_id))
        self.read_until(lambda: any(isinstance(e, m.NextValidId) for e in self.received))

    def send(self, msg: m.Message) -> None:
        self.sock.sendall(self.conn.send(msg))

    def read_until(self, pred: Any, timeout: float = 2) -> None:
        self.sock.settimeout(timeout)
        while not pred():
            data = self.sock.recv(65536)
            if not data:
                self.closed_by_peer = True
                return
            self.conn.receive_data(data)
            while (event := self.conn.next_event()) is not None:
                self.received.append(event)

    def wait_closed(self) -> bool:
        self.read_until(lambda: False)
        return self.closed_by_peer

    def errors(self) -> list[int]:
        return [e.code for e in self.received if isinstance(e, m.ErrorMsg) and e.code < 2100]

    def close(self) -> None:
        self.sock.close()


def healthy(sim: GatewaySimulator, client_id: int = 99) -> None:
    w = Wire(sim.port)
    try:
        w.start(client_id)
        w.send(m.ReqCurrentTime())
        w.read_until(lambda: any(isinstance(e, m.CurrentTime) for e in w.received))
        assert any(isinstance(e, m.CurrentTime) for e in w.received)
    finally:
        w.close()
    sim.wait_for(lambda: client_id not in sim.connected_client_ids())


WATCHED = ("asyncio", "ibgateway_sim")


@pytest.fixture
def no_callback_failures(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """No failed protocol callback (asyncio) and no failed request handler (ours)."""
    caplog.set_level(logging.ERROR)
    yield
    failures = [
        r for r in caplog.records if r.name.startswith(WATCHED) and r.levelno >= logging.ERROR
    ]
    assert not failures, [r.getMessage() for r in failures]


def test_garbage_handshake_is_closed(gateway: GatewaySimulator, no_callback_failures: None) -> None:
    w = Wire(gateway.port)
    w.sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert w.wait_closed() and w.received == []
    healthy(gateway)


def test_oversized_length_closes_only_that_connection(
    gateway: GatewaySimulator, no_callback_failures: None
) -> None:
    bystander = Wire(gateway.port)
    bystander.start(client_id=21)
    w = Wire(gateway.port)
    w.start(client_id=22)
    w.sock.sendall(struct.pack(">I", 0x7FFFFFFF) + b"49\0")
    assert w.wait_closed()
    bystander.send(m.ReqCurrentTime())
    bystander.read_until(lambda: any(isinstance(e, m.CurrentTime) for e in bystander.received))
    assert 21 in gateway.connected_client_ids()
    bystander.close()


def test_malformed_and_unknown_messages_get_320_and_the_session_goes_on(
    gateway: GatewaySimulator, no_callback_failures: None
) -> None:
    w = Wire(gateway.port)
    w.start(client_id=23)
    w.sock.sendall(frame_fields(["49", "not-a-version"]))  # malformed
    w.sock.sendall(frame_fields(["3", "1", "x"]))  # placeOrder cut short
    w.sock.sendall(frame_fields(["9999", "1"]))  # no such message
    w.sock.sendall(frame(b"\xff\xfe\0"))  # not even text
    w.send(m.ReqCurrentTime())
    w.read_until(lambda: any(isinstance(e, m.CurrentTime) for e in w.received))
    assert w.errors() == [320, 320, 320, 320]
    assert gateway.engine.open_orders() == []
    w.close()


def test_requests_before_start_api_are_ignored(
    gateway: GatewaySimulator, no_callback_failures: None
) -> None:
    w = Wire(gateway.port)
    w.hello()
    w.read_until(lambda: w.conn.version > 0)
    w.send(m.ReqCurrentTime())
    w.send(m.StartApi(client_id=24))
    w.send(m.ReqCurrentTime())
    w.read_until(lambda: any(isinstance(e, m.CurrentTime) for e in w.received))
    kinds = [type(e) for e in w.received if not isinstance(e, m.ErrorMsg)]
    assert kinds == [m.ManagedAccounts, m.NextValidId, m.CurrentTime]
    w.close()


def test_half_sent_frame_then_close(gateway: GatewaySimulator, no_callback_failures: None) -> None:
    before = (len(gateway.engine.open_orders()), len(gateway.executions()))
    w = Wire(gateway.port)
    w.start(client_id=25)
    aapl = m.RequestContract(symbol="AAPL", sec_type="STK", exchange="SMART", currency="USD")
    whole = encode(m.PlaceOrder(order_id=1, contract=aapl, action="BUY", order_type="MKT"))
    w.sock.sendall(whole[: len(whole) // 2])
    w.close()
    gateway.wait_for(lambda: 25 not in gateway.connected_client_ids())
    assert (len(gateway.engine.open_orders()), len(gateway.executions())) == before
    healthy(gateway)


@FUZZ
@given(data=st.binary(max_size=300))
def test_fuzz_raw_bytes_as_a_whole_connection(
    gateway: GatewaySimulator, no_callback_failures: None, data: bytes
) -> None:
    w = Wire(gateway.port)
    try:
        w.sock.sendall(data)
    finally:
        w.close()


in_ids = sorted(i for d, i in m.SPECS if d is Direction.IN)
field_text = st.text(alphabet=st.sampled_from("0123456789.-E AZaz\0"), max_size=8)
frames = st.one_of(
    st.binary(max_size=64),
    st.lists(field_text, max_size=30).map(lambda fs: frame_fields(f.replace("\0", "") for f in fs)),
    st.tuples(st.sampled_from(in_ids), st.lists(field_text, max_size=130)).map(
        lambda t: frame_fields([str(t[0]), *(f.replace("\0", "") for f in t[1])])
    ),
)


@FUZZ
@given(chunks=st.lists(frames, max_size=6))
def test_fuzz_frames_after_a_good_handshake(
    gateway: GatewaySimulator, no_callback_failures: None, chunks: list[bytes]
) -> None:
    w = Wire(gateway.port)
    try:
        w.sock.sendall(encode_hello(157, 178) + encode(m.StartApi(client_id=30), 178))
        for chunk in chunks:
            w.sock.sendall(chunk)
    except OSError:
        pass  # the gateway may close on an absurd length; that is allowed
    finally:
        w.close()
    gateway.wait_for(lambda: 30 not in gateway.connected_client_ids())


@FUZZ
@given(msgs=st.lists(any_message(Direction.IN, version=178), min_size=1, max_size=6))
def test_fuzz_well_formed_requests_with_arbitrary_values(
    gateway: GatewaySimulator, no_callback_failures: None, msgs: list[tuple[m.Message, int]]
) -> None:
    """Every request type, any field values: each handler answers or refuses, none fails."""
    w = Wire(gateway.port)
    try:
        w.start(client_id=31)
        for msg, _ in msgs:
            w.send(msg)
        w.send(m.ReqCurrentTime())
        w.read_until(lambda: any(isinstance(e, m.CurrentTime) for e in w.received))
        assert not w.closed_by_peer
    finally:
        w.close()
    gateway.wait_for(lambda: 31 not in gateway.connected_client_ids())


prices = st.none() | st.decimals(min_value=-1000, max_value=100000, places=4)
order_fields = st.fixed_dictionaries(
    {
        "order_id": st.integers(-5, 50),
        "action": st.sampled_from(["BUY", "SELL", "SSHORT", "HOLD", ""]),
        "total_quantity": st.none() | st.decimals(min_value=-10, max_value=10**7, places=2),
        "order_type": st.sampled_from(
            ["MKT", "LMT", "STP", "STP LMT", "TRAIL", "TRAIL LIMIT", "MIT", "LIT", "REL", ""]
        ),
        "lmt_price": prices,
        "aux_price": prices,
        "trail_stop_price": prices,
        "trailing_percent": prices,
        "lmt_price_offset": prices,
        "tif": st.sampled_from(["DAY", "GTC", "IOC", "OPG", "GTD", "FOK", "XYZ", ""]),
        "good_till_date": st.sampled_from(
            [
                "",
                "20991231 16:00:00 US/Eastern",
                "20200101-00:00:00",
                "garbage",
                "20991231 16:00:00 Mars/Base",
            ]
        ),
        "good_after_time": st.sampled_from(["", "20991231 09:30:00 UTC", "nonsense"]),
        "parent_id": st.integers(-1, 50),
        "transmit": st.booleans(),
        "oca_group": st.sampled_from(["", "G1"]),
        "oca_type": st.integers(0, 4),
        "account": st.sampled_from(["", "DU1234567", "DU0000000", "DF1"]),
        "fa_group": st.sampled_from(["", "All", "Nope"]),
        "fa_method": st.sampled_from(["", "EqualQuantity", "NetLiq", "PctChange", "Bogus"]),
        "fa_percentage": st.sampled_from(["", "10", "x"]),
        "what_if": st.booleans(),
    }
)
contracts = st.sampled_from(
    [
        m.RequestContract(symbol="AAPL", sec_type="STK", exchange="SMART", currency="USD"),
        m.RequestContract(symbol="ES", sec_type="FUT", exchange="CME", last_trade_date="202503"),
        m.RequestContract(symbol="EUR", sec_type="CASH", exchange="IDEALPRO", currency="USD"),
        m.RequestContract(con_id=265598, exchange="SMART"),
        m.RequestContract(
            symbol="AAPL",
            sec_type="OPT",
            exchange="SMART",
            last_trade_date="20260619",
            strike=Decimal(180),
            right="C",
        ),
    ]
)


@FUZZ
@given(
    orders=st.lists(st.tuples(contracts, order_fields), min_size=1, max_size=6),
    cancels=st.lists(st.integers(-5, 50), max_size=3),
    price=st.decimals(1, 500, places=2),
)
def test_fuzz_orders_through_the_engine(
    gateway: GatewaySimulator,
    no_callback_failures: None,
    orders: list[tuple[m.RequestContract, dict[str, Any]]],
    cancels: list[int],
    price: Decimal,
) -> None:
    """Plausible and implausible orders, modifies (repeated ids), cancels and a price move:
    the gateway answers every one and never fails inside."""
    w = Wire(gateway.port)
    try:
        w.start(client_id=32)
        for contract, fields in orders:
            w.send(m.PlaceOrder(contract=contract, **fields))
        for order_id in cancels:
            w.send(m.CancelOrder(order_id=order_id))
        gateway.set_price("AAPL", price)
        w.send(m.ReqCurrentTime())
        w.read_until(lambda: any(isinstance(e, m.CurrentTime) for e in w.received))
        assert not w.closed_by_peer
        assert 320 not in w.errors()  # every order was understood (accepted or refused)
    finally:
        w.close()
    gateway.wait_for(lambda: 32 not in gateway.connected_client_ids())


def test_still_healthy_after_the_fuzzing(
    gateway: GatewaySimulator, no_callback_failures: None
) -> None:
    healthy(gateway)
    assert gateway.listening
