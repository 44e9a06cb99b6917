"""OrderAction -> ib_async Order, amendments, tick checks and the IB string tables."""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ib_async import Order
from ib_async.util import UNSET_DOUBLE

from horizon.core import OrderAction, OrderType, Side
from horizon.errors import InvalidOrder
from horizon.venues.ibkr.mapping.orders import (
    IB_ORDER_TYPES,
    amend_order,
    check_tick,
    format_good_till,
    order_type_of,
    side_of,
    to_ib_float,
    to_ib_order,
)

FUTURE = datetime(2099, 12, 31, 20, 0, 0, tzinfo=UTC)


def act(**kw: object) -> OrderAction:
    base: dict[str, object] = {"market_id": "AAPL", "side": "buy", "quantity": Decimal(10)}
    base.update(kw)
    return OrderAction(**base)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ to_ib_order


def test_market_order() -> None:
    o = to_ib_order(act(side="sell", quantity="25"), account="DU1234567")
    assert (o.action, o.orderType, o.totalQuantity, o.tif) == ("SELL", "MKT", 25.0, "DAY")
    assert o.lmtPrice == UNSET_DOUBLE and o.auxPrice == UNSET_DOUBLE
    assert o.account == "DU1234567"
    assert o.orderRef == ""
    assert o.transmit is True and o.outsideRth is False
    assert o.orderId == 0  # ib_async assigns it
    assert o.goodTillDate == ""


def test_limit_order() -> None:
    o = to_ib_order(act(order_type="limit", limit_price="101.25", tif="GTC"), account="DU1")
    assert (o.orderType, o.lmtPrice, o.auxPrice, o.tif) == ("LMT", 101.25, UNSET_DOUBLE, "GTC")


def test_stop_order_uses_aux_price() -> None:
    o = to_ib_order(act(order_type="stop", stop_price="95.5"), account="DU1")
    assert (o.orderType, o.auxPrice, o.lmtPrice) == ("STP", 95.5, UNSET_DOUBLE)


def test_stop_limit_order() -> None:
    o = to_ib_order(
        act(order_type="stop_limit", stop_price="95.5", limit_price="95.25"), account="DU1"
    )
    assert (o.orderType, o.auxPrice, o.lmtPrice) == ("STP LMT", 95.5, 95.25)


def test_trailing_percent() -> None:
    o = to_ib_order(act(order_type="trailing_stop", trail_percent="1.5"), account="DU1")
    assert (o.orderType, o.trailingPercent) == ("TRAIL", 1.5)
    assert o.auxPrice == UNSET_DOUBLE and o.trailStopPrice == UNSET_DOUBLE


def test_trailing_amount_with_initial_stop() -> None:
    o = to_ib_order(
        act(side="sell", order_type="trailing_stop", trail_amount="2.5", stop_price="97"),
        account="DU1",
    )
    assert (o.orderType, o.auxPrice, o.trailStopPrice) == ("TRAIL", 2.5, 97.0)
    assert o.trailingPercent == UNSET_DOUBLE


@pytest.mark.parametrize("tif", ["DAY", "GTC", "IOC", "OPG"])
def test_tif_passes_through(tif: str) -> None:
    assert to_ib_order(act(tif=tif), account="DU1").tif == tif


def test_gtd_formats_good_till_in_utc() -> None:
    eastern = timezone(timedelta(hours=-5))
    when = datetime(2099, 6, 1, 11, 30, 15, 999_000, tzinfo=eastern)
    o = to_ib_order(act(tif="GTD", good_till=when), account="DU1")
    assert o.tif == "GTD"
    assert o.goodTillDate == "20990601 16:30:15 UTC"


def test_format_good_till() -> None:
    assert format_good_till(datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)) == "20300102 03:04:05 UTC"
    with pytest.raises(InvalidOrder) as info:
        format_good_till(datetime(2030, 1, 2, 3, 4, 5))  # naive
    assert info.value.field == "good_till"


def test_account_and_client_order_id_and_rth() -> None:
    o = to_ib_order(
        act(account="DU222", client_order_id="strat-7/42", outside_rth=True), account="DU111"
    )
    assert o.account == "DU222"  # the action's own account wins over the default
    assert o.orderRef == "strat-7/42"
    assert o.outsideRth is True


def test_every_order_type_has_an_ib_row() -> None:
    assert set(IB_ORDER_TYPES) == set(OrderType)
    # one IB type per OrderType, but for the opening auction (MKT / LMT with tif OPG)
    assert len(set(IB_ORDER_TYPES.values())) == len(OrderType) - 2
    assert {row[0] for row in ORDER_TYPE_ROWS} == {t.value for t in OrderType}


