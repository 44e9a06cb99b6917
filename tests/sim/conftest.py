"""The simulator suite's fixtures: a simulator on the test's loop (`sim`), a factory for other
options (`sim_factory`), a raw ib_async client on `sim` (`ib`), and raw wire clients
(`raw_factory`).

Simulators run with the price timer off (`step_interval=None`) so nothing moves unless a test
calls `set_price` or `step`; tests wait on the simulator's state or on client events, never
on sleeps.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable

import ib_async
import pytest

from ibgateway_sim import GatewaySimulator
from tests.sim.clients import RawClient, connect_ib, running_sim


@pytest.fixture
async def sim() -> AsyncIterator[GatewaySimulator]:
    async with running_sim() as s:
        yield s


@pytest.fixture
def sim_factory() -> Callable[..., contextlib.AbstractAsyncContextManager[GatewaySimulator]]:
    """`async with sim_factory(accounts=[...], read_only=True) as sim:` for other options."""
    return running_sim


@pytest.fixture
async def ib(sim: GatewaySimulator) -> AsyncIterator[ib_async.IB]:
    client = await connect_ib(sim)
    try:
        yield client
    finally:
        client.disconnect()


@pytest.fixture
async def raw_factory() -> AsyncIterator[Callable[[int], RawClient]]:
    clients: list[RawClient] = []

    def make(port: int) -> RawClient:
        client = RawClient(port)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()

