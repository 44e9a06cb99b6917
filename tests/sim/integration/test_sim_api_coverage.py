"""Every request of the API is answered or refused with its own id, at the lowest and highest
server version the simulator negotiates; every reply decodes field by field in ibapi (nothing
left over, nothing missing) and without a logged error in ib_async; and the answers mean what
TWS's do (contract details with an ISIN, validation 321s, PnL after a fill, summaries that
are re-sent, option calculators, scanners, news)."""

from __future__ import annotations

import asyncio
import threading
from decimal import Decimal
from typing import Any

import ib_async
import pytest
from ibapi.client import EClient
from ibapi.contract import Contract as ApiContract
from ibapi.wrapper import EWrapper

from ibgateway_sim import GatewaySimulator
from ibgateway_sim.wire import messages as m
from ibgateway_sim.wire.codec import MAX_VERSION, MIN_VERSION, encode_fields, frame_fields
from tests.sim.clients import RawClient, connect_ib, running_sim, until
from tests.sim.decoding import ib_async_calls, ibapi_calls

VERSIONS = [MIN_VERSION, MAX_VERSION]
AAPL = m.RequestContract(symbol="AAPL", sec_type="STK", exchange="SMART", currency="USD")
AAPL_C185 = m.RequestContract(
    symbol="AAPL", sec_type="OPT", last_trade_date="20261218", strike=Decimal(185), right="C",
    exchange="SMART", currency="USD",
)  # fmt: skip

# request -> (what answers it; None: nothing is sent back)
REQUESTS: list[tuple[m.Message, type | None]] = [
    (m.ReqMatchingSymbols(req_id=101, pattern="AA"), m.SymbolSamples),
    (m.ReqMarketRule(market_rule_id=26), m.MarketRule),
    (m.ReqSecDefOptParams(req_id=102, underlying_symbol="AAPL", underlying_sec_type="STK",
                          underlying_con_id=265598), m.SecurityDefinitionOptionParameterEnd),
    (m.ReqSmartComponents(req_id=103, bbo_exchange="9c0001"), m.SmartComponents),
    (m.ReqSoftDollarTiers(req_id=104), m.SoftDollarTiers),
    (m.ReqMktDepthExchanges(), m.MktDepthExchanges),
    (m.ReqFamilyCodes(), m.FamilyCodes),
    (m.ReqUserInfo(req_id=105), m.UserInfo),
    (m.ReqPnL(req_id=106, account="DU1234567"), m.PnL),
    (m.ReqPnLSingle(req_id=107, account="DU1234567", con_id=265598), None),  # no position
    (m.CancelPnL(req_id=106), None),
    (m.ReqCalcImpliedVolat(req_id=108, contract=AAPL_C185, option_price=Decimal(20),
                           under_price=Decimal(185)), m.TickOptionComputation),
    (m.ReqCalcOptionPrice(req_id=109, contract=AAPL_C185, volatility=Decimal("0.3"),
                          under_price=Decimal(185)), m.TickOptionComputation),
    (m.ReqNewsProviders(), m.NewsProviders),
    (m.ReqHistoricalNews(req_id=110, con_id=265598, provider_codes="BRFG", total_results=2),
     m.HistoricalNewsEnd),
    (m.ReqNewsBulletins(all_msgs=True), None),
    (m.ReqScannerParameters(), m.ScannerParameters),
    (m.ReqScannerSubscription(req_id=111, instrument="STK", location_code="STK.US.MAJOR",
                              scan_code="HIGH_LAST", number_of_rows=3), m.ScannerData),
    (m.ReqWshMetaData(req_id=112), m.WshMetaData),
    (m.ReqWshEventData(req_id=113, con_id=265598), m.WshEventData),
    (m.QueryDisplayGroups(req_id=114), m.DisplayGroupList),
    (m.SubscribeToGroupEvents(req_id=115, group_id=1), m.DisplayGroupUpdated),
    (m.VerifyRequest(api_name="x", api_version="1"), m.VerifyCompleted),
    (m.ReqAccountSummary(req_id=116, group="All", tags="NetLiquidation"), m.AccountSummaryEnd),
    (m.ReqContractDetails(req_id=117, contract=AAPL), m.ContractDataEnd),
    (m.SetServerLogLevel(log_level=3), None),
]  # fmt: skip


