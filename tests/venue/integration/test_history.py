"""History through the venue, over TCP: never a hang, IB's historical pacing kept locally."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from horizon.errors import HistoricalPacing, InvalidRequest, RequestTimeout
from horizon.venues.ibkr import Ibkr
from ibgateway_sim import GatewaySimulator


def test_bad_requests_are_refused_before_anything_is_sent(ibkr: Ibkr) -> None:
    sent = ibkr.stats.requests_sent
    with pytest.raises(InvalidRequest) as err:
        ibkr.bars("AAPL", "1 Y", "7 mins")
    assert err.value.field == "bar_size"
    with pytest.raises(InvalidRequest) as err:
        ibkr.bars("AAPL", "a year", "1 day")
    assert err.value.field == "duration"
    with pytest.raises(InvalidRequest):
        ibkr.bars("AAPL", timedelta(days=1), "1 min", what="volume")
    with pytest.raises(InvalidRequest):
        ibkr.historical_ticks("AAPL", datetime.now(UTC), count=1001)
    assert ibkr.stats.requests_sent == sent


def test_an_unanswered_request_times_out_and_an_identical_one_is_refused(
    gateway: GatewaySimulator,
) -> None:
    venue = Ibkr(port=gateway.port, paper=True, client_id=3, history_timeout=0.5,
                 history_pacing="refuse")  # fmt: skip
    with venue:
        venue.qualify("AAPL")
        gateway.freeze()  # half-open: the request goes out, nothing comes back
        try:
            with pytest.raises(RequestTimeout):
                venue.bars("AAPL", "1 D", "1 hour")
            with pytest.raises(HistoricalPacing) as err:  # IB: no identical request in 15 s
                venue.bars("AAPL", "1 D", "1 hour")
        finally:
            gateway.thaw()
        assert err.value.wait_s is not None and 14 < err.value.wait_s <= 15
        assert err.value.rule == "venue"  # refused here, before a byte was sent


def test_a_data_farm_outage_marks_streams_degraded_until_it_is_back(
    priced_gateway: GatewaySimulator,
) -> None:
    with Ibkr(port=priced_gateway.port, paper=True, client_id=4) as venue:
        quotes = venue.subscribe_quotes(["AAPL"])
        quotes.get(timeout=5)
        priced_gateway.send_error(2103, "Market data farm connection is broken:usfarm")
        assert venue.health_check()  # one round trip: the notice before it is processed
        assert quotes.degraded == {"AAPL": "Market data farm connection is broken:usfarm"}
        assert not quotes.closed and quotes.failures == {}  # silent because of the farm
        priced_gateway.send_error(2104, "Market data farm connection is OK:usfarm")
        assert venue.health_check()
        assert quotes.degraded == {}
