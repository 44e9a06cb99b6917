"""The venue suite's fixtures: simulators (threaded or on the test's loop) and Ibkr venues
connected to them over TCP.

`gateway` is a threaded simulator whose market stands still; `priced_gateway` the same with
AAPL at 190.00 (parametrize it indirectly for other simulator options); `loop_gateway` one on
the test's own event loop, AAPL at 190.00; `gateway_factory` makes loop-bound ones with other
options. `ibkr` / `aibkr` are connected venues (blocking / on the test's loop).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest

from horizon.venues.ibkr import Ibkr
from ibgateway_sim import GatewaySimulator

STILL_MARKET: dict[str, Any] = {
    "host": "127.0.0.1",
    "port": 0,
    "accounts": ["DU1234567"],
    "seed": 7,
    "step_interval": None,
}


@contextlib.asynccontextmanager
async def loop_simulator(**options: Any) -> AsyncIterator[GatewaySimulator]:
    """A simulator on the running loop, its market still unless `options` say otherwise."""
    async with GatewaySimulator(**{**STILL_MARKET, **options}) as sim:
        yield sim


@pytest.fixture
def gateway() -> Iterator[GatewaySimulator]:
    """A simulator on 127.0.0.1:<free port> in a background thread (one paper account).

    Its market stands still: prices move only through `set_price` / `step`."""
    sim = GatewaySimulator(**STILL_MARKET)
    sim.start()
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture
def priced_gateway(request: pytest.FixtureRequest) -> Iterator[GatewaySimulator]:
    """A threaded simulator with AAPL at 190.00 (indirect parametrization passes options)."""
    sim = GatewaySimulator(**{**STILL_MARKET, **getattr(request, "param", {})})
    sim.start()
    sim.set_price("AAPL", Decimal("190.00"))
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture
async def loop_gateway() -> AsyncIterator[GatewaySimulator]:
    """A simulator on the test's loop, AAPL at 190.00."""
    async with loop_simulator() as sim:
        sim.set_price("AAPL", Decimal("190.00"))
        yield sim


@pytest.fixture
def gateway_factory() -> Callable[..., contextlib.AbstractAsyncContextManager[GatewaySimulator]]:
    """`async with gateway_factory(accounts=[...], read_only=True) as sim:` for other options."""
    return loop_simulator


@pytest.fixture
def ibkr(gateway: GatewaySimulator) -> Iterator[Ibkr]:
    """A connected Ibkr (blocking API) on the `gateway` simulator."""
    venue = Ibkr(port=gateway.port, paper=True, client_id=1, commission_grace=0.5)
    venue.connect()
    try:
        yield venue
    finally:
        venue.close()


@pytest.fixture
async def aibkr(gateway: GatewaySimulator) -> AsyncIterator[Ibkr]:
    """A connected Ibkr living on the test's own event loop (the *_async API)."""
    venue = Ibkr(port=gateway.port, paper=True, client_id=2, commission_grace=0.5)
    await venue.connect_async()
    try:
        yield venue
    finally:
        await venue.close_async()
