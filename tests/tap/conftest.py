"""The tap suite's fixtures: a simulator on the test's loop with AAPL at 190.00
(`loop_gateway`), a threaded one (`gateway`), and a factory of loop-bound ones with other
options (`sim_factory`), all with a still market."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest

from ibgateway_sim import GatewaySimulator

STILL_MARKET: dict[str, Any] = {
    "host": "127.0.0.1",
    "port": 0,
    "accounts": ["DU1234567"],
    "seed": 7,
    "step_interval": None,
}


@pytest.fixture
async def loop_gateway() -> AsyncIterator[GatewaySimulator]:
    async with GatewaySimulator(**STILL_MARKET) as sim:
        sim.set_price("AAPL", Decimal("190.00"))
        yield sim


@pytest.fixture
def gateway() -> Iterator[GatewaySimulator]:
    sim = GatewaySimulator(**STILL_MARKET)
    sim.start()
    try:
        yield sim
    finally:
        sim.stop()


@contextlib.asynccontextmanager
async def _loop_simulator(**options: Any) -> AsyncIterator[GatewaySimulator]:
    async with GatewaySimulator(**{**STILL_MARKET, **options}) as sim:
        yield sim


@pytest.fixture
def sim_factory() -> Callable[..., contextlib.AbstractAsyncContextManager[GatewaySimulator]]:
    """`async with sim_factory(accounts=[...]) as sim:` for other options."""
    return _loop_simulator
