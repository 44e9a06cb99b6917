"""The table-driven field walker: any row of `messages.py` <-> its TWS API text fields.

`encode_fields` / `decode_fields` follow the negotiated server version: fields outside their
version window are neither written nor read, conditional blocks follow their predicate, and
sub-rows, groups, flagged and tagged rows nest. No per-message code, no bytes, no socket;
framing and the handshake are `codec.py`'s.

A row is compiled once per (row class, version) into a plan (runs of scalars, sub-rows,
conditional blocks), and the plan into the Python source of one encoder and one decoder
(`plan(cls, version).source` shows it). The rows stay the one description of the wire; the
generated code is what keeps a generic codec cheap: straight-line attribute reads and string
conversions per message, no descriptors interpreted, no per-field function calls on encode.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from ibgateway_sim.wire.messages import (
    SPECS,
    AllOf,
    AnyOf,
    Direction,
    Kind,
    Message,
    NonEmpty,
    OneOf,
    OrderCondition,
    Positive,
    Pred,
    Wire,
    unfrozen,
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
    if value.is_finite():
        # str() is format(value, "f") unless it picks scientific notation, and three times
        # cheaper: prices and sizes are plain
        text = str(value)
        return format(value, "f") if "E" in text else text
    if value.is_nan():
        raise EncodeError("NaN cannot be sent")
    return "Infinite" if value > 0 else "-Infinite"


def _enc_str(v: Any) -> str:
    if "\0" in v:
        raise EncodeError(f"NUL inside a text field: {v!r}")
    return v  # type: ignore[no-any-return]


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


def _dec_opt_bool(s: str) -> bool | None:
    return None if not s else _dec_int(s) != 0


# How one scalar field is written and read, as an expression of generated code: `{v}` is the
# value (an attribute of the row on encode, one text field on decode). A STR is written as it
# is: NULs inside text are refused once per message, on the joined text (`_refuse_nul`).
_ENCODE_EXPR: Final[dict[Kind, str]] = {
    Kind.STR: "{v}",
    Kind.INT: "str(int({v}))",
    Kind.OPT_INT: '("" if {v} is None else str(int({v})))',
    Kind.DEC: '("" if {v} is None else _fmt_dec({v}))',
    Kind.DEC_MAX: "(MAX_DOUBLE_TEXT if {v} is None else _fmt_dec({v}))",
    Kind.BOOL: '("1" if {v} else "0")',
    Kind.OPT_BOOL: '("" if {v} is None else "1" if {v} else "0")',
}
_DECODE_EXPR: Final[dict[Kind, str]] = {
    Kind.STR: "{v}",
    # most fields of a request are empty: those are read without a call
    Kind.INT: "(_dec_int(t) if (t := {v}) else 0)",
    Kind.OPT_INT: "(_dec_opt_int(t) if (t := {v}) else None)",
    Kind.DEC: "(_dec_dec(t) if (t := {v}) else None)",
    Kind.DEC_MAX: "(_dec_dec(t) if (t := {v}) else None)",
    Kind.BOOL: '(True if (t := {v}) == "1" else False if not t or t == "0" else _dec_int(t) != 0)',
    Kind.OPT_BOOL: "_dec_opt_bool({v})",
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
    """Consecutive plain scalar fields (the bulk of every row)."""

    names: tuple[str, ...]
    kinds: tuple[Kind, ...]


@dataclass(frozen=True, slots=True)
class _Block:
    """Consecutive fields sharing one presence condition, which is evaluated once."""

    when: Pred
    parts: tuple[_Run | _Step | _Block, ...]


_Part = _Run | _Step | _Block
Encoder = Callable[[Any, list[str]], None]
Decoder = Callable[[Sequence[str], int], tuple[Any, int]]


@dataclass(frozen=True, slots=True)
class _Plan:
    """A row at one version: its parts, and the encoder and decoder generated from them."""

    cls: type
    parts: tuple[_Part, ...]
    encode: Encoder  # (row, out): appends the row's fields to `out`
    decode: Decoder  # (fields, pos): the row read from fields[pos:], and the position after
    source: str  # the generated code of both, for whoever debugs a row


_PLANS: dict[tuple[type, int], _Plan] = {}


def _wire_fields(cls: type) -> list[tuple[dataclasses.Field[Any], Wire]]:
    return [(f, f.metadata["wire"]) for f in dataclasses.fields(cls) if "wire" in f.metadata]


def _compile(fields: Sequence[tuple[str, Wire]], version: int) -> tuple[_Part, ...]:
    parts: list[_Part] = []
    pending: list[tuple[str, Kind]] = []

    def flush() -> None:
        if pending:
            parts.append(_Run(tuple(n for n, _ in pending), tuple(k for _, k in pending)))
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
        if spec.kind in _ENCODE_EXPR:
            pending.append((name, spec.kind))
        else:
            flush()
            sub = plan(spec.item, version) if spec.item is not None else None
            parts.append(_Step(name, spec.kind, sub, spec))
        i += 1
    flush()
    return tuple(parts)


def plan(cls: type, version: int) -> _Plan:
    """The walk of `cls` at `version`, compiled once: runs of plain scalars, sub-rows, and
    blocks of fields that share a presence condition; then generated into one encoder and one
    decoder function, so a message costs straight-line code, not a walk of descriptors."""
    key = (cls, version)
    cached = _PLANS.get(key)
    if cached is None:
        present = [
            (f.name, spec) for f, spec in _wire_fields(cls) if spec.since <= version < spec.until
        ]
        parts = _compile(present, version)
        encode, decode, source = _generate(cls, parts)
        cached = _PLANS[key] = _Plan(cls, parts, encode, decode, source)
    return cached


# --------------------------------------------------------------------------------------------
# Code generation: a plan -> the source of its encoder and decoder
# --------------------------------------------------------------------------------------------


class _Fields:
    """Read-only mapping view of a row, so predicates see an object's fields on encode."""

    __slots__ = ("obj",)

    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def get(self, name: str) -> Any:
        return getattr(self.obj, name, None)


