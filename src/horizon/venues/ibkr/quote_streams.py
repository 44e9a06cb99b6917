"""QuoteStreams: quote snapshots, and streams shared between subscriptions, kept alive.

The mapping is in `mapping.quotes`; this part requests and cancels market data through the
connection's pacing bucket (every outbound request takes a token), falls back to delayed data
when the account has no real-time permission (and says so on every quote), and restores the
streams after a reconnect or a 1101.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final

from ib_async import IB, Contract, Ticker

from horizon.errors import (
    HorizonError,
    InvalidOrder,
    MarketDataLimit,
    RequestTimeout,
    VenueRejected,
)
from horizon.venues.ibkr.config import IbkrConfig
from horizon.venues.ibkr.connection import Connection, utc_now
from horizon.venues.ibkr.guards import Reference
from horizon.venues.ibkr.instruments import Instruments
from horizon.venues.ibkr.mapping.quotes import (
    DELAYED_NOTICE,
    DELAYED_TICK_TYPES,
    FALLBACK_CODES,
    MarketDataType,
    Quote,
    QuoteCallback,
    Subscription,
    check_market_data_type,
    fallback_type,
    quote_from_ticker,
)
from horizon.venues.ibkr.mapping.status import needs_resubscribe
from horizon.venues.ibkr.mapping.symbology import canonical_market_id
from horizon.venues.ibkr.resilience import ConnectionEvent, ConnectionState

# IB 101: "Max number of tickers has been reached" (the account's market data lines)
LINE_LIMIT: Final = 101
# IB notices: a market data farm down / back (TWS API message codes 2103-2106, 2157-2158)
FARM_DOWN: Final = frozenset({2103, 2105, 2157})
FARM_UP: Final = frozenset({2104, 2106, 2158})
log = logging.getLogger("horizon.venues.ibkr")

# IB's snapshot ends after at most 11 s when some ticks never come
SNAPSHOT_FLOOR_S: Final = 12.0


@dataclass(slots=True, eq=False)
class _Stream:
    """One market's reqMktData, shared by every Subscription to that market."""

    market_id: str
    contract: Contract
    subscriptions: list[Subscription] = field(default_factory=list)
    ticker: Ticker | None = None
    handler: Callable[[Ticker], None] | None = None
    requested_type: int = 1  # the market data type the current request was made under
    delayed_seen: bool = False  # sticky until re-requested: a delayed tick or a 10167 came
    last: Quote | None = None
    failed: str | None = None


@dataclass(frozen=True, slots=True)
class StreamState:
    """What a caller may see of one stream: its market, subscribers and delayed flag."""

    market_id: str
    subscribers: int
    delayed: bool
    failed: str | None


