"""The reference-data / PnL / options / news / scanner / WSH / FA / display-group requests, as
ib_async's and ibapi's own encoders write them, decode exactly (no field left over) into their
rows at the lowest and highest server versions the simulator negotiates."""

from __future__ import annotations

from typing import Any

import ib_async
import pytest
from ibapi.common import WshEventData as ApiWshEventData
from ibapi.contract import Contract as ApiContract
from ibapi.scanner import ScannerSubscription as ApiScannerSubscription

from ibgateway_sim.wire import messages as m
from ibgateway_sim.wire.codec import MAX_VERSION, MIN_VERSION, decode_fields
from ibgateway_sim.wire.messages import Direction
from tests.sim.unit.test_sim_codec_clients import api_requests, async_requests

VERSIONS = [MIN_VERSION, MAX_VERSION]


def _api_option() -> ApiContract:
    c = ApiContract()
    c.symbol, c.secType, c.exchange, c.currency = "AAPL", "OPT", "SMART", "USD"
    c.lastTradeDateOrContractMonth, c.strike, c.right, c.multiplier = "20261218", 185.0, "C", "100"
    return c


def _calls(kind: str) -> dict[str, tuple[Any, type]]:
    """name -> (call on the library's client, the row it must decode to)."""
    if kind == "ib_async":
        opt = ib_async.Option("AAPL", "20261218", 185, "C", "SMART")
        sub = ib_async.ScannerSubscription(
            instrument="STK", locationCode="STK.US.MAJOR", scanCode="TOP_PERC_GAIN"
        )
        wsh = ib_async.WshEventData(conId=265598)
    else:
        opt = _api_option()
        sub = ApiScannerSubscription()
        sub.instrument, sub.locationCode, sub.scanCode = "STK", "STK.US.MAJOR", "TOP_PERC_GAIN"
        wsh = ApiWshEventData()
        wsh.conId = 265598
    calls: dict[str, tuple[Any, type]] = {
        "bulletins": (lambda c: c.reqNewsBulletins(True), m.ReqNewsBulletins),
        "cancel bulletins": (lambda c: c.cancelNewsBulletins(), m.CancelNewsBulletins),
        "log level": (lambda c: c.setServerLogLevel(3), m.SetServerLogLevel),
        "request fa": (lambda c: c.requestFA(1), m.RequestFA),
        "replace fa": (lambda c: c.replaceFA(9, 1, "<ListOfGroups/>"), m.ReplaceFA),
        "scanner": (lambda c: c.reqScannerSubscription(5, sub, [], []),
                    m.ReqScannerSubscription),
        "cancel scanner": (lambda c: c.cancelScannerSubscription(5),
                           m.CancelScannerSubscription),
        "scanner params": (lambda c: c.reqScannerParameters(), m.ReqScannerParameters),
        "cancel iv": (lambda c: c.cancelCalculateImpliedVolatility(3), m.CancelCalcImpliedVolat),
        "cancel price": (lambda c: c.cancelCalculateOptionPrice(3), m.CancelCalcOptionPrice),
        "groups": (lambda c: c.queryDisplayGroups(1), m.QueryDisplayGroups),
        "verify": (lambda c: (setattr(c, "extraAuth", True), c.verifyRequest("app", "1.0")),
                   m.VerifyRequest),  # ibapi sends it only with extraAuth
        "secdef": (lambda c: c.reqSecDefOptParams(4, "AAPL", "", "STK", 265598),
                   m.ReqSecDefOptParams),
        "tiers": (lambda c: c.reqSoftDollarTiers(5), m.ReqSoftDollarTiers),
        "family": (lambda c: c.reqFamilyCodes(), m.ReqFamilyCodes),
        "symbols": (lambda c: c.reqMatchingSymbols(6, "AP"), m.ReqMatchingSymbols),
        "depth exchanges": (lambda c: c.reqMktDepthExchanges(), m.ReqMktDepthExchanges),
        "smart": (lambda c: c.reqSmartComponents(7, "9c0001"), m.ReqSmartComponents),
        "article": (lambda c: c.reqNewsArticle(8, "BRFG", "BRFG$1", []), m.ReqNewsArticle),
        "providers": (lambda c: c.reqNewsProviders(), m.ReqNewsProviders),
        "hist news": (lambda c: c.reqHistoricalNews(9, 265598, "BRFG", "", "", 10, []),
                      m.ReqHistoricalNews),
        "rule": (lambda c: c.reqMarketRule(26), m.ReqMarketRule),
        "pnl": (lambda c: c.reqPnL(10, "DU1", ""), m.ReqPnL),
        "cancel pnl": (lambda c: c.cancelPnL(10), m.CancelPnL),
        "pnl single": (lambda c: c.reqPnLSingle(11, "DU1", "", 265598), m.ReqPnLSingle),
        "cancel pnl single": (lambda c: c.cancelPnLSingle(11), m.CancelPnLSingle),
        "wsh meta": (lambda c: c.reqWshMetaData(12), m.ReqWshMetaData),
        "cancel wsh meta": (lambda c: c.cancelWshMetaData(12), m.CancelWshMetaData),
        "wsh events": (lambda c: c.reqWshEventData(13, wsh), m.ReqWshEventData),
        "cancel wsh events": (lambda c: c.cancelWshEventData(13), m.CancelWshEventData),
        "user info": (lambda c: c.reqUserInfo(14), m.ReqUserInfo),
        "exercise": (lambda c: c.exerciseOptions(15, opt, 1, 2, "DU1", 0), m.ExerciseOptions),
        "iv": (lambda c: c.calculateImpliedVolatility(16, opt, 10.5, 185.0, []),
               m.ReqCalcImpliedVolat),
        "price": (lambda c: c.calculateOptionPrice(17, opt, 0.25, 185.0, []),
                  m.ReqCalcOptionPrice),
    }  # fmt: skip
    if kind == "ibapi":
        calls["exercise"] = (
            lambda c: c.exerciseOptions(15, opt, 1, 2, "DU1", 0, "", "", False),
            m.ExerciseOptions,
        )
    return calls


