"""Shared fixtures: a simulator in its own thread, and Ibkr venues connected to it over TCP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from ibgateway_sim import GatewaySimulator


@pytest.fixture
def gateway() -> Iterator[GatewaySimulator]:
    """A simulator on 127.0.0.1:<free port> in a background thread (one paper account).

    Its market stands still: prices move only through `set_price` / `step`."""
    sim = GatewaySimulator(
        host="127.0.0.1", port=0, accounts=["DU1234567"], seed=7, step_interval=None
    )
    sim.start()
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture
def ibkr(gateway: GatewaySimulator) -> Iterator[object]:
    """A connected Ibkr (blocking API) on the `gateway` simulator."""
    from horizon.venues.ibkr import Ibkr

    venue = Ibkr(port=gateway.port, paper=True, client_id=1, commission_grace=0.5)
    venue.connect()
    try:
        yield venue
    finally:
        venue.close()


@pytest.fixture
async def aibkr(gateway: GatewaySimulator) -> AsyncIterator[object]:
    """A connected Ibkr living on the test's own event loop (the *_async API)."""
    from horizon.venues.ibkr import Ibkr

    venue = Ibkr(port=gateway.port, paper=True, client_id=2, commission_grace=0.5)
    await venue.connect_async()
    try:
        yield venue
    finally:
        await venue.close_async()
