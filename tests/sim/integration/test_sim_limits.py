"""The simulator under an abusive client: a flood does not starve the others, a client that does
not read (or floods a +PACEAPI backlog) is cut off, log lines stay few, sockets that never
complete a handshake are closed, and connections are capped."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import pytest

from ibgateway_sim import GatewaySimulator
from ibgateway_sim.limits import Limits
from ibgateway_sim.wire import messages as m
from ibgateway_sim.wire.codec import ClientConnection
from tests.sim.clients import connect_ib

SimFactory = Callable[..., contextlib.AbstractAsyncContextManager[GatewaySimulator]]


async def flood(port: int, *, paced: bool, requests: int) -> asyncio.StreamWriter:
    """Start an API session, then send `requests` reqCurrentTime at once and never read."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    conn = ClientConnection(options="+PACEAPI" if paced else "")
    writer.write(conn.hello_bytes)
    while not conn.version:
        conn.receive_data(await reader.read(65536))
        conn.next_event()
    writer.write(conn.send(m.StartApi(client_id=77)))
    writer.write(conn.send(m.ReqCurrentTime()) * requests)
    return writer


async def close(writer: asyncio.StreamWriter) -> None:
    writer.transport.abort()
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()


@pytest.mark.parametrize("paced", [False, True], ids=["unpaced", "paced"])
async def test_a_flooding_client_is_cut_off_and_the_others_are_served(
    sim_factory: SimFactory, paced: bool, caplog: pytest.LogCaptureFixture
) -> None:
    limits = Limits(max_unsent_bytes=1 << 20, max_backlog=5_000)
    async with sim_factory(limits=limits) as sim:
        good = await connect_ib(sim, client_id=1)
        with caplog.at_level(logging.WARNING, logger="ibgateway_sim"):
            writer = await flood(sim.port, paced=paced, requests=300_000)
            try:
                for _ in range(5):  # the well-behaved client keeps being answered
                    await asyncio.wait_for(good.reqCurrentTimeAsync(), 2.0)
                await sim.wait_for_async(lambda: sim.disconnected_for_limits == 1, timeout=20)
                await sim.wait_for_async(lambda: 77 not in sim.connected_client_ids())
                assert 1 in sim.connected_client_ids()
                await asyncio.wait_for(good.reqCurrentTimeAsync(), 2.0)
            finally:
                await close(writer)
                good.disconnect()
        lines = [r for r in caplog.records if r.name.startswith("ibgateway_sim")]
        assert len(lines) < 40, f"{len(lines)} log lines for one flood"
        reason = "backlog is full" if paced else "does not read"
        assert any(reason in r.getMessage() for r in lines)


async def test_a_socket_that_never_completes_a_handshake_is_closed(
    sim_factory: SimFactory,
) -> None:
    async with sim_factory(limits=Limits(handshake_timeout=0.3)) as sim:
        reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
        try:
            assert await asyncio.wait_for(reader.read(), 5) == b""  # EOF: closed by the gateway
            await sim.wait_for_async(lambda: not sim.sessions(), timeout=5)
        finally:
            writer.close()


async def test_connections_beyond_the_cap_are_closed_on_accept(sim_factory: SimFactory) -> None:
    async with sim_factory(limits=Limits(max_connections=2)) as sim:
        first = await connect_ib(sim, client_id=1)
        second = await connect_ib(sim, client_id=2)
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
            with contextlib.suppress(ConnectionError):
                assert await asyncio.wait_for(reader.read(), 5) == b""
            writer.close()
            assert sim.connected_client_ids() == {1, 2}
            await asyncio.wait_for(first.reqCurrentTimeAsync(), 2.0)
        finally:
            first.disconnect()
            second.disconnect()


@pytest.mark.parametrize(
    "bad",
    [{"batch": 0}, {"max_backlog": -1}, {"handshake_timeout": 0}, {"max_connections": True}],
)
def test_limits_refuse_nonsense(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=next(iter(bad))):
        Limits(**bad)