class _Source:
    """The lines of generated code, and the objects (sub-row codecs, predicates) it names."""

    def __init__(self, fields: frozenset[str] = frozenset()) -> None:
        self.fields = fields  # the row's field names (an encoded row holds each of them)
        self.lines: list[str] = []
        self.env: dict[str, Any] = {}
        self._names = 0

    def line(self, depth: int, text: str) -> None:
        self.lines.append("    " * depth + text)

    def ref(self, value: Any, hint: str) -> str:
        """A name the code can use for `value`."""
        self._names += 1
        name = f"{hint}_{self._names}"
        self.env[name] = value
        return name

    def local(self, hint: str) -> str:
        self._names += 1
        return f"{hint}{self._names}"


def _pred_expr(src: _Source, pred: Pred, obj: str, fields: frozenset[str] | None) -> str:
    """A presence condition as an expression on `obj` whose truth is `pred(values)` with
    `values.get(name)` as the head of each path (a missing name reads as None): for an `if`,
    with no call per condition. `fields`: the names `obj` always holds (a row being encoded),
    or None when any may still be unread (a row being decoded)."""
    if isinstance(pred, AllOf | AnyOf):
        joint = " and " if isinstance(pred, AllOf) else " or "
        inner = joint.join(_pred_expr(src, p, obj, fields) for p in pred.preds)
        return f"({inner})" if pred.preds else str(isinstance(pred, AllOf))
    if not isinstance(pred, NonEmpty | OneOf | Positive):
        return f"{src.ref(pred, 'when')}(_Fields({obj}))"
    head, *rest = pred.path.split(".")
    value = f"{obj}.{head}" if fields is not None and head in fields else (
        f"getattr({obj}, {head!r}, None)")
    for part in rest:
        value = f"getattr({value}, {part!r}, None)"
    if isinstance(pred, NonEmpty):
        return value
    if isinstance(pred, OneOf):
        return f"({value} in {src.ref(pred.options, 'options')})"
    t = src.local("t")
    return f"(({t} := {value}) is not None and {t} > 0)"


