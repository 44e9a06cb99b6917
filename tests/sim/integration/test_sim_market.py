"""The market model through unmodified ib_async: history of every kind, IB's historical
pacing and limits, real-time bars, tick-by-tick and depth off the live tape, the session
clock expiring DAY orders at the close, and the market-data faults."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal
from typing import Any

import ib_async

from ibgateway_sim import GatewaySimulator
from ibgateway_sim.clock import SimClock
from ibgateway_sim.engine.sessions import SessionEvent
from tests.sim.clients import connect_ib, until

T0 = 1_795_000_000.0  # 2026-11-18 11:06:40 UTC, a Wednesday (06:06 in New York)


def errors_of(ib: ib_async.IB) -> list[tuple[int, int, str]]:
    seen: list[tuple[int, int, str]] = []
    ib.errorEvent += lambda req_id, code, text, contract: seen.append((req_id, code, text))
    return seen


async def aapl(ib: ib_async.IB) -> ib_async.Contract:
    (c,) = await ib.qualifyContractsAsync(ib_async.Stock("AAPL", "SMART", "USD"))
    return c


async def test_a_year_of_daily_bars_agrees_with_intraday_bars(sim_factory: Any) -> None:
    async with sim_factory(clock=SimClock(T0)) as sim:
        ib = await connect_ib(sim)
        try:
            c = await aapl(ib)
            days = await ib.reqHistoricalDataAsync(c, "", "1 Y", "1 day", "TRADES", True)
            assert len(days) > 300
            assert all(b.low <= min(b.open, b.close) and b.high >= max(b.open, b.close)
                       for b in days)
            hours = await ib.reqHistoricalDataAsync(c, "", "3 D", "1 hour", "TRADES", True,
                                                    formatDate=2)
            # trading hours off: a trading day is a UTC day
            start = dt.datetime.combine(days[-2].date, dt.time(), dt.UTC).timestamp()
            yesterday = [b for b in hours if start <= b.date.timestamp() < start + 86400]
            assert yesterday and days[-2].volume == sum(b.volume for b in yesterday)
            assert days[-2].high == max(b.high for b in yesterday)
            assert days[-2].low == min(b.low for b in yesterday)
            assert (days[-2].open, days[-2].close) == (yesterday[0].open, yesterday[-1].close)
            assert days[-1].close == 185.00  # history runs into the live book without a seam
        finally:
            ib.disconnect()


async def test_history_up_to_now_is_what_the_streams_showed(sim_factory: Any) -> None:
    clock = SimClock(T0)
    async with sim_factory(clock=clock) as sim:
        ib = await connect_ib(sim)
        try:
            c = await aapl(ib)
            live = ib.reqRealTimeBars(c, 5, "TRADES", False)
            ticker = ib.reqTickByTickData(c, "AllLast")
            seen: list[Any] = []  # ib_async clears tickByTicks after each update
            ticker.updateEvent += lambda t: seen.extend(t.tickByTicks)
            await sim.wait_for_async(lambda: bool(sim.streams(1).get("real_time_bars"))
                                     and bool(sim.streams(1).get("tick_by_tick")))
            for _ in range(6):
                clock.advance(2.5)
                sim.step()
            await until(ib, lambda: len(live) >= 2)
            await until(ib, lambda: len(seen) >= 6)
            hist = await ib.reqHistoricalDataAsync(
                c, "", "60 S", "5 secs", "TRADES", False, formatDate=2)
            by_time = {int(b.date.timestamp()): b for b in hist}
            for bar in live:
                h = by_time[int(bar.time.timestamp())]
                assert (h.open, h.high, h.low, h.close, h.volume) == (
                    bar.open_, bar.high, bar.low, bar.close, bar.volume)
            end = dt.datetime.fromtimestamp(T0 + 60, dt.UTC).strftime("%Y%m%d-%H:%M:%S")
            prints = await ib.reqHistoricalTicksAsync(c, "", end, 1000, "TRADES", False)
            live_prints = [(t.price, t.size) for t in seen]
            assert [(t.price, t.size) for t in prints][-len(live_prints):] == live_prints
        finally:
            ib.disconnect()


async def test_every_what_to_show_and_the_schedule(sim_factory: Any) -> None:
    async with sim_factory(clock=SimClock(T0), historical_pacing=False) as sim:
        ib = await connect_ib(sim)
        try:
            c = await aapl(ib)
            trades = await ib.reqHistoricalDataAsync(c, "", "1800 S", "1 min", "TRADES", False)
            for what, shift in (("BID", Decimal("-0.01")), ("ASK", Decimal("0.01")),
                                ("MIDPOINT", Decimal(0))):
                bars = await ib.reqHistoricalDataAsync(c, "", "1800 S", "1 min", what, False)
                assert [round(b.close - t.close, 2) for b, t in zip(bars, trades, strict=True)
                        ] == [float(shift)] * len(trades)
            for what in ("BID_ASK", "ADJUSTED_LAST", "HISTORICAL_VOLATILITY",
                         "OPTION_IMPLIED_VOLATILITY"):
                assert await ib.reqHistoricalDataAsync(c, "", "30 D", "1 day", what, False)
            schedule = await ib.reqHistoricalScheduleAsync(c, 3)
            assert schedule.timeZone == "US/Eastern" and len(schedule.sessions) >= 3
            head = await ib.reqHeadTimeStampAsync(c, "TRADES", False, 1)
            assert head.year == 2021
            histogram = await ib.reqHistogramDataAsync(c, False, "1 day")
            assert histogram and all(h.count > 0 for h in histogram)
            quotes = await ib.reqHistoricalTicksAsync(c, "20261118 05:00:00 US/Eastern", "",
                                                      1000, "BID_ASK", False)
            assert 900 < len(quotes) <= 1004 and all(q.priceBid < q.priceAsk for q in quotes)
        finally:
            ib.disconnect()


async def test_pacing_and_limits_answer_with_ibs_errors(sim_factory: Any) -> None:
    async with sim_factory(clock=SimClock(T0)) as sim:
        ib = await connect_ib(sim)
        errors = errors_of(ib)
        try:
            c = await aapl(ib)
            assert await ib.reqHistoricalDataAsync(c, "", "60 S", "5 secs", "TRADES", False)
            assert not await ib.reqHistoricalDataAsync(c, "", "60 S", "5 secs", "TRADES", False)
            assert errors[-1][1:] == (162, "Historical Market Data Service error message:"
                                           "Historical data request pacing violation")
            assert not await ib.reqHistoricalDataAsync(c, "", "1 D", "1 secs", "TRADES", False)
            assert errors[-1][1:] == (162, "Historical Market Data Service error message:"
                                           "invalid step: 1")
            # 321 is a warning to ib_async, so its request stays pending: wait for the error
            pending = asyncio.ensure_future(
                ib.reqHistoricalDataAsync(c, "", "1 D", "7 secs", "TRADES", False))
            await until(ib, lambda: errors[-1][1] == 321)
            pending.cancel()
            assert "bar size setting is invalid" in errors[-1][2]
            for i in range(4):  # BID_ASK counts twice: the 4th (7th and 8th) in 2 s fails
                await ib.reqHistoricalDataAsync(c, "", f"{120 + i} S", "5 secs", "BID_ASK", 0)
            assert errors[-1][1] == 162 and "pacing" in errors[-1][2]
        finally:
            ib.disconnect()


async def test_keep_up_to_date_sends_the_bar_in_progress(sim_factory: Any) -> None:
    clock = SimClock(T0)
    async with sim_factory(clock=clock) as sim:
        ib = await connect_ib(sim)
        try:
            c = await aapl(ib)
            bars = await ib.reqHistoricalDataAsync(c, "", "300 S", "1 min", "TRADES", False,
                                                   keepUpToDate=True)
            count = len(bars)
            await sim.wait_for_async(lambda: bool(sim.streams(1).get("keep_up_to_date")))
            clock.advance(61)
            sim.step()
            await until(ib, lambda: len(bars) > count)
            assert bars[-1].volume > 0
            ib.cancelHistoricalData(bars)
            await sim.wait_for_async(lambda: not sim.streams(1).get("keep_up_to_date"))
        finally:
            ib.disconnect()


async def test_depth_inserts_then_updates(sim: GatewaySimulator, ib: ib_async.IB) -> None:
    c = await aapl(ib)
    ticker = ib.reqMktDepth(c, numRows=5, isSmartDepth=True)
    await until(ib, lambda: len(ticker.domBids) == 5 and len(ticker.domAsks) == 5)
    q = sim.engine.quote(c.conId)
    assert ticker.domBids[0].price == float(q.bid) and ticker.domAsks[0].price == float(q.ask)
    assert all(lvl.marketMaker for lvl in ticker.domBids)
    sim.set_price("AAPL", Decimal("190.00"))
    await until(ib, lambda: ticker.domBids[0].price == 189.99)
    assert [b.price for b in ticker.domBids] == sorted((b.price for b in ticker.domBids),
                                                       reverse=True)
    ib.cancelMktDepth(c, isSmartDepth=True)
    await sim.wait_for_async(lambda: not sim.streams(1).get("depth"))


async def test_a_day_order_expires_at_the_close(sim_factory: Any) -> None:
    clock = SimClock.in_regular_session(T0)  # 09:31 New York
    heard: list[SessionEvent] = []
    async with sim_factory(clock=clock, trading_hours=True) as sim:
        sim.on_session_close(heard.append)
        ib = await connect_ib(sim)
        try:
            c = await aapl(ib)
            day = ib.placeOrder(c, ib_async.LimitOrder("BUY", 1, 100.00))
            gtc = ib.placeOrder(c, ib_async.LimitOrder("BUY", 1, 100.00, tif="GTC"))
            await until(ib, lambda: day.orderStatus.status == gtc.orderStatus.status
                        == "Submitted")
            clock.advance(6.5 * 3600)  # past 16:00
            sim.step()
            await until(ib, lambda: day.orderStatus.status == "Cancelled")
            assert gtc.orderStatus.status == "Submitted"
            assert [e.edge.value for e in heard] == ["regular_close"]
            details = await ib.reqContractDetailsAsync(c)
            assert details[0].timeZoneId == "US/Eastern"
            assert "0930-" in details[0].liquidHours and "0400-" in details[0].tradingHours
            # ib_async parses the hours; the regular close it names is the one that expired DAY
            closes = {s.end.timestamp() for s in details[0].liquidSessions()}
            assert heard[0].at in closes
        finally:
            ib.disconnect()


async def test_farm_outage_pauses_and_resumes_streams(sim_factory: Any) -> None:
    clock = SimClock(T0)
    async with sim_factory(clock=clock) as sim:
        ib = await connect_ib(sim)
        errors = errors_of(ib)
        try:
            c = await aapl(ib)
            ticker = ib.reqMktData(c)
            await until(ib, lambda: ticker.last == 185.0)
            sim.farm_outage("market")
            await until(ib, lambda: any(code == 2103 for _, code, _ in errors))
            sim.set_price("AAPL", Decimal("186.00"))
            sim.farm_restored("market")
            await until(ib, lambda: ticker.last == 186.0)
            assert [code for _, code, _ in errors][-2:] == [2103, 2104]
            sim.stale_prices()
            await until(ib, lambda: ticker.marketDataType == 2)
            sim.stale_prices(False)
            sim.competing_session()
            await until(ib, lambda: any(code == 10197 for _, code, _ in errors))
        finally:
            ib.disconnect()
