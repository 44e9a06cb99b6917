"""The seeded history of an instrument before the simulator started: generated top down.

History must be fast (a year of daily bars in well under a second) and consistent at every
bar size, so it is generated from the coarse to the fine: each trading day is one node with
its open, high, low, close and volume; a node's children (hours, then 5 minutes, 1 minute,
5 seconds, 1 second, aligned to the epoch and clipped to the day) are drawn from a Brownian
bridge between the node's open and close, clipped into its range, with one child forced to
the node's high and one to its low, and the node's volume split among them along the
session's volume profile. A child is only generated when a request needs it, from its own
seeded random stream, so any bar can be reached without walking the ones before it.

A 1-second leaf trades four times, at its open, high, low and close (in an order the seed
picks), so every node's OHLC and volume are exactly those of the trades inside it. The days
chain backwards from the anchor: the last generated second closes at the price the live
book starts from, so history runs without a seam into what the live streams show.

Prices are whole ticks (ints) inside; Decimals come out.
"""

from __future__ import annotations

import itertools
import math
import random
from bisect import bisect_right
from dataclasses import dataclass
from decimal import Decimal

from .bars import Bar, Trade, merge
from .model import ContractSpec
from .sessions import Calendar, TradingDay

LEVELS = (3600, 300, 60, 5, 1)  # children's sizes, in seconds, below a trading day
TRADES_PER_LEAF = 4
TRADING_YEAR = 252 * 6.5 * 3600  # seconds of trading a volatility is quoted over
LOTS = {"STK": Decimal(100), "OPT": Decimal(1), "FUT": Decimal(1), "CASH": Decimal(100000)}


@dataclass(frozen=True, slots=True)
class PathParams:
    """How an instrument's price moves: annual drift and volatility (fractions), the spread
    in ticks each side of the last trade, and the mean extra lots a second trades beyond
    the four every second prints."""

    drift: float = 0.0
    volatility: float = 0.30
    spread_ticks: int = 1
    extra_lots: int = 6
    history_days: int = 5 * 365  # how far back history reaches (reqHeadTimeStamp)


@dataclass(frozen=True, slots=True)
class _Node:
    start: int
    end: int
    level: int  # the grid its children align to is the next entry of LEVELS
    o: int
    h: int
    lo: int
    c: int
    lots: int


