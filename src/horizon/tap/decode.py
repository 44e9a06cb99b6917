"""Both directions of one tapped connection, read: bytes in, `WireEvent`s out. Sans-IO.

The client's hello says which versions it speaks; the gateway's first frame says which one
was chosen; every later frame is decoded at that version, each direction with its own rows
(3 from the client is placeOrder, 3 from the gateway is orderStatus). The client id is read
off startApi. Frames a client sends before the version reply is seen (pipelining) wait here
until it is, then decode at the right version, keeping the time they arrived.

Nothing is dropped: a frame the codec does not know is an event with `unknown`, one it cannot
read an event with `error`, and bytes past a broken length prefix a RAW event.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from horizon.tap.stream import Piece, PieceKind, StreamSplitter
from horizon.tap.wire import (
    Decoded,
    Direction,
    Hello,
    Message,
    ProtocolError,
    StartApi,
    decode_payload,
    message_name,
    parse_hello_text,
    split_payload,
)

__all__ = ["ConnectionDecoder", "Direction", "EventKind", "WireEvent", "payload_of"]


class EventKind(StrEnum):
    HELLO = "hello"  # client: API\0 + "v{min}..{max}[ options]"
    VERSION = "version"  # gateway: the 2-field [version, connection time] reply
    MESSAGE = "message"  # any later frame, either way
    RAW = "raw"  # bytes that could not be framed


@dataclass(frozen=True, slots=True, kw_only=True)
class WireEvent:
    """One unit of a tapped stream: its exact bytes and what they say."""

    direction: Direction
    kind: EventKind
    raw: bytes
    at: float  # when its last byte was read (the caller's clock)
    version: int  # negotiated server version it was read at; 0 before the reply
    client_id: int | None  # from startApi; None before it
    fields: tuple[str, ...] = ()  # the frame's text fields (message id first)
    message: Message | None = None
    msg_id: int | None = None
    unknown: bool = False
    error: str | None = None
    hello: Hello | None = None

    @property
    def name(self) -> str:
        """The row's name (PlaceOrder, OrderStatus, ...), `msg<id>` for ids the codec does not
        know, `hello` / `version` for the handshake, `raw` for unframed bytes."""
        if self.kind is not EventKind.MESSAGE:
            return self.kind.value
        if self.message is not None:
            return type(self.message).__name__
        if self.msg_id is not None:
            return message_name(self.direction, self.msg_id) or f"msg{self.msg_id}"
        return "?"

    @property
    def payload(self) -> bytes:
        return payload_of(self.kind, self.raw)


def payload_of(kind: EventKind, raw: bytes) -> bytes:
    """What follows the framing: a frame's fields, a hello's version text, raw bytes as is."""
    if kind is EventKind.HELLO:
        return raw[8:]  # API\0 and the length prefix
    if kind is EventKind.RAW:
        return raw
    return raw[4:]  # the length prefix


class ConnectionDecoder:
    """The two directions of one connection. `feed(direction, data, at)` returns the events
    that bytes completed, in order; `close(direction, at)` what was left when it ended."""

    def __init__(self) -> None:
        self._split = {
            Direction.IN: StreamSplitter(expect_hello=True),
            Direction.OUT: StreamSplitter(expect_hello=False),
        }
        self.version = 0
        self.client_id: int | None = None
        self.hello: Hello | None = None
        self._replied = False
        self._held: list[tuple[Piece, float]] = []  # client frames waiting for the version

    def feed(self, direction: Direction, data: bytes, at: float) -> list[WireEvent]:
        out: list[WireEvent] = []
        for piece in self._split[direction].feed(data):
            self._piece(direction, piece, at, out)
        return out

    def close(self, direction: Direction, at: float) -> list[WireEvent]:
        out: list[WireEvent] = []
        rest = self._split[direction].close()
        if direction is Direction.IN:
            held, self._held = self._held, []
            for piece, seen in held:
                if piece.kind is PieceKind.RAW:
                    out.append(self._raw(direction, piece, seen))
                else:
                    out.append(self._message(direction, piece, seen, "no version reply was seen"))
        if rest is not None:
            out.append(self._raw(direction, rest, at))
        return out

    # ---- one piece -----------------------------------------------------------------------

    def _piece(self, direction: Direction, piece: Piece, at: float, out: list[WireEvent]) -> None:
        if piece.kind is PieceKind.HELLO:
            out.append(self._hello(piece, at))
        elif direction is Direction.IN and not self._replied:
            self._held.append((piece, at))  # decoded once the version is known, in order
        elif piece.kind is PieceKind.RAW:
            out.append(self._raw(direction, piece, at))
        elif direction is Direction.OUT and not self._replied:
            out.append(self._version(piece, at))
            held, self._held = self._held, []
            for waiting, seen in held:
                self._piece(Direction.IN, waiting, seen, out)
        else:
            out.append(self._message(direction, piece, at))

    def _raw(self, direction: Direction, piece: Piece, at: float) -> WireEvent:
        return WireEvent(
            direction=direction, kind=EventKind.RAW, raw=piece.raw, at=at, version=self.version,
            client_id=self.client_id, error=piece.error,
        )

    def _hello(self, piece: Piece, at: float) -> WireEvent:
        text = piece.payload.decode("ascii", errors="replace")
        error = None
        try:
            self.hello = parse_hello_text(text)
        except ProtocolError as exc:
            error = str(exc)
        return WireEvent(
            direction=Direction.IN, kind=EventKind.HELLO, raw=piece.raw, at=at, version=0,
            client_id=None, fields=(text,), hello=self.hello, error=error,
        )

    def _version(self, piece: Piece, at: float) -> WireEvent:
        self._replied = True
        fields = tuple(split_payload(piece.payload))
        error = None
        if len(fields) == 2 and fields[0].isdigit():
            self.version = int(fields[0])
        else:
            error = f"expected the version reply [version, connection time], got {fields[:4]!r}"
        return WireEvent(
            direction=Direction.OUT, kind=EventKind.VERSION, raw=piece.raw, at=at,
            version=self.version, client_id=None, fields=fields, error=error,
        )

    def _message(
        self, direction: Direction, piece: Piece, at: float, why_unread: str | None = None
    ) -> WireEvent:
        if why_unread is not None:
            fields = tuple(split_payload(piece.payload))
            head = fields[0] if fields else ""
            msg_id = int(head) if head.isdigit() else None
            decoded = Decoded(fields, msg_id=msg_id, error=why_unread)
        else:
            decoded = decode_payload(direction, piece.payload, self.version)
        message = decoded.message
        if isinstance(message, StartApi):
            self.client_id = message.client_id
        return WireEvent(
            direction=direction, kind=EventKind.MESSAGE, raw=piece.raw, at=at,
            version=self.version, client_id=self.client_id, fields=decoded.fields,
            message=message, msg_id=decoded.msg_id, unknown=decoded.unknown,
            error=decoded.error,
        )
