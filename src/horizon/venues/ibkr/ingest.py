"""Gateway events -> the venue's state: errors, order statuses, executions, commissions.

Also the reconciliation run after every (re)connect, which brings each order record to the
gateway's truth, and the waiter plumbing (`_wait` / `_notify`) that lets callers await a
state change instead of polling.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

from ib_async import CommissionReport, Contract, Execution, Trade

from horizon.core.enums import OrderStatus
from horizon.errors import HorizonError, JournalError, RequestTimeout
from horizon.venues.ibkr.mapping.accounts import decimal_from_float
from horizon.venues.ibkr.mapping.fills import (
    ExecutionRecord,
    exec_base,
    liquidity_from_ib,
    parse_exec_time,
    side_from_exec,
)
from horizon.venues.ibkr.mapping.status import ErrorKind, classify_error
from horizon.venues.ibkr.mapping.symbology import market_id_of
from horizon.venues.ibkr.order_record import (
    FINISHED_UNSEEN,
    LOST_BEFORE_ACK,
    REFUSED_BY_PACING,
    OrderRecord,
)
from horizon.venues.ibkr.resilience import ConnectionEvent, ConnectionState
from horizon.venues.ibkr.state import UNSET_DOUBLE, VenueState, ib_decimal, log, utc_now

# errors after which the order is still live at IB (a refused cancel or modify, a warning)
_ORDER_STAYS_LIVE = frozenset(
    {ErrorKind.CANCEL_REJECTED, ErrorKind.AMEND_REJECTED, ErrorKind.WARNING, ErrorKind.INFO}
)


def _concluded_locally(trade: Trade) -> bool:
    """True when ib_async itself wrote this status, not the gateway.

    ib_async marks a trade Cancelled for *any* non-warning error on its order id, including a
    refused cancel (161, 10147) or modify, after which the order is in fact still live (or
    filled) at IB. Such an update carries the error code in its log entry; the gateway's own
    orderStatus messages carry none. The error itself reaches `_on_order_error`.
    """
    if trade.orderStatus.status in ("Cancelled", "ApiCancelled") and trade.log:
        code = trade.log[-1].errorCode
        return bool(code) and classify_error(code) in _ORDER_STAYS_LIVE
    return False


@functools.lru_cache(maxsize=4096)
def _exec_time(raw: str, gateway_tz: str | None) -> datetime:
    """parse_exec_time, cached: a busy second's fills share their timestamp text."""
    return parse_exec_time(raw, gateway_tz=gateway_tz)


