"""IB what-if answers -> Preview. Pure; no I/O.

A what-if placeOrder is answered by an openOrder whose OrderState carries the account's
margin before, after and the change, as decimal strings (empty or IB's UNSET max-double when
the gateway has no figure), and the commission range as doubles.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from ib_async import OrderState

from horizon.venues.ibkr.mapping.accounts import UNSET_DOUBLE, ib_price

__all__ = ["Preview", "preview_of"]



@dataclass(frozen=True, slots=True, kw_only=True)
class Preview:
    """What an order would do to the account, from IB's what-if check; nothing was placed.

    Margins and equity with loan value in the account's base currency; None where IB gave no
    figure. `commission` is IB's estimate, or None when it only gave the range
    (`min_commission` .. `max_commission`). `warning` is IB's text (e.g. a margin or
    concentration warning), None when there is none.
    """

    market_id: str
    account: str
    initial_margin_before: Decimal | None
    initial_margin_after: Decimal | None
    initial_margin_change: Decimal | None
    maintenance_margin_before: Decimal | None
    maintenance_margin_after: Decimal | None
    maintenance_margin_change: Decimal | None
    equity_with_loan_before: Decimal | None
    equity_with_loan_after: Decimal | None
    equity_with_loan_change: Decimal | None
    commission: Decimal | None
    min_commission: Decimal | None
    max_commission: Decimal | None
    commission_currency: str | None
    warning: str | None


def _amount(text: object) -> Decimal | None:
    """Decimal of an OrderState margin string; '' and IB's UNSET read as None."""
    if isinstance(text, float):
        return ib_price(text)
    raw = str(text).strip()
    if not raw:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        return None
    if not value.is_finite() or abs(value) >= Decimal(repr(UNSET_DOUBLE)):
        return None
    return value


def preview_of(state: OrderState, *, market_id: str, account: str) -> Preview:
    """The Preview of a what-if OrderState."""
    return Preview(
        market_id=market_id,
        account=account,
        initial_margin_before=_amount(state.initMarginBefore),
        initial_margin_after=_amount(state.initMarginAfter),
        initial_margin_change=_amount(state.initMarginChange),
        maintenance_margin_before=_amount(state.maintMarginBefore),
        maintenance_margin_after=_amount(state.maintMarginAfter),
        maintenance_margin_change=_amount(state.maintMarginChange),
        equity_with_loan_before=_amount(state.equityWithLoanBefore),
        equity_with_loan_after=_amount(state.equityWithLoanAfter),
        equity_with_loan_change=_amount(state.equityWithLoanChange),
        commission=ib_price(state.commission),
        min_commission=ib_price(state.minCommission),
        max_commission=ib_price(state.maxCommission),
        commission_currency=state.commissionCurrency or None,
        warning=state.warningText.strip() or None,
    )
