"""Figure 1. Submit latency: Horizon `submit_async()` -> ACCEPTED vs raw ib_async `placeOrder`
-> ``Submitted``, on the same simulator, contracts already qualified.

Limit buys far below the market (nothing fills), pacing off on both sides (a bucket of 1e6/s
and a simulator without a pacing limit), and the simulator in its own process. Samples are
taken in pairs, A/B then B/A, so drift (the simulator's order book growing, the machine's
noise) hits both clients alike. Each block runs on a fresh simulator because the engine's
per-order cost grows with the number of orders it holds.
"""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

from ib_async import IB, Contract, LimitOrder, Trade

from benchmarks._harness import (
    Figure,
    SimHost,
    interleaved,
    paired,
    percentile,
    qualify_stock,
    summary,
    verdict,
)
from horizon.core import OrderAction, OrderStatus
from horizon.venues.ibkr import Ibkr

NAME = "submit_latency"
TITLE = "submit -> accepted: Horizon vs raw ib_async"
GOAL_RATIO = 1.05  # and at most GOAL_ADDED_US added at p50 (issue: venue overhead)
GOAL_ADDED_US = 50.0


async def _raw_once(ib: IB, contract: Contract) -> float:
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()

    def on_status(trade: Trade) -> None:
        if trade.orderStatus.status == "Submitted" and not done.done():
            done.set_result(None)

    started = time.perf_counter()
    trade = ib.placeOrder(contract, LimitOrder("BUY", 1, 100.0, account="DU1234567"))
    trade.statusEvent += on_status
    if trade.orderStatus.status != "Submitted":
        await asyncio.wait_for(done, 5)
    return time.perf_counter() - started


async def _horizon_once(venue: Ibkr) -> float:
    started = time.perf_counter()
    action = OrderAction(market_id="AAPL", side="buy", quantity=Decimal(1),
                         order_type="limit", limit_price="100.00")
    oid = await venue.submit_async(action)
    await venue.wait_for_status_async(oid, OrderStatus.ACCEPTED, timeout=5)
    return time.perf_counter() - started


async def _block(pairs: int, warmup: int) -> tuple[list[float], list[float], float]:
    with SimHost("--no-pacing", log_name="submit_latency-sim") as host:
        venue = Ibkr(port=host.port, paper=True, client_id=1, rate=1e6, burst=1_000_000)
        await venue.connect_async()
        ib = IB()
        await ib.connectAsync("127.0.0.1", host.port, clientId=2)
        try:
            # ib_async holds requests beyond 45 per second in a queue of its own
            # (Client.MaxRequests); pacing is not what this figure measures, so both clients
            # turn it off (the venue's own bucket is set to 1e6/s above).
            ib.client.MaxRequests = 0
            venue.ib.client.MaxRequests = 0
            await venue.qualify_async("AAPL")
            contract = await qualify_stock(ib, "AAPL")
            runs = {"A": lambda: _horizon_once(venue), "B": lambda: _raw_once(ib, contract)}
            for first, second in interleaved(warmup):
                await runs[first]()
                await runs[second]()
            cpu0 = await host.acall("cpu")
            hz: list[float] = []
            raw: list[float] = []
            for first, second in interleaved(pairs):
                for who in (first, second):
                    took = await runs[who]()
                    (hz if who == "A" else raw).append(took)
            sim_cpu = await host.acall("cpu") - cpu0
        finally:
            ib.disconnect()
            await venue.close_async()
    return hz, raw, sim_cpu / (2 * pairs)


async def _run(quick: bool) -> Figure:
    blocks, pairs, warmup = (2, 100, 20) if quick else (8, 125, 20)
    hz: list[float] = []
    raw: list[float] = []
    sim_cpu: list[float] = []
    block_ratios: list[float] = []  # p50 / p50 of each block: its two sides ran interleaved
    block_added: list[float] = []
    for _ in range(blocks):
        h, r, c = await _block(pairs, warmup)
        hz += h
        raw += r
        sim_cpu.append(c)
        block_ratios.append(percentile(h, 50) / percentile(r, 50))
        block_added.append((percentile(h, 50) - percentile(r, 50)) * 1e6)
    hz_s, raw_s = summary(hz, 1e3), summary(raw, 1e3)
    ratio_p50 = hz_s["p50"] / raw_s["p50"]
    ratio_p99 = hz_s["p99"] / raw_s["p99"]
    pair_ratios = sorted(h / r for h, r in zip(hz, raw, strict=True))
    decided = paired(block_ratios)
    added = paired(block_added, digits=1)
    return verdict(
        decided["median"] <= GOAL_RATIO or added["median"] <= GOAL_ADDED_US,
        f"median over blocks of Horizon p50 / raw p50 <= {GOAL_RATIO:.2f} "
        f"(or <= {GOAL_ADDED_US:.0f} us added)",
        block_ratio=decided,
        block_added_us=added,
        unit="ms",
        horizon=hz_s,
        raw_ib_async=raw_s,
        ratio_p50=round(ratio_p50, 3),
        ratio_p99=round(ratio_p99, 3),
        median_pair_ratio=round(pair_ratios[len(pair_ratios) // 2], 3),
        added_us_p50=round((hz_s["p50"] - raw_s["p50"]) * 1e3, 1),
        simulator_cpu_us_per_order=round(1e6 * sum(sim_cpu) / len(sim_cpu), 1),
        samples_per_client=len(hz),
        blocks=blocks,
    )


def run(quick: bool) -> Figure:
    return asyncio.run(_run(quick))
