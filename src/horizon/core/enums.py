"""String enums of the trading domain: their values serialize as themselves."""

from __future__ import annotations

from enum import StrEnum


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"
    STOP_LIMIT = "stop_limit"
    TRAILING_STOP = "trailing_stop"


class TimeInForce(StrEnum):
    DAY = "DAY"
    GTC = "GTC"
    IOC = "IOC"
    OPG = "OPG"
    GTD = "GTD"


class OrderStatus(StrEnum):
    PENDING_NEW = "pending_new"
    ACCEPTED = "accepted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"
    PENDING_CANCEL = "pending_cancel"
    REJECTED = "rejected"

    @property
    def is_terminal(self) -> bool:
        """No further fills or status changes can follow."""
        return self in _TERMINAL

    @property
    def is_open(self) -> bool:
        """The order may still fill (a pending cancel may still lose the race to a fill)."""
        return not self.is_terminal


class Liquidity(StrEnum):
    ADDED = "added"
    REMOVED = "removed"
    ROUTED = "routed"


_TERMINAL = frozenset({OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED})
