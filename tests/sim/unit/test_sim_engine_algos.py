"""Paper engine, IB algos (TWS API "IB Algos"): strategies and parameters checked as IB
checks them, then the order worked in slices, each an execution of the order itself.
AAPL starts at 185.00 (184.99 / 185.01); the clock starts 2026-11-18 11:06:40 UTC and is
moved by hand, so every slice is known in advance."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from ibgateway_sim.engine import Engine, OrderState
from ibgateway_sim.engine.market import MarketSetup
from ibgateway_sim.engine.sessions import US_EQUITY
from tests.sim.engine_helpers import AAPL, FakeClock, errors, fills, order, statuses

START, END = "20261118-11:06:40", "20261118-11:23:20"  # the clock's start, +1000 s


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def engine(clock: FakeClock) -> Engine:
    return Engine(clock=clock, seed=7)


def algo(oid: int, strategy: str, qty: int = 1000, otype: str = "MKT", **params: str
         ) -> object:
    return order(oid, qty=qty, otype=otype, algo_strategy=strategy,
                 algo_params=tuple(params.items()))


def state(engine: Engine, oid: int = 1) -> OrderState:
    st = engine.order(1, oid)
    assert st is not None
    return st


def test_twap_trades_evenly_over_its_window(engine: Engine, clock: FakeClock) -> None:
    events = engine.place(algo(1, "Twap", startTime=START, endTime=END))  # type: ignore[arg-type]
    assert statuses(events) == ["PreSubmitted", "Submitted"] and fills(events) == []
    slices = []
    for _ in range(10):
        clock.t += 100
        slices += fills(engine.step())
    assert [ex.shares for ex in slices] == [D(100)] * 10
    assert {ex.order_id for ex in slices} == {1}  # IB reports algo fills under the parent
    assert [ex.cum_qty for ex in slices] == [D(100 * i) for i in range(1, 11)]
    assert state(engine).status == "Filled"


def test_twap_parent_status_carries_the_cumulative_fill(engine: Engine, clock: FakeClock
                                                        ) -> None:
    engine.place(algo(1, "Twap", startTime=START, endTime=END))  # type: ignore[arg-type]
    clock.t += 250
    engine.step()
    st = state(engine)
    assert (st.status, st.filled, st.remaining) == ("Submitted", D(250), D(750))


@pytest.mark.parametrize(
    ("style", "price"),
    [("Marketable", "185.01"), ("Matching Midpoint", "185.00"),
     ("Matching Same Side", "184.99"), ("Matching Last", "185.00")],
)
def test_twap_strategy_type_sets_the_slice_price(engine: Engine, clock: FakeClock,
                                                 style: str, price: str) -> None:
    engine.place(algo(1, "Twap", strategyType=style, endTime=END))  # type: ignore[arg-type]
    clock.t += 100
    (ex,) = fills(engine.set_price(AAPL, D("185.00")))
    assert ex.price == D(price)


def test_vwap_follows_the_volume_profile_not_the_clock(engine: Engine, clock: FakeClock
                                                       ) -> None:
    # a window from late morning to the end of the (always-open, UTC) day: the profile's U
    # puts little volume at midday, so a Vwap is behind a Twap after the first hour
    engine.place(algo(1, "Vwap", endTime="20261118-23:59:59"))  # type: ignore[arg-type]
    engine.place(algo(2, "Twap", endTime="20261118-23:59:59"))  # type: ignore[arg-type]
    clock.t += 3600
    engine.step()
    vwap, twap = state(engine, 1).filled, state(engine, 2).filled
    assert 0 < vwap < twap
    clock.t += 12 * 3600
    engine.step()
    assert state(engine, 1).status == "Filled"


def test_vwap_max_pct_vol_caps_the_participation(engine: Engine, clock: FakeClock) -> None:
    engine.place(algo(1, "Vwap", maxPctVol="0.1", endTime=END))  # type: ignore[arg-type]
    before = engine.quote(AAPL).volume
    for _ in range(5):
        clock.t += 100
        engine.step()
    traded = engine.quote(AAPL).volume - before
    filled = state(engine).filled
    assert 0 < filled <= traded * D("0.1")


def test_pct_vol_participates_at_its_rate(engine: Engine, clock: FakeClock) -> None:
    engine.place(algo(1, "PctVol", qty=5000, pctVol="0.2"))  # type: ignore[arg-type]
    before = engine.quote(AAPL).volume
    for _ in range(20):
        clock.t += 1
        engine.step()
    traded = engine.quote(AAPL).volume - before
    assert state(engine).filled == int(traded * D("0.2"))


def test_arrival_price_front_loads_by_risk_aversion(engine: Engine, clock: FakeClock) -> None:
    engine.place(algo(1, "ArrivalPx", riskAversion="Get Done", endTime=END))  # type: ignore[arg-type]
    engine.place(algo(2, "ArrivalPx", riskAversion="Passive", endTime=END))  # type: ignore[arg-type]
    clock.t += 250  # a quarter of the window
    engine.step()
    assert state(engine, 1).filled == 707  # 1000 x 0.25 ** 0.25, whole shares
    assert state(engine, 2).filled == 250


def test_close_price_back_loads_and_completes_in_the_closing_auction() -> None:
    clock = FakeClock(US_EQUITY.next_regular_open(1_795_000_000.0) + 5.5 * 3600)  # 15:00
    engine = Engine(clock=clock, seed=7, market=MarketSetup(trading_hours=True))
    engine.place(algo(1, "ClosePx", riskAversion="Aggressive",  # type: ignore[arg-type]
                      forceCompletion="1"))
    clock.t += 1800  # half way to the close: 1000 x 0.5 ** 2
    engine.step()
    assert state(engine).filled == 250
    clock.t += 1800 + 1  # across 16:00
    events = engine.step()
    (last,) = fills(events)
    assert last.shares == 750 and state(engine).status == "Filled"


def test_adaptive_urgent_takes_the_touch(engine: Engine) -> None:
    (ex,) = fills(engine.place(algo(1, "Adaptive", qty=100, adaptivePriority="Urgent")))  # type: ignore[arg-type]
    assert ex.price == D("185.01")


def test_adaptive_normal_first_tries_the_midpoint(engine: Engine) -> None:
    events = engine.place(algo(1, "Adaptive", qty=100, adaptivePriority="Normal"))  # type: ignore[arg-type]
    assert fills(events) == []  # resting at the 185.00 midpoint
    (ex,) = fills(engine.set_price(AAPL, D("185.00")))  # traded at its resting price
    assert ex.price == D("185.00") and ex.liquidity == 1


def test_adaptive_normal_then_takes_the_touch(engine: Engine) -> None:
    engine.place(algo(1, "Adaptive", qty=100, adaptivePriority="Normal"))  # type: ignore[arg-type]
    (ex,) = fills(engine.set_price(AAPL, D("185.50")))  # moved away: it gives up waiting
    assert ex.price == D("185.51") and ex.liquidity == 2


def test_adaptive_patient_waits_longer_then_takes_the_touch(engine: Engine) -> None:
    engine.place(algo(1, "Adaptive", qty=100, adaptivePriority="Patient"))  # type: ignore[arg-type]
    moves = [fills(engine.set_price(AAPL, D(p))) for p in ("185.10", "185.20", "185.30")]
    assert moves[:2] == [[], []]
    (ex,) = moves[2]
    assert ex.price == D("185.31")


def test_adaptive_limit_never_pays_through(engine: Engine) -> None:
    assert errors(engine.place(order(2, qty=100, otype="LMT", limit_price=D("184.00"),
                                     algo_strategy="Adaptive",
                                     algo_params=(("adaptivePriority", "Urgent"),)))) == []
    assert fills(engine.set_price(AAPL, D("185.50"))) == []
    (ex,) = fills(engine.set_price(AAPL, D("183.90")))
    assert ex.order_id == 2 and ex.price <= D("184.00")


def test_unfilled_at_the_end_time_the_rest_is_cancelled(engine: Engine, clock: FakeClock
                                                       ) -> None:
    engine.place(order(1, qty=1000, otype="LMT", limit_price=D("100.00"), algo_strategy="Twap",
                       algo_params=(("endTime", END),)))
    engine.place(order(2, qty=1000, otype="LMT", limit_price=D("100.00"), algo_strategy="Twap",
                       algo_params=(("endTime", END), ("allowPastEndTime", "1"))))
    clock.t += 1001
    events = engine.step()
    assert statuses(events, 1) == ["Cancelled"] and statuses(events, 2) == []
    assert state(engine, 2).status == "Submitted"


@pytest.mark.parametrize(
    ("strategy", "params", "otype"),
    [
        ("Bogus", {}, "MKT"),
        ("Adaptive", {"adaptivePriority": "Hasty"}, "MKT"),
        ("Adaptive", {}, "STP"),
        ("ArrivalPx", {"riskAversion": "Reckless"}, "MKT"),
        ("Twap", {"strategyType": "Sideways"}, "MKT"),
        ("PctVol", {"pctVol": "0.6"}, "MKT"),
        ("PctVol", {"pctVol": "0.05"}, "MKT"),
        ("Vwap", {"maxPctVol": "0.51"}, "MKT"),
        ("PctVol", {}, "MKT"),
        ("Twap", {"startTime": "20261118-12:00:00", "endTime": "20261118-11:30:00"}, "MKT"),
        ("Twap", {"startTime": "noon"}, "MKT"),
    ],
)
def test_bad_algos_are_rejected_as_ib_rejects_them(engine: Engine, strategy: str,
                                                    params: dict[str, str], otype: str
                                                    ) -> None:
    extra = {"aux_price": D("190.00")} if otype == "STP" else {}
    events = engine.place(order(1, otype=otype, algo_strategy=strategy,
                                algo_params=tuple(params.items()), **extra))
    assert errors(events) == [(1, 201)] and statuses(events) == ["Inactive"]
    assert fills(events) == []


def test_algo_times_of_day_in_a_zone(engine: Engine, clock: FakeClock) -> None:
    # "hh:mm:ss zone" is today in that zone: 06:06:40 to 06:23:20 in New York
    engine.place(algo(1, "Twap", startTime="06:06:40 US/Eastern",  # type: ignore[arg-type]
                      endTime="06:23:20 US/Eastern"))
    clock.t += 500
    engine.step()
    assert state(engine).filled == 500
