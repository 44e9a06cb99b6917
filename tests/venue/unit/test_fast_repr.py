"""HorizonOrder's repr is ib_async's Order repr, character for character, for any order."""

from __future__ import annotations

import dataclasses
import math

from hypothesis import given
from hypothesis import strategies as st
from ib_async import (
    ComboLeg,
    Contract,
    DeltaNeutralContract,
    Order,
    SoftDollarTier,
    Stock,
    TagValue,
    Trade,
)

from horizon.core import OrderAction
from horizon.venues.ibkr.mapping.fast_repr import HorizonContract, HorizonOrder, horizon_contract
from horizon.venues.ibkr.mapping.orders import blank_order, to_ib_order

_FIELDS = {f.name: f for f in dataclasses.fields(Order)}


def _as_plain_order(order: Order) -> Order:
    return Order(**{name: getattr(order, name) for name in _FIELDS})


def _value_for(name: str) -> st.SearchStrategy[object]:
    default = _FIELDS[name].default
    if isinstance(default, bool):
        return st.booleans()
    if isinstance(default, int):
        return st.sampled_from([default, 0, 1, -1, 2**31 - 1, 10**12])
    if isinstance(default, float):
        return st.sampled_from(
            [default, 0.0, 1.5, -2.25, math.nan, math.inf, 1.7976931348623157e308]
        )
    if isinstance(default, str):
        return st.sampled_from([default, "", "LMT", "x'y\"z", "é"])
    if default is None:
        return st.none() | st.just(0) | st.just("")
    # fields made by a default factory: lists, and the SoftDollarTier
    if name == "softDollarTier":
        return st.sampled_from([SoftDollarTier(), SoftDollarTier("a", "b", "c")])
    return st.sampled_from([[], [TagValue("tag", "value")]])


_CHANGES = st.dictionaries(st.sampled_from(sorted(_FIELDS)), st.none(), max_size=25).flatmap(
    lambda keys: st.fixed_dictionaries({name: _value_for(name) for name in keys})
)


@given(_CHANGES)
def test_the_repr_is_ib_asyncs_for_any_fields_set(changes: dict[str, object]) -> None:
    order = blank_order()
    for name, value in changes.items():
        setattr(order, name, value)
    assert isinstance(order, HorizonOrder) and isinstance(order, Order)
    plain = _as_plain_order(order)
    assert type(plain) is Order
    assert repr(order) == repr(plain)
    assert str(order) == str(plain)
    assert f"{order}" == f"{plain}"


def test_a_trade_of_a_venue_order_logs_the_same_text() -> None:
    order = to_ib_order(OrderAction(market_id="AAPL", side="buy", quantity=3), account="DU1")
    order.orderId, order.clientId = 7, 1
    fields = {"conId": 265598, "symbol": "AAPL", "secType": "STK", "exchange": "SMART"}
    contract, plain = horizon_contract(Contract(**fields)), Contract(**fields)  # type: ignore[arg-type]
    ours, theirs = Trade(contract, order), Trade(plain, _as_plain_order(order))
    assert f"orderStatus: {ours}" == f"orderStatus: {theirs}"
    assert "Order(orderId=7, clientId=1, action='BUY', totalQuantity=3.0" in repr(ours)


def test_a_field_deleted_from_the_instance_reads_the_class_default() -> None:
    order = blank_order()
    order.lmtPrice = 12.5
    del order.__dict__["tif"]
    assert repr(order) == repr(_as_plain_order(order))


_CONTRACT_FIELDS = [f.name for f in dataclasses.fields(Contract)]


