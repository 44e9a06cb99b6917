"""Recordings: JSON lines, one object per line, written and read back here.

    {"type": "header", "format": "horizon-tap", "format_version": 1, "started": ..., ...}
    {"type": "open", "ts": "2025-01-15T14:30:01.123456Z", "conn": 1}
    {"type": "frame", "ts": ..., "direction": "in", "conn": 1, "client_id": 7,
     "kind": "message", "version": 178, "msg_id": 3, "name": "PlaceOrder",
     "raw": "<base64 of the frame, length prefix included>", "fields": {...}}
    {"type": "close", "ts": ..., "conn": 1, "by": "client"}

`direction` is "in" for client -> gateway, "out" for gateway -> client. `fields` holds the
decoded row by field name, in wire order (sub-rows as objects, Decimals as strings); a frame
the codec does not know has `"unknown": true`, one it cannot read `"error": "..."`, and both
keep their text fields in `values`. `raw` is the authority: replay and the shape check decode
it again rather than trusting `fields`.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Final

from horizon.tap.decode import EventKind, WireEvent, payload_of
from horizon.tap.errors import RecordingError
from horizon.tap.wire import Direction, wire_fields

__all__ = [
    "FORMAT", "FORMAT_VERSION", "RecordedFrame", "Recording", "RecordingWriter", "frame_of",
    "read_recording", "write_recording",
]  # fmt: skip

FORMAT: Final = "horizon-tap"
FORMAT_VERSION: Final = 1
_DIRECTION: Final = {Direction.IN: "in", Direction.OUT: "out"}
_FROM_TEXT: Final = {text: d for d, text in _DIRECTION.items()}


def utc(at: float) -> datetime:
    return datetime.fromtimestamp(at, UTC)


def iso(ts: datetime) -> str:
    return ts.isoformat(timespec="microseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordedFrame:
    """One recorded unit of a connection: exactly what one line of the file holds."""

    ts: datetime
    direction: Direction
    conn: int
    client_id: int | None
    kind: EventKind
    version: int
    name: str
    msg_id: int | None
    raw: bytes
    fields: Mapping[str, Any] = field(default_factory=dict)
    values: tuple[str, ...] = ()  # text fields of a frame that did not decode
    unknown: bool = False
    error: str | None = None

    @property
    def payload(self) -> bytes:
        return payload_of(self.kind, self.raw)

    @property
    def decoded(self) -> bool:
        return self.kind is EventKind.MESSAGE and not self.unknown and self.error is None


def jsonable(value: Any, version: int) -> Any:
    """A decoded value as JSON: rows by field name (the fields on the wire at `version`),
    tuples as lists, Decimals and enums as strings."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {name: jsonable(v, version) for name, v in wire_fields(value, version)}
    if isinstance(value, tuple | list):
        return [jsonable(v, version) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return str(value.value)
    return value


def frame_of(event: WireEvent, conn: int) -> RecordedFrame:
    """The recorded form of a tapped event."""
    fields: dict[str, Any] = {}
    values: tuple[str, ...] = ()
    if event.kind is EventKind.HELLO and event.hello is not None:
        h = event.hello
        fields = {"min_version": h.min_version, "max_version": h.max_version,
                  "options": h.options}  # fmt: skip
    elif event.kind is EventKind.VERSION and event.error is None:
        fields = {"server_version": int(event.fields[0]), "connection_time": event.fields[1]}
    elif event.message is not None:
        fields = jsonable(event.message, event.version)
    else:
        values = event.fields
    return RecordedFrame(
        ts=utc(event.at), direction=event.direction, conn=conn, client_id=event.client_id,
        kind=event.kind, version=event.version, name=event.name, msg_id=event.msg_id,
        raw=event.raw, fields=fields, values=values, unknown=event.unknown, error=event.error,
    )


# --------------------------------------------------------------------------------------------
# Lines
# --------------------------------------------------------------------------------------------


def frame_line(f: RecordedFrame) -> dict[str, Any]:
    line: dict[str, Any] = {
        "type": "frame", "ts": iso(f.ts), "direction": _DIRECTION[f.direction], "conn": f.conn,
        "client_id": f.client_id, "kind": f.kind.value, "version": f.version,
        "msg_id": f.msg_id, "name": f.name, "raw": base64.b64encode(f.raw).decode("ascii"),
    }  # fmt: skip
    if f.fields:
        line["fields"] = f.fields
    if f.values:
        line["values"] = list(f.values)
    if f.unknown:
        line["unknown"] = True
    if f.error is not None:
        line["error"] = f.error
    return line


def _frame_from(line: Mapping[str, Any]) -> RecordedFrame:
    return RecordedFrame(
        ts=datetime.fromisoformat(line["ts"]),
        direction=_FROM_TEXT[line["direction"]],
        conn=int(line["conn"]),
        client_id=line.get("client_id"),
        kind=EventKind(line["kind"]),
        version=int(line.get("version", 0)),
        name=str(line["name"]),
        msg_id=line.get("msg_id"),
        raw=base64.b64decode(line["raw"], validate=True),
        fields=line.get("fields", {}),
        values=tuple(line.get("values", ())),
        unknown=bool(line.get("unknown", False)),
        error=line.get("error"),
    )


def _dumps(obj: Mapping[str, Any]) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


class RecordingWriter:
    """Appends lines to a recording file; `flush()` after each batch keeps a killed tap's
    recording whole up to its last batch."""

    def __init__(
        self,
        target: str | Path | IO[str],
        *,
        redacted: bool,
        upstream: str = "",
        started: datetime | None = None,
    ) -> None:
        if isinstance(target, str | Path):
            self._file: IO[str] = open(target, "w", encoding="utf-8")  # noqa: SIM115
            self._owned = True
        else:
            self._file, self._owned = target, False
        header = {
            "type": "header", "format": FORMAT, "format_version": FORMAT_VERSION,
            "started": iso(started or datetime.now(UTC)), "redacted": redacted,
            "upstream": upstream,
        }  # fmt: skip
        self._write(header)

    def _write(self, obj: Mapping[str, Any]) -> None:
        self._file.write(_dumps(obj) + "\n")

    def frame(self, f: RecordedFrame) -> None:
        self._write(frame_line(f))

    def opened(self, conn: int, ts: datetime) -> None:
        self._write({"type": "open", "ts": iso(ts), "conn": conn})

    def closed(self, conn: int, ts: datetime, by: str) -> None:
        self._write({"type": "close", "ts": iso(ts), "conn": conn, "by": by})

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        if self._owned:
            self._file.close()
        else:
            self._file.flush()

    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Recording:
    """A recording read back: its header, its frames in file order, and how each connection
    ended (`closed_by[conn]`: "client", "gateway" or "tap")."""

    header: Mapping[str, Any]
    frames: tuple[RecordedFrame, ...]
    closed_by: Mapping[int, str]

    def connections(self) -> list[int]:
        return sorted({f.conn for f in self.frames})

    def of(self, conn: int) -> list[RecordedFrame]:
        return [f for f in self.frames if f.conn == conn]

    @property
    def redacted(self) -> bool:
        return bool(self.header.get("redacted", False))


def _lines(path: Path) -> Iterator[tuple[int, Mapping[str, Any]]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RecordingError(path, 0, "no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RecordingError(path, 0, f"cannot be read: {exc}") from exc
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise RecordingError(path, number, f"not JSON ({exc.msg})") from None
        if not isinstance(obj, dict):
            raise RecordingError(path, number, "not a JSON object")
        yield number, obj


def read_recording(path: str | Path) -> Recording:
    """Read a recording; RecordingError (naming the line) if it is not one."""
    path = Path(path)
    header: Mapping[str, Any] | None = None
    frames: list[RecordedFrame] = []
    closed: dict[int, str] = {}
    for number, obj in _lines(path):
        kind = obj.get("type")
        if header is None:
            if kind != "header" or obj.get("format") != FORMAT:
                raise RecordingError(path, number, "does not start with a horizon-tap header")
            if obj.get("format_version") != FORMAT_VERSION:
                raise RecordingError(
                    path, number, f"format version {obj.get('format_version')!r}; this "
                    f"horizon-ibkr reads version {FORMAT_VERSION}",
                )
            header = obj
        elif kind == "frame":
            try:
                frames.append(_frame_from(obj))
            except (KeyError, ValueError, TypeError, binascii.Error) as exc:
                raise RecordingError(path, number, f"bad frame line ({exc!r})") from None
        elif kind == "close":
            closed[int(obj.get("conn", 0))] = str(obj.get("by", ""))
    if header is None:
        raise RecordingError(path, 0, "is empty")
    return Recording(header, tuple(frames), closed)


def write_recording(
    path: str | Path, frames: Iterable[RecordedFrame], *, redacted: bool
) -> None:
    """Write frames as a recording (tests, and tools that edit a recording)."""
    with RecordingWriter(path, redacted=redacted) as writer:
        for f in frames:
            writer.frame(f)
