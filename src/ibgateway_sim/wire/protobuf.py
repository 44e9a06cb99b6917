"""The protobuf walker: a message row of `messages.py` <-> the body of its protobuf form.

A form (`protoforms.py`) lists, for one row class, the protobuf fields of IB's message and the
row attribute each one carries, as a path (`"contract.symbol"`). A nested message that has no
row of its own (IB's `Order` inside `OpenOrder`, whose fields are the row's own) is a `nest`
whose fields name paths of the same row; repeated sub-rows (combo legs) are a `rep`, and
`TagValue` groups travel as protobuf maps (`tags`). So the rows stay the engine's currency and
this is a second encoder/decoder of the same objects, like `fieldcodec.py` for text.

Absent fields decode to the row's defaults, as TWS applies only the fields a message carries
to a fresh object. Fields a form does not know are skipped, as protobuf readers do.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any, Final

from ibgateway_sim.wire import protowire as pw
from ibgateway_sim.wire.fieldcodec import DecodeError, EncodeError
from ibgateway_sim.wire.messages import TagValue
from ibgateway_sim.wire.thresholds import UTC_Z_SUFFIX, ZERO_STRIKE


class PKind(Enum):
    """How a row value travels in one protobuf field."""

    I32 = "int32"  # int (None: absent)
    I64 = "int64"  # int: perm ids, epoch times
    BOOL = "bool"
    BOOL_I32 = "bool as int32 0/1"  # IB's tri-state flags (usePriceMgmtAlgo): None absent
    STR = "string"
    TIME = "string; a UTC date-time gets a Z suffix from 214"
    DEC_STR = "Decimal as a string"  # sizes and quantities
    DEC_DBL = "Decimal as a double"  # prices and amounts
    DEC_DBL_MAX = "Decimal as a double; None as IB's max double"  # as text's DEC_MAX
    STRIKE = "Decimal as a double; a zero strike is sent from 202"
    TXT_DBL = "text holding a number, as a double"  # multiplier, margin values
    INT_STR = "int as a string"  # yieldRedemptionDate
    NEST = "a nested message whose fields belong to the same row"
    REP = "repeated nested message, one sub-row each"
    TAGS = "tuple of TagValue as map<string, string>"


@dataclass(frozen=True, slots=True)
class P:
    """One protobuf field: its number, the row attribute path it carries, how."""

    number: int
    path: str
    kind: PKind
    nested: tuple[P, ...] = ()


Form = tuple[P, ...]


def f(number: int, path: str, kind: PKind) -> P:
    return P(number, path, kind)


def nest(number: int, *fields: P) -> P:
    return P(number, "", PKind.NEST, fields)


def rep(number: int, path: str, *fields: P) -> P:
    """Repeated sub-rows at `path`; the fields' paths are the sub-row's own."""
    return P(number, path, PKind.REP, fields)


def tags(number: int, path: str) -> P:
    return P(number, path, PKind.TAGS)


_WIRE_TYPE: Final[Mapping[PKind, int]] = {
    PKind.I32: pw.VARINT, PKind.I64: pw.VARINT, PKind.BOOL: pw.VARINT, PKind.BOOL_I32: pw.VARINT,
    PKind.DEC_DBL: pw.FIXED64, PKind.DEC_DBL_MAX: pw.FIXED64, PKind.STRIKE: pw.FIXED64,
    PKind.TXT_DBL: pw.FIXED64,
}  # fmt: skip  (everything else is length-delimited)

_UTC_FORM = re.compile(r"\d{8}-\d{2}:\d{2}:\d{2}")  # TWS's UTC date-time, "YYYYMMDD-HH:MM:SS"
_MAX_DOUBLE: Final = 1.7976931348623157e308  # IB's "unset" double


# --------------------------------------------------------------------------------------------
# Encoding
# --------------------------------------------------------------------------------------------


def encode_body(form: Form, row: Any, version: int) -> bytes:
    """The protobuf body of `row` (no id, no length) at server `version`."""
    return bytes(_encode(form, row, version))


def _get(row: Any, path: str) -> Any:
    value = row
    for part in path.split("."):
        if value is None:
            return None
        value = getattr(value, part)
    return value


def _encode(form: Form, row: Any, version: int) -> bytearray:
    out = bytearray()
    for p in form:
        kind = p.kind
        if kind is PKind.NEST:
            body = _encode(p.nested, row, version)
            if body:
                out += pw.field_bytes(p.number, bytes(body))
            continue
        value = _get(row, p.path)
        if value is None:
            if kind is PKind.DEC_DBL_MAX:
                out += pw.field_double(p.number, _MAX_DOUBLE)
            continue
        if kind is PKind.REP:
            for item in value:
                out += pw.field_bytes(p.number, bytes(_encode(p.nested, item, version)))
        elif kind is PKind.TAGS:
            for tv in value:
                entry = pw.field_bytes(1, tv.tag.encode()) + pw.field_bytes(2, tv.value.encode())
                out += pw.field_bytes(p.number, entry)
        else:
            out += _scalar(p.number, kind, value, version)
    return out


def _scalar(number: int, kind: PKind, value: Any, version: int) -> bytes:
    if kind in (PKind.I32, PKind.I64):
        return pw.field_varint(number, int(value))
    if kind in (PKind.BOOL, PKind.BOOL_I32):
        return pw.field_varint(number, 1 if value else 0)
    if kind is PKind.STR:
        return pw.field_bytes(number, value.encode())
    if kind is PKind.TIME:
        if version >= UTC_Z_SUFFIX and _UTC_FORM.fullmatch(value):
            value += "Z"
        return pw.field_bytes(number, value.encode())
    if kind is PKind.DEC_STR:
        return pw.field_bytes(number, _dec_text(value).encode())
    if kind is PKind.DEC_DBL or kind is PKind.DEC_DBL_MAX:
        return pw.field_double(number, _double(value))
    if kind is PKind.STRIKE:
        if value == 0 and version < ZERO_STRIKE:
            return b""  # before 202 a zero strike is "no strike"
        return pw.field_double(number, _double(value))
    if kind is PKind.TXT_DBL:
        if value == "":
            return b""
        try:
            return pw.field_double(number, float(value))
        except ValueError:
            raise EncodeError(f"{value!r} is not a number") from None
    if kind is PKind.INT_STR:
        return pw.field_bytes(number, str(int(value)).encode())
    raise AssertionError(kind)


def _double(value: Decimal) -> float:
    if value.is_nan():
        raise EncodeError("NaN cannot be sent")
    return float(value)


def _dec_text(value: Decimal) -> str:
    if value.is_nan():
        raise EncodeError("NaN cannot be sent")
    return format(value, "f")


# --------------------------------------------------------------------------------------------
# Decoding
# --------------------------------------------------------------------------------------------


def decode_body(form: Form, cls: type, body: bytes) -> Any:
    """The row of class `cls` carried by a protobuf `body`; DecodeError if it does not parse."""
    values: dict[str, Any] = {}
    _decode(form, cls, body, values)
    return _build(cls, values)


@functools.cache
def _by_number(form: Form) -> dict[int, P]:
    return {p.number: p for p in form}


def _decode(form: Form, cls: type, body: bytes, values: dict[str, Any]) -> None:
    index = _by_number(form)
    for number, wire_type, raw in pw.fields(body):
        p = index.get(number)
        if p is None:
            continue  # a field this form does not carry: skipped, as protobuf readers do
        expected = _WIRE_TYPE.get(p.kind, pw.LENGTH)
        if wire_type != expected:
            raise DecodeError(f"protobuf field {number} has wire type {wire_type}")
        kind = p.kind
        if kind is PKind.NEST:
            assert isinstance(raw, bytes)
            _decode(p.nested, cls, raw, values)
        elif kind is PKind.REP:
            assert isinstance(raw, bytes)
            item_cls = _item_class(cls, p.path)
            sub: dict[str, Any] = {}
            _decode(p.nested, item_cls, raw, sub)
            values.setdefault(p.path, []).append(_build(item_cls, sub))
        elif kind is PKind.TAGS:
            assert isinstance(raw, bytes)
            values.setdefault(p.path, []).append(_tag_value(raw))
        else:
            values[p.path] = _read_scalar(kind, raw)


def _read_scalar(kind: PKind, raw: int | float | bytes) -> Any:
    if kind is PKind.I32 or kind is PKind.I64:
        assert isinstance(raw, int)
        return pw.signed(raw)
    if kind is PKind.BOOL:
        return bool(raw)
    if kind is PKind.BOOL_I32:
        return bool(raw)
    if kind in (PKind.DEC_DBL, PKind.DEC_DBL_MAX, PKind.STRIKE, PKind.TXT_DBL):
        assert isinstance(raw, float)
        if kind is PKind.TXT_DBL:
            return _float_text(raw)
        return _float_decimal(raw)
    assert isinstance(raw, bytes)
    text = raw.decode("utf-8", errors="replace")
    if kind is PKind.DEC_STR:
        if not text:
            return None
        try:
            return Decimal(text)
        except InvalidOperation:
            raise DecodeError(f"{text!r} is not a decimal") from None
    if kind is PKind.INT_STR:
        if not text:
            return None
        try:
            return int(text)
        except ValueError:
            raise DecodeError(f"{text!r} is not an integer") from None
    return text  # STR, TIME


def _float_decimal(x: float) -> Decimal | None:
    if math.isnan(x) or x == _MAX_DOUBLE:
        return None
    if math.isinf(x):
        return Decimal("Infinity") if x > 0 else Decimal("-Infinity")
    return Decimal(repr(x))


def _float_text(x: float) -> str:
    if math.isnan(x) or math.isinf(x) or x == _MAX_DOUBLE:
        return ""
    return str(int(x)) if x.is_integer() else repr(x)


def _tag_value(entry: bytes) -> TagValue:
    key = value = ""
    for number, wire_type, raw in pw.fields(entry):
        if wire_type != pw.LENGTH:
            raise DecodeError("protobuf map entry with a non-string field")
        assert isinstance(raw, bytes)
        if number == 1:
            key = raw.decode("utf-8", errors="replace")
        elif number == 2:
            value = raw.decode("utf-8", errors="replace")
    return TagValue(tag=key, value=value)


@functools.cache
def _item_class(cls: type, path: str) -> type:
    """The sub-row class at `path`, from the row's own wire metadata (`messages.w(item=...)`)."""
    for part in path.split("."):
        spec = {fd.name: fd for fd in dataclasses.fields(cls)}[part].metadata["wire"]
        assert spec.item is not None, f"{cls.__name__}.{part} has no sub-row"
        cls = spec.item
    return cls


def _build(cls: type, values: Mapping[str, Any]) -> Any:
    direct: dict[str, Any] = {}
    nested: dict[str, dict[str, Any]] = {}
    for path, value in values.items():
        head, dot, rest = path.partition(".")
        if dot:
            nested.setdefault(head, {})[rest] = value
        else:
            direct[head] = tuple(value) if isinstance(value, list) else value
    for head, sub in nested.items():
        direct[head] = _build(_item_class(cls, head), sub)
    return cls(**direct)
