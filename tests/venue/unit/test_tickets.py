"""Bracket and OCO tickets (pure): validation, linking, transmit flags; and the mixin's surface."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from horizon.core import OrderAction
from horizon.errors import InvalidOrder, UnknownTicket
from horizon.venues.ibkr.mapping.tickets import (
    LegRole,
    Ticket,
    TicketKind,
    bracket_actions,
    bracket_legs,
    check_oca_type,
    oco_legs,
)

IDS = (11, 12, 13)


def entry(**kw: object) -> OrderAction:
    base: dict[str, object] = {
        "market_id": "AAPL", "side": "buy", "quantity": Decimal(10),
        "order_type": "limit", "limit_price": Decimal("190.00"),
    }
    base.update(kw)
    return OrderAction(**base)  # type: ignore[arg-type]


def test_buy_bracket_links_children_to_the_parent_and_transmits_only_the_last() -> None:
    legs = bracket_legs(entry(), Decimal("195.00"), Decimal("185.00"), account="DU1",
                        order_ids=IDS)
    assert [leg.role for leg in legs] == [LegRole.ENTRY, LegRole.TAKE_PROFIT, LegRole.STOP_LOSS]
    parent, take, stop = (leg.order for leg in legs)
    assert [o.orderId for o in (parent, take, stop)] == list(IDS)
    assert parent.parentId == 0 and take.parentId == 11 and stop.parentId == 11
    assert [o.transmit for o in (parent, take, stop)] == [False, False, True]
    assert (parent.action, parent.orderType, parent.lmtPrice) == ("BUY", "LMT", 190.0)
    assert (take.action, take.orderType, take.lmtPrice) == ("SELL", "LMT", 195.0)
    assert (stop.action, stop.orderType, stop.auxPrice) == ("SELL", "STP", 185.0)
    assert {o.totalQuantity for o in (parent, take, stop)} == {10.0}
    assert {o.account for o in (parent, take, stop)} == {"DU1"}
    assert not any(o.ocaGroup for o in (parent, take, stop))


def test_sell_bracket_is_the_mirror() -> None:
    legs = bracket_legs(entry(side="sell"), Decimal("185.00"), Decimal("195.00"),
                        account="DU1", order_ids=IDS)
    assert [leg.order.action for leg in legs] == ["SELL", "BUY", "BUY"]
    assert legs[1].action.limit_price == Decimal("185.00")
    assert legs[2].action.stop_price == Decimal("195.00")


@pytest.mark.parametrize(
    ("kw", "tp", "sl", "leg"),
    [
        ({}, "195", "190.00", "stop_loss"),  # stop at the entry
        ({}, "195", "191", "stop_loss"),  # stop above a buy entry
        ({}, "190", "185", "take_profit"),  # take profit at the entry
        ({}, "189", "185", "take_profit"),
        ({"side": "sell"}, "185", "189", "stop_loss"),  # stop below a sell entry
        ({"side": "sell"}, "191", "195", "take_profit"),
        ({"order_type": "market", "limit_price": None}, "185", "195", "stop_loss"),
        ({"order_type": "market", "limit_price": None, "side": "sell"}, "195", "185",
         "stop_loss"),
        ({"order_type": "stop", "limit_price": None, "stop_price": "200"}, "210", "201",
         "stop_loss"),
        ({}, "0", "185", "take_profit"),
        ({}, "195", "-1", "stop_loss"),
    ],
)
def test_an_inverted_bracket_is_refused_naming_the_leg(
    kw: dict[str, object], tp: str, sl: str, leg: str
) -> None:
    with pytest.raises(InvalidOrder) as err:
        bracket_legs(entry(**kw), Decimal(tp), Decimal(sl), account="DU1", order_ids=IDS)
    assert err.value.field == leg


def test_floats_and_trailing_entries_are_refused() -> None:
    with pytest.raises(InvalidOrder) as err:
        bracket_actions(entry(), 195.0, Decimal("185"))
    assert err.value.field == "take_profit"
    trailing = entry(order_type="trailing_stop", limit_price=None, trail_percent="1")
    with pytest.raises(InvalidOrder) as err:
        bracket_actions(trailing, Decimal("195"), Decimal("185"))
    assert err.value.field == "entry"


def test_stop_limit_and_market_entries_are_judged_by_their_price() -> None:
    stop_limit = entry(order_type="stop_limit", stop_price="189", limit_price="190")
    _, take, stop = bracket_actions(stop_limit, Decimal("195"), Decimal("185"))
    assert take.limit_price == Decimal("195") and stop.stop_price == Decimal("185")
    market = entry(order_type="market", limit_price=None)
    assert len(bracket_actions(market, Decimal("195"), Decimal("185"))) == 3


def test_children_copy_account_tif_and_tag_client_order_ids() -> None:
    e = entry(tif="GTC", account="DU2", client_order_id="x1", outside_rth=True)
    _, take, stop = bracket_actions(e, Decimal("195"), Decimal("185"))
    for child, suffix in ((take, "tp"), (stop, "sl")):
        assert child.tif == "GTC" and child.account == "DU2" and child.outside_rth
        assert child.client_order_id == f"x1:{suffix}"
        assert child.quantity == e.quantity and child.side == "sell"


def test_ioc_entries_get_day_children_and_gtd_is_carried() -> None:
    _, take, stop = bracket_actions(entry(tif="IOC"), Decimal("195"), Decimal("185"))
    assert take.tif == "DAY" and stop.tif == "DAY"
    until = datetime.now(UTC) + timedelta(days=2)
    _, take, _ = bracket_actions(entry(tif="GTD", good_till=until), Decimal("195"),
                                 Decimal("185"))
    assert take.tif == "GTD" and take.good_till == until


@pytest.mark.parametrize("ids", [(1, 2), (1, 1, 2), (0, 1, 2)])
def test_bracket_needs_three_distinct_ids(ids: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match="three distinct"):
        bracket_legs(entry(), Decimal("195"), Decimal("185"), account="DU1", order_ids=ids)


prices = st.decimals(min_value=Decimal("1"), max_value=Decimal("500"), places=2)


@given(e=prices, tp=prices, sl=prices, buy=st.booleans())
def test_a_bracket_is_accepted_exactly_when_its_prices_are_in_order(
    e: Decimal, tp: Decimal, sl: Decimal, buy: bool
) -> None:
    ordered = sl < e < tp if buy else tp < e < sl
    action = entry(side="buy" if buy else "sell", limit_price=e)
    try:
        legs = bracket_legs(action, tp, sl, account="DU1", order_ids=IDS)
    except InvalidOrder:
        assert not ordered
        return
    assert ordered
    assert [leg.order.transmit for leg in legs] == [False, False, True]


# ---- OCO ------------------------------------------------------------------------------------


def test_oco_orders_share_one_group_and_type() -> None:
    actions = [entry(limit_price="180"), entry(order_type="stop", limit_price=None,
                                               stop_price="200")]
    legs = oco_legs(actions, account="DU1", order_ids=(5, 6), oca_group="g1", oca_type=2)
    assert [leg.order.ocaGroup for leg in legs] == ["g1", "g1"]
    assert [leg.order.ocaType for leg in legs] == [2, 2]
    assert [leg.order.orderId for leg in legs] == [5, 6]
    assert all(leg.order.parentId == 0 for leg in legs)
    # held until the last leg transmits the group: no leg can fill before its siblings join
    assert [leg.order.transmit for leg in legs] == [False, True]
    assert {leg.role for leg in legs} == {LegRole.OCO}


@pytest.mark.parametrize("bad", [0, 4, True, "1", None])
def test_oca_type_must_be_1_2_or_3(bad: object) -> None:
    with pytest.raises(InvalidOrder) as err:
        check_oca_type(bad)
    assert err.value.field == "oca_type"


def test_oco_needs_two_orders_and_matching_ids() -> None:
    with pytest.raises(InvalidOrder) as err:
        oco_legs([entry()], account="DU1", order_ids=(1,), oca_group="g")
    assert err.value.field == "actions"
    with pytest.raises(ValueError, match="distinct order ids"):
        oco_legs([entry(), entry()], account="DU1", order_ids=(1, 1), oca_group="g")
    with pytest.raises(ValueError, match="oca_group"):
        oco_legs([entry(), entry()], account="DU1", order_ids=(1, 2), oca_group=" ")


def test_ticket_names_its_legs() -> None:
    t = Ticket(ticket_id="bracket-1", kind=TicketKind.BRACKET, order_ids=("1", "2", "3"),
               roles=(LegRole.ENTRY, LegRole.TAKE_PROFIT, LegRole.STOP_LOSS),
               market_ids=("AAPL",))
    assert t.leg("stop_loss") == "3" and t.leg(LegRole.ENTRY) == "1"
    with pytest.raises(UnknownTicket, match="has no oco leg"):
        t.leg("oco")
    with pytest.raises(UnknownTicket, match="'foo' is not a leg role"):
        t.leg("foo")
