"""News: reqNewsProviders (the free API providers of a paper account), reqHistoricalNews and
reqNewsArticle (a small deterministic archive: one headline a day per instrument, in the
provider's article-id form), reqNewsBulletins / cancelNewsBulletins (a subscription; the
simulator issues no bulletins of its own)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Final

from ibgateway_sim.engine import ContractSpec, Engine, EngineError
from ibgateway_sim.gateway.handlers.base import Handler
from ibgateway_sim.gateway.session import Session
from ibgateway_sim.wire import messages as m

PROVIDERS: Final = (
    ("BRFG", "Briefing.com General Market Columns"),
    ("BRFUPDN", "Briefing.com Analyst Actions"),
    ("DJNL", "Dow Jones Newsletters"),
)
ARCHIVE_DAYS: Final = 30
NEWS_ARTICLE_NOT_FOUND: Final = 10172  # IB: "Failed to request news article: ..."
TEXT_ARTICLE_NOT_FOUND: Final = "Failed to request news article: No data available"


ARCHIVE_TIME: Final = dt.time(13, 30)  # UTC: when each day's headline is published


def article_id(provider: str, con_id: int, day: dt.date) -> str:
    return f"{provider}${con_id:08d}{day:%Y%m%d}"


def headline(spec: ContractSpec, day: dt.date) -> str:
    return f"{spec.long_name} ({spec.symbol}): market update for {day:%b %d}"


class NewsHandlers:
    def __init__(self, engine: Engine, *, clock: Callable[[], float]) -> None:
        self._engine = engine
        self._clock = clock
        self._bulletins: set[Session] = set()
        self._issued: list[m.UpdateNewsBulletin] = []  # today's, for allMsgs subscribers

    @property
    def handlers(self) -> Mapping[type, Handler]:
        return {
            m.ReqNewsProviders: self._on_providers,
            m.ReqHistoricalNews: self._on_historical_news,
            m.ReqNewsArticle: self._on_article,
            m.ReqNewsBulletins: self._on_bulletins,
            m.CancelNewsBulletins: self._on_cancel_bulletins,
        }

    def forget(self, session: Session) -> None:
        self._bulletins.discard(session)

    def post_bulletin(self, message: str, msg_type: int, origin_exchange: str) -> None:
        """An IB bulletin (1 news, 2 exchange unavailable, 3 exchange available again), to
        every subscribed connection."""
        bulletin = m.UpdateNewsBulletin(
            news_msg_id=len(self._issued) + 1, news_msg_type=msg_type, message=message,
            origin_exchange=origin_exchange,
        )  # fmt: skip
        self._issued.append(bulletin)
        for s in self._bulletins:
            s.send(bulletin)

    def _on_providers(self, s: Session, msg: m.ReqNewsProviders) -> None:
        s.send(m.NewsProviders(providers=tuple(m.NewsProvider(code=c, name=n)
                                               for c, n in PROVIDERS)))  # fmt: skip

    def _on_historical_news(self, s: Session, msg: m.ReqHistoricalNews) -> None:
        """Newest first, at most totalResults, from the providers asked for."""
        try:
            spec = self._engine.contract(msg.con_id)
        except EngineError:
            s.send(m.HistoricalNewsEnd(req_id=msg.req_id, has_more=False))
            return
        wanted = [p for p in msg.provider_codes.split("+") if p in dict(PROVIDERS)]
        today = dt.datetime.fromtimestamp(self._clock(), dt.UTC).date()
        rows = [
            (today - dt.timedelta(days=i), p)
            for i in range(ARCHIVE_DAYS)
            for p in wanted
        ]
        limit = max(msg.total_results, 0)
        for day, provider in rows[:limit]:
            s.send(
                m.HistoricalNews(
                    req_id=msg.req_id,
                    time=f"{day:%Y-%m-%d} {ARCHIVE_TIME:%H:%M:%S}.0",
                    provider_code=provider,
                    article_id=article_id(provider, spec.con_id, day),
                    headline=headline(spec, day),
                )
            )
        s.send(m.HistoricalNewsEnd(req_id=msg.req_id, has_more=len(rows) > limit))

    def _on_article(self, s: Session, msg: m.ReqNewsArticle) -> None:
        provider, _, rest = msg.article_id.partition("$")
        try:
            con_id, day = int(rest[:8]), dt.datetime.strptime(rest[8:], "%Y%m%d").date()
            spec = self._engine.contract(con_id)
        except (ValueError, EngineError):
            s.send_error(msg.req_id, NEWS_ARTICLE_NOT_FOUND, TEXT_ARTICLE_NOT_FOUND)
            return
        if provider != msg.provider_code:
            s.send_error(msg.req_id, NEWS_ARTICLE_NOT_FOUND, TEXT_ARTICLE_NOT_FOUND)
            return
        s.send(
            m.NewsArticle(
                req_id=msg.req_id,
                article_type=0,
                article_text=(
                    f"<html><body><p>{spec.long_name} ({spec.symbol}) traded on {day:%Y-%m-%d}."
                    "</p><p>Simulated article.</p></body></html>"
                ),
            )
        )

    def _on_bulletins(self, s: Session, msg: m.ReqNewsBulletins) -> None:
        """allMsgs: today's bulletins first, then the new ones."""
        self._bulletins.add(s)
        if msg.all_msgs:
            for bulletin in self._issued:
                s.send(bulletin)

    def _on_cancel_bulletins(self, s: Session, msg: m.CancelNewsBulletins) -> None:
        self._bulletins.discard(s)
