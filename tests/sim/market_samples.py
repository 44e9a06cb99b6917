"""Sample replies of the market-model rows (history, real-time bars, tick-by-tick, depth) and
the callbacks both client libraries answer them with; the codec's client tests feed them to
ib_async's and ibapi's own decoders."""

from __future__ import annotations

from decimal import Decimal as D

from ibgateway_sim.wire import messages as m

BAR = m.HistoricalBar(
    date="20261118 14:30:00 US/Eastern", open=D("185.00"), high=D("185.20"), low=D("184.90"),
    close=D("185.10"), volume=D(12300), wap=D("185.05"), bar_count=44,
)  # fmt: skip

MARKET_SAMPLES: dict[type, m.Message] = {
    m.MarketDepth: m.MarketDepth(
        req_id=3, position=0, operation=0, side=1, price=D("184.99"), size=D(300)
    ),
    m.MarketDepthL2: m.MarketDepthL2(
        req_id=3, position=1, market_maker="ARCA", operation=1, side=0, price=D("185.02"),
        size=D(200), is_smart_depth=True,
    ),
    m.HistoricalData: m.HistoricalData(
        req_id=4, start="20261117 14:30:00 US/Eastern", end="20261118 14:30:00 US/Eastern",
        bars=(BAR, BAR),
    ),
    m.RealTimeBar: m.RealTimeBar(
        req_id=5, time=1795000000, open=D("185"), high=D("185.1"), low=D("184.9"),
        close=D("185"), volume=D(900), wap=D("185.01"), count=12,
    ),
    m.HeadTimestamp: m.HeadTimestamp(req_id=6, head_timestamp="20211118 09:30:00 US/Eastern"),
    m.HistogramData: m.HistogramData(
        req_id=7, items=(m.HistogramEntry(price=D("185.00"), size=D(1200)),)
    ),
    m.HistoricalDataUpdate: m.HistoricalDataUpdate(
        req_id=4, bar_count=3, date="20261118 14:30:05 US/Eastern", open=D(185), close=D(185),
        high=D(185), low=D(185), wap=D(185), volume=D(100),
    ),
    m.HistoricalTicks: m.HistoricalTicks(
        req_id=8, ticks=(m.MidpointTick(time=1795000000, price=D("185.00"), size=D(0)),),
        done=True,
    ),
    m.HistoricalTicksBidAsk: m.HistoricalTicksBidAsk(
        req_id=8,
        ticks=(m.BidAskTick(time=1795000000, price_bid=D("184.99"), price_ask=D("185.01"),
                            size_bid=D(100), size_ask=D(200)),),
        done=True,
    ),
    m.HistoricalTicksLast: m.HistoricalTicksLast(
        req_id=8,
        ticks=(m.LastTick(time=1795000000, price=D("185.00"), size=D(100), exchange="ISLAND"),),
        done=False,
    ),
    m.TickByTick: m.TickByTick(
        req_id=9, tick_type=1, time=1795000000, price=D("185"), size=D(100), exchange="ISLAND"
    ),
    m.HistoricalSchedule: m.HistoricalSchedule(
        req_id=10, start_date_time="20261117-09:30:00", end_date_time="20261118-16:00:00",
        time_zone="US/Eastern",
        sessions=(m.ScheduleSession(start_date_time="20261118-09:30:00",
                                    end_date_time="20261118-16:00:00", ref_date="20261118"),),
    ),
    m.TickNews: m.TickNews(
        req_id=8, time_stamp=1795000000000, provider_code="BRFG",
        article_id="BRFG$0026559820261118",
        headline="APPLE INC (AAPL): market update for Nov 18", extra_data="",
    ),
}

MARKET_CALLBACKS: dict[type, tuple[str, str]] = {
    m.MarketDepth: ("updateMktDepth", "updateMktDepth"),
    m.MarketDepthL2: ("updateMktDepthL2", "updateMktDepthL2"),
    m.HistoricalData: ("historicalData", "historicalData"),
    m.RealTimeBar: ("realtimeBar", "realtimeBar"),
    m.HeadTimestamp: ("headTimestamp", "headTimestamp"),
    m.HistogramData: ("histogramData", "histogramData"),
    m.HistoricalDataUpdate: ("historicalDataUpdate", "historicalDataUpdate"),
    m.HistoricalTicks: ("historicalTicks", "historicalTicks"),
    m.HistoricalTicksBidAsk: ("historicalTicksBidAsk", "historicalTicksBidAsk"),
    m.HistoricalTicksLast: ("historicalTicksLast", "historicalTicksLast"),
    m.TickByTick: ("tickByTickAllLast", "tickByTickAllLast"),
    m.HistoricalSchedule: ("historicalSchedule", "historicalSchedule"),
    m.TickNews: ("tickNews", "tickNews"),
}
