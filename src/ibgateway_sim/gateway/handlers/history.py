"""History: reqHistoricalData (with keepUpToDate and the SCHEDULE form), cancelHistoricalData,
reqHeadTimeStamp, reqHistoricalTicks and reqHistogramData, answered from the market model.

What a real gateway does that shapes this module:
* every request goes through IB's historical pacing first (error 162 when it is broken);
* a bar size, duration or whatToShow IB does not know is error 321; too long a duration for
  the bar size is 162 ("invalid step");
* bars are dated in the instrument's zone; daily and longer bars as yyyymmdd;
* keepUpToDate streams the bar in progress as historicalDataUpdate while it changes;
* historical ticks come at most 1000 to a request, with all the ticks of the last second.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal

from ibgateway_sim.engine import ContractSpec, Engine
from ibgateway_sim.engine.bars import Bar, Trade, merge
from ibgateway_sim.engine.history import (
    DAY,
    HMDS,
    MONTH,
    WEEK,
    WHAT_TO_SHOW,
    HistoryRequestError,
    ShownBar,
    bar_date,
    bar_seconds,
    check_limits,
    duration_seconds,
    range_text,
    shown,
)
from ibgateway_sim.engine.market import Instrument, zone_of
from ibgateway_sim.engine.timeparse import parse_ib_time
from ibgateway_sim.gateway.codes import NO_SECURITY, TEXT_NO_SECURITY
from ibgateway_sim.gateway.handlers.base import Handler
from ibgateway_sim.gateway.history_pacing import (
    TEXT_PACING,
    HistoricalPacing,
    HistoricalPacingRules,
)
from ibgateway_sim.gateway.mapping import contract_query
from ibgateway_sim.gateway.session import Session
from ibgateway_sim.wire import messages as m

HISTORICAL_ERROR = 162
VALIDATION_ERROR = 321
MAX_TICKS = 1000
TEXT_KEEP_UP_END = (
    "Error validating request.-'bK' : cause - End date not supported with live updates"
)


@dataclass(slots=True)
class _Live:
    """A keepUpToDate request: the bar in progress it last sent."""

    req_id: int
    con_id: int
    size: int
    what: str
    rth: bool
    format_date: int
    last: ShownBar | None = None


class HistoryHandlers:
    def __init__(
        self,
        engine: Engine,
        *,
        clock: Callable[[], float],
        pacing: HistoricalPacingRules,
        farm_down: Callable[[], bool] = lambda: False,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._rules = pacing
        self._farm_down = farm_down
        self._pacing: dict[Session, HistoricalPacing] = {}
        self._live: dict[Session, dict[int, _Live]] = {}

    @property
    def handlers(self) -> Mapping[type, Handler]:
        return {
            m.ReqHistoricalData: self._on_historical_data,
            m.CancelHistoricalData: self._on_cancel_historical_data,
            m.ReqHeadTimeStamp: self._on_head_timestamp,
            m.CancelHeadTimeStamp: self._on_cancel_nothing,
            m.ReqHistoricalTicks: self._on_historical_ticks,
            m.CancelHistoricalTicks: self._on_cancel_nothing,  # protobuf only, from 215
            m.ReqHistogramData: self._on_histogram,
            m.CancelHistogramData: self._on_cancel_nothing,
        }

    def forget(self, session: Session) -> None:
        self._pacing.pop(session, None)
        self._live.pop(session, None)

    def keep_up_to_date(self, session: Session) -> tuple[int, ...]:
        """The req ids of `session`'s keepUpToDate requests."""
        return tuple(sorted(self._live.get(session, {})))

    # ---- helpers ------------------------------------------------------------------------

    def _spec(self, s: Session, req_id: int, contract: m.RequestContract) -> ContractSpec | None:
        specs = self._engine.match_contracts(contract_query(contract))
        if len(specs) != 1:
            s.send_error(req_id, NO_SECURITY, TEXT_NO_SECURITY)
            return None
        return specs[0]

    def _paced(self, s: Session, req_id: int, key: tuple[object, ...], con_id: int,
               what: str) -> bool:  # fmt: skip
        pacing = self._pacing.setdefault(s, HistoricalPacing(self._rules))
        cost = 2 if what == "BID_ASK" else 1
        if pacing.admit(key, (con_id, what), cost, self._clock()):
            return True
        s.send_error(req_id, HISTORICAL_ERROR, TEXT_PACING)
        return False

    def _instrument(self, con_id: int) -> Instrument:
        self._engine.quote(con_id)  # catch the live book up, so the tape is current
        return self._engine.market.instrument(con_id)

    def _end(self, text: str, spec: ContractSpec) -> float:
        now = self._clock()
        if not text.strip():
            return now
        return min(parse_ib_time(text, spec.time_zone_id or "UTC"), now)

    # ---- reqHistoricalData --------------------------------------------------------------

    def _on_historical_data(self, s: Session, msg: m.ReqHistoricalData) -> None:
        spec = self._spec(s, msg.req_id, msg.contract)
        if spec is None:
            return
        what = msg.what_to_show.upper()
        key = ("bars", spec.con_id, msg.end_date_time, msg.duration, msg.bar_size, what,
               msg.use_rth)  # fmt: skip
        if not self._paced(s, msg.req_id, key, spec.con_id, what):
            return
        if self._farm_down():
            s.send_error(msg.req_id, HISTORICAL_ERROR, f"{HMDS}HMDS server disconnect occurred.")
            return
        try:
            if what not in WHAT_TO_SHOW:
                raise HistoryRequestError(VALIDATION_ERROR, f"Error validating request.-'bK' : "
                                          f"cause - Invalid what to show: {what}")  # fmt: skip
            if msg.keep_up_to_date and msg.end_date_time.strip():
                raise HistoryRequestError(VALIDATION_ERROR, TEXT_KEEP_UP_END)
            duration = duration_seconds(msg.duration)
            size = bar_seconds(msg.bar_size) if what != "SCHEDULE" else DAY
            check_limits(size, duration)
            end = self._end(msg.end_date_time, spec)
        except HistoryRequestError as exc:
            s.send_error(msg.req_id, exc.code, exc.text)
            return
        except ValueError as exc:
            s.send_error(msg.req_id, VALIDATION_ERROR, f"Error validating request.-'bK' : "
                         f"cause - {exc}")  # fmt: skip
            return
        inst = self._instrument(spec.con_id)
        start = end - duration
        zone, zone_name = zone_of(spec), spec.time_zone_id or "UTC"
        if what == "SCHEDULE":
            s.send(self._schedule(msg.req_id, inst, start, end, zone, zone_name))
            return
        bars = self._shown(inst, start, end, size, what, msg.use_rth)
        if not bars:
            s.send_error(msg.req_id, HISTORICAL_ERROR, f"{HMDS}HMDS query returned no data: "
                         f"{spec.local_symbol}@{spec.exchange} {what.title()}")  # fmt: skip
            return
        s.send(m.HistoricalData(
            req_id=msg.req_id,
            start=range_text(start, zone, zone_name),
            end=range_text(end, zone, zone_name),
            bars=tuple(self._row(b, size, msg.format_date, zone, zone_name) for b in bars),
        ))  # fmt: skip
        if msg.keep_up_to_date:
            live = _Live(msg.req_id, spec.con_id, size, what, msg.use_rth, msg.format_date,
                         bars[-1])  # fmt: skip
            self._live.setdefault(s, {})[msg.req_id] = live

    def _shown(
        self, inst: Instrument, start: float, end: float, size: int, what: str, rth: bool
    ) -> list[ShownBar]:
        spec = inst.spec
        spread = inst.path.params.spread_ticks * spec.min_tick
        if size >= DAY:
            days = inst.daily_bars(start, end, rth)
            bars = _calendar_bars(days, size, zone_of(spec))
        else:
            bars = inst.intraday_bars(start, end, size, rth)
        return shown(bars, what, spread, inst.implied_vol)

    @staticmethod
    def _row(b: ShownBar, size: int, fmt: int, zone: dt.tzinfo, zone_name: str) -> m.HistoricalBar:
        return m.HistoricalBar(
            date=bar_date(b.start, size, fmt, zone, zone_name),
            open=b.open, high=b.high, low=b.low, close=b.close, volume=b.volume,
            wap=_wap(b.wap), bar_count=b.count,
        )  # fmt: skip

    def _schedule(self, req_id: int, inst: Instrument, start: float, end: float,
                  zone: dt.tzinfo, zone_name: str) -> m.HistoricalSchedule:  # fmt: skip
        def text(t: float) -> str:
            return dt.datetime.fromtimestamp(t, zone).strftime("%Y%m%d-%H:%M:%S")

        days = inst.days(start, end)
        return m.HistoricalSchedule(
            req_id=req_id,
            start_date_time=text(start),
            end_date_time=text(end),
            time_zone=zone_name,
            sessions=tuple(
                m.ScheduleSession(start_date_time=text(d.start), end_date_time=text(d.end),
                                  ref_date=d.ref_date.strftime("%Y%m%d"))
                for d in days
            ),
        )  # fmt: skip

    def _on_cancel_historical_data(self, s: Session, msg: m.CancelHistoricalData) -> None:
        live = self._live.get(s)
        if live is not None:
            live.pop(msg.req_id, None)

    def _on_cancel_nothing(self, s: Session, msg: object) -> None:
        """Answers come at once, so there is nothing in flight to cancel."""

    def refresh(self) -> None:
        """keepUpToDate: send the bar in progress of every live request when it changed
        (and the new bar once a bar closes)."""
        now = self._clock()
        for s, live in self._live.items():
            for sub in live.values():
                inst = self._instrument(sub.con_id)
                spec = inst.spec
                start = now - 2 * DAY if sub.size >= DAY else math.floor(now / sub.size) * sub.size
                bars = self._shown(inst, start, now + 1, sub.size, sub.what, sub.rth)
                if not bars or bars[-1] == sub.last:
                    continue
                sub.last = bar = bars[-1]
                zone, zone_name = zone_of(spec), spec.time_zone_id or "UTC"
                s.send(m.HistoricalDataUpdate(
                    req_id=sub.req_id, bar_count=bar.count,
                    date=bar_date(bar.start, sub.size, sub.format_date, zone, zone_name),
                    open=bar.open, close=bar.close, high=bar.high, low=bar.low,
                    wap=_wap(bar.wap), volume=bar.volume,
                ))  # fmt: skip

    # ---- head timestamp, ticks, histogram -----------------------------------------------

    def _on_head_timestamp(self, s: Session, msg: m.ReqHeadTimeStamp) -> None:
        spec = self._spec(s, msg.req_id, msg.contract)
        if spec is None:
            return
        key = ("head", spec.con_id, msg.what_to_show, msg.use_rth, msg.format_date)
        if not self._paced(s, msg.req_id, key, spec.con_id, msg.what_to_show.upper()):
            return
        head = self._instrument(spec.con_id).first_time()
        text = (
            str(int(head)) if msg.format_date == 2
            else dt.datetime.fromtimestamp(head, dt.UTC).strftime("%Y%m%d-%H:%M:%S")
        )  # fmt: skip
        s.send(m.HeadTimestamp(req_id=msg.req_id, head_timestamp=text))

    def _on_historical_ticks(self, s: Session, msg: m.ReqHistoricalTicks) -> None:
        spec = self._spec(s, msg.req_id, msg.contract)
        if spec is None:
            return
        what = msg.what_to_show.upper()
        key = ("ticks", spec.con_id, msg.start_date_time, msg.end_date_time,
               msg.number_of_ticks, what, msg.use_rth, msg.ignore_size)  # fmt: skip
        if not self._paced(s, msg.req_id, key, spec.con_id, what):
            return
        if what not in ("TRADES", "BID_ASK", "MIDPOINT"):
            s.send_error(msg.req_id, VALIDATION_ERROR, "Error validating request.-'bK' : cause"
                         f" - Invalid what to show: {what}")  # fmt: skip
            return
        if bool(msg.start_date_time.strip()) == bool(msg.end_date_time.strip()):
            s.send_error(msg.req_id, VALIDATION_ERROR, "Error validating request.-'bK' : cause"
                         " - Exactly one of start and end date must be given")  # fmt: skip
            return
        count = max(1, min(msg.number_of_ticks, MAX_TICKS))
        try:
            if msg.start_date_time.strip():
                at = parse_ib_time(msg.start_date_time, spec.time_zone_id or "UTC")
                forward = True
            else:
                at = self._end(msg.end_date_time, spec)
                forward = False
        except ValueError as exc:
            s.send_error(msg.req_id, VALIDATION_ERROR, f"Error validating request.-'bK' : "
                         f"cause - {exc}")  # fmt: skip
            return
        inst = self._instrument(spec.con_id)
        trades = _ticks(inst, at, count, forward, self._clock(), msg.use_rth)
        if what == "TRADES":
            s.send(m.HistoricalTicksLast(req_id=msg.req_id, done=True, ticks=tuple(
                m.LastTick(time=int(t.time), price=t.price, size=t.size,
                           exchange=_exchange(spec)) for t in trades)))  # fmt: skip
        elif what == "BID_ASK":
            rows, prev = [], None
            for t in trades:
                key2 = (t.bid, t.ask) if msg.ignore_size else (t.bid, t.ask, t.bid_size,
                                                               t.ask_size)  # fmt: skip
                if key2 == prev:
                    continue
                prev = key2
                rows.append(m.BidAskTick(time=int(t.time), price_bid=t.bid, price_ask=t.ask,
                                         size_bid=t.bid_size, size_ask=t.ask_size))  # fmt: skip
            s.send(m.HistoricalTicksBidAsk(req_id=msg.req_id, ticks=tuple(rows), done=True))
        else:
            s.send(m.HistoricalTicks(req_id=msg.req_id, done=True, ticks=tuple(
                m.MidpointTick(time=int(t.time), price=(t.bid + t.ask) / 2, size=Decimal(0))
                for t in trades)))  # fmt: skip

    def _on_histogram(self, s: Session, msg: m.ReqHistogramData) -> None:
        spec = self._spec(s, msg.req_id, msg.contract)
        if spec is None:
            return
        key = ("histogram", spec.con_id, msg.time_period, msg.use_rth)
        if not self._paced(s, msg.req_id, key, spec.con_id, "TRADES"):
            return
        parts = msg.time_period.split()
        units = {"day": DAY, "days": DAY, "week": WEEK, "weeks": WEEK, "month": MONTH,
                 "months": MONTH}  # fmt: skip
        if len(parts) != 2 or not parts[0].isdigit() or parts[1].lower() not in units:
            s.send_error(msg.req_id, VALIDATION_ERROR, "Error validating request.-'bK' : cause"
                         " - Invalid time period")  # fmt: skip
            return
        now = self._clock()
        inst = self._instrument(spec.con_id)
        bars = inst.intraday_bars(now - int(parts[0]) * units[parts[1].lower()], now, 300,
                                  msg.use_rth)  # fmt: skip
        volume: dict[Decimal, Decimal] = {}
        tick = spec.min_tick
        for b in bars:
            price = (b.wap / tick).to_integral_value() * tick
            volume[price] = volume.get(price, Decimal(0)) + b.volume
        s.send(m.HistogramData(req_id=msg.req_id, items=tuple(
            m.HistogramEntry(price=p, size=v) for p, v in sorted(volume.items()))))  # fmt: skip


