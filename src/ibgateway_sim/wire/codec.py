"""Sans-IO codec for the TWS API socket protocol: bytes in, messages out, and back.

Two layers here, and the row walkers below them; none touches a socket, a clock or a logger:

* framing: `uint32 big-endian length | payload`. Up to server version 200 the payload is
  NUL-terminated text fields, the message id first. From 201 (MIN_SERVER_VER_PROTOBUF) it
  starts with the message id as a 4-byte big-endian integer; an id above 200 is a protobuf
  body for message id - 200, otherwise text fields follow (ibapi `comm.py` `make_msg`,
  `make_msg_proto`; `client.py` `run()`). Which messages go as protobuf at which version is
  `thresholds.py`'s one table;
* connection state (`GatewayConnection`, `ClientConnection`): the `API\\0` hello and version
  negotiation are codec states, so the server never parses a handshake itself.

Rows <-> text fields is `fieldcodec.py`; rows <-> protobuf bodies is `protobuf.py` with the
forms of `protoforms.py`. The text path needs nothing but the stdlib, and so does protobuf.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, Final

from ibgateway_sim.wire.fieldcodec import (
    MAX_DOUBLE_TEXT,
    MAX_FRAME,
    MAX_VERSION,
    MIN_VERSION,
    UNSET_INT_TEXTS,
    UNSET_TEXTS,
    DecodeError,
    EncodeError,
    UnknownMessage,
    _refuse_nul,
    decode_fields,
    encode_fields,
    encode_text_shape,
    plan,
    shape_filler,
    text_encoder,
)
from ibgateway_sim.wire.messages import SPECS, Direction, Message
from ibgateway_sim.wire.protobuf import decode_body, encode_body
from ibgateway_sim.wire.protoforms import FORMS, TRAILERS, form_for
from ibgateway_sim.wire.thresholds import (
    MAX_SERVER_VERSION,
    PROTOBUF,
    PROTOBUF_MSG_ID,
    highest_spoken,
    travels_as_protobuf,
)

__all__ = [
    "HELLO_PREFIX",
    "MAX_DOUBLE_TEXT",
    "MAX_FRAME",
    "MAX_SERVER_VERSION",
    "MAX_VERSION",
    "MIN_VERSION",
    "UNSET_INT_TEXTS",
    "UNSET_TEXTS",
    "BadMessage",
    "ClientConnection",
    "ConnState",
    "DecodeError",
    "Decoder",
    "EncodeError",
    "FrameReader",
    "GatewayConnection",
    "Hello",
    "ProtocolError",
    "UnknownMessage",
    "decode_fields",
    "decode_payload",
    "encode",
    "encode_fields",
    "encode_hello",
    "frame",
    "frame_fields",
    "framer_of",
    "negotiate",
    "parse_hello_text",
    "plan",
    "split_payload",
]  # fmt: skip

HELLO_PREFIX: Final = b"API\0"
_HEADER = struct.Struct(">I")
_MSG_ID = struct.Struct(">I")  # from 201: the message id as a 4-byte big-endian integer


class ProtocolError(Exception):
    """The byte stream cannot be trusted any more (bad hello, absurd length): close it."""


# --------------------------------------------------------------------------------------------
# Framing
# --------------------------------------------------------------------------------------------


def frame(payload: bytes) -> bytes:
    if len(payload) > MAX_FRAME:
        raise EncodeError(f"frame of {len(payload)} bytes exceeds {MAX_FRAME}")
    return _HEADER.pack(len(payload)) + payload


def frame_fields(fields: Iterable[str]) -> bytes:
    return frame("".join([f"{f}\0" for f in fields]).encode())


def encode(msg: Message, version: int = MAX_VERSION) -> bytes:
    """One framed message at server `version`, ready for the socket: text fields up to 200;
    from 201 a binary id, then a protobuf body (id + 200) if the message travels as protobuf
    at `version` and has a form, text fields otherwise."""
    framer = _FRAMERS.get((type(msg), version))
    if framer is None:
        framer = _framer(type(msg), version)
    return framer(msg)


_FRAMERS: dict[tuple[type, int], Callable[[Message], bytes]] = {}


def framer_of(cls: type[Message], version: int) -> Callable[[Message], bytes]:
    """What `encode` frames a `cls` at `version` with: `framer_of(type(msg), v)(msg)` is
    `encode(msg, v)`, for a caller that keeps it (a connection, by class)."""
    framer = _FRAMERS.get((cls, version))
    return framer if framer is not None else _framer(cls, version)


def _framer(cls: type[Message], version: int) -> Callable[[Message], bytes]:
    """How `encode` frames a `cls` at `version`, decided once: the row's generated encoder,
    the join, the NUL check and the frame in one call for a text message (what `frame` of
    `encode_text` does, without the calls between); protobuf through its form."""
    form = form_for(cls)
    framer: Callable[[Message], bytes]
    if version >= PROTOBUF and form is not None and travels_as_protobuf(
        cls.DIRECTION, cls.MSG_ID, version
    ):
        trailer = TRAILERS.get(cls)  # historicalData: its end is a message of its own
        head = _MSG_ID.pack(cls.MSG_ID + PROTOBUF_MSG_ID)
        tail_head = _MSG_ID.pack(trailer.MSG_ID + PROTOBUF_MSG_ID) if trailer else b""

        def protobuf(msg: Message) -> bytes:
            wire = frame(head + encode_body(form, msg, version))
            if trailer is not None:
                wire += frame(tail_head + encode_body(FORMS[trailer], msg, version))
            return wire

        framer = protobuf
    elif (flat := text_encoder(cls, version, version < PROTOBUF)) is not None:
        framer = _flat_framer(flat, b"" if version < PROTOBUF else _MSG_ID.pack(cls.MSG_ID))
    else:
        encoder = plan(cls, version).encode
        first = [str(cls.MSG_ID)] if version < PROTOBUF else []
        prefix = b"" if version < PROTOBUF else _MSG_ID.pack(cls.MSG_ID)
        pack = _HEADER.pack

        def text(msg: Message) -> bytes:
            out = first.copy()
            encoder(msg, out)
            if not out:
                payload = prefix
            else:
                out.append("")  # the last field's terminator
                joined = "\0".join(out)
                if joined.count("\0") != len(out) - 1:
                    _refuse_nul(out, joined)
                payload = prefix + joined.encode()
            if len(payload) > MAX_FRAME:
                raise EncodeError(f"frame of {len(payload)} bytes exceeds {MAX_FRAME}")
            return pack(len(payload)) + payload

        framer = text
    _FRAMERS[(cls, version)] = framer
    return framer


def _flat_framer(flat: Callable[[Message], str], prefix: bytes) -> Callable[[Message], bytes]:
    """The text framer of a row whose fields are the same in number every time: its text
    in one generated call (`fieldcodec.text_encoder`), then the frame."""
    pack = _HEADER.pack

    def text(msg: Message) -> bytes:
        payload = flat(msg).encode()
        if len(payload) > MAX_FRAME:
            raise EncodeError(f"frame of {len(payload)} bytes exceeds {MAX_FRAME}")
        return pack(len(payload)) + payload

    def text_after_id(msg: Message) -> bytes:
        payload = prefix + flat(msg).encode()
        if len(payload) > MAX_FRAME:
            raise EncodeError(f"frame of {len(payload)} bytes exceeds {MAX_FRAME}")
        return pack(len(payload)) + payload

    return text_after_id if prefix else text


@dataclass(frozen=True, slots=True)
class Shape:
    """One message's frame at one version with several scalar fields left open:
    `fill(values)` is `encode(replace(msg, **dict(zip(names, values))), version)`, the rest
    encoded once. For the openOrder rows of one client's orders, which differ in their ids,
    side, size, prices and status and in nothing else when they are alike (same contract,
    type, account...): one ~250-field encoding serves them all."""

    pieces: tuple[bytes, ...]  # the payload around the open fields
    fill: Callable[[Sequence[Any]], bytes]  # the open fields' values -> the frame


def shape(msg: Message, version: int, names: tuple[str, ...]) -> Shape | None:
    """`msg` encoded at `version` with its fields `names` (in wire order) left open; None
    where that would not give the bytes of encoding it whole: the message travels as
    protobuf at `version`, or a field is not a plain scalar, or a presence condition reads
    one."""
    if version < PROTOBUF:
        cut = encode_text_shape(msg, version, names)
        prefix = b""
    elif form_for(type(msg)) is not None and travels_as_protobuf(
        msg.DIRECTION, msg.MSG_ID, version
    ):
        return None
    else:
        cut = encode_text_shape(msg, version, names, with_id=False)
        prefix = _MSG_ID.pack(msg.MSG_ID)
    if cut is None:
        return None
    pieces, kinds = cut
    encoded = [p.encode() for p in pieces]
    encoded[0] = prefix + encoded[0]
    return Shape(tuple(encoded), shape_filler(pieces, kinds, frame, prefix))


@dataclass(frozen=True, slots=True)
class BadMessage:
    """A well-framed message that does not parse; the stream itself is still fine."""

    msg_id: int | None
    fields: tuple[str, ...]
    reason: str


def split_payload(payload: bytes) -> list[str]:
    """Payload bytes -> text fields. Undecodable bytes become U+FFFD rather than an error, as
    TWS treats a field it can't read as a bad value, not a broken stream."""
    text = payload.decode("utf-8", errors="replace")
    parts = text.split("\0")
    if parts and parts[-1] == "":
        parts.pop()
    return parts