# ib_async writes a count before the option-calculation options string (ibapi does not):
# one field more, which the gateway tolerates as trailing (see the rows' docstrings)
ONE_EXTRA = {("ib_async", "iv"), ("ib_async", "price")}
# ibapi refuses (error 503) to send these to an older server: WSHE calendar 161, user info 167
SINCE = {"wsh meta": 161, "cancel wsh meta": 161, "wsh events": 161, "cancel wsh events": 161,
         "user info": 167}  # fmt: skip


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("kind", ["ib_async", "ibapi"])
def test_every_request_decodes_exactly(kind: str, version: int) -> None:
    capture = async_requests if kind == "ib_async" else api_requests
    for name, (call, cls) in _calls(kind).items():
        sent = capture(version, call)
        if kind == "ibapi" and version < SINCE.get(name, 0):
            assert sent == [], name
            continue
        assert len(sent) == 1, (name, sent)
        fields = sent[0]
        if (kind, name) in ONE_EXTRA:
            assert fields[-2:] == ["0", ""], fields
            fields = fields[:-1]
        msg = decode_fields(Direction.IN, fields, version, strict=True)
        assert type(msg) is cls, name
        req_id = getattr(msg, "req_id", None)
        if req_id is not None and name not in {"replace fa"}:
            assert req_id > 0, name


@pytest.mark.parametrize("version", VERSIONS)
def test_request_values_survive(version: int) -> None:
    (fields,) = api_requests(version, lambda c: c.reqPnLSingle(11, "DU1", "", 265598))
    msg = decode_fields(Direction.IN, fields, version, strict=True)
    assert msg == m.ReqPnLSingle(req_id=11, account="DU1", con_id=265598)
    (fields,) = api_requests(version, lambda c: c.replaceFA(9, 1, "<ListOfGroups/>"))
    assert decode_fields(Direction.IN, fields, version, strict=True) == m.ReplaceFA(
        fa_data_type=1, cxml="<ListOfGroups/>", req_id=9
    )
