"""Streams off the live tape: reqRealTimeBars (5-second bars), reqTickByTickData (Last,
AllLast, BidAsk, MidPoint) and reqMktDepth (L2 rows with insert / update / delete, market
makers for smart depth), and their cancels.

What a real gateway does that shapes this module:
* a real-time bar is sent once its 5 seconds are over, dated by its start; 5 seconds
  without trades is a flat bar at the last price with no volume;
* tick-by-tick sends every print (and every change of the quote) as it happens, after the
  `numberOfTicks` most recent ones when asked for history;
* depth opens with one insert per row, then sends only the rows that changed;
* while a data farm is down (or a competing session holds the data) nothing streams.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from ibgateway_sim.engine import ContractSpec, Engine
from ibgateway_sim.engine.bars import Bar, flat
from ibgateway_sim.engine.depth import Level, depth_of, depth_rows
from ibgateway_sim.engine.history import shown
from ibgateway_sim.gateway.codes import NO_SECURITY, TEXT_NO_SECURITY
from ibgateway_sim.gateway.handlers.base import Handler
from ibgateway_sim.gateway.mapping import contract_query
from ibgateway_sim.gateway.session import Session
from ibgateway_sim.wire import messages as m

BAR_SECONDS = 5
CATCH_UP_BARS = 720  # after a long clock jump, at most an hour of bars is sent
TBT_TYPES = {"Last": 1, "AllLast": 2, "BidAsk": 3, "MidPoint": 4}
MAX_DEPTH_ROWS = 10


@dataclass(slots=True)
class _Bars:
    req_id: int
    con_id: int
    what: str
    rth: bool
    next_start: float


@dataclass(slots=True)
class _TickByTick:
    req_id: int
    con_id: int
    tick_type: int
    ignore_size: bool
    sent: int  # tape position already streamed
    last_quote: tuple[Decimal, ...] = ()


@dataclass(slots=True)
class _Depth:
    req_id: int
    con_id: int
    rows: int
    smart: bool
    book: tuple[tuple[Level, ...], tuple[Level, ...]] = ((), ())


class StreamHandlers:
    def __init__(
        self, engine: Engine, *, clock: Callable[[], float], paused: Callable[[], bool]
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._paused = paused
        self._bars: dict[Session, dict[int, _Bars]] = {}
        self._tbt: dict[Session, dict[int, _TickByTick]] = {}
        self._depth: dict[Session, dict[int, _Depth]] = {}

    @property
    def handlers(self) -> Mapping[type, Handler]:
        return {
            m.ReqRealTimeBars: self._on_real_time_bars,
            m.CancelRealTimeBars: self._on_cancel_bars,
            m.ReqTickByTickData: self._on_tick_by_tick,
            m.CancelTickByTickData: self._on_cancel_tick_by_tick,
            m.ReqMktDepth: self._on_depth,
            m.CancelMktDepth: self._on_cancel_depth,
        }

    def forget(self, session: Session) -> None:
        for table in (self._bars, self._tbt, self._depth):
            table.pop(session, None)

    def streams(self, session: Session) -> dict[str, tuple[int, ...]]:
        """The req ids of `session`'s streams, by kind."""
        return {
            "real_time_bars": tuple(sorted(self._bars.get(session, {}))),
            "tick_by_tick": tuple(sorted(self._tbt.get(session, {}))),
            "depth": tuple(sorted(self._depth.get(session, {}))),
        }

    def _spec(self, s: Session, req_id: int, contract: m.RequestContract) -> ContractSpec | None:
        specs = self._engine.match_contracts(contract_query(contract))
        if len(specs) != 1:
            s.send_error(req_id, NO_SECURITY, TEXT_NO_SECURITY)
            return None
        return specs[0]

    # ---- requests -----------------------------------------------------------------------

    def _on_real_time_bars(self, s: Session, msg: m.ReqRealTimeBars) -> None:
        spec = self._spec(s, msg.req_id, msg.contract)
        if spec is None:
            return
        start = math.floor(self._clock() / BAR_SECONDS) * BAR_SECONDS
        sub = _Bars(msg.req_id, spec.con_id, msg.what_to_show.upper() or "TRADES", msg.use_rth,
                    start)  # fmt: skip
        self._bars.setdefault(s, {})[msg.req_id] = sub

    def _on_cancel_bars(self, s: Session, msg: m.CancelRealTimeBars) -> None:
        self._bars.get(s, {}).pop(msg.req_id, None)

    def _on_tick_by_tick(self, s: Session, msg: m.ReqTickByTickData) -> None:
        spec = self._spec(s, msg.req_id, msg.contract)
        if spec is None:
            return
        tick_type = TBT_TYPES.get(msg.tick_type)
        if tick_type is None:
            s.send_error(msg.req_id, 321, "Error validating request.-'bK' : cause - "
                         f"Invalid tick type: {msg.tick_type}")  # fmt: skip
            return
        self._engine.quote(spec.con_id)
        tape = self._engine.market.instrument(spec.con_id).tape
        start = len(tape) - max(0, min(msg.number_of_ticks, 1000))
        sub = _TickByTick(msg.req_id, spec.con_id, tick_type, msg.ignore_size, max(start, 0))
        self._tbt.setdefault(s, {})[msg.req_id] = sub
        self._send_tick_by_tick(s, sub)

    def _on_cancel_tick_by_tick(self, s: Session, msg: m.CancelTickByTickData) -> None:
        self._tbt.get(s, {}).pop(msg.req_id, None)

    def _on_depth(self, s: Session, msg: m.ReqMktDepth) -> None:
        spec = self._spec(s, msg.req_id, msg.contract)
        if spec is None:
            return
        rows = max(1, min(msg.num_rows or 5, MAX_DEPTH_ROWS))
        sub = _Depth(msg.req_id, spec.con_id, rows, msg.is_smart_depth)
        self._depth.setdefault(s, {})[msg.req_id] = sub
        self._send_depth(s, sub)

    def _on_cancel_depth(self, s: Session, msg: m.CancelMktDepth) -> None:
        self._depth.get(s, {}).pop(msg.req_id, None)

    # ---- streaming ----------------------------------------------------------------------

    def refresh(self) -> None:
        """Send what each stream has not sent yet (nothing while paused by a fault)."""
        if self._paused():
            return
        for s, bars in self._bars.items():
            for sub in bars.values():
                self._send_bars(s, sub)
        for s, tbt in self._tbt.items():
            for t in tbt.values():
                self._send_tick_by_tick(s, t)
        for s, depth in self._depth.items():
            for d in depth.values():
                self._send_depth(s, d)

    def _send_bars(self, s: Session, sub: _Bars) -> None:
        now = self._clock()
        self._engine.quote(sub.con_id)
        inst = self._engine.market.instrument(sub.con_id)
        behind = int((now - sub.next_start) // BAR_SECONDS) - 1
        if behind > CATCH_UP_BARS:
            sub.next_start += (behind - CATCH_UP_BARS) * BAR_SECONDS
        spread = inst.path.params.spread_ticks * inst.spec.min_tick
        while sub.next_start + BAR_SECONDS <= now:
            start = sub.next_start
            sub.next_start += BAR_SECONDS
            window_open = inst.calendar.is_open(start, rth=sub.rth)
            if not window_open:
                continue
            bar: Bar | None = inst.summary(start, start + BAR_SECONDS)
            if bar is None:
                bar = flat(start, inst.price_before(start))
            (row,) = shown([bar], sub.what, spread, inst.implied_vol)
            s.send(m.RealTimeBar(
                req_id=sub.req_id, time=int(start), open=row.open, high=row.high, low=row.low,
                close=row.close, volume=row.volume,
                wap=row.wap if row.wap < 0 else row.wap.quantize(Decimal("0.000001")),
                count=row.count,
            ))  # fmt: skip

    def _send_tick_by_tick(self, s: Session, sub: _TickByTick) -> None:
        self._engine.quote(sub.con_id)
        inst = self._engine.market.instrument(sub.con_id)
        trades = inst.tape.since(sub.sent)
        sub.sent += len(trades)
        exchange = inst.spec.primary_exchange or inst.spec.exchange
        for t in trades:
            if sub.tick_type in (1, 2):
                s.send(m.TickByTick(req_id=sub.req_id, tick_type=sub.tick_type, time=int(t.time),
                                    price=t.price, size=t.size, exchange=exchange))  # fmt: skip
                continue
            if sub.tick_type == 3:
                key = (t.bid, t.ask) if sub.ignore_size else (t.bid, t.ask, t.bid_size, t.ask_size)
                if key == sub.last_quote:
                    continue
                sub.last_quote = key
                s.send(m.TickByTick(req_id=sub.req_id, tick_type=3, time=int(t.time),
                                    bid_price=t.bid, ask_price=t.ask, bid_size=t.bid_size,
                                    ask_size=t.ask_size))  # fmt: skip
                continue
            mid = (t.bid + t.ask) / 2
            if (mid,) == sub.last_quote:
                continue
            sub.last_quote = (mid,)
            s.send(m.TickByTick(req_id=sub.req_id, tick_type=4, time=int(t.time), mid_point=mid))

    def _send_depth(self, s: Session, sub: _Depth) -> None:
        q = self._engine.quote(sub.con_id)
        spec = self._engine.contract(sub.con_id)
        key = f"{sub.con_id}:{q.bid}:{q.ask}:{q.bid_size}:{q.ask_size}:{q.time}"
        book = depth_of(q, spec.min_tick, sub.rows, key, sub.smart)
        for row in depth_rows(sub.book, book):
            lvl = row.level
            size = Decimal(0) if row.operation == 2 else lvl.size
            if sub.smart:
                s.send(m.MarketDepthL2(req_id=sub.req_id, position=row.position,
                                       market_maker=lvl.maker, operation=row.operation,
                                       side=row.side, price=lvl.price, size=size,
                                       is_smart_depth=True))  # fmt: skip
            else:
                s.send(m.MarketDepth(req_id=sub.req_id, position=row.position,
                                     operation=row.operation, side=row.side, price=lvl.price,
                                     size=size))  # fmt: skip
        sub.book = book
