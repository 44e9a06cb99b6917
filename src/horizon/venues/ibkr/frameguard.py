"""FrameGuard: follows the framing of the gateway's byte stream and names what is corrupt. Pure.

ib_async trusts every 4-byte length prefix: after a corrupt one (0x7FFFFFFF, say) it buffers
without limit waiting for a 2 GiB message, its memory grows by the megabyte, and it still
reports the connection as up. The venue feeds the same bytes to a FrameGuard; on the first
frame no gateway would send it resets the session (the supervisor reconnects). A frame is
refused when its length is above TWS's own limit for one message (16 MiB) or zero, or when
its first field (the message id, or the server version in the handshake reply) does not
start with a decimal digit. Text protocol only: ib_async 2.1 negotiates server versions up to 178.
"""

from __future__ import annotations

import struct
from typing import Final

MAX_FRAME: Final = 16 * 1024 * 1024  # TWS's MAX_MSG_LEN: the longest message it accepts
_PREFIX: Final = 4
_DIGITS: Final = frozenset(b"0123456789")
_UNPACK: Final = struct.Struct(">I").unpack_from


class FrameGuard:
    """Feed it the inbound bytes in order; `feed` returns why the stream is corrupt (once:
    after that it ignores input until `reset`), or None.

    Costs a few operations per frame, not per byte: bodies are skipped by length, and of each
    body only the first byte is looked at (a message id starts with a digit).
    """

    __slots__ = ("_first", "_head", "_left", "broken", "frames", "limit")

    def __init__(self, limit: int = MAX_FRAME) -> None:
        self.limit = limit
        self.reset()

    def reset(self) -> None:
        """A new connection: nothing is pending."""
        self._head = b""  # a length prefix split across reads
        self._left = 0  # bytes of the current frame's body still to come
        self._first = False  # the next body byte is the first of a frame (its message id)
        self.frames = 0  # complete prefixes seen (for logs and tests)
        self.broken: str | None = None

    def feed(self, data: bytes) -> str | None:
        if self.broken is not None:
            return None
        problem = self._scan(data)
        if problem is not None:
            self.broken = problem
        return problem

    def _scan(self, data: bytes) -> str | None:
        n = len(data)
        i = 0
        if self._left:  # the rest of a body begun in an earlier read
            if self._first and n:
                if data[0] not in _DIGITS:
                    return _bad_id(data[0:1])
                self._first = False
            take = min(self._left, n)
            self._left -= take
            i = take
        if self._head:  # a prefix split across reads
            need = _PREFIX - len(self._head)
            self._head += data[i : i + need]
            i += need
            if len(self._head) < _PREFIX:
                return None
            header, self._head = self._head, b""
            problem = self._start(_UNPACK(header, 0)[0])
            if problem:
                return problem
            i, problem = self._body(data, i, n)
            if problem:
                return problem
        limit, frames = self.limit, 0
        while i + _PREFIX <= n:
            size = _UNPACK(data, i)[0]
            frames += 1
            if size > limit or size == 0:
                self.frames += frames
                return _bad_size(size, limit)
            i += _PREFIX
            if i == n:  # the body starts in the next read
                self.frames += frames
                self._left, self._first = size, True
                return None
            if data[i] not in _DIGITS:
                self.frames += frames
                return _bad_id(data[i : i + 16])
            i += size
        self.frames += frames
        if i > n:  # the last body goes on in the next read
            self._left, self._first = i - n, False
        elif i < n:  # a prefix split across reads
            self._head = data[i:]
        return None

    def _start(self, size: int) -> str | None:
        self.frames += 1
        if size > self.limit or size == 0:
            return _bad_size(size, self.limit)
        self._left, self._first = size, True
        return None

    def _body(self, data: bytes, i: int, n: int) -> tuple[int, str | None]:
        if i < n and self._first:
            if data[i] not in _DIGITS:
                return i, _bad_id(data[i : i + 16])
            self._first = False
        take = min(self._left, n - i)
        self._left -= take
        return i + take, None


def _bad_size(size: int, limit: int) -> str:
    if size == 0:
        return "an empty frame (length 0)"
    return (
        f"a frame of {size:,} bytes announced, above the {limit:,}-byte limit of one TWS API "
        "message"
    )


def _bad_id(head: bytes) -> str:
    return f"a frame whose message id is not a number ({bytes(head)!r})"