def _calendar_bars(days: list[tuple[dt.date, Bar]], size: int, zone: dt.tzinfo) -> list[Bar]:
    """Daily bars dated by their trading day's reference date (midnight in the contract's
    zone, which is how a day bar's date is written); weekly and monthly ones merged from
    them, dated by their first trading day."""
    days = [
        (date, replace(b, start=dt.datetime.combine(date, dt.time(), zone).timestamp()))
        for date, b in days
    ]
    if size == DAY:
        return [b for _, b in days]
    groups: dict[tuple[int, int], list[Bar]] = {}
    for date, b in days:
        key = date.isocalendar()[:2] if size == WEEK else (date.year, date.month)
        groups.setdefault(key, []).append(b)
    out = []
    for group in groups.values():
        bar = merge(group[0].start, group)
        if bar is not None:
            out.append(bar)
    return out


def _ticks(inst: Instrument, at: float, count: int, forward: bool, now: float,
           rth: bool) -> list[Trade]:  # fmt: skip
    """`count` ticks from `at` on (or up to `at`), plus the rest of the last second."""
    out: list[Trade] = []
    chunk = 60.0
    earliest = inst.first_time()
    cursor = at if forward else math.floor(at) + 1  # an end second is included
    while len(out) < count:
        if forward:
            if cursor >= now:
                break
            got = inst.trades(cursor, min(cursor + chunk, now + 1))
            cursor += chunk
        else:
            if cursor <= earliest:
                break
            got = inst.trades(cursor - chunk, cursor)
            cursor -= chunk
        if rth:
            got = [t for t in got if inst.calendar.is_open(t.time, rth=True)]
        if forward:
            out.extend(got)
        else:
            out[:0] = got
        chunk = min(chunk * 4, 4 * 3600)
    if len(out) <= count:
        return out
    if forward:
        last = out[count - 1].time
        return [t for i, t in enumerate(out) if i < count or t.time == last]
    first = out[-count].time
    return [t for i, t in enumerate(out) if i >= len(out) - count or t.time == first]


def _exchange(spec: ContractSpec) -> str:
    return {"NASDAQ": "ISLAND"}.get(spec.primary_exchange, spec.primary_exchange or spec.exchange)


def _wap(wap: Decimal) -> Decimal:
    return wap if wap < 0 else wap.quantize(Decimal("0.000001")).normalize()
