"""Algos and conditions: validated when built, mapped to IB's fields row by row."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from ib_async import Contract
from ib_async import order as ib_order

from horizon.core.algos import (
    Adaptive,
    ArrivalPrice,
    ClosePrice,
    PercentOfVolume,
    Twap,
    Vwap,
)
from horizon.core.conditions import (
    ExecutionCondition,
    MarginCondition,
    PercentChangeCondition,
    PriceCondition,
    TimeCondition,
    VolumeCondition,
)
from horizon.core.types import OrderAction
from horizon.errors import InvalidOrder
from horizon.venues.ibkr.mapping.orders import (
    algo_fields,
    condition_fields,
    to_ib_order,
    watched_markets,
)

START = datetime(2030, 1, 2, 14, 30, tzinfo=UTC)
END = START + timedelta(hours=2)
SPY = Contract(conId=756733, symbol="SPY", secType="STK", exchange="SMART", currency="USD")


def tags(algo: object) -> tuple[str, dict[str, str]]:
    strategy, params = algo_fields(algo)  # type: ignore[arg-type]
    return strategy, {t.tag: t.value for t in params}


# ------------------------------------------------------------------ algos: one row each
@pytest.mark.parametrize(
    ("algo", "strategy", "params"),
    [
        (Adaptive(), "Adaptive", {"adaptivePriority": "Normal"}),
        (Adaptive("urgent"), "Adaptive", {"adaptivePriority": "Urgent"}),
        (Adaptive("patient"), "Adaptive", {"adaptivePriority": "Patient"}),
        (
            Twap("matching_midpoint", start=START, end=END, allow_past_end=True),
            "Twap",
            {
                "strategyType": "Matching Midpoint",
                "startTime": "20300102 14:30:00 UTC",
                "endTime": "20300102 16:30:00 UTC",
                "allowPastEndTime": "1",
            },
        ),
        (Twap(), "Twap", {"strategyType": "Marketable", "allowPastEndTime": "0"}),
        (
            Vwap(max_participation="0.25", start=START, no_take_liquidity=True),
            "Vwap",
            {
                "maxPctVol": "0.25",
                "startTime": "20300102 14:30:00 UTC",
                "allowPastEndTime": "0",
                "noTakeLiq": "1",
            },
        ),
        (
            ArrivalPrice(max_participation="0.1", risk_aversion="get_done", force_completion=True),
            "ArrivalPx",
            {
                "maxPctVol": "0.1",
                "riskAversion": "Get Done",
                "forceCompletion": "1",
                "allowPastEndTime": "0",
            },
        ),
        (
            ClosePrice(risk_aversion="passive", start=START),
            "ClosePx",
            {
                "riskAversion": "Passive",
                "startTime": "20300102 14:30:00 UTC",
                "forceCompletion": "0",
            },
        ),
        (
            PercentOfVolume("0.5", end=END),
            "PctVol",
            {"pctVol": "0.5", "endTime": "20300102 16:30:00 UTC", "noTakeLiq": "0"},
        ),
    ],
)
def test_algo_maps_to_ib_strategy_and_params(
    algo: object, strategy: str, params: dict[str, str]
) -> None:
    assert tags(algo) == (strategy, params)


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: Adaptive("fast"), "algo.priority"),
        (lambda: Twap("sometimes"), "algo.style"),
        (lambda: Vwap(max_participation="0.9"), "algo.max_participation"),
        (lambda: Vwap(max_participation="0.05"), "algo.max_participation"),
        (lambda: Vwap(max_participation=0.2), "algo.max_participation"),  # float
        (lambda: PercentOfVolume(None), "algo.participation"),  # type: ignore[arg-type]
        (lambda: ArrivalPrice(risk_aversion="reckless"), "algo.risk_aversion"),
        (lambda: Twap(start=datetime(2030, 1, 2, 9, 30)), "algo.start"),  # naive
        (lambda: Twap(start=END, end=START), "algo.end"),
    ],
)
def test_algo_refuses_bad_parameters(build: object, field: str) -> None:
    with pytest.raises(InvalidOrder) as err:
        build()  # type: ignore[operator]
    assert err.value.field == field


def test_algo_times_are_held_in_utc() -> None:
    from zoneinfo import ZoneInfo

    local = datetime(2030, 1, 2, 9, 30, tzinfo=ZoneInfo("America/New_York"))
    assert Twap(start=local).start == START  # 09:30 in New York is 14:30 UTC


def test_algo_rides_on_market_and_limit_orders_only() -> None:
    market = OrderAction(market_id="AAPL", side="buy", quantity=100, algo=Vwap())
    order = to_ib_order(market, account="DU1")
    assert order.algoStrategy == "Vwap"
    assert {t.tag for t in order.algoParams} == {"allowPastEndTime", "noTakeLiq"}
    with pytest.raises(InvalidOrder) as err:
        OrderAction(
            market_id="AAPL", side="buy", quantity=1, order_type="stop", stop_price="9",
            algo=Adaptive(),
        )  # fmt: skip
    assert err.value.field == "algo"
    with pytest.raises(InvalidOrder, match="expected one of Adaptive"):
        OrderAction(market_id="AAPL", side="buy", quantity=1, algo="Vwap")  # type: ignore[arg-type]


def test_no_algo_sends_no_strategy() -> None:
    order = to_ib_order(OrderAction(market_id="AAPL", side="buy", quantity=1), account="DU1")
    assert order.algoStrategy == "" and order.algoParams == []
    assert order.conditions == []


# ------------------------------------------------------------------ conditions: one row each
@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (
            PriceCondition("SPY", "400.5", above=False, trigger="midpoint"),
            ib_order.PriceCondition(
                conjunction="a", isMore=False, price=400.5, conId=756733, exch="SMART",
                triggerMethod=8,
            ),
        ),
        (
            PriceCondition("SPY", "400", trigger="double_bid_ask", conjunction="or"),
            ib_order.PriceCondition(
                conjunction="o", isMore=True, price=400.0, conId=756733, exch="SMART",
                triggerMethod=1,
            ),
        ),
        (
            TimeCondition(START),
            ib_order.TimeCondition(conjunction="a", isMore=True, time="20300102 14:30:00 UTC"),
        ),
        (
            MarginCondition(30, above=False),
            ib_order.MarginCondition(conjunction="a", isMore=False, percent=30),
        ),
        (
            ExecutionCondition("SPY", conjunction="or"),
            ib_order.ExecutionCondition(conjunction="o", secType="STK", exch="SMART", symbol="SPY"),
        ),
        (
            VolumeCondition("SPY", 1_000_000),
            ib_order.VolumeCondition(
                conjunction="a", isMore=True, volume=1_000_000, conId=756733, exch="SMART"
            ),
        ),
        (
            PercentChangeCondition("SPY", "-2.5", above=False),
            ib_order.PercentChangeCondition(
                conjunction="a", isMore=False, changePercent=-2.5, conId=756733, exch="SMART"
            ),
        ),
    ],
)  # fmt: skip
def test_condition_maps_to_the_ib_condition(condition: object, expected: object) -> None:
    assert condition_fields(condition, {"SPY": SPY}) == expected  # type: ignore[arg-type]


def test_conditions_travel_on_the_order_with_their_flags() -> None:
    action = OrderAction(
        market_id="AAPL", side="buy", quantity=10, order_type="limit", limit_price="180",
        conditions=[PriceCondition("SPY", "400"), TimeCondition(START, conjunction="or")],
        conditions_cancel_order=True, conditions_outside_rth=True,
    )  # fmt: skip
    assert watched_markets(action.conditions) == ["SPY"]
    order = to_ib_order(action, account="DU1", watched={"SPY": SPY})
    assert [c.condType for c in order.conditions] == [1, 3]
    assert order.conditionsCancelOrder is True and order.conditionsIgnoreRth is True
    with pytest.raises(InvalidOrder, match="'SPY' was not resolved"):
        to_ib_order(action, account="DU1")


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: PriceCondition("SPY", "-1"), "condition.price"),
        (lambda: PriceCondition("SPY", 400.0), "condition.price"),
        (lambda: PriceCondition(" SPY", "1"), "condition.market_id"),
        (lambda: PriceCondition("SPY", "1", trigger="sometimes"), "condition.trigger"),
        (lambda: PriceCondition("SPY", "1", conjunction="xor"), "condition.conjunction"),
        (lambda: TimeCondition(datetime(2030, 1, 1)), "condition.at"),
        (lambda: MarginCondition(101), "condition.percent"),
        (lambda: MarginCondition(True), "condition.percent"),  # type: ignore[arg-type]
        (lambda: VolumeCondition("SPY", 0), "condition.volume"),
        (lambda: ExecutionCondition(""), "condition.market_id"),
        (lambda: PercentChangeCondition("SPY", "x"), "condition.percent"),
    ],
)
def test_condition_refuses_bad_values(build: object, field: str) -> None:
    with pytest.raises(InvalidOrder) as err:
        build()  # type: ignore[operator]
    assert err.value.field == field


def test_order_action_checks_its_conditions() -> None:
    with pytest.raises(InvalidOrder) as err:
        OrderAction(market_id="AAPL", side="buy", quantity=1, conditions=["price > 1"])  # type: ignore[list-item]
    assert err.value.field == "conditions"
    with pytest.raises(InvalidOrder) as err:
        OrderAction(market_id="AAPL", side="buy", quantity=1, conditions="SPY>1")  # type: ignore[arg-type]
    assert err.value.field == "conditions"
    with pytest.raises(InvalidOrder) as err:
        OrderAction(market_id="AAPL", side="buy", quantity=1, conditions_cancel_order=True)
    assert err.value.field == "conditions_cancel_order"
    held = OrderAction(market_id="AAPL", side="buy", quantity=1, conditions=[MarginCondition(20)])
    assert held.conditions == (MarginCondition(20),)
    assert isinstance(held.conditions[0].percent, int)
    assert PercentChangeCondition("SPY", "2").percent == Decimal("2")
