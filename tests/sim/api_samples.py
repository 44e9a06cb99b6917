"""One sample of each reply row of the reference-data / PnL / options / news / scanner / WSH /
FA block, and the callback each IB library must make for it (ib_async's, ibapi's)."""

from __future__ import annotations

from decimal import Decimal

from ibgateway_sim.wire import messages as m

D = Decimal
API_SAMPLES: dict[type, m.Message] = {
    m.UpdateNewsBulletin: m.UpdateNewsBulletin(
        news_msg_id=1, news_msg_type=1, message="Trading halted", origin_exchange="NYSE"
    ),
    m.ReceiveFA: m.ReceiveFA(fa_data_type=1, cxml="<ListOfGroups/>"),
    m.ScannerParameters: m.ScannerParameters(xml="<ScanParameterResponse/>"),
    m.ScannerData: m.ScannerData(
        req_id=7,
        items=(
            m.ScanDataItem(rank=0, con_id=265598, symbol="AAPL", sec_type="STK",
                           exchange="SMART", currency="USD", local_symbol="AAPL",
                           market_name="NMS", trading_class="NMS"),
        ),
    ),
    m.TickOptionComputation: m.TickOptionComputation(
        req_id=3, tick_type=53, tick_attrib=1, implied_vol=D("0.25"), delta=D("0.5"),
        opt_price=D("10.5"), pv_dividend=D(0), gamma=D("0.02"), vega=D("0.3"),
        theta=D("-0.05"), und_price=D(185),
    ),
    m.VerifyCompleted: m.VerifyCompleted(is_successful=False, error_text="not allowed"),
    m.DisplayGroupList: m.DisplayGroupList(req_id=1, groups="1|2|3"),
    m.DisplayGroupUpdated: m.DisplayGroupUpdated(req_id=1, contract_info="265598@SMART"),
    m.SecurityDefinitionOptionParameter: m.SecurityDefinitionOptionParameter(
        req_id=4, exchange="SMART", underlying_con_id=265598, trading_class="AAPL",
        multiplier="100", expirations=(m.Expiration(value="20260619"),),
        strikes=(m.Strike(value=D(150)), m.Strike(value=D("152.5"))),
    ),
    m.SecurityDefinitionOptionParameterEnd: m.SecurityDefinitionOptionParameterEnd(req_id=4),
    m.SoftDollarTiers: m.SoftDollarTiers(
        req_id=5, tiers=(m.SoftDollarTier(name="A", value="1", display_name="Tier A"),)
    ),
    m.FamilyCodes: m.FamilyCodes(codes=(m.FamilyCode(account_id="DU1", family_code="F1"),)),
    m.SymbolSamples: m.SymbolSamples(
        req_id=6,
        descriptions=(
            m.ContractDescription(
                con_id=265598, symbol="AAPL", sec_type="STK", primary_exchange="NASDAQ",
                currency="USD", derivative_sec_types=(m.DerivativeSecType(value="OPT"),),
                description="APPLE INC",
            ),
        ),
    ),
    m.MktDepthExchanges: m.MktDepthExchanges(
        descriptions=(
            m.DepthMktDataDescription(exchange="ISLAND", sec_type="STK", listing_exchange="NASDAQ",
                                      service_data_type="Deep2", agg_group=1),
        )
    ),
    m.SmartComponents: m.SmartComponents(
        req_id=8, components=(m.SmartComponent(bit_number=1, exchange="NYSE", exchange_letter="N"),)
    ),
    m.NewsArticle: m.NewsArticle(req_id=9, article_type=0, article_text="<p>text</p>"),
    m.NewsProviders: m.NewsProviders(providers=(m.NewsProvider(code="BRFG", name="Briefing"),)),
    m.HistoricalNews: m.HistoricalNews(
        req_id=10, time="2026-11-25 14:00:00.0", provider_code="BRFG", article_id="BRFG$1",
        headline="Apple rises",
    ),
    m.HistoricalNewsEnd: m.HistoricalNewsEnd(req_id=10, has_more=False),
    m.MarketRule: m.MarketRule(
        market_rule_id=26, increments=(m.PriceIncrement(low_edge=D(0), increment=D("0.01")),)
    ),
    m.PnL: m.PnL(req_id=11, daily_pnl=D("12.5"), unrealized_pnl=D(10), realized_pnl=D("2.5")),
    m.PnLSingle: m.PnLSingle(
        req_id=12, position=D(10), daily_pnl=D(1), unrealized_pnl=D(1), realized_pnl=D(0),
        value=D(1850),
    ),
    m.ReplaceFAEnd: m.ReplaceFAEnd(req_id=13, text=""),
    m.WshMetaData: m.WshMetaData(req_id=14, data_json="{}"),
    m.WshEventData: m.WshEventData(req_id=15, data_json="{}"),
    m.UserInfo: m.UserInfo(req_id=16, white_branding_id=""),
}

API_CALLBACKS: dict[type, tuple[str, str]] = {
    m.UpdateNewsBulletin: ("updateNewsBulletin", "updateNewsBulletin"),
    m.ReceiveFA: ("receiveFA", "receiveFA"),
    m.ScannerParameters: ("scannerParameters", "scannerParameters"),
    m.ScannerData: ("scannerData", "scannerData"),
    m.TickOptionComputation: ("tickOptionComputation", "tickOptionComputation"),
    m.VerifyCompleted: ("verifyCompleted", "verifyCompleted"),
    m.DisplayGroupList: ("displayGroupList", "displayGroupList"),
    m.DisplayGroupUpdated: ("displayGroupUpdated", "displayGroupUpdated"),
    m.SecurityDefinitionOptionParameter: (
        "securityDefinitionOptionParameter", "securityDefinitionOptionParameter"
    ),
    m.SecurityDefinitionOptionParameterEnd: (
        "securityDefinitionOptionParameterEnd", "securityDefinitionOptionParameterEnd"
    ),
    m.SoftDollarTiers: ("softDollarTiers", "softDollarTiers"),
    m.FamilyCodes: ("familyCodes", "familyCodes"),
    m.SymbolSamples: ("symbolSamples", "symbolSamples"),
    m.MktDepthExchanges: ("mktDepthExchanges", "mktDepthExchanges"),
    m.SmartComponents: ("smartComponents", "smartComponents"),
    m.NewsArticle: ("newsArticle", "newsArticle"),
    m.NewsProviders: ("newsProviders", "newsProviders"),
    m.HistoricalNews: ("historicalNews", "historicalNews"),
    m.HistoricalNewsEnd: ("historicalNewsEnd", "historicalNewsEnd"),
    m.MarketRule: ("marketRule", "marketRule"),
    m.PnL: ("pnl", "pnl"),
    m.PnLSingle: ("pnlSingle", "pnlSingle"),
    m.ReplaceFAEnd: ("replaceFAEnd", "replaceFAEnd"),
    m.WshMetaData: ("wshMetaData", "wshMetaData"),
    m.WshEventData: ("wshEventData", "wshEventData"),
    m.UserInfo: ("userInfo", "userInfo"),
}  # fmt: skip
