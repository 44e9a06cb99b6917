"""The field codec's generated encoders and decoders against a plain reading of the rows.

`fieldcodec` compiles each row and version into Python source. The reference here walks the
same `Wire` descriptors one field at a time, the slow obvious way: whatever a row holds, both
must write the same fields and read the same row (or both refuse it).
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal, InvalidOperation
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ibgateway_sim.wire import messages as m
from ibgateway_sim.wire.codec import (
    MAX_VERSION,
    MIN_VERSION,
    UNSET_INT_TEXTS,
    UNSET_TEXTS,
    DecodeError,
    encode_fields,
)
from ibgateway_sim.wire.fieldcodec import decode_fields, encode_text, text_encoder
from ibgateway_sim.wire.messages import SPECS, Kind
from tests.sim.strategies import any_message

MAX_DOUBLE = "1.7976931348623157E308"


class _View:
    def __init__(self, row: Any) -> None:
        self.row = row

    def get(self, name: str) -> Any:
        return getattr(self.row, name, None)


def _present(cls: type, version: int) -> list[tuple[str, m.Wire]]:
    return [
        (f.name, f.metadata["wire"])
        for f in dataclasses.fields(cls)
        if "wire" in f.metadata and f.metadata["wire"].since <= version < f.metadata["wire"].until
    ]


def _dec_text(value: Decimal) -> str:
    if value.is_infinite():
        return "Infinite" if value > 0 else "-Infinite"
    return format(value, "f")


def _write(kind: Kind, v: Any) -> str:
    if kind is Kind.STR:
        return str(v)
    if kind is Kind.INT:
        return str(int(v))
    if kind in (Kind.OPT_INT, Kind.DEC, Kind.OPT_BOOL) and v is None:
        return ""
    if kind is Kind.OPT_INT:
        return str(int(v))
    if kind in (Kind.DEC, Kind.DEC_MAX):
        return MAX_DOUBLE if v is None else _dec_text(v)
    return "1" if v else "0"  # BOOL, OPT_BOOL


def reference_fields(row: Any, version: int) -> list[str]:
    out: list[str] = []
    for name, spec in _present(type(row), version):
        if spec.when is not None and not spec.when(_View(row)):
            continue
        value = getattr(row, name)
        if spec.kind is Kind.STRUCT:
            out += reference_fields(value, version)
        elif spec.kind is Kind.GROUP:
            out.append(str(len(value)))
            for item in value:
                out += reference_fields(item, version)
        elif spec.kind is Kind.FLAGGED:
            out.append("0" if value is None else "1")
            if value is not None:
                out += reference_fields(value, version)
        elif spec.kind is Kind.TAGGED:
            out.append(str(len(value)))
            for cond in value:
                out += [str(cond.cond_type), *cond.values]
        else:
            out.append(_write(spec.kind, value))
    return out


def _read_int(s: str) -> int:
    try:
        return int(s) if s else 0
    except ValueError:
        raise DecodeError(s) from None


def _read(kind: Kind, s: str) -> Any:
    if kind is Kind.STR:
        return s
    if kind is Kind.INT:
        return _read_int(s)
    if kind is Kind.OPT_INT:
        return None if not s or s in UNSET_INT_TEXTS else _read_int(s)
    if kind in (Kind.BOOL, Kind.OPT_BOOL):
        return None if kind is Kind.OPT_BOOL and not s else _read_int(s) != 0
    if not s or s in UNSET_TEXTS:
        return None
    if s in ("Infinite", "-Infinite"):
        return Decimal(s.replace("Infinite", "Infinity"))
    try:
        value = Decimal(s)
    except InvalidOperation:
        raise DecodeError(s) from None
    if value.is_nan():
        raise DecodeError(s)
    return value


def reference_decode(cls: type, fields: list[str], pos: int, version: int) -> tuple[Any, int]:
    def take() -> str:
        nonlocal pos
        if pos >= len(fields):
            raise DecodeError("short")
        pos += 1
        return fields[pos - 1]

    def count() -> int:  # a count must be a number: "" is not 0 here
        text = take()
        if not text:
            raise DecodeError("count")
        n = _read_int(text)
        if n < 0 or n > 0xFFFFFF:
            raise DecodeError("count")
        return n

    values: dict[str, Any] = {}
    for name, spec in _present(cls, version):
        if spec.when is not None and not spec.when(values):
            continue
        if spec.kind is Kind.STRUCT:
            values[name], pos = reference_decode(spec.item, fields, pos, version)
        elif spec.kind is Kind.GROUP:
            items = []
            for _ in range(count()):
                item, pos = reference_decode(spec.item, fields, pos, version)
                items.append(item)
            values[name] = tuple(items)
        elif spec.kind is Kind.FLAGGED:
            values[name] = None
            if _read_int(take()) != 0:
                values[name], pos = reference_decode(spec.item, fields, pos, version)
        elif spec.kind is Kind.TAGGED:
            conds = []
            for _ in range(count()):
                tag = _read_int(take())
                if tag not in (spec.arity or {}):
                    raise DecodeError("tag")
                conds.append(m.OrderCondition(
                    cond_type=tag, values=tuple(take() for _ in range(spec.arity[tag]))))
            values[name] = tuple(conds)
        else:
            values[name] = _read(spec.kind, take())
    return cls(**values), pos


def _outcome(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except DecodeError:
        return DecodeError


@settings(max_examples=300, deadline=None)
@given(any_message())
def test_generated_encoder_writes_what_the_rows_say(pair: tuple[m.Message, int]) -> None:
    msg, version = pair
    expected = [str(msg.MSG_ID), *reference_fields(msg, version)]
    assert encode_fields(msg, version) == expected
    assert encode_text(msg, version) == "".join(f"{f}\0" for f in expected)


@settings(max_examples=300, deadline=None)
@given(any_message(), st.data())
def test_generated_decoder_reads_what_the_rows_say(
    pair: tuple[m.Message, int], data: st.DataObject
) -> None:
    msg, version = pair
    fields = encode_fields(msg, version)
    cut = data.draw(st.integers(min_value=1, max_value=len(fields)))
    # each field kept or respelled as something a client might send (unset, junk, a flag)
    odd = st.sampled_from([None, None, "", "0", "1", "-1", "x", "2147483647", "Infinite", "NaN"])
    spelled = data.draw(st.lists(odd, min_size=len(fields), max_size=len(fields)))
    pairs = zip(fields[1:], spelled[1:], strict=True)
    bent = [fields[0], *(f if o is None else o for f, o in pairs)]
    cls = SPECS[(msg.DIRECTION, msg.MSG_ID)]
    for variant in (fields, fields[:cut], bent):
        got = _outcome(decode_fields, msg.DIRECTION, variant, version)
        want = _outcome(lambda f: reference_decode(cls, f, 1, version)[0], variant)
        assert got == want


@settings(max_examples=500, deadline=None)
@given(any_message(), st.booleans())
def test_a_flat_text_encoder_writes_what_encode_text_does(
    pair: tuple[m.Message, int], with_id: bool
) -> None:
    msg, version = pair
    flat = text_encoder(type(msg), version, with_id)
    if flat is not None:  # a row without conditions, groups or flags
        assert flat(msg) == encode_text(msg, version, with_id=with_id)


def test_flat_text_encoders_cover_the_plain_rows() -> None:
    """The rows sent for every fill and reqCurrentTime have one; a row with presence
    conditions has none (the general encoder writes it)."""
    for cls in (m.CurrentTime, m.ExecDetails, m.CommissionReport, m.ErrorMsg):
        assert text_encoder(cls, MIN_VERSION, True) is not None
    assert text_encoder(m.OpenOrder, MIN_VERSION, True) is None


def _flat_text_of(msg: m.Message) -> str:
    flat = text_encoder(type(msg), 178, True)
    assert flat is not None
    return flat(msg)


def test_a_nul_inside_a_text_field_is_refused_either_way() -> None:
    bad = m.ErrorMsg(req_id=1, code=2, text="a\0b")
    for encode in (encode_fields, encode_text, lambda msg, _: _flat_text_of(msg)):
        try:
            encode(bad, 178)
        except ValueError as exc:
            assert "NUL inside a text field" in str(exc)
        else:
            raise AssertionError("a NUL inside a field went out")



@pytest.mark.parametrize("version", [MIN_VERSION, MAX_VERSION])
def test_every_field_of_every_row_respelled_reads_alike(version: int) -> None:
    """Each field of each row's default, in turn, sent as unset, junk or a flag."""
    for cls in SPECS.values():
        fields = encode_fields(cls(), version)
        for i in range(1, len(fields)):
            for odd in ("", "x", "1"):
                bent = [*fields[:i], odd, *fields[i + 1 :]]
                got = _outcome(decode_fields, cls.DIRECTION, bent, version)
                want = _outcome(lambda f, c=cls: reference_decode(c, f, 1, version)[0], bent)
                assert got == want, (cls.__name__, i, odd)


