"""The tap's one door to the simulator's wire layer (rows, field codec, framing, handshake).

Everything the tap knows about the TWS API message layouts comes through here, so when the
simulator's wire layer moves package, this module is the one edit. Nothing in it does I/O.

Besides the re-exports, small helpers the tap needs and the codec does not offer:

* `decode_payload` - one frame's payload -> row, unknown or error, never raising;
* `wire_fields` - the (name, value) pairs of a row that were actually on the wire at a
  version (version windows and presence conditions applied), for traces and recordings;
* `field_positions` and `replace_fields` - where named top-level fields of a decoded row sit
  in its frame, and that frame with some of them rewritten, every other byte kept (redaction,
  replay and the check edit recorded frames this way);
* `message_name` - a message id's row name in one direction;
* `simulator` - a `GatewaySimulator`, imported only when one is asked for.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from ibgateway_sim.wire.codec import (
    MAX_FRAME,
    MAX_VERSION,
    MIN_VERSION,
    BadMessage,
    DecodeError,
    EncodeError,
    GatewayConnection,
    Hello,
    ProtocolError,
    UnknownMessage,
    decode_fields,
    encode_fields,
    frame,
    negotiate,
    parse_hello_text,
    split_payload,
)
from ibgateway_sim.wire.messages import SPECS, Direction, Kind, Message, StartApi, Wire

if TYPE_CHECKING:
    from ibgateway_sim import GatewaySimulator

__all__ = [
    "HELLO_PREFIX", "MAX_FRAME", "MAX_VERSION", "MIN_VERSION", "PROTOBUF_VERSION", "SPECS",
    "BadMessage", "DecodeError", "Decoded", "Direction", "GatewayConnection", "Hello", "Message",
    "ProtocolError", "StartApi", "UnknownMessage", "decode_payload", "field_positions", "frame",
    "message_name", "negotiate", "parse_hello_text", "replace_fields", "simulator",
    "split_payload", "wire_fields",
]  # fmt: skip

HELLO_PREFIX: Final = b"API\0"
# from this server version on every message id is a 4-byte binary integer and most bodies are
# protobuf (IB's MIN_SERVER_VER_PROTOBUF): the text codec cannot read those frames
PROTOBUF_VERSION: Final = 201


def simulator(**options: Any) -> GatewaySimulator:
    """A `GatewaySimulator` (imported only when asked for: the proxy never loads the engine)."""
    from ibgateway_sim import GatewaySimulator

    return GatewaySimulator(**options)


def message_name(direction: Direction, msg_id: int) -> str | None:
    """The row name for a message id in one direction (3 in = PlaceOrder, 3 out =
    OrderStatus), None when the codec has no row for it."""
    cls = SPECS.get((direction, msg_id))
    return cls.__name__ if cls is not None else None


@dataclass(frozen=True, slots=True)
class Decoded:
    """One frame's payload, read: the row (or None), its text fields, and what went wrong.

    `unknown` means well framed with an id the codec has no row for; `error` means the fields
    do not form the message its id names (or could not be read at all)."""

    fields: tuple[str, ...]
    message: Message | None = None
    msg_id: int | None = None
    unknown: bool = False
    error: str | None = None


def _int_or_none(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def decode_payload(direction: Direction, payload: bytes, version: int) -> Decoded:
    """A frame's payload at the negotiated `version` -> `Decoded`. Never raises: a frame the
    tap cannot read is still a frame it records."""
    if version >= PROTOBUF_VERSION:
        return Decoded(
            (), error=f"server version {version} sends binary message ids (protobuf); "
            f"the decoder reads the text protocol ({MIN_VERSION}..{MAX_VERSION}), frame kept raw"
        )
    fields = tuple(split_payload(payload))
    msg_id = _int_or_none(fields[0]) if fields else None
    if not MIN_VERSION <= version <= MAX_VERSION:
        return Decoded(
            fields, msg_id=msg_id, unknown=True,
            error=f"server version {version} is outside {MIN_VERSION}..{MAX_VERSION}, the "
            "versions the decoder knows; fields kept as text",
        )
    try:
        decoded = decode_fields(direction, fields, version)
    except DecodeError as exc:
        return Decoded(fields, msg_id=msg_id, error=str(exc))
    if isinstance(decoded, UnknownMessage):
        return Decoded(fields, msg_id=decoded.msg_id, unknown=True)
    return Decoded(fields, message=decoded, msg_id=decoded.MSG_ID)


# --------------------------------------------------------------------------------------------
# Walking a decoded row
# --------------------------------------------------------------------------------------------


_SPECS: dict[tuple[type, int], tuple[tuple[str, Wire | None], ...]] = {}


def _specs(cls: type, version: int) -> tuple[tuple[str, Wire | None], ...]:
    """A row's fields that can travel at `version`, with the presence condition to check
    (None: always present), computed once per (row, version)."""
    key = (cls, version)
    found = _SPECS.get(key)
    if found is None:
        found = _SPECS[key] = tuple(
            (f.name, spec if spec.when is not None else None)
            for f in dataclasses.fields(cls)
            if (spec := f.metadata.get("wire")) is not None and spec.since <= version < spec.until
        )
    return found


def wire_fields(row: Any, version: int) -> Iterator[tuple[str, Any]]:
    """(name, value) for each field of `row` that travels at `version`, in wire order; a
    sub-row is yielded as itself (walk it again for its fields)."""
    specs = _specs(type(row), version)
    values: dict[str, Any] = {}
    for name, conditional in specs:
        value = getattr(row, name)
        values[name] = value
        if conditional is None or conditional.when(values):  # type: ignore[misc]
            yield name, value


# Sentinels that can stand in a field while a row is re-encoded, and be found in the output.
_STR_MARK: Final = "\x01tap\x01"
_INT_MARK: Final = 7_919_000_000_000


def field_positions(message: Message, version: int, names: Iterable[str]) -> dict[str, int]:
    """Index in the frame's field list (message id = 0) of each named top-level field of
    `message`, as it was decoded at `version`; fields that did not travel are left out.

    Why not re-encode the edited row? The codec writes canonical text ("" for unset, `0.0` for
    a zero strike...) while a recorded frame holds what the peer sent; rewriting one field in
    place keeps every other byte. The layout comes from the codec itself: the row is encoded
    with a marker in each named field and the markers are looked up."""
    kinds = {f.name: f.metadata["wire"].kind for f in dataclasses.fields(message)}  # type: ignore[arg-type]
    marks: dict[str, Any] = {}
    for i, name in enumerate(names):
        kind = kinds.get(name)
        if kind is Kind.STR:
            marks[name] = f"{_STR_MARK}{i}"
        elif kind in (Kind.INT, Kind.OPT_INT):
            marks[name] = _INT_MARK + i
    if not marks:
        return {}
    try:
        encoded = encode_fields(dataclasses.replace(message, **marks), version)  # type: ignore[type-var]
    except EncodeError:  # pragma: no cover - markers are valid text and ints
        return {}
    texts = {str(mark): name for name, mark in marks.items()}
    return {texts[text]: i for i, text in enumerate(encoded) if text in texts}


def replace_fields(payload: bytes, changes: Mapping[int, bytes]) -> bytes:
    """`payload` with the fields at the given indices replaced, every other byte kept."""
    if not changes:
        return payload
    parts = payload.split(b"\0")
    for index, value in changes.items():
        parts[index] = value
    return b"\0".join(parts)
