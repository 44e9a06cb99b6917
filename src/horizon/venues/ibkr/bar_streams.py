"""Live bars: IB's 5-second real-time bars summed into the size asked, each bar delivered
once, whole, in order, across reconnects.

IB streams only 5-second bars and ib_async drops the subscription with the connection (a bar
stream that silently stops after a reconnect is a known trap). Here the stream is asked for
again after every reconnect, and the bars of the gap come from history first: the bars that
completed while away, then (once complete) the one the gap cut, so the subscriber sees no hole
and no bar twice. A data-farm outage (IB 2103/2105/2157) marks the stream `degraded` until the
farm is back (2104/2106/2158): silence then means "no data", not "stream ended".
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from ib_async import IB, Contract, RealTimeBarList

from horizon.errors import HorizonError, InvalidRequest
from horizon.venues.ibkr.connection import Connection
from horizon.venues.ibkr.history import History
from horizon.venues.ibkr.instruments import Instruments
from horizon.venues.ibkr.mapping.aggregate import BarAggregator, period_start
from horizon.venues.ibkr.mapping.bars import (
    Bar,
    BarSize,
    WhatToShow,
    bar_from_realtime,
    bar_seconds,
)
from horizon.venues.ibkr.mapping.streams import Stream
from horizon.venues.ibkr.quote_streams import FARM_DOWN, FARM_UP
from horizon.venues.ibkr.resilience import ConnectionEvent, ConnectionState

log = logging.getLogger("horizon.venues.ibkr")

LIVE_BAR_WHATS: Final = frozenset(
    {WhatToShow.TRADES, WhatToShow.MIDPOINT, WhatToShow.BID, WhatToShow.ASK}
)
_MAX_LIVE_S: Final = 8 * 3600
_STREAM_ERRORS: Final = frozenset({162, 200, 320, 321, 354, 420, 10089, 10090, 10168, 10197})


class BarSubscription(Stream[Bar]):
    """Live bars of one or more markets (see `Stream`): ``async for bar in sub``, ``get()``,
    ``latest(market_id)``, or a callback."""

    def __init__(
        self,
        market_ids: Sequence[str],
        *,
        callback: Callable[[Bar], object] | None = None,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(market_ids, key=_bar_market, callback=callback, loop=loop, what="bar")


def _bar_market(bar: Bar) -> str:
    return bar.market_id


def _bar_start(bar: Bar) -> datetime:
    return bar.start


@dataclass(slots=True)
class _BarStream:
    market_id: str
    contract: Contract
    size: BarSize
    what: WhatToShow
    rth: bool
    aggregator: BarAggregator
    subscription: BarSubscription
    joined: datetime  # start of the period the subscription began in (gateway time)
    ib_bars: RealTimeBarList | None = None
    handler: Callable[..., None] | None = None
    fetching: int = 0  # history fetches in flight: live bars wait behind them
    held: list[Bar] = field(default_factory=list)
    fetch_order: asyncio.Lock = field(default_factory=asyncio.Lock)  # fetches run in turn
    fetched_to: datetime | None = None  # history of the gaps fetched up to here
    last_out: datetime | None = None  # start of the last bar handed to the subscriber


def _live_size(bar_size: BarSize | str) -> tuple[BarSize, int]:
    try:
        size = BarSize(bar_size)
    except ValueError:
        allowed = ", ".join(repr(m.value) for m in BarSize)
        raise InvalidRequest("bar_size", f"{bar_size!r} is not one of {allowed}") from None
    seconds = bar_seconds(size)
    if seconds < 5 or seconds % 5 or seconds > _MAX_LIVE_S:
        raise InvalidRequest(
            "bar_size",
            f"live bars are built from IB's 5-second bars: 5 secs .. 8 hours, not {size.value!r}",
        )
    return size, seconds


class BarStreams:
    """The live bar streams of one venue."""

    def __init__(self, connection: Connection, instruments: Instruments, history: History) -> None:
        self._connection = connection
        self._instruments = instruments
        self._history = history
        self._streams: list[_BarStream] = []
        connection.add_listener(self._on_connection)
        connection.add_error_handler(self._on_error)

    def streams(self) -> list[tuple[str, str]]:
        """(market id, bar size) of every live bar stream."""
        return [(s.market_id, s.size.value) for s in self._streams]

    async def subscribe(
        self,
        market_id: str,
        bar_size: BarSize | str,
        *,
        what: WhatToShow | str = WhatToShow.TRADES,
        rth: bool = False,
        callback: Callable[[Bar], object] | None = None,
    ) -> BarSubscription:
        size, seconds = _live_size(bar_size)
        show = next((w for w in LIVE_BAR_WHATS if w.value == what), None)
        if show is None:
            allowed = ", ".join(sorted(w.value for w in LIVE_BAR_WHATS))
            raise InvalidRequest("what", f"live bars show one of {allowed}, not {what!r}")
        contract = await self._instruments.qualify(market_id)
        key = self._instruments.market_id_for(contract)
        now = await self._gateway_time()
        ib = await self._connection.ready()
        sub = BarSubscription([key], callback=callback, loop=asyncio.get_running_loop())
        stream = _BarStream(
            market_id=key, contract=contract, size=size, what=show, rth=rth,
            aggregator=BarAggregator(key, seconds), subscription=sub,
            joined=period_start(now, seconds),
        )  # fmt: skip
        self._streams.append(stream)
        await self._request(ib, stream)
        log.info("bars subscribed", extra={"market_id": key, "bar_size": size.value})
        return sub

    async def unsubscribe(self, subscription: BarSubscription) -> None:
        subscription.close()
        for stream in [s for s in self._streams if s.subscription is subscription]:
            self._streams.remove(stream)
            bars = self._detach(stream)
            if bars is not None and self._connection.is_connected():
                await self._connection.bucket.acquire_async()
                ib = await self._connection.ready()
                ib.cancelRealTimeBars(bars)

    # ------------------------------------------------------------------ the wire
    async def _gateway_time(self) -> datetime:
        """The gateway's clock (reqCurrentTime): bar periods and the spans of gap fills are
        the gateway's time, which may differ from this host's."""
        now = await self._connection.query(
            lambda ib: ib.reqCurrentTimeAsync(), "the gateway's time (reqCurrentTime)"
        )
        return now if now.tzinfo else now.replace(tzinfo=UTC)

    async def _request(self, ib: IB, stream: _BarStream) -> None:
        await self._connection.bucket.acquire_async()
        bars = ib.reqRealTimeBars(stream.contract, 5, stream.what.ib, stream.rth)

        def on_update(bars: RealTimeBarList, has_new: bool, stream: _BarStream = stream) -> None:
            if has_new and bars is stream.ib_bars and bars:
                self._on_five(stream, bar_from_realtime(bars[-1], market_id=stream.market_id))

        bars.updateEvent += on_update
        stream.ib_bars, stream.handler = bars, on_update

    def _detach(self, stream: _BarStream) -> RealTimeBarList | None:
        bars, handler = stream.ib_bars, stream.handler
        stream.ib_bars = stream.handler = None
        if bars is not None and handler is not None:
            bars.updateEvent -= handler
        return bars

    def _on_five(self, stream: _BarStream, five: Bar) -> None:
        if stream.what is WhatToShow.TRADES and not five.volume:
            # IB's history has no TRADES bar for a period without trades; the live stream
            # keeps to that, so a bar delivered live and one filled in from history agree
            return
        agg = stream.aggregator
        done = agg.add(five)
        owed, agg.owed = agg.owed, []
        if owed:
            # counted before the completed bars go out, so they wait behind the owed ones
            stream.fetching += 1
            self._connection.spawn(
                self._fill_from_history(stream, owed[0], owed[-1], only=frozenset(owed))
            )
        for bar in done:
            self._deliver(stream, bar)

    def _deliver(self, stream: _BarStream, bar: Bar, *, from_history: bool = False) -> None:
        if stream.fetching and not from_history:
            stream.held.append(bar)  # a history fetch in flight delivers first
            return
        if from_history:
            self._release_held(stream, before=bar.start)
        if stream.last_out is not None and bar.start <= stream.last_out:
            return  # handed out already (each bar once, in order)
        stream.last_out = bar.start
        sub = stream.subscription
        sub.push(bar)
        if sub.callback is not None:
            try:
                sub.callback(bar)
            except Exception:
                log.exception("bar callback failed", extra={"market_id": bar.market_id})

    def _release_held(self, stream: _BarStream, *, before: datetime | None = None) -> None:
        """Hand out the held live bars (those older than `before`), oldest first. They go out
        past the fetch check (`from_history`): they are what a fetch held back."""
        keep: list[Bar] = []
        out: list[Bar] = []
        for bar in stream.held:
            (out if before is None or bar.start < before else keep).append(bar)
        stream.held = keep
        for bar in sorted(out, key=_bar_start):
            self._deliver(stream, bar, from_history=True)

    async def _fill_from_history(
        self,
        stream: _BarStream,
        since: datetime,
        until: datetime | None,
        *,
        only: frozenset[datetime] | None = None,
    ) -> None:
        """Deliver the bars starting in since..until (`only`: just those periods) from
        history, merged in order with the live bars held behind the fetch. until None: up
        to the gateway's now, the period in progress then owed (fetched once the live
        stream is past it). Fetches run one at a time in the order asked, so their bars go
        out in order."""
        async with stream.fetch_order:
            await self._fetch(stream, since, until, only)

    async def _fetch(
        self,
        stream: _BarStream,
        since: datetime,
        until: datetime | None,
        only: frozenset[datetime] | None,
    ) -> None:
        agg = stream.aggregator
        size = timedelta(seconds=agg.size_s)
        try:
            if until is None:
                # "now" is the gateway's, asked afresh (its clock may be off this host's, or
                # driven by a test faster than wall time); the request names its end, so
                # what comes back does not depend on when it is answered
                now = await self._gateway_time()
                end = period_start(now, agg.size_s)
                agg.taint(end)  # the period in progress lost its start to the gap
            else:
                end = until + size
            since = max(since, stream.fetched_to or since)
            if end <= since:
                return  # nothing complete in the gap (or fetched already)
            bars = await self._history.bars(
                stream.market_id, end - since, stream.size,
                what=stream.what, rth=stream.rth, end=end,
            )  # fmt: skip
            for bar in bars:
                if since <= bar.start < end and (only is None or bar.start in only):
                    agg.delivered(bar.start)
                    self._deliver(stream, bar, from_history=True)
            if until is None:
                stream.fetched_to = end  # a later gap fill starts here at the earliest
        except (HorizonError, ConnectionError, TimeoutError) as exc:
            log.warning("bars of a gap could not be fetched", extra={
                "market_id": stream.market_id, "error": str(exc),
            })  # fmt: skip
            stream.subscription.fail(stream.market_id, f"gap not filled: {exc}")
        finally:
            stream.fetching -= 1
            if not stream.fetching:
                self._release_held(stream)  # live bars that completed behind the fetch

    # ------------------------------------------------------------------ events
    async def _restore(self, stream: _BarStream) -> None:
        """After a reconnect: the bars completed while away from history, then the stream."""
        agg = stream.aggregator
        # from the bar after the last one handed out; a stream cut before it handed out any
        # (reconnects coming faster than its bars) from the period it began in
        last = stream.last_out
        since = stream.joined if last is None else last + timedelta(seconds=agg.size_s)
        stream.fetching += 1
        await self._fill_from_history(stream, since, None)
        if stream in self._streams:
            ib = await self._connection.ready()
            await self._request(ib, stream)

    def _on_connection(self, event: ConnectionEvent) -> None:
        if event.state is ConnectionState.DISCONNECTED:
            for stream in self._streams:
                self._detach(stream)
                stream.aggregator.interrupted()
        elif event.state is ConnectionState.RECONNECTED:
            for stream in list(self._streams):
                self._detach(stream)
                stream.aggregator.interrupted()
                self._connection.spawn(self._restore(stream))
        elif event.state is ConnectionState.CLOSED:
            for stream in self._streams:
                self._detach(stream)
                stream.subscription.close()
            self._streams.clear()

    def _on_error(self, req_id: int, code: int, text: str, contract: Any) -> bool:
        if code in FARM_DOWN or code in FARM_UP:
            for stream in self._streams:
                stream.subscription.degrade(stream.market_id, text if code in FARM_DOWN else None)
            return False  # quote streams hear it too
        if code not in _STREAM_ERRORS:
            return False
        owned = False
        for stream in self._streams:
            bars = stream.ib_bars
            if bars is not None and (bars.reqId == req_id or (
                req_id == -1 and getattr(contract, "conId", 0) == stream.contract.conId
            )):  # fmt: skip
                stream.subscription.fail(stream.market_id, f"IB error {code}: {text}")
                owned = True
        return owned
