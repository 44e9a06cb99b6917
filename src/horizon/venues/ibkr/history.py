"""History: bars, the first timestamp IB has, historical ticks; paced by IB's historical rules
before anything is sent, long ranges split into the requests IB allows, and never a hang.

ib_async's reqHistoricalDataAsync hands back an empty list when its own timeout passes or IB
answers an error (162 pacing, 200 no data, 366 no such request): a strategy warming up cannot
tell "no bars" from "refused". Here every request has a deadline (RequestTimeout, and the
request is cancelled at IB), and an error IB sent for it is raised typed (error 162:
HistoricalPacing; others VenueRejected).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Final, TypeVar

from ib_async import IB, Contract

from horizon.core.values import require_utc
from horizon.errors import HistoricalPacing, InvalidRequest, RequestTimeout, VenueRejected
from horizon.venues.ibkr.connection import Connection, utc_now
from horizon.venues.ibkr.historical_pacing import HistoricalPacer
from horizon.venues.ibkr.instruments import Instruments
from horizon.venues.ibkr.mapping.accounts import decimal_from_float
from horizon.venues.ibkr.mapping.bars import (
    BAR_SIZES,
    Bar,
    BarSize,
    WhatToShow,
    bar_from_ib,
    bar_seconds,
    chunks,
    duration_text,
)

log = logging.getLogger("horizon.venues.ibkr")

T = TypeVar("T")
_DURATION_RE: Final = re.compile(r"\s*([1-9][0-9]*)\s*([SDWMY])\s*")
_DAY: Final = 86_400
_DURATION_UNIT_S: Final = {"S": 1, "D": _DAY, "W": 7 * _DAY, "M": 31 * _DAY, "Y": 365 * _DAY}
# IB errors that end a historical request (TWS API message codes)
HISTORICAL_PACING_ERROR: Final = 162
_REQUEST_ERRORS: Final = frozenset({162, 165, 200, 320, 321, 354, 366, 10187, 10189})
_TICK_KINDS: Final = {"trades": "TRADES", "bid_ask": "BID_ASK", "midpoint": "MIDPOINT"}


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoricalTick:
    """One historical tick: a trade (price, size), a quote (bid, ask, sizes) or a midpoint."""

    market_id: str
    time: datetime
    price: Decimal | None = None
    size: Decimal | None = None
    bid: Decimal | None = None
    ask: Decimal | None = None
    bid_size: Decimal | None = None
    ask_size: Decimal | None = None
    exchange: str | None = None


def parse_duration(value: timedelta | str) -> int:
    """Seconds of a duration given as a timedelta or in IB's form ("30 D", "1 Y")."""
    if isinstance(value, timedelta):
        seconds = int(value.total_seconds())
    elif isinstance(value, str) and (match := _DURATION_RE.fullmatch(value.upper())):
        seconds = int(match.group(1)) * _DURATION_UNIT_S[match.group(2)]
    else:
        raise InvalidRequest(
            "duration", f"{value!r}: give a timedelta or IB's 'N S|D|W|M|Y' (e.g. '1 Y')"
        )
    if seconds <= 0:
        raise InvalidRequest("duration", f"must be positive, got {value!r}")
    return seconds


def _choice(field: str, enum: Any, value: object) -> Any:
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(repr(m.value) for m in enum)
        raise InvalidRequest(field, f"{value!r} is not one of {allowed}") from None


