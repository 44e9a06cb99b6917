"""BarAggregator: 5-second bars summed into bars of any multiple of 5 s, each once, in order;
a period cut by a reconnect is never handed out from its partial sum."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from horizon.venues.ibkr.mapping.aggregate import BarAggregator
from horizon.venues.ibkr.mapping.bars import Bar

T0 = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)


def five(n: int, price: int = 100, volume: int = 10) -> Bar:
    p = Decimal(price)
    return Bar(market_id="AAPL", start=T0 + timedelta(seconds=5 * n), open=p, high=p + 1,
               low=p - 1, close=p, volume=Decimal(volume), wap=p, count=2)  # fmt: skip


def test_a_minute_bar_is_its_twelve_five_second_bars() -> None:
    agg = BarAggregator("AAPL", 60)
    out = [b for n in range(12) for b in agg.add(five(n, price=100 + n))]
    [minute] = out  # complete with the 5-second bar that ends the minute
    assert minute.start == T0 and minute.open == 100 and minute.close == 111
    assert (minute.high, minute.low) == (Decimal(112), Decimal(99))
    assert minute.volume == Decimal(120) and minute.count == 24
    assert minute.wap == Decimal("105.5")


def test_a_cut_period_is_never_handed_out_from_its_sum() -> None:
    agg = BarAggregator("AAPL", 60)
    for n in range(5):
        agg.add(five(n))
    agg.interrupted()  # a reconnect: 5-s bars were lost; the stream rejoins at 0:40
    assert [b for n in range(8, 11) for b in agg.add(five(n))] == []  # the cut minute: held
    assert agg.owed == []
    assert agg.add(five(11)) == [] and agg.owed == [T0]  # complete now: fetch it from history
    agg.delivered(T0)  # its bar came from history
    nxt = [b for n in range(12, 25) for b in agg.add(five(n))]
    assert [b.start for b in nxt] == [T0 + timedelta(minutes=1)]


def test_a_period_joined_late_is_owed_from_history_not_summed() -> None:
    agg = BarAggregator("AAPL", 15)
    assert agg.add(five(1)) == [] and agg.add(five(2)) == []  # subscribed at 0:05
    assert agg.owed == [T0]  # the first 15 s are fetched, not summed from two of three
    assert [b.start for n in range(3, 6) for b in agg.add(five(n))] == [
        T0 + timedelta(seconds=15)
    ]


def test_sizes_that_are_not_multiples_of_five_seconds_are_refused() -> None:
    with pytest.raises(ValueError):
        BarAggregator("AAPL", 7)


@given(st.sampled_from([5, 10, 15, 30, 60, 120, 300]), st.lists(st.integers(0, 3), max_size=200))
@settings(max_examples=100, deadline=None)
def test_bars_come_out_in_order_each_once_and_sum_their_inputs(size: int, gaps: list[int]) -> None:
    agg = BarAggregator("AAPL", size)
    n, fed, out = 0, [], []
    for gap in gaps:
        n += gap + 1
        bar = five(n, volume=n)
        fed.append(bar)
        out += agg.add(bar)
    starts = [b.start for b in out]
    assert starts == sorted(set(starts))
    for bar in out:
        inside = [f for f in fed if bar.start <= f.start < bar.start + timedelta(seconds=size)]
        assert bar.volume == sum(f.volume for f in inside)
