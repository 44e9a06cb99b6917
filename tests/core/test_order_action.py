"""Every validation rule of OrderAction, each with a failing example."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from horizon.core import OrderAction, OrderType, Side, TimeInForce
from horizon.errors import InvalidOrder

FUTURE = datetime.now(UTC) + timedelta(days=3)


def act(**kw: object) -> OrderAction:
    base: dict[str, object] = {"market_id": "AAPL", "side": "buy", "quantity": Decimal(10)}
    base.update(kw)
    return OrderAction(**base)  # type: ignore[arg-type]


def test_plain_strings_become_enums() -> None:
    a = act(order_type="limit", limit_price="101.25", tif="GTC", side="sell")
    assert a.order_type is OrderType.LIMIT
    assert a.side is Side.SELL
    assert a.tif is TimeInForce.GTC
    assert a.limit_price == Decimal("101.25")


def test_enums_accepted_as_themselves() -> None:
    a = act(order_type=OrderType.STOP, stop_price=Decimal(95), side=Side.BUY)
    assert a.order_type is OrderType.STOP and a.stop_price == Decimal(95)


def test_int_and_str_become_decimal() -> None:
    assert act(quantity=5).quantity == Decimal(5)
    assert act(quantity="0.5").quantity == Decimal("0.5")


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"market_id": ""}, "market_id"),
        ({"market_id": "   "}, "market_id"),
        ({"side": "long"}, "side"),
        ({"order_type": "iceberg"}, "order_type"),
        ({"tif": "FOREVER"}, "tif"),
        ({"quantity": 0}, "quantity"),
        ({"quantity": -1}, "quantity"),
        ({"quantity": 1.5}, "quantity"),
        ({"quantity": "NaN"}, "quantity"),
        ({"quantity": "Infinity"}, "quantity"),
        ({"quantity": "ten"}, "quantity"),
        ({"quantity": True}, "quantity"),
        ({"quantity": [1]}, "quantity"),
        ({"order_type": "limit"}, "limit_price"),
        ({"order_type": "limit", "limit_price": 101.5}, "limit_price"),
        ({"order_type": "limit", "limit_price": "-1"}, "limit_price"),
        ({"order_type": "limit", "limit_price": "1", "stop_price": "2"}, "stop_price"),
        ({"order_type": "market", "limit_price": "1"}, "limit_price"),
        ({"order_type": "market", "stop_price": "1"}, "stop_price"),
        ({"order_type": "market", "trail_percent": "1"}, "trail_percent"),
        ({"order_type": "stop"}, "stop_price"),
        ({"order_type": "stop", "stop_price": "1", "limit_price": "1"}, "limit_price"),
        ({"order_type": "stop_limit", "stop_price": "1"}, "limit_price"),
        ({"order_type": "stop_limit", "limit_price": "1"}, "stop_price"),
        ({"order_type": "stop_limit", "limit_price": "1", "stop_price": "1",
          "trail_amount": "1"}, "trail_amount"),
        ({"order_type": "trailing_stop"}, "trail_percent"),
        ({"order_type": "trailing_stop", "trail_percent": "1", "trail_amount": "1"},
         "trail_percent"),
        ({"order_type": "trailing_stop", "trail_percent": "100"}, "trail_percent"),
        ({"order_type": "trailing_stop", "trail_amount": "1", "limit_price": "1"}, "limit_price"),
        ({"order_type": "trailing_stop", "trail_amount": "0"}, "trail_amount"),
        ({"tif": "GTD"}, "good_till"),
        ({"tif": "GTD", "good_till": datetime(2099, 1, 1)}, "good_till"),
        ({"tif": "GTD", "good_till": datetime.now(UTC) - timedelta(seconds=1)}, "good_till"),
        ({"tif": "DAY", "good_till": FUTURE}, "good_till"),
        ({"account": ""}, "account"),
    ],
)
def test_refusals_name_the_field(kw: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidOrder) as info:
        act(**kw)
    assert info.value.field == field
    assert field in str(info.value)


def test_invalid_order_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="quantity"):
        act(quantity=0)


def test_gtd_is_normalised_to_utc() -> None:
    from zoneinfo import ZoneInfo

    local = (datetime.now(UTC) + timedelta(days=2)).astimezone(ZoneInfo("America/New_York"))
    a = act(order_type="limit", limit_price="1", tif="GTD", good_till=local)
    assert a.good_till is not None and a.good_till.tzinfo is UTC
    assert a.good_till == local


def test_trailing_with_amount_or_percent() -> None:
    assert act(order_type="trailing_stop", trail_amount="0.5").trail_amount == Decimal("0.5")
    assert act(order_type="trailing_stop", trail_percent="2").trail_percent == Decimal(2)
    seeded = act(order_type="trailing_stop", trail_percent="2", stop_price="90")
    assert seeded.stop_price == Decimal(90)


def test_frozen() -> None:
    a = act()
    with pytest.raises(AttributeError):
        a.quantity = Decimal(1)  # type: ignore[misc]


def test_order_status_helpers() -> None:
    from horizon.core import OrderStatus

    terminal = {s for s in OrderStatus if s.is_terminal}
    assert terminal == {OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED}
    assert all(s.is_open for s in set(OrderStatus) - terminal)


def test_venue_fill_refuses_naive_timestamp() -> None:
    from horizon.core import VenueFill

    kw: dict[str, object] = dict(
        venue="ibkr", order_id="1", exec_id="e.01", market_id="AAPL", side="buy",
        quantity=Decimal(1), price=Decimal(1), fee=None, fee_currency=None, account="DU1",
    )
    with pytest.raises(InvalidOrder, match="timestamp"):
        VenueFill(timestamp=datetime(2025, 1, 1), **kw)  # type: ignore[arg-type]
    fill = VenueFill(timestamp=datetime(2025, 1, 1, tzinfo=UTC), **kw)  # type: ignore[arg-type]
    assert fill.timestamp.tzinfo is UTC


def test_a_bool_quantity_is_not_called_a_float() -> None:
    with pytest.raises(InvalidOrder, match="must be a number, got the bool True"):
        OrderAction(market_id="AAPL", side="buy", quantity=True)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["AAPL:", ":AAPL", "OPT::20260619:180:C", " AAPL", "FX: EUR.USD"])
def test_a_market_id_with_an_empty_part_is_refused_when_the_action_is_built(bad: str) -> None:
    with pytest.raises(InvalidOrder) as err:
        OrderAction(market_id=bad, side="buy", quantity=1)
    assert err.value.field == "market_id"


@pytest.mark.parametrize(
    ("fields", "bad_field"),
    [
        ({"order_type": "market_if_touched"}, "stop_price"),
        ({"order_type": "limit_if_touched", "stop_price": "9"}, "limit_price"),
        ({"order_type": "trailing_stop_limit", "trail_amount": "1"}, "limit_offset"),
        ({"order_type": "trailing_stop_limit", "limit_offset": "1"}, "trail_percent"),
        ({"order_type": "relative"}, "offset"),
        ({"order_type": "relative", "offset": "0.1", "stop_price": "9"}, "stop_price"),
        ({"order_type": "limit_on_close"}, "limit_price"),
        ({"order_type": "market_on_close", "limit_price": "1"}, "limit_price"),
        ({"order_type": "market_on_close", "tif": "GTC"}, "tif"),
        ({"order_type": "market_on_open", "tif": "IOC"}, "tif"),
        ({"order_type": "midprice", "offset": "0.1"}, "offset"),
        ({"order_type": "pegged_to_midpoint", "offset": "-0.1"}, "offset"),
        ({"order_type": "market_to_limit", "limit_price": "1"}, "limit_price"),
        ({"order_type": "limit", "limit_price": "1", "offset": "1"}, "offset"),
    ],
)
def test_each_new_order_type_asks_for_its_prices_and_no_others(
    fields: dict[str, object], bad_field: str
) -> None:
    with pytest.raises(InvalidOrder) as err:
        OrderAction(market_id="AAPL", side="buy", quantity=1, **fields)  # type: ignore[arg-type]
    assert err.value.field == bad_field


def test_the_new_order_types_build_with_their_prices() -> None:
    for fields in (
        {"order_type": "market_if_touched", "stop_price": "9"},
        {"order_type": "limit_if_touched", "stop_price": "9", "limit_price": "9.1"},
        {"order_type": "trailing_stop_limit", "trail_percent": "1", "limit_offset": "0.05"},
        {"order_type": "market_on_close"},
        {"order_type": "limit_on_close", "limit_price": "10"},
        {"order_type": "market_on_open", "tif": "OPG"},
        {"order_type": "limit_on_open", "limit_price": "10"},
        {"order_type": "relative", "offset": "0.01", "limit_price": "10"},
        {"order_type": "midprice"},
        {"order_type": "pegged_to_midpoint", "offset": "0"},
        {"order_type": "market_to_limit"},
        {"order_type": "limit", "limit_price": "10", "tif": "FOK"},
    ):
        action = OrderAction(market_id="AAPL", side="buy", quantity=1, **fields)  # type: ignore[arg-type]
        assert action.order_type.value == fields["order_type"]
