"""fast_send writes exactly the text ib_async's Client.send writes, for every kind of field."""

from __future__ import annotations

import enum
import math
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ib_async import Contract, Forex, Option, Stock, TagValue
from ib_async.client import Client
from ib_async.util import UNSET_DOUBLE, UNSET_INTEGER
from ib_async.wrapper import Wrapper

from horizon.venues.ibkr.fast_encode import encode, fast_send, install
from horizon.venues.ibkr.mapping.fast_repr import horizon_contract


class _Side(enum.IntEnum):
    BUY = 1


_CONTRACT_SAMPLES = [
    Contract(),
    Stock("AAPL", "SMART", "USD", primaryExchange="NASDAQ"),
    Option("SPY", "20261218", 600.5, "C", "SMART"),
    Forex("EURUSD"),
    horizon_contract(Contract(conId=265598, symbol="AAPL", secType="STK", strike=0.0)),
]  # fmt: skip
# by index: sampled_from hashes its elements, and an unqualified Contract refuses a hash
_CONTRACTS = st.integers(0, len(_CONTRACT_SAMPLES) - 1).map(_CONTRACT_SAMPLES.__getitem__)
_FIELDS = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63),
    st.just(UNSET_INTEGER),
    st.floats(allow_nan=True, allow_infinity=True),
    st.just(UNSET_DOUBLE),
    st.booleans(),
    st.none(),
    st.text(max_size=12),
    st.decimals(allow_nan=False, allow_infinity=False, places=4),
    st.just(_Side.BUY),
    st.just(Decimal("NaN")),
    _CONTRACTS,
    st.lists(st.builds(TagValue, st.text(max_size=5), st.text(max_size=5)), max_size=3),
)


def _connected_client() -> tuple[Client, list[str]]:
    """A client that believes it is connected and hands its messages to a list."""
    client = Client(Wrapper(None))  # type: ignore[arg-type]
    client.connState = Client.CONNECTED
    sent: list[str] = []
    client.sendMsg = sent.append  # type: ignore[method-assign]
    return client, sent


@given(st.lists(_FIELDS, max_size=30), st.sampled_from([True, False, 0, 1]))
def test_the_text_is_ib_asyncs(fields: list[Any], make_empty: Any) -> None:
    theirs, sent_by_theirs = _connected_client()
    Client.send(theirs, *fields, makeEmpty=make_empty)
    ours, sent_by_ours = _connected_client()
    install(ours)
    ours.send(*fields, makeEmpty=make_empty)
    assert sent_by_ours == sent_by_theirs
    assert encode(tuple(fields), make_empty) == sent_by_theirs[0]


def test_the_edges_of_the_table() -> None:
    """The cases a table written out by hand gets wrong: unset numbers empty only when asked,
    infinity named, NaN as Python prints it, a bool as 1/0 and not as an int."""
    assert encode((UNSET_DOUBLE, UNSET_INTEGER, math.inf, math.nan, True, None)) == (
        "\0\0Infinite\0nan\x001\0\0"
    )
    assert encode((UNSET_INTEGER,), make_empty=False) == f"{UNSET_INTEGER}\0"
    assert encode(()) == ""


def test_a_disconnected_client_refuses_as_ib_async_does() -> None:
    client = Client(Wrapper(None))  # type: ignore[arg-type]
    install(client)
    with pytest.raises(ConnectionError, match="Not connected"):
        client.send(1, "x")
    with pytest.raises(ConnectionError, match="Not connected"):
        Client.send(client, 1, "x")


def test_installed_on_one_client_only() -> None:
    mine, other = Client(Wrapper(None)), Client(Wrapper(None))  # type: ignore[arg-type]
    install(mine)
    assert mine.send.__func__ is fast_send  # type: ignore[attr-defined]
    assert other.send.__func__ is Client.send  # type: ignore[attr-defined]
