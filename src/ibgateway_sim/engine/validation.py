"""Order checks that need no engine state: action, type, TIF, prices on the tick grid,
quantity, and the GTD / good-after times. Failures raise `Rejection`, which the engine
turns into the error events TWS would send."""

from __future__ import annotations

from decimal import Decimal

from .book import on_grid
from .combos import COMBO_TYPES
from .model import ContractSpec, OrderRequest
from .timeparse import parse_ib_time
from .working import (
    ACTIONS,
    CLOSE_AUCTION_TYPES,
    LIMIT_TYPES,
    OFF_TICK,
    ORDER_TYPES,
    PEGGED_TYPES,
    REJECTED,
    STOP_TYPES,
    TEXT_OFF_TICK,
    TIFS,
    text_rejected,
)


class Rejection(Exception):
    """An order the gateway refuses; carries the error code and text to send."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(text)
        self.code, self.text = code, text


def reject(reason: str) -> Rejection:
    return Rejection(REJECTED, text_rejected(reason))


def check_request(req: OrderRequest, spec: ContractSpec) -> None:
    if req.action not in ACTIONS:
        raise reject(f"Invalid action {req.action!r}")
    if req.order_type not in ORDER_TYPES:
        raise reject(f"Unsupported order type {req.order_type!r}")
    if req.tif not in TIFS:
        raise reject(f"Invalid time in force {req.tif!r}")
    check_auction(req)
    check_prices(req, spec)


def check_auction(req: OrderRequest) -> None:
    """The auction orders' time in force (TWS API "Order Types": MOC and LOC are DAY orders
    for the closing auction; the opening auction is a MKT or LMT order with tif OPG). The
    wording of the reason is ours; the code is IB's generic order rejection, 201."""
    if req.order_type in CLOSE_AUCTION_TYPES and req.tif != "DAY":
        raise reject(
            f"{req.order_type} orders must have a time in force of DAY, not {req.tif}"
        )
    if req.tif == "OPG" and req.order_type not in ("MKT", "LMT"):
        raise reject(
            f"Time in force OPG is only valid for MKT and LMT orders, not {req.order_type}"
        )


def check_combo(req: OrderRequest, spec: ContractSpec) -> None:
    """A BAG order is a market or limit order on the net price (TWS API "Spreads"); the net
    limit may be zero or negative (a credit), but it sits on the legs' tick grid."""
    if req.action not in ACTIONS:
        raise reject(f"Invalid action {req.action!r}")
    if req.order_type not in COMBO_TYPES:
        raise reject(f"Unsupported order type {req.order_type!r} for a combo")
    if req.tif not in TIFS or req.tif == "OPG":
        raise reject(f"Invalid time in force {req.tif!r}")
    if req.order_type == "LMT":
        if req.limit_price is None:
            raise reject("Limit price is missing")
        if not on_grid(req.limit_price, spec.min_tick):
            raise Rejection(OFF_TICK, TEXT_OFF_TICK)
    check_quantity(req.quantity, spec)


def check_quantity(qty: Decimal, spec: ContractSpec) -> None:
    if qty <= 0:
        raise reject(f"The order quantity {qty} must be positive")
    if qty % spec.size_increment:
        raise reject(
            f"The order size {qty} is not a multiple of the size increment {spec.size_increment}"
        )


def check_prices(req: OrderRequest, spec: ContractSpec) -> None:
    """Required prices present, and every price (and trailing amount) on the tick grid."""
    t = req.order_type
    if t in LIMIT_TYPES and t != "TRAIL LIMIT" and req.limit_price is None:
        raise reject("Limit price is missing")
    if t in ("STP", "STP LMT", "MIT", "LIT") and req.aux_price is None:
        raise reject("Stop price is missing")
    if t in ("TRAIL", "TRAIL LIMIT") and not (req.aux_price or req.trailing_percent):
        raise reject("Trailing amount or trailing percent is missing")
    prices = [
        req.limit_price if t in LIMIT_TYPES or t in PEGGED_TYPES else None,
        req.aux_price if t in ("REL", "PEG MID") else None,
        req.aux_price if t in STOP_TYPES else None,
        req.trail_stop_price if t in ("TRAIL", "TRAIL LIMIT") else None,
        req.limit_price_offset if t == "TRAIL LIMIT" else None,
    ]
    for p in prices:
        if p is not None and p == 0 and t in PEGGED_TYPES:
            continue  # a zero offset pegs to the reference itself
        if p is not None and (p <= 0 or not on_grid(p, spec.min_tick)):
            if p <= 0:
                raise reject(f"The price {p} must be positive")
            raise Rejection(OFF_TICK, TEXT_OFF_TICK)


def parse_times(req: OrderRequest, now: float, timezone: str) -> tuple[float | None, float | None]:
    """(good-till epoch, good-after epoch); a good-after time already past is None."""
    gtd = gat = None
    try:
        if req.tif == "GTD":
            if not req.good_till_date:
                raise reject("Good till date is missing")
            gtd = parse_ib_time(req.good_till_date, timezone)
            if gtd <= now:
                raise reject("Good till date is in the past")
        if req.good_after_time:
            gat = parse_ib_time(req.good_after_time, timezone)
            if gat <= now:
                gat = None
    except ValueError as exc:
        raise reject(f"Invalid time: {exc}") from exc
    return gtd, gat
