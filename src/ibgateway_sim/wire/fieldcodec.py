"""The table-driven field walker: any row of `messages.py` <-> its TWS API text fields.

`encode_fields` / `decode_fields` follow the negotiated server version: fields outside their
version window are neither written nor read, conditional blocks follow their predicate, and
sub-rows, groups, flagged and tagged rows nest. No per-message code, no bytes, no socket;
framing and the handshake are `codec.py`'s.

Walking a row is compiled once per (row class, version) into a flat plan, which is what keeps
a generic decoder fast enough for tens of thousands of messages per second.
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from ibgateway_sim.wire.messages import (
    SPECS,
    Direction,
    Kind,
    Message,
    OrderCondition,
    Pred,
    Wire,
)

# the server versions the rows of `messages.py` are written for (negotiated in `codec.py`)
MIN_VERSION: Final = 157
MAX_VERSION: Final = 178
MAX_FRAME: Final = 0xFFFFFF  # what ibapi calls MAX_MSG_LEN; larger prefixes are garbage

UNSET_TEXTS: Final = frozenset(
    {
        "1.7976931348623157E308",
        "1.7976931348623157e+308",
        "1.7976931348623157e308",
        "2147483647",
        "9223372036854775807",
        "170141183460469231731687303715884105727",  # ibapi's UNSET_DECIMAL
    }
)
UNSET_INT_TEXTS: Final = frozenset({"2147483647", "9223372036854775807"})
MAX_DOUBLE_TEXT: Final = "1.7976931348623157E308"


class DecodeError(Exception):
    """One frame was well framed but its fields do not form the message its id names."""


class EncodeError(ValueError):
    """A row holds a value that cannot travel (a NUL inside a text field, NaN)."""


# --------------------------------------------------------------------------------------------
# Scalars
# --------------------------------------------------------------------------------------------


def _fmt_dec(value: Decimal) -> str:
    if value.is_nan():
        raise EncodeError("NaN cannot be sent")
    if value.is_infinite():
        return "Infinite" if value > 0 else "-Infinite"
    text = format(value, "f")
    return text


def _enc_str(v: Any) -> str:
    if "\0" in v:
        raise EncodeError(f"NUL inside a text field: {v!r}")
    return v  # type: ignore[no-any-return]


def _enc_int(v: Any) -> str:
    return str(int(v))


def _enc_opt_int(v: Any) -> str:
    return "" if v is None else str(int(v))


def _enc_dec(v: Any) -> str:
    return "" if v is None else _fmt_dec(v)


def _enc_dec_max(v: Any) -> str:
    return MAX_DOUBLE_TEXT if v is None else _fmt_dec(v)


def _enc_bool(v: Any) -> str:
    return "1" if v else "0"


def _enc_opt_bool(v: Any) -> str:
    return "" if v is None else ("1" if v else "0")


def _dec_str(s: str) -> str:
    return s


def _dec_int(s: str) -> int:
    if not s:
        return 0
    try:
        return int(s)
    except ValueError:
        raise DecodeError(f"not an integer: {s!r}") from None


def _dec_opt_int(s: str) -> int | None:
    if not s or s in UNSET_INT_TEXTS:
        return None
    return _dec_int(s)


def _dec_dec(s: str) -> Decimal | None:
    if not s or s in UNSET_TEXTS:
        return None
    if s == "Infinite":
        return Decimal("Infinity")
    if s == "-Infinite":
        return Decimal("-Infinity")
    try:
        value = Decimal(s)
    except InvalidOperation:
        raise DecodeError(f"not a number: {s!r}") from None
    if value.is_nan():
        raise DecodeError(f"not a number: {s!r}")
    return value


def _dec_bool(s: str) -> bool:
    return _dec_int(s) != 0


def _dec_opt_bool(s: str) -> bool | None:
    return None if not s else _dec_int(s) != 0


_SCALAR_CODECS: Final[dict[Kind, tuple[Callable[[Any], str], Callable[[str], Any]]]] = {
    Kind.STR: (_enc_str, _dec_str),
    Kind.INT: (_enc_int, _dec_int),
    Kind.OPT_INT: (_enc_opt_int, _dec_opt_int),
    Kind.DEC: (_enc_dec, _dec_dec),
    Kind.DEC_MAX: (_enc_dec_max, _dec_dec),
    Kind.BOOL: (_enc_bool, _dec_bool),
    Kind.OPT_BOOL: (_enc_opt_bool, _dec_opt_bool),
}

# --------------------------------------------------------------------------------------------
# Plans: a row compiled for one version
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Step:
    """One field that is more than a scalar: a sub-row, a group, a flagged or tagged row."""

    name: str
    kind: Kind
    sub: _Plan | None
    wire: Wire


@dataclass(frozen=True, slots=True)
class _Run:
    """Consecutive plain scalar fields, converted in one sweep (the bulk of every row)."""

    names: tuple[str, ...]
    encs: tuple[Callable[[Any], str], ...]
    decs: tuple[Callable[[str], Any], ...]
    get: Callable[[Any], tuple[Any, ...]]


@dataclass(frozen=True, slots=True)
class _Block:
    """Consecutive fields sharing one presence condition, which is evaluated once."""

    when: Pred
    parts: tuple[_Run | _Step | _Block, ...]


_Part = _Run | _Step | _Block


@dataclass(frozen=True, slots=True)
class _Plan:
    cls: type
    parts: tuple[_Part, ...]


_PLANS: dict[tuple[type, int], _Plan] = {}


def _wire_fields(cls: type) -> list[tuple[dataclasses.Field[Any], Wire]]:
    return [(f, f.metadata["wire"]) for f in dataclasses.fields(cls) if "wire" in f.metadata]


def _run(fields: list[tuple[str, Kind]]) -> _Run:
    names = tuple(n for n, _ in fields)
    getter = operator.attrgetter(*names)
    get = getter if len(names) > 1 else (lambda obj: (getter(obj),))
    return _Run(
        names,
        tuple(_SCALAR_CODECS[k][0] for _, k in fields),
        tuple(_SCALAR_CODECS[k][1] for _, k in fields),
        get,
    )


def _compile(fields: Sequence[tuple[str, Wire]], version: int) -> tuple[_Part, ...]:
    parts: list[_Part] = []
    pending: list[tuple[str, Kind]] = []

    def flush() -> None:
        if pending:
            parts.append(_run(pending))
            pending.clear()

    i = 0
    while i < len(fields):
        name, spec = fields[i]
        if spec.when is not None:
            j = i
            while j < len(fields) and fields[j][1].when == spec.when:
                j += 1
            inner = [(n, dataclasses.replace(w, when=None)) for n, w in fields[i:j]]
            flush()
            parts.append(_Block(spec.when, _compile(inner, version)))
            i = j
            continue
        codec = _SCALAR_CODECS.get(spec.kind)
        if codec is not None:
            pending.append((name, spec.kind))
        else:
            flush()
            sub = plan(spec.item, version) if spec.item is not None else None
            parts.append(_Step(name, spec.kind, sub, spec))
        i += 1
    flush()
    return tuple(parts)


def plan(cls: type, version: int) -> _Plan:
    """The walk of `cls` at `version`, compiled once: runs of plain scalars (converted in one
    sweep), sub-rows, and blocks of fields that share a presence condition."""
    key = (cls, version)
    cached = _PLANS.get(key)
    if cached is None:
        present = [
            (f.name, spec) for f, spec in _wire_fields(cls) if spec.since <= version < spec.until
        ]
        cached = _PLANS[key] = _Plan(cls, _compile(present, version))
    return cached


class _Fields:
    """Read-only mapping view of a row, so predicates see an object's fields on encode."""

    __slots__ = ("obj",)

    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def get(self, name: str) -> Any:
        return getattr(self.obj, name, None)


