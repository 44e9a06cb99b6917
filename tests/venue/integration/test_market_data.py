"""History, live bars, depth and tick-by-tick through the venue, over TCP on the simulator's
one market model (prices move only when a test moves the simulator's clock)."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from datetime import UTC, timedelta
from decimal import Decimal
from typing import Any

import pytest

from horizon.errors import InvalidRequest, RequestTimeout
from horizon.venues.ibkr import Bar, BarSubscription, ConnectionState, Ibkr
from ibgateway_sim import GatewaySimulator
from ibgateway_sim.clock import SimClock
from ibgateway_sim.wire import messages as m
from tests.support import Events


def drain(sub: Any, timeout: float = 0.5) -> list[Any]:
    """Everything the stream holds now (a short wait ends it: nothing more is coming)."""
    out = []
    while True:
        try:
            out.append(sub.get(timeout=timeout))
        except RequestTimeout:
            return out


@pytest.fixture
def driven() -> Iterator[tuple[GatewaySimulator, SimClock]]:
    """A simulator whose clock moves only when the test says (10 minutes behind wall time,
    on a minute boundary), its market still between steps."""
    clock = SimClock((int(time.time()) // 60) * 60 - 600)
    sim = GatewaySimulator(host="127.0.0.1", port=0, accounts=["DU1234567"], seed=7,
                           step_interval=None, clock=clock)  # fmt: skip
    sim.start()
    try:
        yield sim, clock
    finally:
        sim.stop()


def advance(sim: GatewaySimulator, clock: SimClock, seconds: int) -> None:
    for _ in range(seconds // 5):
        clock.advance(5)
        sim.step()


def assert_contiguous(bars: list[Bar], step_s: int) -> None:
    starts = [b.start for b in bars]
    assert starts == sorted(set(starts)), "out of order or twice"
    gaps = {(b - a).total_seconds() for a, b in itertools.pairwise(starts)}
    assert gaps <= {float(step_s)}, f"gaps {sorted(gaps)}"
    assert all(s.tzinfo is UTC and s.timestamp() % step_s == 0 for s in starts)


def assert_as_history_says(venue: Ibkr, bars: list[Bar], size: str, step_s: int) -> None:
    """Live bars are the bars history has for the same periods: each once, in order, none
    missing (a period without trades has no TRADES bar, live or historical)."""
    starts = [b.start for b in bars]
    assert starts == sorted(set(starts)), "out of order or twice"
    assert all(s.tzinfo is UTC and s.timestamp() % step_s == 0 for s in starts)
    span = timedelta(seconds=int((starts[-1] - starts[0]).total_seconds()) + 4 * step_s)
    history = venue.bars("AAPL", span, size, rth=False)
    expected = [h for h in history if starts[0] <= h.start <= starts[-1]]
    assert [(b.start, b.open, b.close, b.volume) for b in bars] == [
        (h.start, h.open, h.close, h.volume) for h in expected
    ]


# ------------------------------------------------------------------ history
def test_a_year_of_daily_bars_comes_in_one_request(ibkr: Ibkr, gateway: GatewaySimulator) -> None:
    before = len(gateway.requests(kind=m.ReqHistoricalData))
    bars = ibkr.bars("AAPL", "1 Y", "1 day")
    assert len(gateway.requests(kind=m.ReqHistoricalData)) == before + 1
    assert len(bars) >= 250
    assert [b.start for b in bars] == sorted({b.start for b in bars})
    assert all(b.low <= min(b.open, b.close) and b.high >= max(b.open, b.close) for b in bars)
    assert all(isinstance(b.close, Decimal) and b.volume > 0 for b in bars)
    first = ibkr.head_timestamp("AAPL")
    assert first.tzinfo is UTC and first <= bars[0].start


def test_a_long_intraday_range_is_split_into_the_requests_ib_allows(
    ibkr: Ibkr, gateway: GatewaySimulator
) -> None:
    before = len(gateway.requests(kind=m.ReqHistoricalData))
    bars = ibkr.bars("AAPL", timedelta(days=3), "1 min", rth=False)
    sent = gateway.requests(kind=m.ReqHistoricalData)[before:]
    assert len(sent) == 3  # IB serves at most one day of 1-minute bars per request
    assert_contiguous(bars, 60)
    assert len(bars) >= 3 * 24 * 60 - 1


def test_historical_ticks_and_refusals(ibkr: Ibkr) -> None:
    [last] = ibkr.bars("AAPL", "60 S", "1 min", rth=False)[-1:]
    ticks = ibkr.historical_ticks("AAPL", last.start - timedelta(minutes=5), count=50,
                                  rth=False)  # fmt: skip
    assert 50 <= len(ticks) < 100  # a page, plus the rest of its last second (IB's rule)
    assert all(t.price is not None and t.size is not None for t in ticks)
    quotes = ibkr.historical_ticks("AAPL", last.start - timedelta(minutes=5), what="bid_ask",
                                   count=10, rth=False)  # fmt: skip
    assert all(q.bid is not None and q.ask is not None and q.bid < q.ask for q in quotes)
    with pytest.raises(InvalidRequest):
        ibkr.bars("AAPL", "1 D", "1 day", what="ticks")


# ------------------------------------------------------------------ live bars
def test_live_bars_are_whole_in_order_and_each_once(
    driven: tuple[GatewaySimulator, SimClock],
) -> None:
    sim, clock = driven
    with Ibkr(port=sim.port, paper=True, client_id=6) as venue:
        fives = venue.subscribe_bars("AAPL", "5 secs")
        fifteens = venue.subscribe_bars("AAPL", "15 secs")
        advance(sim, clock, 60)
        small, big = drain(fives), drain(fifteens)
        assert len(small) >= 6 and len(big) >= 3
        assert_as_history_says(venue, small, "5 secs", 5)
        assert_as_history_says(venue, big, "15 secs", 15)
        for bar in big[1:]:  # a 15-second bar is its 5-second bars (the first may predate them)
            inside = [b for b in small if bar.start <= b.start < bar.start + timedelta(seconds=15)]
            assert bar.volume == sum(b.volume for b in inside)
            assert (bar.open, bar.close) == (inside[0].open, inside[-1].close)
            assert bar.high == max(b.high for b in inside)
        assert venue.bar_streams() == [("AAPL", "5 secs"), ("AAPL", "15 secs")]
        venue.unsubscribe_bars(fives)
        assert venue.bar_streams() == [("AAPL", "15 secs")]
        with pytest.raises(InvalidRequest):
            venue.subscribe_bars("AAPL", "1 day")


def test_live_bars_have_no_gap_and_no_repeat_across_a_restart(
    driven: tuple[GatewaySimulator, SimClock],
) -> None:
    sim, clock = driven
    events = Events()
    with Ibkr(port=sim.port, paper=True, client_id=7, reconnect_initial_delay=0.05) as venue:
        venue.add_listener(events)
        sub: BarSubscription = venue.subscribe_bars("AAPL", "5 secs")
        advance(sim, clock, 20)
        before = drain(sub)
        sim.restart(downtime=0.3)
        advance(sim, clock, 30)  # the market trades on while the venue is away
        events.wait(ConnectionState.RECONNECTED, timeout=10)
        sim.wait_for(lambda: bool(sim.streams(7).get("real_time_bars")), timeout=10)
        advance(sim, clock, 20)
        after = drain(sub)
        everything = before + after
        assert len(everything) >= 8
        # the bars of the gap came from history, once each: the stream is what history says
        assert_as_history_says(venue, everything, "5 secs", 5)


# ------------------------------------------------------------------ depth and ticks
def test_depth_is_a_maintained_book(driven: tuple[GatewaySimulator, SimClock]) -> None:
    sim, clock = driven
    with Ibkr(port=sim.port, paper=True, client_id=8) as venue:
        book = venue.depth("AAPL", rows=5)
        advance(sim, clock, 15)
        changes = drain(book)
        assert changes and {c.operation for c in changes} <= {"insert", "update", "delete"}
        snap = book.snapshot()
        assert 0 < len(snap.bids) <= 5 and 0 < len(snap.asks) <= 5
        assert snap.bids[0].price < snap.asks[0].price
        assert [lv.price for lv in snap.bids] == sorted((lv.price for lv in snap.bids),
                                                        reverse=True)  # fmt: skip
        assert [lv.price for lv in snap.asks] == sorted(lv.price for lv in snap.asks)
        venue.unsubscribe_stream(book)
        with pytest.raises(InvalidRequest):
            venue.depth("AAPL", rows=0)


def test_tick_by_tick_trades_and_quotes_each_once(
    driven: tuple[GatewaySimulator, SimClock],
) -> None:
    sim, clock = driven
    with Ibkr(port=sim.port, paper=True, client_id=9) as venue:
        trades = venue.subscribe_ticks("AAPL", "trades")
        quotes = venue.subscribe_ticks("AAPL", "bid_ask")
        advance(sim, clock, 15)
        got, seen = drain(trades), drain(quotes)
        assert got and all(t.price is not None and t.size for t in got)
        assert seen and all(q.bid is not None and q.ask is not None and q.bid < q.ask for q in seen)
        assert len({(t.time, t.price, t.size) for t in got}) >= 1
        with pytest.raises(InvalidRequest):
            venue.subscribe_ticks("AAPL", "everything")


@pytest.mark.parametrize("after_midnight_s", [600, 2 * 86400 + 600])
def test_ticks_from_the_newest_minute_just_after_midnight(after_midnight_s: int) -> None:
    """The simulator once recursed without end here: minutes just after midnight UTC make a
    partial day whose node is as long as its child, and the ticks of one of them looked up
    the child's children under the parent's key."""
    today = (int(time.time()) // 86400) * 86400
    clock = SimClock(today - 3 * 86400 + after_midnight_s)
    with GatewaySimulator(
        host="127.0.0.1", port=0, accounts=["DU1234567"], seed=7, step_interval=None,
        clock=clock,
    ) as sim, Ibkr(port=sim.port, paper=True, client_id=9) as venue:  # fmt: skip
        minutes = venue.bars("AAPL", timedelta(hours=2), "1 min", rth=False)
        ticks = venue.historical_ticks("AAPL", minutes[-1].start, what="bid_ask", rth=False)
    assert minutes and ticks and all(t.bid is not None and t.ask is not None for t in ticks)
