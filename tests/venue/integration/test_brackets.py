"""Bracket and OCO tickets over TCP: real ib_async -> GatewaySimulator, prices moved by hand."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from typing import Any

import pytest

from horizon.core import OrderAction, OrderStatus
from horizon.errors import InvalidOrder, UnknownTicket, VenueUnavailable
from horizon.venues.ibkr.mapping.tickets import bracket_legs
from horizon.venues.ibkr.resilience import ConnectionState
from horizon.venues.ibkr.venue import Ibkr
from ibgateway_sim import GatewaySimulator
from tests.support import Events

CID = 5


@pytest.fixture
def venue(priced_gateway: GatewaySimulator) -> Iterator[Any]:
    v = Ibkr(port=priced_gateway.port, paper=True, client_id=CID, commission_grace=0.5)
    v.connect()
    try:
        yield v
    finally:
        v.close()


@pytest.fixture
async def avenue(loop_gateway: GatewaySimulator) -> AsyncIterator[Any]:
    v = Ibkr(port=loop_gateway.port, paper=True, client_id=CID, commission_grace=0.5)
    await v.connect_async()
    try:
        yield v
    finally:
        await v.close_async()


def action(**kw: object) -> OrderAction:
    base: dict[str, object] = {"market_id": "AAPL", "side": "buy", "quantity": Decimal(10)}
    base.update(kw)
    return OrderAction(**base)  # type: ignore[arg-type]


def engine_status(sim: GatewaySimulator, order_id: str) -> str | None:
    st = sim.engine.order(CID, int(order_id))
    return None if st is None else st.status


def test_bracket_entry_fill_releases_children_then_take_profit_cancels_stop(
    venue: Any, priced_gateway: GatewaySimulator
) -> None:
    venue.qualify("AAPL")
    granted = venue.stats.requests_sent
    ticket = venue.submit_bracket(
        action(order_type="limit", limit_price="189.00", client_order_id="b1"),
        Decimal("195.00"),
        Decimal("185.00"),
    )
    assert venue.stats.requests_sent - granted == 3  # one token per leg
    entry, take, stop = venue.ticket_legs(ticket)
    assert venue.ticket(ticket).leg("stop_loss") == stop
    assert venue.wait_for_status(entry, OrderStatus.ACCEPTED, timeout=5) is OrderStatus.ACCEPTED
    priced_gateway.wait_for(
        lambda: engine_status(priced_gateway, stop) == "PreSubmitted", timeout=5
    )
    # the children are held by the gateway until the parent fills
    assert engine_status(priced_gateway, take) == "PreSubmitted"
    assert {venue.order_status(take), venue.order_status(stop)} == {OrderStatus.PENDING_NEW}

    priced_gateway.set_price("AAPL", Decimal("188.50"))  # the ask crosses the entry limit
    assert venue.wait_for_status(entry, OrderStatus.FILLED, timeout=5) is OrderStatus.FILLED
    venue.wait_for_status(take, OrderStatus.ACCEPTED, timeout=5)
    venue.wait_for_status(stop, OrderStatus.ACCEPTED, timeout=5)

    priced_gateway.set_price("AAPL", Decimal("196.00"))  # through the take profit
    assert venue.wait_for_status(take, OrderStatus.FILLED, timeout=5) is OrderStatus.FILLED
    assert venue.wait_for_status(stop, OrderStatus.CANCELED, timeout=5) is OrderStatus.CANCELED
    fills = venue.wait_fills(2, timeout=5)
    assert sum(f.quantity for f in fills if f.order_id == entry) == Decimal(10)
    assert sum(f.quantity for f in fills if f.order_id == take) == Decimal(10)
    assert {f.client_order_id for f in fills} == {"b1", "b1:tp"}
    assert not [f for f in fills if f.order_id == stop]
    assert venue.cancel_ticket(ticket) == []  # nothing left open


async def test_sell_bracket_stop_loss_cancels_take_profit(
    avenue: Any, loop_gateway: GatewaySimulator
) -> None:
    ticket = await avenue.submit_bracket_async(
        action(side="sell", quantity=Decimal(5)), Decimal("180.00"), Decimal("195.00")
    )
    entry, take, stop = avenue.ticket_legs(ticket)
    await avenue.wait_for_status_async(entry, OrderStatus.FILLED, timeout=5)
    await avenue.wait_for_status_async(stop, OrderStatus.ACCEPTED, timeout=5)
    loop_gateway.set_price("AAPL", Decimal("195.50"))
    assert await avenue.wait_for_status_async(stop, OrderStatus.FILLED, timeout=5) == "filled"
    assert await avenue.wait_for_status_async(take, OrderStatus.CANCELED, timeout=5) == "canceled"
    [truth_entry, truth_stop] = loop_gateway.executions()
    assert (truth_entry.side, truth_stop.side) == ("SLD", "BOT")
    assert await avenue.positions_async() == []


@pytest.mark.parametrize(
    ("tp", "sl", "leg"),
    [
        ("185.00", "195.00", "stop_loss"),  # inverted for a buy
        ("195.005", "185.00", "take_profit"),  # off the 0.01 tick grid
        ("195.00", "185.001", "stop_loss"),
    ],
)
def test_invalid_bracket_sends_nothing(
    venue: Any, priced_gateway: GatewaySimulator, tp: str, sl: str, leg: str
) -> None:
    venue.qualify("AAPL")
    granted = venue.stats.requests_sent
    with pytest.raises(InvalidOrder) as err:
        venue.submit_bracket(
            action(order_type="limit", limit_price="190.00"), Decimal(tp), Decimal(sl)
        )
    assert err.value.field == leg
    assert venue.stats.requests_sent == granted
    assert (
        priced_gateway.engine.open_orders() == [] and priced_gateway.engine.completed_orders() == []
    )
    assert venue.open_orders() == []


async def test_the_gateway_never_works_a_parent_before_its_last_child(
    avenue: Any, loop_gateway: GatewaySimulator
) -> None:
    """The transmit pattern of `bracket_legs` against the simulator, one leg at a time."""
    ib = avenue.ib
    contract = await avenue.qualify_async("AAPL")
    ids = [ib.client.getReqId() for _ in range(3)]
    legs = bracket_legs(
        action(), Decimal("195.00"), Decimal("185.00"), account="DU1234567", order_ids=ids
    )
    ib.placeOrder(contract, legs[0].order)  # a marketable parent, not transmitted
    ib.placeOrder(contract, legs[1].order)
    await loop_gateway.wait_for_async(
        lambda: loop_gateway.engine.order(CID, ids[1]) is not None, timeout=5
    )
    assert loop_gateway.engine.order(CID, ids[0]).status == "PreSubmitted"  # type: ignore[union-attr]
    assert loop_gateway.executions() == []
    ib.placeOrder(contract, legs[2].order)  # the last child transmits the whole bracket
    await loop_gateway.wait_for_async(lambda: len(loop_gateway.executions()) == 1, timeout=5)
    assert loop_gateway.executions()[0].order_id == ids[0]
    await loop_gateway.wait_for_async(
        lambda: all(
            loop_gateway.engine.order(CID, i).status == "Submitted"  # type: ignore[union-attr]
            for i in ids[1:]
        ),
        timeout=5,
    )


def test_cancel_ticket_with_the_entry_open_cancels_all_three(
    venue: Any, priced_gateway: GatewaySimulator
) -> None:
    ticket = venue.submit_bracket(
        action(order_type="limit", limit_price="180.00"), Decimal("195.00"), Decimal("175.00")
    )
    legs = venue.ticket_legs(ticket)
    venue.wait_for_status(legs[0], OrderStatus.ACCEPTED, timeout=5)
    assert venue.cancel_ticket(ticket) == legs
    for leg in legs:
        assert venue.wait_for_status(leg, OrderStatus.CANCELED, timeout=5) is OrderStatus.CANCELED
    assert priced_gateway.engine.open_orders() == [] and priced_gateway.executions() == []


async def test_cancel_ticket_after_the_entry_filled_cancels_the_children(
    avenue: Any, loop_gateway: GatewaySimulator
) -> None:
    ticket = await avenue.submit_bracket_async(action(), Decimal("195.00"), Decimal("185.00"))
    entry, take, stop = avenue.ticket_legs(ticket)
    await avenue.wait_for_status_async(entry, OrderStatus.FILLED, timeout=5)
    await avenue.wait_for_status_async(stop, OrderStatus.ACCEPTED, timeout=5)
    assert await avenue.cancel_ticket_async(ticket) == [take, stop]
    for leg in (take, stop):
        await avenue.wait_for_status_async(leg, OrderStatus.CANCELED, timeout=5)
    assert await avenue.order_status_async(entry) is OrderStatus.FILLED
    assert loop_gateway.engine.open_orders() == []


async def test_oco_fill_of_one_cancels_the_other(
    avenue: Any, loop_gateway: GatewaySimulator
) -> None:
    ticket = await avenue.submit_oco_async(
        [
            action(order_type="limit", limit_price="185.00"),  # buy the dip ...
            action(order_type="stop", stop_price="195.00"),  # ... or the breakout
        ]
    )
    dip, breakout = avenue.ticket_legs(ticket)
    await avenue.wait_for_status_async(breakout, OrderStatus.ACCEPTED, timeout=5)
    requests = [loop_gateway.engine.order(CID, int(i)).request for i in (dip, breakout)]  # type: ignore[union-attr]
    assert requests[0].oca_group == requests[1].oca_group == avenue.ticket(ticket).oca_group
    assert {r.oca_type for r in requests} == {1}
    loop_gateway.set_price("AAPL", Decimal("195.50"))
    assert await avenue.wait_for_status_async(breakout, OrderStatus.FILLED, timeout=5) == "filled"
    assert await avenue.wait_for_status_async(dip, OrderStatus.CANCELED, timeout=5) == "canceled"
    assert [e.order_id for e in loop_gateway.executions()] == [int(breakout)]


@pytest.mark.parametrize("priced_gateway", [{"liquidity": Decimal(4)}], indirect=True)
def test_oco_type_2_reduces_the_others_by_each_partial_fill(
    venue: Any, priced_gateway: GatewaySimulator
) -> None:
    ticket = venue.submit_oco(
        [
            action(side="sell", order_type="limit", limit_price="200.00"),
            action(side="sell", order_type="stop", stop_price="180.00"),
        ],
        oca_type=2,
    )
    take, stop = venue.ticket_legs(ticket)
    venue.wait_for_status(stop, OrderStatus.ACCEPTED, timeout=5)
    priced_gateway.set_price("AAPL", Decimal("201.00"))  # liquidity 4: fills 4 of 10 per pass
    priced_gateway.wait_for(
        lambda: priced_gateway.engine.order(CID, int(stop)).remaining == 6,  # type: ignore[union-attr]
        timeout=5,
    )
    partial = venue.wait_for_status(take, OrderStatus.PARTIALLY_FILLED, timeout=5)
    assert partial is OrderStatus.PARTIALLY_FILLED
    assert venue.order_status(stop) is OrderStatus.ACCEPTED  # reduced, not cancelled
    assert venue.cancel_ticket(ticket) == [take, stop]
    for leg in (take, stop):
        venue.wait_for_status(leg, OrderStatus.CANCELED, timeout=5)
    assert priced_gateway.engine.open_orders() == []


def test_oco_refuses_bad_input_and_unknown_tickets(
    venue: Any, priced_gateway: GatewaySimulator
) -> None:
    with pytest.raises(InvalidOrder) as err:
        venue.submit_oco([action(), action()], oca_type=4)
    assert err.value.field == "oca_type"
    with pytest.raises(InvalidOrder):
        venue.submit_oco([action()])
    with pytest.raises(UnknownTicket, match="not known"):
        venue.cancel_ticket("bracket-999")
    with pytest.raises(UnknownTicket, match="not known"):
        venue.ticket_legs("nope")
    assert (
        priced_gateway.engine.open_orders() == [] and priced_gateway.engine.completed_orders() == []
    )


def place_cut_short(venue: Ibkr, place: Any) -> None:
    """Place a ticket whose connection drops after its first leg; the venue may or may not
    have noticed before the other legs went out."""
    with contextlib.suppress(VenueUnavailable):
        place()


@pytest.mark.parametrize("kind", ["bracket", "oco"])
def test_a_ticket_cut_short_between_its_legs_leaves_nothing_live(
    priced_gateway: GatewaySimulator, kind: str
) -> None:
    venue = Ibkr(
        port=priced_gateway.port, paper=True, client_id=CID + 1, reconnect_initial_delay=0.05
    )
    events = Events()
    venue.add_listener(events)
    venue.connect()
    try:
        venue.qualify("AAPL")
        priced_gateway.drop_after_next_order()
        if kind == "bracket":  # a marketable entry: held, it cannot execute
            entry = action(quantity=Decimal(1), order_type="limit", limit_price="191.00")
            place_cut_short(
                venue,
                lambda: venue.submit_bracket(
                    entry, take_profit=Decimal("200.00"), stop_loss=Decimal("180.00")
                ),
            )
        else:
            place_cut_short(
                venue,
                lambda: venue.submit_oco(
                    [
                        action(order_type="limit", limit_price="380.00"),  # marketable
                        action(order_type="limit", limit_price="95.00"),
                    ]
                ),
            )
        events.wait(ConnectionState.RECONNECTED, timeout=10)
        priced_gateway.wait_for(
            lambda: priced_gateway.engine.open_orders(CID + 1) == [], timeout=10
        )
        assert priced_gateway.executions() == []  # nothing executed, nothing twice
        for oid in [o.order_id for o in venue.orders()]:
            assert venue.wait_for_status(oid, timeout=5) in (
                OrderStatus.CANCELED,
                OrderStatus.REJECTED,
            )
    finally:
        venue.close()


def test_an_oco_with_a_marketable_first_leg_trades_once(
    venue: Any, priced_gateway: GatewaySimulator
) -> None:
    ticket = venue.submit_oco(
        [
            action(order_type="limit", limit_price="380.00"),  # 2x the ask: fills at once ...
            action(order_type="limit", limit_price="95.00"),  # ... and this one must go with it
        ]
    )
    first, second = venue.ticket_legs(ticket)
    assert venue.wait_for_status(first, timeout=5) is OrderStatus.FILLED
    assert venue.wait_for_status(second, timeout=5) is OrderStatus.CANCELED
    assert [e.order_id for e in priced_gateway.executions()] == [int(first)]
    assert priced_gateway.engine.open_orders(CID) == []


def test_an_oco_of_marketable_legs_trades_only_the_first(
    venue: Any, priced_gateway: GatewaySimulator
) -> None:
    ticket = venue.submit_oco(
        [action(order_type="limit", limit_price=price) for price in ("191.00", "192.00", "193.00")]
    )
    legs = venue.ticket_legs(ticket)
    assert [venue.wait_for_status(leg, timeout=5) for leg in legs] == [
        OrderStatus.FILLED,
        OrderStatus.CANCELED,
        OrderStatus.CANCELED,
    ]
    assert [e.order_id for e in priced_gateway.executions()] == [int(legs[0])]


def test_a_sibling_the_gateway_leaves_working_is_cancelled_by_the_venue(
    venue: Any, priced_gateway: GatewaySimulator, caplog: pytest.LogCaptureFixture
) -> None:
    ticket = venue.submit_oco(
        [
            action(order_type="limit", limit_price="185.00"),
            action(order_type="stop", stop_price="195.00"),
        ]
    )
    dip, breakout = venue.ticket_legs(ticket)
    venue.wait_for_status(breakout, OrderStatus.ACCEPTED, timeout=5)
    priced_gateway.skip_next_oca_cancel()  # the overfill IB warns of
    with caplog.at_level(logging.WARNING, logger="horizon.venues.ibkr"):
        priced_gateway.set_price("AAPL", Decimal("195.50"))
        assert venue.wait_for_status(breakout, timeout=5) is OrderStatus.FILLED
        assert engine_status(priced_gateway, dip) == "Submitted"  # the gateway left it working
        assert venue.wait_for_status(dip, timeout=5) is OrderStatus.CANCELED
    assert any("left legs of a one-cancels-others ticket" in r.message for r in caplog.records)
    assert [e.order_id for e in priced_gateway.executions()] == [int(breakout)]
