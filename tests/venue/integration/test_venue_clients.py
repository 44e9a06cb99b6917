"""Several processes on one gateway: each venue hands out its own fills; client 0 sees TWS's."""

from __future__ import annotations

from decimal import Decimal

from horizon.core import OrderAction, OrderStatus
from horizon.venues.ibkr import Ibkr
from horizon.venues.ibkr.resilience import ConnectionState
from ibgateway_sim import GatewaySimulator
from tests.support import Events


def test_each_client_drains_only_its_own_fills(gateway: GatewaySimulator) -> None:
    gateway.set_price("AAPL", Decimal("190.00"))
    one = Ibkr(port=gateway.port, paper=True, client_id=1, commission_grace=0.3)
    two = Ibkr(port=gateway.port, paper=True, client_id=2, commission_grace=0.3)
    one.connect()
    two.connect()
    try:
        a = one.submit(OrderAction(market_id="AAPL", side="buy", quantity=Decimal(1)))
        b = two.submit(OrderAction(market_id="AAPL", side="buy", quantity=Decimal(2)))
        one.wait_for_status(a, OrderStatus.FILLED, timeout=5)
        two.wait_for_status(b, OrderStatus.FILLED, timeout=5)
        [fa] = one.wait_fills(1, timeout=5)
        [fb] = two.wait_fills(1, timeout=5)
        assert (fa.order_id, fa.quantity) == (a, Decimal(1))
        assert (fb.order_id, fb.quantity) == (b, Decimal(2))
        gateway.inject_manual_order(  # a TWS user's order: clientId 0, not ours
            symbol="AAPL", action="BUY", quantity=Decimal(5), order_type="LMT",
            limit_price=Decimal("191.00"),
        )
        gateway.wait_for(lambda: len(gateway.executions()) == 3, timeout=5)
        # a reconnect replays every client's executions; still nothing foreign comes out
        heard_one, heard_two = Events(), Events()
        one.add_listener(heard_one)
        two.add_listener(heard_two)
        gateway.restart(downtime=0.2)
        heard_one.wait(ConnectionState.RECONNECTED, timeout=10)  # the venue's, not the socket's
        heard_two.wait(ConnectionState.RECONNECTED, timeout=10)
        assert {1, 2} <= gateway.connected_client_ids()
        assert one.health_check() and two.health_check()
        assert one.drain_fills() == [] and two.drain_fills() == []
    finally:
        one.close()
        two.close()


def test_client_zero_receives_orders_entered_in_tws(gateway: GatewaySimulator) -> None:
    gateway.set_price("AAPL", Decimal("190.00"))
    with Ibkr(port=gateway.port, paper=True, client_id=0, commission_grace=0.3) as manual:
        gateway.inject_manual_order(
            symbol="AAPL", action="BUY", quantity=Decimal(3), order_type="LMT",
            limit_price=Decimal("191.00"),
        )
        [fill] = manual.wait_fills(1, timeout=5)
        [truth] = gateway.executions()
        assert fill.exec_id == truth.exec_id and fill.quantity == Decimal(3)


def test_a_new_process_adopts_its_client_ids_open_orders(gateway: GatewaySimulator) -> None:
    """Open orders of this client id placed by an earlier run are visible and cancellable."""
    from horizon.core import OrderStatus as S

    first = Ibkr(port=gateway.port, paper=True, client_id=3)
    first.connect()
    oid = first.submit(OrderAction(market_id="AAPL", side="buy", quantity=Decimal(2),
                                   order_type="limit", limit_price="150.00"))
    first.wait_for_status(oid, S.ACCEPTED, timeout=5)
    first.close()  # the process goes away; its order stays at the gateway
    gateway.wait_for(lambda: 3 not in gateway.connected_client_ids(), timeout=5)

    with Ibkr(port=gateway.port, paper=True, client_id=3) as second:
        [view] = second.open_orders()
        assert view.order_id == oid and view.market_id == "AAPL"
        assert view.quantity == Decimal(2) and view.limit_price == Decimal("150.00")
        assert view.status is S.ACCEPTED
        second.cancel(oid)
        assert second.wait_for_status(oid, timeout=5) is S.CANCELED