def test_fractional_quantity_and_small_prices_are_exact() -> None:
    o = to_ib_order(act(quantity="0.0001", order_type="limit", limit_price="0.00005"), account="D")
    assert o.totalQuantity == 0.0001
    assert repr(o.lmtPrice) == "5e-05"


# ------------------------------------------------------------------------------ floats at the edge


@given(st.decimals(min_value=Decimal("-1e9"), max_value=Decimal("1e9"), places=6, allow_nan=False))
def test_prices_with_up_to_15_digits_travel_exactly(d: Decimal) -> None:
    f = to_ib_float("limit_price", d)
    assert Decimal(repr(f)) == d  # what ib_async sends (str(float)) reads back as d


def test_float_conversion_refusals() -> None:
    with pytest.raises(InvalidOrder, match="too large"):
        to_ib_float("quantity", Decimal("1e400"))
    with pytest.raises(InvalidOrder, match="without changing"):
        to_ib_float("limit_price", Decimal("1e-400"))
    with pytest.raises(InvalidOrder, match="without changing"):
        to_ib_float("limit_price", Decimal("1.234567e-320"))  # subnormal: 4 digits survive
    with pytest.raises(InvalidOrder, match="floats are refused"):
        to_ib_float("limit_price", 1.5)  # type: ignore[arg-type]
    with pytest.raises(InvalidOrder, match="finite"):
        to_ib_float("limit_price", Decimal("NaN"))
    # 20 significant digits lose far less than 1e-9 relative: accepted, rounded to the float
    assert to_ib_float("limit_price", Decimal("1.0000000000000000001")) == 1.0
    assert to_ib_float("quantity", Decimal(0)) == 0.0


def test_huge_quantity_is_refused_by_to_ib_order() -> None:
    with pytest.raises(InvalidOrder) as info:
        to_ib_order(act(quantity="1e400"), account="DU1")
    assert info.value.field == "quantity"


# ------------------------------------------------------------------------------ amend_order


def fields_of(o: Order) -> dict[str, object]:
    """Order compares by identity in ib_async, so compare its fields."""
    return dataclasses.asdict(o)


def placed(**kw: object) -> Order:
    base: dict[str, object] = {
        "orderId": 17, "clientId": 1, "permId": 99, "action": "BUY", "totalQuantity": 10.0,
        "orderType": "LMT", "lmtPrice": 100.0, "tif": "DAY", "account": "DU1",
    }  # fmt: skip
    base.update(kw)
    return Order(**base)  # type: ignore[arg-type]


def test_amend_returns_a_changed_copy_and_leaves_the_input_alone() -> None:
    original = placed()
    before = fields_of(original)
    new = amend_order(original, quantity=Decimal(12), limit_price=Decimal("100.5"))
    assert fields_of(original) == before
    assert new is not original
    assert (new.orderId, new.clientId, new.permId) == (17, 1, 99)
    assert (new.totalQuantity, new.lmtPrice) == (12.0, 100.5)
    assert new.algoParams is not original.algoParams  # deep: no shared mutable lists


def test_amend_stop_fields_per_order_type() -> None:
    assert (
        amend_order(placed(orderType="STP", auxPrice=90.0), stop_price=Decimal(91)).auxPrice == 91
    )
    stp_lmt = amend_order(
        placed(orderType="STP LMT", auxPrice=90.0, lmtPrice=89.0),
        stop_price=Decimal("90.5"),
        limit_price=Decimal("90.25"),
    )
    assert (stp_lmt.auxPrice, stp_lmt.lmtPrice) == (90.5, 90.25)
    trail = amend_order(
        placed(orderType="TRAIL", auxPrice=2.0, trailStopPrice=95.0), stop_price=Decimal(96)
    )
    assert (trail.trailStopPrice, trail.auxPrice) == (96.0, 2.0)


def test_amend_quantity_of_a_market_order() -> None:
    assert amend_order(placed(orderType="MKT"), quantity=Decimal(3)).totalQuantity == 3.0