def test_rows_build_as_their_dataclass_says() -> None:
    """Rows get a faster __init__ than dataclass's; what it accepts and stores is the same."""
    row = m.OpenOrder(order_id=3, status="Submitted")
    assert (row.order_id, row.status, row.action) == (3, "Submitted", "")
    assert row.contract == m.ReplyContract() and row.contract is not m.OpenOrder().contract
    assert dataclasses.replace(row, order_id=4) == m.OpenOrder(order_id=4, status="Submitted")
    with pytest.raises(TypeError):
        m.OrderCondition(cond_type=1)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        m.ReqIds(bogus=1)  # type: ignore[call-arg]
    with pytest.raises(dataclasses.FrozenInstanceError):
        row.order_id = 5  # type: ignore[misc]


@pytest.mark.parametrize("version", [MIN_VERSION, MAX_VERSION])
def test_decoded_rows_are_the_rows_themselves(version: int) -> None:
    """The decoders fill a mutable twin of the row; what they hand out is the frozen row."""
    for cls in SPECS.values():
        row = decode_fields(cls.DIRECTION, encode_fields(cls(), version), version)
        assert type(row) is cls and row == cls()
        names = [f.name for f in dataclasses.fields(cls)]
        if names:
            with pytest.raises(dataclasses.FrozenInstanceError):
                setattr(row, names[0], getattr(row, names[0]))


