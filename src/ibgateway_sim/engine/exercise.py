"""Exercise and lapse of a long option position (exerciseOptions): what the request does to
the account, decided here, booked by the exchange.

The request's fields are those of IB's `EClient.exerciseOptions` (ibapi `client.py`):
exerciseAction 1 = exercise, 2 = lapse; exerciseQuantity in contracts; override 0 / 1, which
"overrides the system's natural action": without it an option that is not in the money is
not exercised. ibapi's `OptionExerciseType` (`execution.py`: Exercise 1, Lapse 2) names the
two actions an execution can carry.

What an exercise books: the options leave the account at price 0, and the underlying is
bought (a call) or sold (a put) at the strike, `quantity * multiplier` of it. A lapse only
removes the options at price 0. The premium paid is realised as the options' loss (IB's
books fold it into the stock's cost basis instead). Both take effect at once (IB processes
exercise notices with the clearing house at the end of the day; the simulator has no
overnight cycle). Pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from .model import ContractSpec

EXERCISE: Final = 1
LAPSE: Final = 2
EXERCISE_REFUSED: Final = 322  # IB's "Error processing request"
OPTION_SEC_TYPES: Final = frozenset({"OPT", "FOP"})


@dataclass(frozen=True, slots=True)
class Leg:
    """One execution an exercise books: `qty` signed (+ bought, - sold) at `price`."""

    spec: ContractSpec
    qty: Decimal
    price: Decimal


@dataclass(frozen=True, slots=True)
class Refused:
    text: str


def in_the_money(option: ContractSpec, spot: Decimal) -> bool:
    if option.right.startswith("C"):
        return spot > option.strike
    return spot < option.strike


def exercise_legs(
    option: ContractSpec,
    underlying: ContractSpec | None,
    *,
    held: Decimal,
    action: int,
    quantity: int,
    override: bool,
    spot: Decimal,
) -> list[Leg] | Refused:
    """The executions exercising (or lapsing) `quantity` of the `held` options make, or why
    the request is refused."""
    if option.sec_type not in OPTION_SEC_TYPES:
        return Refused(f"{option.local_symbol or option.symbol} is not an option")
    if action not in (EXERCISE, LAPSE):
        return Refused(f"Invalid exercise action {action}: 1 exercises, 2 lapses")
    if quantity <= 0:
        return Refused("The exercise quantity must be positive")
    if held <= 0:
        return Refused("No long position in the option to exercise or lapse")
    if quantity > held:
        return Refused(f"The exercise quantity {quantity} exceeds the position {held}")
    options = Leg(option, -Decimal(quantity), Decimal(0))
    if action == LAPSE:
        return [options]
    if underlying is None:
        return Refused("The option's underlying is not known")
    if not override and not in_the_money(option, spot):
        return Refused("The option is not in the money: set override to exercise it")
    delivered = Decimal(quantity) * option.multiplier_value
    sign = 1 if option.right.startswith("C") else -1
    return [options, Leg(underlying, delivered * sign, option.strike)]
