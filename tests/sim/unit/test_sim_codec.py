"""The simulator's sans-IO codec: framing, rows, versions, handshake, fuzzing."""

from __future__ import annotations

import itertools
import struct
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ibgateway_sim.wire import messages as m
from ibgateway_sim.wire.codec import (
    MAX_FRAME,
    MAX_VERSION,
    BadMessage,
    ClientConnection,
    ConnState,
    Decoder,
    EncodeError,
    GatewayConnection,
    Hello,
    ProtocolError,
    UnknownMessage,
    decode_fields,
    encode,
    encode_fields,
    encode_hello,
    frame_fields,
    negotiate,
)
from ibgateway_sim.wire.messages import Direction
from tests.sim.strategies import any_message

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(pair=any_message(), data=st.data())
def test_round_trip_survives_any_chunking(pair: tuple[m.Message, int], data: st.DataObject) -> None:
    msg, version = pair
    wire = encode(msg, version)
    cuts = sorted(data.draw(st.sets(st.integers(1, len(wire) - 1), max_size=8)))
    dec = Decoder(msg.DIRECTION, version)
    for a, b in itertools.pairwise([0, *cuts, len(wire)]):
        assert dec.next_message() is None
        dec.feed(wire[a:b])
    assert dec.next_message() == msg
    assert dec.next_message() is None


@FUZZ
@given(pairs=st.lists(any_message(version=MAX_VERSION), min_size=2, max_size=5))
def test_back_to_back_messages_in_one_chunk(pairs: list[tuple[m.Message, int]]) -> None:
    dec_in, dec_out = Decoder(Direction.IN), Decoder(Direction.OUT)
    for msg, _ in pairs:
        (dec_in if msg.DIRECTION is Direction.IN else dec_out).feed(encode(msg))
    got_in = list(iter(dec_in.next_message, None))
    got_out = list(iter(dec_out.next_message, None))
    assert got_in == [p for p, _ in pairs if p.DIRECTION is Direction.IN]
    assert got_out == [p for p, _ in pairs if p.DIRECTION is Direction.OUT]


def test_every_row_has_a_distinct_wire_identity() -> None:
    assert len(m.SPECS) == len({(c.DIRECTION, c.MSG_ID) for c in m.SPECS.values()})
    assert m.SPECS[(Direction.IN, 3)] is m.PlaceOrder
    assert m.SPECS[(Direction.OUT, 3)] is m.OrderStatus


@pytest.mark.parametrize(
    ("msg", "version", "count"),
    [
        # a real TWS: deltaNeutralOrderType "None" and its 8 fields (ibapi orderdecoder)
        (m.OpenOrder(), 178, 135),
        (m.PlaceOrder(), 178, 114),  # the count both clients send for a plain stock order
        (m.OpenOrder(), 176, 136),  # faProfile is still there below 177
        (m.ExecDetails(), 178, 32),
        (m.ExecDetails(), 177, 31),  # pendingPriceRevision starts at 178
        (m.ErrorMsg(), 165, 5),  # advancedOrderRejectJson starts at 166
        (m.ContractData(), 163, 40),  # +version +mdSizeMultiplier +sizeMinTick, -3 size rules
        (m.CompletedOrdersEnd(), 178, 1),
        (m.ManagedAccounts(accounts="DU1"), 178, 3),  # ib_async unpacks exactly 3
        (m.NextValidId(order_id=1), 178, 3),
    ],
)
def test_field_counts_follow_the_version(msg: m.Message, version: int, count: int) -> None:
    assert len(encode_fields(msg, version)) == count


def test_unset_spellings_of_both_clients_read_as_none() -> None:
    base = encode_fields(m.PlaceOrder(order_type="LMT", lmt_price=Decimal("1.5")), 178)
    idx = 19  # lmtPrice, counting the message id
    assert base[idx] == "1.5"
    for unset in ("", "1.7976931348623157e+308", "1.7976931348623157E308"):
        fields = [*base[:idx], unset, *base[idx + 1 :]]
        msg = decode_fields(Direction.IN, fields, 178)
        assert isinstance(msg, m.PlaceOrder)
        assert msg.lmt_price is None


def test_commission_report_sends_unset_pnl_as_max_double() -> None:
    fields = encode_fields(m.CommissionReport(exec_id="e1", commission=Decimal("1.25")))
    assert fields == [
        "59",
        "1",
        "e1",
        "1.25",
        "",
        "1.7976931348623157E308",
        "1.7976931348623157E308",
        "",
    ]


def test_infinite_travels_as_ib_spells_it() -> None:
    msg = m.PlaceOrder(
        order_type="PEG BEST",
        compete_against_best_offset=Decimal("Infinity"),
        mid_offset_at_whole=Decimal("0.01"),
        mid_offset_at_half=Decimal("0.005"),
    )
    fields = encode_fields(msg, 178)
    assert fields[-3:] == ["Infinite", "0.01", "0.005"]
    assert decode_fields(Direction.IN, fields, 178) == msg


