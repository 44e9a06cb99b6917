"""Seeded top-of-book price paths, one per instrument.

Each instrument draws from its own `random.Random(f"{seed}:{con_id}")`, so its path does not
depend on which other instruments exist or were looked at. A path advances lazily: the engine
counts global steps and a book catches up when it is read, which keeps `step()` cheap with a
universe of hundreds of option contracts.

A replayed instrument's book takes its moves from the file instead (`feed`): each step prints
the file's trades the clock has passed, with their own times.

The book is `bid = last - s * tick`, `ask = last + s * tick` (centred on the last trade, `s`
the model's spread in ticks, 1 by default), so `set_price(p)` makes `p` the last price and a
stop at `p` triggers on it. Every trade goes on the instrument's tape (`tape.py`) with the
time of the step that made it, which is what history and the live streams read.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from decimal import ROUND_HALF_EVEN, Decimal

from .bars import Bar, Trade
from .model import ContractSpec, Quote
from .tape import Tape

_STEP_BPS = Decimal("0.0005")  # a step moves up to about 5 bp of the price
_SIZE_LOTS = {
    "STK": (Decimal(100), 1, 30),
    "OPT": (Decimal(1), 1, 100),
    "FUT": (Decimal(1), 1, 60),
    "CASH": (Decimal(100000), 1, 50),
}


def to_grid(price: Decimal, tick: Decimal) -> Decimal:
    """Round to the nearest multiple of `tick` (half-even), keeping the tick's exponent."""
    return ((price / tick).to_integral_value(ROUND_HALF_EVEN) * tick).quantize(tick)


def on_grid(price: Decimal, tick: Decimal) -> bool:
    return price % tick == 0


class Book:
    """Mutable top of book for one instrument; owned by the engine."""

    __slots__ = (
        "_feed",
        "_is_open",
        "_rng",
        "_spread",
        "_step_times",
        "ask",
        "ask_size",
        "bid",
        "bid_size",
        "close",
        "high",
        "last",
        "last_size",
        "low",
        "spec",
        "steps",
        "tape",
        "time",
        "version",
        "volume",
    )

    def __init__(
        self,
        spec: ContractSpec,
        seed: int,
        now: float,
        steps: int,
        *,
        tape: Tape | None = None,
        step_times: Sequence[float] = (),
        spread_ticks: int = 1,
        prev_close: Decimal | None = None,
        today: Bar | None = None,
        is_open: Callable[[float], bool] | None = None,
        last: Decimal | None = None,
        feed: Callable[[float], Sequence[Trade]] | None = None,
    ) -> None:
        """`last`: the price the book opens at (the spec's initial price by default);
        `feed`: the recorded trades due by a time, replacing the random walk."""
        self.spec = spec
        self._rng = random.Random(f"{seed}:{spec.con_id}")
        self._feed = feed
        tick = spec.min_tick
        price = last if last is not None else max(to_grid(spec.initial_price, tick), 2 * tick)
        self._spread = spread_ticks * tick
        self._step_times = step_times
        self._is_open = is_open
        self.tape = tape if tape is not None else Tape(now)
        self.close = prev_close if prev_close is not None else price
        self.high = today.high if today is not None else price
        self.low = today.low if today is not None else price
        self.volume = today.volume if today is not None else Decimal(0)
        self.last = price
        self.bid = price - self._spread
        self.ask = price + self._spread
        self.last_size = Decimal(0)
        self.bid_size = self.ask_size = Decimal(0)
        self.steps = steps  # global step count this book has caught up to
        self.version = 0  # bumped on every price change; lets idle orders skip a pass
        self.time = now
        self._sizes()

    def _lot(self) -> tuple[Decimal, int, int]:
        return _SIZE_LOTS.get(self.spec.sec_type, (Decimal(1), 1, 10))

    def _sizes(self) -> None:
        lot, lo, hi = self._lot()
        self.bid_size = lot * self._rng.randint(lo, hi)
        self.ask_size = lot * self._rng.randint(lo, hi)

    def set_last(self, price: Decimal, now: float, size: Decimal | None = None) -> None:
        """Make `price` (on the grid, > 0) the last trade and centre the book on it; the
        trade (of `size`, one lot by default) goes on the tape."""
        self.version += 1
        self.last = price
        self.bid = max(price - self._spread, Decimal(0))
        self.ask = price + self._spread
        self.high = max(self.high, price)
        self.low = min(self.low, price)
        self.time = now
        if size is None:
            size = self._lot()[0]
            self.last_size = size
            self.volume += size
        self.tape.append(
            Trade(now, price, size, self.bid, self.ask, self.bid_size, self.ask_size)
        )

    def advance(self, target_steps: int, now: float) -> bool:
        """Walk the path up to the global step count; True if the book moved. Each step is
        dated by when it happened; a step while the instrument does not trade is skipped."""
        if self._feed is not None:
            self.steps = max(self.steps, target_steps)
            return self._replay(self._feed(now))
        moved = False
        tick = self.spec.min_tick
        times = self._step_times
        while self.steps < target_steps:
            at = times[self.steps] if self.steps < len(times) else now
            self.steps += 1
            if self._is_open is not None and not self._is_open(at):
                continue
            reach = max(1, int(self.last * _STEP_BPS / tick))
            delta = self._rng.randint(-reach, reach)
            price = max(self.last + delta * tick, 2 * tick)
            lot, lo, hi = self._lot()
            self.last_size = lot * self._rng.randint(lo, max(lo, hi // 3))
            self.volume += self.last_size
            self._sizes()
            self.set_last(price, at, self.last_size)
            moved = True
        return moved

    def _replay(self, trades: Sequence[Trade]) -> bool:
        """Print recorded trades: each becomes the last, with its own size and time."""
        for t in trades:
            self.last_size = t.size
            self.volume += t.size
            self.bid_size, self.ask_size = t.bid_size, t.ask_size
            self.set_last(t.price, t.time, t.size)
        return bool(trades)

    def quote(self) -> Quote:
        return Quote(
            bid=self.bid,
            ask=self.ask,
            last=self.last,
            bid_size=self.bid_size,
            ask_size=self.ask_size,
            last_size=self.last_size,
            volume=self.volume,
            high=self.high,
            low=self.low,
            close=self.close,
            time=self.time,
        )
