"""The simulator's +PACEAPI pacing and market-data entitlements, with raw ib_async."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import ib_async
import pytest

from ibgateway_sim import GatewaySimulator
from tests.sim.clients import connect_ib, until

AAPL = ib_async.Stock("AAPL", "SMART", "USD")


async def flood_current_time(ib: ib_async.IB, n: int) -> list[Any]:
    """Send `n` reqCurrentTime with ib_async's own throttle off; collect the answers."""
    answers: list[Any] = []
    original = ib.wrapper.currentTime
    ib.wrapper.currentTime = lambda t: (answers.append(t), original(t))[1]  # type: ignore[method-assign]
    ib.client.MaxRequests = 0
    for _ in range(n):
        ib.client.reqCurrentTime()
    return answers


async def test_without_paceapi_a_flood_gets_error_100(
    sim_factory: Callable[..., Any],
) -> None:
    async with sim_factory(pacing_limit=50) as sim:
        ib = await connect_ib(sim)
        errors: list[int] = []
        ib.errorEvent += lambda req_id, code, *_: errors.append(code)
        answers = await flood_current_time(ib, 80)
        await sim.wait_for_async(lambda: sim.pacing_violations > 0, timeout=5)
        await until(ib, lambda: 100 in errors, timeout=5)
        assert len(answers) < 80  # refused requests are not answered
        ib.disconnect()


async def test_with_paceapi_a_flood_is_queued_not_refused(
    sim_factory: Callable[..., Any],
) -> None:
    async with sim_factory(pacing_limit=50) as sim:
        ib = ib_async.IB()
        ib.client.setConnectOptions("+PACEAPI")
        await ib.connectAsync("127.0.0.1", sim.port, clientId=1, timeout=4)
        loop = asyncio.get_running_loop()
        started = loop.time()
        answers = await flood_current_time(ib, 80)
        await until(ib, lambda: len(answers) == 80, timeout=10)
        assert sim.pacing_violations == 0
        assert sim.max_msgs_in_window <= 50
        assert loop.time() - started >= 0.5  # worked off at the limit, not at once
        ib.disconnect()


@pytest.mark.parametrize(
    ("options", "md_type", "code", "delayed_ticks"),
    [
        ({"realtime_data": False}, 1, 10167, True),
        ({"realtime_data": ["MSFT"]}, 1, 10167, True),
        ({"realtime_data": False, "delayed_data": False}, 1, 354, False),
        ({"realtime_data": False, "delayed_data": False}, 3, 10168, False),
        ({"realtime_data": ["AAPL"]}, 1, None, False),
    ],
)
async def test_market_data_entitlements(
    sim_factory: Callable[..., Any],
    options: dict[str, Any],
    md_type: int,
    code: int | None,
    delayed_ticks: bool,
) -> None:
    async with sim_factory(**options) as sim:
        ib = await connect_ib(sim)
        errors: list[int] = []
        ib.errorEvent += lambda req_id, c, *_: errors.append(c)
        [contract] = await ib.qualifyContractsAsync(AAPL)
        ib.reqMarketDataType(md_type)
        ticker = ib.reqMktData(contract)
        if code is not None:
            await until(ib, lambda: code in errors, timeout=5)
        if code in (354, 10168):
            await ib.reqCurrentTimeAsync()  # a round trip: nothing else follows the refusal
            assert not ticker.ticks
        else:
            await until(ib, lambda: bool(ticker.ticks), timeout=5)
            kinds = {t.tickType for t in ticker.ticks}
            assert all((k >= 66) == delayed_ticks for k in kinds if k != 45), kinds
        ib.disconnect()


async def test_utc_dash_execution_times_are_sent_on_request(
    sim_factory: Callable[..., Any],
) -> None:
    async with sim_factory(exec_time_format="utc") as sim:
        ib = await connect_ib(sim)
        raw: list[str] = []
        handler = ib.client.decoder.handlers[11]

        def tap(fields: list[str]) -> None:
            raw.append(fields[15])
            handler(fields)

        ib.client.decoder.handlers[11] = tap
        [contract] = await ib.qualifyContractsAsync(AAPL)
        ib.placeOrder(contract, ib_async.MarketOrder("BUY", 1))
        await until(ib, lambda: bool(raw), timeout=5)
        assert len(raw[0]) == 17 and raw[0][8] == "-", raw[0]  # YYYYMMDD-HH:MM:SS
        ib.disconnect()


def test_unknown_exec_time_format_is_refused() -> None:
    with pytest.raises(ValueError, match="exec_time_format"):
        GatewaySimulator(exec_time_format="local")
