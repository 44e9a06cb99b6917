"""fast_parse converts exactly as ib_async's Decoder.parse does, for every class it parses."""

from __future__ import annotations

import dataclasses

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
)
from ib_async.decoder import Decoder

from horizon.venues.ibkr.fast_decode import fast_parse, install

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
