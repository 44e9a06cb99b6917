"""L2 depth derived from the top of book, and the row operations that turn one depth into
the next (what reqMktDepth streams). Pure.

Level 0 is the quote itself; deeper levels step a tick away each, with sizes drawn from a
stream seeded by the book's version, so a depth is the same whenever it is asked for at the
same state. Smart depth names a market maker (an exchange) per row.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal

from .model import Quote

MAKERS = ("NSDQ", "ARCA", "BATS", "IEX", "EDGX", "NYSE")
INSERT, UPDATE, DELETE = 0, 1, 2
ASK, BID = 0, 1


@dataclass(frozen=True, slots=True)
class Level:
    price: Decimal
    size: Decimal
    maker: str = ""


@dataclass(frozen=True, slots=True)
class DepthRow:
    """One updateMktDepth(L2): position, operation, side and the level."""

    position: int
    operation: int
    side: int
    level: Level


def depth_of(quote: Quote, tick: Decimal, rows: int, key: str, smart: bool) -> tuple[
    tuple[Level, ...], tuple[Level, ...]
]:  # fmt: skip
    """(bids, asks), best first, `rows` deep."""
    rng = random.Random(key)
    bids, asks = [], []
    for i in range(rows):
        maker = MAKERS[(i + rng.randrange(len(MAKERS))) % len(MAKERS)] if smart else ""
        bid_size = quote.bid_size * (1 if i == 0 else rng.randint(1, 8))
        ask_size = quote.ask_size * (1 if i == 0 else rng.randint(1, 8))
        bid = quote.bid - i * tick
        if bid > 0:
            bids.append(Level(bid, bid_size, maker))
        asks.append(Level(quote.ask + i * tick, ask_size, maker))
    return tuple(bids), tuple(asks)


def depth_rows(
    old: tuple[tuple[Level, ...], tuple[Level, ...]],
    new: tuple[tuple[Level, ...], tuple[Level, ...]],
) -> list[DepthRow]:
    """The operations that turn `old` into `new`: updates where a position changed,
    inserts where the side grew and deletes (from the bottom) where it shrank."""
    out: list[DepthRow] = []
    for side, before, after in ((BID, old[0], new[0]), (ASK, old[1], new[1])):
        for i, level in enumerate(after):
            if i >= len(before):
                out.append(DepthRow(i, INSERT, side, level))
            elif before[i] != level:
                out.append(DepthRow(i, UPDATE, side, level))
        for i in range(len(before) - 1, len(after) - 1, -1):
            out.append(DepthRow(i, DELETE, side, before[i]))
    return out