class SyntheticPath:
    """Generated history of one instrument for times before `anchor` (epoch seconds)."""

    def __init__(
        self,
        spec: ContractSpec,
        seed: int,
        calendar: Calendar,
        anchor: int,
        anchor_price: Decimal,
        params: PathParams,
    ) -> None:
        self.spec = spec
        self.calendar = calendar
        self.anchor = anchor
        self.params = params
        self.tick = spec.min_tick
        self.lot = LOTS.get(spec.sec_type, Decimal(1))
        self._key = f"{seed}:{spec.con_id}"
        self._anchor_ticks = max(int(anchor_price / self.tick), 2)
        self.anchor_price = Decimal(self._anchor_ticks) * self.tick
        self._days: list[tuple[TradingDay, _Node]] = []  # newest first
        self._day_starts: list[int] = []  # ascending, for lookups
        # (start, end, level) -> children: a node as long as its child (a partial day cut at a
        # session edge) must not find its own children again under the child's span
        self._children: dict[tuple[int, int, int], tuple[_Node, ...]] = {}
        self.earliest = anchor - params.history_days * 86400

    # ---- days -----------------------------------------------------------------------------

    def _rng(self, *parts: object) -> random.Random:
        return random.Random(f"{self._key}:" + ":".join(map(str, parts)))

    def _sigma(self, ticks: int, seconds: int) -> float:
        return ticks * self.params.volatility * math.sqrt(seconds / TRADING_YEAR)

    def _extend(self, start: float) -> None:
        """Generate days back from the anchor until `start` is covered."""
        if self._days and self._days[-1][1].start <= start:
            return
        if self._days:
            close, before = self._days[-1][1].o, self._days[-1][1].start
        else:
            close, before = self._anchor_ticks, self.anchor
        lo = max(start, self.earliest) - 7 * 86400
        days = [d for d in self.calendar.days(lo, before) if d.start < before]
        for day in reversed(days):
            end = int(min(day.end, self.anchor))
            node = self._day_node(day, int(day.start), end, close)
            self._days.append((day, node))
            close = node.o
            if node.start <= start:
                break
        self._day_starts = sorted(n.start for _, n in self._days)

    def _day_node(self, day: TradingDay, start: int, end: int, close: int) -> _Node:
        rng = self._rng(start, end)
        seconds = end - start
        sigma = self._sigma(close, seconds)
        drift = self.params.drift * seconds / TRADING_YEAR
        ret = drift + self.params.volatility * math.sqrt(seconds / TRADING_YEAR) * rng.gauss()
        o = max(round(close / math.exp(ret)), 2)
        h = max(o, close) + round(abs(rng.gauss()) * sigma * 0.5)
        low = max(min(o, close) - round(abs(rng.gauss()) * sigma * 0.5), 2)
        extra = round(seconds * self.params.extra_lots * rng.uniform(0.7, 1.3))
        lots = TRADES_PER_LEAF * seconds + extra
        return _Node(start, end, 86400, o, h, low, close, lots)

    def days(self, start: float, end: float) -> list[tuple[TradingDay, Bar]]:
        """The generated part of each trading day overlapping [start, end), oldest first."""
        self._extend(start)
        return [
            (day, self._bar(node))
            for day, node in reversed(self._days)
            if node.end > start and node.start < end and node.end > node.start
        ]

    # ---- nodes --------------------------------------------------------------------------

    def _bar(self, n: _Node) -> Bar:
        tick = self.tick
        o, h, low, c = (Decimal(x) * tick for x in (n.o, n.h, n.lo, n.c))
        return Bar(
            start=float(n.start),
            open=o,
            high=h,
            low=low,
            close=c,
            volume=n.lots * self.lot,
            wap=((o + h + low + c) / 4).quantize(tick / 100),  # estimated above 1 s
            count=TRADES_PER_LEAF * (n.end - n.start),
        )

    def _kids(self, n: _Node) -> tuple[_Node, ...]:
        key = (n.start, n.end, n.level)
        cached = self._children.get(key)
        if cached is not None:
            return cached
        size = LEVELS[LEVELS.index(n.level) + 1] if n.level in LEVELS else LEVELS[0]
        cuts = [n.start, *range((n.start // size + 1) * size, n.end, size), n.end]
        spans = list(itertools.pairwise(cuts))
        rng = self._rng(n.start, n.end, size)
        total = n.end - n.start
        # a Brownian bridge from the open to the close, clipped into the node's range
        walk, w, elapsed, closes = [], 0.0, 0, []
        for a, b in spans:
            w += rng.gauss() * self._sigma(n.c, b - a)
            walk.append(w)
        for (a, b), wi in zip(spans, walk, strict=True):
            elapsed += b - a
            x = n.o + wi - elapsed / total * (walk[-1] - (n.c - n.o))
            closes.append(min(max(round(x), n.lo), n.h))
        closes[-1] = n.c
        opens = [n.o, *closes[:-1]]
        highs, lows = [], []
        for (a, b), o, c in zip(spans, opens, closes, strict=True):
            reach = self._sigma(n.c, b - a) * 0.6
            highs.append(min(max(o, c) + round(abs(rng.gauss()) * reach), n.h))
            lows.append(max(min(o, c) - round(abs(rng.gauss()) * reach), n.lo))
        highs[highs.index(max(highs))] = n.h
        lows[lows.index(min(lows))] = n.lo
        lots = self._split_lots(n, spans, rng)
        kids = tuple(
            _Node(a, b, size, o, h, low, c, q)
            for (a, b), o, h, low, c, q in zip(spans, opens, highs, lows, closes, lots, strict=True)
        )
        if len(self._children) > 200_000:
            self._children.clear()
        self._children[key] = kids
        return kids

    def _split_lots(
        self, n: _Node, spans: list[tuple[int, int]], rng: random.Random
    ) -> list[int]:
        """Each child gets its four prints per second, and the rest by the volume profile."""
        floor = [TRADES_PER_LEAF * (b - a) for a, b in spans]
        extra = n.lots - sum(floor)
        day = self.calendar.day_at(n.start)
        weights = [
            (b - a) * self._profile(day, (a + b) / 2) * rng.uniform(0.5, 1.5) for a, b in spans
        ]
        total = sum(weights)
        shares = [extra * wt / total for wt in weights]
        whole = [int(s) for s in shares]
        order = sorted(range(len(spans)), key=lambda i: whole[i] - shares[i])
        for i in order[: extra - sum(whole)]:
            whole[i] += 1
        return [f + x for f, x in zip(floor, whole, strict=True)]

    @staticmethod
    def _profile(day: TradingDay | None, t: float) -> float:
        """The session's volume profile: a U over the regular session, thin outside it."""
        if day is None or not day.rth_start <= t < day.rth_end:
            return 0.15
        x = (t - day.rth_start) / (day.rth_end - day.rth_start)
        return 1.0 + 1.5 * (2 * x - 1) ** 2

    # ---- queries ------------------------------------------------------------------------

    def summary(self, start: float, end: float) -> Bar | None:
        """The bar of every generated trade in [start, end) (whole seconds)."""
        a, b = math.ceil(start), int(min(math.ceil(end), self.anchor))
        if a >= b:
            return None
        self._extend(a)
        parts = [self._collect(node, a, b) for _, node in reversed(self._days)
                 if node.end > a and node.start < b]  # fmt: skip
        return merge(float(a), parts)

    def _collect(self, n: _Node, a: int, b: int) -> Bar | None:
        if n.end <= a or n.start >= b or n.end <= n.start:
            return None
        if a <= n.start and n.end <= b:
            return self._bar(n)
        return merge(float(max(a, n.start)), (self._collect(k, a, b) for k in self._kids(n)))

    def trades(self, start: float, end: float) -> list[Trade]:
        """Every generated trade in [start, end), in time order."""
        a, b = math.ceil(start), int(min(math.ceil(end), self.anchor))
        out: list[Trade] = []
        if a >= b:
            return out
        self._extend(a)
        for _, node in reversed(self._days):
            self._leaf_trades(node, a, b, out)
        return out

    def _leaf_trades(self, n: _Node, a: int, b: int, out: list[Trade]) -> None:
        if n.end <= a or n.start >= b or n.end <= n.start:
            return
        if n.level != 1:
            for k in self._kids(n):
                self._leaf_trades(k, a, b, out)
            return
        rng = self._rng("t", n.start)
        path = [n.o, n.h, n.lo, n.c] if rng.random() < 0.5 else [n.o, n.lo, n.h, n.c]
        cuts = [1, 2, 3]
        if n.lots > TRADES_PER_LEAF:
            cuts = sorted(rng.sample(range(1, n.lots), TRADES_PER_LEAF - 1))
        sizes = [y - x for x, y in zip([0, *cuts], [*cuts, n.lots], strict=True)]
        spread = self.params.spread_ticks
        tick, lot = self.tick, self.lot
        for p, q in zip(path, sizes, strict=True):
            price = Decimal(p) * tick
            out.append(Trade(
                time=float(n.start), price=price, size=q * lot,
                bid=Decimal(max(p - spread, 0)) * tick, ask=Decimal(p + spread) * tick,
                bid_size=lot * rng.randint(1, 30), ask_size=lot * rng.randint(1, 30),
            ))  # fmt: skip

    def first_time(self) -> float:
        """When history begins (what reqHeadTimeStamp answers)."""
        days = self.calendar.days(self.earliest, self.earliest + 8 * 86400)
        return days[0].start if days else float(self.earliest)

    def day_index(self, t: float) -> int:
        return bisect_right(self._day_starts, t)
