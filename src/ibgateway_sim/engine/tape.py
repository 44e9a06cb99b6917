"""The live tape: every trade the running simulator printed, in order, per instrument.

Live streams (ticks, tick-by-tick, real-time bars) and the recent part of history read the
same tape, so history up to now is what the streams showed.
"""

from __future__ import annotations

from bisect import bisect_left
from decimal import Decimal

from .bars import Bar, Trade, bar_of


class Tape:
    __slots__ = ("_times", "_trades", "start")

    def __init__(self, start: float) -> None:
        self.start = start  # history before this comes from the generated path
        self._times: list[float] = []
        self._trades: list[Trade] = []

    def append(self, trade: Trade) -> None:
        if trade.time < self.start:  # a clock set back before the start: keep the order
            trade = Trade(self.start, trade.price, trade.size, trade.bid, trade.ask,
                          trade.bid_size, trade.ask_size)  # fmt: skip
        if self._times and trade.time < self._times[-1]:
            trade = Trade(self._times[-1], trade.price, trade.size, trade.bid, trade.ask,
                          trade.bid_size, trade.ask_size)  # fmt: skip
        self._times.append(trade.time)
        self._trades.append(trade)

    def __len__(self) -> int:
        return len(self._trades)

    def since(self, index: int) -> list[Trade]:
        """The trades from position `index` on (what a stream has not sent yet)."""
        return self._trades[index:]

    def between(self, start: float, end: float) -> list[Trade]:
        lo = bisect_left(self._times, max(start, self.start))
        hi = bisect_left(self._times, end)
        return self._trades[lo:hi]

    def summary(self, start: float, end: float) -> Bar | None:
        return bar_of(max(start, self.start), self.between(start, end))

    def last_before(self, t: float) -> Trade | None:
        i = bisect_left(self._times, t)
        return self._trades[i - 1] if i else None

    def last_price(self) -> Decimal | None:
        return self._trades[-1].price if self._trades else None
