"""Combo (BAG) orders: the legs a combo trades and the net price it trades them at. Pure.

How IB does it, and so the engine: a BAG order is one order on the net price of its legs
(TWS API "Spreads"); it executes all legs together, each leg reported by its own execution
(the leg's contract, the combo's orderId and permId), plus one execution of the BAG itself,
which is the one ib_async's `Trade.filled` counts for a combo (ib_insync's "Fix trade.filled()
for combo contracts"). Positions are held per leg; a BAG is never a position.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from .model import ComboLegRequest, ContractQuery, ContractSpec, Quote

# The conId IB gives a SMART combo of US legs (IB's Client Portal order ticket writes combos
# as "28812380;;;<leg conId>/<ratio>,...").
BAG_CON_ID = 28812380
# error 321 texts TWS answers for BAG requests it refuses (public user reports, ib_async era)
TEXT_BAG_NEEDS_LEGS = (
    "Error validating request.-'bN' : cause - Security type 'BAG' requires combo leg details."
)
TEXT_BAG_NO_DETAILS = (
    "Error validating request.-'bI' : cause - 'BAG' isn't supported for contract data "
    "request. Please enter a valid security type"
)
COMBO_TYPES = frozenset({"MKT", "LMT"})


@dataclass(frozen=True, slots=True)
class Leg:
    """A resolved leg: its contract and its signed quantity per unit of a bought combo."""

    spec: ContractSpec
    ratio: int
    sign: int  # +1 bought with the combo, -1 sold


def resolve_legs(
    legs: Sequence[ComboLegRequest], contract: Callable[[int], ContractSpec | None]
) -> list[Leg] | None:
    """The legs' contracts, or None if a leg names no instrument or a ratio is not positive."""
    out = []
    for leg in legs:
        spec = contract(leg.con_id)
        if spec is None or leg.ratio <= 0 or leg.action not in ("BUY", "SELL"):
            return None
        out.append(Leg(spec, leg.ratio, 1 if leg.action == "BUY" else -1))
    return out


def bag_spec(query: ContractQuery, legs: Sequence[Leg]) -> ContractSpec:
    """The BAG contract as TWS echoes it in openOrder and the combo's own execution."""
    first = legs[0].spec
    return ContractSpec(
        con_id=BAG_CON_ID,
        symbol=query.symbol or first.under_symbol or first.symbol,
        sec_type="BAG",
        exchange=query.exchange or "SMART",
        primary_exchange="",
        currency=query.currency or first.currency,
        local_symbol="",
        trading_class="",
        min_tick=min(leg.spec.min_tick for leg in legs),
        multiplier="",
        last_trade_date="",
        strike=Decimal(0),
        right="",
        long_name="",
        time_zone_id=first.time_zone_id,
        initial_price=Decimal(1),
    )


def leg_prices(
    legs: Sequence[Leg], side: int, quote: Callable[[int], Quote]
) -> tuple[Decimal, list[Decimal]]:
    """(net price per combo unit, each leg's price) if the combo trades now, on `side` (+1
    buy, -1 sell): every leg takes the quote on its side. The net is what a buyer pays (a
    negative net is a credit), the same figure a limit on the combo is compared with."""
    prices = []
    net = Decimal(0)
    for leg in legs:
        q = quote(leg.spec.con_id)
        buys = leg.sign * side > 0
        price = q.ask if buys else q.bid
        prices.append(price)
        net += leg.sign * leg.ratio * price
    return net, prices


def marketable(net: Decimal, side: int, limit: Decimal | None) -> bool:
    """A buy pays at most its limit, a sell receives at least its limit (either may be a
    credit: a limit of -0.50 buys the combo only if it pays 0.50 or more)."""
    if limit is None:
        return True
    return net <= limit if side > 0 else net >= limit
