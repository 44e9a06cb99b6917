"""reqPnL / reqPnLSingle: an account's (or one position's) daily, unrealized and realized PnL,
from the engine's positions at current prices; sent when subscribed and again whenever a
value changed (after fills and price moves), as TWS streams them; cancelPnL / cancelPnLSingle.

The simulator's day starts flat, so the daily PnL is what today's trading made: realized plus
unrealized.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from ibgateway_sim.engine import Engine, PositionRow
from ibgateway_sim.gateway.handlers.base import Handler
from ibgateway_sim.gateway.session import Session
from ibgateway_sim.wire import messages as m

_ZERO = Decimal(0)
_CENT = Decimal("0.01")


@dataclass(slots=True)
class _Sub:
    account: str
    con_id: int | None  # None: the whole account
    last: m.Message | None = None


@dataclass(slots=True)
class _Subs:
    by_req: dict[int, _Sub] = field(default_factory=dict)


class PnLHandlers:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._subs: dict[Session, _Subs] = {}

    @property
    def handlers(self) -> Mapping[type, Handler]:
        return {
            m.ReqPnL: self._on_pnl,
            m.CancelPnL: self._on_cancel,
            m.ReqPnLSingle: self._on_pnl_single,
            m.CancelPnLSingle: self._on_cancel,
        }

    def forget(self, session: Session) -> None:
        self._subs.pop(session, None)

    def _account(self, account: str) -> str | None:
        accounts = self._engine.accounts
        if account in accounts:
            return account
        return accounts[0] if not account and len(accounts) == 1 else None

    def _on_pnl(self, s: Session, msg: m.ReqPnL) -> None:
        self._subscribe(s, msg.req_id, msg.account, None)

    def _on_pnl_single(self, s: Session, msg: m.ReqPnLSingle) -> None:
        self._subscribe(s, msg.req_id, msg.account, msg.con_id)

    def _subscribe(self, s: Session, req_id: int, account: str, con_id: int | None) -> None:
        # an unknown account or contract: TWS keeps the request and sends nothing
        acct = self._account(account)
        if acct is None:
            return
        sub = _Sub(acct, con_id)
        self._subs.setdefault(s, _Subs()).by_req[req_id] = sub
        self._send(s, req_id, sub)

    def _on_cancel(self, s: Session, msg: m.CancelPnL | m.CancelPnLSingle) -> None:
        subs = self._subs.get(s)
        if subs is not None:
            subs.by_req.pop(msg.req_id, None)

    def refresh(self) -> None:
        """Send every subscription whose values changed."""
        for s, subs in self._subs.items():
            for req_id, sub in subs.by_req.items():
                self._send(s, req_id, sub)

    def _send(self, s: Session, req_id: int, sub: _Sub) -> None:
        rows = self._engine.positions(sub.account)
        reply: m.Message | None
        if sub.con_id is None:
            unrealized = sum((r.unrealized_pnl for r in rows), _ZERO)
            realized = sum((r.realized_pnl for r in rows), _ZERO)
            reply = m.PnL(
                req_id=req_id,
                daily_pnl=_money(unrealized + realized),
                unrealized_pnl=_money(unrealized),
                realized_pnl=_money(realized),
            )
        else:
            row = next((r for r in rows if r.contract.con_id == sub.con_id), None)
            reply = None if row is None else _single(req_id, row)
        if reply is not None and reply != sub.last:
            sub.last = reply
            s.send(reply)


def _money(x: Decimal) -> Decimal:
    return x.quantize(_CENT)


def _single(req_id: int, row: PositionRow) -> m.PnLSingle:
    return m.PnLSingle(
        req_id=req_id,
        position=row.position,
        daily_pnl=_money(row.unrealized_pnl + row.realized_pnl),
        unrealized_pnl=_money(row.unrealized_pnl),
        realized_pnl=_money(row.realized_pnl),
        value=_money(row.market_value),
    )
