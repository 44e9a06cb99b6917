"""Cutting one direction of a TWS API byte stream into pieces, sans-IO: bytes in, pieces out.

A piece is the exact bytes of one unit of the stream: the client's hello (`API\\0` + a
length-prefixed version text), one frame (`uint32 length | payload`), or - once the stream can
no longer be trusted - raw bytes. Concatenating every piece's `raw`, plus what `close()` hands
back, gives the stream fed, byte for byte, however it was chunked: a recording accounts for
every byte the proxy forwarded.

Why not the codec's `FrameReader`? It hands out payloads and raises at an absurd length with
the rest of the stream in its buffer. The tap must keep going after that (the bytes are still
forwarded, and a recording of a broken stream is the point of a bug report), so it records the
rest of that direction raw instead.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from horizon.tap.wire import HELLO_PREFIX, MAX_FRAME

_HEADER: Final = struct.Struct(">I")


class PieceKind(StrEnum):
    HELLO = "hello"  # the client's opening: API\0 + length-prefixed "v157..178[ options]"
    FRAME = "frame"  # one length-prefixed message
    RAW = "raw"  # bytes that are not (or no longer known to be) frames


@dataclass(frozen=True, slots=True)
class Piece:
    kind: PieceKind
    raw: bytes
    error: str | None = None

    @property
    def payload(self) -> bytes:
        """A frame's payload, a hello's version text; a raw piece's bytes."""
        if self.kind is PieceKind.FRAME:
            return self.raw[4:]
        if self.kind is PieceKind.HELLO:
            return self.raw[8:]
        return self.raw


class StreamSplitter:
    """One direction's bytes -> `Piece`s. Partial input is normal: TCP may cut anywhere.

    `expect_hello=True` for the client's direction (its stream opens with the hello), False
    for the gateway's (frames from the first byte: the version reply, then messages)."""

    __slots__ = ("_buf", "_hello", "_lost", "_pos")

    def __init__(self, *, expect_hello: bool) -> None:
        self._buf = bytearray()
        self._pos = 0  # start of the first unconsumed byte (compacted on the next feed)
        self._hello = expect_hello
        self._lost = False

    @property
    def synchronised(self) -> bool:
        """False once a bad hello or an absurd length made the frame boundaries unknowable."""
        return not self._lost

    @property
    def buffered(self) -> int:
        return len(self._buf) - self._pos

    def feed(self, data: bytes) -> list[Piece]:
        """The pieces `data` completes, in stream order."""
        if self._lost:
            return [Piece(PieceKind.RAW, bytes(data))] if data else []
        if self._pos:
            del self._buf[: self._pos]
            self._pos = 0
        self._buf += data
        out: list[Piece] = []
        while True:
            piece = self._next()
            if piece is None:
                return out
            out.append(piece)

    def close(self) -> Piece | None:
        """At end of stream: what is left of a piece that never completed, if anything."""
        rest = self._take_rest()
        if not rest:
            return None
        what = "the hello" if self._hello else "a frame"
        return Piece(PieceKind.RAW, rest, f"stream ended inside {what} ({len(rest)} bytes)")

    def _lose(self, reason: str) -> Piece:
        self._lost = True
        return Piece(PieceKind.RAW, self._take_rest(), reason)

    def _take_rest(self) -> bytes:
        rest = bytes(self._buf[self._pos :])
        self._buf.clear()
        self._pos = 0
        return rest

    def _next(self) -> Piece | None:
        buf, pos = self._buf, self._pos
        start = pos
        if self._hello:
            n = min(len(buf) - pos, len(HELLO_PREFIX))
            if buf[pos : pos + n] != HELLO_PREFIX[:n]:
                seen = bytes(buf[pos : pos + 8])
                return self._lose(f"stream does not open with API\\0: {seen!r}")
            if n < len(HELLO_PREFIX):
                return None
            start += len(HELLO_PREFIX)
        if len(buf) < start + 4:
            return None
        (size,) = _HEADER.unpack_from(buf, start)
        if size > MAX_FRAME:
            return self._lose(
                f"length prefix {size} exceeds {MAX_FRAME}: frame boundaries lost, the rest of "
                "this direction is recorded unsplit"
            )
        end = start + 4 + size
        if len(buf) < end:
            return None
        raw = bytes(buf[pos:end])
        self._pos = end
        if self._hello:
            self._hello = False
            return Piece(PieceKind.HELLO, raw)
        return Piece(PieceKind.FRAME, raw)