class FrameReader:
    """Reassembles frames from arbitrary chunks. Partial input is normal, not an error."""

    __slots__ = ("_buf", "_pos")

    def __init__(self) -> None:
        self._buf = bytearray()
        self._pos = 0

    def feed(self, data: bytes) -> None:
        if self._pos:
            del self._buf[: self._pos]
            self._pos = 0
        self._buf += data

    @property
    def buffered(self) -> int:
        return len(self._buf) - self._pos

    def next_frame(self) -> bytes | None:
        buf, pos = self._buf, self._pos
        if len(buf) - pos < 4:
            return None
        (size,) = _HEADER.unpack_from(buf, pos)
        if size > MAX_FRAME:
            raise ProtocolError(f"frame length {size} exceeds {MAX_FRAME}")
        end = pos + 4 + size
        if len(buf) < end:
            return None
        payload = bytes(buf[pos + 4 : end])
        self._pos = end
        return payload


class Decoder:
    """Frames + rows for one direction and version; what a peer uses after the handshake."""

    def __init__(self, direction: Direction, version: int = MAX_VERSION) -> None:
        self.direction = direction
        self.version = version
        self._frames = FrameReader()

    def feed(self, data: bytes) -> None:
        self._frames.feed(data)

    def next_message(self) -> Message | UnknownMessage | BadMessage | None:
        """The next complete message, None if more bytes are needed. Raises ProtocolError only
        for a frame length nobody could send."""
        payload = self._frames.next_frame()
        if payload is None:
            return None
        return decode_payload(self.direction, payload, self.version)


