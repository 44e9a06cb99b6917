"""FillCapture: every execution the gateway reports becomes a fill, handed out exactly once.

It taps ib_async one level below its events (ib_async raises no fill event for executions
fetched at connect, drops a commission report that comes before its execution or whose trade
it does not know, and reads `YYYYMMDD-HH:MM:SS` times in the host's zone, ib_async #230):

- the decoder's execDetails handler (msg 11) is wrapped to keep the raw time text per execId;
- the wrapper's `execDetails` and `commissionReport` are wrapped (instance attributes) so the
  venue sees each call before ib_async's own bookkeeping, which then runs unchanged.

What it captures goes through the `FillBook` (dedup, commission join, corrections, bounded
memory) and, with a journal, is written down before it can be handed out. After every
(re)connect it asks for the day's executions itself, once the journal is loaded, so the
journal decides what is new.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final

from ib_async import IB, CommissionReport, Contract, Execution

from horizon.core.types import VenueFill
from horizon.errors import JournalError, RequestTimeout
from horizon.venues.ibkr.changes import Changes
from horizon.venues.ibkr.config import IbkrConfig
from horizon.venues.ibkr.connection import Connection
from horizon.venues.ibkr.instruments import Instruments
from horizon.venues.ibkr.journal import FillJournal
from horizon.venues.ibkr.mapping.accounts import UNSET_DOUBLE, ib_decimal
from horizon.venues.ibkr.mapping.fills import (
    ExecutionRecord,
    FillBook,
    liquidity_from_ib,
    parse_exec_time,
    side_from_exec,
)

log = logging.getLogger("horizon.venues.ibkr")

EXEC_DETAILS_MSG: Final = 11
_EXEC_ID_FIELD: Final = 14
_TIME_FIELD: Final = 15

ExecutionTap = Callable[[int, bool, Contract, Execution, str], None]
CommissionTap = Callable[[CommissionReport], None]


def install_taps(ib: IB, on_execution: ExecutionTap, on_commission: CommissionTap) -> None:
    """Route every execDetails / commissionReport through the venue first. Idempotent."""
    decoder = ib.client.decoder
    wrapper = ib.wrapper
    if getattr(wrapper, "_horizon_tapped", False):
        return
    raw_times: dict[str, str] = {}

    original_handler = decoder.handlers[EXEC_DETAILS_MSG]

    def exec_details_handler(fields: list[str]) -> None:
        if len(fields) > _TIME_FIELD:
            raw_times[fields[_EXEC_ID_FIELD]] = fields[_TIME_FIELD]
        original_handler(fields)

    decoder.handlers[EXEC_DETAILS_MSG] = exec_details_handler

    original_exec: Callable[..., Any] = wrapper.execDetails
    original_commission: Callable[..., Any] = wrapper.commissionReport

    def exec_details(req_id: int, contract: Contract, execution: Execution) -> None:
        # ib_async's own rule: a reply to a pending request is a replay, anything else is live
        live = req_id not in wrapper._futures
        raw = raw_times.pop(execution.execId, "")
        on_execution(req_id, live, contract, execution, raw)
        original_exec(req_id, contract, execution)

    def commission_report(report: CommissionReport) -> None:
        on_commission(report)
        original_commission(report)

    wrapper.execDetails = exec_details  # type: ignore[method-assign,assignment]
    wrapper.commissionReport = commission_report  # type: ignore[method-assign,assignment]
    wrapper._horizon_tapped = True  # type: ignore[attr-defined]


@functools.lru_cache(maxsize=4096)
def _exec_time(raw: str, gateway_tz: str | None) -> datetime:
    """parse_exec_time, cached: a busy second's fills share their timestamp text."""
    return parse_exec_time(raw, gateway_tz=gateway_tz)


