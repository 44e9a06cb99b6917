"""Quotes over TCP: snapshots, streams, delayed data and the fall-back, reconnect restore.

The simulator streams real-time ticks for market data type 1 and delayed ticks (66+) for 3,
but has no notion of market-data permissions: the 354 / 10167 / 10168 a real gateway sends
are injected here with `send_error` on the stream's request id.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from horizon.errors import UnknownInstrument
from horizon.venues.ibkr.mapping.quotes import Quote, Subscription
from horizon.venues.ibkr.resilience import ConnectionEvent, ConnectionState
from horizon.venues.ibkr.venue import Ibkr
from ibgateway_sim import GatewaySimulator
from tests.sim.clients import until


@pytest.fixture
def venue(priced_gateway: GatewaySimulator) -> Iterator[Any]:
    v = Ibkr(port=priced_gateway.port, paper=True, client_id=1)
    v.connect()
    try:
        yield v
    finally:
        v.close()


@pytest.fixture
def make_venue(loop_gateway: GatewaySimulator) -> Iterator[Any]:
    """`await make_venue(market_data_type=3)`: connected venues on the test loop, closed after."""
    made: list[Any] = []

    async def make(**options: Any) -> Any:
        v = Ibkr(port=loop_gateway.port, paper=True, client_id=2 + len(made), **options)
        made.append(v)
        await v.connect_async()
        return v

    yield make
    for v in made:
        v.close()


def truth(sim: GatewaySimulator, symbol: str = "AAPL") -> tuple[Decimal, Decimal, Decimal]:
    q = sim.engine.quote(sim.resolve(symbol))
    return q.bid, q.ask, q.last


def book(q: Quote) -> tuple[Decimal | None, Decimal | None, Decimal | None]:
    return q.bid, q.ask, q.last


def req_ids(venue: Any) -> list[int]:
    """ib_async's live reqMktData ids (to aim injected errors at a stream)."""
    return list(venue.ib.wrapper.ticker2ReqId["mktData"].values())


async def next_where(sub: Subscription, pred: Any, timeout: float = 5) -> Quote:
    async def scan() -> Quote:
        async for q in sub:
            if pred(q):
                return q
        raise AssertionError("subscription ended")

    return await asyncio.wait_for(scan(), timeout)


def test_snapshot_is_real_time_utc_and_paced(venue: Any, priced_gateway: GatewaySimulator) -> None:
    venue.qualify("AAPL")
    granted = venue.stats.requests_sent
    q = venue.quote("AAPL")
    assert venue.stats.requests_sent - granted == 2  # reqMarketDataType once, then the snapshot
    assert (
        book(q)
        == truth(priced_gateway)
        == (Decimal("189.99"), Decimal("190.01"), Decimal("190.00"))
    )
    assert q.bid_size is not None and q.bid_size > 0 and q.market_id == "AAPL"
    assert not q.delayed
    assert q.timestamp.tzinfo is UTC
    assert abs(datetime.now(UTC) - q.timestamp) < timedelta(seconds=30)
    priced_gateway.set_price("AAPL", Decimal("191.50"))
    granted = venue.stats.requests_sent
    assert venue.quote("aapl").last == Decimal("191.50")
    assert venue.stats.requests_sent - granted == 1


async def test_delayed_market_data_type_flags_every_quote(
    make_venue: Any, loop_gateway: GatewaySimulator
) -> None:
    venue = await make_venue(market_data_type=3)
    snap = await venue.quote_async("AAPL")
    assert snap.delayed and book(snap) == truth(loop_gateway)
    sub = await venue.subscribe_quotes_async(["AAPL"])
    first = await sub.next_async(5)
    assert first.delayed
    loop_gateway.set_price("AAPL", Decimal("192.00"))
    moved = await next_where(sub, lambda q: q.last == Decimal("192.00"))
    assert moved.delayed


async def test_stream_iterates_calls_back_and_is_shared(
    make_venue: Any, loop_gateway: GatewaySimulator
) -> None:
    venue = await make_venue()
    seen: list[Quote] = []
    sub = await venue.subscribe_quotes_async(["AAPL", "MSFT"], callback=seen.append)
    first = [await sub.next_async(5), await sub.next_async(5)]
    assert {q.market_id for q in first} == {"AAPL", "MSFT"}
    assert not any(q.delayed for q in first)
    assert book(sub.latest("MSFT")) == truth(loop_gateway, "MSFT")  # type: ignore[arg-type]
    loop_gateway.set_price("AAPL", Decimal("193.00"))
    moved = await next_where(sub, lambda q: q.market_id == "AAPL")
    assert book(moved) == truth(loop_gateway) and moved.last == Decimal("193.00")
    assert seen[-1] == moved and set(first) <= set(seen)

    granted = venue.stats.requests_sent
    other = await venue.subscribe_quotes_async(["AAPL"])
    assert venue.stats.requests_sent == granted  # no second reqMktData for the same market
    assert len(req_ids(venue)) == 2 and venue.subscribed_markets() == ["AAPL", "MSFT"]
    assert (await other.next_async(5)).last == Decimal("193.00")  # the latest, at once

    await venue.unsubscribe_async(sub)
    assert sub.closed and venue.subscribed_markets() == ["AAPL"]
    assert venue.stats.requests_sent - granted == 1  # MSFT cancelled at IB, AAPL still shared
    loop_gateway.set_price("AAPL", Decimal("194.00"))
    assert (await next_where(other, lambda q: True)).last == Decimal("194.00")
    await venue.unsubscribe_async(other)
    await venue.unsubscribe_async(other)  # idempotent
    assert req_ids(venue) == [] and venue.subscribed_markets() == []
    assert [q async for q in other] == []


