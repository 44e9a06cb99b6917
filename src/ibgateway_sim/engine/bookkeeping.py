"""Fills into the books: each fill becomes its executions, their commission reports and the
ledger entries that move positions and cash; so do IB's forced liquidations, execution
corrections and option exercises. The engine decides what fills; this part writes it down,
in the journal (what reqExecutions answers from) and the ledger (what positions and account
values read).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from decimal import Decimal

from . import allocation, combos
from .exercise import Leg
from .journal import Journal
from .ledger import CommissionSchedule, Entry, Ledger
from .model import (
    Clock,
    Commission,
    ContractSpec,
    EngineError,
    Event,
    Execution,
    ExecutionMade,
    OrderRequest,
    Quote,
)
from .working import ACTIONS, WorkingOrder

_ZERO = Decimal(0)
_VENUES = {"NASDAQ": "ISLAND", "NYSE": "NYSE", "ARCA": "ARCA"}


class Bookkeeper:
    """Writes executions, commissions and ledger entries; owned by the engine."""

    def __init__(
        self,
        journal: Journal,
        ledger: Ledger,
        commissions: CommissionSchedule,
        usd_rate: Callable[[str], Decimal],
        quote: Callable[[int], Quote],
        clock: Clock,
    ) -> None:
        self.journal = journal
        self.ledger = ledger
        self.commissions = commissions
        self._usd_rate = usd_rate
        self.quote = quote
        self._clock = clock

    def fill(
        self, o: WorkingOrder, qty: Decimal, price: Decimal, liquidity: int
    ) -> list[Event]:
        """`qty` of `o` at `price`: one execution per account it is allocated to (split as
        the allocation method says), each with its commission (the order's commission so far
        less what was charged before); `o`'s fill totals move on."""
        out: list[Event] = []
        if o.allocation:
            accounts = list(o.allocation)
            need = [o.allocation[a] - o.allocated.get(a, _ZERO) for a in accounts]
            parts = (
                need if qty == o.remaining else allocation.split(qty, o.spec.size_increment, need)
            )
            legs = [(a, q) for a, q in zip(accounts, parts, strict=True) if q > 0]
        else:
            legs = [(o.account, qty)]
        now = self._clock()
        spec, req = o.spec, o.req
        venue = self.venue(spec)
        # the same for every leg: the order's contract, its rate and commission currency
        mult, rate = spec.multiplier_value, self._usd_rate(spec.currency)
        ccy = self.commissions.currency(spec)
        for account, q in legs:
            notional = q * price  # once: it feeds the average and the USD value
            o.filled += q
            o.value += notional
            o.last_price = price
            if req.order_type == "MTL" and o.mtl_limit is None:
                o.mtl_limit = price  # TWS API "Market to Limit": the rest rests at this price
            o.allocated[account] = o.allocated.get(account, _ZERO) + q
            usd = notional * mult * rate
            shares, value = o.volume.get(account, (_ZERO, _ZERO))
            shares, value = shares + q, value + usd
            o.volume[account] = (shares, value)
            total = self.commissions.for_order(spec, shares, value)
            comm = total - o.charged.get(account, _ZERO)
            o.charged[account] = total
            exec_id = self.journal.next_id()
            entry = Entry(exec_id, spec, q * o.side, price, comm, ccy)
            realized = self.ledger.apply(account, entry)
            ex = Execution(  # positional, in field order (one per fill; keywords cost)
                exec_id,
                o.perm_id,
                req.order_id,
                req.client_id,
                account,
                spec,
                "BOT" if o.side > 0 else "SLD",
                q,  # shares
                price,
                now,
                o.filled,  # cum_qty
                o.value / o.filled,  # avg_price
                req.order_ref,
                venue,
                liquidity,
            )
            cr = Commission(exec_id, comm, ccy, realized)
            self.journal.add(ex, cr)
            out.append(ExecutionMade(ex, cr))
        return out

    def venue(self, spec: ContractSpec) -> str:
        """Where an execution of `spec` is reported to have happened."""
        if spec.sec_type == "STK":
            return _VENUES.get(spec.primary_exchange, spec.primary_exchange or "ISLAND")
        if spec.sec_type == "OPT":
            return "CBOE"
        return spec.exchange

    def combo_entries(self, req: OrderRequest, legs: Sequence[combos.Leg]) -> list[Entry]:
        """The ledger entries a combo order would book now, one per leg."""
        side = ACTIONS[req.action]
        _, prices = combos.leg_prices(legs, side, self.quote)
        entries = []
        for leg, price in zip(legs, prices, strict=True):
            qty = req.quantity * leg.ratio
            usd = qty * price * leg.spec.multiplier_value * self._usd_rate(leg.spec.currency)
            comm = self.commissions.for_order(leg.spec, qty, usd)
            ccy = self.commissions.currency(leg.spec)
            entries.append(Entry("", leg.spec, qty * leg.sign * side, price, comm, ccy))
        return entries

    def fill_combo(self, o: WorkingOrder, net: Decimal) -> list[Event]:
        """One execution per leg (its contract, the combo's ids, its commission), then the
        BAG's own execution at the net price, which carries no commission of its own."""
        out: list[Event] = []
        qty, now = o.remaining, self._clock()
        for planned, leg in zip(self.combo_entries(o.req, o.legs), o.legs, strict=True):
            exec_id = self.journal.next_id()
            entry = dataclasses.replace(planned, exec_id=exec_id)
            realized = self.ledger.apply(o.account, entry)
            ex = self.execution(
                o, exec_id, leg.spec, entry.qty > 0, abs(entry.qty), entry.price, now
            )
            cr = Commission(exec_id, entry.commission, entry.commission_currency, realized)
            self.journal.add(ex, cr)
            out.append(ExecutionMade(ex, cr))
        o.filled += qty
        o.value += qty * net
        o.last_price = net
        exec_id = self.journal.next_id()
        bag = self.execution(o, exec_id, o.spec, o.side > 0, qty, net, now)
        cr = Commission(exec_id, _ZERO, self.commissions.currency(o.legs[0].spec), None)
        self.journal.add(bag, cr)
        out.append(ExecutionMade(bag, cr))
        return out

    def execution(
        self,
        o: WorkingOrder,
        exec_id: str,
        spec: ContractSpec,
        bought: bool,
        shares: Decimal,
        price: Decimal,
        now: float,
    ) -> Execution:
        return Execution(
            exec_id=exec_id,
            perm_id=o.perm_id,
            order_id=o.req.order_id,
            client_id=o.req.client_id,
            account=o.account,
            contract=spec,
            side="BOT" if bought else "SLD",
            shares=shares,
            price=price,
            time=now,
            cum_qty=shares,
            avg_price=price,
            order_ref=o.req.order_ref,
            exchange=spec.exchange if spec.sec_type == "BAG" else self.venue(spec),
            liquidity=2,
        )

    def liquidate(
        self, account: str, spec: ContractSpec, quantity: Decimal, perm_id: int
    ) -> list[Event]:
        """IB's forced liquidation of `quantity` of the account's position (toward flat) at
        the touch: an execution of no order (orderId -1, clientId 0, liquidation 1, as a
        real capture shows: "Liquidation: 1 ClientId 0 RequestId: -1 OrderId: -1")."""
        held = self.ledger.position(account, spec.con_id)
        q = self.quote(spec.con_id)
        sign = -1 if held > 0 else 1
        price = q.bid if sign < 0 else q.ask
        usd = quantity * price * spec.multiplier_value * self._usd_rate(spec.currency)
        comm = self.commissions.for_order(spec, quantity, usd)
        ccy = self.commissions.currency(spec)
        exec_id = self.journal.next_id()
        realized = self.ledger.apply(
            account, Entry(exec_id, spec, quantity * sign, price, comm, ccy)
        )
        ex = Execution(
            exec_id=exec_id,
            perm_id=perm_id,
            order_id=-1,
            client_id=0,
            account=account,
            contract=spec,
            side="BOT" if sign > 0 else "SLD",
            shares=quantity,
            price=price,
            time=self._clock(),
            cum_qty=quantity,
            avg_price=price,
            order_ref="",
            exchange=self.venue(spec),
            liquidity=2,
            liquidation=True,
        )
        cr = Commission(exec_id, comm, ccy, realized)
        self.journal.add(ex, cr)
        return [ExecutionMade(ex, cr)]

    def exercise(
        self, account: str, legs: Sequence[Leg], client_id: int, perm_id: int
    ) -> list[Event]:
        """An exercise or lapse (`exercise.py`): each leg an execution of no order (orderId 0)
        for the requesting client, under one permId, with its commission report (none is
        charged)."""
        out: list[Event] = []
        for leg in legs:
            exec_id = self.journal.next_id()
            ccy = self.commissions.currency(leg.spec)
            realized = self.ledger.apply(
                account, Entry(exec_id, leg.spec, leg.qty, leg.price, _ZERO, ccy)
            )
            shares = abs(leg.qty)
            ex = Execution(
                exec_id=exec_id,
                perm_id=perm_id,
                order_id=0,
                client_id=client_id,
                account=account,
                contract=leg.spec,
                side="BOT" if leg.qty > 0 else "SLD",
                shares=shares,
                price=leg.price,
                time=self._clock(),
                cum_qty=shares,
                avg_price=leg.price,
                order_ref="",
                exchange=self.venue(leg.spec),
                liquidity=0,
            )
            cr = Commission(exec_id, _ZERO, ccy, realized)
            self.journal.add(ex, cr)
            out.append(ExecutionMade(ex, cr))
        return out

    def correct(
        self, exec_id: str, *, shares: Decimal | None = None, price: Decimal | None = None
    ) -> list[Event]:
        """IB's execution correction: a new execution whose id differs from the original only
        after the last '.', with the corrected shares/price; the ledger changes by the
        difference and the commission report carries the recomputed commission."""
        found = self.journal.get(exec_id)
        if found is None:
            raise EngineError(0, f"no execution {exec_id!r}")
        root, current, new_id = self.journal.correction_id(exec_id)
        orig, orig_cr = self.journal.get(current) or found
        q = orig.shares if shares is None else shares
        p = orig.price if price is None else price
        spec = orig.contract
        usd = q * p * spec.multiplier_value * self._usd_rate(spec.currency)
        comm = self.commissions.for_order(spec, q, usd)
        sign = 1 if orig.side == "BOT" else -1
        realized = self.ledger.replace(
            orig.account,
            current,
            Entry(new_id, spec, q * sign, p, comm, orig_cr.currency),
        )
        ex = Execution(
            exec_id=new_id,
            perm_id=orig.perm_id,
            order_id=orig.order_id,
            client_id=orig.client_id,
            account=orig.account,
            contract=spec,
            side=orig.side,
            shares=q,
            price=p,
            time=orig.time,
            cum_qty=orig.cum_qty - orig.shares + q,
            avg_price=p if orig.cum_qty == orig.shares else orig.avg_price,
            order_ref=orig.order_ref,
            exchange=orig.exchange,
            liquidity=orig.liquidity,
            corrects=root,
        )
        cr = Commission(new_id, comm, orig_cr.currency, realized)
        self.journal.add(ex, cr)
        return [ExecutionMade(ex, cr)]
