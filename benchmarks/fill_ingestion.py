"""Figure 3. Fill ingestion: client CPU per fill, raw ib_async alone vs ib_async + Horizon's fill
pipeline (taps, dedup, commission merge, drain), on identical simulator processes.

Each phase, on a fresh simulator process: the client rests K limit orders of Q shares; the
simulator (liquidity 1 share per matching pass) then runs Q passes at a marketable price as fast
as it can, so K*Q executions with their commission reports stream out, along with the
order-status, position and account updates a real gateway sends with them. Q is kept small
(10 fills per order) because ib_async formats the whole Trade, every fill so far included, into
a log message on each status change, so its cost per fill grows with the fills per order.

CPU is `time.process_time()` of this (client) process from the first pass until the last fill
is in hand: for raw ib_async, until its
`commissionReportEvent` has fired K*Q times; for Horizon, until `wait_fills_async` has handed
out K*Q fills. Phases run raw, Horizon, Horizon, raw, each on an identical fresh simulator.
"""

from __future__ import annotations

import asyncio
import gc
import time
from decimal import Decimal
from typing import Any

from ib_async import IB, CommissionReport, Fill, LimitOrder, Trade

from benchmarks._harness import (
    Figure,
    SimHost,
    interleaved,
    paired,
    qualify_stock,
    verdict,
    wait_until,
)
from horizon.core import OrderAction, OrderStatus
from horizon.venues.ibkr import Ibkr

NAME = "fill_ingestion"
TITLE = "CPU per fill: ib_async + Horizon pipeline vs ib_async alone"
GOAL_RATIO = 1.05  # and at most GOAL_ADDED_US of CPU added per fill (issue: venue overhead)
GOAL_ADDED_US = 20.0
# side -> (resting limit, marketable pass price)
PRICES = {"buy": ("180.00", "179.00"), "sell": ("190.00", "191.00")}


async def _raw_phase(host: SimHost, side: str, orders: int, qty: int) -> dict[str, Any]:
    limit, price = PRICES[side]
    ib = IB()
    await ib.connectAsync("127.0.0.1", host.port, clientId=11)
    ib.client.MaxRequests = 0
    try:
        contract = await qualify_stock(ib, "AAPL")
        trades = [
            ib.placeOrder(contract, LimitOrder(side.upper(), qty, float(limit),
                                               account="DU1234567"))
            for _ in range(orders)
        ]
        await wait_until(lambda: all(t.orderStatus.status == "Submitted" for t in trades),
                          60, "raw orders resting")
        want = orders * qty
        got: list[tuple[Fill, CommissionReport]] = []
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def on_commission(trade: Trade, fill: Fill, report: CommissionReport) -> None:
            got.append((fill, report))
            if len(got) >= want and not done.done():
                done.set_result(None)

        ib.commissionReportEvent += on_commission
        gc.collect()
        cpu, wall = time.process_time(), time.perf_counter()
        blast = asyncio.ensure_future(host.acall("blast", symbol="AAPL", price=price,
                                                 rounds=qty))
        await asyncio.wait_for(done, 300)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        sim = await blast
    finally:
        ib.disconnect()
    await host.acall("wait_gone", client_id=11)
    return {"client": "raw", "side": side, "fills": len(got),
            "unique": len({f.execution.execId for f, _ in got}), "with_fee": len(got),
            "cpu_s": cpu, "wall_s": wall, "sim_s": sim["seconds"]}


async def _horizon_phase(host: SimHost, side: str, orders: int, qty: int) -> dict[str, Any]:
    limit, price = PRICES[side]
    venue = Ibkr(port=host.port, paper=True, client_id=12, rate=1e6, burst=1_000_000)
    await venue.connect_async()
    venue.ib.client.MaxRequests = 0
    try:
        action = OrderAction(market_id="AAPL", side=side, quantity=Decimal(qty),
                             order_type="limit", limit_price=limit)
        oids = [await venue.submit_async(action) for _ in range(orders)]
        for oid in oids:
            await venue.wait_for_status_async(oid, OrderStatus.ACCEPTED, timeout=30)
        want = orders * qty
        gc.collect()
        cpu, wall = time.process_time(), time.perf_counter()
        blast = asyncio.ensure_future(host.acall("blast", symbol="AAPL", price=price,
                                                 rounds=qty))
        fills = await venue.wait_fills_async(want, timeout=300)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        sim = await blast
    finally:
        await venue.close_async()
    await host.acall("wait_gone", client_id=12)
    return {"client": "horizon", "side": side, "fills": len(fills),
            "unique": len({f.exec_id for f in fills}),
            "with_fee": sum(f.fee is not None for f in fills),
            "cpu_s": cpu, "wall_s": wall, "sim_s": sim["seconds"]}


async def _run(quick: bool) -> Figure:
    orders, qty, rounds = (400, 10, 3) if quick else (2000, 10, 4)
    phases = []
    pair_ratios: list[float] = []
    pair_added: list[float] = []
    for pair in interleaved(rounds, ("raw", "horizon")):  # raw hz, hz raw, raw hz ...
        done: dict[str, float] = {}
        for who in pair:
            with SimHost("--no-pacing", "--liquidity", "1", log_name="fill_ingestion-sim") as host:
                phase = _raw_phase if who == "raw" else _horizon_phase
                row = await phase(host, "buy", orders, qty)
            phases.append(row)
            done[who] = 1e6 * row["cpu_s"] / max(row["fills"], 1)
        pair_ratios.append(done["horizon"] / done["raw"])
        pair_added.append(done["horizon"] - done["raw"])
    want = orders * qty

    def per_fill(who: str) -> float:
        rows = [p for p in phases if p["client"] == who]
        return float(1e6 * sum(p["cpu_s"] for p in rows) / sum(p["fills"] for p in rows))

    raw, hz = per_fill("raw"), per_fill("horizon")
    complete = all(p["fills"] == want and p["unique"] == want and p["with_fee"] == want
                   for p in phases)
    for p in phases:
        p["cpu_us_per_fill"] = round(1e6 * p["cpu_s"] / max(p["fills"], 1), 1)
        p["fills_per_s"] = round(p["fills"] / p["wall_s"], 0)
        for key in ("cpu_s", "wall_s", "sim_s"):
            p[key] = round(p[key], 3)
    decided = paired(pair_ratios)
    added = paired(pair_added, digits=1)
    return verdict(
        complete and (decided["median"] <= GOAL_RATIO or added["median"] <= GOAL_ADDED_US),
        f"every fill delivered once with its fee; median over pairs of Horizon / raw CPU per "
        f"fill <= {GOAL_RATIO} (or <= {GOAL_ADDED_US:.0f} us added)",
        pair_ratio=decided,
        pair_added_us=added,
        fills_per_phase=want,
        raw_cpu_us_per_fill=round(raw, 1),
        horizon_cpu_us_per_fill=round(hz, 1),
        ratio=round(hz / raw, 3),
        added_us_per_fill=round(hz - raw, 1),
        phases=phases,
    )


def run(quick: bool) -> Figure:
    return asyncio.run(_run(quick))