class History:
    """The historical data of one venue."""

    def __init__(self, connection: Connection, instruments: Instruments) -> None:
        self._connection = connection
        self._instruments = instruments
        self.pacer = HistoricalPacer()
        self.waited_s = 0.0  # time spent waiting on the historical pacing rules
        self.requests = 0
        # conId -> IB errors seen for it while a request of ours is out (ib_async ends the
        # request empty; the error is how we know why)
        self._errors: dict[int, list[tuple[int, str]]] = {}
        self._in_flight: Counter[int] = Counter()
        connection.add_error_handler(self._on_error)

    def _on_error(self, req_id: int, code: int, text: str, contract: object) -> bool:
        con_id = getattr(contract, "conId", 0)
        if code in _REQUEST_ERRORS and con_id in self._errors:
            self._errors[con_id].append((code, text))
            return True
        return False

    async def bars(
        self,
        market_id: str,
        duration: timedelta | str,
        bar_size: BarSize | str,
        *,
        what: WhatToShow | str = WhatToShow.TRADES,
        rth: bool = True,
        end: datetime | None = None,
    ) -> list[Bar]:
        """Bars covering `duration` up to `end` (now when None), oldest first, each once.

        "Now" is the gateway's, never this host's clock: a request up to now asks IB for
        now (""), and the chunks before it are anchored at the bars IB sent, as IB pages.
        """
        size = _choice("bar_size", BarSize, bar_size)
        show = _choice("what", WhatToShow, what)
        seconds = parse_duration(duration)
        anchor = None if end is None else require_utc("end", end)
        contract = await self._instruments.qualify(market_id)
        key = self._instruments.market_id_for(contract)
        zone = self._instruments.time_zone(contract.conId)
        step = timedelta(seconds=bar_seconds(size))
        longest = BAR_SIZES[size][1]
        weight = 2 if show is WhatToShow.BID_ASK else 1
        found: dict[datetime, Bar] = {}

        async def request(ib_end: datetime | str, span: int) -> list[datetime]:
            """One chunk into `found`; the starts of the bars it held."""
            dur = duration_text(span, size)
            raw = await self._paced(
                contract, (key, size, show, rth, ib_end, span), weight,
                lambda ib: ib.reqHistoricalDataAsync(
                    contract, ib_end, dur, size.value, show.ib, rth, formatDate=2, timeout=0
                ),
                f"{size.value} bars of {key}",
            )  # fmt: skip
            starts = []
            for item in raw:
                bar = bar_from_ib(item, market_id=key, time_zone=zone)
                found.setdefault(bar.start, bar)
                starts.append(bar.start)
            return starts

        if anchor is None:
            first = min(longest, seconds)
            starts = await request("", first)
            # the gateway's now: the end of the newest bar it sent
            anchor = max(starts) + step if starts else utc_now()
            older = anchor - timedelta(seconds=first)
        else:
            older = anchor
        start = anchor - timedelta(seconds=seconds)
        if older > start:
            for chunk_end, span in chunks(start, older, size):
                await request(chunk_end, span)
        return [b for t, b in sorted(found.items()) if t + step > start and t < anchor]

    async def head_timestamp(
        self, market_id: str, *, what: WhatToShow | str = WhatToShow.TRADES, rth: bool = True
    ) -> datetime:
        """The earliest time IB has data of this kind for `market_id` (UTC)."""
        show = _choice("what", WhatToShow, what)
        contract = await self._instruments.qualify(market_id)
        key = self._instruments.market_id_for(contract)
        when = await self._paced(
            contract, ("head", key, show, rth), 1,
            lambda ib: ib.reqHeadTimeStampAsync(contract, show.ib, rth, 2),
            f"head timestamp of {key}",
        )  # fmt: skip
        if not isinstance(when, datetime):
            raise VenueRejected(0, f"no head timestamp for {key}")
        return when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)

    async def ticks(
        self,
        market_id: str,
        start: datetime,
        *,
        end: datetime | None = None,
        what: str = "trades",
        rth: bool = True,
        count: int = 1000,
    ) -> list[HistoricalTick]:
        """Up to `count` (at most 1000, IB's page) historical ticks from `start`."""
        kind = _TICK_KINDS.get(what)
        if kind is None:
            raise InvalidRequest("what", f"{what!r} is not one of {', '.join(_TICK_KINDS)}")
        if not 0 < count <= 1000:
            raise InvalidRequest("count", f"must be 1..1000 (IB's page), got {count}")
        begin = require_utc("start", start)
        finish = None if end is None else require_utc("end", end)
        contract = await self._instruments.qualify(market_id)
        key = self._instruments.market_id_for(contract)
        weight = 2 if kind == "BID_ASK" else 1
        raw = await self._paced(
            contract, ("ticks", key, kind, begin, finish, rth, count), weight,
            lambda ib: ib.reqHistoricalTicksAsync(
                contract, begin, finish or "", count, kind, rth
            ),
            f"historical ticks of {key}",
        )  # fmt: skip
        return [_tick(t, key) for t in raw or []]

    async def _paced(
        self,
        contract: Contract,
        key: object,
        weight: int,
        request: Callable[[IB], Awaitable[T]],
        what: str,
    ) -> T:
        """One historical request: waits (or refuses) for the pacing rules, a deadline, IB's
        error for it raised typed."""
        cfg = self._connection.config
        rule_key = (contract.conId, contract.exchange, key)
        while (wait := self.pacer.delay(rule_key, contract.conId, weight, time.monotonic())) > 0:
            if cfg.history_pacing == "refuse":
                raise HistoricalPacing(
                    "venue", f"{what} may go in {wait:.1f} s (IB's historical rules)", wait_s=wait
                )
            log.info("historical request waits for IB's pacing rules", extra={
                "what": what, "wait_s": round(wait, 3), "request": repr(key),
            })  # fmt: skip
            self.waited_s += wait
            await asyncio.sleep(wait)
        ib = await self._connection.ready()
        await self._connection.bucket.acquire_async()
        self.pacer.record(rule_key, contract.conId, weight, time.monotonic())
        self.requests += 1
        con_id = contract.conId
        errors = self._errors.setdefault(con_id, [])
        mark = len(errors)
        self._in_flight[con_id] += 1
        try:
            result = await asyncio.wait_for(request(ib), cfg.history_timeout)
        except TimeoutError as exc:
            raise RequestTimeout(what, cfg.history_timeout) from exc
        except ConnectionError as exc:
            raise RequestTimeout(f"{what} (the connection dropped)", cfg.history_timeout) from exc
        finally:
            seen = errors[mark:]
            self._in_flight[con_id] -= 1
            if not self._in_flight[con_id]:
                del self._in_flight[con_id]
                self._errors.pop(con_id, None)
        if seen and not result:
            code, text = seen[-1]
            if code == HISTORICAL_PACING_ERROR:
                raise HistoricalPacing("ib", f"{what}: IB error 162: {text}")
            raise VenueRejected(code, f"{what}: {text}")
        return result


def _tick(raw: Any, market_id: str) -> HistoricalTick:
    when = raw.time if raw.time.tzinfo else raw.time.replace(tzinfo=UTC)
    if hasattr(raw, "priceBid"):  # HistoricalTickBidAsk
        return HistoricalTick(
            market_id=market_id, time=when.astimezone(UTC),
            bid=decimal_from_float(raw.priceBid), ask=decimal_from_float(raw.priceAsk),
            bid_size=decimal_from_float(float(raw.sizeBid)),
            ask_size=decimal_from_float(float(raw.sizeAsk)),
        )  # fmt: skip
    return HistoricalTick(
        market_id=market_id, time=when.astimezone(UTC),
        price=decimal_from_float(raw.price), size=decimal_from_float(float(raw.size)),
        exchange=getattr(raw, "exchange", None) or None,
    )  # fmt: skip