def _encode_lines(
    src: _Source, parts: tuple[_Part, ...], obj: str, depth: int, open_names: tuple[str, ...] = ()
) -> None:
    """The encoder's lines for `parts` of `obj`; the row's fields `open_names` are written as
    markers instead of their values, `OPEN_MARKS[i]` for the i-th (`shape_encoder`)."""
    marks = {name: f"OPEN_MARKS[{i}]" for i, name in enumerate(open_names)}
    for part in parts:
        if isinstance(part, _Run):
            pairs = zip(part.names, part.kinds, strict=True)
            exprs = [
                marks[name] if name in marks and obj == "o"
                else _ENCODE_EXPR[kind].format(v=f"{obj}.{name}")
                for name, kind in pairs
            ]  # fmt: skip
            src.line(depth, f"out += ({', '.join(exprs)},)")
        elif isinstance(part, _Block):
            src.line(depth, f"if {_pred_expr(src, part.when, obj, src.fields)}:")
            _encode_lines(src, part.parts, obj, depth + 1, open_names)
        elif part.kind is Kind.TAGGED:
            src.line(depth, f"_encode_tagged({src.ref(part, 'step')}, {obj}.{part.name}, out)")
        else:
            assert part.sub is not None
            sub = src.ref(part.sub.encode, f"encode_{part.sub.cls.__name__}")
            value = src.local(part.name)
            src.line(depth, f"{value} = {obj}.{part.name}")
            if part.kind is Kind.STRUCT:
                src.line(depth, f"{sub}({value}, out)")
            elif part.kind is Kind.GROUP:
                item = src.local("item")
                src.line(depth, f"out.append(str(len({value})))")
                src.line(depth, f"for {item} in {value}:")
                src.line(depth + 1, f"{sub}({item}, out)")
            else:  # FLAGGED
                src.line(depth, f"if {value} is None:")
                src.line(depth + 1, 'out.append("0")')
                src.line(depth, "else:")
                src.line(depth + 1, 'out.append("1")')
                src.line(depth + 1, f"{sub}({value}, out)")


def _names_in(parts: tuple[_Part, ...]) -> list[str]:
    """Every field a run of parts may set, nested blocks included."""
    out: list[str] = []
    for part in parts:
        if isinstance(part, _Run):
            out += part.names
        elif isinstance(part, _Block):
            out += _names_in(part.parts)
        else:
            out.append(part.name)
    return out


