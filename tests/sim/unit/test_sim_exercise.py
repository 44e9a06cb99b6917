"""Exercise and lapse of a long option position: the legs they book, and the refusals."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ibgateway_sim.engine import ContractQuery, ContractSpec, Engine
from ibgateway_sim.engine.exercise import EXERCISE, LAPSE, Leg, Refused, exercise_legs


def _option(right: str, strike: int) -> tuple[ContractSpec, ContractSpec]:
    engine = Engine()
    (spec,) = [s for s in engine.match_contracts(ContractQuery(
        symbol="AAPL", sec_type="OPT", last_trade_date="20261218", right=right))
        if s.strike == strike]  # fmt: skip
    return spec, engine.contract(spec.under_con_id)


def _legs(right: str, strike: int, spot: str, **kw: object) -> list[Leg] | Refused:
    option, under = _option(right, strike)
    args: dict[str, object] = {"held": Decimal(3), "action": EXERCISE, "quantity": 2,
                               "override": False, "spot": Decimal(spot), **kw}  # fmt: skip
    return exercise_legs(option, under, **args)  # type: ignore[arg-type]


def test_exercising_a_call_buys_the_underlying_at_the_strike() -> None:
    legs = _legs("C", 180, "185")
    assert isinstance(legs, list)
    opt, stock = legs
    assert (opt.qty, opt.price) == (Decimal(-2), Decimal(0))
    assert stock.spec.sec_type == "STK" and stock.spec.symbol == "AAPL"
    assert (stock.qty, stock.price) == (Decimal(200), Decimal(180))


def test_exercising_a_put_sells_the_underlying_at_the_strike() -> None:
    legs = _legs("P", 190, "185")
    assert isinstance(legs, list)
    assert (legs[1].qty, legs[1].price) == (Decimal(-200), Decimal(190))


def test_a_lapse_only_removes_the_options() -> None:
    legs = _legs("C", 180, "185", action=LAPSE)
    assert isinstance(legs, list) and len(legs) == 1
    assert (legs[0].qty, legs[0].price) == (Decimal(-2), Decimal(0))


def test_an_out_of_the_money_option_is_exercised_only_with_override() -> None:
    refused = _legs("C", 190, "185")
    assert isinstance(refused, Refused) and "not in the money" in refused.text
    forced = _legs("C", 190, "185", override=True)
    assert isinstance(forced, list) and forced[1].price == Decimal(190)


@pytest.mark.parametrize(
    ("kw", "words"),
    [
        ({"held": Decimal(0)}, "No long position"),
        ({"held": Decimal(-3)}, "No long position"),
        ({"quantity": 4}, "exceeds the position 3"),
        ({"quantity": 0}, "must be positive"),
        ({"action": 3}, "Invalid exercise action 3"),
    ],
)
def test_requests_the_position_cannot_meet_are_refused(kw: dict[str, object], words: str) -> None:
    refused = _legs("C", 180, "185", **kw)
    assert isinstance(refused, Refused) and words in refused.text


def test_a_stock_is_not_exercised() -> None:
    _, under = _option("C", 180)
    refused = exercise_legs(under, None, held=Decimal(1), action=EXERCISE, quantity=1,
                            override=False, spot=Decimal(1))  # fmt: skip
    assert isinstance(refused, Refused) and "not an option" in refused.text
