"""The protobuf walker: a message row of `messages.py` <-> the body of its protobuf form.

A form (`protoforms.py`) lists, for one row class, the protobuf fields of IB's message and the
row attribute each one carries, as a path (`"contract.symbol"`). A nested message that has no
row of its own (IB's `Order` inside `OpenOrder`, whose fields are the row's own) is a `nest`
whose fields name paths of the same row; repeated sub-rows (combo legs) are a `rep`, and
`TagValue` groups travel as protobuf maps (`tags`). So the rows stay the engine's currency and
this is a second encoder/decoder of the same objects, like `fieldcodec.py` for text.

A few shapes differ between the two encodings, and have a kind of their own: the requests'
"tag=value;" option strings are maps in protobuf (`TAG_TEXT`), a text attribute mask is a
message of bools (`BIT`), lists of one value are repeated scalars (`REP_STR`, `REP_DBL`), an
order's conditions are variant rows of text fields (`CONDITIONS`), and an order's per-leg
prices ride on the contract's combo legs (`rep(..., zipped=...)`). A nest with `when` is sent
only when the row satisfies it (tick-by-tick: one of three nested messages per tick type).

Absent fields decode to the row's defaults, as TWS applies only the fields a message carries
to a fresh object. Fields a form does not know are skipped, as protobuf readers do.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any, Final

from ibgateway_sim.wire import protowire as pw
from ibgateway_sim.wire.fieldcodec import DecodeError, EncodeError
from ibgateway_sim.wire.messages import OrderCondition, Pred, TagValue
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
    TAG_TEXT = "'tag=value;' text as map<string, string>"  # the requests' option strings
    INT_BOOL = "int 0/1 as a bool"  # exerciseOptions' override
    BIT = "one bit of an int mask, as a bool"  # tick attributes
    REP_STR = "repeated string, one sub-row (its `value`) each"
    REP_DBL = "packed repeated double, one sub-row (its Decimal `value`) each"
    CONDITIONS = "order conditions (variant rows of text) as repeated OrderCondition"


@dataclass(frozen=True, slots=True)
class P:
    """One protobuf field: its number, the row attribute path it carries, how."""

    number: int
    path: str
    kind: PKind
    nested: tuple[P, ...] = ()
    mask: int = 0  # BIT: the bit of the row's mask this bool carries
    when: Pred | None = None  # NEST: sent only when the row satisfies it
    zip_path: str = ""  # REP: a second group of sub-rows whose fields ride on the same items
    zipped: tuple[P, ...] = ()


Form = tuple[P, ...]


def f(number: int, path: str, kind: PKind) -> P:
    return P(number, path, kind)


def nest(number: int, *fields: P, when: Pred | None = None) -> P:
    return P(number, "", PKind.NEST, fields, when=when)


def rep(number: int, path: str, *fields: P, zip_path: str = "", zipped: Form = ()) -> P:
    """Repeated sub-rows at `path`; the fields' paths are the sub-row's own. `zipped` fields
    carry the i-th sub-row of `zip_path` in the i-th item (IB's per-leg prices)."""
    return P(number, path, PKind.REP, fields, zip_path=zip_path, zipped=zipped)


def bit(number: int, path: str, mask: int) -> P:
    return P(number, path, PKind.BIT, mask=mask)


def tags(number: int, path: str) -> P:
    return P(number, path, PKind.TAGS)


_WIRE_TYPE: Final[Mapping[PKind, int]] = {
    PKind.I32: pw.VARINT,
    PKind.I64: pw.VARINT,
    PKind.BOOL: pw.VARINT,
    PKind.BOOL_I32: pw.VARINT,
    PKind.INT_BOOL: pw.VARINT,
    PKind.BIT: pw.VARINT,
    PKind.DEC_DBL: pw.FIXED64,
    PKind.DEC_DBL_MAX: pw.FIXED64,
    PKind.STRIKE: pw.FIXED64,
    PKind.TXT_DBL: pw.FIXED64,
}  # fmt: skip  (everything else is length-delimited)

_DOUBLE = struct.Struct("<d")
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


@dataclass(frozen=True, slots=True)
class _RowView:
    """A row as the presence conditions of `messages.py` read it."""

    row: Any

    def get(self, name: str, /) -> Any:
        return getattr(self.row, name, None)


def _map_entry(key: str, value: str) -> bytes:
    return pw.field_bytes(1, key.encode()) + pw.field_bytes(2, value.encode())


def _encode(form: Form, row: Any, version: int) -> bytearray:
    out = bytearray()
    for p in form:
        kind = p.kind
        if kind is PKind.NEST:
            if p.when is not None and not p.when(_RowView(row)):
                continue
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
            extras = _get(row, p.zip_path) if p.zip_path else ()
            for i, item in enumerate(value):
                body = _encode(p.nested, item, version)
                if i < len(extras):
                    body += _encode(p.zipped, extras[i], version)
                out += pw.field_bytes(p.number, bytes(body))
        elif kind is PKind.TAGS:
            for tv in value:
                out += pw.field_bytes(p.number, _map_entry(tv.tag, tv.value))
        elif kind is PKind.TAG_TEXT:
            for key, item in _tag_text_items(value):
                out += pw.field_bytes(p.number, _map_entry(key, item))
        elif kind is PKind.REP_STR:
            for item in value:
                out += pw.field_bytes(p.number, item.value.encode())
        elif kind is PKind.REP_DBL:
            doubles = b"".join(
                _DOUBLE.pack(_double(i.value)) for i in value if i.value is not None
            )  # fmt: skip  (no value: no strike)
            if doubles:
                out += pw.field_bytes(p.number, doubles)
        elif kind is PKind.CONDITIONS:
            for cond in value:
                out += pw.field_bytes(p.number, _condition_body(cond))
        elif kind is PKind.BIT:
            if int(value) & p.mask:
                out += pw.field_varint(p.number, 1)
        else:
            out += _scalar(p.number, kind, value, version)
    return out


def _tag_text_items(text: str) -> list[tuple[str, str]]:
    """ "a=1;b=2;" -> [("a", "1"), ("b", "2")]: how the text protocol spells a TagValue list."""
    items = []
    for part in text.split(";"):
        if part:
            key, _, value = part.partition("=")
            items.append((key, value))
    return items


# -- order conditions: the text fields after the type, per type, as OrderCondition fields ---
# (ibapi order_condition.py make_fields; client_utils.py create*ConditionProto)
_CONJUNCTION, _IS_MORE = 2, 3
CONDITION_FIELDS: Final[Mapping[int, tuple[int, ...]]] = {
    1: (_CONJUNCTION, _IS_MORE, 10, 4, 5, 11),  # Price: price, conId, exchange, triggerMethod
    3: (_CONJUNCTION, _IS_MORE, 12),  # Time: time
    4: (_CONJUNCTION, _IS_MORE, 8),  # Margin: percent (int32 in protobuf)
    5: (_CONJUNCTION, 7, 5, 6),  # Execution: secType, exchange, symbol
    6: (_CONJUNCTION, _IS_MORE, 13, 4, 5),  # Volume: volume, conId, exchange
    7: (_CONJUNCTION, _IS_MORE, 9, 4, 5),  # PercentChange: changePercent, conId, exchange
}
CONDITION_INTS: Final = frozenset({4, 8, 11, 13})
CONDITION_DOUBLES: Final = frozenset({9, 10})
_TRUE_TEXTS: Final = frozenset({"1", "true", "True", "a"})


def _condition_body(cond: OrderCondition) -> bytes:
    out = bytearray(pw.field_varint(1, cond.cond_type))
    for number, text in zip(CONDITION_FIELDS.get(cond.cond_type, ()), cond.values, strict=False):
        if number in (_CONJUNCTION, _IS_MORE):
            out += pw.field_varint(number, 1 if text in _TRUE_TEXTS else 0)
        elif not text:
            continue
        elif number in CONDITION_INTS:
            out += pw.field_varint(number, _int_text(text))
        elif number in CONDITION_DOUBLES:
            out += pw.field_double(number, _float_text_value(text))
        else:
            out += pw.field_bytes(number, text.encode())
    return bytes(out)


def _int_text(text: str) -> int:
    try:
        return int(Decimal(text))
    except (InvalidOperation, ValueError, OverflowError):  # OverflowError: "Infinity"
        raise EncodeError(f"{text!r} is not a number") from None


def _float_text_value(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise EncodeError(f"{text!r} is not a number") from None


def _condition_row(body: bytes) -> OrderCondition:
    got: dict[int, int | float | bytes] = {number: raw for number, _, raw in pw.fields(body)}
    kind_read = got.get(1, 0)
    if not isinstance(kind_read, int):
        raise DecodeError("order condition type is not an integer")
    cond_type = pw.signed(kind_read)
    if cond_type not in CONDITION_FIELDS:
        raise DecodeError(f"order condition type {cond_type} is unknown")
    values = []
    for number in CONDITION_FIELDS[cond_type]:
        raw: int | float | bytes | None = got.get(number)
        if number == _CONJUNCTION:
            values.append("a" if raw else "o")
        elif number == _IS_MORE:
            values.append("1" if raw else "0")
        elif raw is None:
            values.append("")
        elif isinstance(raw, float):
            values.append(_float_text(raw))
        elif isinstance(raw, int):
            values.append(str(pw.signed(raw)))
        else:
            values.append(raw.decode("utf-8", errors="replace"))
    return OrderCondition(cond_type=cond_type, values=tuple(values))


def _scalar(number: int, kind: PKind, value: Any, version: int) -> bytes:
    if kind in (PKind.I32, PKind.I64):
        return pw.field_varint(number, int(value))
    if kind in (PKind.BOOL, PKind.BOOL_I32, PKind.INT_BOOL):
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
    for number, wire_type_read, raw_read in pw.fields(body):
        p = index.get(number)
        if p is None:
            continue  # a field this form does not carry: skipped, as protobuf readers do
        kind = p.kind
        expected = _WIRE_TYPE.get(kind, pw.LENGTH)
        wire_type, raw = wire_type_read, raw_read
        if kind is PKind.REP_DBL and wire_type == pw.FIXED64:  # one double, not packed
            assert isinstance(raw, float)
            wire_type, raw = pw.LENGTH, _DOUBLE.pack(raw)
        if wire_type != expected:
            raise DecodeError(f"protobuf field {number} has wire type {wire_type}")
        if kind is PKind.NEST:
            assert isinstance(raw, bytes)
            _decode(p.nested, cls, raw, values)
        elif kind is PKind.REP:
            assert isinstance(raw, bytes)
            _decode_item(p, cls, raw, values)
        elif kind is PKind.TAGS:
            assert isinstance(raw, bytes)
            values.setdefault(p.path, []).append(_tag_value(raw))
        elif kind is PKind.TAG_TEXT:
            assert isinstance(raw, bytes)
            tv = _tag_value(raw)
            values[p.path] = values.get(p.path, "") + f"{tv.tag}={tv.value};"
        elif kind is PKind.REP_STR:
            assert isinstance(raw, bytes)
            text = raw.decode("utf-8", errors="replace")
            values.setdefault(p.path, []).append(_item_class(cls, p.path)(value=text))
        elif kind is PKind.REP_DBL:
            assert isinstance(raw, bytes)
            if len(raw) % 8:
                raise DecodeError(f"protobuf field {number}: packed doubles cut short")
            item_cls = _item_class(cls, p.path)
            for (x,) in _DOUBLE.iter_unpack(raw):
                values.setdefault(p.path, []).append(item_cls(value=_float_decimal(x)))
        elif kind is PKind.CONDITIONS:
            assert isinstance(raw, bytes)
            values.setdefault(p.path, []).append(_condition_row(raw))
        elif kind is PKind.BIT:
            values[p.path] = values.get(p.path, 0) | (p.mask if raw else 0)
        else:
            values[p.path] = _read_scalar(kind, raw)


def _decode_item(p: P, cls: type, raw: bytes, values: dict[str, Any]) -> None:
    """One repeated sub-row, and its zipped companion if the item carries any of its fields."""
    item_cls = _item_class(cls, p.path)
    sub: dict[str, Any] = {}
    _decode(p.nested, item_cls, raw, sub)
    values.setdefault(p.path, []).append(_build(item_cls, sub))
    if p.zip_path:
        zip_cls = _item_class(cls, p.zip_path)
        extra: dict[str, Any] = {}
        _decode(p.zipped, zip_cls, raw, extra)
        values.setdefault(p.zip_path, []).append(_build(zip_cls, extra) if extra else None)


def _read_scalar(kind: PKind, raw: int | float | bytes) -> Any:
    if kind is PKind.I32 or kind is PKind.I64:
        assert isinstance(raw, int)
        return pw.signed(raw)
    if kind is PKind.BOOL:
        return bool(raw)
    if kind is PKind.BOOL_I32:
        return bool(raw)
    if kind is PKind.INT_BOOL:
        return 1 if raw else 0
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
        elif isinstance(value, list) and None in value:  # zipped: no item carried it, or some
            if any(v is not None for v in value):
                blank = _item_class(cls, head)()
                direct[head] = tuple(blank if v is None else v for v in value)
        else:
            direct[head] = tuple(value) if isinstance(value, list) else value
    for head, sub in nested.items():
        direct[head] = _build(_item_class(cls, head), sub)
    return cls(**direct)
