"""A frame with one text field left open (`codec.Template`) against the whole row encoded.

The gateway sends an order's openOrder again at each of its statuses from one template: each
of those frames must be the bytes `encode` makes of the row with that status, at every
version (text, and protobuf where the row travels so: there is no template there).
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ibgateway_sim.engine import Engine, OrderRequest
from ibgateway_sim.gateway import mapping
from ibgateway_sim.wire import messages as m
from ibgateway_sim.wire.codec import EncodeError, encode, template
from ibgateway_sim.wire.messages import Direction, Kind
from ibgateway_sim.wire.thresholds import travels_as_protobuf
from tests.sim.strategies import any_message, texts

STATUSES = ["PreSubmitted", "Submitted", "Filled", "Cancelled", "", "ApiPending", "x" * 300]


def _text_fields(msg: m.Message) -> list[str]:
    return [
        f.name
        for f in dataclasses.fields(msg)  # type: ignore[arg-type]
        if "wire" in f.metadata and f.metadata["wire"].kind is Kind.STR
    ]


@settings(max_examples=300, deadline=None)
@given(any_message(), st.data())
def test_a_template_filled_is_the_row_encoded_whole(
    pair: tuple[m.Message, int], data: st.DataObject
) -> None:
    msg, version = pair
    names = _text_fields(msg)
    if not names:
        return
    name = data.draw(st.sampled_from(names))
    t = template(msg, version, name)
    if t is None:
        return  # the field steers the row (or is not on the wire here): encoded whole
    value = data.draw(texts)
    whole = dataclasses.replace(msg, **{name: value})  # type: ignore[type-var]
    assert t.fill(value) == encode(whole, version)


def _states() -> list:  # type: ignore[type-arg]
    engine = Engine(seed=1)
    query = mapping.contract_query(
        m.RequestContract(symbol="AAPL", sec_type="STK", exchange="SMART", currency="USD")
    )
    events = [
        *engine.place(OrderRequest(client_id=1, order_id=1, contract=query, action="BUY",
                                   quantity=Decimal(10), order_type="MKT")),
        *engine.place(OrderRequest(client_id=1, order_id=2, contract=query, action="SELL",
                                   quantity=Decimal(3), order_type="LMT",
                                   limit_price=Decimal("1000"), order_ref="ref\x01")),
        *engine.place(OrderRequest(client_id=1, order_id=3, contract=query, action="BUY",
                                   quantity=Decimal(5), order_type="TRAIL",
                                   aux_price=Decimal(1), outside_rth=True)),
    ]  # fmt: skip
    return [e.order for e in events if hasattr(e, "order")]


@pytest.mark.parametrize("version", [157, 163, 170, 176, 178, 201, 203, 226])
def test_open_order_templates_at_each_version(version: int) -> None:
    """Text versions get a template of openOrder's status, byte for byte; where openOrder
    travels as protobuf there is none (the row is encoded whole)."""
    for st_ in _states():
        row = mapping.open_order(st_)
        t = template(row, version, "status")
        if travels_as_protobuf(Direction.OUT, m.OpenOrder.MSG_ID, version):
            assert t is None
            continue
        assert t is not None
        for status in STATUSES:
            assert t.fill(status) == encode(m.evolve(row, status=status), version)
        with pytest.raises(EncodeError):
            t.fill("Sub\0mitted")


def test_no_template_of_a_field_that_steers_the_row() -> None:
    """placeOrder's order type decides whether the pegged fields are sent, its algo strategy
    whether its parameters are: neither can be left open."""
    row = m.PlaceOrder(order_id=1, order_type="LMT", algo_strategy="Vwap")
    assert template(row, 178, "order_type") is None
    assert template(row, 178, "algo_strategy") is None
    assert template(row, 178, "order_ref") is not None
    assert template(row, 178, "order_id") is None  # not a text field
