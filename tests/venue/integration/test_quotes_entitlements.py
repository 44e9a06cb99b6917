"""Quotes from an account without real-time permission: delayed data, flagged as such."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from horizon.errors import VenueRejected
from horizon.venues.ibkr import Ibkr
from ibgateway_sim import GatewaySimulator


@pytest.fixture
def no_realtime() -> Iterator[GatewaySimulator]:
    sim = GatewaySimulator(host="127.0.0.1", port=0, seed=2, step_interval=None,
                           realtime_data=["MSFT"])  # real-time for MSFT only
    sim.start()
    try:
        yield sim
    finally:
        sim.stop()


def test_snapshot_without_subscription_is_delayed_and_says_so(
    no_realtime: GatewaySimulator,
) -> None:
    no_realtime.set_price("AAPL", Decimal("190.00"))
    no_realtime.set_price("MSFT", Decimal("400.00"))
    with Ibkr(port=no_realtime.port, paper=True, client_id=1) as ibkr:
        msft = ibkr.quote("MSFT")
        assert msft.delayed is False and msft.last == Decimal("400.00")
        aapl = ibkr.quote("AAPL")
        assert aapl.delayed is True  # never passed off as real-time
        assert aapl.last == Decimal("190.00")


def test_no_data_at_all_is_a_typed_refusal() -> None:
    sim = GatewaySimulator(host="127.0.0.1", port=0, seed=2, step_interval=None,
                           realtime_data=False, delayed_data=False)
    sim.start()
    try:
        with Ibkr(port=sim.port, paper=True, client_id=1) as ibkr, pytest.raises(VenueRejected):
            ibkr.quote("AAPL")
    finally:
        sim.stop()