@pytest.mark.parametrize("version", VERSIONS)
async def test_every_request_is_answered_and_every_reply_decodes_field_by_field(
    version: int, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_sim(max_server_version=version) as sim:
        raw = RawClient(sim.port)
        await raw.start(1, hi=version)
        try:
            assert raw.conn is not None and raw.conn.version == version
            start = len(raw.received)
            for request, answer in REQUESTS:
                raw.send(request)
                if answer is not None:
                    await raw.expect(answer)
            raw.send(m.ReqCurrentTime())  # a fence: everything before it has been answered
            await raw.expect(m.CurrentTime, count=1)
            replies = raw.received[start:]
            assert not [e for e in replies if isinstance(e, m.ErrorMsg)], replies
            for reply in replies:
                fields = encode_fields(reply, version)
                ibapi_calls(fields, version)
                ib_async_calls(fields, version, caplog)
        finally:
            await raw.close()


async def test_refusals_carry_the_request_id(raw_factory: Any) -> None:
    """An undecodable request, and one of an area not modelled, are refused under their
    request's id, not -1."""
    async with running_sim() as sim:
        raw: RawClient = raw_factory(sim.port)
        await raw.start(1)
        raw.send(m.ReqMktData(req_id=41, contract=m.RequestContract(symbol="AAPL")))
        (e,) = await raw.expect(m.ErrorMsg, lambda e: e.req_id == 41)
        assert e.code == 321 and "Please enter a valid security type" in e.text
        raw.send(m.ReqMktData(req_id=42, contract=AAPL, generic_tick_list="236", snapshot=True))
        (e,) = await raw.expect(m.ErrorMsg, lambda e: e.req_id == 42)
        assert e.code == 321 and e.text.endswith(
            "Snapshot market data subscription is not applicable to generic ticks"
        )
        # a request of an area this simulator has no row for (market depth): field 2 is its id
        raw.send_bytes(frame_fields(["10", "5", "43", "x"]))
        (e,) = await raw.expect(m.ErrorMsg, lambda e: e.req_id == 43)
        assert e.code == 320


@pytest.mark.parametrize("version", VERSIONS)
async def test_ib_async_reference_data_pnl_options_news(version: int) -> None:
    async with running_sim(max_server_version=version, account_update_interval=None) as sim:
        ib = await connect_ib(sim)
        try:
            assert ib.client.serverVersion() == version
            [details] = await ib.reqContractDetailsAsync(ib_async.Stock("AAPL", "SMART", "USD"))
            assert details.secIdList == [ib_async.TagValue("ISIN", "US0378331005")]
            assert details.industry == "Technology" and details.stockType == "COMMON"
            rule_ids = details.marketRuleIds.split(",")
            assert len(rule_ids) == len(details.validExchanges.split(","))
            [rule] = await ib.reqMarketRuleAsync(int(rule_ids[0]))  # type: ignore[misc]
            assert rule.increment == 0.01

            samples = await ib.reqMatchingSymbolsAsync("AAP")
            assert samples is not None and samples[0].contract.conId == 265598
            assert samples[0].derivativeSecTypes == ["OPT"]
            chains = await ib.reqSecDefOptParamsAsync("AAPL", "", "STK", 265598)
            # ib_async keeps the conId as text
            assert int(chains[0].underlyingConId) == 265598 and 185.0 in chains[0].strikes

            [call] = await ib.qualifyContractsAsync(
                ib_async.Option("AAPL", "20261218", 185, "C", "SMART")
            )
            priced = await ib.calculateOptionPriceAsync(call, 0.25, 185.0)
            assert priced is not None and priced.optPrice is not None
            implied = await ib.calculateImpliedVolatilityAsync(call, priced.optPrice, 185.0)
            assert implied is not None and abs(implied.impliedVol - 0.25) < 1e-3

            providers = await ib.reqNewsProvidersAsync()
            assert "BRFG" in [p.code for p in providers]
            headlines = await ib.reqHistoricalNewsAsync(265598, "BRFG", "", "", 2)
            assert headlines is not None and len(headlines) == 2
            article = await ib.reqNewsArticleAsync("BRFG", headlines[0].articleId)
            assert "APPLE INC" in article.articleText

            pnl = ib.reqPnL("DU1234567")
            sim.set_price("AAPL", Decimal("185.00"))
            await until(ib, lambda: pnl.dailyPnL == 0.0)
            ib.placeOrder(ib_async.Stock("AAPL", "SMART", "USD", conId=265598),
                          ib_async.MarketOrder("BUY", 10))  # fmt: skip
            await sim.wait_for_async(lambda: len(sim.executions()) == 1)
            fill_price = sim.executions()[0].price
            sim.set_price("AAPL", fill_price + Decimal(2))
            # 10 shares up 2, less the commission in the average cost
            await until(ib, lambda: pnl.unrealizedPnL is not None and 15 < pnl.unrealizedPnL <= 20)
        finally:
            ib.disconnect()


async def test_what_if_on_an_unqualified_stock_is_a_validation_error() -> None:
    async with running_sim() as sim:
        ib = await connect_ib(sim)
        try:
            errors: list[tuple[int, int, str]] = []
            ib.errorEvent += lambda req_id, code, text, _c: errors.append((req_id, code, text))
            trade = ib.placeOrder(ib_async.Stock("XXX"), ib_async.MarketOrder("BUY", 1))
            await until(ib, lambda: bool(errors))
            text = "Error validating request.-'bN' : cause - Missing order exchange."
            assert errors == [(trade.order.orderId, 321, text)]
            assert sim.executions() == []
        finally:
            ib.disconnect()


async def test_account_summary_is_re_sent_on_the_account_update_cycle() -> None:
    async with running_sim(account_update_interval=0.05) as sim:
        ib = await connect_ib(sim)
        try:
            ib.placeOrder(ib_async.Stock("AAPL", "SMART", "USD", conId=265598),
                          ib_async.MarketOrder("BUY", 100))  # fmt: skip
            await sim.wait_for_async(lambda: len(sim.executions()) == 1)
            rows = await ib.accountSummaryAsync("DU1234567")
            before = {r.tag: r.value for r in rows if r.currency == "USD"}["NetLiquidation"]
            resent: list[str] = []
            ib.accountSummaryEvent += lambda v: (
                resent.append(v.value) if v.tag == "NetLiquidation" else None
            )
            sim.set_price("AAPL", sim.executions()[0].price + Decimal(10))
            # no new request: the subscription is kept and the changed value comes again
            await until(ib, lambda: bool(resent), timeout=3)
            assert resent[-1] != before
        finally:
            ib.disconnect()


async def test_bulletins_reach_subscribers() -> None:
    async with running_sim() as sim:
        ib = await connect_ib(sim)
        try:
            ib.reqNewsBulletins(allMessages=False)
            await asyncio.wait_for(ib.reqCurrentTimeAsync(), 2)  # the subscription is in
            sim.post_bulletin("Trading in XYZ halted", 1, "NYSE")
            await until(ib, lambda: bool(ib.newsBulletins()))
            assert ib.newsBulletins()[0].message == "Trading in XYZ halted"
        finally:
            ib.disconnect()


class _ApiApp(EWrapper, EClient):
    """IB's official client on its reader thread, recording every callback by name."""

    def __init__(self) -> None:
        EWrapper.__init__(self)
        EClient.__init__(self, self)
        self.cond = threading.Condition()
        self.seen: list[tuple[str, tuple[Any, ...]]] = []

    def __getattribute__(self, name: str) -> Any:
        attr = object.__getattribute__(self, name)
        if callable(attr) and hasattr(EWrapper, name) and not name.startswith("_"):
            cond = object.__getattribute__(self, "cond")
            seen = object.__getattribute__(self, "seen")

            def record(*args: Any) -> None:
                with cond:
                    seen.append((name, args))
                    cond.notify_all()

            return record
        return attr

    def wait_for(self, name: str, timeout: float = 5) -> tuple[Any, ...]:
        with self.cond:
            assert self.cond.wait_for(lambda: any(n == name for n, _ in self.seen), timeout), name
            return next(a for n, a in self.seen if n == name)


@pytest.mark.parametrize("version", VERSIONS)
def test_ibapi_contract_details_pnl_symbols_and_option_price(version: int) -> None:
    sim = GatewaySimulator(port=0, accounts=["DU1234567"], seed=7, step_interval=None,
                           max_server_version=version)  # fmt: skip
    sim.start()
    app = _ApiApp()
    try:
        app.connect("127.0.0.1", sim.port, 21)
        thread = threading.Thread(target=app.run, daemon=True)
        thread.start()
        app.wait_for("nextValidId")
        assert app.serverVersion() == version
        stock = ApiContract()
        stock.symbol, stock.secType, stock.exchange, stock.currency = "AAPL", "STK", "SMART", "USD"
        app.reqContractDetails(1, stock)
        (_, details) = app.wait_for("contractDetails")
        assert [(t.tag, t.value) for t in details.secIdList] == [("ISIN", "US0378331005")]
        app.reqMatchingSymbols(2, "MSF")
        (_, descriptions) = app.wait_for("symbolSamples")
        assert descriptions[0].contract.conId == 272093
        app.reqPnL(3, "DU1234567", "")
        (req_id, daily, unrealized, realized) = app.wait_for("pnl")
        assert (req_id, daily, unrealized, realized) == (3, 0.0, 0.0, 0.0)
        option = ApiContract()
        option.symbol, option.secType, option.exchange, option.currency = (
            "AAPL",
            "OPT",
            "SMART",
            "USD",
        )
        option.lastTradeDateOrContractMonth, option.strike, option.right = "20261218", 185.0, "C"
        app.calculateOptionPrice(4, option, 0.25, 185.0, [])
        args = app.wait_for("tickOptionComputation")
        assert args[0] == 4 and args[1] == 54 and args[5] is not None and args[5] > 0
        app.reqMktData(5, stock, "236", True, False, [])
        with app.cond:
            assert app.cond.wait_for(
                lambda: any(n == "error" and a[0] == 5 and a[2] == 321 for n, a in app.seen), 5
            )
    finally:
        app.disconnect()
        sim.stop()
