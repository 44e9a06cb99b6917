"""The IB status table, the message-code classification and the paper-account rule."""

from __future__ import annotations

import inspect
import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ib_async.order import OrderStatus as IbOrderStatus
from ib_async.wrapper import Wrapper

from horizon.core.enums import OrderStatus
from horizon.venues.ibkr.mapping import status as status_module
from horizon.venues.ibkr.mapping.status import (
    IB_ASYNC_WARNING_CODES,
    IB_ORDER_STATUSES,
    INFORMATIONAL_CODES,
    ErrorKind,
    classify_error,
    is_paper_account,
    needs_resubscribe,
    order_status_from_ib,
)

# ------------------------------------------------------------------------------ statuses

ZERO, SOME = Decimal(0), Decimal(3)


@pytest.mark.parametrize(
    ("ib", "filled", "ours"),
    [
        ("PendingSubmit", ZERO, OrderStatus.PENDING_NEW),
        ("PreSubmitted", ZERO, OrderStatus.PENDING_NEW),
        ("ApiPending", ZERO, OrderStatus.PENDING_NEW),
        ("Submitted", ZERO, OrderStatus.ACCEPTED),
        ("Submitted", SOME, OrderStatus.PARTIALLY_FILLED),
        ("Submitted", Decimal("0.0001"), OrderStatus.PARTIALLY_FILLED),
        ("Filled", Decimal(10), OrderStatus.FILLED),
        ("Cancelled", ZERO, OrderStatus.CANCELED),
        ("Cancelled", SOME, OrderStatus.CANCELED),  # partially filled, then cancelled
        ("ApiCancelled", ZERO, OrderStatus.CANCELED),
        ("PendingCancel", ZERO, OrderStatus.PENDING_CANCEL),
        ("PendingCancel", SOME, OrderStatus.PENDING_CANCEL),
        ("Inactive", ZERO, OrderStatus.REJECTED),
        ("ValidationError", ZERO, OrderStatus.ACCEPTED),
        ("ValidationError", SOME, OrderStatus.PARTIALLY_FILLED),
        ("ApiUpdate", ZERO, OrderStatus.ACCEPTED),
    ],
)
def test_the_spec_status_map(ib: str, filled: Decimal, ours: OrderStatus) -> None:
    assert order_status_from_ib(ib, filled) is ours
    assert order_status_from_ib(ib, filled, Decimal(7)) is ours


def test_every_ib_async_status_string_has_a_row() -> None:
    declared = {
        value
        for name, value in vars(IbOrderStatus).items()
        if isinstance(value, str) and name[0].isupper() and name == value
    }
    assert "Submitted" in declared and "Inactive" in declared  # the scan found them
    assert declared <= IB_ORDER_STATUSES
    for s in declared:
        order_status_from_ib(s, ZERO)


def test_every_status_from_the_protocol_notes_has_a_row() -> None:
    # the statuses the simulator emits (protocol notes section 7)
    notes = (
        "PendingSubmit PendingCancel PreSubmitted Submitted ApiCancelled Cancelled Filled Inactive"
    )
    assert set(notes.split()) <= IB_ORDER_STATUSES


@pytest.mark.parametrize("bad", ["", "submitted", "Rejected", "Done", " Filled"])
def test_unknown_status_names_it(bad: str) -> None:
    with pytest.raises(ValueError, match=re.escape(repr(bad))):
        order_status_from_ib(bad, ZERO)


def test_terminal_ib_statuses_are_terminal_in_horizon() -> None:
    for s in ("Filled", "Cancelled", "ApiCancelled", "Inactive"):
        assert order_status_from_ib(s, ZERO).is_terminal
    for s in IB_ORDER_STATUSES - {"Filled", "Cancelled", "ApiCancelled", "Inactive"}:
        assert order_status_from_ib(s, SOME).is_open