def _expire(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_exception(TimeoutError())


def _apply_trade(record: OrderRecord, trade: Trade) -> bool:
    """Bring a record to what ib_async's trade says; True if anything changed.

    A trade rebuilt from a completedOrder (an order that finished while we were away) has
    no fill counts in its orderStatus, so a Filled order's filled quantity is its total.
    """
    order, st = trade.order, trade.orderStatus
    raw = (st.status, st.filled, st.remaining, st.avgFillPrice, order.permId or st.permId)
    if raw == record.last_raw:
        return False  # openOrder and orderStatus often repeat each other: skip the Decimal work
    record.last_raw = raw
    filled = ib_decimal(st.filled)
    remaining = ib_decimal(st.remaining)
    done_qty = float(order.filledQuantity)
    if not st.filled and done_qty and done_qty < UNSET_DOUBLE:
        # a completedOrder carries its fills here, not in an orderStatus
        filled = ib_decimal(done_qty)
        remaining = max(ib_decimal(order.totalQuantity) - filled, Decimal(0))
    if st.status == "Filled":
        filled = max(filled, ib_decimal(order.totalQuantity))
        remaining = Decimal(0)
    return record.apply_status(
        ib_status=st.status,
        filled=filled,
        remaining=remaining,
        avg_fill_price=decimal_from_float(st.avgFillPrice),
        perm_id=order.permId or st.permId,
        at=utc_now(),
    )


class GatewayEvents(VenueState):
    """ib_async callbacks and reconciliation; no public API."""

    def _emit(self, state: ConnectionState, detail: str = "", attempt: int = 0) -> None:
        event = ConnectionEvent(state=state, at=utc_now(), detail=detail, attempt=attempt)
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("connection listener failed", extra={"state": state.value})

    def _on_error(self, req_id: int, code: int, text: str, contract: object) -> None:
        kind = classify_error(code)
        fields = {"req_id": req_id, "code": code, "client_id": self._client_id, "kind": kind.value}
        record = self._orders.get(req_id)
        if kind is ErrorKind.INFO:
            log.info("IB notice %s: %s", code, text, extra=fields)
        elif kind is ErrorKind.PACING:
            self.pacing_errors += 1
            self._last_pacing_error = time.monotonic()
            log.error("IB pacing violation (error 100): %s", text, extra=fields)
            if self._loop is not None and not self._pacing_recovery:
                self._pacing_recovery = True
                self._loop.create_task(self._recover_refused())
        elif kind is ErrorKind.CONNECTIVITY_LOST:
            log.warning("IB connectivity lost (1100)", extra=fields)
            self._emit(ConnectionState.DEGRADED, text)
        elif kind is ErrorKind.CONNECTIVITY_RESTORED:
            log.warning("IB connectivity restored (%s)", code, extra=fields)
            self._emit(ConnectionState.RESTORED, text)
            if self._loop is not None:
                self._loop.create_task(self._resync())
        elif kind is ErrorKind.CLIENT_ID_IN_USE:
            log.debug("IB error 326: %s", text, extra=fields)  # connect() says it, once
        elif record is not None:
            self._on_order_error(record, code, kind, text)
        elif kind is ErrorKind.UNKNOWN_CONTRACT:
            # the request that asked raises UnknownInstrument: the caller is told already
            log.info("IB has no security definition (%s): %s", code, text, extra=fields)
        elif kind in (ErrorKind.WARNING, ErrorKind.NO_MARKET_DATA, ErrorKind.DELAYED_DATA):
            log.warning("IB warning %s: %s", code, text, extra=fields)
        else:
            log.error("IB error %s: %s", code, text, extra=fields)

    def _on_order_error(self, record: OrderRecord, code: int, kind: ErrorKind, text: str) -> None:
        record.error_codes.append(code)
        fields = {"order_id": record.order_id, "code": code, "client_id": self._client_id}
        now = utc_now()
        if record.status.is_terminal:
            # e.g. 103/104 for a modify that crossed the fill or the cancel: the gateway's
            # own final report stands; a later error never overrides it. An Inactive status
            # comes before the error that says why: that error is the rejection's reason.
            if record.status is OrderStatus.REJECTED and record.reason is None:
                record.reason = f"IB error {code}: {text}"
                log.warning("order rejected: %s", text, extra=fields)
            elif kind is ErrorKind.ORDER_CANCELLED and record.status is OrderStatus.CANCELED:
                log.info("order cancelled: %s", text, extra=fields)  # 202 confirms it
            else:
                log.warning(
                    "message for a %s order %s: %s", record.status.value, code, text, extra=fields
                )
            self._notify()
            return
        elif kind in (ErrorKind.ORDER_REJECTED, ErrorKind.UNKNOWN_CONTRACT) or (
            not record.acknowledged
            and kind is not ErrorKind.ORDER_CANCELLED
            and (kind not in _ORDER_STAYS_LIVE or code == 110)
        ):
            record.reject(f"IB error {code}: {text}", now)
            log.warning("order rejected: %s", text, extra=fields)
        elif kind is ErrorKind.ORDER_CANCELLED:
            record.reason = record.reason or text
            log.info("order cancelled: %s", text, extra=fields)
        elif kind in _ORDER_STAYS_LIVE:
            # the order lives on at IB whatever ib_async concluded locally
            record.reason = f"IB {code}: {text}"
            log.warning("order message %s: %s", code, text, extra=fields)
        else:
            record.reason = f"IB {code}: {text}"
            log.error("order error %s: %s", code, text, extra=fields)
        self._notify()

    def _on_trade_update(self, trade: Trade) -> None:
        order, st = trade.order, trade.orderStatus
        if _concluded_locally(trade):
            return
        if order.clientId not in (self._client_id, 0) and self._client_id != 0:
            return
        record = self._orders.get(order.orderId)
        if record is None and order.permId:
            record = self._record_by_perm(order.permId)
        if record is None:
            return
        if _apply_trade(record, trade):
            if record.perm_id:
                self._by_perm[record.perm_id] = record
            if log.isEnabledFor(logging.DEBUG):
                log.debug(
                    "order status",
                    extra={
                        "order_id": record.order_id,
                        "status": record.status.value,
                        "ib_status": st.status,
                        "filled": str(record.filled),
                    },
                )
            self._notify()

    def _record_by_perm(self, perm_id: int) -> OrderRecord | None:
        return self._by_perm.get(perm_id)

    def _on_execution(
        self, req_id: int, live: bool, contract: Contract, execution: Execution, raw_time: str
    ) -> None:
        if self._client_id not in (0, execution.clientId):
            return  # another process's fill (replays cover every client); client 0 sees all
        if not live and self._replaying_history:
            # the day's executions from before this process existed: history, not new fills
            self._fills.mark_drained([execution.execId])
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
            market_id=self._market_id_for(contract),
            side=side_from_exec(execution.side),
            quantity=ib_decimal(execution.shares),
            price=ib_decimal(execution.price),
            time=when,
            exchange=execution.exchange,
            liquidity=liquidity_from_ib(execution.lastLiquidity),
            order_ref=execution.orderRef or "",
        )
        self._note_order_execution(record)
        if self._fills.add_execution(record, time.monotonic()):
            self._journal_capture(record)
            self._fills_changed()
            log.debug("fill captured", extra={"exec_id": record.exec_id, "live": live})
        elif live or log.isEnabledFor(logging.DEBUG):
            # a live duplicate is news; the day's replay after every reconnect is routine
            log.log(
                logging.INFO if live else logging.DEBUG,
                "duplicate execution dropped",
                extra={
                    "exec_id": record.exec_id,
                    "order_id": record.order_id,
                    "client_id": self._client_id,
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
        if self._fills.seen(exec_id):
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
            self._fills.mark_drained([exec_id])
            return True
        return False

    def _note_order_execution(self, rec: ExecutionRecord) -> None:
        """Count the execution on its order's record (found by order id, else perm id)."""
        record = self._orders.get(rec.order_id) if rec.client_id == self._client_id else None
        if record is None and rec.perm_id:
            record = self._by_perm.get(rec.perm_id)
        if record is None:
            return
        if record.note_execution(exec_base(rec.exec_id), rec.quantity, rec.perm_id):
            if record.perm_id:
                self._by_perm[record.perm_id] = record
            self._notify()

    def _journal_capture(self, rec: ExecutionRecord) -> None:
        """Journal a captured fill; if that fails the fill is held back (drain_fills retries
        the write and hands it out only once the journal has it)."""
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
        fee = ib_decimal(report.commission)
        if not self._fills.add_commission(report.execId, fee, report.currency, time.monotonic()):
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
        self._fills_changed()

    def _fills_changed(self) -> None:
        self._fills_version += 1
        self._notify()

    def _market_id_for(self, contract: Contract) -> str:
        known = self._market_ids.get(contract.conId)
        if known is not None:
            return known
        market_id = market_id_of(contract)
        if contract.conId:
            self._market_ids[contract.conId] = market_id
        return market_id

    def _notify(self) -> None:
        still = []
        for predicate, fut in self._waiters:
            if fut.done():
                continue
            if predicate():
                fut.set_result(None)
            else:
                still.append((predicate, fut))
        self._waiters = still

    async def _wait(self, predicate: Callable[[], bool], timeout: float, what: str) -> None:
        if predicate():
            return
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        self._waiters.append((predicate, fut))
        # a plain timer rather than asyncio.wait_for: this sits on the submit -> ack path
        timer = loop.call_later(timeout, _expire, fut)
        try:
            await fut
        except TimeoutError:
            raise RequestTimeout(what, timeout) from None
        finally:
            timer.cancel()

    # ------------------------------------------------------------------ reconciliation
    def _reconcile_orders(self) -> None:
        """After a (re)connect, bring every non-final order record to the gateway's truth.

        An order is found among the open orders by its order id, among the day's completed
        orders by its perm id (known from its acknowledgement or, when that was lost in the
        drop, from its executions) or by its client order id (orderRef) when that is unique.
        An order found nowhere is judged by what it left: executions covering its quantity
        make it FILLED; an order the gateway never acknowledged is REJECTED (lost before the
        gateway saw it); one it did acknowledge, and that is no longer open, finished while
        we were away (CANCELED, or FILLED if its executions say so).
        """
        assert self._ib is not None
        trades = self._ib.trades()
        mine = [t for t in trades if self._client_id in (0, t.order.clientId)]
        by_id = {t.order.orderId: t for t in mine if t.order.orderId}
        by_perm = {t.order.permId: t for t in trades if t.order.permId}
        refs: dict[str, list[Trade]] = {}
        for t in trades:
            if t.order.orderRef and not t.order.orderId:
                refs.setdefault(t.order.orderRef, []).append(t)
        now = utc_now()
        for record in self._orders.values():
            if record.status.is_terminal:
                continue
            ref = record.ib_order.orderRef
            trade = (
                by_id.get(record.order_id)
                or (by_perm.get(record.perm_id) if record.perm_id else None)
                or (refs[ref][0] if ref and len(refs.get(ref, ())) == 1 else None)
            )
            if trade is not None:
                _apply_trade(record, trade)
                if record.perm_id:
                    self._by_perm[record.perm_id] = record
                continue
            total = ib_decimal(record.ib_order.totalQuantity)
            if record.executions and record.executed >= total > 0:
                record.conclude("Filled", record.executed, now)
            elif not record.acknowledged and not record.executions:
                record.reject(LOST_BEFORE_ACK, now)
                log.error(
                    "order lost before the gateway acknowledged it",
                    extra={"order_id": record.order_id, "client_id": self._client_id},
                )
            elif self._orders_synced:
                record.conclude("Cancelled", record.executed, now, reason=FINISHED_UNSEEN)
                log.warning(
                    "order finished at the gateway while disconnected",
                    extra={
                        "order_id": record.order_id,
                        "filled": str(record.filled),
                        "client_id": self._client_id,
                    },
                )
        self._adopt_open_orders(self._ib.openTrades())
        self._notify()

    def _adopt_open_orders(self, trades: list[Trade]) -> None:
        """Open orders of this client id that this process did not place (a previous run of
        it, before a crash or restart): tracked too, so open_orders(), cancel() and amend()
        see them."""
        for trade in trades:
            order = trade.order
            mine = self._client_id in (0, order.clientId)
            if not mine or not order.orderId or order.orderId in self._orders:
                continue
            record = OrderRecord(
                order_id=order.orderId,
                market_id=self._market_id_for(trade.contract),
                action=None,
                ib_order=order,
                contract=trade.contract,
                account=order.account,
            )
            _apply_trade(record, trade)
            self._orders[record.order_id] = record
            if record.perm_id:
                self._by_perm[record.perm_id] = record
            log.info(
                "open order adopted from the gateway",
                extra={"order_id": record.order_id, "client_id": self._client_id},
            )

    async def _recover_refused(self) -> None:
        """After error 100: find the orders the gateway dropped instead of leaving them pending.

        Error 100 names no request. The gateway answers in order, so once a reqOpenOrders sent
        *after* the refusals is answered, every earlier order it accepted has been
        acknowledged; an earlier order still unacknowledged was dropped: REJECTED. The probe
        waits for a quiet second first (else it is refused too) and is retried if it was.
        """
        try:
            for _ in range(5):
                # a debounce: sleep until one full second has passed without a refusal
                while (quiet := time.monotonic() - self._last_pacing_error) < 1.0:  # noqa: ASYNC110
                    await asyncio.sleep(1.0 - quiet)
                suspects = [r for r in self._orders.values() if not r.acknowledged]
                ib = await self._ready()
                await self._bucket.acquire_async()
                try:
                    await asyncio.wait_for(ib.reqOpenOrdersAsync(), 2.0)
                except TimeoutError:
                    continue  # the probe itself was refused: wait for quiet again
                now = utc_now()
                for record in suspects:
                    if not record.acknowledged and not record.status.is_terminal:
                        record.reject(REFUSED_BY_PACING, now)
                        log.error(
                            "order refused by the gateway's pacing (error 100)",
                            extra={"order_id": record.order_id, "client_id": self._client_id},
                        )
                self._notify()
                return
            log.warning("could not confirm orders after error 100", extra={"attempts": 5})
        except (HorizonError, ConnectionError) as exc:
            log.warning("recovery after error 100 failed", extra={"error": str(exc)})
        finally:
            self._pacing_recovery = False

    async def _resync(self) -> None:
        """After 1101/1102: re-request open orders and executions on the live socket."""
        try:
            ib = await self._ready()
            await self._bucket.acquire_async()
            await asyncio.wait_for(ib.reqOpenOrdersAsync(), self._config.request_timeout)
            await self._bucket.acquire_async()
            await asyncio.wait_for(ib.reqExecutionsAsync(), self._config.request_timeout)
            self._reconcile_orders()
        except (HorizonError, TimeoutError, ConnectionError) as exc:
            log.warning("resync after connectivity restore failed", extra={"error": str(exc)})
