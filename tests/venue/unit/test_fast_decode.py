"""fast_parse converts exactly as ib_async's Decoder.parse does, for every class it parses."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ib_async import (
    ComboLeg,
    CommissionReport,
    Contract,
    ContractDetails,
    Execution,
    Order,
    OrderState,
    SoftDollarTier,
    Trade,
)
from ib_async.decoder import Decoder

from horizon.venues.ibkr.fast_decode import fast_parse, install
from horizon.venues.ibkr.mapping.blanks import blank_maker
from ibgateway_sim.wire import messages as m
from ibgateway_sim.wire.codec import MIN_VERSION, encode_fields

_CLASSES = (Order, Contract, ContractDetails, Execution, OrderState, CommissionReport, ComboLeg)
# what the wire puts in a field: numbers as text, empty, IB's "unset" texts, a bool as 0/1
_TEXTS = st.sampled_from(["", "0", "1", "7", "-3", "2147483647", "1.5", "0.0", "-0.25", "1e300"])


def _raw(cls: type, texts: list[str]) -> object:
    """An object as the decoder holds it before parse(): every converted field a string."""
    obj = cls()
    converted = [f for f in dataclasses.fields(cls) if type(f.default) in (int, float, bool)]
    for i, f in enumerate(converted):
        text = texts[i % len(texts)]
        kind = type(f.default)
        fits = (
            kind is float or text in ("", "0", "1") or (kind is int and text.lstrip("-").isdigit())
        )
        setattr(obj, f.name, text if fits else "")
    return obj


@given(st.sampled_from(_CLASSES), st.lists(_TEXTS, min_size=1, max_size=40))
def test_the_conversions_are_ib_asyncs(cls: type, texts: list[str]) -> None:
    ours, theirs = _raw(cls, texts), _raw(cls, texts)
    fast_parse(ours)
    Decoder.parse(Decoder.__new__(Decoder), theirs)
    assert vars(ours) == vars(theirs)
    assert {k: type(v) for k, v in vars(ours).items()} == {
        k: type(v) for k, v in vars(theirs).items()
    }


@given(st.sampled_from(_CLASSES), st.lists(_TEXTS, min_size=1, max_size=40), st.data())
def test_an_object_lacking_a_field_is_converted_as_ib_async_does(
    cls: type, texts: list[str], data: st.DataObject
) -> None:
    """A field gone from the instance reads its class default, in either parser."""
    ours, theirs = _raw(cls, texts), _raw(cls, texts)
    converted = [f.name for f in dataclasses.fields(cls) if type(f.default) in (int, float, bool)]
    gone = data.draw(st.sampled_from(converted))
    del ours.__dict__[gone], theirs.__dict__[gone]
    fast_parse(ours)
    Decoder.parse(Decoder.__new__(Decoder), theirs)
    assert vars(ours) == vars(theirs)


def test_installed_on_one_decoder_only() -> None:
    from ib_async import IB

    mine, other = IB(), IB()
    install(mine.client.decoder)
    assert mine.client.decoder.parse is fast_parse
    assert other.client.decoder.parse.__func__ is Decoder.parse  # type: ignore[attr-defined]


# ---- position messages --------------------------------------------------------------------

_SEC_TYPES = st.sampled_from(
    ["STK", "OPT", "FUT", "CASH", "IND", "CFD", "BOND", "FOP", "WAR", "BAG", "CRYPTO", "", "XYZ"]
)
_WORDS = st.sampled_from(["", "AAPL", "EUR", "USD", "SMART", "20261218", "C", "P", "100", "M6E"])
_NUMBERS = st.sampled_from(["", "0", "1", "-3", "100", "2.5", "-0.5", "1e-9"])


@st.composite
def _position_fields(draw: st.DrawFn) -> list[str]:
    """A position message as the decoder splits it (ibapi's POSITION_DATA, version 3)."""
    return [
        "61", "3", draw(st.sampled_from(["DU1", "DU2"])),
        draw(st.sampled_from(["", "0", "265598", "12087792"])),
        draw(_WORDS), draw(_SEC_TYPES), draw(_WORDS), draw(_NUMBERS), draw(_WORDS),
        draw(_WORDS), draw(_WORDS), draw(_WORDS), draw(_WORDS), draw(_WORDS),
        draw(_NUMBERS), draw(_NUMBERS),
    ]  # fmt: skip


def _replay(ib: object, messages: list[list[str]]) -> tuple[list[object], list[object], str]:
    """Feed `messages` to `ib`'s decoder inside a reqPositions; what it kept, emitted, answered
    and logged, each contract shown with its class and every field."""
    import asyncio
    import io
    import logging

    from ib_async import IB, util

    assert isinstance(ib, IB)
    shown = io.StringIO()
    handler = logging.StreamHandler(shown)
    logger = logging.getLogger("ib_async.wrapper")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    emitted: list[object] = []
    ib.positionEvent += emitted.append
    loop = asyncio.new_event_loop()
    try:
        asyncio.set_event_loop(loop)
        answer = ib.wrapper.startReq("positions")
        for fields in messages:
            ib.client.decoder.interpret(list(fields))
        ib.wrapper.positionEnd()
        answered = loop.run_until_complete(answer)
    finally:
        asyncio.set_event_loop(None)
        loop.close()
        logger.removeHandler(handler)
        logger.setLevel(level)

    def full(p: object) -> object:
        account, contract, size, cost = p  # type: ignore[misc]
        return (account, type(contract), util.dataclassAsDict(contract), repr(p), size, cost)

    kept = [full(p) for account in sorted(ib.wrapper.positions) for p in ib.positions(account)]
    return kept, [full(p) for p in emitted] + [full(p) for p in answered], shown.getvalue()


@given(st.lists(_position_fields(), min_size=1, max_size=8))
def test_position_messages_decode_as_ib_asyncs(messages: list[list[str]]) -> None:
    from ib_async import IB

    ours, theirs = IB(), IB()
    install(ours.client.decoder)
    assert _replay(ours, messages) == _replay(theirs, messages)


def test_a_malformed_position_is_refused_as_ib_async_refuses_it() -> None:
    """A short message raises in the handler; the decoder logs it and goes on, as it does for
    ib_async's own (nothing kept)."""
    from ib_async import IB

    ours = IB()
    install(ours.client.decoder)
    kept, emitted, _ = _replay(ours, [["61", "3", "DU1", "265598", "AAPL"]])
    assert kept == [] and emitted == []


# ---- open orders ----------------------------------------------------------------------------


_BLANKS = [Order, Contract, OrderState, Execution, CommissionReport, ComboLeg]


@pytest.mark.parametrize("cls", _BLANKS)
def test_a_blank_is_what_the_constructor_makes(cls: type) -> None:
    make = blank_maker(cls)
    ours, theirs = make(), cls()
    assert type(ours) is cls
    assert list(vars(ours).items()) == list(vars(theirs).items())  # same values, same order
    fresh = [k for k, v in vars(ours).items() if isinstance(v, (list, dict, SoftDollarTier))]
    assert all(getattr(make(), k) is not getattr(ours, k) for k in fresh)  # none shared


def test_a_class_the_table_cannot_make_is_refused() -> None:
    with pytest.raises(TypeError, match="__post_init__"):
        blank_maker(Trade)

    class Slotted(Order):
        __slots__ = ("tif",)  # a plain default: no factory would fill the slot

    with pytest.raises(TypeError, match="plain default in a slot"):
        blank_maker(Slotted)


def test_a_blank_of_a_class_with_slotted_containers_fills_its_slots() -> None:
    from horizon.venues.ibkr.mapping.fast_repr import ORDER_CONTAINERS, HorizonOrder

    make = blank_maker(HorizonOrder)
    ours, again, theirs = make(), make(), Order()
    assert set(ORDER_CONTAINERS) == {
        "algoParams", "smartComboRoutingParams", "orderComboLegs", "orderMiscOptions",
        "conditions", "softDollarTier",
    }  # fmt: skip
    assert list(vars(ours)) == [k for k in vars(theirs) if k not in ORDER_CONTAINERS]
    for f in dataclasses.fields(Order):
        mine = getattr(ours, f.name)
        assert type(mine) is type(getattr(theirs, f.name)), f.name
        if f.name in ORDER_CONTAINERS:
            assert mine == getattr(theirs, f.name) and getattr(again, f.name) is not mine


class _Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def openOrder(self, *args: Any) -> None:
        self.calls.append(args)


_CONTRACT = m.ReplyContract(con_id=265598, symbol="AAPL", sec_type="STK", exchange="SMART",
                            currency="USD", local_symbol="AAPL", trading_class="NMS")  # fmt: skip
_PRICES = st.none() | st.decimals(min_value=0, max_value=10_000, places=2)
_ROWS = st.builds(
    m.OpenOrder,
    order_id=st.integers(0, 2**31 - 1),
    contract=st.just(_CONTRACT),
    action=st.sampled_from(["BUY", "SELL"]),
    total_quantity=st.decimals(min_value=0, max_value=10_000, places=0),
    order_type=st.sampled_from(["MKT", "LMT", "STP", "STP LMT", "TRAIL", "REL"]),
    lmt_price=_PRICES,
    aux_price=_PRICES,
    tif=st.sampled_from(["DAY", "GTC", "IOC", "GTD", "OPG"]),
    oca_group=st.sampled_from(["", "oca-1"]),
    account=st.sampled_from(["DU1", "DU2"]),
    order_ref=st.text("abc-123", max_size=8),
    client_id=st.integers(0, 32),
    perm_id=st.integers(0, 2**31 - 1),
    outside_rth=st.booleans(),
    parent_id=st.integers(0, 9),
    algo_strategy=st.sampled_from(["", "Adaptive"]),
    algo_params=st.just((m.TagValue(tag="adaptivePriority", value="Normal"),)),
    status=st.sampled_from(["PreSubmitted", "Submitted", "Filled", "Cancelled"]),
    what_if=st.booleans(),
)


@given(_ROWS, st.sampled_from(sorted({MIN_VERSION, 170, 176, 177, 178})))
def test_an_open_order_decodes_as_ib_asyncs(row: m.OpenOrder, version: int) -> None:
    """The simulator's open orders, read by ib_async's decoder and by the installed one: the
    same Order, Contract and OrderState reach the wrapper, field for field and type for type."""
    fields = encode_fields(row, version)
    ours, theirs = _Recorder(), _Recorder()
    fast = Decoder(ours, version)  # type: ignore[arg-type]
    install(fast)
    fast.interpret(list(fields))
    Decoder(theirs, version).interpret(list(fields))  # type: ignore[arg-type]
    ((our_id, *our_objects),), ((their_id, *their_objects),) = ours.calls, theirs.calls
    assert our_id == their_id == row.order_id
    for a, b in zip(our_objects, their_objects, strict=True):
        assert type(a) is type(b)
        assert list(vars(a)) == list(vars(b))
        assert {k: (type(v), repr(v)) for k, v in vars(a).items()} == {
            k: (type(v), repr(v)) for k, v in vars(b).items()
        }
