"""Quotes (pure): ib_async Ticker -> Quote, the delayed flag, market-data types, Subscription."""

from __future__ import annotations

import asyncio
import math
import threading
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from ib_async import Stock, Ticker

from horizon.errors import ConfigurationError, HorizonError, InvalidOrder, RequestTimeout
from horizon.venues.ibkr.mapping.quotes import (
    DELAYED_TICK_TYPES,
    FALLBACK_CODES,
    MarketDataType,
    Quote,
    Subscription,
    check_market_data_type,
    fallback_type,
    is_delayed,
    quote_from_ticker,
)

NOW = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)


def ticker(**kw: object) -> Ticker:
    """A Ticker filled the way ib_async's wrapper fills one (its __post_init__ resets the
    price fields, so they are set afterwards)."""
    base: dict[str, object] = {
        "bid": 190.01, "ask": 190.03, "last": 190.02,
        "bidSize": 300.0, "askSize": 100.0, "lastSize": 5.0,
        "time": NOW, "marketDataType": 1,
    }
    base.update(kw)
    t = Ticker(contract=Stock("AAPL", "SMART", "USD"))
    for name, value in base.items():
        setattr(t, name, value)
    return t


def q(**kw: object) -> Quote:
    base: dict[str, object] = {
        "market_id": "AAPL", "bid": Decimal("1"), "ask": Decimal("2"), "last": None,
        "bid_size": None, "ask_size": None, "last_size": None, "timestamp": NOW,
        "delayed": False,
    }
    base.update(kw)
    return Quote(**base)  # type: ignore[arg-type]


def test_real_time_ticker_maps_to_exact_decimals() -> None:
    quote = quote_from_ticker(ticker(), market_id="AAPL", now=NOW + timedelta(seconds=5))
    assert quote == Quote(
        market_id="AAPL", bid=Decimal("190.01"), ask=Decimal("190.03"), last=Decimal("190.02"),
        bid_size=Decimal(300), ask_size=Decimal(100), last_size=Decimal(5),
        timestamp=NOW, delayed=False,
    )
    assert quote.mid == Decimal("190.02")


@pytest.mark.parametrize("md_type", [3, 4])
def test_delayed_market_data_types_flag_the_quote(md_type: int) -> None:
    assert quote_from_ticker(ticker(marketDataType=md_type), market_id="AAPL", now=NOW).delayed


def test_a_delayed_notice_flags_even_a_type_1_ticker() -> None:
    quote = quote_from_ticker(ticker(), market_id="AAPL", now=NOW, delayed=True)
    assert quote.delayed


def test_missing_values_are_none() -> None:
    t = ticker(bid=-1.0, bidSize=0.0, ask=math.nan, askSize=math.nan, last=math.nan,
               lastSize=math.nan)
    quote = quote_from_ticker(t, market_id="AAPL", now=NOW)
    assert (quote.bid, quote.ask, quote.last) == (None, None, None)
    assert (quote.bid_size, quote.ask_size, quote.last_size) == (None, None, None)
    assert quote.mid is None
    unset = quote_from_ticker(ticker(bid=1.7976931348623157e308), market_id="AAPL", now=NOW)
    assert unset.bid is None


def test_timestamps_are_utc_and_fall_back_to_now() -> None:
    est = timezone(timedelta(hours=-5))
    quote = quote_from_ticker(ticker(time=datetime(2025, 3, 3, 10, 0, tzinfo=est)),
                              market_id="AAPL", now=NOW)
    assert quote.timestamp == NOW and quote.timestamp.tzinfo is UTC
    for t in (None, datetime(2025, 3, 3, 10, 0)):
        assert quote_from_ticker(ticker(time=t), market_id="AAPL", now=NOW).timestamp == NOW


def test_quote_refuses_naive_timestamps_and_compares_books() -> None:
    with pytest.raises(InvalidOrder):
        q(timestamp=datetime(2025, 1, 1))
    assert q().same_book(q(timestamp=NOW + timedelta(seconds=1)))
    assert not q().same_book(q(delayed=True))
    assert not q().same_book(None)


def test_is_delayed_reads_types_ticks_and_notices() -> None:
    assert not is_delayed(1, [1, 2, 4, 0, 3, 5, 45])
    assert all(is_delayed(1, [t]) for t in (66, 67, 68, 69, 70, 71, 75, 88))
    assert is_delayed(3) and is_delayed(4) and is_delayed(1, notice=True)
    assert not is_delayed(2)
    assert DELAYED_TICK_TYPES.isdisjoint(range(0, 66))


def test_fallback_goes_from_real_time_to_delayed_once() -> None:
    assert fallback_type(1) is MarketDataType.DELAYED
    assert fallback_type(2) is MarketDataType.DELAYED_FROZEN
    assert fallback_type(3) is None and fallback_type(4) is None
    assert {354, 10168} <= FALLBACK_CODES and 10167 not in FALLBACK_CODES
    assert MarketDataType.DELAYED.delayed and not MarketDataType.REALTIME.delayed


@pytest.mark.parametrize("bad", [0, 5, "1", 1.0, True])
def test_market_data_type_must_be_1_to_4(bad: object) -> None:
    with pytest.raises(ConfigurationError):
        check_market_data_type(bad)
    assert check_market_data_type(3) is MarketDataType.DELAYED


# ---- Subscription ---------------------------------------------------------------------------


def test_subscription_queues_in_order_and_ends_when_closed() -> None:
    sub = Subscription(["AAPL"])
    sub.push(q(bid=Decimal(1)))
    sub.push(q(bid=Decimal(2)))
    assert sub.pending() == 2 and sub.latest("AAPL") == q(bid=Decimal(2))
    sub.close()
    sub.push(q(bid=Decimal(3)))  # ignored once closed
    assert [x.bid for x in sub] == [Decimal(1), Decimal(2)]
    assert sub.closed and sub.latest("MSFT") is None


def test_subscription_drops_the_oldest_beyond_maxlen() -> None:
    sub = Subscription(["AAPL"], maxlen=2)
    for i in range(5):
        sub.push(q(bid=Decimal(i)))
    assert sub.dropped == 3
    assert [sub.get(0).bid, sub.get(0).bid] == [Decimal(3), Decimal(4)]


def test_get_times_out_and_records_failures() -> None:
    sub = Subscription(["AAPL"])
    with pytest.raises(RequestTimeout):
        sub.get(timeout=0.01)
    sub.fail("AAPL", "IB error 10168: no delayed data")
    assert sub.failures == {"AAPL": "IB error 10168: no delayed data"}


async def test_async_iteration_wakes_on_a_push_from_another_thread() -> None:
    sub = Subscription(["AAPL"], loop=asyncio.get_running_loop())
    started = threading.Event()

    def produce() -> None:
        started.wait(5)
        sub.push(q(bid=Decimal(7)))
        sub.close()

    thread = threading.Thread(target=produce)
    thread.start()
    started.set()
    got = [x.bid async for x in sub]
    thread.join(5)
    assert got == [Decimal(7)]
    with pytest.raises(StopAsyncIteration):
        await sub.__anext__()


async def test_next_async_times_out_and_get_refuses_the_venue_loop() -> None:
    sub = Subscription(["AAPL"], loop=asyncio.get_running_loop())
    with pytest.raises(RequestTimeout):
        await sub.next_async(0.01)
    with pytest.raises(HorizonError, match="async for"):
        sub.get(0)
    sub.push(q())
    assert await sub.next_async(1) == q()
