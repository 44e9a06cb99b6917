"""Replay of recorded data through unmodified ib_async: history is the file, the live tape
replays the rest forward on the simulator's clock, and real-time bars, tick-by-tick,
quotes and fills all follow it."""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import ib_async

from ibgateway_sim.clock import SimClock
from tests.sim.clients import connect_ib, until

FIXTURES = Path(__file__).parents[2] / "fixtures" / "replay"
BARS = FIXTURES / "aapl_1min.csv"
TICKS = FIXTURES / "ticks.csv"
OPEN = dt.datetime(2024, 7, 22, 13, 30, tzinfo=dt.UTC).timestamp()


def file_bars() -> list[tuple[float, float, float, float, float]]:
    with BARS.open() as fh:
        return [(float(r["open"]), float(r["high"]), float(r["low"]), float(r["close"]),
                 float(r["volume"])) for r in csv.DictReader(fh)]  # fmt: skip


def file_ticks(symbol: str) -> list[tuple[float, float]]:
    with TICKS.open() as fh:
        return [(float(r["price"]), float(r["size"])) for r in csv.DictReader(fh)
                if r["symbol"] == symbol]  # fmt: skip


async def stock(ib: ib_async.IB, symbol: str) -> ib_async.Contract:
    (c,) = await ib.qualifyContractsAsync(ib_async.Stock(symbol, "SMART", "USD"))
    return c


def ohlcv(b: Any) -> tuple[float, float, float, float, float]:
    return (b.open, b.high, b.low, b.close, float(b.volume))


async def test_history_is_the_file_and_the_rest_replays_forward(sim_factory: Any) -> None:
    clock = SimClock(OPEN + 5 * 60)  # five bars are history, three are still to come
    async with sim_factory(clock=clock, market_data=BARS) as sim:
        ib = await connect_ib(sim)
        try:
            c = await stock(ib, "AAPL")
            bars = await ib.reqHistoricalDataAsync(c, "", "600 S", "1 min", "TRADES", False,
                                                   formatDate=2)  # fmt: skip
            assert [ohlcv(b) for b in bars] == file_bars()[:5]
            assert bars[0].date == dt.datetime.fromtimestamp(OPEN, dt.UTC)
            head = await ib.reqHeadTimeStampAsync(c, "TRADES", False, 2)
            assert head == dt.datetime.fromtimestamp(OPEN, dt.UTC)
            (ticker,) = await ib.reqTickersAsync(c)
            assert ticker.last == file_bars()[4][3]  # the last close before the start
            clock.advance(3 * 60)
            sim.step()
            bars = await ib.reqHistoricalDataAsync(c, "", "600 S", "1 min", "TRADES", False)
            assert [ohlcv(b) for b in bars] == file_bars()
            five = await ib.reqHistoricalDataAsync(c, "", "600 S", "5 mins", "TRADES", False)
            first = file_bars()[:5]
            assert ohlcv(five[0]) == (first[0][0], max(b[1] for b in first),
                                      min(b[2] for b in first), first[-1][3],
                                      sum(b[4] for b in first))  # fmt: skip
            (ticker,) = await ib.reqTickersAsync(c)
            assert ticker.last == file_bars()[-1][3]
        finally:
            ib.disconnect()


async def test_a_five_second_bar_is_the_replayed_trades(sim_factory: Any) -> None:
    clock = SimClock(OPEN)
    async with sim_factory(clock=clock, market_data=TICKS) as sim:
        ib = await connect_ib(sim)
        try:
            c = await stock(ib, "AAPL")
            live = ib.reqRealTimeBars(c, 5, "TRADES", False)
            ticker = ib.reqTickByTickData(c, "AllLast")
            seen: list[Any] = []  # ib_async clears tickByTicks after each update
            ticker.updateEvent += lambda t: seen.extend(t.tickByTicks)
            await sim.wait_for_async(lambda: bool(sim.streams(1).get("real_time_bars"))
                                     and bool(sim.streams(1).get("tick_by_tick")))
            for _ in range(12):
                clock.advance(1)
                sim.step()
            await until(ib, lambda: len(live) >= 2 and len(seen) >= 8)
            ticks = file_ticks("AAPL")
            first = ticks[:4]  # 09:30:00 .. 09:30:04 New York
            bar = live[0]
            assert bar.time == dt.datetime.fromtimestamp(OPEN, dt.UTC)
            assert (bar.open_, bar.high, bar.low, bar.close, float(bar.volume)) == (
                first[0][0], max(p for p, _ in first), min(p for p, _ in first), first[-1][0],
                sum(q for _, q in first))  # fmt: skip
            assert bar.count == 4
            assert [(t.price, float(t.size)) for t in seen] == ticks
        finally:
            ib.disconnect()


async def test_orders_fill_at_the_replayed_market(sim_factory: Any) -> None:
    clock = SimClock(OPEN + 0.5)
    msft = FIXTURES / "msft_ticks.csv"  # no symbol column: the mapping names it
    async with sim_factory(clock=clock, market_data={"MSFT": msft}) as sim:
        ib = await connect_ib(sim)
        try:
            c = await stock(ib, "MSFT")
            (ticker,) = await ib.reqTickersAsync(c)
            assert ticker.last == 446.10
            clock.advance(3)
            sim.step()
            trade = ib.placeOrder(c, ib_async.MarketOrder("BUY", 10))
            await until(ib, trade.isDone)
            assert trade.orderStatus.avgFillPrice == 446.01  # 446.00 printed, one tick spread
            assert sim.executions()[-1].price == Decimal("446.01")
        finally:
            ib.disconnect()
