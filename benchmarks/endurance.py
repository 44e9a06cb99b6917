"""Figure 13. Endurance: one venue trading for 10 minutes (15 s quick) at 10 orders a second
with quotes and 5-second bars streaming, against a simulator in its own process whose market
moves.

Every 2 s the process's RSS and open file descriptors are sampled; a probe task on the
venue's event loop asks to wake every 20 ms and records how late it woke (the loop's lag,
what every callback of the venue waits behind). Orders alternate a market order (it fills,
its fill drained) and a limit far from the market (it rests, then is cancelled), so the venue's
books take every kind of record.

Pass: RSS flat over the second half (slope <= 2 MB/min: records of a finished order must not
pile up without bound), open file descriptors at the end no more than after warm-up, the
loop's lag p99 < 5 ms, and the streams alive at the end. The quick run (15 s, so that `make
bench-quick` stays under 2 minutes) reports the slope but does not judge it: its second half is
~75 orders, where RSS moves in the steps of the allocator's arenas (a few hundred KB each), so
a line through it is the steps, not a trend (a full run read +0.6 MB/min over its ten minutes;
a quick run of 30 s soon after, +4.9).

The venue keeps its defaults but one: `order_history`, the compacted finished orders it keeps
beyond `order_memory` (~1.3 KB each, 100,000 by default), is 1,000 here. At 10 orders/s the
default bound is reached after ~3 hours, so over ten minutes its records grow by design (~0.8
MB/min of heap, +1.9 MB/min of RSS measured) and the slope could not tell a bound from a leak.
With 1,000 both bounds are reached within the first half (~2,000 finished orders, ~3.5
minutes), and the second half judges what is left: anything that piles up beyond them.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from decimal import Decimal
from pathlib import Path

from benchmarks._harness import Figure, SimHost, percentile, rss_bytes, summary, verdict
from horizon.core import OrderAction
from horizon.errors import HorizonError
from horizon.venues.ibkr import Ibkr

NAME = "endurance"
TITLE = "10 minutes at 10 orders/s with quotes and bars: RSS, fds, loop lag"
RSS_SLOPE_GOAL_MB_MIN = 2.0
ORDER_HISTORY = 1_000  # reached within the first half: see the module docstring
LAG_P99_GOAL_MS = 5.0
_TICK_S = 0.02


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd")) if Path("/proc/self/fd").exists() else -1


def _slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (t, y) per unit of t."""
    if len(points) < 2:
        return 0.0
    ts, ys = [p[0] for p in points], [p[1] for p in points]
    mt, my = statistics.fmean(ts), statistics.fmean(ys)
    den = sum((t - mt) ** 2 for t in ts)
    return sum((t - mt) * (y - my) for t, y in points) / den if den else 0.0


async def _lag_probe(lags: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        asked = time.perf_counter()
        await asyncio.sleep(_TICK_S)
        lags.append(max(0.0, time.perf_counter() - asked - _TICK_S))


async def _trade(venue: Ibkr, stop: asyncio.Event, counts: dict[str, int]) -> None:
    i = 0
    while not stop.is_set():
        i += 1
        try:
            if i % 2:
                await venue.submit_async(OrderAction(
                    market_id="AAPL", side="buy" if i % 4 == 1 else "sell", quantity=Decimal(1)))
            else:
                oid = await venue.submit_async(OrderAction(
                    market_id="AAPL", side="buy", quantity=Decimal(1), order_type="limit",
                    limit_price="100.00"))
                await venue.cancel_async(oid)
            counts["orders"] += 1
        except HorizonError:
            counts["refused"] += 1
        counts["fills"] += len(await venue.drain_fills_async())
        await asyncio.sleep(0.1)


async def _run(seconds: float, judge_slope: bool) -> Figure:
    samples: list[tuple[float, float, int]] = []  # (t, rss MB, fds)
    lags: list[float] = []
    counts = {"orders": 0, "refused": 0, "fills": 0, "quotes": 0, "bars": 0}
    with SimHost("--step-interval", "0.25", log_name="endurance-sim") as host:
        venue = Ibkr(port=host.port, paper=True, client_id=71, order_history=ORDER_HISTORY)
        await venue.connect_async()
        stop = asyncio.Event()
        try:
            quotes = await venue.subscribe_quotes_async(
                ["AAPL"], callback=lambda q: counts.__setitem__("quotes", counts["quotes"] + 1))
            bars = await venue.subscribe_bars_async(
                "AAPL", "5 secs", what="midpoint",
                callback=lambda b: counts.__setitem__("bars", counts["bars"] + 1))
            tasks = [asyncio.ensure_future(_lag_probe(lags, stop)),
                     asyncio.ensure_future(_trade(venue, stop, counts))]
            began = time.monotonic()
            while (now := time.monotonic() - began) < seconds:
                samples.append((now, rss_bytes() / 2**20, _open_fds()))
                await asyncio.sleep(2.0)
            samples.append((time.monotonic() - began, rss_bytes() / 2**20, _open_fds()))
            stop.set()
            await asyncio.gather(*tasks)
            quotes_at_end, bars_at_end = counts["quotes"], counts["bars"]
            alive = bool(venue.bar_streams()) and quotes_at_end > 0 and bars_at_end > 0
            await venue.unsubscribe_bars_async(bars)
            await venue.unsubscribe_async(quotes)
        finally:
            stop.set()
            await venue.close_async()
    half = [(t, mb) for t, mb, _ in samples if t >= seconds / 2]
    slope_mb_min = _slope(half) * 60
    warm_fds = samples[min(2, len(samples) - 1)][2]
    end_fds = samples[-1][2]
    lag_p99_ms = percentile(lags, 99) * 1e3
    flat = slope_mb_min <= RSS_SLOPE_GOAL_MB_MIN or not judge_slope
    ok = (flat and end_fds <= warm_fds
          and lag_p99_ms < LAG_P99_GOAL_MS and alive and counts["fills"] > 0)  # fmt: skip
    slope_goal = (
        f"RSS slope over the second half <= {RSS_SLOPE_GOAL_MB_MIN} MB/min"
        if judge_slope
        else "RSS slope reported (judged in the full run only)"
    )
    return verdict(
        ok,
        f"{slope_goal}, open fds flat, loop lag p99 < {LAG_P99_GOAL_MS:.0f} ms, "
        "quote and bar streams alive",
        seconds=round(seconds),
        rss_mb_start=round(samples[0][1], 1),
        rss_mb_end=round(samples[-1][1], 1),
        rss_slope_mb_per_min=round(slope_mb_min, 3),
        order_history=ORDER_HISTORY,
        fds_after_warmup=warm_fds,
        fds_end=end_fds,
        loop_lag_ms=summary(lags, 1e3),
        loop_lag_ms_p99=round(lag_p99_ms, 3),
        streams_alive=alive,
        **counts,
    )


def run(quick: bool) -> Figure:
    return asyncio.run(_run(15.0, judge_slope=False) if quick else _run(600.0, judge_slope=True))