def test_evolve_is_replace() -> None:
    row = m.OpenOrder(order_id=3, status="Submitted", contract=m.ReplyContract(con_id=8))
    new = m.evolve(row, status="Filled", order_id=4)
    assert new == dataclasses.replace(row, status="Filled", order_id=4) and type(new) is m.OpenOrder
    assert row.status == "Submitted" and new.contract is row.contract
    assert m.evolve(row) == row and m.evolve(row) is not row
    with pytest.raises(TypeError):
        m.evolve(row, bogus=1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        new.status = "x"  # type: ignore[misc]


@settings(max_examples=2000, deadline=None)
@given(st.decimals(allow_nan=False, allow_infinity=False)
       | st.builds(Decimal, st.from_regex(r"-?[0-9]{1,30}(\.[0-9]{0,30})?(E[+-]?[0-9]{1,3})?",
                                          fullmatch=True)))
def test_decimals_are_written_in_plain_notation(value: Decimal) -> None:
    assert encode_fields(m.OrderStatus(filled=value), MAX_VERSION)[3] == format(value, "f")


def _samples() -> list[m.Message]:
    from tests.sim.unit.test_sim_codec_clients import SAMPLES

    return list(SAMPLES.values())


@pytest.mark.parametrize("version", [MIN_VERSION, 163, 170, MAX_VERSION])
def test_every_row_sample_is_written_and_read_as_the_rows_say(version: int) -> None:
    """Each outgoing row's sample (one per row the gateway sends): the generated codec writes
    the bytes the plain walk of the descriptors writes, and reads back what it reads."""
    for msg in _samples():
        expected = [str(msg.MSG_ID), *reference_fields(msg, version)]
        assert encode_fields(msg, version) == expected, type(msg).__name__
        text = "".join(f"{f}\0" for f in expected)
        assert encode_text(msg, version) == text, type(msg).__name__
        cls = SPECS[(msg.DIRECTION, msg.MSG_ID)]
        got = decode_fields(msg.DIRECTION, expected, version)
        assert got == reference_decode(cls, expected, 1, version)[0], type(msg).__name__