def _encode_into(p: _Plan, obj: Any, out: list[str]) -> None:
    _encode_parts(p.parts, obj, out)


def _encode_parts(parts: tuple[_Part, ...], obj: Any, out: list[str]) -> None:
    for part in parts:
        if type(part) is _Run:
            out.extend([enc(v) for enc, v in zip(part.encs, part.get(obj), strict=True)])
        elif type(part) is _Block:
            if part.when(_Fields(obj)):
                _encode_parts(part.parts, obj, out)
        else:
            _encode_step(part, getattr(obj, part.name), out)  # type: ignore[union-attr, arg-type]


def _encode_step(s: _Step, value: Any, out: list[str]) -> None:
    if s.kind is Kind.STRUCT:
        _encode_into(s.sub, value, out)  # type: ignore[arg-type]
    elif s.kind is Kind.GROUP:
        out.append(str(len(value)))
        for item in value:
            _encode_into(s.sub, item, out)  # type: ignore[arg-type]
    elif s.kind is Kind.FLAGGED:
        if value is None:
            out.append("0")
        else:
            out.append("1")
            _encode_into(s.sub, value, out)  # type: ignore[arg-type]
    elif s.kind is Kind.TAGGED:
        out.append(str(len(value)))
        arity = s.wire.arity or {}
        for item in value:
            if arity.get(item.cond_type) != len(item.values):
                raise EncodeError(f"condition type {item.cond_type} with {item.values!r}")
            out.append(str(item.cond_type))
            out.extend(_enc_str(v) for v in item.values)


