"""The simulated gateway's answers, one handler per request type (`_on_*`), plus the helpers
that (re)send subscription data: account values, account-multi rows, market-data ticks.

`RequestHandlers` is a mixin of `server.Gateway`, which owns the state it reads (engine, clock,
sessions, entitlements) and routes each admitted request here through its handler table.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Final

from horizon.venues.ibkr.simulator import messages as m
from horizon.venues.ibkr.simulator.engine import (
    ContractSpec,
    ExecFilter,
    OrderState,
    PositionRow,
)
from horizon.venues.ibkr.simulator.faults import OneShot
from horizon.venues.ibkr.simulator.mapping import (
    DELAYED,
    LAST_TIMESTAMP,
    LEDGER_KEYS,
    commission_report,
    completed_order,
    contract11,
    contract_data,
    contract_query,
    exec_details,
    open_order,
    order_request,
    order_status,
    portfolio_row,
    position_row,
    quote_ticks,
    summary_rows,
)
from horizon.venues.ibkr.simulator.session import MarketData, Session

if TYPE_CHECKING:
    from horizon.venues.ibkr.simulator.engine import Engine, Event
    from horizon.venues.ibkr.simulator.faults import FaultPlan
    from horizon.venues.ibkr.simulator.mapping import Clock

log = logging.getLogger(__name__)

NOT_SUBSCRIBED: Final = 354
TEXT_NOT_SUBSCRIBED: Final = "Requested market data is not subscribed."
DELAYED_SHOWN: Final = 10167
TEXT_DELAYED_SHOWN: Final = (
    "Requested market data is not subscribed. Displaying delayed market data."
)
DELAYED_DISABLED: Final = 10168
TEXT_DELAYED_DISABLED: Final = (
    "Requested market data is not subscribed. Delayed market data is not enabled."
)
NO_SECURITY: Final = 200
TEXT_NO_SECURITY: Final = "No security definition has been found for the request"


class RequestHandlers:
    """Request handlers of `server.Gateway`; the declarations below are what they use of it."""

    if TYPE_CHECKING:
        engine: Engine
        faults: FaultPlan
        realtime_data: bool | frozenset[str]
        delayed_data: bool
        _clock: Callable[[], float]
        _fmt: Clock
        _sessions: set[Session]

        def _dispatch(self, events: Sequence[Event]) -> None: ...

    def _on_current_time(self, s: Session, msg: m.ReqCurrentTime) -> None:
        s.send(m.CurrentTime(time=int(self._clock())))

    def _on_ids(self, s: Session, msg: m.ReqIds) -> None:
        s.send(m.NextValidId(order_id=self.engine.next_order_id_hint()))

    def _on_managed_accounts(self, s: Session, msg: m.ReqManagedAccts) -> None:
        s.send(m.ManagedAccounts(accounts=",".join(self.engine.accounts)))

    def _on_positions(self, s: Session, msg: m.ReqPositions) -> None:
        s.positions_sub = True
        for row in self.engine.positions():
            s.send(position_row(row))
        s.send(m.PositionEnd())

    def _on_cancel_positions(self, s: Session, msg: m.CancelPositions) -> None:
        s.positions_sub = False

    def _on_positions_multi(self, s: Session, msg: m.ReqPositionsMulti) -> None:
        for row in self._positions_of(msg.account):
            s.send(
                m.PositionMulti(
                    req_id=msg.req_id,
                    account=row.account,
                    contract=contract11(row.contract),
                    position=row.position,
                    avg_cost=row.avg_cost,
                    model_code=msg.model_code,
                )
            )
        s.send(m.PositionMultiEnd(req_id=msg.req_id))

    def _positions_of(self, account: str) -> list[PositionRow]:
        if account and account not in self.engine.accounts:
            return []
        return self.engine.positions(account or None)

    def _account_for(self, account: str) -> str | None:
        if account in self.engine.accounts:
            return account
        if not account and len(self.engine.accounts) == 1:
            return self.engine.accounts[0]
        return None

    def _on_account_updates(self, s: Session, msg: m.ReqAccountUpdates) -> None:
        account = self._account_for(msg.acct_code)
        if not msg.subscribe:
            s.account_sub = None
            return
        if account is None:
            log.warning(
                "account updates for an unknown account",
                extra={"client_id": s.client_id, "account": msg.acct_code},
            )
            return
        s.account_sub, s.account_sent = account, {}
        self._send_account_values(s, account)
        for row in self.engine.positions(account):
            s.send(portfolio_row(row))
        s.send(m.UpdateAccountTime(time_stamp=self._fmt.hhmm(self._clock())))
        s.send(m.AccountDownloadEnd(account=account))

    def _send_account_values(self, s: Session, account: str) -> None:
        for v in self.engine.account_values(account):
            key = (v.key, v.currency)
            if s.account_sent.get(key) != v.value:
                s.account_sent[key] = v.value
                s.send(
                    m.UpdateAccountValue(
                        key=v.key, value=v.value, currency=v.currency, account=v.account
                    )
                )

    def _on_account_updates_multi(self, s: Session, msg: m.ReqAccountUpdatesMulti) -> None:
        account = self._account_for(msg.account)
        if account is not None:
            s.multi_subs[msg.req_id] = (account, msg.ledger_and_nlv)
            s.multi_sent[msg.req_id] = {}
            self._send_multi(s, msg.req_id)
        s.send(m.AccountUpdateMultiEnd(req_id=msg.req_id))

    def _send_multi(self, s: Session, req_id: int) -> None:
        account, ledger_only = s.multi_subs[req_id]
        sent = s.multi_sent[req_id]
        for v in self.engine.account_values(account):
            if ledger_only and v.key not in LEDGER_KEYS and v.key != "NetLiquidation":
                continue
            key = (v.key, v.currency)
            if sent.get(key) != v.value:
                sent[key] = v.value
                s.send(
                    m.AccountUpdateMulti(
                        req_id=req_id,
                        account=account,
                        key=v.key,
                        value=v.value,
                        currency=v.currency,
                    )
                )

    def _on_cancel_account_updates_multi(
        self, s: Session, msg: m.CancelAccountUpdatesMulti
    ) -> None:
        s.multi_subs.pop(msg.req_id, None)
        s.multi_sent.pop(msg.req_id, None)

    def _on_account_summary(self, s: Session, msg: m.ReqAccountSummary) -> None:
        for account in self.engine.accounts:
            for tag, value, currency in summary_rows(self.engine.account_values(account), msg.tags):
                s.send(
                    m.AccountSummary(
                        req_id=msg.req_id, account=account, tag=tag, value=value, currency=currency
                    )
                )
        s.send(m.AccountSummaryEnd(req_id=msg.req_id))

    def _on_contract_details(self, s: Session, msg: m.ReqContractDetails) -> None:
        specs = self.engine.match_contracts(contract_query(msg.contract))
        if not specs:
            s.send_error(msg.req_id, NO_SECURITY, TEXT_NO_SECURITY)
            return
        now = self._clock()
        for spec in specs:
            s.send(contract_data(spec, msg.req_id, now))
        s.send(m.ContractDataEnd(req_id=msg.req_id))

    def _on_market_data_type(self, s: Session, msg: m.ReqMarketDataType) -> None:
        if 1 <= msg.market_data_type <= 4:
            s.md_type = msg.market_data_type

    def _has_realtime(self, spec: ContractSpec) -> bool:
        if isinstance(self.realtime_data, bool):
            return self.realtime_data
        return spec.symbol in self.realtime_data

    def _on_mkt_data(self, s: Session, msg: m.ReqMktData) -> None:
        specs = self.engine.match_contracts(contract_query(msg.contract))
        if len(specs) != 1:
            s.send_error(msg.req_id, NO_SECURITY, TEXT_NO_SECURITY)
            return
        spec = specs[0]
        md_type = s.md_type
        if md_type in (1, 2) and not self._has_realtime(spec):
            if not self.delayed_data:
                s.send_error(msg.req_id, NOT_SUBSCRIBED, TEXT_NOT_SUBSCRIBED)
                return
            # TWS falls back to delayed data for an account without the subscription
            s.send_error(msg.req_id, DELAYED_SHOWN, TEXT_DELAYED_SHOWN)
            md_type += 2
        elif md_type in (3, 4) and not self.delayed_data and not self._has_realtime(spec):
            s.send_error(msg.req_id, DELAYED_DISABLED, TEXT_DELAYED_DISABLED)
            return
        sub = MarketData(
            msg.req_id, spec.con_id, delayed=md_type in (3, 4), frozen=md_type in (2, 4)
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
        if msg.snapshot or msg.regulatory_snapshot:
            s.send(m.TickSnapshotEnd(req_id=msg.req_id))
        elif not sub.frozen:
            s.market[msg.req_id] = sub

    def _send_ticks(self, s: Session, sub: MarketData) -> None:
        quote = self.engine.quote(sub.con_id)
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

    def _on_cancel_mkt_data(self, s: Session, msg: m.CancelMktData) -> None:
        s.market.pop(msg.req_id, None)

    def _refresh_market_data(self, con_id: int | None = None) -> None:
        for s in self._sessions:
            for sub in s.market.values():
                if con_id is None or sub.con_id == con_id:
                    self._send_ticks(s, sub)

    def _on_place_order(self, s: Session, msg: m.PlaceOrder) -> None:
        assert s.client_id is not None
        if self.faults.take(OneShot.DROP_ORDER):
            log.warning(
                "fault: placeOrder dropped",
                extra={"client_id": s.client_id, "order_id": msg.order_id},
            )
            return
        self._dispatch(self.engine.place(order_request(msg, s.client_id)))
        if self.faults.take(OneShot.DROP_AFTER_ORDER):
            # the network goes between two requests: what was answered so far may or may not
            # reach the client; nothing after this placeOrder reaches the gateway
            log.warning(
                "fault: connection dropped after a placeOrder",
                extra={"client_id": s.client_id, "order_id": msg.order_id},
            )
            s.flush()
            s.close(abort=True)

    def _on_cancel_order(self, s: Session, msg: m.CancelOrder) -> None:
        assert s.client_id is not None
        self._dispatch(self.engine.cancel(s.client_id, msg.order_id))

    def _on_global_cancel(self, s: Session, msg: m.ReqGlobalCancel) -> None:
        self._dispatch(self.engine.global_cancel())

    def _send_open_orders(self, s: Session, orders: Iterable[OrderState]) -> None:
        for st in orders:
            s.send(open_order(st))
            s.send(order_status(st))
        s.send(m.OpenOrderEnd())

    def _on_open_orders(self, s: Session, msg: m.ReqOpenOrders) -> None:
        self._send_open_orders(s, self.engine.open_orders(s.client_id))

    def _on_all_open_orders(self, s: Session, msg: m.ReqAllOpenOrders) -> None:
        self._send_open_orders(s, self.engine.open_orders(None))

    def _on_auto_open_orders(self, s: Session, msg: m.ReqAutoOpenOrders) -> None:
        s.auto_open = msg.auto_bind and s.client_id == 0

    def _on_completed_orders(self, s: Session, msg: m.ReqCompletedOrders) -> None:
        for st in self.engine.completed_orders():
            if msg.api_only and st.client_id == 0:
                continue
            s.send(completed_order(st, self._fmt, self._clock()))
        s.send(m.CompletedOrdersEnd())

    def _on_executions(self, s: Session, msg: m.ReqExecutions) -> None:
        flt = ExecFilter(
            client_id=msg.client_id,
            account=msg.acct_code,
            time=msg.time,
            symbol=msg.symbol,
            sec_type=msg.sec_type,
            exchange=msg.exchange,
            side=msg.side,
        )
        try:
            rows = self.engine.executions(flt)
        except ValueError as exc:  # an unreadable filter time
            log.warning("bad execution filter", extra={"reason": str(exc)})
            rows = []
        for ex, cr in rows:
            s.send(exec_details(ex, msg.req_id, self._fmt))
            s.send(commission_report(cr))
        s.send(m.ExecDetailsEnd(req_id=msg.req_id))
