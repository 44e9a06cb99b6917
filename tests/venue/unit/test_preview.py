"""preview_of: IB's what-if OrderState read into Decimals, IB's 'no figure' into None."""

from __future__ import annotations

from decimal import Decimal

from ib_async import OrderState

from horizon.venues.ibkr.mapping.accounts import UNSET_DOUBLE
from horizon.venues.ibkr.mapping.preview import preview_of


def test_margins_commission_and_warning_are_read() -> None:
    state = OrderState(
        initMarginBefore="1000.5", initMarginAfter="2900.75", initMarginChange="1900.25",
        maintMarginBefore="800", maintMarginAfter="2320.6", maintMarginChange="1520.6",
        equityWithLoanBefore="100000", equityWithLoanAfter="99999", equityWithLoanChange="-1",
        commission=1.0, minCommission=UNSET_DOUBLE, maxCommission=UNSET_DOUBLE,
        commissionCurrency="USD", warningText="  concentration warning ",
    )  # fmt: skip
    preview = preview_of(state, market_id="AAPL", account="DU1")
    assert preview.initial_margin_change == Decimal("1900.25")
    assert preview.maintenance_margin_after == Decimal("2320.6")
    assert preview.equity_with_loan_change == Decimal("-1")
    assert preview.commission == Decimal("1") and preview.min_commission is None
    assert preview.commission_currency == "USD"
    assert preview.warning == "concentration warning"


def test_missing_figures_are_none_never_zero() -> None:
    state = OrderState(
        initMarginBefore="", initMarginAfter=str(UNSET_DOUBLE), initMarginChange="n/a",
        commission=UNSET_DOUBLE, minCommission=0.35, maxCommission=1.5,
    )  # fmt: skip
    preview = preview_of(state, market_id="AAPL", account="DU1")
    assert preview.initial_margin_before is None
    assert preview.initial_margin_after is None
    assert preview.initial_margin_change is None
    assert preview.commission is None
    assert (preview.min_commission, preview.max_commission) == (Decimal("0.35"), Decimal("1.5"))
    assert preview.commission_currency is None and preview.warning is None
