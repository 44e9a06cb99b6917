"""Reading both directions of a tapped connection at the negotiated version."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given

from horizon.tap.decode import ConnectionDecoder, EventKind
from horizon.tap.wire import Direction, field_positions, wire_fields
from horizon.venues.ibkr.simulator import messages as m
from horizon.venues.ibkr.simulator.codec import encode, encode_fields, encode_hello, frame_fields
from tests.sim.strategies import any_message

IN, OUT = Direction.IN, Direction.OUT
REPLY = frame_fields(["178", "20250115 09:30:00 EST"])


def opened(client_id: int = 7) -> ConnectionDecoder:
    dec = ConnectionDecoder()
    dec.feed(IN, encode_hello(157, 178, "+PACEAPI"), 1.0)
    dec.feed(OUT, REPLY, 2.0)
    dec.feed(IN, encode(m.StartApi(client_id=client_id)), 3.0)
    return dec


def test_the_handshake_gives_the_version_and_start_api_the_client_id() -> None:
    dec = ConnectionDecoder()
    [hello] = dec.feed(IN, encode_hello(157, 178, "+PACEAPI"), 1.0)
    assert hello.kind is EventKind.HELLO and hello.name == "hello"
    assert hello.hello is not None and (hello.hello.max_version, hello.hello.options) == (
        178, "+PACEAPI")
    [reply] = dec.feed(OUT, REPLY, 2.0)
    assert reply.kind is EventKind.VERSION and reply.version == 178 and dec.version == 178
    [start] = dec.feed(IN, encode(m.StartApi(client_id=7)), 3.0)
    assert start.name == "StartApi" and start.client_id == 7 and start.at == 3.0


def test_the_same_id_is_a_different_message_each_way() -> None:
    dec = opened()
    order = m.PlaceOrder(order_id=6, action="BUY", total_quantity=Decimal(10), order_type="MKT")
    [placed] = dec.feed(IN, encode(order), 4.0)
    status = m.OrderStatus(order_id=6, status="Filled", filled=Decimal(10))
    [told] = dec.feed(OUT, encode(status), 5.0)
    assert (placed.name, placed.msg_id, placed.message) == ("PlaceOrder", 3, order)
    assert (told.name, told.msg_id, told.message) == ("OrderStatus", 3, status)
    assert placed.raw == encode(order) and told.client_id == 7


def test_client_frames_sent_before_the_reply_wait_for_the_version() -> None:
    dec = ConnectionDecoder()
    early = encode_hello(157, 178) + encode(m.StartApi(client_id=3))
    [hello] = dec.feed(IN, early, 1.0)
    assert hello.kind is EventKind.HELLO
    reply, start = dec.feed(OUT, REPLY, 2.0)
    assert reply.kind is EventKind.VERSION
    assert start.name == "StartApi" and start.version == 178 and start.at == 1.0


def test_unknown_and_unreadable_frames_are_events_too() -> None:
    dec = opened()
    [unknown] = dec.feed(OUT, frame_fields(["999", "1", "x"]), 4.0)
    assert unknown.unknown and unknown.name == "msg999" and unknown.fields == ("999", "1", "x")
    [bad] = dec.feed(IN, frame_fields(["abc", "1"]), 5.0)
    assert bad.error is not None and bad.message is None and bad.fields == ("abc", "1")
    [short] = dec.feed(OUT, frame_fields(["3", "6"]), 6.0)
    assert short.name == "OrderStatus" and short.message is None and "ends before" in str(
        short.error)


def test_a_version_the_decoder_does_not_know_keeps_frames_raw() -> None:
    dec = ConnectionDecoder()
    dec.feed(IN, encode_hello(100, 226), 1.0)
    dec.feed(OUT, frame_fields(["187", "20250115 09:30:00 EST"]), 2.0)
    [ev] = dec.feed(IN, frame_fields(["71", "2", "1", ""]), 3.0)
    assert ev.unknown and ev.fields == ("71", "2", "1", "") and "187" in str(ev.error)
    dec = ConnectionDecoder()
    dec.feed(IN, encode_hello(100, 226), 1.0)
    dec.feed(OUT, frame_fields(["226", "20250115 09:30:00 EST"]), 2.0)
    [ev] = dec.feed(OUT, b"\x00\x00\x00\x06\x00\x00\x00\xd1\x08\x01", 3.0)
    assert ev.fields == () and "protobuf" in str(ev.error)


def test_what_is_left_at_the_close_is_reported() -> None:
    dec = ConnectionDecoder()
    dec.feed(IN, encode_hello(157, 178) + encode(m.StartApi(client_id=3)) + b"\x00\x00", 1.0)
    held, rest = dec.close(IN, 2.0)
    assert held.name == "StartApi" and held.error == "no version reply was seen"
    assert rest.kind is EventKind.RAW and rest.raw == b"\x00\x00"


@given(any_message())
def test_field_positions_find_each_field_where_the_codec_writes_it(
    drawn: tuple[m.Message, int],
) -> None:
    msg, version = drawn
    wanted = {"account", "order_ref", "req_id", "order_id", "client_id", "acct_code"}
    on_wire = [name for name, _ in wire_fields(msg, version) if name in wanted]
    where = field_positions(msg, version, on_wire)
    assert set(where) == set(on_wire)
    encoded = encode_fields(msg, version)
    for name, index in where.items():
        value = getattr(msg, name)
        assert encoded[index] == (value if isinstance(value, str) else str(value))


def test_bytes_before_the_reply_keep_their_order_even_past_a_broken_length() -> None:
    dec = ConnectionDecoder()
    dec.feed(IN, encode_hello(157, 178) + encode(m.StartApi(client_id=3)) + b"\xff" * 6, 1.0)
    events = dec.feed(OUT, REPLY, 2.0)
    assert [e.kind for e in events] == [EventKind.VERSION, EventKind.MESSAGE, EventKind.RAW]
    assert events[2].raw == b"\xff" * 6 and events[2].direction is IN