@pytest.mark.parametrize(
    ("order_type", "kwargs", "field"),
    [
        ("LMT", {}, "amend"),
        ("MKT", {"limit_price": Decimal(1)}, "limit_price"),
        ("STP", {"limit_price": Decimal(1)}, "limit_price"),
        ("TRAIL", {"limit_price": Decimal(1)}, "limit_price"),
        ("MKT", {"stop_price": Decimal(1)}, "stop_price"),
        ("LMT", {"stop_price": Decimal(1)}, "stop_price"),
        ("LMT", {"quantity": Decimal(0)}, "quantity"),
        ("LMT", {"quantity": Decimal(-1)}, "quantity"),
        ("LMT", {"limit_price": Decimal("-0.5")}, "limit_price"),
        ("LMT", {"limit_price": Decimal("Infinity")}, "limit_price"),
        ("LMT", {"limit_price": 100.5}, "limit_price"),
        ("STP", {"stop_price": Decimal("NaN")}, "stop_price"),
    ],
)
def test_amend_refusals_name_the_field(
    order_type: str, kwargs: dict[str, object], field: str
) -> None:
    original = placed(orderType=order_type)
    before = fields_of(original)
    with pytest.raises(InvalidOrder) as info:
        amend_order(original, **kwargs)  # type: ignore[arg-type]
    assert info.value.field == field
    assert fields_of(original) == before


def test_amend_of_an_unplaced_order_is_refused() -> None:
    with pytest.raises(InvalidOrder) as info:
        amend_order(placed(orderId=0), quantity=Decimal(1))
    assert info.value.field == "order_id"


# ------------------------------------------------------------------------------ check_tick


@pytest.mark.parametrize(
    ("price", "tick"),
    [("180.05", "0.01"), ("180", "0.01"), ("4500.25", "0.25"), ("1.23455", "0.00005"), ("7", "1")],
)
def test_on_grid_prices_pass(price: str, tick: str) -> None:
    check_tick(Decimal(price), Decimal(tick), "limit_price")


def test_off_grid_price_is_refused_with_neighbours() -> None:
    with pytest.raises(InvalidOrder) as info:
        check_tick(Decimal("180.055"), Decimal("0.01"), "limit_price")
    assert info.value.field == "limit_price"
    assert "180.05" in info.value.reason and "180.06" in info.value.reason
    with pytest.raises(InvalidOrder) as info2:
        check_tick(Decimal("4500.10"), Decimal("0.25"), "stop_price")
    assert info2.value.field == "stop_price"
    assert "4500" in info2.value.reason and "4500.25" in info2.value.reason


def test_a_price_seen_on_one_grid_is_still_checked_against_another() -> None:
    for _ in range(3):  # the second and third checks are answered from the seen pairs
        check_tick(Decimal("180.05"), Decimal("0.01"), "limit_price")
        check_tick(Decimal("180.050"), Decimal("0.010"), "limit_price")  # the same values
        with pytest.raises(InvalidOrder):
            check_tick(Decimal("180.05"), Decimal("0.25"), "limit_price")
        with pytest.raises(InvalidOrder):
            check_tick(Decimal("180.055"), Decimal("0.01"), "limit_price")


def test_check_tick_refuses_a_nonsense_tick() -> None:
    with pytest.raises(ValueError, match="min_tick"):
        check_tick(Decimal(1), Decimal(0), "limit_price")


def test_check_tick_on_absurd_magnitudes_raises_invalid_order() -> None:
    with pytest.raises(InvalidOrder):
        check_tick(Decimal("1e100"), Decimal("1e-100"), "limit_price")


@given(
    k=st.integers(0, 10**9),
    tick=st.sampled_from([Decimal("0.01"), Decimal("0.25"), Decimal("0.00005"), Decimal("5")]),
)
def test_tick_grid_law(k: int, tick: Decimal) -> None:
    check_tick(k * tick, tick, "limit_price")  # on the grid: accepted
    with pytest.raises(InvalidOrder):
        check_tick(k * tick + tick / 2, tick, "limit_price")  # halfway: refused


# ------------------------------------------------------------------------------ string tables


@pytest.mark.parametrize(
    ("ib", "ours"),
    [
        ("MKT", OrderType.MARKET),
        ("LMT", OrderType.LIMIT),
        ("STP", OrderType.STOP),
        ("STP LMT", OrderType.STOP_LIMIT),
        ("TRAIL", OrderType.TRAILING_STOP),
        ("lmt", OrderType.LIMIT),
    ],
)
def test_order_type_of(ib: str, ours: OrderType) -> None:
    assert order_type_of(ib) is ours


def test_order_type_of_unknown_names_it() -> None:
    with pytest.raises(ValueError, match="'VWAP'"):
        order_type_of("VWAP")


@pytest.mark.parametrize(
    ("ib", "side"),
    [("BUY", Side.BUY), ("SELL", Side.SELL), ("SSHORT", Side.SELL), ("SLONG", Side.SELL),
     ("buy", Side.BUY)],
)  # fmt: skip
def test_side_of(ib: str, side: Side) -> None:
    assert side_of(ib) is side


