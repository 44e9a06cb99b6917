"""Execution algorithms a broker runs for one order: typed, validated when built.

A strategy names the algorithm and its few parameters; the venue sends them in its own
vocabulary (IB: ``algoStrategy`` + ``algoParams``). Participation rates are fractions
(Decimal("0.1") = 10 % of volume), times are tz-aware datetimes (naive ones are refused: a
guessed zone moves an algo's window by hours).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from horizon.core.values import Number, enum_choice, require_utc, to_decimal
from horizon.errors import InvalidOrder

__all__ = [
    "Adaptive",
    "Algo",
    "ArrivalPrice",
    "ClosePrice",
    "PercentOfVolume",
    "Priority",
    "RiskAversion",
    "Twap",
    "TwapStyle",
    "Vwap",
]

# IB's documented bounds for participation rates: 10 % .. 50 % of volume
MIN_PARTICIPATION = Decimal("0.1")
MAX_PARTICIPATION = Decimal("0.5")


class Priority(StrEnum):
    """How hard an adaptive order works for price against time."""

    URGENT = "urgent"
    NORMAL = "normal"
    PATIENT = "patient"


class RiskAversion(StrEnum):
    GET_DONE = "get_done"
    AGGRESSIVE = "aggressive"
    NEUTRAL = "neutral"
    PASSIVE = "passive"


class TwapStyle(StrEnum):
    """Which prices a TWAP slice may trade at."""

    MARKETABLE = "marketable"
    MATCHING_MIDPOINT = "matching_midpoint"
    MATCHING_SAME_SIDE = "matching_same_side"
    MATCHING_LAST = "matching_last"


def _rate(name: str, value: Number | None, *, required: bool = False) -> Decimal | None:
    if value is None:
        if required:
            raise InvalidOrder(name, "required")
        return None
    rate = to_decimal(name, value)
    if not MIN_PARTICIPATION <= rate <= MAX_PARTICIPATION:
        raise InvalidOrder(
            name,
            f"{rate} is outside {MIN_PARTICIPATION}..{MAX_PARTICIPATION} "
            "(a fraction of volume: 0.1 is 10 %)",
        )
    return rate


def _window(start: datetime | None, end: datetime | None) -> tuple[datetime | None, ...]:
    begin = None if start is None else require_utc("algo.start", start)
    finish = None if end is None else require_utc("algo.end", end)
    if begin is not None and finish is not None and finish <= begin:
        raise InvalidOrder("algo.end", f"{finish.isoformat()} is not after {begin.isoformat()}")
    return begin, finish


def _set(obj: object, **values: object) -> None:
    for name, value in values.items():
        object.__setattr__(obj, name, value)


@dataclass(frozen=True, slots=True)
class Adaptive:
    """IB's Adaptive algo: smart routing that works between the spread's sides."""

    priority: Priority | str = Priority.NORMAL

    def __post_init__(self) -> None:
        _set(self, priority=enum_choice("algo.priority", Priority, self.priority))


@dataclass(frozen=True, slots=True)
class Twap:
    """Time-weighted slices between `start` and `end` (now .. the close when omitted)."""

    style: TwapStyle | str = TwapStyle.MARKETABLE
    start: datetime | None = None
    end: datetime | None = None
    allow_past_end: bool = False

    def __post_init__(self) -> None:
        start, end = _window(self.start, self.end)
        _set(self, style=enum_choice("algo.style", TwapStyle, self.style), start=start, end=end)


@dataclass(frozen=True, slots=True)
class Vwap:
    """Volume-weighted slices, never more than `max_participation` of the volume."""

    max_participation: Number | None = None
    start: datetime | None = None
    end: datetime | None = None
    allow_past_end: bool = False
    no_take_liquidity: bool = False

    def __post_init__(self) -> None:
        start, end = _window(self.start, self.end)
        rate = _rate("algo.max_participation", self.max_participation)
        _set(self, max_participation=rate, start=start, end=end)


@dataclass(frozen=True, slots=True)
class ArrivalPrice:
    """Works toward the price at arrival, trading urgency for impact by `risk_aversion`."""

    max_participation: Number | None = None
    risk_aversion: RiskAversion | str = RiskAversion.NEUTRAL
    start: datetime | None = None
    end: datetime | None = None
    force_completion: bool = False
    allow_past_end: bool = False

    def __post_init__(self) -> None:
        start, end = _window(self.start, self.end)
        _set(
            self,
            max_participation=_rate("algo.max_participation", self.max_participation),
            risk_aversion=enum_choice("algo.risk_aversion", RiskAversion, self.risk_aversion),
            start=start,
            end=end,
        )


@dataclass(frozen=True, slots=True)
class ClosePrice:
    """Works toward the closing price from `start`."""

    max_participation: Number | None = None
    risk_aversion: RiskAversion | str = RiskAversion.NEUTRAL
    start: datetime | None = None
    force_completion: bool = False

    def __post_init__(self) -> None:
        start, _ = _window(self.start, None)
        _set(
            self,
            max_participation=_rate("algo.max_participation", self.max_participation),
            risk_aversion=enum_choice("algo.risk_aversion", RiskAversion, self.risk_aversion),
            start=start,
        )


@dataclass(frozen=True, slots=True)
class PercentOfVolume:
    """Trades `participation` of the market's volume until done (or `end`)."""

    participation: Number
    start: datetime | None = None
    end: datetime | None = None
    no_take_liquidity: bool = False

    def __post_init__(self) -> None:
        start, end = _window(self.start, self.end)
        rate = _rate("algo.participation", self.participation, required=True)
        _set(self, participation=rate, start=start, end=end)


Algo = Adaptive | Twap | Vwap | ArrivalPrice | ClosePrice | PercentOfVolume
ALGOS: tuple[type, ...] = (Adaptive, Twap, Vwap, ArrivalPrice, ClosePrice, PercentOfVolume)
