"""FA allocation (pure): the Allocation spec, its Order fields, and block splitting."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ib_async import Order

from horizon.core import OrderAction
from horizon.errors import InvalidOrder
from horizon.venues.ibkr.mapping.allocation import (
    FA_PROFILE_DESUPPORT,
    Allocation,
    FaMethod,
    apply_allocation,
    block_actions,
    split_block,
)


def test_group_allocation_defaults_to_equal_quantity() -> None:
    a = Allocation(fa_group=" Growth ")
    assert a.fa_group == "Growth" and a.method is FaMethod.EQUAL_QUANTITY
    assert Allocation(fa_group="G", method="NetLiq").method is FaMethod.NET_LIQ  # type: ignore[arg-type]
    pct = Allocation(fa_group="G", method=FaMethod.PCT_CHANGE, percentage="-50")  # type: ignore[arg-type]
    assert pct.percentage == Decimal(-50) and pct.ib_quantity_from_positions


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({}, "allocation"),
        ({"fa_group": "G", "fa_profile": "P"}, "allocation"),
        ({"fa_group": ""}, "allocation"),
        ({"fa_group": "G", "method": "Ratio"}, "allocation"),
        ({"fa_group": "G", "method": "PctChange"}, "percentage"),
        ({"fa_group": "G", "method": "PctChange", "percentage": "0"}, "percentage"),
        ({"fa_group": "G", "method": "PctChange", "percentage": 5.0}, "percentage"),
        ({"fa_group": "G", "percentage": "10"}, "percentage"),
        ({"fa_profile": "P", "method": "NetLiq"}, "allocation"),
    ],
)
def test_incoherent_allocations_are_refused(kw: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidOrder) as err:
        Allocation(**kw)  # type: ignore[arg-type]
    assert err.value.field == field


def test_apply_allocation_sets_ib_fields_on_a_copy() -> None:
    order = Order(action="BUY", totalQuantity=10, orderType="MKT", account="DU1")
    new = apply_allocation(order, Allocation(fa_group="Growth", method=FaMethod.NET_LIQ),
                           server_version=178)
    assert (new.faGroup, new.faMethod, new.faPercentage, new.account) == (
        "Growth", "NetLiq", "", "")
    assert new.totalQuantity == 10
    assert order.account == "DU1" and order.faGroup == ""  # input untouched


def test_pct_change_lets_ib_compute_the_quantity() -> None:
    order = Order(action="SELL", totalQuantity=10, orderType="MKT")
    new = apply_allocation(
        order, Allocation(fa_group="G", method=FaMethod.PCT_CHANGE, percentage=Decimal("-25.5")),
        server_version=178,
    )
    assert (new.faMethod, new.faPercentage, new.totalQuantity) == ("PctChange", "-25.5", 0.0)


def test_profiles_travel_as_groups_once_the_api_dropped_fa_profile() -> None:
    order = Order(action="BUY", totalQuantity=4, orderType="MKT")
    modern = apply_allocation(order, Allocation(fa_profile="Income"),
                              server_version=FA_PROFILE_DESUPPORT)
    assert (modern.faGroup, modern.faProfile, modern.faMethod) == ("Income", "", "")
    legacy = apply_allocation(order, Allocation(fa_profile="Income"),
                              server_version=FA_PROFILE_DESUPPORT - 1)
    assert (legacy.faGroup, legacy.faProfile) == ("", "Income")


def test_split_block_examples() -> None:
    assert split_block(Decimal(10), {"A": 1, "B": 2}) == {"A": Decimal(3), "B": Decimal(7)}
    assert split_block(Decimal(11), {"A": 1, "B": 1}) == {"A": Decimal(6), "B": Decimal(5)}
    assert split_block(Decimal(11), {"B": 1, "A": 1}) == {"B": Decimal(6), "A": Decimal(5)}
    assert split_block(Decimal(2), {"A": 1, "B": 1, "C": 1}) == {"A": Decimal(1),
                                                                 "B": Decimal(1)}
    assert split_block(Decimal(5), {"A": "0", "B": "0.3"}) == {"B": Decimal(5)}
    assert split_block(Decimal("0.3"), {"A": 1, "B": 2}, increment=Decimal("0.1")) == {
        "A": Decimal("0.1"), "B": Decimal("0.2")}


@pytest.mark.parametrize(
    ("qty", "weights", "field"),
    [
        (Decimal(10), {}, "allocation"),
        (Decimal(10), {"A": 0}, "allocation"),
        (Decimal(10), {"A": -1, "B": 2}, "allocation[A]"),
        (Decimal(10), {"A": 0.5}, "allocation[A]"),
        (Decimal("10.5"), {"A": 1}, "quantity"),
        (Decimal(0), {"A": 1}, "quantity"),
        (Decimal(10), {"": 1}, "allocation"),
    ],
)
def test_split_block_refuses_bad_input(qty: Decimal, weights: dict[str, object],
                                       field: str) -> None:
    with pytest.raises(InvalidOrder) as err:
        split_block(qty, weights)
    assert err.value.field == field


@given(
    units=st.integers(1, 100_000),
    weights=st.lists(st.integers(0, 1000), min_size=1, max_size=8).filter(lambda w: sum(w) > 0),
)
def test_split_block_sums_exactly_and_stays_within_one_unit_of_the_exact_share(
    units: int, weights: list[int]
) -> None:
    named = {f"DU{i}": Decimal(w) for i, w in enumerate(weights)}
    parts = split_block(Decimal(units), named)
    assert sum(parts.values()) == units
    total = sum(weights)
    for account, w in named.items():
        exact = Decimal(units) * w / total
        assert abs(parts.get(account, Decimal(0)) - exact) < 1
    assert split_block(Decimal(units), named) == parts  # deterministic


def test_block_actions_route_each_part_to_its_account() -> None:
    block = OrderAction(market_id="AAPL", side="buy", quantity=Decimal(10),
                        order_type="limit", limit_price=Decimal("190"), client_order_id="b1")
    children = block_actions(block, {"DU1": Decimal(3), "DU2": Decimal(7)})
    assert [(c.account, c.quantity, c.client_order_id) for c in children] == [
        ("DU1", Decimal(3), "b1:DU1"), ("DU2", Decimal(7), "b1:DU2")]
    assert all(c.limit_price == Decimal("190") and c.side == "buy" for c in children)
    with pytest.raises(InvalidOrder) as err:
        block_actions(OrderAction(market_id="AAPL", side="buy", quantity=1, account="DU1"),
                      {"DU1": Decimal(1)})
    assert err.value.field == "account"
