"""Bars and historical pacing, pure: IB's bar sizes and chunking, BarData -> Bar, and the
pacer's law (requests sent when it says so never break IB's three rules)."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ib_async import BarData, RealTimeBar

from horizon.errors import InvalidRequest
from horizon.venues.ibkr.historical_pacing import HistoricalPacer, PacingRules
from horizon.venues.ibkr.mapping.bars import (
    BAR_SIZES,
    BarSize,
    bar_from_ib,
    bar_from_realtime,
    chunks,
    duration_text,
    end_text,
)

END = datetime(2026, 11, 30, 21, 0, tzinfo=UTC)


def test_a_year_of_daily_bars_is_one_request_and_a_week_of_minutes_is_seven() -> None:
    assert chunks(END - timedelta(days=365), END, BarSize.DAY_1) == [(END, 365 * 86_400)]
    week = chunks(END - timedelta(days=7), END, BarSize.MIN_1)
    assert [span for _, span in week] == [86_400] * 7
    assert [at for at, _ in week] == [END - timedelta(days=d) for d in range(7)]  # newest first


@given(
    st.integers(min_value=1, max_value=3 * 365 * 86_400),
    st.sampled_from(list(BarSize)),
)
@settings(max_examples=200, deadline=None)
def test_chunks_cover_the_range_exactly_within_ibs_limit(seconds: int, size: BarSize) -> None:
    start = END - timedelta(seconds=seconds)
    parts = chunks(start, END, size)
    assert sum(span for _, span in parts) >= seconds
    assert all(0 < span <= BAR_SIZES[size][1] for _, span in parts)
    ends = [at for at, _ in parts]
    assert ends[0] == END and ends == sorted(ends, reverse=True)
    # contiguous: each chunk ends where the next newer one began
    for (newer, span), (older, _) in itertools.pairwise(parts):
        assert older == newer - timedelta(seconds=span)


def test_bad_ranges_and_durations_are_typed() -> None:
    with pytest.raises(InvalidRequest) as err:
        chunks(END, END, BarSize.MIN_1)
    assert err.value.field == "end"
    with pytest.raises(InvalidRequest):
        duration_text(0, BarSize.MIN_1)
    assert duration_text(3_600, BarSize.SEC_5) == "3600 S"
    assert duration_text(2 * 86_400, BarSize.MIN_2) == "2 D"
    assert duration_text(400 * 86_400, BarSize.DAY_1) == "2 Y"
    assert end_text(END) == "20261130-21:00:00" and end_text(None) == ""


def test_bars_are_decimal_and_utc() -> None:
    intraday = BarData(
        date=datetime(2026, 11, 30, 14, 30, tzinfo=UTC), open=190.01, high=190.5, low=189.9,
        close=190.25, volume=1200, average=190.12, barCount=31,
    )  # fmt: skip
    bar = bar_from_ib(intraday, market_id="AAPL")
    assert (bar.open, bar.high, bar.low, bar.close) == (
        Decimal("190.01"), Decimal("190.5"), Decimal("189.9"), Decimal("190.25"),
    )  # fmt: skip
    assert bar.volume == Decimal(1200) and bar.wap == Decimal("190.12") and bar.count == 31
    daily = bar_from_ib(
        BarData(date=date(2026, 11, 30), open=1, high=2, low=0.5, close=1.5, volume=-1,
                average=-1, barCount=-1),
        market_id="AAPL", time_zone="America/New_York",
    )  # fmt: skip
    assert daily.start == datetime(2026, 11, 30, 5, 0, tzinfo=UTC)  # midnight in New York
    assert daily.wap is None and daily.count is None and daily.volume == 0  # none sent
    live = bar_from_realtime(
        RealTimeBar(time=datetime(2026, 11, 30, 14, 30, 5, tzinfo=UTC), open_=1.0, high=1.5,
                    low=0.75, close=1.25, volume=10, wap=1.1, count=3),
        market_id="AAPL",
    )  # fmt: skip
    assert live.start.second == 5 and live.close == Decimal("1.25")


# ------------------------------------------------------------------ the pacer
def test_an_identical_request_waits_15_seconds() -> None:
    pacer = HistoricalPacer()
    pacer.record("q", "AAPL", 1, now=100.0)
    assert pacer.delay("q", "AAPL", 1, now=101.0) == pytest.approx(14.0)
    assert pacer.delay("other", "MSFT", 1, now=101.0) == 0.0
    assert pacer.delay("q", "AAPL", 1, now=115.0) == 0.0


def test_bid_ask_counts_twice_against_the_per_contract_rule() -> None:
    pacer = HistoricalPacer()
    for n in range(2):
        pacer.record(f"q{n}", "AAPL", 2, now=10.0)  # 4 of 6
    assert pacer.delay("q2", "AAPL", 2, now=10.5) == 0.0
    pacer.record("q2", "AAPL", 2, now=10.5)  # 6 of 6
    # the first two expire at 12.0
    assert pacer.delay("q3", "AAPL", 1, now=11.0) == pytest.approx(1.0)


Request = tuple[float, int, int, int]  # (gap, request id, contract, weight)


@given(
    st.lists(
        st.tuples(
            st.floats(min_value=0, max_value=3, allow_nan=False),
            st.integers(0, 5),
            st.integers(0, 2),
            st.sampled_from([1, 1, 2]),
        ),
        min_size=1,
        max_size=150,
    )
)
@settings(max_examples=150, deadline=None)
def test_requests_sent_when_the_pacer_says_never_break_a_rule(reqs: list[Request]) -> None:
    rules = PacingRules(window_s=60.0, max_in_window=10)  # IB's shape, smaller numbers
    pacer = HistoricalPacer(rules)
    now = 0.0
    sent: list[tuple[float, int, int, int]] = []
    for gap, rid, contract, weight in reqs:
        now += gap
        now += pacer.delay((rid, contract), contract, weight, now)
        pacer.record((rid, contract), contract, weight, now)
        sent.append((now, rid, contract, weight))
    for i, (t, rid, contract, _) in enumerate(sent):
        window = [w for s, _, _, w in sent[: i + 1] if s > t - rules.window_s + 1e-9]
        assert sum(window) <= rules.max_in_window
        since = t - rules.per_contract_s + 1e-9
        per = [w for s, _, c, w in sent[: i + 1] if c == contract and s > since]
        assert sum(per) <= rules.max_per_contract
        same = [s for s, r, c, _ in sent[:i] if (r, c) == (rid, contract)]
        assert not same or t - max(same) >= rules.identical_s - 1e-9
