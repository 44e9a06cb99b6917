"""Account summary rows and positions -> Horizon values (pure).

IB reports account values as strings keyed by tag and currency; Horizon wants one Balance per
(account, currency) with Decimal fields. Tags that are not numbers (AccountType) are skipped.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation
from typing import Final, Protocol

from horizon.core.types import Balance, Position

# tags requested with reqAccountSummary; "$LEDGER:ALL" adds per-currency cash rows
SUMMARY_TAGS: Final = (
    "AccountType,NetLiquidation,TotalCashValue,SettledCash,AccruedCash,BuyingPower,"
    "EquityWithLoanValue,GrossPositionValue,InitMarginReq,MaintMarginReq,AvailableFunds,"
    "ExcessLiquidity,Cushion,FullInitMarginReq,FullMaintMarginReq,FullAvailableFunds,"
    "FullExcessLiquidity,Leverage,$LEDGER:ALL"
)

_CASH_TAGS: Final = ("TotalCashValue", "CashBalance")


class SummaryRow(Protocol):
    @property
    def account(self) -> str: ...
    @property
    def tag(self) -> str: ...
    @property
    def value(self) -> str: ...
    @property
    def currency(self) -> str: ...


class PositionRow(Protocol):
    @property
    def account(self) -> str: ...
    @property
    def position(self) -> float: ...
    @property
    def avgCost(self) -> float: ...


def _number(text: str) -> Decimal | None:
    try:
        d = Decimal(text)
    except (InvalidOperation, ValueError):
        return None
    return d if d.is_finite() else None


def balances_from_summary(
    rows: Iterable[SummaryRow], *, venue: str = "ibkr", account: str | None = None
) -> list[Balance]:
    """One Balance per (account, currency), sorted; `BASE` rows are the account's base currency."""
    grouped: dict[tuple[str, str], dict[str, Decimal]] = {}
    for row in rows:
        if account is not None and row.account != account:
            continue
        value = _number(row.value)
        if value is None or not row.currency:
            continue
        grouped.setdefault((row.account, row.currency), {})[row.tag] = value
    balances = []
    for (acct, currency), values in sorted(grouped.items()):
        cash = next((values[t] for t in _CASH_TAGS if t in values), Decimal(0))
        balances.append(
            Balance(
                venue=venue,
                account=acct,
                currency=currency,
                cash=cash,
                net_liquidation=values.get("NetLiquidation"),
                buying_power=values.get("BuyingPower"),
                available_funds=values.get("AvailableFunds"),
                values=values,
            )
        )
    return balances


def position_from_ib(
    row: PositionRow, *, market_id: str, currency: str, venue: str = "ibkr"
) -> Position:
    """ib_async gives floats; repr() of a float is its shortest exact decimal text."""
    return Position(
        venue=venue,
        account=row.account,
        market_id=market_id,
        quantity=decimal_from_float(row.position) or Decimal(0),
        avg_cost=decimal_from_float(row.avgCost) or Decimal(0),
        currency=currency,
    )


def decimal_from_float(
    value: float | Decimal | None, unset: Callable[[float], bool] | None = None
) -> Decimal | None:
    """Shortest round-tripping decimal of an ib_async float; None for IB's UNSET sentinels."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if unset is not None and unset(value):
        return None
    return _float_decimal(value)


@functools.lru_cache(maxsize=8192)
def _float_decimal(value: float) -> Decimal | None:
    """The conversion itself, cached: every status update and fill re-reads the same few
    prices and quantities (Decimals are immutable, so one instance serves them all)."""
    if math.isnan(value) or math.isinf(value):
        return None
    if value.is_integer():
        return Decimal(int(value))  # 10.0 -> Decimal("10"), not Decimal("10.0")
    return Decimal(repr(value))


UNSET_DOUBLE: Final = 1.7976931348623157e308  # IB's "no value" for a double (Double.MAX_VALUE)
_ZERO: Final = Decimal(0)


def ib_decimal(value: float | Decimal) -> Decimal:
    """Decimal of an ib_async float; IB's UNSET (max double) and NaN read as 0."""
    if type(value) is float:
        return _ZERO if value >= UNSET_DOUBLE else (_float_decimal(value) or _ZERO)
    return decimal_from_float(value) or _ZERO


def ib_price(value: float | Decimal | None) -> Decimal | None:
    """Decimal of an ib_async price field; IB's UNSET (max double) and NaN read as None."""
    if type(value) is float:
        return None if value >= UNSET_DOUBLE else _float_decimal(value)
    return decimal_from_float(value)
