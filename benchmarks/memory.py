"""Figure 5. Memory over a long day: is what Horizon remembers per fill bounded?

Two measurements, each in a fresh child process so RSS belongs to nothing else:

* ``fillbook``: the fill pipeline's state (`FillBook`, what the venue keeps per fill) fed
  400,000 executions with their commissions and drained every 1,000, with the venue's default
  dedup memory (100,000); and 100,000 with a small one (10,000). RSS and tracked entries are
  sampled along the way; bounded means RSS does not grow over the second half of the run.
* ``venue``: end to end over TCP, raw ib_async vs the venue, each ingesting N fills from the
  simulator (resting orders filled one share per matching pass); RSS after the first pass of
  fills vs after all of them, as bytes per fill. ib_async itself keeps every Fill, Trade and log
  entry of the session, so both grow; the difference is Horizon's own share.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from benchmarks._harness import (
    REPO,
    Figure,
    SimHost,
    qualify_stock,
    rss_bytes,
    verdict,
    wait_until,
)

NAME = "memory"
TITLE = "RSS after many fills: bounded dedup memory"
MB = 1024 * 1024


# ------------------------------------------------------------------------ FillBook, in a child


def _fillbook_child(total: int, memory: int, checkpoints: list[int]) -> list[dict[str, Any]]:
    from horizon.core.enums import Side
    from horizon.venues.ibkr.mapping.fills import ExecutionRecord, FillBook

    book = FillBook(commission_grace=2.0, memory=memory)
    when = datetime(2026, 11, 25, 15, 30, tzinfo=UTC)
    fee, price, qty = Decimal("1.00"), Decimal("185.01"), Decimal(1)
    out = []
    gc.collect()
    out.append({"fills": 0, "rss": rss_bytes(), "tracked": 0})
    drained = 0
    for i in range(1, total + 1):
        exec_id = f"0000e1a7.{i:08x}.01.01"
        rec = ExecutionRecord(
            exec_id=exec_id, order_id=i, perm_id=1_000_000 + i, client_id=1,
            account="DU1234567", market_id="AAPL", side=Side.BUY, quantity=qty, price=price,
            time=when, exchange="ISLAND", liquidity=None, order_ref="",
        )
        book.add_execution(rec, float(i))
        book.add_commission(exec_id, fee, "USD", float(i))
        if i % 1000 == 0:
            drained += len(book.drain(float(i)))
        if i in checkpoints:
            gc.collect()
            out.append({"fills": i, "drained": drained, "rss": rss_bytes(),
                        "tracked": book.tracked()})
    return out


def _fillbook(total: int, memory: int, step: int) -> dict[str, Any]:
    """Feed `total` fills; bounded = RSS does not grow over the second half of the run (the
    first half includes filling the cap and the one-off resize of the dedup table)."""
    checkpoints = sorted({1000, *range(step, total + 1, step)})
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.memory", "--fillbook", str(total), str(memory),
         ",".join(map(str, checkpoints))],
        capture_output=True, text=True, cwd=str(REPO), timeout=1200, check=True,
    )
    samples = json.loads(out.stdout.strip().splitlines()[-1])
    by = {s["fills"]: s for s in samples}
    half = max(c for c in checkpoints if c <= total // 2)
    second_half = max(s["rss"] for s in samples if s["fills"] >= half) - by[half]["rss"]
    at_200k = by.get(200_000)
    return {
        "dedup_memory": memory,
        "fills": total,
        "rss_mb": {str(s["fills"]): round(s["rss"] / MB, 1) for s in samples},
        "tracked_at_end": by[total]["tracked"],
        "rss_mb_after_1k": round(by[1000]["rss"] / MB, 1),
        "rss_mb_after_200k": round(at_200k["rss"] / MB, 1) if at_200k else None,
        "growth_mb_second_half": round(second_half / MB, 1),
        "bytes_per_remembered_fill": round(
            (by[half]["rss"] - by[1000]["rss"]) / max(min(half, memory) - 1000, 1)),
        "bounded": second_half <= 2 * MB and by[total]["tracked"] <= memory,
    }


# ------------------------------------------------------------- the venue end to end, in a child


async def _venue_child(kind: str, port: int, orders: int, qty: int) -> None:
    """Rest `orders` buys of `qty`, then on each "ingest N" line wait for N fills in total and
    answer with RSS. Drained fills are counted and dropped, as a host that stores them
    elsewhere would."""
    from ib_async import IB, LimitOrder

    from horizon.core import OrderAction, OrderStatus
    from horizon.venues.ibkr import Ibkr

    got = 0
    progress = asyncio.Event()
    if kind == "raw":
        ib = IB()
        await ib.connectAsync("127.0.0.1", port, clientId=41)
        ib.client.MaxRequests = 0
        contract = await qualify_stock(ib, "AAPL")
        trades = [ib.placeOrder(contract, LimitOrder("BUY", qty, 180.0, account="DU1234567"))
                  for _ in range(orders)]
        await wait_until(lambda: all(t.orderStatus.status == "Submitted" for t in trades),
                         60, "raw orders resting")

        def on_commission(*_: object) -> None:
            nonlocal got
            got += 1
            progress.set()

        ib.commissionReportEvent += on_commission

        async def wait_for(n: int) -> None:
            while got < n:
                progress.clear()
                await progress.wait()
    else:
        venue = Ibkr(port=port, paper=True, client_id=42, rate=1e6, burst=1_000_000)
        await venue.connect_async()
        venue.ib.client.MaxRequests = 0
        action = OrderAction(market_id="AAPL", side="buy", quantity=Decimal(qty),
                             order_type="limit", limit_price="180.00")
        oids = [await venue.submit_async(action) for _ in range(orders)]
        for oid in oids:
            await venue.wait_for_status_async(oid, OrderStatus.ACCEPTED, timeout=60)

        async def wait_for(n: int) -> None:
            nonlocal got
            while got < n:
                got += len(await venue.wait_fills_async(1, timeout=120))
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    while True:
        line = (await loop.run_in_executor(None, sys.stdin.readline)).strip()
        if not line or line == "quit":
            break
        _, n = line.split()
        await wait_for(int(n))
        gc.collect()
        print(json.dumps({"fills": got, "rss": rss_bytes()}), flush=True)
    if kind == "raw":
        ib.disconnect()
    else:
        await venue.close_async()


def _venue_run(kind: str, orders: int, qty: int) -> dict[str, Any]:
    with SimHost("--no-pacing", "--liquidity", "1", log_name="memory-sim") as host:
        child = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.memory", "--venue", kind, str(host.port),
             str(orders), str(qty)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=str(REPO),
        )
        assert child.stdin is not None and child.stdout is not None
        try:
            if child.stdout.readline().strip() != "ready":
                raise RuntimeError(f"{kind} child did not start (rc={child.poll()})")
            samples = []
            for rounds, total in ((1, orders), (qty - 1, orders * qty)):
                host.call("blast", symbol="AAPL", price="179.00", rounds=rounds)
                child.stdin.write(f"ingest {total}\n")
                child.stdin.flush()
                samples.append(json.loads(child.stdout.readline()))
            child.stdin.write("quit\n")
            child.stdin.flush()
            child.wait(timeout=30)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
    first, last = samples
    return {
        "fills": last["fills"],
        "rss_mb_first": round(first["rss"] / MB, 1),
        "rss_mb_last": round(last["rss"] / MB, 1),
        "bytes_per_fill": round((last["rss"] - first["rss"]) / (last["fills"] - first["fills"])),
    }


def _run(quick: bool) -> Figure:
    default_cap = _fillbook(400_000, 100_000, 25_000)
    small_cap = _fillbook(100_000, 10_000, 10_000)
    orders, qty = (500, 6) if quick else (1000, 20)
    raw = _venue_run("raw", orders, qty)
    hz = _venue_run("horizon", orders, qty)
    venue = {
        "fills": hz["fills"],
        "raw": raw,
        "horizon": hz,
        "raw_bytes_per_fill": raw["bytes_per_fill"],
        "horizon_bytes_per_fill": hz["bytes_per_fill"],
        "horizon_extra_bytes_per_fill": hz["bytes_per_fill"] - raw["bytes_per_fill"],
    }
    return verdict(
        default_cap["bounded"] and small_cap["bounded"],
        "FillBook RSS grows <= 2 MB over the second half of the run (cap reached)",
        fillbook=default_cap,
        fillbook_small_cap=small_cap,
        venue=venue,
    )


def run(quick: bool) -> Figure:
    return _run(quick)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.memory")
    parser.add_argument("--fillbook", nargs=3, metavar=("TOTAL", "MEMORY", "CHECKPOINTS"))
    parser.add_argument("--venue", nargs=4, metavar=("KIND", "PORT", "ORDERS", "QTY"))
    args = parser.parse_args()
    if args.fillbook:
        total, memory, checkpoints = args.fillbook
        samples = _fillbook_child(int(total), int(memory),
                                  [int(c) for c in checkpoints.split(",")])
        print(json.dumps(samples))
    elif args.venue:
        logging.basicConfig(level=logging.ERROR)
        kind, port, orders, qty = args.venue
        asyncio.run(_venue_child(kind, int(port), int(orders), int(qty)))


if __name__ == "__main__":
    main()
