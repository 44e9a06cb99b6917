"""The tap's stream splitter: every byte accounted for, however TCP cut the stream."""

from __future__ import annotations

import itertools
import struct

from hypothesis import given
from hypothesis import strategies as st

from horizon.tap.stream import Piece, PieceKind, StreamSplitter
from horizon.tap.wire import MAX_FRAME

HELLO = b"API\0" + struct.pack(">I", 9) + b"v157..178"


def framed(payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + payload


def feed_in_chunks(splitter: StreamSplitter, data: bytes, cuts: list[int]) -> list[Piece]:
    pieces: list[Piece] = []
    for a, b in itertools.pairwise([0, *cuts, len(data)]):
        pieces += splitter.feed(data[a:b])
    rest = splitter.close()
    return pieces + ([rest] if rest is not None else [])


def test_a_client_stream_is_its_hello_then_frames_each_exactly() -> None:
    one, two = framed(b"71\x002\x001\x00\x00"), framed(b"49\x001\x00")
    pieces = StreamSplitter(expect_hello=True).feed(HELLO + one + two)
    assert [(p.kind, p.raw) for p in pieces] == [
        (PieceKind.HELLO, HELLO), (PieceKind.FRAME, one), (PieceKind.FRAME, two)
    ]
    assert pieces[0].payload == b"v157..178"
    assert pieces[1].payload == b"71\x002\x001\x00\x00"


def test_a_gateway_stream_has_no_hello() -> None:
    reply = framed(b"178\x0020250115 09:30:00 EST\x00")
    [piece] = StreamSplitter(expect_hello=False).feed(reply)
    assert piece.kind is PieceKind.FRAME and piece.raw == reply


def test_partial_input_waits_for_the_rest() -> None:
    splitter = StreamSplitter(expect_hello=False)
    data = framed(b"49\x001\x001700000000\x00")
    assert splitter.feed(data[:3]) == []
    assert splitter.feed(data[3:-1]) == []
    assert splitter.buffered == len(data) - 1
    assert [p.raw for p in splitter.feed(data[-1:])] == [data]


def test_an_absurd_length_loses_sync_and_the_rest_is_kept_raw() -> None:
    splitter = StreamSplitter(expect_hello=False)
    good = framed(b"49\x001\x00")
    garbage = struct.pack(">I", MAX_FRAME + 1) + b"junk"
    pieces = splitter.feed(good + garbage)
    assert [p.kind for p in pieces] == [PieceKind.FRAME, PieceKind.RAW]
    assert pieces[1].raw == garbage and "exceeds" in (pieces[1].error or "")
    assert not splitter.synchronised
    assert splitter.feed(good) == [Piece(PieceKind.RAW, good)]


def test_a_stream_that_is_not_the_api_is_raw_from_the_start() -> None:
    splitter = StreamSplitter(expect_hello=True)
    [piece] = splitter.feed(b"GET / HTTP/1.1\r\n")
    assert piece.kind is PieceKind.RAW and "API" in (piece.error or "")


def test_the_end_inside_a_frame_hands_back_what_was_there() -> None:
    splitter = StreamSplitter(expect_hello=False)
    assert splitter.feed(b"\x00\x00\x00\x09abc") == []
    rest = splitter.close()
    assert rest is not None and rest.raw == b"\x00\x00\x00\x09abc"
    assert "ended inside a frame" in (rest.error or "")
    assert splitter.close() is None


payloads = st.lists(st.binary(max_size=40), max_size=6)


@given(payloads=payloads, tail=st.none() | st.binary(max_size=20), data=st.data())
def test_any_chunking_gives_the_same_pieces_and_every_byte(
    payloads: list[bytes], tail: bytes | None, data: st.DataObject
) -> None:
    stream = HELLO + b"".join(framed(p) for p in payloads)
    if tail is not None:  # a garbage length, then whatever
        stream += struct.pack(">I", MAX_FRAME + 7) + tail
    whole = feed_in_chunks(StreamSplitter(expect_hello=True), stream, [])
    cuts = sorted(data.draw(st.sets(st.integers(1, max(1, len(stream) - 1)))))
    chunked = feed_in_chunks(StreamSplitter(expect_hello=True), stream, cuts)
    assert b"".join(p.raw for p in chunked) == stream
    framed_pieces = [p for p in chunked if p.kind is not PieceKind.RAW]
    assert framed_pieces == [p for p in whole if p.kind is not PieceKind.RAW]
    assert [p.payload for p in framed_pieces] == [b"v157..178", *payloads]