def test_side_of_unknown_names_it() -> None:
    with pytest.raises(ValueError, match="'BOT'"):
        side_of("BOT")


# one row per order type: (order_type, OrderAction prices, IB orderType, tif sent, Order
# fields that carry the prices); what TWS API's "Order Types" pages put in each field
ORDER_TYPE_ROWS = [
    ("market", {}, "MKT", "DAY", {}),
    ("limit", {"limit_price": "10"}, "LMT", "DAY", {"lmtPrice": 10.0}),
    ("stop", {"stop_price": "9"}, "STP", "DAY", {"auxPrice": 9.0}),
    ("stop_limit", {"stop_price": "9", "limit_price": "8.5"}, "STP LMT", "DAY",
     {"auxPrice": 9.0, "lmtPrice": 8.5}),
    ("trailing_stop", {"trail_amount": "1"}, "TRAIL", "DAY", {"auxPrice": 1.0}),
    ("trailing_stop", {"trail_percent": "2", "stop_price": "9"}, "TRAIL", "DAY",
     {"trailingPercent": 2.0, "trailStopPrice": 9.0}),
    ("trailing_stop_limit", {"trail_amount": "1", "limit_offset": "0.1"}, "TRAIL LIMIT", "DAY",
     {"auxPrice": 1.0, "lmtPriceOffset": 0.1}),
    ("market_if_touched", {"stop_price": "9"}, "MIT", "DAY", {"auxPrice": 9.0}),
    ("limit_if_touched", {"stop_price": "9", "limit_price": "9.1"}, "LIT", "DAY",
     {"auxPrice": 9.0, "lmtPrice": 9.1}),
    ("market_on_close", {}, "MOC", "DAY", {}),
    ("limit_on_close", {"limit_price": "10"}, "LOC", "DAY", {"lmtPrice": 10.0}),
    ("market_on_open", {}, "MKT", "OPG", {}),
    ("limit_on_open", {"limit_price": "10"}, "LMT", "OPG", {"lmtPrice": 10.0}),
    ("relative", {"offset": "0.02"}, "REL", "DAY", {"auxPrice": 0.02}),
    ("relative", {"offset": "0.02", "limit_price": "10"}, "REL", "DAY",
     {"auxPrice": 0.02, "lmtPrice": 10.0}),
    ("midprice", {}, "MIDPRICE", "DAY", {}),
    ("midprice", {"limit_price": "10"}, "MIDPRICE", "DAY", {"lmtPrice": 10.0}),
    ("pegged_to_midpoint", {"offset": "0"}, "PEG MID", "DAY", {"auxPrice": 0.0}),
    ("market_to_limit", {}, "MTL", "DAY", {}),
]  # fmt: skip


@pytest.mark.parametrize(("ot", "prices", "ib_type", "tif", "fields"), ORDER_TYPE_ROWS)
def test_every_order_type_maps_to_ibs_fields(
    ot: str, prices: dict[str, str], ib_type: str, tif: str, fields: dict[str, float]
) -> None:
    a = act(order_type=ot, side="sell", **prices)
    o = to_ib_order(a, account="DU1")
    assert (o.orderType, o.tif) == (ib_type, tif)
    for name, value in fields.items():
        assert getattr(o, name) == value, name
    assert order_type_of(o.orderType, o.tif) is a.order_type
    assert side_of(o.action) is a.side


def test_fok_travels_as_ibs_tif() -> None:
    fok = act(order_type="limit", limit_price="1", tif="FOK")
    assert to_ib_order(fok, account="DU1").tif == "FOK"


def test_a_blank_order_is_an_order_of_defaults_sharing_nothing_mutable() -> None:
    import dataclasses

    from ib_async import Order

    from horizon.venues.ibkr.mapping.orders import blank_order

    a, b, ref = blank_order(), blank_order(), Order()
    assert isinstance(a, Order) and type(a) is not type(ref)  # a HorizonOrder: see fast_repr
    for f in dataclasses.fields(Order):
        mine, theirs = getattr(a, f.name), getattr(ref, f.name)
        assert type(mine) is type(theirs), f.name
        if isinstance(mine, (str, int, float, bool, list)):
            assert mine == theirs or math.isnan(mine), f.name  # nan is nan
        if not isinstance(mine, (str, int, float, bool, type(None))):
            assert getattr(b, f.name) is not mine, f.name  # fresh per order
    a.algoParams.append("x")
    assert b.algoParams == [] and Order().algoParams == []
