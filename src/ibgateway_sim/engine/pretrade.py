"""Pre-trade checks on the ledger: the buying-power check and what-if margin answers."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from .book import Book
from .ledger import CommissionSchedule, Entry, Ledger, money
from .model import ContractSpec, MarginImpact, OrderRequest
from .validation import reject
from .working import ACTIONS, LIMIT_TYPES


class PreTrade:
    def __init__(
        self,
        ledger: Ledger,
        commissions: CommissionSchedule,
        book: Callable[[int], Book],
        usd_rate: Callable[[str], Decimal],
    ) -> None:
        self._ledger, self._commissions = ledger, commissions
        self._book, self._usd_rate = book, usd_rate

    def reference_price(self, req: OrderRequest, spec: ContractSpec) -> Decimal:
        """Where the order would fill in full: its limit, its stop, or the far side."""
        if req.limit_price is not None and req.order_type in LIMIT_TYPES:
            return req.limit_price
        if req.aux_price is not None and req.order_type in ("STP", "MIT"):
            return req.aux_price
        book = self._book(spec.con_id)  # its touch, not a Quote of the whole book
        return book.ask if ACTIONS[req.action] > 0 else book.bid

    def _entries(self, req: OrderRequest, spec: ContractSpec, qty: Decimal) -> list[Entry]:
        price = self.reference_price(req, spec)
        usd = qty * price * spec.multiplier_value * self._usd_rate(spec.currency)
        comm = self._commissions.for_order(spec, qty, usd)
        return [
            Entry(
                "", spec, qty * ACTIONS[req.action], price, comm, self._commissions.currency(spec)
            )
        ]

    def check(
        self, req: OrderRequest, spec: ContractSpec, account: str, targets: dict[str, Decimal]
    ) -> None:
        """Reg-T style: an order that adds margin must leave AvailableFunds >= 0 if it
        filled in full at its reference price (equivalently: its cost fits BuyingPower,
        4x AvailableFunds for stocks). Other open orders are not reserved against, and
        orders that reduce margin always pass."""
        for acct, qty in (targets or {account: req.quantity}).items():
            entries = self._entries(req, spec, qty)
            if self._ledger.surely_affordable(acct, entries[0]):
                continue  # the trial would pass it: an order of a stock, well within means
            after = self._ledger.after(acct, entries)
            if after.available_funds >= 0:
                continue  # whether it adds margin or not, it passes
            if after.init_margin > self._ledger.summary(acct).init_margin:
                raise reject(
                    "YOUR ORDER IS NOT ACCEPTED. IN ORDER TO OBTAIN THE DESIRED POSITION YOUR "
                    f"EQUITY WITH LOAN VALUE [{money(after.net_liquidation)} USD] MUST EXCEED "
                    f"THE INITIAL MARGIN [{money(after.init_margin)} USD]"
                )

    def what_if(
        self, req: OrderRequest, spec: ContractSpec, account: str, targets: dict[str, Decimal]
    ) -> MarginImpact:
        """Margin before/change/after for the order's (first) account, and its commission."""
        acct = account or next(iter(targets))
        qty = targets.get(acct, req.quantity) if targets else req.quantity
        return self.what_if_entries(acct, self._entries(req, spec, qty))

    def what_if_entries(self, acct: str, entries: list[Entry]) -> MarginImpact:
        """Margin before/change/after if `entries` (one per leg of a combo) were filled."""
        before, after = self._ledger.what_if(acct, entries)
        return MarginImpact(
            init_margin_before=before.init_margin,
            maint_margin_before=before.maint_margin,
            equity_with_loan_before=before.net_liquidation,
            init_margin_change=after.init_margin - before.init_margin,
            maint_margin_change=after.maint_margin - before.maint_margin,
            equity_with_loan_change=after.net_liquidation - before.net_liquidation,
            init_margin_after=after.init_margin,
            maint_margin_after=after.maint_margin,
            equity_with_loan_after=after.net_liquidation,
            commission=sum((e.commission for e in entries), Decimal(0)),
            commission_currency=entries[0].commission_currency,
            # one fill at the reference price, so the range is that one figure
            min_commission=sum((e.commission for e in entries), Decimal(0)),
            max_commission=sum((e.commission for e in entries), Decimal(0)),
            warning_text=_margin_warning(after.available_funds),
        )


def _margin_warning(available_after: Decimal) -> str:
    """IB's what-if reports, rather than refuses, an order the account could not carry."""
    if available_after >= 0:
        return ""
    return f"Your account would have {money(available_after)} USD of available funds"
