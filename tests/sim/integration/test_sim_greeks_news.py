"""Options' greeks on reqMktData (bid, ask, last and model computations) agreeing with the
option calculators; snapshots and regulatory snapshots of every instrument kind; news
headlines on a news-subscribed reqMktData. Through unmodified ib_async and a raw client."""

from __future__ import annotations

import math
from typing import Any

import ib_async
import pytest

from ibgateway_sim.clock import SimClock
from ibgateway_sim.wire import messages as m
from tests.sim.clients import RawClient, connect_ib, until

T0 = 1_795_000_000.0  # 2026-11-18 11:06:40 UTC
CALL = ib_async.Option("AAPL", "20270115", 200, "C", "SMART", currency="USD")


async def test_an_option_streams_its_greeks_as_the_calculators_compute_them(
    sim_factory: Any,
) -> None:
    async with sim_factory(clock=SimClock(T0)) as sim:
        ib = await connect_ib(sim)
        try:
            (opt,) = await ib.qualifyContractsAsync(CALL)
            ticker = ib.reqMktData(opt)
            await until(ib, lambda: all(g is not None for g in (
                ticker.bidGreeks, ticker.askGreeks, ticker.lastGreeks, ticker.modelGreeks)))
            model, bid, ask = ticker.modelGreeks, ticker.bidGreeks, ticker.askGreeks
            assert model is not None and bid is not None and ask is not None
            (stock,) = await ib.qualifyContractsAsync(ib_async.Stock("AAPL", "SMART", "USD"))
            (under,) = await ib.reqTickersAsync(stock)
            assert model.undPrice == under.last
            assert model.optPrice == pytest.approx((ticker.bid + ticker.ask) / 2, abs=1e-3)
            assert bid.optPrice == pytest.approx(ticker.bid, abs=1e-3)
            assert bid.impliedVol is not None and ask.impliedVol is not None
            assert bid.impliedVol < model.impliedVol < ask.impliedVol  # type: ignore[operator]
            assert model.delta is not None and 0 < model.delta < 1
            assert model.gamma is not None and model.gamma > 0
            assert model.vega is not None and model.vega > 0
            assert model.theta is not None and model.theta < 0
            assert model.pvDividend == 0  # no dividend yield by default
            assert model.tickAttrib == 1
            priced = await ib.calculateOptionPriceAsync(opt, model.impliedVol, model.undPrice)
            assert priced is not None
            assert priced.optPrice == pytest.approx(model.optPrice, abs=1e-3)
            assert priced.delta == pytest.approx(model.delta, abs=1e-5)
            implied = await ib.calculateImpliedVolatilityAsync(opt, model.optPrice,
                                                               model.undPrice)  # fmt: skip
            assert implied is not None
            assert implied.impliedVol == pytest.approx(model.impliedVol, abs=1e-4)
            # the greeks follow the underlying
            sim.set_price("AAPL", sim.engine.quote(stock.conId).last + 5)
            sim.step()
            moved = float(sim.engine.quote(stock.conId).last)
            assert abs(moved - under.last) > 4
            await until(ib, lambda: ticker.modelGreeks is not None
                        and ticker.modelGreeks.undPrice == moved)
        finally:
            ib.disconnect()


@pytest.mark.parametrize(
    "contract",
    [
        ib_async.Stock("AAPL", "SMART", "USD"),
        CALL,
        ib_async.Future("ES", exchange="CME", lastTradeDateOrContractMonth="202703"),
        ib_async.Forex("EURUSD"),
    ],
)
async def test_a_snapshot_of_every_kind_ends_with_tick_snapshot_end(
    sim_factory: Any, raw_factory: Any, contract: ib_async.Contract
) -> None:
    async with sim_factory(clock=SimClock(T0)) as sim:
        ib = await connect_ib(sim)
        try:
            (c,) = await ib.qualifyContractsAsync(contract)
            (ticker,) = await ib.reqTickersAsync(c)
            assert ticker.bid > 0 and ticker.ask > ticker.bid
            if c.secType == "OPT":
                assert ticker.modelGreeks is not None  # a snapshot carries the computations
        finally:
            ib.disconnect()
        raw: RawClient = raw_factory(sim.port)
        await raw.start(client_id=9)
        for req_id, regulatory in ((70, False), (71, True)):
            raw.send(m.ReqMktData(req_id=req_id, contract=m.RequestContract(con_id=c.conId,
                                  exchange=c.exchange), snapshot=not regulatory,
                                  regulatory_snapshot=regulatory))  # fmt: skip
            await raw.expect(m.TickSnapshotEnd, lambda e, r=req_id: bool(e.req_id == r))
            got = [x for x in raw.received if getattr(x, "req_id", None) == req_id]
            kinds = [type(x) for x in got]
            assert kinds[:2] == [m.TickReqParams, m.MarketDataType]
            assert kinds[-1] is m.TickSnapshotEnd
            assert m.TickPrice in kinds
        # the snapshot's id is over: a cancel is what a real gateway answers for an unknown id
        raw.send(m.CancelMktData(req_id=70))
        (err,) = await raw.expect(m.ErrorMsg, lambda e: e.req_id == 70)
        assert (err.code, err.text) == (300, "Can't find EId with tickerId:70")


async def test_news_ticks_on_a_news_only_subscription(sim_factory: Any) -> None:
    clock = SimClock(T0)
    async with sim_factory(clock=clock) as sim:
        ib = await connect_ib(sim)
        try:
            (c,) = await ib.qualifyContractsAsync(ib_async.Stock("AAPL", "SMART", "USD"))
            ticker = ib.reqMktData(c, "mdoff,292:BRFG+DJNL")
            await until(ib, lambda: len(ib.wrapper.newsTicks) >= 2)
            first = list(ib.wrapper.newsTicks)
            assert [n.providerCode for n in first] == ["BRFG", "DJNL"]
            assert first[0].timeStamp == 1794922200000  # 2026-11-17 13:30 UTC, in ms
            assert first[0].headline == "APPLE INC (AAPL): market update for Nov 17"
            assert math.isnan(ticker.bid) and math.isnan(ticker.last)  # mdoff: no prices
            article = await ib.reqNewsArticleAsync("BRFG", first[0].articleId)
            assert article is not None and "2026-11-17" in article.articleText
            clock.advance(86400)
            sim.step()
            await until(ib, lambda: len(ib.wrapper.newsTicks) >= 4)
            assert "Nov 18" in ib.wrapper.newsTicks[-1].headline
        finally:
            ib.disconnect()
