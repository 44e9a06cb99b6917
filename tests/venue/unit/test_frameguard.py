"""FrameGuard: the venue's check of the gateway's framing, byte by byte and chunk by chunk."""

from __future__ import annotations

import itertools
import struct

from hypothesis import given
from hypothesis import strategies as st

from horizon.venues.ibkr.frameguard import MAX_FRAME, FrameGuard


def frame(*fields: str) -> bytes:
    body = "".join(f"{f}\0" for f in fields).encode()
    return struct.pack(">I", len(body)) + body


STREAM = (
    frame("178", "20261201 20:00:00 UTC") + frame("15", "1", "DU1234567") + frame("9", "1", "5")
)


@given(st.lists(st.integers(min_value=1, max_value=len(STREAM)), max_size=12))
def test_a_good_stream_passes_however_it_is_split(cuts: list[int]) -> None:
    guard = FrameGuard()
    edges = sorted({0, len(STREAM), *cuts})
    for a, b in itertools.pairwise(edges):
        assert guard.feed(STREAM[a:b]) is None
    assert guard.frames == 3


def test_an_oversized_length_prefix_is_named_at_once() -> None:
    guard = FrameGuard()
    assert guard.feed(frame("9", "1", "5")) is None
    problem = guard.feed(struct.pack(">I", 0x7FFFFFFF) + b"junk")
    assert problem is not None and "2,147,483,647 bytes" in problem
    assert guard.feed(frame("9", "1", "5")) is None  # reported once; ignored until reset
    guard.reset()
    assert guard.feed(frame("9", "1", "5")) is None and guard.broken is None


def test_the_limit_is_tws_own_and_a_frame_at_it_is_fine() -> None:
    guard = FrameGuard()
    assert guard.feed(struct.pack(">I", MAX_FRAME) + b"4\0") is None
    assert FrameGuard().feed(struct.pack(">I", MAX_FRAME + 1)) is not None


def test_frames_without_a_numeric_message_id_are_refused() -> None:
    assert "not a number" in (FrameGuard().feed(frame("abc", "1")) or "")
    assert "not a number" in (FrameGuard().feed(frame("", "1")) or "")  # an empty id
    assert "empty frame" in (FrameGuard().feed(struct.pack(">I", 0)) or "")
    data = frame("x1", "2")
    for cut in (1, 3, 4, 5):  # wherever the read splits it, the bad id is seen
        split = FrameGuard()
        assert split.feed(data[:cut]) is None or cut == 5
        if cut < 5:
            assert "not a number" in (split.feed(data[cut:]) or ""), cut