class FillCapture:
    """The fills of one venue: captured, deduplicated, journaled, handed out."""

    def __init__(
        self,
        config: IbkrConfig,
        connection: Connection,
        instruments: Instruments,
        changes: Changes,
        journal: FillJournal | None,
        *,
        on_execution: Callable[[ExecutionRecord], None],
        venue: str = "ibkr",
    ) -> None:
        self._config = config
        self._connection = connection
        self._instruments = instruments
        self._changes = changes
        self._journal = journal
        self._on_execution_record = on_execution
        self.book = FillBook(
            venue=venue, commission_grace=config.commission_grace, memory=config.dedup_memory
        )
        self._journal_loaded = False
        self._replaying_history = False  # the first connect's replay, without a journal
        self._first_replay = False
        # what the journal could not take yet: written with the next drain, before hand-out
        self._unjournaled: dict[str, ExecutionRecord] = {}
        self._unjournaled_fees: dict[str, tuple[str, Decimal, str]] = {}
        # for metrics: handed out, by account; fees handed out, by currency
        self.fills_out: Counter[str] = Counter()
        self.fees_out: dict[str, Decimal] = {}
        connection.add_ib_hook(self._hook)

    def _hook(self, ib: IB) -> None:
        install_taps(ib, self._on_execution, self._on_commission)

    # ------------------------------------------------------------------ session steps
    def _owner(self) -> str:
        rng = self._config.client_id_range
        who = f"clients {rng[0]}-{rng[1]}" if rng else f"client {self._connection.client_id}"
        accounts = ",".join(sorted(self._connection.accounts)) or "(no account)"
        return f"{who} of {accounts}"

    async def take_journal(self, ib: IB, first: bool) -> None:
        """Claim the journal for this venue (refusing another's) and, once per venue, take
        over what an earlier run left: undrained fills, owed fees."""
        journal = self._journal
        if journal is None:
            return
        journal.open()
        journal.claim(self._owner())
        if self._journal_loaded:
            return
        restored = journal.load(recent=self._config.dedup_memory)
        book = self.book
        book.mark_drained(restored.drained)
        for rec in restored.owed:
            book.restore_owed(rec)
        now = time.monotonic()
        for rec in restored.pending:
            book.add_execution(rec, now)
        for exec_id, (fee, currency) in restored.commissions.items():
            book.add_commission(exec_id, fee, currency, now)
        self._journal_loaded = True
        if restored.pending or restored.commissions:
            self._changes.notify()

    async def sync_executions(self, ib: IB, first: bool) -> None:
        """The day's executions, through the same dedup as live fills (after the orders, so
        each finds its order; after the journal is loaded, so it decides what is new)."""
        cfg = self._config
        self._replaying_history = (
            first and self._journal is None and not cfg.replay_fills_on_first_connect
        )
        self._first_replay = first
        try:
            await self._connection.startup_request(ib.reqExecutionsAsync(), "reqExecutions")
        finally:
            self._replaying_history = self._first_replay = False

    # ------------------------------------------------------------------ the taps
    def _on_execution(
        self, req_id: int, live: bool, contract: Contract, execution: Execution, raw_time: str
    ) -> None:
        client_id = self._connection.client_id
        # IB's own executions carry the Execution's liquidation flag (seen on real accounts
        # with clientId 0, orderId -1, reqId -1); the order id alone proves nothing: manual
        # TWS orders have ids <= 0 too
        liquidation = bool(execution.liquidation)
        if client_id not in (0, execution.clientId) and not liquidation:
            # another process's fill (replays cover every client); client 0 sees all. IB's own
            # executions (a forced liquidation: order id -1, client 0) belong to no client and
            # reach every one: a position closed by IB must never go unbooked
            return
        if not live and self._replaying_history:
            # the day's executions from before this process existed: history, not new fills
            self.book.mark_drained([execution.execId])
            return
        when = self._execution_time(execution, raw_time)
        if not live and self._journal is not None and self._journal_history(execution, when):
            return
        record = ExecutionRecord(
            exec_id=execution.execId,
            order_id=execution.orderId,
            perm_id=execution.permId,
            client_id=execution.clientId,
            account=execution.acctNumber,
            market_id=self._instruments.market_id_for(contract),
            side=side_from_exec(execution.side),
            quantity=ib_decimal(execution.shares),
            price=ib_decimal(execution.price),
            time=when,
            exchange=execution.exchange,
            liquidity=liquidity_from_ib(execution.lastLiquidity),
            order_ref=execution.orderRef or "",
            liquidation=liquidation,
        )
        self._on_execution_record(record)
        if contract.secType == "BAG":
            # a combo's own execution sums its legs' (ib_async's Trade.filled counts these
            # alone): it counts on the order; the legs' executions are the fills
            return
        if liquidation and live:
            log.warning(
                "IB liquidated a position on its own",
                extra={"exec_id": record.exec_id, "market_id": record.market_id,
                       "account": record.account, "quantity": str(record.quantity)},
            )  # fmt: skip
        if self.book.add_execution(record, time.monotonic()):
            self._journal_capture(record)
            self._changes.notify()
            if log.isEnabledFor(logging.DEBUG):
                log.debug("fill captured", extra={"exec_id": record.exec_id, "live": live})
        elif live or log.isEnabledFor(logging.DEBUG):
            # a live duplicate is news; the day's replay after every reconnect is routine
            log.log(
                logging.INFO if live else logging.DEBUG,
                "duplicate execution dropped",
                extra={
                    "exec_id": record.exec_id,
                    "order_id": record.order_id,
                    "client_id": client_id,
                    "live": live,
                },
            )

    def _execution_time(self, execution: Execution, raw_time: str) -> datetime:
        try:
            return _exec_time(raw_time, self._config.gateway_timezone)
        except ValueError:
            log.warning(
                "unparseable execution time; using ib_async's",
                extra={"exec_id": execution.execId, "raw_time": raw_time},
            )
            when = execution.time if execution.time.tzinfo else execution.time.replace(tzinfo=UTC)
            return when.astimezone(UTC)

    def _journal_history(self, execution: Execution, when: datetime) -> bool:
        """Whether a replayed execution is one the journal says is not new: handed out
        before (by this process or an earlier run), or older than the journal itself."""
        journal = self._journal
        assert journal is not None
        exec_id = execution.execId
        if self.book.seen(exec_id):
            return False  # the book decides (a duplicate, or a correction of a known fill)
        try:
            if journal.was_drained(exec_id):
                return True
        except JournalError as exc:
            log.error(
                "fill journal unreadable; deduplicating in memory only",
                extra={"exec_id": exec_id, "error": str(exc)},
            )
            return False
        if when < journal.created_at and not (
            self._first_replay and self._config.replay_fills_on_first_connect
        ):
            # from before the journal existed: history, as it is without a journal
            self.book.mark_drained([exec_id])
            return True
        return False

    def _journal_capture(self, rec: ExecutionRecord) -> None:
        """Journal a captured fill; if that fails the fill is held back (drain retries the
        write and hands it out only once the journal has it)."""
        if self._journal is None:
            return
        try:
            self._journal.captured([rec])
        except JournalError as exc:
            self._unjournaled[rec.exec_id] = rec
            log.error(
                "fill journal write failed; the fill is held until the journal takes it",
                extra={"exec_id": rec.exec_id, "error": str(exc)},
            )

    def _on_commission(self, report: CommissionReport) -> None:
        raw = float(report.commission)
        if not raw < UNSET_DOUBLE or raw == -1.0 or math.isnan(raw):
            # UNSET (max double) or -1: IB has not computed it yet (other negative amounts are
            # rebates, and real). A fee still pending is no fee: the fill waits its grace,
            # comes out fee=None, and the fee follows when IB reports it.
            log.debug("commission pending", extra={"exec_id": report.execId, "raw": raw})
            return
        fee = ib_decimal(raw)
        if not self.book.add_commission(report.execId, fee, report.currency, time.monotonic()):
            return
        if self._journal is not None:
            entry = (report.execId, fee, report.currency)
            try:
                self._journal.commission([entry])
            except JournalError as exc:
                self._unjournaled_fees[report.execId] = entry
                log.error(
                    "fill journal write failed; the fee is held until the journal takes it",
                    extra={"exec_id": report.execId, "error": str(exc)},
                )
        self._changes.notify()

    # ------------------------------------------------------------------ handing out
    def pending(self) -> int:
        return self.book.pending()

    def drain(self) -> list[VenueFill]:
        """Every fill captured since the last call, each exactly once, oldest first; with a
        journal, only once the journal has recorded them (else JournalError, and the next
        call offers them again)."""
        commit = self._journal_drained if self._journal is not None else None
        fills = self.book.drain(time.monotonic(), commit)
        for f in fills:
            if f.corrects is None:
                self.fills_out[f.account] += 1
            if f.fee is not None and f.fee_currency and f.corrects in (None, f.exec_id):
                self.fees_out[f.fee_currency] = self.fees_out.get(f.fee_currency, 0) + f.fee
        return fills

    def _journal_drained(self, fills: list[VenueFill]) -> None:
        journal = self._journal
        assert journal is not None
        journal.open()  # after close(): a last drain still records what it hands out
        journal.drained(
            fills,
            captured=list(self._unjournaled.values()),
            fees=list(self._unjournaled_fees.values()),
        )
        self._unjournaled.clear()
        self._unjournaled_fees.clear()

    async def wait(self, count: int, timeout: float) -> list[VenueFill]:
        """Wait until at least `count` fills are ready, then drain them (all that are ready).

        Nothing is drained on a timeout (RequestTimeout): every fill stays where the next
        drain finds it. Wakes on each captured execution or commission, and when a held
        fill's grace ends.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        changes = self._changes
        while True:
            now = time.monotonic()
            ready = self.book.ready(now)
            if ready >= count:
                return self.drain()
            left = deadline - loop.time()
            if left <= 0:
                raise RequestTimeout(f"{count} fill(s) (got {ready} ready)", timeout)
            seen = changes.version

            def changed(seen: int = seen) -> bool:
                return changes.version != seen

            grace_ends = self.book.next_ready_in(now)
            nap = left if grace_ends is None else min(left, grace_ends + 0.001)
            await changes.wait_quietly(changed, nap)
