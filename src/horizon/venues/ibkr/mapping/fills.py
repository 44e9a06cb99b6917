"""Executions + commission reports -> VenueFills, each handed out exactly once. Pure.

IB reports a fill as two messages, execDetails and commissionReport, usually milliseconds
apart, in either order; it re-sends executions (after a reconnect, on reqExecutions), and
corrects one by re-sending it under an exec id whose last '.'-part is a higher revision
(``0000e0d5.6554a7b1.01.01`` -> ``...01.02``). `FillBook` turns that stream into VenueFills:

* deduplicated by exec id (a re-sent execution is ignored);
* a fill is handed out once its commission is in, or after `commission_grace` seconds
  without one (``fee=None``), never later;
* a commission that arrives after its fill was handed out without a fee is handed out as a
  copy carrying the fee, with ``corrects=<that exec id>``;
* a correction replaces the original: dropped unseen if the original was not handed out
  yet, else handed out with ``corrects=<the exec id the host holds>``.

One rule for the host follows: a record with `corrects` set replaces the record it names.
The clock is injected (`now`, monotonic seconds) on every call, so tests never wait.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from decimal import Decimal
from types import MappingProxyType
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from horizon.core.enums import Liquidity, Side
from horizon.core.types import VenueFill

__all__ = [
    "ExecutionRecord",
    "FillBook",
    "exec_base",
    "exec_revision",
    "liquidity_from_ib",
    "parse_exec_time",
    "side_from_exec",
]

# ---------------------------------------------------------------------------------------------
# execution times

_ZONED: Final = re.compile(r"(\d{8}) (\d{2}:\d{2}:\d{2}) (\S+)")
_DASHED_UTC: Final = re.compile(r"(\d{8})-(\d{2}:\d{2}:\d{2})")
_NAIVE: Final = re.compile(r"(\d{8})  ?(\d{2}:\d{2}:\d{2})")

_UTC_NAMES: Final = frozenset({"UTC", "GMT", "Z", "ETC/UTC", "ETC/GMT"})
# Zone abbreviations TWS (a Java program) may write that the IANA database lacks. The
# region ones follow Java's ZoneId.SHORT_IDS, which agree with the US/Asian display names;
# the daylight ones are fixed offsets. Ambiguous ones (BST, IST, AST, NST, SST) are left out
# on purpose: an unknown zone raises, it is never guessed.
_ABBREVIATIONS: Final[MappingProxyType[str, str | tzinfo]] = MappingProxyType(
    {
        "CST": "America/Chicago",
        "PST": "America/Los_Angeles",
        "JST": "Asia/Tokyo",
        "HKT": "Asia/Hong_Kong",
        "CTT": "Asia/Shanghai",
        "ECT": "Europe/Paris",
        "AET": "Australia/Sydney",
        "EDT": timezone(timedelta(hours=-4), "EDT"),
        "CDT": timezone(timedelta(hours=-5), "CDT"),
        "MDT": timezone(timedelta(hours=-6), "MDT"),
        "PDT": timezone(timedelta(hours=-7), "PDT"),
        "CEST": timezone(timedelta(hours=2), "CEST"),
        "EEST": timezone(timedelta(hours=3), "EEST"),
    }
)


def _zone(name: str) -> tzinfo:
    if name.upper() in _UTC_NAMES:
        return UTC
    known = _ABBREVIATIONS.get(name.upper(), name)
    if isinstance(known, tzinfo):
        return known
    try:
        return ZoneInfo(known)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"unknown time zone {name!r}; IB should send a name like US/Eastern"
        ) from exc


def _local(day: str, clock: str, zone: tzinfo, raw: str) -> datetime:
    try:
        naive = datetime.strptime(f"{day} {clock}", "%Y%m%d %H:%M:%S")
    except ValueError as exc:
        raise ValueError(f"execution time {raw!r} is not a valid date and time") from exc
    return naive.replace(tzinfo=zone).astimezone(UTC)


def parse_exec_time(raw: str, *, gateway_tz: str | None) -> datetime:
    """The UTC instant of an IB execution time string, whatever the host's zone.

    * ``YYYYMMDD HH:MM:SS Zone/Name`` (single spaces): in that zone.
    * ``YYYYMMDD-HH:MM:SS``: UTC, as IB documents it. ib_async 2.1.0 parses this form as
      naive and then applies the *host's* local zone (ib_async issue #230), so the venue
      calls this function on the raw string instead.
    * ``YYYYMMDD  HH:MM:SS`` (legacy, two spaces; or one space and no zone): the gateway's
      local time, so `gateway_tz` must be given; without it this raises rather than guess.
    * all digits: epoch seconds (an 8-digit string is a date without a time: refused).

    Raises ValueError for anything else, naming the string.
    """
    s = raw.strip()
    if s.isdigit():
        if len(s) == 8:
            raise ValueError(f"execution time {raw!r} is a date without a time of day")
        try:
            return datetime.fromtimestamp(int(s), UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise ValueError(f"execution time {raw!r} is out of range") from exc
    if m := _DASHED_UTC.fullmatch(s):
        return _local(m[1], m[2], UTC, raw)
    if m := _ZONED.fullmatch(s):
        return _local(m[1], m[2], _zone(m[3]), raw)
    if m := _NAIVE.fullmatch(s):
        if gateway_tz is None:
            raise ValueError(
                f"execution time {raw!r} carries no zone; configure the gateway's time zone "
                "(e.g. 'US/Eastern') so it can be converted to UTC"
            )
        return _local(m[1], m[2], _zone(gateway_tz), raw)
    raise ValueError(f"execution time {raw!r} is not in a format IB sends")


# ---------------------------------------------------------------------------------------------
# small tables

_EXEC_SIDES: Final = MappingProxyType(
    {"BOT": Side.BUY, "SLD": Side.SELL, "BUY": Side.BUY, "SELL": Side.SELL}
)
_LIQUIDITY: Final = MappingProxyType(
    {1: Liquidity.ADDED, 2: Liquidity.REMOVED, 3: Liquidity.ROUTED}
)


def side_from_exec(side: str) -> Side:
    """Side of an IB execution: BOT -> buy, SLD -> sell (BUY/SELL accepted too)."""
    try:
        return _EXEC_SIDES[side.strip().upper()]
    except KeyError:
        raise ValueError(f"IB execution side {side!r} is not BOT or SLD") from None


def liquidity_from_ib(last_liquidity: int) -> Liquidity | None:
    """IB lastLiquidity: 1 added, 2 removed, 3 routed out; 0 (unset) or others -> None."""
    return _LIQUIDITY.get(last_liquidity)


def exec_base(exec_id: str) -> str:
    """An exec id without its revision: ``0000e0d5.6554a7b1.01.02`` -> ``0000e0d5.6554a7b1.01``.

    Executions with the same base are revisions of one fill. An id without '.' is its own base.
    """
    head, dot, _ = exec_id.rpartition(".")
    return head if dot else exec_id


def exec_revision(exec_id: str) -> str:
    """The part after the last '.' (``"02"``), or "" for an id without '.'."""
    _, dot, tail = exec_id.rpartition(".")
    return tail if dot else ""


def _revision_key(exec_id: str) -> tuple[int, str]:
    # Numeric order for decimal and hex revisions alike ("09" < "0a" < "10"): by significant
    # length, then by text ('0'-'9' sort before 'a'-'f').
    digits = exec_revision(exec_id).lower().lstrip("0")
    return (len(digits), digits)


# ---------------------------------------------------------------------------------------------
# records


@dataclass(frozen=True, slots=True, kw_only=True)
class ExecutionRecord:
    """One IB execution, already in Horizon's terms (Decimal, UTC, Side, market id)."""

    exec_id: str
    order_id: int
    perm_id: int
    client_id: int
    account: str
    market_id: str
    side: Side
    quantity: Decimal
    price: Decimal
    time: datetime
    exchange: str
    liquidity: Liquidity | None
    order_ref: str
    liquidation: bool = False  # IB executed it on its own (a forced liquidation)

    def __post_init__(self) -> None:
        if not self.exec_id:
            raise ValueError("an execution needs an exec_id")
        if self.time.tzinfo is not UTC:  # the parsed times are UTC already: no work then
            if self.time.tzinfo is None or self.time.utcoffset() is None:
                raise ValueError(f"execution {self.exec_id}: naive time {self.time.isoformat()}")
            object.__setattr__(self, "time", self.time.astimezone(UTC))
        if not isinstance(self.quantity, Decimal) or not self.quantity.is_finite():
            raise ValueError(f"execution {self.exec_id}: quantity must be a finite Decimal")
        if self.quantity <= 0:
            raise ValueError(f"execution {self.exec_id}: quantity {self.quantity} is not > 0")
        if not isinstance(self.price, Decimal) or not self.price.is_finite():
            raise ValueError(f"execution {self.exec_id}: price must be a finite Decimal")


