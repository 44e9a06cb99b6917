"""Market data: reqMarketDataType, reqMktData (streaming, frozen and snapshots, real-time or
delayed per the entitlements), cancelMktData; and the ticks that follow price changes.

As TWS does, a tick is sent again only when its value changed, per subscription; a client
without a real-time subscription for a symbol falls back to delayed data (10167), unless
delayed data is off too (354 / 10168).

An option's subscription also carries tickOptionComputation for its bid, ask, last and
model (10-13; 80-83 delayed), from the underlying's price and Black-Scholes, as the option
calculators compute them. Generic tick 292 adds news headlines (tickNews) from the news
archive's providers, "mdoff" leaves the prices out (IB's news-only subscription). A snapshot
(or regulatory snapshot) sends what is available once, then tickSnapshotEnd; its id is over
then, and cancelling it is error 300, as a real gateway answers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final

from ibgateway_sim.engine import ContractSpec, Engine
from ibgateway_sim.engine.pricing import years_to_expiry
from ibgateway_sim.gateway.codes import (
    DELAYED_DISABLED,
    DELAYED_SHOWN,
    NO_SECURITY,
    NOT_SUBSCRIBED,
    TEXT_DELAYED_DISABLED,
    TEXT_DELAYED_SHOWN,
    TEXT_NO_SECURITY,
    TEXT_NOT_SUBSCRIBED,
)
from ibgateway_sim.gateway.handlers.base import Handler
from ibgateway_sim.gateway.handlers.news import ARCHIVE_TIME, PROVIDERS, article_id, headline
from ibgateway_sim.gateway.mapping import DELAYED, LAST_TIMESTAMP, contract_query, quote_ticks
from ibgateway_sim.gateway.option_ticks import (
    DELAYED_OPTION,
    option_computation,
    quote_computations,
)
from ibgateway_sim.gateway.session import Session
from ibgateway_sim.wire import messages as m

LIVE, FROZEN, DELAYED_LIVE, DELAYED_FROZEN = 1, 2, 3, 4  # reqMarketDataType's values
NEWS_TICK: Final = "292"  # generic tick: news headlines ("292:BRFG+DJNL" names providers)
NO_MARKET_DATA: Final = "mdoff"  # generic tick: no price ticks (a news-only subscription)
NO_TICKER: Final = 300
TEXT_NO_TICKER: Final = "Can't find EId with tickerId:"  # + the id (a real gateway's text)


@dataclass(frozen=True, slots=True)
class GenericTicks:
    """What reqMktData's genericTickList asks for, of what the simulator models."""

    prices: bool = True
    news: tuple[str, ...] = ()  # the providers whose headlines to send

    @classmethod
    def parse(cls, text: str) -> GenericTicks:
        prices, news = True, tuple[str, ...]()
        for item in (t.strip() for t in text.split(",")):
            tick, _, providers = item.partition(":")
            if tick == NO_MARKET_DATA:
                prices = False
            elif tick == NEWS_TICK:
                known = tuple(c for c, _ in PROVIDERS)
                asked = tuple(p for p in providers.split("+") if p in known)
                news = asked if providers else known
        return cls(prices, news)


@dataclass(slots=True)
class MarketData:
    """One reqMktData subscription and the ticks it was last sent."""

    req_id: int
    con_id: int
    delayed: bool
    frozen: bool
    generic: GenericTicks = field(default_factory=GenericTicks)
    sent: dict[int, tuple[Decimal, Decimal | None]] = field(default_factory=dict)
    greeks: dict[int, m.TickOptionComputation] = field(default_factory=dict)
    news_day: dt.date | None = None  # the day of the last headline sent


