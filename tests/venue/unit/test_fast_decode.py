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


def test_installed_on_one_decoder_only() -> None:
    from ib_async import IB

    mine, other = IB(), IB()
    install(mine.client.decoder)
    assert mine.client.decoder.parse is fast_parse
    assert other.client.decoder.parse.__func__ is Decoder.parse  # type: ignore[attr-defined]
