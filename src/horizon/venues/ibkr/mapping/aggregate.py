"""5-second real-time bars -> bars of any size that is a multiple of 5 s. Pure; no I/O.

IB streams real-time bars of 5 seconds only (reqRealTimeBars' barSize must be 5). A bar of
`size` seconds starts at a multiple of `size` since the epoch (UTC) and is complete when a
5-second bar of a later period arrives, or at once when the 5-second bar ending the period
does, so a bar is delivered once, whole, in order. After a
reconnect the 5-second bars of the gap are lost: a period the stream joins late (at the
subscription, or after the gap) is marked `tainted` and its bar must come from history
instead of from the partial sum.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from horizon.venues.ibkr.mapping.bars import Bar

__all__ = ["BarAggregator", "period_start"]


def period_start(when: datetime, size_s: int) -> datetime:
    epoch = int(when.timestamp())
    return datetime.fromtimestamp(epoch - epoch % size_s, UTC)


@dataclass(slots=True)
class _Partial:
    bar: Bar
    wap_volume: Decimal  # sum of wap * volume, for the bar's wap
    count: int


class BarAggregator:
    """Sums 5-second bars into `size_s`-second bars of one market."""

    def __init__(self, market_id: str, size_s: int) -> None:
        if size_s <= 0 or size_s % 5:
            raise ValueError(f"bar size {size_s} s is not a positive multiple of 5 s")
        self.market_id = market_id
        self.size_s = size_s
        self.last_start: datetime | None = None  # start of the last bar handed out
        self.tainted: set[datetime] = set()  # periods whose 5-s bars were partly lost
        self.owed: list[datetime] = []  # tainted periods now complete: fetch from history
        self._partial: _Partial | None = None
        self._fresh = True  # the next 5-s bar is the first since a (re)subscription

    def taint(self, start: datetime) -> None:
        """The bar of the period starting at `start` must come from history (owed once the
        stream is past it), never from a sum."""
        self.tainted.add(period_start(start, self.size_s))

    def add(self, five: Bar) -> list[Bar]:
        """Feed one 5-second bar; the bars it completes (zero or one), oldest first. Bars of
        periods already handed out are ignored (a replay after a reconnect)."""
        start = period_start(five.start, self.size_s)
        if self.last_start is not None and start <= self.last_start:
            return []
        if self._fresh:
            # the first 5-s bar after a (re)subscription: if it is not its period's first,
            # the stream joined that period late and its sum would be short
            self._fresh = False
            if five.start != start:
                self.tainted.add(start)
        done: list[Bar] = []
        part = self._partial
        if part is not None and part.bar.start != start:
            if part.bar.start not in self.tainted:
                done.append(self._finish(part))
            self._partial = None
            part = None
        self._settle(lambda t: t < start)
        if part is None:
            self._partial = _Partial(
                bar=replace(five, start=start, wap=None, count=None),
                wap_volume=(five.wap or Decimal(0)) * five.volume,
                count=five.count or 0,
            )
        else:
            bar = part.bar
            part.bar = replace(
                bar,
                high=max(bar.high, five.high),
                low=min(bar.low, five.low),
                close=five.close,
                volume=bar.volume + five.volume,
            )
            part.wap_volume += (five.wap or Decimal(0)) * five.volume
            part.count += five.count or 0
        # the 5-s bar that ends the period completes it at once (no wait for the next one)
        ends = five.start + timedelta(seconds=5) >= start + timedelta(seconds=self.size_s)
        part = self._partial
        if ends and part is not None:
            if start in self.tainted:
                self._settle(lambda t: t <= start)
            else:
                done.append(self._finish(part))
            self._partial = None
        if done:
            self.last_start = done[-1].start
        return done

    def _settle(self, over: Callable[[datetime], bool]) -> None:
        """Tainted periods the stream is past become owed (unless handed out already)."""
        for t in sorted(t for t in self.tainted if over(t)):
            self.tainted.discard(t)
            if self.last_start is None or t > self.last_start:
                self.owed.append(t)

    def _finish(self, part: _Partial) -> Bar:
        volume = part.bar.volume
        wap = (part.wap_volume / volume) if volume else None
        return replace(part.bar, wap=wap, count=part.count)

    def interrupted(self) -> None:
        """The stream was cut (a reconnect): the period in progress lost some of its 5-s
        bars. Its partial sum is dropped; the bars of the gap come from history, and a
        period the stream rejoins late is never handed out from its sum (it is `owed`)."""
        self._partial = None
        self._fresh = True

    def delivered(self, start: datetime) -> None:
        """A bar starting at `start` was handed out another way (from history)."""
        if self.last_start is None or start > self.last_start:
            self.last_start = start
        if self._partial is not None and self._partial.bar.start <= start:
            self._partial = None
