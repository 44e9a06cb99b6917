"""The built-in universe's expiries on any date: the fixed contracts the same on every date,
the rolling ones live after it, their conIds a function of the contract alone and never
another's, an expiry listed once, and initial option prices the option model's."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from ibgateway_sim.engine import ContractQuery, ContractSpec, Engine
from ibgateway_sim.engine.universe import (
    REFERENCE_DATE,
    ROLLING_FUTURE_EXPIRIES,
    ROLLING_OPTION_EXPIRIES,
    builtin_universe,
    listing_date,
    monthly_expiries,
    quarterly_expiries,
    third_friday,
)
from tests.sim.engine_helpers import AAPL, FakeClock

DATES = st.dates(dt.date(2025, 1, 1), dt.date(2060, 12, 31))
FIXED_EXPIRIES = {"20260619", "20261218", "20270115", "20270319", "20270618"}


def key(s: ContractSpec) -> tuple[str, str, str, str, D, str]:
    return (s.sec_type, s.symbol, s.currency, s.last_trade_date, s.strike, s.right)


def fixed(specs: list[ContractSpec]) -> dict[int, ContractSpec]:
    """The contracts with a fixed expiry: AAPL options of FIXED_EXPIRIES, futures to 2027."""
    return {
        s.con_id: s
        for s in specs
        if (s.sec_type == "OPT" and s.last_trade_date in FIXED_EXPIRIES)
        or (s.sec_type == "FUT" and s.last_trade_date < "20280101")
        or s.sec_type in ("STK", "CASH")
    }


def test_the_specs_examples_keep_their_conids() -> None:
    specs = builtin_universe(dt.date(2031, 3, 10))
    by_key = {key(s): s.con_id for s in specs}
    assert by_key[("OPT", "AAPL", "USD", "20260619", D(180), "C")] == 700_000_013
    assert by_key[("FUT", "ES", "USD", "20250321", D(0), "")] == 637_533_000
    assert by_key[("FUT", "NQ", "USD", "20271217", D(0), "")] == 637_534_011
    assert by_key[("STK", "AAPL", "USD", "", D(0), "")] == AAPL


@settings(max_examples=60, deadline=None)
@given(day=DATES, other=DATES)
def test_conids_are_the_contracts_own_on_any_date(day: dt.date, other: dt.date) -> None:
    specs, others = builtin_universe(day), builtin_universe(other)
    ids = [s.con_id for s in specs]
    assert len(ids) == len(set(ids))  # no conId twice
    keys = [key(s) for s in specs]
    assert len(keys) == len(set(keys))  # no contract twice (a rolling expiry that is fixed)
    assert fixed(specs) == fixed(others) == fixed(builtin_universe(REFERENCE_DATE))
    # the same contract on two dates has one conId, and one conId is one contract
    mine, theirs = {key(s): s.con_id for s in specs}, {key(s): s.con_id for s in others}
    assert all(theirs[k] == c for k, c in mine.items() if k in theirs)
    assert len(set(mine.items()) | set(theirs.items())) == len(set(mine.values())
                                                               | set(theirs.values()))
    # a future is the same contract on every date, its initial price too
    futures = {s.con_id: s for s in others if s.sec_type == "FUT"}
    assert all(futures[s.con_id] == s for s in specs if s.con_id in futures)


@settings(max_examples=60, deadline=None)
@given(day=DATES)
def test_live_expiries_follow_the_date(day: dt.date) -> None:
    specs = builtin_universe(day)
    on_or_after = f"{day:%Y%m%d}"
    options = sorted({s.last_trade_date for s in specs if s.sec_type == "OPT"
                      and s.last_trade_date >= on_or_after})  # fmt: skip
    assert options[:ROLLING_OPTION_EXPIRIES] == [
        f"{e:%Y%m%d}" for e in monthly_expiries(day, ROLLING_OPTION_EXPIRIES)
    ]
    for symbol in ("ES", "NQ"):
        ladder = sorted((s for s in specs if s.symbol == symbol and s.sec_type == "FUT"
                         and s.last_trade_date >= on_or_after), key=key)  # fmt: skip
        expected = [f"{e:%Y%m%d}" for e in quarterly_expiries(day, ROLLING_FUTURE_EXPIRIES)]
        assert [f.last_trade_date for f in ladder][:ROLLING_FUTURE_EXPIRIES] == expected
        # a contango from the front month on
        prices = [f.initial_price for f in ladder]
        assert prices == sorted(prices) and len(set(prices)) == len(prices)
    for s in specs:
        if s.sec_type == "OPT":
            year, month = int(s.last_trade_date[:4]), int(s.last_trade_date[4:6])
            assert s.last_trade_date == f"{third_friday(year, month):%Y%m%d}"
            assert s.initial_price > 0


def test_rolling_option_prices_are_the_models_at_the_date() -> None:
    """An at-the-money call and put of a rolling expiry price near each other (zero
    dividend, small rate) and a further expiry is worth more."""
    day = dt.date(2031, 3, 10)
    specs = {key(s): s for s in builtin_universe(day)}
    near, far = monthly_expiries(day, 2)
    call_near = specs[("OPT", "AAPL", "USD", f"{near:%Y%m%d}", D(185), "C")].initial_price
    call_far = specs[("OPT", "AAPL", "USD", f"{far:%Y%m%d}", D(185), "C")].initial_price
    put_near = specs[("OPT", "AAPL", "USD", f"{near:%Y%m%d}", D(185), "P")].initial_price
    assert D(0) < put_near < call_near < call_far < D(20)
    deep = specs[("OPT", "AAPL", "USD", f"{near:%Y%m%d}", D(150), "C")].initial_price
    assert deep >= D(35)  # at least intrinsic value at the stock's initial 185


def test_the_engine_lists_from_its_clocks_date() -> None:
    t = dt.datetime(2031, 3, 10, 15, tzinfo=dt.UTC).timestamp()
    assert listing_date(t) == dt.date(2031, 3, 10)
    engine = Engine(clock=FakeClock(t))
    query = ContractQuery(symbol="ES", sec_type="FUT", last_trade_date="203103")
    assert [key(s) for s in engine.match_contracts(query)] == [
        ("FUT", "ES", "USD", "20310321", D(0), "")
    ]


def test_each_call_gets_a_list_of_its_own_of_the_days_specs() -> None:
    """Made once a day (the specs are frozen), handed out as a fresh list every time."""
    day = dt.date(2031, 3, 10)
    first, second = builtin_universe(day), builtin_universe(day)
    assert first == second and first is not second
    first.clear()
    assert builtin_universe(day) == second and len(second) > 300
    assert builtin_universe(dt.date(2031, 6, 10)) != second  # another day, other expiries