def _default_lines(src: _Source, cls: type, names: Sequence[str], depth: int) -> None:
    """`o.name = <its dataclass default>` for each of `names` (a fresh one from a factory)."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for name in names:
        f = fields[name]
        if f.default_factory is not dataclasses.MISSING:
            src.line(depth, f"o.{name} = {src.ref(f.default_factory, 'make')}()")
        else:
            src.line(depth, f"o.{name} = {src.ref(f.default, 'default')}")


def _decode_lines(
    src: _Source, cls: type, parts: tuple[_Part, ...], depth: int, skipped: list[_Block]
) -> None:
    """Each field read straight into `o` (the row's unfrozen twin). A block not taken raises
    its flag, and its fields get their defaults at the end, as the row's __init__ would give
    them: not before, so later conditions still see them unread, as on the wire."""
    for part in parts:
        if isinstance(part, _Run):
            n = len(part.names)
            src.line(depth, f"if size < p + {n}:")
            src.line(depth + 1, f"_ends_before({src.ref(part.names, 'names')}[size - p])")
            pairs = list(zip(part.names, part.kinds, strict=True))
            if n == 1:
                name, kind = pairs[0]
                src.line(depth, f"o.{name} = {_DECODE_EXPR[kind].format(v='f[p]')}")
            else:  # one slice unpacked: text fields straight into the row, the rest converted
                texts = {name: src.local("v") for name, kind in pairs if kind is not Kind.STR}
                targets = [texts.get(name, f"o.{name}") for name, _ in pairs]
                src.line(depth, f"{', '.join(targets)} = f[p:p + {n}]")
                for name, kind in pairs:
                    if kind is not Kind.STR:
                        src.line(depth, f"o.{name} = {_DECODE_EXPR[kind].format(v=texts[name])}")
            src.line(depth, f"p += {n}")
        elif isinstance(part, _Block):
            src.line(depth, f"if {_pred_expr(src, part.when, 'o', None)}:")
            _decode_lines(src, cls, part.parts, depth + 1, skipped)
            src.line(depth, "else:")
            src.line(depth + 1, f"skipped{len(skipped)} = True")
            skipped.append(part)
        elif part.kind is Kind.TAGGED:
            src.line(depth, f"o.{part.name}, p = _decode_tagged({src.ref(part, 'step')}, f, p)")
        else:
            assert part.sub is not None
            sub = src.ref(part.sub.decode, f"decode_{part.sub.cls.__name__}")
            name = repr(part.name)
            if part.kind is Kind.STRUCT:
                src.line(depth, f"o.{part.name}, p = {sub}(f, p)")
            elif part.kind is Kind.GROUP:
                src.line(depth, f"count = _count(_take(f, p, {name}), {name})")
                src.line(depth, "p += 1")
                src.line(depth, "items = []")
                src.line(depth, "for _ in range(count):")
                src.line(depth + 1, f"item, p = {sub}(f, p)")
                src.line(depth + 1, "items.append(item)")
                src.line(depth, f"o.{part.name} = tuple(items)")
            else:  # FLAGGED
                src.line(depth, f"present = _dec_int(_take(f, p, {name})) != 0")
                src.line(depth, "p += 1")
                src.line(depth, "if present:")
                src.line(depth + 1, f"o.{part.name}, p = {sub}(f, p)")
                src.line(depth, "else:")
                src.line(depth + 1, f"o.{part.name} = None")


def _generate(cls: type, parts: tuple[_Part, ...]) -> tuple[Encoder, Decoder, str]:
    """The encoder and decoder of one plan, as Python source compiled here: the same walk
    the plan describes, written out once instead of interpreted per message. The decoder
    fills the row's `unfrozen` twin field by field and hands it out as the row, so reading a
    140-field message passes no keyword arguments."""
    src = _Source(frozenset(f.name for f in dataclasses.fields(cls)))
    src.env.update(_HELPERS)
    src.env["cls"] = cls
    src.env["twin"] = unfrozen(cls)
    src.line(0, f"def encode_{cls.__name__}(o, out):")
    src.line(1, "pass")
    _encode_lines(src, parts, "o", 1)
    src.line(0, "")
    src.line(0, f"def decode_{cls.__name__}(f, p):")
    src.line(1, "size = len(f)")
    src.line(1, "o = _new(twin)")
    mark = len(src.lines)
    skipped: list[_Block] = []
    _decode_lines(src, cls, parts, 1, skipped)
    src.lines[mark:mark] = [f"    skipped{i} = False" for i in range(len(skipped))]
    for i, block in enumerate(skipped):
        src.line(1, f"if skipped{i}:")
        _default_lines(src, cls, _names_in(block.parts), 2)
    read = set(_names_in(parts))
    _default_lines(src, cls, [f.name for f in dataclasses.fields(cls) if f.name not in read], 1)
    src.line(1, "_set_class(o, '__class__', cls)")
    src.line(1, "return o, p")
    source = "\n".join(src.lines) + "\n"
    namespace = dict(src.env)
    exec(compile(source, f"<fieldcodec {cls.__name__}>", "exec"), namespace)
    return namespace[f"encode_{cls.__name__}"], namespace[f"decode_{cls.__name__}"], source


_TEXT_ENCODERS: dict[tuple[type, int, bool], Callable[[Any], str] | None] = {}


def text_encoder(cls: type, version: int, with_id: bool) -> Callable[[Any], str] | None:
    """`encode_text(msg, version, with_id=with_id)` for a `cls`, as one generated function
    that joins a tuple of the row's field expressions: for a row that is plain fields and
    sub-rows of plain fields (no presence condition, group or flag), whose fields are the same
    in number every time. The NUL check is left out when no field is text. None otherwise."""
    key = (cls, version, with_id)
    if key not in _TEXT_ENCODERS:
        src = _Source()
        src.env.update(_HELPERS)
        exprs = [repr(str(cls.MSG_ID))] if with_id else []  # type: ignore[attr-defined]
        lines: list[str] = []
        flat, texts = _flat_exprs(src, plan(cls, version).parts, "o", exprs, lines)
        encoder = None
        if flat and exprs:
            exprs.append('""')  # the last field's terminator
            src.line(0, f"def text_{cls.__name__}(o):")
            for line in lines:
                src.line(1, line)
            src.line(1, f"fields = ({', '.join(exprs)},)")
            src.line(1, 'text = "\\0".join(fields)')
            if texts:
                src.line(1, f'if text.count("\\0") != {len(exprs) - 1}:')
                src.line(2, "_refuse_nul(list(fields), text)")
            src.line(1, "return text")
            source = "\n".join(src.lines) + "\n"
            namespace = dict(src.env)
            namespace["_refuse_nul"] = _refuse_nul
            exec(compile(source, f"<fieldcodec {cls.__name__} text>", "exec"), namespace)
            encoder = namespace[f"text_{cls.__name__}"]
        _TEXT_ENCODERS[key] = encoder
    return _TEXT_ENCODERS[key]


def _flat_exprs(
    src: _Source, parts: tuple[_Part, ...], obj: str, exprs: list[str], lines: list[str]
) -> tuple[bool, bool]:
    """The field expressions of `parts` of `obj` appended to `exprs` (a sub-row read into a
    local by `lines` first), as `_encode_lines` writes them; (whether `parts` are flat,
    whether a text field is among them)."""
    texts = False
    for part in parts:
        if isinstance(part, _Run):
            pairs = zip(part.names, part.kinds, strict=True)
            exprs += [_ENCODE_EXPR[kind].format(v=f"{obj}.{name}") for name, kind in pairs]
            texts = texts or Kind.STR in part.kinds
        elif isinstance(part, _Step) and part.kind is Kind.STRUCT and part.sub is not None:
            value = src.local(part.name)
            lines.append(f"{value} = {obj}.{part.name}")
            flat, inner = _flat_exprs(src, part.sub.parts, value, exprs, lines)
            if not flat:
                return False, texts
            texts = texts or inner
        else:
            return False, texts
    return True, texts


def _open_kind(parts: tuple[_Part, ...], name: str) -> Kind | None:
    """The kind of the row's scalar field `name` when no presence condition reads it (its
    value changes its own text and nothing else), else None."""

    def kind(parts: tuple[_Part, ...]) -> Kind | None:
        for part in parts:
            if isinstance(part, _Run) and name in part.names:
                return part.kinds[part.names.index(name)]
            if isinstance(part, _Block) and (found := kind(part.parts)) is not None:
                return found
        return None

    def reads(pred: Pred) -> bool:
        if isinstance(pred, AllOf | AnyOf):
            return any(reads(p) for p in pred.preds)
        if isinstance(pred, NonEmpty | OneOf | Positive):
            return pred.path.split(".")[0] == name
        return True  # a condition of its own may read anything

    def read(parts: tuple[_Part, ...]) -> bool:
        return any(
            isinstance(part, _Block) and (reads(part.when) or read(part.parts)) for part in parts
        )

    return None if read(parts) else kind(parts)


def shape_filler(
    pieces: Sequence[str],
    kinds: Sequence[Kind],
    wrap: Callable[[bytes], bytes],
    prefix: bytes = b"",
) -> Callable[[Sequence[Any]], bytes]:
    """`values -> wrap(prefix + (pieces[0] + text(values[0]) + pieces[1] + ...).encode())`,
    each value's text as the row's encoder writes its kind (`_ENCODE_EXPR`; a NUL in a text
    refused), generated once per shape: straight-line code, no loop over the fields per frame,
    and one encode of the joined text (UTF-8 of the whole is the pieces' UTF-8 in turn)."""
    env: dict[str, Any] = dict(_HELPERS)
    env.update(wrap=wrap, _enc_str=_enc_str, PREFIX=prefix)
    names = [f"v{i}" for i in range(len(kinds))]
    parts = ["P0"]
    env["P0"] = pieces[0]
    for i, (name, kind) in enumerate(zip(names, kinds, strict=True)):
        text = f"_enc_str({name})" if kind is Kind.STR else _ENCODE_EXPR[kind].format(v=name)
        parts += [text, f"P{i + 1}"]
        env[f"P{i + 1}"] = pieces[i + 1]
    unpack = f"    {', '.join(names)}, = values" if names else "    pass"
    joined = f"''.join(({', '.join(parts)},)).encode()"
    body = f"PREFIX + {joined}" if prefix else joined
    source = f"def fill(values):\n{unpack}\n    return wrap({body})\n"
    exec(compile(source, "<fieldcodec shape fill>", "exec"), env)
    return env["fill"]  # type: ignore[no-any-return]


# the marks of several open fields (`shape_encoder`): what no text field holds
OPEN_MARKS: Final = tuple(f"\x01open{i}\x02" for i in range(32))
_SHAPE_ENCODERS: dict[tuple[type, int, tuple[str, ...]], tuple[Encoder, tuple[Kind, ...]] | None]
_SHAPE_ENCODERS = {}


def shape_encoder(
    cls: type, version: int, names: tuple[str, ...]
) -> tuple[Encoder, tuple[Kind, ...]] | None:
    """The encoder of `cls` at `version` that writes `OPEN_MARKS[i]` for the i-th of the
    fields `names`, and their kinds; None unless each is a scalar no presence condition
    reads (`_open_kind`). Generated once, like the row's own encoder."""
    key = (cls, version, names)
    if key not in _SHAPE_ENCODERS:
        made = None
        parts = plan(cls, version).parts
        kinds = tuple(k for name in names if (k := _open_kind(parts, name)) in _ENCODE_EXPR)
        if len(kinds) == len(names) <= len(OPEN_MARKS):
            src = _Source(frozenset(f.name for f in dataclasses.fields(cls)))
            src.env.update(_HELPERS)
            src.env["OPEN_MARKS"] = OPEN_MARKS
            src.line(0, f"def encode_{cls.__name__}_shape(o, out):")
            src.line(1, "pass")
            _encode_lines(src, parts, "o", 1, names)
            source = "\n".join(src.lines) + "\n"
            namespace = dict(src.env)
            exec(compile(source, f"<fieldcodec {cls.__name__} shape>", "exec"), namespace)
            made = namespace[f"encode_{cls.__name__}_shape"], kinds
        _SHAPE_ENCODERS[key] = made
    return _SHAPE_ENCODERS[key]


def encode_text_shape(
    msg: Message, version: int, names: tuple[str, ...], *, with_id: bool = True
) -> tuple[list[str], tuple[Kind, ...]] | None:
    """`encode_text(msg, version)` cut where the fields `names` go, their values left out:
    the len(names) + 1 pieces around them, in wire order, and their kinds. None when a field
    steers the row, the fields are not in wire order, or another field holds a mark."""
    made = shape_encoder(type(msg), version, names)
    if made is None:
        return None
    encoder, kinds = made
    out = [str(msg.MSG_ID)] if with_id else []
    encoder(msg, out)
    out.append("")
    text = "\0".join(out)
    _refuse_nul(out, text)
    pieces = []
    for mark in OPEN_MARKS[: len(names)]:
        if text.count(mark) != 1:
            return None
        head, _, text = text.partition(mark)
        pieces.append(head)
    pieces.append(text)
    return pieces, kinds


def _encode_tagged(s: _Step, value: Any, out: list[str]) -> None:
    out.append(str(len(value)))
    arity = s.wire.arity or {}
    for item in value:
        if arity.get(item.cond_type) != len(item.values):
            raise EncodeError(f"condition type {item.cond_type} with {item.values!r}")
        out.append(str(item.cond_type))
        out.extend(_enc_str(v) for v in item.values)


def _take(fields: Sequence[str], pos: int, name: str) -> str:
    if pos >= len(fields):
        raise DecodeError(f"message ends before field {name!r}")
    return fields[pos]


def _ends_before(name: str) -> None:
    raise DecodeError(f"message ends before field {name!r}")


def _count(text: str, name: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise DecodeError(f"count {name!r} is not an integer: {text!r}") from None
    if n < 0 or n > MAX_FRAME:
        raise DecodeError(f"count {name!r} out of range: {n}")
    return n


def _decode_tagged(s: _Step, fields: Sequence[str], pos: int) -> tuple[Any, int]:
    n = _count(_take(fields, pos, s.name), s.name)
    pos += 1
    arity = s.wire.arity or {}
    items = []
    for _ in range(n):
        tag = _dec_int(_take(fields, pos, s.name))
        pos += 1
        if tag not in arity:
            raise DecodeError(f"unknown {s.name} type {tag}")
        values = []
        for _ in range(arity[tag]):
            values.append(_take(fields, pos, s.name))
            pos += 1
        items.append(OrderCondition(cond_type=tag, values=tuple(values)))
    return tuple(items), pos


def _refuse_nul(fields: list[str], text: str) -> None:
    """`text` is `fields` joined by NULs: one NUL too many means one inside a field."""
    if text.count("\0") != len(fields) - 1:
        for value in fields:
            _enc_str(value)


_HELPERS: Final[dict[str, Any]] = {
    "MAX_DOUBLE_TEXT": MAX_DOUBLE_TEXT,
    "_Fields": _Fields,
    "_fmt_dec": _fmt_dec,
    "_dec_int": _dec_int,
    "_dec_opt_int": _dec_opt_int,
    "_dec_dec": _dec_dec,
    "_dec_opt_bool": _dec_opt_bool,
    "_encode_tagged": _encode_tagged,
    "_decode_tagged": _decode_tagged,
    "_take": _take,
    "_ends_before": _ends_before,
    "_count": _count,
    "_new": object.__new__,
    "_set_class": object.__setattr__,
}


# --------------------------------------------------------------------------------------------
# Messages <-> fields
# --------------------------------------------------------------------------------------------


def encode_fields(msg: Message, version: int = MAX_VERSION) -> list[str]:
    """The text fields of `msg` at `version`, message id first."""
    out = [str(msg.MSG_ID)]
    plan(type(msg), version).encode(msg, out)
    _refuse_nul(out, "\0".join(out))
    return out


def encode_text(msg: Message, version: int = MAX_VERSION, *, with_id: bool = True) -> str:
    """The text payload of `msg` at `version`: its fields (the message id first unless
    `with_id` is false, as from 201 where the id travels in binary), each NUL-terminated."""
    out = [str(msg.MSG_ID)] if with_id else []
    plan(type(msg), version).encode(msg, out)
    if not out:
        return ""
    out.append("")  # the last field's terminator
    text = "\0".join(out)
    _refuse_nul(out, text)
    return text


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
    msg: Message
    msg, pos = plan(cls, version).decode(fields, 1)
    if strict and pos != len(fields):
        raise DecodeError(f"{len(fields) - pos} fields left over: {fields[pos:]!r}")
    return msg