async def test_no_permission_falls_back_to_delayed_and_says_so(
    make_venue: Any, loop_gateway: GatewaySimulator, caplog: pytest.LogCaptureFixture
) -> None:
    venue = await make_venue()
    sub = await venue.subscribe_quotes_async(["AAPL"])
    assert not (await sub.next_async(5)).delayed
    [req_id] = req_ids(venue)
    with caplog.at_level(logging.WARNING, logger="horizon.venues.ibkr"):
        loop_gateway.send_error(354, "Requested market data is not subscribed.", req_id)
        fallen = await next_where(sub, lambda q: q.delayed)
    assert book(fallen) == truth(loop_gateway)
    assert any("falling back to delayed" in r.getMessage() for r in caplog.records)
    assert req_ids(venue) != [req_id]  # re-requested under type 3
    loop_gateway.set_price("AAPL", Decimal("188.00"))
    assert (await next_where(sub, lambda q: q.last == Decimal("188.00"))).delayed
    assert (await venue.quote_async("AAPL")).delayed  # for good, snapshots too


async def test_a_10167_notice_flags_the_stream_delayed(
    make_venue: Any, loop_gateway: GatewaySimulator
) -> None:
    venue = await make_venue()
    sub = await venue.subscribe_quotes_async(["AAPL"])
    assert not (await sub.next_async(5)).delayed
    [req_id] = req_ids(venue)
    loop_gateway.send_error(
        10167, "Requested market data is not subscribed. Displaying delayed market data.", req_id
    )
    await until(venue.ib, lambda: [s.delayed for s in venue.quote_streams()] == [True])
    loop_gateway.set_price("AAPL", Decimal("189.00"))
    assert (await next_where(sub, lambda q: q.last == Decimal("189.00"))).delayed


async def test_no_data_at_all_is_reported_on_the_subscription(
    make_venue: Any, loop_gateway: GatewaySimulator
) -> None:
    venue = await make_venue(market_data_type=3)
    sub = await venue.subscribe_quotes_async(["AAPL", "MSFT"])
    await sub.next_async(5)
    aapl = next(
        r
        for t, r in venue.ib.wrapper.ticker2ReqId["mktData"].items()
        if t.contract.symbol == "AAPL"
    )
    loop_gateway.send_error(
        10168, "Requested market data is not subscribed. Delayed market data is not enabled.", aapl
    )
    await until(venue.ib, lambda: "AAPL" in sub.failures)
    assert "10168" in sub.failures["AAPL"] and "MSFT" not in sub.failures
    assert not sub.closed


async def test_streams_are_restored_after_a_gateway_restart(
    make_venue: Any, loop_gateway: GatewaySimulator
) -> None:
    venue = await make_venue(market_data_type=3, reconnect_initial_delay=0.05)
    back = asyncio.Event()

    def on_event(e: ConnectionEvent) -> None:
        if e.state is ConnectionState.RECONNECTED:
            back.set()

    venue.add_listener(on_event)
    sub = await venue.subscribe_quotes_async(["AAPL"])
    await sub.next_async(5)
    loop_gateway.restart(downtime=0.2)
    await asyncio.wait_for(back.wait(), 10)
    loop_gateway.set_price("AAPL", Decimal("187.00"))
    q = await next_where(sub, lambda q: q.last == Decimal("187.00"), timeout=10)
    assert q.delayed  # the new session was told type 3 again
    assert venue.subscribed_markets() == ["AAPL"] and len(req_ids(venue)) == 1


async def test_a_1101_resubscribes(make_venue: Any, loop_gateway: GatewaySimulator) -> None:
    venue = await make_venue()
    sub = await venue.subscribe_quotes_async(["AAPL"])
    await sub.next_async(5)
    [before] = req_ids(venue)
    loop_gateway.send_error(1101, "Connectivity between IB and TWS has been restored - data lost.")
    await until(venue.ib, lambda: req_ids(venue) not in ([], [before]))
    loop_gateway.set_price("AAPL", Decimal("186.00"))
    assert (await next_where(sub, lambda q: q.last == Decimal("186.00"))).last == Decimal(186)


def test_blocking_api_get_callback_and_close(venue: Any, priced_gateway: GatewaySimulator) -> None:
    seen: list[Quote] = []
    sub = venue.subscribe_quotes(["AAPL"], callback=seen.append)
    assert book(sub.get(timeout=5)) == truth(priced_gateway)
    priced_gateway.set_price("AAPL", Decimal("195.00"))
    while (q := sub.get(timeout=5)).last != Decimal("195.00"):
        pass
    assert q in seen
    with pytest.raises(UnknownInstrument):
        venue.subscribe_quotes(["ZZZZZ"])
    venue.close()
    assert sub.closed and list(sub) == []