def test_nul_in_text_is_refused_at_encode() -> None:
    with pytest.raises(EncodeError):
        encode(m.ErrorMsg(code=1, text="a\0b"))


def test_bad_field_is_a_bad_message_not_a_crash() -> None:
    dec = Decoder(Direction.IN)
    dec.feed(frame_fields(["49", "x"]))  # version must be an integer
    dec.feed(frame_fields(["3", "1"]))  # placeOrder cut short
    dec.feed(frame_fields(["12345", "1"]))
    dec.feed(frame_fields(["49", "1"]))
    first, second, third, fourth = (dec.next_message() for _ in range(4))
    assert isinstance(first, BadMessage) and first.msg_id == 49
    assert isinstance(second, BadMessage) and second.msg_id == 3
    assert isinstance(third, UnknownMessage) and third.msg_id == 12345
    assert fourth == m.ReqCurrentTime()


def test_oversized_length_is_a_protocol_error() -> None:
    dec = Decoder(Direction.IN)
    dec.feed(struct.pack(">I", MAX_FRAME + 1) + b"49\0")
    with pytest.raises(ProtocolError):
        dec.next_message()


# ---- handshake --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lo", "hi", "expected"),
    [
        (157, 178, 178),
        (100, 226, 178),
        (157, 176, 176),
        (170, 170, 170),
        (100, 150, None),
        (179, 200, None),
        (178, 157, None),
    ],
)
def test_negotiation_takes_the_highest_common_version(
    lo: int, hi: int, expected: int | None
) -> None:
    assert negotiate(Hello(lo, hi)) == expected


def test_handshake_byte_by_byte_then_messages() -> None:
    conn = GatewayConnection()
    wire = encode_hello(157, 178, "+PACEAPI") + encode(m.StartApi(client_id=7), 178)
    events = []
    for i in range(len(wire)):
        conn.receive_data(wire[i : i + 1])
        event = conn.next_event()
        if event is not None:
            events.append(event)
            if isinstance(event, Hello):
                reply = conn.accept(conn.negotiate() or 0, "20250115 09:30:00 UTC")
                assert reply == frame_fields(["178", "20250115 09:30:00 UTC"])
    assert events == [Hello(157, 178, "+PACEAPI"), m.StartApi(client_id=7)]
    assert conn.version == 178 and conn.state is ConnState.OPEN


def test_start_api_in_the_same_chunk_as_the_hello_is_kept() -> None:
    conn = GatewayConnection()
    conn.receive_data(encode_hello(100, 226) + encode(m.StartApi(client_id=1), 178))
    hello = conn.next_event()
    assert hello == Hello(100, 226)
    assert conn.next_event() is None  # nothing is decoded before the version is chosen
    conn.accept(178, "t")
    assert conn.next_event() == m.StartApi(client_id=1)


@pytest.mark.parametrize(
    "garbage",
    [b"GET / HTTP/1.1\r\n", b"API\0" + struct.pack(">I", 5000) + b"v1", b"API\0\0\0\0\x03abc"],
)
def test_garbage_hello_is_a_protocol_error(garbage: bytes) -> None:
    conn = GatewayConnection()
    conn.receive_data(garbage)
    with pytest.raises(ProtocolError):
        conn.next_event()
    assert conn.state is ConnState.CLOSED


def test_client_connection_reads_the_reply_then_rows() -> None:
    client = ClientConnection(157, 176)
    assert client.hello_bytes == b"API\0" + struct.pack(">I", 9) + b"v157..176"
    client.receive_data(frame_fields(["176", "20250115 09:30:00 UTC"]) + encode(m.OpenOrder(), 176))
    assert client.next_event() == m.OpenOrder()
    assert client.version == 176


@FUZZ
@given(chunks=st.lists(st.binary(max_size=64), max_size=8))
def test_gateway_connection_survives_garbage_after_handshake(chunks: list[bytes]) -> None:
    conn = GatewayConnection()
    conn.receive_data(encode_hello(157, 178))
    assert isinstance(conn.next_event(), Hello)
    conn.accept(178, "t")
    try:
        for chunk in chunks:
            conn.receive_data(chunk)
            while (event := conn.next_event()) is not None:
                assert isinstance(event, m.Message | UnknownMessage | BadMessage)
    except ProtocolError:
        pass  # an absurd length prefix: the server closes that one connection


@FUZZ
@given(
    msg_id=st.sampled_from(sorted(i for d, i in m.SPECS if d is Direction.IN)),
    fields=st.lists(st.text(max_size=6).filter(lambda s: "\0" not in s), max_size=140),
)
def test_decoder_never_raises_on_random_fields(msg_id: int, fields: list[str]) -> None:
    dec = Decoder(Direction.IN)
    dec.feed(frame_fields([str(msg_id), *fields]))
    event = dec.next_message()
    assert isinstance(event, m.Message | BadMessage)
