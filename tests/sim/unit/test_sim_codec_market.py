"""The market-model requests, as ib_async's and ibapi's own encoders write them, decode
exactly (every field consumed) into their rows at every server version we negotiate."""

from __future__ import annotations

from typing import Any

import ib_async
import pytest

from ibgateway_sim.wire import messages as m
from tests.sim.unit.test_sim_codec_clients import (
    VERSIONS,
    _api_contract,
    api_requests,
    async_requests,
    decode_in,
)

STK = ib_async.Stock("AAPL", "SMART", "USD", conId=265598)


def _calls(kind: str) -> dict[str, tuple[Any, type]]:
    c = STK if kind == "ib_async" else _api_contract()
    return {
        "hist": (lambda x: x.reqHistoricalData(
            1, c, "20261118 16:00:00 US/Eastern", "2 D", "5 mins", "TRADES", 1, 1, True, []),
            m.ReqHistoricalData),
        "cancel_hist": (lambda x: x.cancelHistoricalData(1), m.CancelHistoricalData),
        "rtb": (lambda x: x.reqRealTimeBars(2, c, 5, "MIDPOINT", False, []), m.ReqRealTimeBars),
        "cancel_rtb": (lambda x: x.cancelRealTimeBars(2), m.CancelRealTimeBars),
        "depth": (lambda x: x.reqMktDepth(3, c, 5, True, []), m.ReqMktDepth),
        "cancel_depth": (lambda x: x.cancelMktDepth(3, True), m.CancelMktDepth),
        "head": (lambda x: x.reqHeadTimeStamp(4, c, "TRADES", 1, 2), m.ReqHeadTimeStamp),
        "cancel_head": (lambda x: x.cancelHeadTimeStamp(4), m.CancelHeadTimeStamp),
        "histogram": (lambda x: x.reqHistogramData(5, c, True, "3 days"), m.ReqHistogramData),
        "cancel_histogram": (lambda x: x.cancelHistogramData(5), m.CancelHistogramData),
        "ticks": (lambda x: x.reqHistoricalTicks(
            6, c, "20261118 10:00:00 US/Eastern", "", 1000, "BID_ASK", 1, True, []),
            m.ReqHistoricalTicks),
        "tbt": (lambda x: x.reqTickByTickData(7, c, "AllLast", 0, True), m.ReqTickByTickData),
        "cancel_tbt": (lambda x: x.cancelTickByTickData(7), m.CancelTickByTickData),
    }  # fmt: skip


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("kind", ["ib_async", "ibapi"])
def test_market_requests_decode_exactly(kind: str, version: int) -> None:
    capture = async_requests if kind == "ib_async" else api_requests
    for name, (call, cls) in _calls(kind).items():
        sent = capture(version, call)
        assert len(sent) == 1, name
        msg = decode_in(sent[0], version)
        assert type(msg) is cls, (name, msg)


@pytest.mark.parametrize("kind", ["ib_async", "ibapi"])
def test_historical_request_fields_survive(kind: str) -> None:
    capture = async_requests if kind == "ib_async" else api_requests
    call, _ = _calls(kind)["hist"]
    msg = decode_in(capture(178, call)[0], 178)
    assert isinstance(msg, m.ReqHistoricalData)
    assert (msg.req_id, msg.bar_size, msg.duration, msg.what_to_show) == (
        1, "5 mins", "2 D", "TRADES")
    assert (msg.use_rth, msg.format_date, msg.keep_up_to_date) == (True, 1, True)
    assert msg.contract.symbol == "AAPL"
    ticks = decode_in(capture(178, _calls(kind)["ticks"][0])[0], 178)
    assert isinstance(ticks, m.ReqHistoricalTicks)
    assert (ticks.number_of_ticks, ticks.what_to_show, ticks.ignore_size) == (1000, "BID_ASK", True)
    tbt = decode_in(capture(178, _calls(kind)["tbt"][0])[0], 178)
    assert isinstance(tbt, m.ReqTickByTickData) and tbt.tick_type == "AllLast" and tbt.ignore_size