def decode_payload(
    direction: Direction, payload: bytes, version: int
) -> Message | UnknownMessage | BadMessage:
    """One frame's payload -> its message, at server `version` (see the module docstring).
    Never raises for what is inside a frame: a body that does not parse is a BadMessage."""
    if version < PROTOBUF:
        return _decode_text(direction, split_payload(payload), version)
    return _decode_binary(direction, payload, version)


def _decode_binary(
    direction: Direction, payload: bytes, version: int
) -> Message | UnknownMessage | BadMessage:
    """`decode_payload` from 201: a binary message id, then text fields or protobuf."""
    if len(payload) < _MSG_ID.size:
        return BadMessage(None, (), "frame shorter than its 4-byte message id")
    (msg_id,) = _MSG_ID.unpack_from(payload)
    body = payload[_MSG_ID.size :]
    if msg_id <= PROTOBUF_MSG_ID:
        return _decode_text(direction, [str(msg_id), *split_payload(body)], version)
    msg_id -= PROTOBUF_MSG_ID
    cls = SPECS.get((direction, msg_id))
    form = form_for(cls) if cls is not None else None
    if cls is None or form is None:
        return UnknownMessage(msg_id, ())
    try:
        msg: Message = decode_body(form, cls, body)
    except (DecodeError, ValueError) as exc:
        return BadMessage(msg_id, (), f"protobuf: {exc}")
    return msg


def _decode_request(payload: bytes, version: int) -> Message | UnknownMessage | BadMessage:
    """`decode_payload(Direction.IN, payload, version)` for a text version (up to 200), in
    one call: `split_payload` and the row's decoder inline. The way of every request a
    text-speaking client sends, so the calls between cost per message."""
    if version >= PROTOBUF:
        return _decode_binary(Direction.IN, payload, version)
    fields = payload.decode("utf-8", errors="replace").split("\0")
    if fields[-1] == "":
        fields.pop()
    if fields:
        decoder = _IN_DECODERS.get((fields[0], version))
        if decoder is not None:
            try:
                msg: Message = decoder(fields, 1)[0]
            except DecodeError as exc:
                return BadMessage(_try_int(fields[0]), tuple(fields), str(exc))
            return msg
    return _decode_text(Direction.IN, fields, version)


