"""Financial-advisor allocation: how one order's quantity is split across sub-accounts.

Splits are in whole size increments. Proportional methods use the largest-remainder rule
(ties go to the account listed first), so the parts always add up to the whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_FLOOR, Decimal

METHODS = ("EqualQuantity", "NetLiq", "AvailableEquity", "PctChange", "Ratio")


def largest_remainder(units: int, weights: Sequence[Decimal]) -> list[int]:
    """Split `units` in proportion to `weights` (>= 0); equal split when all are zero."""
    if not weights:
        return []
    total = sum(weights, Decimal(0))
    if total <= 0:
        weights = [Decimal(1)] * len(weights)
        total = Decimal(len(weights))
    exact = [Decimal(units) * w / total for w in weights]
    parts = [int(x.to_integral_value(ROUND_FLOOR)) for x in exact]
    left = units - sum(parts)
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - parts[i]), i))
    for i in order[:left]:
        parts[i] += 1
    return parts


def split(qty: Decimal, increment: Decimal, weights: Sequence[Decimal]) -> list[Decimal]:
    """`qty` split by `weights` into multiples of `increment`."""
    units = int((qty / increment).to_integral_value(ROUND_FLOOR))
    return [increment * p for p in largest_remainder(units, weights)]


def pct_change(positions: Sequence[Decimal], percent: Decimal, increment: Decimal
               ) -> list[Decimal]:
    """PctChange: each account trades |position| x percent/100, rounded down to the
    increment (accounts without a position get nothing)."""
    out = []
    for pos in positions:
        raw = abs(pos) * abs(percent) / 100
        out.append((raw / increment).to_integral_value(ROUND_FLOOR) * increment)
    return out
