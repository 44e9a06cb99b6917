"""Pre-trade rules over TCP: a refused order never reaches the gateway, and the reference
price of a notional or band check is the simulator's own quote."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from horizon.core import OrderAction, OrderStatus
from horizon.errors import OrderRefused
from horizon.venues.ibkr import Ibkr
from horizon.venues.ibkr.guards import Guards
from horizon.venues.ibkr.readiness import RestartWindow
from ibgateway_sim import GatewaySimulator
from ibgateway_sim.wire import messages as m

CID = 44


def venue_with(gateway: GatewaySimulator, **options: Any) -> Ibkr:
    gateway.set_price("AAPL", Decimal("190.00"))
    venue = Ibkr(port=gateway.port, paper=True, client_id=CID, **options)
    venue.connect()
    return venue


@pytest.fixture
def guarded(gateway: GatewaySimulator, tmp_path: Path) -> Iterator[Ibkr]:
    rules = Guards(max_order_notional=Decimal(10_000), price_band_pct=Decimal(3),
                   max_orders_per_day=3, kill_switch_file=tmp_path / "STOP")
    venue = venue_with(gateway, guards=rules)
    try:
        yield venue
    finally:
        venue.close()


def placed(gateway: GatewaySimulator) -> int:
    return len(gateway.requests(client_id=CID, kind=m.PlaceOrder))


def test_refusals_name_their_rule_and_send_nothing(
    guarded: Ibkr, gateway: GatewaySimulator, tmp_path: Path
) -> None:
    ok = guarded.submit(OrderAction(market_id="AAPL", side="buy", quantity=10))
    assert guarded.wait_for_status(ok, timeout=5) is OrderStatus.FILLED
    cases = [
        (OrderAction(market_id="AAPL", side="buy", quantity=100), "max_order_notional"),
        (OrderAction(market_id="AAPL", side="buy", quantity=1, order_type="limit",
                     limit_price="200.00"), "price_band"),  # 5 % through the ask
    ]
    for action, rule in cases:
        with pytest.raises(OrderRefused) as err:
            guarded.submit(action)
        assert err.value.rule == rule
    (tmp_path / "STOP").touch()
    with pytest.raises(OrderRefused, match="kill-switch file"):
        guarded.submit(OrderAction(market_id="AAPL", side="buy", quantity=1))
    assert placed(gateway) == 1  # only the first order ever reached the gateway


def test_the_kill_switch_call_can_cancel_what_rests(guarded: Ibkr) -> None:
    rest = guarded.submit(OrderAction(market_id="AAPL", side="buy", quantity=1,
                                      order_type="limit", limit_price="185.00"))
    guarded.wait_for_status(rest, OrderStatus.ACCEPTED, timeout=5)
    assert guarded.kill_switch("desk stop", cancel_all=True) == [rest]
    assert guarded.wait_for_status(rest, timeout=5) is OrderStatus.CANCELED
    with pytest.raises(OrderRefused, match="desk stop"):
        guarded.submit(OrderAction(market_id="AAPL", side="buy", quantity=1))
    guarded.resume_trading()
    again = guarded.submit(OrderAction(market_id="AAPL", side="buy", quantity=1))
    assert guarded.wait_for_status(again, timeout=5) is OrderStatus.FILLED


def test_the_days_order_count_includes_ticket_legs(guarded: Ibkr) -> None:
    guarded.submit_bracket(
        OrderAction(market_id="AAPL", side="buy", quantity=1, order_type="limit",
                    limit_price="186.00"),
        take_profit=Decimal("194.00"), stop_loss=Decimal("180.00"),
    )  # three orders: the day's limit of three is used up
    with pytest.raises(OrderRefused) as err:
        guarded.submit(OrderAction(market_id="AAPL", side="buy", quantity=1))
    assert err.value.rule == "max_orders_per_day"


def test_read_only_refuses_every_order_locally(gateway: GatewaySimulator) -> None:
    venue = venue_with(gateway, read_only=True)
    try:
        with pytest.raises(OrderRefused) as err:
            venue.submit(OrderAction(market_id="AAPL", side="buy", quantity=1))
        assert err.value.rule == "read_only"
        assert placed(gateway) == 0
        assert venue.positions() == []  # reads still work
    finally:
        venue.close()


def test_inside_the_restart_window_new_orders_are_refused(gateway: GatewaySimulator) -> None:
    now = datetime.now(UTC)
    window = RestartWindow.parse(
        f"{now - timedelta(minutes=2):%H:%M}-{now + timedelta(minutes=2):%H:%M}", "UTC"
    )
    venue = venue_with(gateway, guards=Guards(restart_window=window))
    try:
        with pytest.raises(OrderRefused) as err:
            venue.submit(OrderAction(market_id="AAPL", side="buy", quantity=1))
        assert err.value.rule == "restart_window" and placed(gateway) == 0
    finally:
        venue.close()
