"""FrameGuard: follows the framing of the gateway's byte stream and names what is corrupt. Pure.

ib_async trusts every 4-byte length prefix: after a corrupt one (0x7FFFFFFF, say) it buffers
without limit waiting for a 2 GiB message, its memory grows by the megabyte, and it still
reports the connection as up. The venue feeds the same bytes to a FrameGuard; on the first
frame no gateway would send it resets the session (the supervisor reconnects). A frame is
refused when its length is above TWS's own limit for one message (16 MiB) or zero, or when
its first field (the message id, or the server version in the handshake reply) is not a
decimal number. Text protocol only: ib_async 2.1 negotiates server versions up to 178.
"""

from __future__ import annotations

from typing import Final

MAX_FRAME: Final = 16 * 1024 * 1024  # TWS's MAX_MSG_LEN: the longest message it accepts
_PREFIX: Final = 4
_DIGITS: Final = frozenset(b"0123456789")


class FrameGuard:
    """Feed it the inbound bytes in order; `feed` returns why the stream is corrupt (once:
    after that it ignores input until `reset`), or None.

    Costs a few operations per frame, not per byte: bodies are skipped by length.
    """

    def __init__(self, limit: int = MAX_FRAME) -> None:
        self.limit = limit
        self.reset()

    def reset(self) -> None:
        """A new connection: nothing is pending."""
        self._head = bytearray()  # a length prefix split across reads
        self._left = 0  # bytes of the current frame's body still to come
        self._in_id = False  # still inside the current frame's first field
        self._id_len = 0
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
        i, n = 0, len(data)
        while i < n:
            if self._left:
                take = min(self._left, n - i)
                if self._in_id:
                    problem = self._check_id(data, i, i + take)
                    if problem:
                        return problem
                self._left -= take
                i += take
                continue
            want = _PREFIX - len(self._head)
            self._head += data[i : i + want]
            i += want
            if len(self._head) < _PREFIX:
                break
            size = int.from_bytes(self._head, "big")
            self._head.clear()
            self.frames += 1
            if size > self.limit:
                return (
                    f"a frame of {size:,} bytes announced, above the {self.limit:,}-byte limit "
                    "of one TWS API message"
                )
            if size == 0:
                return "an empty frame (length 0)"
            self._left, self._in_id, self._id_len = size, True, 0
        return None

    def _check_id(self, data: bytes, start: int, end: int) -> str | None:
        stop = data.find(b"\0", start, end)
        field = data[start : (end if stop < 0 else stop)]
        if field and not _DIGITS.issuperset(field):
            return f"a frame whose message id is not a number ({bytes(field[:16])!r})"
        self._id_len += len(field)
        if stop >= 0:
            self._in_id = False
            if not self._id_len:
                return "a frame with an empty message id"
        return None