class _Reader:
    __slots__ = ("fields", "pos")

    def __init__(self, fields: Sequence[str], pos: int = 0) -> None:
        self.fields = fields
        self.pos = pos

    def take(self, name: str) -> str:
        try:
            value = self.fields[self.pos]
        except IndexError:
            raise DecodeError(f"message ends before field {name!r}") from None
        self.pos += 1
        return value

    def take_run(self, run: _Run) -> list[Any]:
        start, n = self.pos, len(run.names)
        chunk = self.fields[start : start + n]
        if len(chunk) < n:
            raise DecodeError(f"message ends before field {run.names[len(chunk)]!r}")
        self.pos = start + n
        return [dec(text) for dec, text in zip(run.decs, chunk, strict=True)]


def _count(text: str, name: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise DecodeError(f"count {name!r} is not an integer: {text!r}") from None
    if n < 0 or n > MAX_FRAME:
        raise DecodeError(f"count {name!r} out of range: {n}")
    return n


def _decode_from(p: _Plan, r: _Reader) -> Any:
    values: dict[str, Any] = {}
    _decode_parts(p.parts, r, values)
    return p.cls(**values)


def _decode_parts(parts: tuple[_Part, ...], r: _Reader, values: dict[str, Any]) -> None:
    for part in parts:
        if type(part) is _Run:
            values.update(zip(part.names, r.take_run(part), strict=True))
        elif type(part) is _Block:
            if part.when(values):
                _decode_parts(part.parts, r, values)
        else:
            s: _Step = part  # type: ignore[assignment]
            values[s.name] = _decode_step(s, r)


def _decode_step(s: _Step, r: _Reader) -> Any:
    if s.kind is Kind.STRUCT:
        return _decode_from(s.sub, r)  # type: ignore[arg-type]
    if s.kind is Kind.GROUP:
        n = _count(r.take(s.name), s.name)
        return tuple(_decode_from(s.sub, r) for _ in range(n))  # type: ignore[arg-type]
    if s.kind is Kind.FLAGGED:
        present = _dec_bool(r.take(s.name))
        return _decode_from(s.sub, r) if present else None  # type: ignore[arg-type]
    n = _count(r.take(s.name), s.name)  # TAGGED
    arity = s.wire.arity or {}
    items = []
    for _ in range(n):
        tag = _dec_int(r.take(s.name))
        if tag not in arity:
            raise DecodeError(f"unknown {s.name} type {tag}")
        items.append(
            OrderCondition(cond_type=tag, values=tuple(r.take(s.name) for _ in range(arity[tag])))
        )
    return tuple(items)


# --------------------------------------------------------------------------------------------
# Messages <-> fields
# --------------------------------------------------------------------------------------------


def encode_fields(msg: Message, version: int = MAX_VERSION) -> list[str]:
    """The text fields of `msg` at `version`, message id first."""
    out = [str(msg.MSG_ID)]
    _encode_into(plan(type(msg), version), msg, out)
    return out


@dataclass(frozen=True, slots=True)
class UnknownMessage:
    """A well-framed message whose id this simulator has no row for (in that direction)."""

    msg_id: int
    fields: tuple[str, ...]


def decode_fields(
    direction: Direction, fields: Sequence[str], version: int = MAX_VERSION, *, strict: bool = False
) -> Message | UnknownMessage:
    """Fields (message id first) -> the row for that id. Raises DecodeError if they don't fit;
    trailing extra fields are tolerated (both IB clients tolerate them) unless `strict`."""
    if not fields:
        raise DecodeError("empty message")
    msg_id = _dec_int(fields[0])
    cls = SPECS.get((direction, msg_id))
    if cls is None:
        return UnknownMessage(msg_id, tuple(fields))
    reader = _Reader(fields, 1)
    msg: Message = _decode_from(plan(cls, version), reader)
    if strict and reader.pos != len(fields):
        raise DecodeError(f"{len(fields) - reader.pos} fields left over: {fields[reader.pos :]!r}")
    return msg