class MarketDataHandlers:
    def __init__(
        self,
        engine: Engine,
        *,
        realtime_data: bool | frozenset[str],
        delayed_data: bool,
        paused: Callable[[], bool] = lambda: False,
        clock: Callable[[], float] | None = None,
        rate: Decimal = Decimal("0.045"),
        dividend_yield: Decimal = Decimal(0),
    ) -> None:
        """`clock`, `rate` and `dividend_yield`: what options' greeks are computed with (the
        option calculators' values)."""
        self._engine = engine
        self._clock = clock or (lambda: 0.0)
        self._rate = float(rate)
        self._dividend = float(dividend_yield)
        self._paused = paused  # a farm outage, stale prices, a competing session
        self._realtime = realtime_data
        self._delayed = delayed_data
        self._types: dict[Session, int] = {}  # reqMarketDataType per connection (default LIVE)
        self._subs: dict[Session, dict[int, MarketData]] = {}  # streaming ones, by reqId
        self._ended: dict[Session, set[int]] = {}  # snapshots answered (their ids are over)

    @property
    def handlers(self) -> Mapping[type, Handler]:
        return {
            m.ReqMarketDataType: self._on_market_data_type,
            m.ReqMktData: self._on_mkt_data,
            m.CancelMktData: self._on_cancel_mkt_data,
        }

    def forget(self, session: Session) -> None:
        self._types.pop(session, None)
        self._subs.pop(session, None)
        self._ended.pop(session, None)

    def subscriptions(self, session: Session) -> tuple[int, ...]:
        """The req ids of `session`'s streaming subscriptions, in order. Safe from any thread."""
        return tuple(sorted(self._subs.get(session, {})))

    def refresh(self, con_id: int | None = None) -> None:
        """Send the ticks that changed, to every streaming subscription (of `con_id`);
        nothing while market data is paused by a fault."""
        if self._paused():
            return
        for s, subs in self._subs.items():
            for sub in subs.values():
                if con_id is None or sub.con_id == con_id:
                    self._send_ticks(s, sub)

    def announce(self, code: int | None, text: str = "", market_data_type: int = 0) -> None:
        """Tell every streaming subscription: an error/notice `code`, or a new market data
        type (2 = frozen, while prices are stale; 1 = live again)."""
        for s, subs in self._subs.items():
            for sub in subs.values():
                if code is not None:
                    s.send_error(sub.req_id, code, text)
                if market_data_type:
                    s.send(m.MarketDataType(req_id=sub.req_id, market_data_type=market_data_type))

    # ---- requests -------------------------------------------------------------------------

    def _on_market_data_type(self, s: Session, msg: m.ReqMarketDataType) -> None:
        if LIVE <= msg.market_data_type <= DELAYED_FROZEN:
            self._types[s] = msg.market_data_type

    def _has_realtime(self, spec: ContractSpec) -> bool:
        if isinstance(self._realtime, bool):
            return self._realtime
        return spec.symbol in self._realtime

    def _on_mkt_data(self, s: Session, msg: m.ReqMktData) -> None:
        specs = self._engine.match_contracts(contract_query(msg.contract))
        if len(specs) != 1:
            s.send_error(msg.req_id, NO_SECURITY, TEXT_NO_SECURITY)
            return
        spec = specs[0]
        md_type = self._types.get(s, LIVE)
        if md_type in (LIVE, FROZEN) and not self._has_realtime(spec):
            if not self._delayed:
                s.send_error(msg.req_id, NOT_SUBSCRIBED, TEXT_NOT_SUBSCRIBED)
                return
            # TWS falls back to delayed data for an account without the subscription
            s.send_error(msg.req_id, DELAYED_SHOWN, TEXT_DELAYED_SHOWN)
            md_type += DELAYED_LIVE - LIVE
        elif (
            md_type in (DELAYED_LIVE, DELAYED_FROZEN)
            and not self._delayed
            and not self._has_realtime(spec)
        ):
            s.send_error(msg.req_id, DELAYED_DISABLED, TEXT_DELAYED_DISABLED)
            return
        snapshot = msg.snapshot or msg.regulatory_snapshot
        sub = MarketData(
            msg.req_id,
            spec.con_id,
            delayed=md_type in (DELAYED_LIVE, DELAYED_FROZEN),
            frozen=md_type in (FROZEN, DELAYED_FROZEN),
            # a snapshot is of the default ticks only (IB: "no generic ticks can be specified")
            generic=GenericTicks() if snapshot else GenericTicks.parse(msg.generic_tick_list),
        )
        s.send(
            m.TickReqParams(
                req_id=msg.req_id,
                min_tick=spec.min_tick,
                bbo_exchange="9c0001",
                snapshot_permissions=3,
            )
        )
        s.send(m.MarketDataType(req_id=msg.req_id, market_data_type=md_type))
        self._send_ticks(s, sub)
        if snapshot:
            s.send(m.TickSnapshotEnd(req_id=msg.req_id))
            self._ended.setdefault(s, set()).add(msg.req_id)
        elif not sub.frozen:
            self._subs.setdefault(s, {})[msg.req_id] = sub

    def _send_ticks(self, s: Session, sub: MarketData) -> None:
        if sub.generic.news:
            self._send_news(s, sub)
        if not sub.generic.prices:
            return
        quote = self._engine.quote(sub.con_id)
        ticks = quote_ticks(quote)
        changed = False
        for tick_type, (value, size) in ticks.items():
            if sub.sent.get(tick_type) == (value, size):
                continue
            sub.sent[tick_type] = (value, size)
            changed = True
            wire_type = DELAYED[tick_type] if sub.delayed else tick_type
            if size is None:
                s.send(m.TickSize(req_id=sub.req_id, tick_type=wire_type, size=value))
            else:
                s.send(m.TickPrice(req_id=sub.req_id, tick_type=wire_type, price=value, size=size))
        if changed and not sub.delayed:
            s.send(
                m.TickString(
                    req_id=sub.req_id, tick_type=LAST_TIMESTAMP, value=str(int(quote.time))
                )
            )
        spec = self._engine.contract(sub.con_id)
        if spec.sec_type == "OPT" and spec.under_con_id:  # the underlying may have moved
            self._send_greeks(s, sub, spec)

    def _send_greeks(self, s: Session, sub: MarketData, spec: ContractSpec) -> None:
        """The option's computations that changed (after its price ticks, as TWS orders
        them: the greeks follow the prices they are computed from)."""
        quote = self._engine.quote(sub.con_id)
        spot = self._engine.quote(spec.under_con_id).last
        years = years_to_expiry(spec.last_trade_date, self._clock())
        values = quote_computations(spec, quote, spot, years, self._rate, self._dividend)
        for tick_type, v in values.items():
            wire_type = DELAYED_OPTION[tick_type] if sub.delayed else tick_type
            row = option_computation(sub.req_id, wire_type, v)
            if sub.greeks.get(tick_type) != row:
                sub.greeks[tick_type] = row
                s.send(row)

    def _send_news(self, s: Session, sub: MarketData) -> None:
        """The newest headline of each provider asked for, once a day (the news archive's
        articles, so reqNewsArticle finds them)."""
        now = self._clock()
        published = dt.datetime.fromtimestamp(now, dt.UTC) - dt.timedelta(
            hours=ARCHIVE_TIME.hour, minutes=ARCHIVE_TIME.minute
        )
        day = published.date()
        if sub.news_day == day:
            return
        sub.news_day = day
        spec = self._engine.contract(sub.con_id)
        stamp = dt.datetime.combine(day, ARCHIVE_TIME, dt.UTC).timestamp()
        for provider in sub.generic.news:
            s.send(
                m.TickNews(
                    req_id=sub.req_id, time_stamp=int(stamp * 1000), provider_code=provider,
                    article_id=article_id(provider, spec.con_id, day),
                    headline=headline(spec, day), extra_data="",
                )
            )  # fmt: skip

    def _on_cancel_mkt_data(self, s: Session, msg: m.CancelMktData) -> None:
        ended = self._ended.get(s, set())
        if msg.req_id in ended:  # a snapshot's id is over once its tickSnapshotEnd is sent
            ended.discard(msg.req_id)
            s.send_error(msg.req_id, NO_TICKER, f"{TEXT_NO_TICKER}{msg.req_id}")
            return
        subs = self._subs.get(s)
        if subs is not None:
            subs.pop(msg.req_id, None)
            if not subs:
                del self._subs[s]