@given(
    st.fixed_dictionaries(
        {},
        optional={
            "conId": st.sampled_from([0, 265598, 2**40]),
            "symbol": st.sampled_from(["", "AAPL", "BRK B"]),
            "secType": st.sampled_from(["", "STK", "BAG"]),
            "strike": st.sampled_from([0.0, 150.5, math.nan]),
            "exchange": st.sampled_from(["", "SMART"]),
            "currency": st.sampled_from(["", "USD"]),
            "comboLegs": st.sampled_from([[], [ComboLeg(conId=1, ratio=1, action="BUY")]]),
            "deltaNeutralContract": st.none() | st.just(DeltaNeutralContract(1, 0.5, 10.0)),
            "includeExpired": st.booleans(),
        },
    )
)
def test_a_contract_reprs_as_ib_asyncs(fields: dict[str, object]) -> None:
    plain = Contract(**fields)  # type: ignore[arg-type]
    fast = horizon_contract(plain)
    assert type(fast) is HorizonContract and fast == plain
    assert {name: getattr(fast, name) for name in _CONTRACT_FIELDS} == {
        name: getattr(plain, name) for name in _CONTRACT_FIELDS
    }
    assert repr(fast) == repr(plain) and f"{fast}" == f"{plain}"


def test_other_contract_classes_are_left_as_they_are() -> None:
    stock = Stock("AAPL", "SMART", "USD")
    assert horizon_contract(stock) is stock


def test_a_contract_changed_after_its_repr_reprs_its_new_fields() -> None:
    fields = {"conId": 265598, "symbol": "AAPL", "secType": "STK", "exchange": "SMART"}
    fast, plain = horizon_contract(Contract(**fields)), Contract(**fields)  # type: ignore[arg-type]
    assert repr(fast) == repr(plain)
    before = dict(vars(fast))
    assert repr(fast) == repr(plain) and vars(fast) == before  # the kept text is not a field
    for contract in (fast, plain):
        contract.exchange = "ARCA"
        contract.strike = math.nan
    assert repr(fast) == repr(plain) and "ARCA" in repr(fast)
    for contract in (fast, plain):
        contract.comboLegs.append(ComboLeg(conId=1, ratio=1, action="BUY"))
    assert repr(fast) == repr(plain) and "comboLegs=[ComboLeg(" in repr(fast)
    for contract in (fast, plain):
        contract.comboLegs[0].ratio = 2
    assert repr(fast) == repr(plain) and "ratio=2" in repr(fast)


def test_a_contract_survives_copy_and_pickle_as_itself() -> None:
    import copy
    import pickle

    fast = horizon_contract(Contract(conId=1, symbol="X", secType="STK"))
    text = repr(fast)
    for clone in (copy.copy(fast), copy.deepcopy(fast), pickle.loads(pickle.dumps(fast))):
        assert type(clone) is HorizonContract and clone == fast and repr(clone) == text
    order = blank_order()
    order.orderId = 3
    order.algoParams = [TagValue("maxPctVol", "0.1")]
    for clone in (copy.copy(order), copy.deepcopy(order), pickle.loads(pickle.dumps(order))):
        assert type(clone) is HorizonOrder and repr(clone) == repr(order)
        assert clone.algoParams == order.algoParams and clone.softDollarTier == SoftDollarTier()
    assert copy.copy(order).algoParams is order.algoParams  # a shallow copy shares, as on Order
    assert copy.deepcopy(order).algoParams is not order.algoParams


def test_a_venue_orders_dict_is_left_untracked_by_the_collector() -> None:
    """Its containers are in slots, so no full collection walks the ~133 values it holds."""
    import gc

    from horizon.core.algos import Adaptive

    action = OrderAction(market_id="AAPL", side="buy", quantity=3, order_type="limit",
                         limit_price="1.5", algo=Adaptive())  # fmt: skip
    order = to_ib_order(action, account="DU1")
    plain = _as_plain_order(order)
    assert order.algoParams and order.algoStrategy == "Adaptive"
    gc.collect()
    assert not gc.is_tracked(vars(order)) and gc.is_tracked(vars(plain))
    order.orderComboLegs.append(object())  # a container edited in place stays in its slot
    order.orderRef = "a str"
    gc.collect()
    assert not gc.is_tracked(vars(order))
