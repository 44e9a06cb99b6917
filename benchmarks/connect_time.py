"""Figure 4. Connect time with a large account: venue `connect_async()` vs raw
`IB.connectAsync()`, same simulator process, same client id, alternating.

Before anyone connects, the simulator's engine is seeded with a big day for client 31: 5,000
market buys spread over 1,000 stocks (so 1,000 positions, 5,000 executions with commission
reports, 5,000 completed orders) and 500 resting limit orders. Connecting downloads all of it
(positions, open orders, completed orders, account and portfolio updates, executions); the
venue also marks the day's executions as already handed out and reconciles its order ledger.
"""

from __future__ import annotations

import asyncio
import time

from ib_async import IB

from benchmarks._harness import Figure, SimHost, interleaved, summary, verdict
from horizon.venues.ibkr import Ibkr

NAME = "connect_time"
TITLE = "connect with a large account: Horizon vs raw ib_async"
CLIENT = 31
GOAL_RATIO = 1.10
TIMEOUT = 30.0


async def _raw(host: SimHost) -> tuple[float, dict[str, int]]:
    ib = IB()
    started = time.perf_counter()
    await ib.connectAsync("127.0.0.1", host.port, clientId=CLIENT, timeout=TIMEOUT)
    took = time.perf_counter() - started
    seen = {"positions": len(ib.positions()), "open_orders": len(ib.openTrades()),
            "executions": len(ib.fills())}
    ib.disconnect()
    await host.acall("wait_gone", client_id=CLIENT)
    return took, seen


async def _horizon(host: SimHost) -> tuple[float, dict[str, int]]:
    venue = Ibkr(port=host.port, paper=True, client_id=CLIENT, connect_timeout=TIMEOUT,
                 request_timeout=TIMEOUT)
    started = time.perf_counter()
    await venue.connect_async()
    took = time.perf_counter() - started
    ib = venue.ib
    seen = {"positions": len(ib.positions()), "open_orders": len(ib.openTrades()),
            "executions": len(ib.fills()), "pending_fills": venue.pending_fills()}
    await venue.close_async()
    await host.acall("wait_gone", client_id=CLIENT)
    return took, seen


async def _run(quick: bool) -> Figure:
    positions, open_orders, executions = (200, 100, 1000) if quick else (1000, 500, 5000)
    pairs = 3 if quick else 10
    seed = f"{positions},{open_orders},{executions}"
    hz: list[float] = []
    raw: list[float] = []
    seen: dict[str, dict[str, int]] = {}
    with SimHost("--no-pacing", "--large", seed, "--large-client", str(CLIENT),
                 log_name="connect_time-sim") as host:
        await _raw(host)  # warm-up: first-time imports and caches on both sides
        for first, second in interleaved(pairs):
            for who in (first, second):
                if who == "A":
                    took, seen["horizon"] = await _horizon(host)
                    hz.append(took)
                else:
                    took, seen["raw_ib_async"] = await _raw(host)
                    raw.append(took)
    hz_s, raw_s = summary(hz, 1e3, 1), summary(raw, 1e3, 1)
    ratio = hz_s["p50"] / raw_s["p50"]
    complete = all(s["positions"] == positions and s["open_orders"] == open_orders
                   and s["executions"] == executions for s in seen.values())
    return verdict(
        complete and ratio <= GOAL_RATIO,
        f"both see the whole account; Horizon p50 <= {GOAL_RATIO:.2f} x raw p50",
        unit="ms",
        account={"positions": positions, "open_orders": open_orders,
                 "executions": executions},
        horizon=hz_s,
        raw_ib_async=raw_s,
        ratio_p50=round(ratio, 3),
        added_ms_p50=round(hz_s["p50"] - raw_s["p50"], 1),
        seen=seen,
    )


def run(quick: bool) -> Figure:
    return asyncio.run(_run(quick))
