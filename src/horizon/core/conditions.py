"""Order conditions: an order that waits, working only once the market says so.

Each condition joins the next one by its `conjunction` ("and" / "or"); the order activates
(or, with ``conditions_cancel_order``, is canceled) when the chain holds. Market ids name the
instrument watched, which need not be the one traded. Percentages are plain numbers
(Decimal("2.5") = 2.5 %).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from horizon.core.values import (
    Number,
    enum_choice,
    market_id_grammar,
    require_utc,
    to_decimal,
)
from horizon.errors import InvalidOrder

__all__ = [
    "Condition",
    "Conjunction",
    "ExecutionCondition",
    "MarginCondition",
    "PercentChangeCondition",
    "PriceCondition",
    "TimeCondition",
    "TriggerMethod",
    "VolumeCondition",
]


class Conjunction(StrEnum):
    AND = "and"
    OR = "or"


class TriggerMethod(StrEnum):
    """Which prices decide a price condition (IB's trigger methods)."""

    DEFAULT = "default"
    DOUBLE_BID_ASK = "double_bid_ask"
    LAST = "last"
    DOUBLE_LAST = "double_last"
    BID_ASK = "bid_ask"
    LAST_BID_ASK = "last_bid_ask"
    MIDPOINT = "midpoint"


def _set(obj: object, **values: object) -> None:
    for name, value in values.items():
        object.__setattr__(obj, name, value)


def _conjunction(value: object) -> Conjunction:
    return enum_choice("condition.conjunction", Conjunction, value)


def _positive(name: str, value: Number) -> Decimal:
    d = to_decimal(name, value)
    if d <= 0:
        raise InvalidOrder(name, f"must be positive, got {d}")
    return d


def _whole(name: str, value: object, *, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidOrder(name, f"must be an int, got {value!r}")
    if value < low or (high is not None and value > high):
        bound = f"{low}..{high}" if high is not None else f">= {low}"
        raise InvalidOrder(name, f"must be {bound}, got {value}")
    return value


@dataclass(frozen=True, slots=True)
class PriceCondition:
    """Holds when `market_id`'s price is at or above `price` (or at or below, above=False)."""

    market_id: str
    price: Number
    above: bool = True
    trigger: TriggerMethod | str = TriggerMethod.DEFAULT
    conjunction: Conjunction | str = Conjunction.AND

    def __post_init__(self) -> None:
        trigger = enum_choice("condition.trigger", TriggerMethod, self.trigger)
        _set(
            self,
            market_id=market_id_grammar(self.market_id, "condition.market_id"),
            price=_positive("condition.price", self.price),
            trigger=trigger,
            conjunction=_conjunction(self.conjunction),
        )


@dataclass(frozen=True, slots=True)
class TimeCondition:
    """Holds once the clock passes `at` (or until it does, after=False)."""

    at: datetime
    after: bool = True
    conjunction: Conjunction | str = Conjunction.AND

    def __post_init__(self) -> None:
        _set(
            self,
            at=require_utc("condition.at", self.at),
            conjunction=_conjunction(self.conjunction),
        )


@dataclass(frozen=True, slots=True)
class MarginCondition:
    """Holds when the account's margin cushion is at or above `percent` (or at or below)."""

    percent: int
    above: bool = True
    conjunction: Conjunction | str = Conjunction.AND

    def __post_init__(self) -> None:
        _set(
            self,
            percent=_whole("condition.percent", self.percent, low=0, high=100),
            conjunction=_conjunction(self.conjunction),
        )


@dataclass(frozen=True, slots=True)
class ExecutionCondition:
    """Holds once the account trades `market_id` (any order of it)."""

    market_id: str
    conjunction: Conjunction | str = Conjunction.AND

    def __post_init__(self) -> None:
        _set(
            self,
            market_id=market_id_grammar(self.market_id, "condition.market_id"),
            conjunction=_conjunction(self.conjunction),
        )


@dataclass(frozen=True, slots=True)
class VolumeCondition:
    """Holds when `market_id`'s day volume is at or above `volume` (or at or below)."""

    market_id: str
    volume: int
    above: bool = True
    conjunction: Conjunction | str = Conjunction.AND

    def __post_init__(self) -> None:
        _set(
            self,
            market_id=market_id_grammar(self.market_id, "condition.market_id"),
            volume=_whole("condition.volume", self.volume, low=1),
            conjunction=_conjunction(self.conjunction),
        )


@dataclass(frozen=True, slots=True)
class PercentChangeCondition:
    """Holds when `market_id` has moved `percent` % or more since the last close (above=True),
    or is at or below that change (above=False; a negative percent is a fall)."""

    market_id: str
    percent: Number
    above: bool = True
    conjunction: Conjunction | str = Conjunction.AND

    def __post_init__(self) -> None:
        _set(
            self,
            market_id=market_id_grammar(self.market_id, "condition.market_id"),
            percent=to_decimal("condition.percent", self.percent),
            conjunction=_conjunction(self.conjunction),
        )


Condition = (
    PriceCondition
    | TimeCondition
    | MarginCondition
    | ExecutionCondition
    | VolumeCondition
    | PercentChangeCondition
)
CONDITIONS: tuple[type, ...] = (
    PriceCondition,
    TimeCondition,
    MarginCondition,
    ExecutionCondition,
    VolumeCondition,
    PercentChangeCondition,
)
# the conditions that watch an instrument: the venue resolves their market ids before sending
WATCHES_MARKET: tuple[type, ...] = (
    PriceCondition,
    ExecutionCondition,
    VolumeCondition,
    PercentChangeCondition,
)
