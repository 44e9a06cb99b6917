"""Accounts: managed accounts, positions, account updates (single and multi), account summary;
and the pushes that follow fills to whoever subscribed.

TWS sends an account value again only when it changed, per subscription; what each
subscription was last sent is kept here, per connection.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from ibgateway_sim.engine import AccountValue, Engine, PositionRow
from ibgateway_sim.gateway.handlers.base import Handler, ignore
from ibgateway_sim.gateway.mapping import (
    LEDGER_KEYS,
    TimeFormatter,
    portfolio_row,
    position_row,
    reply_contract,
    summary_rows,
)
from ibgateway_sim.gateway.session import Session
from ibgateway_sim.wire import messages as m

log = logging.getLogger(__name__)

Touched = set[tuple[str, int]]  # (account, conId) pairs whose position a fill changed


class _Round:
    """One round of pushes (after a fill, or the periodic refresh) to every subscription:
    each account's values computed once, and each message encoded once per version, however
    many sessions read them (32 clients of one account get the same values)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._values: dict[str, Sequence[AccountValue]] = {}
        self._encoded: dict[tuple[m.Message, int], bytes] = {}

    def values(self, account: str) -> Sequence[AccountValue]:
        got = self._values.get(account)
        if got is None:
            got = self._values[account] = self._engine.account_values(account)
        return got

    def sender(self, s: Session) -> Callable[[m.Message], None]:
        encoded = self._encoded

        def send(msg: m.Message) -> None:
            s.send_shared(msg, encoded)

        return send


@dataclass(slots=True)
class _Subscriptions:
    """One connection's account subscriptions and what each was last sent."""

    positions: bool = False
    account: str | None = None  # reqAccountUpdates (one account at a time, as in TWS)
    account_sent: dict[tuple[str, str], str] = field(default_factory=dict)
    multi: dict[int, tuple[str, bool]] = field(default_factory=dict)  # reqId -> (acct, ledger)
    multi_sent: dict[int, dict[tuple[str, str], str]] = field(default_factory=dict)
    # reqAccountSummary: reqId -> tags, and what each (account, tag, currency) was last sent
    summaries: dict[int, str] = field(default_factory=dict)
    summary_sent: dict[int, dict[tuple[str, str, str], str]] = field(default_factory=dict)


