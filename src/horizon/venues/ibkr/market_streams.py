"""Depth and tick-by-tick streams of one venue, read at the wire (ib_async's wrapper calls)
rather than from its Ticker.

ib_async 2.1 keeps depth in a dict keyed by row and treats an insert as "overwrite the row"
(wrapper.updateMktDepthL2), so after IB inserts a better level the book it shows is wrong;
its tick-by-tick lists are emptied between updates. Here IB's rows are applied to a
`DepthBook` as IB means them (insert shifts deeper levels down), and every tick is
delivered, once. A depth row the book cannot hold, or IB's 317 "depth reset", rebuilds the
book from a fresh subscription; every stream is asked for again after a reconnect.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final

from ib_async import IB, Contract, Ticker

from horizon.errors import InvalidRequest
from horizon.venues.ibkr.connection import Connection, utc_now
from horizon.venues.ibkr.history import HistoricalTick
from horizon.venues.ibkr.instruments import Instruments
from horizon.venues.ibkr.mapping.accounts import decimal_from_float
from horizon.venues.ibkr.mapping.depth import DepthBook, DepthChange, DepthOutOfSync, DepthSnapshot
from horizon.venues.ibkr.mapping.streams import Stream
from horizon.venues.ibkr.quote_streams import FARM_DOWN, FARM_UP
from horizon.venues.ibkr.resilience import ConnectionEvent, ConnectionState

log = logging.getLogger("horizon.venues.ibkr")

DEPTH_RESET: Final = 317  # "Market depth data has been RESET. Please empty deep book contents"
MAX_DEPTH_ROWS: Final = 20
TICK_KINDS: Final = {"trades": "Last", "all_trades": "AllLast", "bid_ask": "BidAsk",
                     "midpoint": "MidPoint"}  # fmt: skip
_STREAM_ERRORS: Final = frozenset({200, 309, 310, 320, 321, 354, 10089, 10090, 10092, 10190})


class DepthSubscription(Stream[DepthChange]):
    """A maintained order book: `snapshot()` is the book now; iterating gives each change."""

    def __init__(self, market_id: str, book: DepthBook, *, loop: asyncio.AbstractEventLoop,
                 callback: Callable[[DepthChange], object] | None = None) -> None:  # fmt: skip
        super().__init__([market_id], key=_change_market, callback=callback, loop=loop,
                         what="depth change")  # fmt: skip
        self._book = book
        self.rebuilds = 0  # times the book was rebuilt from a fresh subscription

    def snapshot(self) -> DepthSnapshot:
        return self._book.snapshot()


class TickSubscription(Stream[HistoricalTick]):
    """Tick-by-tick trades, quotes or midpoints of one market, each tick once."""

    def __init__(self, market_id: str, *, loop: asyncio.AbstractEventLoop,
                 callback: Callable[[HistoricalTick], object] | None = None) -> None:  # fmt: skip
        super().__init__([market_id], key=_tick_market, callback=callback, loop=loop,
                         what="tick")  # fmt: skip


def _change_market(change: DepthChange) -> str:
    return change.market_id


def _tick_market(tick: HistoricalTick) -> str:
    return tick.market_id


@dataclass(slots=True)
class _Feed:
    kind: str  # "depth" or an IB tick-by-tick type
    market_id: str
    contract: Contract
    subscription: Stream[Any]
    rows: int = 0
    smart: bool = False
    book: DepthBook | None = None
    req_id: int = 0
    ticker: Ticker | None = None
    pending: list[Any] = field(default_factory=list)


def _when(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _dec(value: float) -> Decimal | None:
    return decimal_from_float(float(value))


class MarketStreams:
    """Depth and tick-by-tick streams of one venue."""

    def __init__(self, connection: Connection, instruments: Instruments) -> None:
        self._connection = connection
        self._instruments = instruments
        self._feeds: dict[int, _Feed] = {}  # IB request id -> feed
        connection.add_ib_hook(self._install)
        connection.add_listener(self._on_connection)
        connection.add_error_handler(self._on_error)

    def feeds(self) -> list[tuple[str, str]]:
        """(market id, kind) of every live depth / tick stream."""
        return sorted((f.market_id, f.kind) for f in self._feeds.values())

    # ------------------------------------------------------------------ taps
    def _install(self, ib: IB) -> None:
        wrapper = ib.wrapper
        if getattr(wrapper, "_horizon_market_tapped", False):
            return
        depth = wrapper.updateMktDepthL2
        last = wrapper.tickByTickAllLast
        bid_ask = wrapper.tickByTickBidAsk
        mid = wrapper.tickByTickMidPoint

        def on_depth(req_id: int, position: int, maker: str, operation: int, side: int,
                     price: float, size: float, smart: bool = False) -> None:  # fmt: skip
            feed = self._feeds.get(req_id)
            if feed is not None:
                self._on_depth(feed, position, maker, operation, side, price, size)
                return  # ours: ib_async's own book (which overwrites on insert) is not fed
            depth(req_id, position, maker, operation, side, price, size, smart)

        def on_last(req_id: int, tick_type: int, time: int, price: float, size: float,
                    attrib: Any, exchange: str, special: str) -> None:  # fmt: skip
            feed = self._feeds.get(req_id)
            if feed is not None:
                self._push(feed, HistoricalTick(
                    market_id=feed.market_id, time=_when(time), price=_dec(price),
                    size=_dec(size), exchange=exchange or None,
                ))  # fmt: skip
            last(req_id, tick_type, time, price, size, attrib, exchange, special)

        def on_bid_ask(req_id: int, time: int, bid: float, ask: float, bid_size: float,
                       ask_size: float, attrib: Any) -> None:  # fmt: skip
            feed = self._feeds.get(req_id)
            if feed is not None:
                self._push(feed, HistoricalTick(
                    market_id=feed.market_id, time=_when(time), bid=_dec(bid), ask=_dec(ask),
                    bid_size=_dec(bid_size), ask_size=_dec(ask_size),
                ))  # fmt: skip
            bid_ask(req_id, time, bid, ask, bid_size, ask_size, attrib)

        def on_mid(req_id: int, time: int, midpoint: float) -> None:
            feed = self._feeds.get(req_id)
            if feed is not None:
                self._push(feed, HistoricalTick(
                    market_id=feed.market_id, time=_when(time), price=_dec(midpoint),
                ))  # fmt: skip
            mid(req_id, time, midpoint)

        wrapper.updateMktDepthL2 = on_depth  # type: ignore[method-assign,assignment]
        wrapper.tickByTickAllLast = on_last  # type: ignore[method-assign,assignment]
        wrapper.tickByTickBidAsk = on_bid_ask  # type: ignore[method-assign,assignment]
        wrapper.tickByTickMidPoint = on_mid  # type: ignore[method-assign,assignment]
        wrapper._horizon_market_tapped = True  # type: ignore[attr-defined]

    def _push(self, feed: _Feed, item: Any) -> None:
        sub = feed.subscription
        sub.push(item)
        if sub.callback is not None:
            try:
                sub.callback(item)
            except Exception:
                log.exception("stream callback failed", extra={"market_id": feed.market_id})

    def _on_depth(self, feed: _Feed, position: int, maker: str, operation: int, side: int,
                  price: float, size: float) -> None:  # fmt: skip
        assert feed.book is not None
        try:
            change = feed.book.apply(
                position=position, operation=operation, side=side,
                price=_dec(price) or Decimal(0), size=_dec(size) or Decimal(0),
                market_maker=maker, time=utc_now(),
            )  # fmt: skip
        except DepthOutOfSync as exc:
            log.warning("depth book out of sync; rebuilding it", extra={
                "market_id": feed.market_id, "error": str(exc),
            })  # fmt: skip
            self._connection.spawn(self._rebuild(feed))
            return
        self._push(feed, change)

    # ------------------------------------------------------------------ subscribe
    async def depth(
        self,
        market_id: str,
        rows: int,
        smart: bool,
        callback: Callable[[DepthChange], object] | None,
    ) -> DepthSubscription:
        if isinstance(rows, bool) or not isinstance(rows, int) or not 0 < rows <= MAX_DEPTH_ROWS:
            raise InvalidRequest("rows", f"must be 1..{MAX_DEPTH_ROWS}, got {rows!r}")
        contract = await self._instruments.qualify(market_id)
        key = self._instruments.market_id_for(contract)
        book = DepthBook(key, rows)
        sub = DepthSubscription(key, book, loop=asyncio.get_running_loop(), callback=callback)
        feed = _Feed(kind="depth", market_id=key, contract=contract, subscription=sub,
                     rows=rows, smart=smart, book=book)  # fmt: skip
        await self._request(feed)
        return sub

    async def ticks(
        self, market_id: str, what: str, callback: Callable[[HistoricalTick], object] | None
    ) -> TickSubscription:
        kind = TICK_KINDS.get(what)
        if kind is None:
            raise InvalidRequest("what", f"{what!r} is not one of {', '.join(TICK_KINDS)}")
        contract = await self._instruments.qualify(market_id)
        key = self._instruments.market_id_for(contract)
        sub = TickSubscription(key, loop=asyncio.get_running_loop(), callback=callback)
        feed = _Feed(kind=kind, market_id=key, contract=contract, subscription=sub)
        await self._request(feed)
        return sub

    async def unsubscribe(self, subscription: Stream[Any]) -> None:
        subscription.close()
        for req_id, feed in list(self._feeds.items()):
            if feed.subscription is subscription:
                del self._feeds[req_id]
                await self._cancel(feed)

    async def _request(self, feed: _Feed) -> None:
        ib = await self._connection.ready()
        await self._connection.bucket.acquire_async()
        if feed.kind == "depth":
            ticker = ib.reqMktDepth(feed.contract, feed.rows, feed.smart)
        else:
            ticker = ib.reqTickByTickData(feed.contract, feed.kind)
        feed.ticker = ticker
        feed.req_id = ib.wrapper.ticker2ReqId["mktDepth" if feed.kind == "depth" else
                                              feed.kind][ticker]  # fmt: skip
        self._feeds[feed.req_id] = feed

    async def _cancel(self, feed: _Feed) -> None:
        if not self._connection.is_connected():
            return
        ib = await self._connection.ready()
        await self._connection.bucket.acquire_async()
        if feed.kind == "depth":
            ib.cancelMktDepth(feed.contract, feed.smart)
        else:
            ib.cancelTickByTickData(feed.contract, feed.kind)

    async def _rebuild(self, feed: _Feed) -> None:
        """Cancel and ask again: IB sends the book afresh, into an empty one."""
        if self._feeds.get(feed.req_id) is not feed:
            return
        del self._feeds[feed.req_id]
        await self._cancel(feed)
        if feed.book is not None:
            feed.book.clear()
        if isinstance(feed.subscription, DepthSubscription):
            feed.subscription.rebuilds += 1
        await self._request(feed)

    # ------------------------------------------------------------------ events
    def _on_connection(self, event: ConnectionEvent) -> None:
        if event.state is ConnectionState.RECONNECTED:
            feeds, self._feeds = list(self._feeds.values()), {}
            for feed in feeds:
                if feed.book is not None:
                    feed.book.clear()
                self._connection.spawn(self._request(feed))
        elif event.state is ConnectionState.CLOSED:
            for feed in self._feeds.values():
                feed.subscription.close()
            self._feeds.clear()

    def _on_error(self, req_id: int, code: int, text: str, contract: Any) -> bool:
        if code in FARM_DOWN or code in FARM_UP:
            for each in self._feeds.values():
                each.subscription.degrade(each.market_id, text if code in FARM_DOWN else None)
            return False
        feed = self._feeds.get(req_id)
        if feed is None:
            return False
        if code == DEPTH_RESET:
            if feed.book is not None:
                feed.book.clear()
            return True
        if code in _STREAM_ERRORS:
            feed.subscription.fail(feed.market_id, f"IB error {code}: {text}")
            return True
        return False
