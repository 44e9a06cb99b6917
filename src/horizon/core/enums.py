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
    TRAILING_STOP_LIMIT = "trailing_stop_limit"  # trail + a limit offset from the stop
    MARKET_IF_TOUCHED = "market_if_touched"  # a market order once the price touches stop_price
    LIMIT_IF_TOUCHED = "limit_if_touched"  # a limit order once the price touches stop_price
    MARKET_ON_CLOSE = "market_on_close"  # at the closing auction
    LIMIT_ON_CLOSE = "limit_on_close"
    MARKET_ON_OPEN = "market_on_open"  # at the opening auction
    LIMIT_ON_OPEN = "limit_on_open"
    RELATIVE = "relative"  # pegged to the same-side quote by `offset` (a limit caps it)
    MIDPRICE = "midprice"  # at the midpoint or better (a limit caps it)
    PEGGED_TO_MIDPOINT = "pegged_to_midpoint"  # the midpoint -/+ `offset` (a limit caps it)
    MARKET_TO_LIMIT = "market_to_limit"  # market; any rest becomes a limit at the fill price


class TimeInForce(StrEnum):
    DAY = "DAY"
    GTC = "GTC"
    IOC = "IOC"
    OPG = "OPG"
    GTD = "GTD"
    FOK = "FOK"  # fill or kill: all at once, or nothing


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