class AccountHandlers:
    def __init__(
        self, engine: Engine, *, clock: Callable[[], float], times: TimeFormatter
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._times = times
        self._subs: dict[Session, _Subscriptions] = {}

    @property
    def handlers(self) -> Mapping[type, Handler]:
        return {
            m.ReqManagedAccts: self._on_managed_accounts,
            m.ReqPositions: self._on_positions,
            m.CancelPositions: self._on_cancel_positions,
            m.ReqPositionsMulti: self._on_positions_multi,
            m.CancelPositionsMulti: ignore,
            m.ReqAccountUpdates: self._on_account_updates,
            m.ReqAccountUpdatesMulti: self._on_account_updates_multi,
            m.CancelAccountUpdatesMulti: self._on_cancel_account_updates_multi,
            m.ReqAccountSummary: self._on_account_summary,
            m.CancelAccountSummary: self._on_cancel_account_summary,
        }

    def forget(self, session: Session) -> None:
        self._subs.pop(session, None)

    def _subscriptions_of(self, s: Session) -> _Subscriptions:
        subs = self._subs.get(s)
        if subs is None:
            subs = self._subs[s] = _Subscriptions()
        return subs

    # ---- requests -------------------------------------------------------------------------

    def _on_managed_accounts(self, s: Session, msg: m.ReqManagedAccts) -> None:
        s.send(m.ManagedAccounts(accounts=",".join(self._engine.accounts)))

    def _on_positions(self, s: Session, msg: m.ReqPositions) -> None:
        self._subscriptions_of(s).positions = True
        for row in self._engine.positions():
            s.send(position_row(row))
        s.send(m.PositionEnd())

    def _on_cancel_positions(self, s: Session, msg: m.CancelPositions) -> None:
        self._subscriptions_of(s).positions = False

    def _on_positions_multi(self, s: Session, msg: m.ReqPositionsMulti) -> None:
        for row in self._positions_of(msg.account):
            s.send(
                m.PositionMulti(
                    req_id=msg.req_id,
                    account=row.account,
                    contract=reply_contract(row.contract),
                    position=row.position,
                    avg_cost=row.avg_cost,
                    model_code=msg.model_code,
                )
            )
        s.send(m.PositionMultiEnd(req_id=msg.req_id))

    def _positions_of(self, account: str) -> list[PositionRow]:
        if account and account not in self._engine.accounts:
            return []
        return self._engine.positions(account or None)

    def _account_for(self, account: str) -> str | None:
        accounts = self._engine.accounts
        if account in accounts:
            return account
        if not account and len(accounts) == 1:
            return accounts[0]
        return None

    def _on_account_updates(self, s: Session, msg: m.ReqAccountUpdates) -> None:
        account = self._account_for(msg.acct_code)
        subs = self._subscriptions_of(s)
        if not msg.subscribe:
            subs.account = None
            return
        if account is None:
            log.warning(
                "account updates for an unknown account",
                extra={"client_id": s.client_id, "account": msg.acct_code},
            )
            return
        subs.account, subs.account_sent = account, {}
        self._send_account_values(s, subs, account)
        for row in self._engine.positions(account):
            s.send(portfolio_row(row))
        s.send(m.UpdateAccountTime(time_stamp=self._times.hhmm(self._clock())))
        s.send(m.AccountDownloadEnd(account=account))

    def _send_account_values(
        self,
        s: Session,
        subs: _Subscriptions,
        account: str,
        push: _Round | None = None,
    ) -> None:
        sent = subs.account_sent
        send = s.send if push is None else push.sender(s)
        for v in self._engine.account_values(account) if push is None else push.values(account):
            key = (v.key, v.currency)
            if sent.get(key) != v.value:
                sent[key] = v.value
                send(
                    m.UpdateAccountValue(
                        key=v.key, value=v.value, currency=v.currency, account=v.account
                    )
                )

    def _on_account_updates_multi(self, s: Session, msg: m.ReqAccountUpdatesMulti) -> None:
        account = self._account_for(msg.account)
        if account is not None:
            subs = self._subscriptions_of(s)
            subs.multi[msg.req_id] = (account, msg.ledger_and_nlv)
            subs.multi_sent[msg.req_id] = {}
            self._send_multi(s, subs, msg.req_id)
        s.send(m.AccountUpdateMultiEnd(req_id=msg.req_id))

    def _send_multi(
        self,
        s: Session,
        subs: _Subscriptions,
        req_id: int,
        push: _Round | None = None,
    ) -> None:
        account, ledger_only = subs.multi[req_id]
        sent = subs.multi_sent[req_id]
        send = s.send if push is None else push.sender(s)
        for v in self._engine.account_values(account) if push is None else push.values(account):
            if ledger_only and v.key not in LEDGER_KEYS and v.key != "NetLiquidation":
                continue
            key = (v.key, v.currency)
            if sent.get(key) != v.value:
                sent[key] = v.value
                send(
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
        subs = self._subs.get(s)
        if subs is not None:
            subs.multi.pop(msg.req_id, None)
            subs.multi_sent.pop(msg.req_id, None)

    def _on_account_summary(self, s: Session, msg: m.ReqAccountSummary) -> None:
        """Every account's values for the tags, then the end; TWS keeps the subscription
        and later sends the values that changed (`refresh`, after fills)."""
        subs = self._subscriptions_of(s)
        subs.summaries[msg.req_id] = msg.tags
        subs.summary_sent[msg.req_id] = {}
        self._send_summary(s, subs, msg.req_id)
        s.send(m.AccountSummaryEnd(req_id=msg.req_id))

    def _send_summary(
        self,
        s: Session,
        subs: _Subscriptions,
        req_id: int,
        push: _Round | None = None,
    ) -> None:
        engine = self._engine
        sent = subs.summary_sent[req_id]
        tags = subs.summaries[req_id]
        of = engine.account_values if push is None else push.values
        send = s.send if push is None else push.sender(s)
        for account in engine.accounts:
            for tag, value, currency in summary_rows(of(account), tags):
                key = (account, tag, currency)
                if sent.get(key) == value:
                    continue
                sent[key] = value
                send(
                    m.AccountSummary(
                        req_id=req_id, account=account, tag=tag, value=value, currency=currency
                    )
                )

    def _on_cancel_account_summary(self, s: Session, msg: m.CancelAccountSummary) -> None:
        subs = self._subs.get(s)
        if subs is not None:
            subs.summaries.pop(msg.req_id, None)
            subs.summary_sent.pop(msg.req_id, None)

    def refresh(self) -> None:
        """What TWS re-sends on its account-update cycle (every 3 minutes): the account
        values, portfolio rows and summary values that changed since last sent, to each
        subscription."""
        rows = self._engine.positions()
        push = _Round(self._engine)
        for s, subs in self._subs.items():
            account = subs.account
            if account is not None:
                self._send_account_values(s, subs, account, push)
                for row in rows:
                    if row.account == account and row.position:
                        s.send(portfolio_row(row))
                s.send(m.UpdateAccountTime(time_stamp=self._times.hhmm(self._clock())))
            for req_id in subs.multi:
                self._send_multi(s, subs, req_id, push)
            for req_id in subs.summaries:
                self._send_summary(s, subs, req_id, push)

    # ---- after fills ----------------------------------------------------------------------

    def after_fills(self, touched: Touched) -> None:
        """Position, portfolio and account-value updates to the subscribers of what changed."""
        accounts = {a for a, _ in touched}
        rows: dict[tuple[str, int], PositionRow] | None = None
        push = _Round(self._engine)

        def row(key: tuple[str, int]) -> PositionRow:
            # every position's row, made once and only when a subscriber needs one
            nonlocal rows
            if rows is None:
                rows = {(r.account, r.contract.con_id): r for r in self._engine.positions()}
            return rows.get(key) or self._flat_row(*key)

        for s, subs in self._subs.items():
            send = push.sender(s)
            if subs.positions:
                for key in sorted(touched):
                    send(position_row(row(key)))
            account = subs.account
            if account in accounts:
                assert account is not None
                for key in sorted(touched):
                    if key[0] == account:
                        send(portfolio_row(row(key)))
                self._send_account_values(s, subs, account, push)
                s.send(m.UpdateAccountTime(time_stamp=self._times.hhmm(self._clock())))
            for req_id, (multi_account, _) in subs.multi.items():
                if multi_account in accounts:
                    self._send_multi(s, subs, req_id, push)
            for req_id in subs.summaries:
                self._send_summary(s, subs, req_id, push)

    def _flat_row(self, account: str, con_id: int) -> PositionRow:
        zero = Decimal(0)
        return PositionRow(
            account=account,
            contract=self._engine.contract(con_id),
            position=zero,
            avg_cost=zero,
            market_price=zero,
            market_value=zero,
            unrealized_pnl=zero,
            realized_pnl=zero,
        )
