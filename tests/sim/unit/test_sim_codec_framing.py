"""`encode` and `decode_payload` against the plain composition of their parts.

Both keep a compiled function per row and version (the framing of a text row in one call;
the decoder found by the message id's text). Whatever a row holds, at text versions and
from 201, they must give what the composition gives: the frame of `encode_text`, the
protobuf body of the row's form, and `decode_fields` of the split payload.
"""

from __future__ import annotations

import struct

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ibgateway_sim.wire import messages as m
from ibgateway_sim.wire.codec import (
    BadMessage,
    DecodeError,
    EncodeError,
    GatewayConnection,
    Hello,
    decode_fields,
    decode_payload,
    encode,
    encode_hello,
    frame,
    split_payload,
)
from ibgateway_sim.wire.fieldcodec import encode_text
from ibgateway_sim.wire.messages import Direction
from ibgateway_sim.wire.protobuf import encode_body
from ibgateway_sim.wire.protoforms import FORMS, TRAILERS, form_for
from ibgateway_sim.wire.thresholds import PROTOBUF, PROTOBUF_MSG_ID, travels_as_protobuf
from tests.sim.strategies import any_message

_ID = struct.Struct(">I")
PROTOBUF_VERSIONS = st.sampled_from([201, 203, 210, 215, 220, 226])


def composed(msg: m.Message, version: int) -> bytes:
    """The frame of `msg` at `version`, put together from its parts."""
    if version < PROTOBUF:
        return frame(encode_text(msg, version).encode())
    form = form_for(type(msg))
    if form is not None and travels_as_protobuf(msg.DIRECTION, msg.MSG_ID, version):
        wire = frame(_ID.pack(msg.MSG_ID + PROTOBUF_MSG_ID) + encode_body(form, msg, version))
        trailer = TRAILERS.get(type(msg))
        if trailer is not None:
            body = encode_body(FORMS[trailer], msg, version)
            wire += frame(_ID.pack(trailer.MSG_ID + PROTOBUF_MSG_ID) + body)
        return wire
    return frame(_ID.pack(msg.MSG_ID) + encode_text(msg, version, with_id=False).encode())


@settings(max_examples=400, deadline=None)
@given(any_message())
def test_encode_at_text_versions_is_the_frame_of_its_text(pair: tuple[m.Message, int]) -> None:
    msg, version = pair
    assert encode(msg, version) == composed(msg, version)


@settings(max_examples=400, deadline=None)
@given(any_message(version=178), PROTOBUF_VERSIONS)
def test_encode_from_201_is_its_protobuf_or_text_body(
    pair: tuple[m.Message, int], version: int
) -> None:
    msg, _ = pair
    try:
        expected = composed(msg, version)
    except EncodeError:  # a value the protobuf form cannot carry: refused either way
        with pytest.raises(EncodeError):
            encode(msg, version)
        return
    assert encode(msg, version) == expected


@settings(max_examples=400, deadline=None)
@given(any_message(), st.sampled_from(["", "0", " 3", "+3", "03", "x", "999", "\u00b2", "\u0663"]))
def test_decode_of_a_text_payload_is_decode_fields(
    pair: tuple[m.Message, int], odd_id: str
) -> None:
    """The id as clients write it and spelled oddly (a leading zero or sign, junk, unknown):
    the same row, the same refusal."""
    msg, version = pair
    payload = encode(msg, version)[4:]
    fields = split_payload(payload)
    for fs in (fields, [odd_id, *fields[1:]]):
        try:
            expected: object = decode_fields(msg.DIRECTION, fs, version)
        except DecodeError as exc:
            expected = BadMessage(None, tuple(fs), str(exc))
        text = "".join(f"{f}\0" for f in fs).encode()
        got = decode_payload(msg.DIRECTION, text, version)
        if isinstance(expected, BadMessage):
            assert isinstance(got, BadMessage) and got.reason == expected.reason
        else:
            assert got == expected


def _open_connection(version: int) -> GatewayConnection:
    conn = GatewayConnection()
    conn.receive_data(encode_hello(version, version))
    assert isinstance(conn.next_event(), Hello)
    conn.accept(version, "20240102 09:30:00 UTC")
    return conn


@settings(max_examples=400, deadline=None)
@given(
    any_message(Direction.IN),
    st.sampled_from([None, "", "0", "03", "x", "999"]),
    st.sampled_from([None, 201, 215, 226]),
)
def test_a_connection_reads_each_request_as_decode_payload_does(
    pair: tuple[m.Message, int], odd_id: str | None, binary: int | None
) -> None:
    """The connection's own path from a frame to a request (split and decoder inline) gives
    what `decode_payload` gives, at text versions and from 201; the frame is kept."""
    msg, version = pair
    version = binary or version
    try:
        payload = encode(msg, version)[4:]
    except EncodeError:  # a value the protobuf form cannot carry
        assume(False)
    if odd_id is not None and version < PROTOBUF:
        payload = "".join(f"{f}\0" for f in [odd_id, *split_payload(payload)[1:]]).encode()
    conn = _open_connection(version)
    conn.receive_data(frame(payload) + frame(payload))
    for _ in range(2):
        got = conn.next_event()
        want = decode_payload(Direction.IN, payload, version)
        if isinstance(want, BadMessage):
            assert isinstance(got, BadMessage) and got.reason == want.reason
        else:
            assert got == want
        assert conn.last_payload == payload
    assert conn.next_event() is None


@settings(max_examples=200, deadline=None)
@given(any_message(Direction.OUT), st.sampled_from([178, 201, 226]))
def test_a_connection_frames_each_reply_as_encode_does(
    pair: tuple[m.Message, int], version: int
) -> None:
    """`send` keeps each class's framer; before and after `accept` it frames at the version
    of the moment."""
    msg, _ = pair
    conn = GatewayConnection()
    try:
        before = encode(msg, 0)
    except EncodeError:
        before = None
    if before is not None:
        assert conn.send(msg) == before
    conn.receive_data(encode_hello(version, version))
    assert isinstance(conn.next_event(), Hello)
    conn.accept(version, "20240102 09:30:00 UTC")
    try:
        want = encode(msg, version)
    except EncodeError:
        with pytest.raises(EncodeError):
            conn.send(msg)
        return
    assert conn.send(msg) == want
    assert conn.send(msg) == want