# ------------------------------------------------------------------------------ error codes


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (2104, ErrorKind.INFO),
        (2106, ErrorKind.INFO),
        (2107, ErrorKind.INFO),
        (2108, ErrorKind.INFO),
        (2119, ErrorKind.INFO),
        (2158, ErrorKind.INFO),
        (2150, ErrorKind.INFO),  # the rest of 2100-2199
        (2103, ErrorKind.WARNING),
        (2157, ErrorKind.WARNING),
        (399, ErrorKind.WARNING),
        (404, ErrorKind.WARNING),
        (110, ErrorKind.WARNING),
        (201, ErrorKind.ORDER_REJECTED),
        (203, ErrorKind.ORDER_REJECTED),
        (103, ErrorKind.ORDER_REJECTED),
        (460, ErrorKind.ORDER_REJECTED),
        (202, ErrorKind.ORDER_CANCELLED),
        (161, ErrorKind.CANCEL_REJECTED),
        (10147, ErrorKind.CANCEL_REJECTED),
        (10148, ErrorKind.CANCEL_REJECTED),
        (104, ErrorKind.AMEND_REJECTED),
        (105, ErrorKind.AMEND_REJECTED),
        (2102, ErrorKind.AMEND_REJECTED),
        (1100, ErrorKind.CONNECTIVITY_LOST),
        (1101, ErrorKind.CONNECTIVITY_RESTORED),
        (1102, ErrorKind.CONNECTIVITY_RESTORED),
        (326, ErrorKind.CLIENT_ID_IN_USE),
        (100, ErrorKind.PACING),
        (200, ErrorKind.UNKNOWN_CONTRACT),
        (354, ErrorKind.NO_MARKET_DATA),
        (10168, ErrorKind.NO_MARKET_DATA),
        (10167, ErrorKind.DELAYED_DATA),
        (502, ErrorKind.NOT_CONNECTED),
        (504, ErrorKind.NOT_CONNECTED),
        (1300, ErrorKind.NOT_CONNECTED),
        (0, ErrorKind.OTHER),
        (-1, ErrorKind.OTHER),
        (99999, ErrorKind.OTHER),
    ],
)
def test_classify_error(code: int, kind: ErrorKind) -> None:
    assert classify_error(code) is kind


def test_resubscribe_only_after_data_lost() -> None:
    assert needs_resubscribe(1101)
    assert not needs_resubscribe(1102)
    assert not needs_resubscribe(1100)


def test_informational_codes() -> None:
    assert {2104, 2106, 2107, 2108, 2119, 2158, 165} <= INFORMATIONAL_CODES
    assert not {2103, 2105, 2110, 2157, 2102, 202, 1100} & INFORMATIONAL_CODES
    assert all(classify_error(c) is ErrorKind.INFO for c in INFORMATIONAL_CODES)


@given(st.integers(-10, 20000))
def test_info_iff_informational(code: int) -> None:
    assert (classify_error(code) is ErrorKind.INFO) == (code in INFORMATIONAL_CODES)


def test_the_rejection_set_does_not_override_an_explicit_row() -> None:
    kinds = status_module.ERROR_KINDS
    explicit = {c for c, k in kinds.items() if k is not ErrorKind.ORDER_REJECTED}
    assert not explicit & status_module.ORDER_REJECTED_CODES
    assert 202 not in status_module.ORDER_REJECTED_CODES  # 202 is a cancel, not a rejection


def test_warning_set_mirrors_the_installed_ib_async() -> None:
    source = inspect.getsource(Wrapper.error)
    found = re.search(r"warningCodes = frozenset\(\{([0-9, ]+)\}\)", source)
    assert found is not None, "ib_async changed how it lists warning codes; re-check status.py"
    installed = {int(x) for x in found.group(1).split(",")}
    assert installed == IB_ASYNC_WARNING_CODES
    assert "2100 <= errorCode < 2200" in source


# ib_async keeps the order live for these kinds; for all others it marks the Trade Cancelled.
_ORDER_SURVIVES = {
    ErrorKind.INFO, ErrorKind.WARNING, ErrorKind.AMEND_REJECTED, ErrorKind.DELAYED_DATA,
}  # fmt: skip


def test_ib_async_warnings_never_classify_as_order_enders() -> None:
    for code in IB_ASYNC_WARNING_CODES | set(range(2100, 2200)):
        assert classify_error(code) in _ORDER_SURVIVES, code


def test_order_rejections_are_not_ib_async_warnings() -> None:
    for code in status_module.ORDER_REJECTED_CODES:
        assert code not in IB_ASYNC_WARNING_CODES and not 2100 <= code < 2200


# ------------------------------------------------------------------------------ paper accounts


@pytest.mark.parametrize(
    ("account", "paper"),
    [
        ("DU1234567", True),
        ("DF1234567", True),
        ("DI1234567", True),
        ("du1234567", True),
        (" DU1234567 ", True),
        ("U1234567", False),
        ("F1234567", False),
        ("I1234567", False),
    ],
)
def test_is_paper_account(account: str, paper: bool) -> None:
    assert is_paper_account(account) is paper


def test_empty_account_is_refused() -> None:
    with pytest.raises(ValueError, match="empty account"):
        is_paper_account("  ")