def _decode_text(
    direction: Direction, fields: list[str], version: int
) -> Message | UnknownMessage | BadMessage:
    try:
        if fields:  # a message id as clients write it: its row's decoder, found once
            decoder = _DECODERS[direction is Direction.IN].get((fields[0], version))
            if decoder is None:
                decoder = _decoder(direction, fields[0], version)
            if decoder is not None:
                msg: Message = decoder(fields, 1)[0]
                return msg
        return decode_fields(direction, fields, version)
    except DecodeError as exc:
        return BadMessage(_try_int(fields[0]) if fields else None, tuple(fields), str(exc))


# inbound (True) and outbound: (message id text, version) -> decoder (an enum key hashes slowly)
_DECODERS: dict[bool, dict[tuple[str, int], Callable[[list[str], int], tuple[Any, int]]]] = {
    True: {},
    False: {},
}
_IN_DECODERS: Final = _DECODERS[True]


def _decoder(
    direction: Direction, text: str, version: int
) -> Callable[[list[str], int], tuple[Any, int]] | None:
    """What `decode_fields` reads a message with id `text` with, kept by the id's text when
    that is the id written plainly (`str(id)`) and a row has it; None otherwise (the slow
    path answers: an unknown id, or one spelled oddly)."""
    # "3", not "03", nor a digit beyond ASCII (which int() may refuse)
    plain = text.isascii() and text.isdigit() and str(int(text)) == text
    cls = SPECS.get((direction, int(text))) if plain else None
    if cls is None:
        return None
    decoder = _DECODERS[direction is Direction.IN][(text, version)] = plan(cls, version).decode
    return decoder


def _try_int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


# --------------------------------------------------------------------------------------------
# Handshake and connection state
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Hello:
    """The client's opening: the version range it speaks and its connect options."""

    min_version: int
    max_version: int
    options: str = ""


def negotiate(hello: Hello, lo: int = MIN_VERSION, hi: int = MAX_VERSION) -> int | None:
    """The version both sides speak, as TWS picks it: the lower of the two maxima (stepped
    down to 178 if that falls in 179..202, which the simulator does not speak); None if the
    ranges don't meet."""
    if hello.min_version > hello.max_version:
        return None
    top = highest_spoken(min(hello.max_version, hi))
    if top is None or top < max(hello.min_version, lo):
        return None
    return top


def parse_hello_text(text: str) -> Hello:
    """`v157..178[ options]` or the single-version `v176` form -> Hello."""
    head, _, options = text.partition(" ")
    if not head.startswith("v"):
        raise ProtocolError(f"client hello is not a version range: {text[:40]!r}")
    lo_text, sep, hi_text = head[1:].partition("..")
    try:
        lo = int(lo_text)
        hi = int(hi_text) if sep else lo
    except ValueError:
        raise ProtocolError(f"client hello is not a version range: {text[:40]!r}") from None
    return Hello(lo, hi, options)


def encode_hello(min_version: int, max_version: int, options: str = "") -> bytes:
    text = f"v{min_version}..{max_version}" + (f" {options}" if options else "")
    return HELLO_PREFIX + frame(text.encode())


class ConnState(Enum):
    AWAIT_HELLO = "await_hello"
    AWAIT_ACCEPT = "await_accept"  # hello read; the server decides
    OPEN = "open"
    CLOSED = "closed"


