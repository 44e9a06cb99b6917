"""A venue trading all day must not keep every order it ever placed in full: ib_async keeps
each Trade, its log and its fills for the session (~12 KB an order). Beyond `order_memory`
finished orders, the older ones keep only what `order()` reports."""

from __future__ import annotations

from decimal import Decimal

import pytest

from horizon.core import OrderAction, OrderStatus
from horizon.errors import ConfigurationError, InvalidOrder, UnknownOrder
from horizon.venues.ibkr import Ibkr
from ibgateway_sim import GatewaySimulator


def test_old_finished_orders_are_compacted_and_still_answer(gateway: GatewaySimulator) -> None:
    with Ibkr(port=gateway.port, paper=True, client_id=21, order_memory=4) as venue:
        filled, canceled = [], []
        for _ in range(12):
            oid = venue.submit(OrderAction(market_id="AAPL", side="buy", quantity=Decimal(1)))
            venue.wait_for_status(oid, OrderStatus.FILLED, timeout=10)
            filled.append(oid)
            oid = venue.submit(OrderAction(market_id="AAPL", side="buy", quantity=Decimal(1),
                                           order_type="limit", limit_price="100.00"))  # fmt: skip
            venue.wait_for_status(oid, OrderStatus.ACCEPTED, timeout=10)
            venue.cancel(oid)
            venue.wait_for_status(oid, OrderStatus.CANCELED, timeout=10)
            canceled.append(oid)
        fills = venue.wait_fills(12, timeout=10)
        resting = venue.submit(OrderAction(market_id="AAPL", side="buy", quantity=Decimal(2),
                                           order_type="limit", limit_price="100.00"))  # fmt: skip
        venue.wait_for_status(resting, OrderStatus.ACCEPTED, timeout=10)
        for _ in range(12):  # enough placements for a compaction round
            oid = venue.submit(OrderAction(market_id="AAPL", side="sell", quantity=Decimal(1)))
            venue.wait_for_status(oid, OrderStatus.FILLED, timeout=10)
        # ib_async forgot the old ones: its trades are the newest finished and the open one
        kept = {str(t.order.orderId) for t in venue.ib.trades()}
        assert filled[0] not in kept and canceled[0] not in kept and resting in kept
        assert len(kept) < 25
        # ... and the venue still answers for them, as before
        first = venue.order(filled[0])
        assert first.status is OrderStatus.FILLED and first.filled == Decimal(1)
        assert first.market_id == "AAPL" and first.side.value == "buy"
        assert venue.order_status(canceled[0]) is OrderStatus.CANCELED
        venue.cancel(canceled[0])  # idempotent on a finished order, compacted or not
        with pytest.raises(InvalidOrder):
            venue.amend(filled[0], quantity=Decimal(3))
        assert venue.stats.orders == 37 and venue.stats.open_orders == 1
        assert [o.order_id for o in venue.open_orders()] == [resting]
        assert len({f.exec_id for f in fills}) == 12
    with pytest.raises(ConfigurationError):
        Ibkr(port=gateway.port, paper=True, order_memory=0)


def test_orders_beyond_the_history_are_forgotten_and_say_so(gateway: GatewaySimulator) -> None:
    """A process trading all day stops growing: beyond `order_history` compacted orders the
    oldest are forgotten. Their fills were handed out all the same, the metrics still count
    them, and order() of one names the limit instead of claiming it was never placed."""
    with Ibkr(port=gateway.port, paper=True, client_id=24, order_memory=2,
              order_history=3) as venue:  # fmt: skip
        ids = []
        for _ in range(24):
            oid = venue.submit(OrderAction(market_id="AAPL", side="buy", quantity=Decimal(1)))
            venue.wait_for_status(oid, OrderStatus.FILLED, timeout=10)
            ids.append(oid)
        fills = venue.wait_fills(24, timeout=10)
        assert sorted(f.order_id for f in fills) == sorted(ids)
        with pytest.raises(UnknownOrder, match=r"forgotten \(order_history\)"):
            venue.order(ids[0])
        assert venue.order(ids[-1]).status is OrderStatus.FILLED
        assert 2 + 3 <= venue.stats.orders <= 2 + 3 + 8  # memory + history + a round's slack
        assert sum(venue.metrics_snapshot().finals.values()) == 24  # each once, kept or not
        with pytest.raises(UnknownOrder, match="use an id returned by submit"):
            venue.order(str(int(ids[-1]) + 1000))
    for bad in (-1, 1.5, True):
        with pytest.raises(ConfigurationError, match="order_history"):
            Ibkr(port=gateway.port, paper=True, order_history=bad)  # type: ignore[arg-type]


def test_a_ticket_whose_legs_were_forgotten_still_answers(gateway: GatewaySimulator) -> None:
    """Forgotten legs finished long ago: the ticket's cancel has nothing open to cancel, and
    the ticket itself (its kind and leg ids) is still known."""
    with Ibkr(port=gateway.port, paper=True, client_id=25, order_memory=1,
              order_history=0) as venue:  # fmt: skip
        legs = [OrderAction(market_id="AAPL", side="buy", quantity=Decimal(1),
                            order_type="limit", limit_price=price)
                for price in ("100.00", "101.00")]  # fmt: skip
        ticket = venue.submit_oco(legs)
        ids = venue.ticket_legs(ticket)
        assert sorted(venue.cancel_ticket(ticket)) == sorted(ids)
        for oid in ids:
            venue.wait_for_status(oid, OrderStatus.CANCELED, timeout=10)
        for _ in range(12):  # a compaction round: the legs are compacted, then forgotten
            oid = venue.submit(OrderAction(market_id="AAPL", side="buy", quantity=Decimal(1)))
            venue.wait_for_status(oid, OrderStatus.FILLED, timeout=10)
        with pytest.raises(UnknownOrder, match="forgotten"):
            venue.order(ids[0])
        assert venue.cancel_ticket(ticket) == [] and venue.ticket_legs(ticket) == ids


def test_account_streams_are_only_subscribed_when_asked_for(gateway: GatewaySimulator) -> None:
    """The venue reads balances from the account summary; ib_async's account value and
    portfolio streams (the gateway pushes ~27 changed values down each on every fill) are
    for escape-hatch code, with `account_updates=True`."""
    from ibgateway_sim.wire import messages as m

    streams = (m.ReqAccountUpdates, m.ReqAccountUpdatesMulti)
    with Ibkr(port=gateway.port, paper=True, client_id=22) as lean:
        assert lean.balance() and lean.positions() == []
        assert not [r for r in gateway.requests(22) if isinstance(r, streams)]
        assert lean.ib.accountValues() == []
    with Ibkr(port=gateway.port, paper=True, client_id=23, account_updates=True) as full:
        sent = {type(r) for r in gateway.requests(23) if isinstance(r, streams)}
        assert sent == set(streams)
        assert any(v.tag == "NetLiquidation" for v in full.ib.accountValues())