@dataclass(slots=True)
class _Slot:
    """What the book knows about one exec base (one fill and its revisions)."""

    latest: str  # exec id of the highest revision seen
    rec: ExecutionRecord | None  # that revision (None: known only from mark_drained)
    arrived: float = 0.0  # `now` when `latest` arrived: the grace clock
    fee: Decimal | None = None  # commission of `latest`
    currency: str | None = None
    held: str | None = None  # exec id of the record the host holds for this base
    held_fee: bool = False  # the held record carried a fee


class FillBook:
    """Exactly-once fills from IB's at-least-once executions and commission reports.

    Memory: fills waiting to be handed out are kept until drained (at most
    `commission_grace` seconds once `drain` is called regularly). What is remembered after
    that, to recognise re-sent executions, late commissions and corrections, is capped at
    `memory` fills, as are commission reports waiting for their execution; the oldest go
    first. To keep a forgotten fill from being handed out again when IB re-sends the day's
    executions after a reconnect, the book remembers the newest execution time it forgot (and
    the fills forgotten at that very second): an unknown execution older than that is taken as
    one handed out long ago. A live fill is never older than fills already forgotten, so none
    is lost.
    """

    def __init__(
        self, *, venue: str = "ibkr", commission_grace: float = 2.0, memory: int = 100_000
    ) -> None:
        if commission_grace < 0:
            raise ValueError(f"commission_grace must be >= 0, got {commission_grace}")
        if memory < 1:
            raise ValueError(f"memory must be >= 1, got {memory}")
        self._venue = venue
        self._grace = commission_grace
        self._memory = memory
        self._pending: dict[str, _Slot] = {}  # base -> slot, in hand-out order
        self._settled: OrderedDict[str, _Slot] = OrderedDict()  # base -> slot, oldest first
        self._orphans: OrderedDict[str, tuple[Decimal, str]] = OrderedDict()  # exec id -> fee
        self._forgotten_until: datetime | None = None  # newest execution time forgotten
        self._forgotten_at: set[str] = set()  # bases forgotten at exactly that time

    # -- queries ---------------------------------------------------------------------------

    def pending(self) -> int:
        """How many records the next drains will hand out (now or after the grace period)."""
        return len(self._pending)

    def ready(self, now: float) -> int:
        """How many records `drain(now)` would hand out."""
        return sum(
            1
            for slot in self._pending.values()
            if slot.fee is not None or now - slot.arrived >= self._grace
        )

    def next_ready_in(self, now: float) -> float | None:
        """Seconds until the next held record's grace ends (None: nothing is held)."""
        waits = [
            self._grace - (now - slot.arrived)
            for slot in self._pending.values()
            if slot.fee is None and now - slot.arrived < self._grace
        ]
        return max(0.0, min(waits)) if waits else None

    def seen(self, exec_id: str) -> bool:
        """True if `add_execution` would ignore this exec id (known, or superseded)."""
        slot = self._slot(exec_base(exec_id))
        return slot is not None and _revision_key(exec_id) <= _revision_key(slot.latest)

    def tracked(self) -> int:
        """Entries held in memory: pending fills, remembered fills and orphan commissions."""
        return len(self._pending) + len(self._settled) + len(self._orphans)

    # -- input -----------------------------------------------------------------------------

    def add_execution(self, rec: ExecutionRecord, now: float) -> bool:
        """Record an execution; False if it is a duplicate or a superseded revision."""
        base = exec_base(rec.exec_id)
        slot = self._slot(base)
        if slot is None:
            horizon = self._forgotten_until
            if horizon is not None and (
                rec.time < horizon or (rec.time == horizon and base in self._forgotten_at)
            ):
                return False  # handed out long ago, and forgotten since
            slot = _Slot(latest=rec.exec_id, rec=rec, arrived=now)
        elif _revision_key(rec.exec_id) <= _revision_key(slot.latest):
            return False
        else:  # a correction: it replaces what we had, keeping what the host holds
            self._settled.pop(base, None)
            self._pending.pop(base, None)
            slot.latest, slot.rec, slot.arrived = rec.exec_id, rec, now
            slot.fee = slot.currency = None
        orphan = self._orphans.pop(rec.exec_id, None)
        if orphan is not None:
            slot.fee, slot.currency = orphan
        self._pending[base] = slot
        return True

    def add_commission(self, exec_id: str, fee: Decimal, currency: str, now: float) -> bool:
        """Record a commission report; False if it is a duplicate or cannot matter any more.

        Ignored: a second report for the same exec id, a report for a revision that has
        since been corrected, and a report for a fill that was handed out with its fee or is
        known only from `mark_drained`. A report whose execution is not in yet is held.
        """
        if not isinstance(fee, Decimal) or not fee.is_finite():
            raise ValueError(f"commission for {exec_id}: fee must be a finite Decimal")
        base = exec_base(exec_id)
        slot = self._slot(base)
        if slot is not None:
            key, latest = _revision_key(exec_id), _revision_key(slot.latest)
            if key < latest:
                return False  # for a superseded revision
            if key == latest:
                if slot.fee is not None:
                    return False  # duplicate
                if base in self._pending:
                    slot.fee, slot.currency = fee, currency
                    return True
                if slot.held_fee or slot.rec is None:
                    return False  # handed out with a fee already, or journal-only
                # handed out with fee=None: hand out a copy carrying the fee
                del self._settled[base]
                slot.fee, slot.currency = fee, currency
                self._pending[base] = slot
                return True
        if exec_id in self._orphans:
            return False
        self._orphans[exec_id] = (fee, currency)
        while len(self._orphans) > self._memory:
            self._orphans.popitem(last=False)
        return True

    def mark_drained(self, exec_ids: Iterable[str]) -> None:
        """Treat these exec ids as already handed out (seeded from a journal after a restart).

        A later replay of such an execution is a duplicate; a commission for it is ignored; a
        correction of it is handed out with ``corrects=<it>``. If the id is waiting to be
        handed out, it no longer will be.
        """
        for exec_id in exec_ids:
            base = exec_base(exec_id)
            slot = self._slot(base)
            if slot is not None and _revision_key(exec_id) < _revision_key(slot.latest):
                continue  # an older revision; the newer one decides
            if slot is not None and slot.latest == exec_id:
                self._pending.pop(base, None)
            else:
                slot = _Slot(latest=exec_id, rec=None)
                self._pending.pop(base, None)
            slot.held, slot.held_fee = exec_id, True
            self._orphans.pop(exec_id, None)
            self._settle(base, slot)

    def restore_owed(self, rec: ExecutionRecord) -> None:
        """A fill handed out (by an earlier run) with fee=None: its fee is still owed, so a
        commission report for it hands out a copy carrying the fee (``corrects=<it>``)."""
        base = exec_base(rec.exec_id)
        slot = self._slot(base)
        if slot is not None and _revision_key(rec.exec_id) < _revision_key(slot.latest):
            return  # corrected since; the correction decides
        slot = _Slot(latest=rec.exec_id, rec=rec, held=rec.exec_id, held_fee=False)
        self._pending.pop(base, None)
        self._settle(base, slot)
        orphan = self._orphans.pop(rec.exec_id, None)
        if orphan is not None:
            self.add_commission(rec.exec_id, orphan[0], orphan[1], 0.0)

    # -- output ----------------------------------------------------------------------------

    def drain(
        self, now: float, commit: Callable[[list[VenueFill]], None] | None = None
    ) -> list[VenueFill]:
        """Records ready at `now`, in arrival order, each handed out exactly once.

        Ready: the commission is in, or the record waited `commission_grace` seconds (then
        ``fee=None``). A record for a fill the host already holds carries ``corrects``.
        `commit` is called with the records before any is marked handed out; if it raises,
        none is, and the next drain offers them again (a journal write that failed).
        """
        ready = [
            (base, slot)
            for base, slot in self._pending.items()
            if slot.fee is not None or now - slot.arrived >= self._grace
        ]
        out = [self._venue_fill(slot) for _, slot in ready]
        if commit is not None and out:
            commit(out)
        for base, slot in ready:
            slot.held, slot.held_fee = slot.latest, slot.fee is not None
            del self._pending[base]
            self._settle(base, slot)
        return out

    # -- internals -------------------------------------------------------------------------

    def _slot(self, base: str) -> _Slot | None:
        slot = self._pending.get(base)
        return slot if slot is not None else self._settled.get(base)

    def _settle(self, base: str, slot: _Slot) -> None:
        self._settled[base] = slot
        self._settled.move_to_end(base)
        while len(self._settled) > self._memory:
            gone_base, gone = self._settled.popitem(last=False)
            if gone.rec is None:
                continue
            if self._forgotten_until is None or gone.rec.time > self._forgotten_until:
                self._forgotten_until = gone.rec.time
                self._forgotten_at = {gone_base}
            elif gone.rec.time == self._forgotten_until and len(self._forgotten_at) < self._memory:
                # bounded: past `memory` fills in one second a replay could repeat one (never
                # lose one); no client sees that many fills in a second
                self._forgotten_at.add(gone_base)

    def _venue_fill(self, slot: _Slot) -> VenueFill:
        rec = slot.rec
        if rec is None:  # journal-only slots are never pending
            raise AssertionError(f"no execution recorded for {slot.latest}")
        return VenueFill(
            venue=self._venue,
            order_id=str(rec.order_id),
            exec_id=rec.exec_id,
            market_id=rec.market_id,
            side=rec.side,
            quantity=rec.quantity,
            price=rec.price,
            fee=slot.fee,
            fee_currency=slot.currency if slot.fee is not None else None,
            account=rec.account,
            timestamp=rec.time,
            liquidity=rec.liquidity,
            corrects=slot.held,
            client_order_id=rec.order_ref or None,
            liquidation=rec.liquidation,
        )