class QuoteStreams:
    """Quote snapshots and streams of one venue."""

    def __init__(
        self, config: IbkrConfig, connection: Connection, instruments: Instruments
    ) -> None:
        self._config = config
        self._connection = connection
        self._instruments = instruments
        self._streams: dict[str, _Stream] = {}
        self._sent_type: int | None = None  # what this connection was last told
        self._fallen_back = False  # no real-time permission seen: delayed from now on
        # conId -> the code lists of the snapshots in flight for it
        self._snapshot_codes: dict[int, list[list[tuple[int, str]]]] = {}
        connection.add_listener(self._on_connection)
        connection.add_error_handler(self._on_error)

    # ------------------------------------------------------------------ observation
    def markets(self) -> list[str]:
        """Markets with a live reqMktData (one per market, however many subscribers)."""
        return sorted(self._streams)

    def states(self) -> list[StreamState]:
        return [
            StreamState(
                market_id=s.market_id,
                subscribers=len(s.subscriptions),
                delayed=s.delayed_seen,
                failed=s.failed,
            )
            for s in sorted(self._streams.values(), key=lambda s: s.market_id)
        ]

    async def reference(self, contract: Contract, market_id: str) -> Reference | None:
        """The quote the pre-trade rules judge an order by: the stream's latest if the market
        streams, else a snapshot. Delayed data is no reference for a price check: None."""
        stream = self._streams.get(market_id)
        quote = stream.last if stream is not None else None
        if quote is None:
            try:
                quote = await self.quote(market_id)
            except (HorizonError, TimeoutError) as exc:
                log.warning(
                    "no quote for the pre-trade rules",
                    extra={"market_id": market_id, "error": str(exc)},
                )
                return None
        if quote.delayed:
            return None
        multiplier = Decimal(contract.multiplier) if contract.multiplier else Decimal(1)
        age = (utc_now() - quote.timestamp).total_seconds()
        return Reference(
            bid=quote.bid, ask=quote.ask, last=quote.last, age_s=age, multiplier=multiplier
        )

    @property
    def fallen_back(self) -> bool:
        """True once the account showed no real-time permission (delayed data since)."""
        return self._fallen_back

    # ------------------------------------------------------------------ market data type
    def _wanted_type(self) -> MarketDataType:
        configured = check_market_data_type(self._config.market_data_type)
        if self._fallen_back:
            return fallback_type(configured) or configured
        return configured

    async def _ensure_type(self, ib: IB) -> int:
        """Tell this connection the market data type (once per connection and change)."""
        wanted = int(self._wanted_type())
        if self._sent_type != wanted:
            await self._connection.bucket.acquire_async()
            ib.reqMarketDataType(wanted)
            self._sent_type = wanted
            log.info(
                "market data type set",
                extra={"market_data_type": wanted, "client_id": self._connection.client_id},
            )
        return wanted

    def _fall_back(self, code: int, text: str, market_id: str, requested: int) -> bool:
        """After a no-permission error on a request made with type `requested`: switch to
        delayed data for good and return True, or False if the request was delayed already
        (then there is nothing left to fall back to)."""
        if fallback_type(requested) is None:
            return False
        if not self._fallen_back:
            self._fallen_back = True
            log.warning(
                "no real-time market data permission; falling back to delayed data",
                extra={
                    "code": code,
                    "error": text,
                    "market_id": market_id,
                    "market_data_type": int(self._wanted_type()),
                    "client_id": self._connection.client_id,
                },
            )
        return True

    # ------------------------------------------------------------------ snapshots
    async def quote(self, market_id: str) -> Quote:
        """A snapshot of `market_id`'s top of book (one request; IB answers within ~11 s).

        Without a real-time subscription (IB 354 / 10168) the venue falls back to delayed data
        for the rest of its life and says so: the quote comes back with delayed=True.
        """
        key = canonical_market_id(market_id)
        contract = await self._instruments.qualify(key)
        while True:
            ib = await self._connection.ready()
            requested = await self._ensure_type(ib)
            codes, ticker, delayed_ticks = await self._snapshot(ib, contract)
            for code, text in codes:
                if code == LINE_LIMIT:
                    raise MarketDataLimit(key, text)
            refused = [(c, t) for c, t in codes if c in FALLBACK_CODES]
            if not refused:
                notice = delayed_ticks or any(c == DELAYED_NOTICE for c, _ in codes)
                return quote_from_ticker(ticker, market_id=key, now=utc_now(), delayed=notice)
            code, text = refused[0]
            if not self._fall_back(code, text, key, requested):
                raise VenueRejected(code, f"no market data for {key}: {text}")

    def snapshot_timeout(self) -> float:
        """What a blocking caller should wait at most for `quote` (two snapshots, worst case)."""
        return max(self._config.request_timeout, SNAPSHOT_FLOOR_S) * 2 + 5

    async def _snapshot(
        self, ib: IB, contract: Contract
    ) -> tuple[list[tuple[int, str]], Ticker, bool]:
        """reqMktData(snapshot=True): the IB codes it drew, its ticker, any delayed tick seen."""
        codes: list[tuple[int, str]] = []
        self._snapshot_codes.setdefault(contract.conId, []).append(codes)
        seen_delayed = False

        def on_pending(tickers: set[Ticker]) -> None:
            nonlocal seen_delayed
            for t in tickers:
                if t.contract is not None and t.contract.conId == contract.conId:
                    seen_delayed = seen_delayed or any(
                        x.tickType in DELAYED_TICK_TYPES for x in t.ticks
                    )

        await self._connection.bucket.acquire_async()
        timeout = max(self._config.request_timeout, SNAPSHOT_FLOOR_S)
        ib.pendingTickersEvent += on_pending
        try:
            (ticker,) = await asyncio.wait_for(ib.reqTickersAsync(contract), timeout)
        except TimeoutError as exc:
            raise RequestTimeout(f"quote snapshot of {contract.symbol}", timeout) from exc
        finally:
            ib.pendingTickersEvent -= on_pending
            in_flight = self._snapshot_codes.get(contract.conId, [])
            in_flight.remove(codes)
            if not in_flight:
                del self._snapshot_codes[contract.conId]
        return codes, ticker, seen_delayed

    # ------------------------------------------------------------------ streams
    async def subscribe(
        self, market_ids: Sequence[str], callback: QuoteCallback | None = None
    ) -> Subscription:
        """Stream quotes of `market_ids`: iterate the Subscription and/or get `callback(q)`.

        One reqMktData per market, shared between subscriptions (each takes a bucket token);
        restored after a reconnect or a 1101. Callbacks run on the venue's loop and must not
        block. A quote is delivered when the book (prices, sizes, delayed flag) changes; a new
        subscriber to a market already streaming gets its latest quote at once.
        """
        if isinstance(market_ids, str):
            market_ids = [market_ids]
        keys = list(dict.fromkeys(canonical_market_id(m) for m in market_ids))
        if not keys:
            raise InvalidOrder("market_ids", "subscribe to at least one market id")
        contracts = [await self._instruments.qualify(k) for k in keys]
        ib = await self._connection.ready()
        sub = Subscription(keys, callback=callback, loop=asyncio.get_running_loop())
        await self._ensure_type(ib)
        for key, contract in zip(keys, contracts, strict=True):
            stream = self._streams.get(key)
            if stream is None:
                stream = _Stream(market_id=key, contract=contract)
                self._streams[key] = stream
                stream.subscriptions.append(sub)
                await self._request(ib, stream)
            else:
                stream.subscriptions.append(sub)
                if stream.last is not None:
                    self._deliver(sub, stream.last)
                if stream.failed is not None:
                    sub.fail(key, stream.failed)
        log.info(
            "quotes subscribed",
            extra={"market_ids": keys, "client_id": self._connection.client_id},
        )
        return sub

    async def unsubscribe(self, subscription: Subscription) -> None:
        """End a subscription (idempotent); a market nobody else follows is cancelled at IB."""
        subscription.close()
        for key in subscription.market_ids:
            stream = self._streams.get(key)
            if stream is None or subscription not in stream.subscriptions:
                continue
            stream.subscriptions.remove(subscription)
            if stream.subscriptions:
                continue
            del self._streams[key]
            await self._cancel_stream(stream)
        log.info("quotes unsubscribed", extra={"market_ids": list(subscription.market_ids)})

    async def _request(self, ib: IB, stream: _Stream) -> None:
        await self._connection.bucket.acquire_async()
        stream.delayed_seen = False
        stream.failed = None
        stream.requested_type = self._sent_type or int(MarketDataType.REALTIME)
        ticker = ib.reqMktData(stream.contract)

        def on_update(t: Ticker, stream: _Stream = stream) -> None:
            self._on_ticker(stream, t)

        ticker.updateEvent += on_update
        stream.ticker, stream.handler = ticker, on_update

    def _detach(self, stream: _Stream) -> Ticker | None:
        ticker, handler = stream.ticker, stream.handler
        stream.ticker = stream.handler = None
        if ticker is not None and handler is not None:
            ticker.updateEvent -= handler
        return ticker

    async def _cancel_stream(self, stream: _Stream) -> None:
        ticker = self._detach(stream)
        if ticker is None or not self._connection.is_connected():
            return  # the connection that held it is gone; nothing to cancel at IB
        await self._connection.bucket.acquire_async()
        ib = await self._connection.ready()
        ib.cancelMktData(stream.contract)

    def _on_ticker(self, stream: _Stream, ticker: Ticker) -> None:
        if ticker is not stream.ticker:
            return
        if any(t.tickType in DELAYED_TICK_TYPES for t in ticker.ticks):
            stream.delayed_seen = True
        quote = quote_from_ticker(
            ticker, market_id=stream.market_id, now=utc_now(), delayed=stream.delayed_seen
        )
        if quote.bid is None and quote.ask is None and quote.last is None:
            return  # nothing priced yet (a size or a notice came first)
        if quote.same_book(stream.last):
            return
        stream.last = quote
        for sub in list(stream.subscriptions):
            self._deliver(sub, quote)

    @staticmethod
    def _deliver(sub: Subscription, quote: Quote) -> None:
        sub.push(quote)
        if sub.callback is None:
            return
        try:
            sub.callback(quote)
        except Exception:
            log.exception("quote callback failed", extra={"market_id": quote.market_id})

    def _stream_of(self, contract: object) -> _Stream | None:
        con_id = getattr(contract, "conId", 0)
        if not con_id:
            return None
        return next((s for s in self._streams.values() if s.contract.conId == con_id), None)

    # ------------------------------------------------------------------ events
    def _on_error(self, req_id: int, code: int, text: str, contract: Any) -> bool:
        """Market-data codes of this venue's snapshots and streams; True if owned."""
        if code in FARM_DOWN or code in FARM_UP:
            # a data farm down (2103/2105/2157) or back: the streams say why they are silent
            for each in self._streams.values():
                for sub in each.subscriptions:
                    sub.degrade(each.market_id, text if code in FARM_DOWN else None)
            return False
        if needs_resubscribe(code):
            self._spawn(self._restore_streams(cancel_first=True), "resubscribe after 1101")
            return False
        if code not in FALLBACK_CODES and code not in (DELAYED_NOTICE, LINE_LIMIT):
            return False
        con_id = getattr(contract, "conId", 0)
        in_flight = self._snapshot_codes.get(con_id, [])
        for codes in in_flight:
            codes.append((code, text))
        stream = self._stream_of(contract)
        if stream is None or stream.ticker is None:
            return bool(in_flight)
        if code == DELAYED_NOTICE:
            if not stream.delayed_seen:
                log.warning(
                    "market data is delayed (no real-time subscription)",
                    extra={"market_id": stream.market_id, "code": code},
                )
            stream.delayed_seen = True
            return True
        if code != LINE_LIMIT and self._fall_back(
            code, text, stream.market_id, stream.requested_type
        ):
            self._spawn(self._rerequest(stream), "fall back to delayed")
            return True
        stream.failed = f"IB error {code}: {text}"
        log.error(
            "no market data for a subscribed market",
            extra={"market_id": stream.market_id, "code": code, "error": text},
        )
        for sub in stream.subscriptions:
            sub.fail(stream.market_id, stream.failed)
        return True

    def _spawn(self, coro: Coroutine[Any, Any, None], what: str) -> None:
        self._connection.spawn(self._guarded(coro, what))

    @staticmethod
    async def _guarded(coro: Awaitable[None], what: str) -> None:
        try:
            await coro
        except (HorizonError, ConnectionError, TimeoutError) as exc:
            log.warning("quote stream restore failed", extra={"what": what, "error": str(exc)})

    async def _rerequest(self, stream: _Stream) -> None:
        """Cancel and request one stream again, under the (now delayed) market data type."""
        ib = await self._connection.ready()
        await self._ensure_type(ib)
        if self._streams.get(stream.market_id) is not stream:
            return  # unsubscribed meanwhile
        await self._cancel_stream(stream)
        await self._request(ib, stream)

    async def _restore_streams(self, *, cancel_first: bool) -> None:
        """Request every stream again: after a reconnect (ib_async dropped every ticker, and
        the new session starts at real-time) or after a 1101 (IB lost the subscriptions)."""
        ib = await self._connection.ready()
        await self._ensure_type(ib)
        for stream in list(self._streams.values()):
            if cancel_first:
                await self._cancel_stream(stream)
            else:
                self._detach(stream)
            if self._streams.get(stream.market_id) is stream:
                await self._request(ib, stream)
        log.info(
            "quote streams restored",
            extra={"market_ids": list(self._streams), "client_id": self._connection.client_id},
        )

    def _on_connection(self, event: ConnectionEvent) -> None:
        if event.state in (
            ConnectionState.DISCONNECTED,
            ConnectionState.CLOSED,
            ConnectionState.RECONNECTED,
        ):
            self._sent_type = None  # a new session starts at real-time
        if event.state is ConnectionState.RECONNECTED and self._streams:
            self._spawn(self._restore_streams(cancel_first=False), "restore after reconnect")
        elif event.state is ConnectionState.CLOSED:
            for stream in self._streams.values():
                self._detach(stream)
                for sub in stream.subscriptions:
                    sub.close()
            self._streams.clear()
