"""A market-depth book maintained from IB's updateMktDepth(L2) rows. Pure; no I/O.

IB sends each change as (position, operation, side, price, size[, market maker]):
operation 0 inserts a level at `position` (the deeper ones move down), 1 updates the level
there, 2 deletes it (the deeper ones move up); side 0 is the ask, 1 the bid (TWS API
"Market Depth (Level II)"). A row that names a position the book does not have means the
stream and the book disagree (ib_async raises IndexError there): `apply` says so instead, and
the owner re-subscribes to rebuild the book from a fresh snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import IntEnum

__all__ = ["DepthBook", "DepthChange", "DepthLevel", "DepthOutOfSync", "DepthSnapshot"]


class Operation(IntEnum):
    INSERT = 0
    UPDATE = 1
    DELETE = 2


@dataclass(frozen=True, slots=True)
class DepthLevel:
    price: Decimal
    size: Decimal
    market_maker: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class DepthChange:
    """One applied row, as a stream of changes shows it."""

    market_id: str
    side: str  # "bid" | "ask"
    position: int
    operation: str  # "insert" | "update" | "delete"
    level: DepthLevel | None  # None for a delete
    time: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class DepthSnapshot:
    """The book at one instant: best first on both sides."""

    market_id: str
    bids: tuple[DepthLevel, ...]
    asks: tuple[DepthLevel, ...]
    time: datetime | None
    delayed: bool = False


class DepthOutOfSync(Exception):
    """A row named a position the book does not hold: re-subscribe to rebuild it."""


class DepthBook:
    """Both sides of one instrument's book, at most `rows` levels each."""

    def __init__(self, market_id: str, rows: int) -> None:
        if rows <= 0:
            raise ValueError(f"rows must be positive, got {rows}")
        self.market_id = market_id
        self.rows = rows
        self._sides: dict[int, list[DepthLevel]] = {0: [], 1: []}
        self.time: datetime | None = None

    def apply(
        self,
        *,
        position: int,
        operation: int,
        side: int,
        price: Decimal,
        size: Decimal,
        market_maker: str = "",
        time: datetime,
    ) -> DepthChange:
        """Apply one row; DepthOutOfSync if it cannot apply to this book."""
        if side not in self._sides:
            raise DepthOutOfSync(f"side {side} is neither 0 (ask) nor 1 (bid)")
        levels = self._sides[side]
        level = DepthLevel(price, size, market_maker)
        try:
            op = Operation(operation)
        except ValueError:
            raise DepthOutOfSync(f"operation {operation} is not 0, 1 or 2") from None
        if (
            position < 0
            or position > len(levels)
            or (op is not Operation.INSERT and position == len(levels))
        ):
            raise DepthOutOfSync(
                f"{op.name.lower()} at position {position} of a {len(levels)}-level side"
            )
        if op is Operation.INSERT:
            levels.insert(position, level)
            del levels[self.rows :]
        elif op is Operation.UPDATE:
            levels[position] = level
        else:
            del levels[position]
        self.time = time
        return DepthChange(
            market_id=self.market_id,
            side="bid" if side == 1 else "ask",
            position=position,
            operation=op.name.lower(),
            level=None if op is Operation.DELETE else level,
            time=time,
        )

    def clear(self) -> None:
        for levels in self._sides.values():
            levels.clear()

    def snapshot(self, *, delayed: bool = False) -> DepthSnapshot:
        return DepthSnapshot(
            market_id=self.market_id,
            bids=tuple(self._sides[1]),
            asks=tuple(self._sides[0]),
            time=self.time,
            delayed=delayed,
        )