class GatewayConnection:
    """The gateway's side of one connection.

    Feed it bytes with `receive_data`, pull events with `next_event`: first a `Hello`, which the
    server answers with `accept(...)` (the bytes of the 2-field version reply) or `refuse()`;
    then `Message`, `UnknownMessage` or `BadMessage` events. `send(msg)` gives the bytes of one
    outgoing message at the negotiated version.
    """

    def __init__(self, lo: int = MIN_VERSION, hi: int = MAX_VERSION) -> None:
        self.lo, self.hi = lo, hi
        self.state = ConnState.AWAIT_HELLO
        self.version = 0
        self.hello: Hello | None = None
        self.last_payload = b""  # the frame of the last message `next_event` returned
        # each outgoing class's framer at `version` (`framer_of`), by class; `version` is
        # set by `accept` only, which starts it afresh
        self.framers: dict[type, Callable[[Message], bytes]] = {}
        self._frames = FrameReader()
        self._raw = bytearray()

    @property
    def buffered(self) -> int:
        """Bytes received and not yet turned into events."""
        return len(self._raw) + self._frames.buffered

    def receive_data(self, data: bytes) -> None:
        if self.state is ConnState.AWAIT_HELLO:
            self._raw += data
        else:
            self._frames.feed(data)

    def next_event(self) -> Hello | Message | UnknownMessage | BadMessage | None:
        if self.state is ConnState.AWAIT_HELLO:
            return self._read_hello()
        if self.state is not ConnState.OPEN:
            return None
        payload = self._frames.next_frame()
        if payload is None:
            return None
        self.last_payload = payload
        return _decode_request(payload, self.version)

    def _read_hello(self) -> Hello | None:
        raw = self._raw
        n = min(len(raw), len(HELLO_PREFIX))
        if raw[:n] != HELLO_PREFIX[:n]:
            self.state = ConnState.CLOSED
            raise ProtocolError(f"connection did not start with API\\0: {bytes(raw[:8])!r}")
        if len(raw) < 8:
            return None
        (size,) = _HEADER.unpack_from(raw, 4)
        if size > 1024:
            self.state = ConnState.CLOSED
            raise ProtocolError(f"client hello of {size} bytes")
        if len(raw) < 8 + size:
            return None
        text = bytes(raw[8 : 8 + size]).decode("ascii", errors="replace")
        rest = bytes(raw[8 + size :])
        self._raw = bytearray()
        try:
            hello = parse_hello_text(text)
        except ProtocolError:
            self.state = ConnState.CLOSED
            raise
        self.hello = hello
        self.state = ConnState.AWAIT_ACCEPT
        if rest:
            self._frames.feed(rest)
        return hello

    def negotiate(self) -> int | None:
        assert self.hello is not None
        return negotiate(self.hello, self.lo, self.hi)

    def accept(self, version: int, connection_time: str) -> bytes:
        """Open the connection at `version`; returns the reply [version, time] to send."""
        if self.state is not ConnState.AWAIT_ACCEPT:
            raise ProtocolError(f"accept() in state {self.state.value}")
        self.version = version
        self.framers = {}
        self.state = ConnState.OPEN
        return frame_fields([str(version), connection_time])

    def refuse(self) -> None:
        self.state = ConnState.CLOSED

    def send(self, msg: Message) -> bytes:
        framer = self.framers.get(type(msg))
        if framer is None:
            framer = self.framer(type(msg))
        return framer(msg)

    def framer(self, cls: type[Message]) -> Callable[[Message], bytes]:
        """`framer_of(cls, version)`, kept by class for this connection."""
        framer = self.framers[cls] = framer_of(cls, self.version)
        return framer

    def send_many(self, msgs: Iterable[Message]) -> bytes:
        version = self.version
        return b"".join(encode(m, version) for m in msgs)


class ClientConnection:
    """A client's side, for tests and benchmarks: hello out, version reply in, then rows."""

    def __init__(self, lo: int = MIN_VERSION, hi: int = MAX_VERSION, options: str = "") -> None:
        self.hello_bytes = encode_hello(lo, hi, options)
        self.version = 0
        self.connection_time = ""
        self._frames = FrameReader()

    def receive_data(self, data: bytes) -> None:
        self._frames.feed(data)

    def next_event(self) -> Message | UnknownMessage | BadMessage | None:
        """Before the reply: None until it arrives (then `version` is set and the next
        message follows). Raises ProtocolError if the first frame is not a version reply."""
        while True:
            payload = self._frames.next_frame()
            if payload is None:
                return None
            if self.version:
                return decode_payload(Direction.OUT, payload, self.version)
            fields = split_payload(payload)
            if len(fields) != 2 or _try_int(fields[0]) is None:
                raise ProtocolError(f"expected [version, time], got {fields[:4]!r}")
            self.version = int(fields[0])
            self.connection_time = fields[1]

    def send(self, msg: Message) -> bytes:
        return encode(msg, self.version or MAX_VERSION)
