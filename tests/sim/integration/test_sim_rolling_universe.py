"""The built-in universe on a date years after its fixed expiries: a simulator whose clock
reads 2031-03-10 lists AAPL options and ES futures expiring after it, which unmodified
ib_async finds in the chain, qualifies and quotes; the fixed contracts are still there."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import ib_async

from ibgateway_sim.clock import SimClock
from tests.sim.clients import connect_ib, until

YEARS_AHEAD = dt.datetime(2031, 3, 10, 15, 0, tzinfo=dt.UTC)  # a Monday, 10:00 in New York
TODAY = f"{YEARS_AHEAD:%Y%m%d}"


def quoted(ticker: ib_async.Ticker) -> bool:
    return all(not math.isnan(x) and x > 0 for x in (ticker.bid, ticker.ask, ticker.last))


async def test_a_simulator_years_ahead_lists_quotes_live_options(sim_factory: Any) -> None:
    async with sim_factory(clock=SimClock(YEARS_AHEAD.timestamp())) as sim:
        ib = await connect_ib(sim)
        try:
            (stock,) = await ib.qualifyContractsAsync(ib_async.Stock("AAPL", "SMART", "USD"))
            chains = await ib.reqSecDefOptParamsAsync("AAPL", "", "STK", stock.conId)
            (smart,) = [c for c in chains if c.exchange == "SMART"]
            live = [e for e in smart.expirations if e > TODAY]
            assert live == ["20310321", "20310418", "20310516", "20310620", "20310718",
                            "20310815"]  # six standard monthly expiries (third Fridays)
            assert "20260619" in smart.expirations  # the fixed ones stay
            assert 185 in smart.strikes

            (call,) = await ib.qualifyContractsAsync(
                ib_async.Option("AAPL", live[0], 185, "C", "SMART", currency="USD")
            )
            assert call.conId > 0 and call.localSymbol == "AAPL  310321C00185000"
            (details,) = await ib.reqContractDetailsAsync(call)
            assert details.underConId == stock.conId and details.realExpirationDate == live[0]
            ticker = ib.reqMktData(call)
            await until(ib, lambda: quoted(ticker) and ticker.modelGreeks is not None)
            assert ticker.bid < ticker.ask
            model = ticker.modelGreeks
            assert model is not None and model.delta is not None and 0 < model.delta < 1
            assert model.impliedVol is not None and model.impliedVol > 0
            assert model.undPrice is not None and model.undPrice > 0
        finally:
            ib.disconnect()


async def test_a_simulator_years_ahead_lists_quotes_live_futures(sim_factory: Any) -> None:
    async with sim_factory(clock=SimClock(YEARS_AHEAD.timestamp())) as sim:
        ib = await connect_ib(sim)
        try:
            ladder = await ib.reqContractDetailsAsync(
                ib_async.Future("ES", exchange="CME", currency="USD")
            )
            months = sorted(d.contract.lastTradeDateOrContractMonth for d in ladder)
            live = [m for m in months if m > TODAY]
            assert live == ["20310321", "20310620", "20310919", "20311219", "20320319",
                            "20320618", "20320917", "20321217"]  # the next eight quarters
            assert "20250321" in months  # FUT ES 202503, fixed, stays

            (front,) = await ib.qualifyContractsAsync(
                ib_async.Future("ES", "203103", "CME", currency="USD")
            )
            assert front.localSymbol == "ESH1" and front.multiplier == "50"
            ticker = ib.reqMktData(front)
            await until(ib, lambda: quoted(ticker))
            assert ticker.bid < ticker.ask
        finally:
            ib.disconnect()
