"""IB's order statuses and message codes, as tables. The only place that reads IB's strings.

Sources: the TWS API "Message Codes" page (interactivebrokers.github.io/tws-api/
message_codes.html, now under ibkrcampus "TWS API documentation: Error Codes") and
ib_async 2.1.0 ``Wrapper.error``, whose choice of warning codes decides whether ib_async
keeps an order alive (warning) or marks its Trade Cancelled (any other code on an order id).
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from horizon.core.enums import OrderStatus

__all__ = [
    "ERROR_KINDS",
    "IB_ASYNC_WARNING_CODES",
    "IB_ORDER_STATUSES",
    "INFORMATIONAL_CODES",
    "ORDER_REJECTED_CODES",
    "ErrorKind",
    "classify_error",
    "is_paper_account",
    "needs_resubscribe",
    "order_status_from_ib",
]

# ---------------------------------------------------------------------------------------------
# order statuses

# IB orderStatus strings (TWS API "Order Management: Possible order states"), plus the two
# pseudo-statuses ib_async writes itself: ValidationError (an order *warning* arrived; the
# order is still live at IB) and ApiUpdate (declared in ib_async's ActiveStates). Both mean
# "live", so they read like Submitted; a venue that knows the previous real status should
# keep it instead.
_FROM_IB: Final = MappingProxyType(
    {
        "ApiPending": OrderStatus.PENDING_NEW,
        "PendingSubmit": OrderStatus.PENDING_NEW,
        "PreSubmitted": OrderStatus.PENDING_NEW,
        "Submitted": OrderStatus.ACCEPTED,
        "Filled": OrderStatus.FILLED,
        "Cancelled": OrderStatus.CANCELED,
        "ApiCancelled": OrderStatus.CANCELED,
        "PendingCancel": OrderStatus.PENDING_CANCEL,
        "Inactive": OrderStatus.REJECTED,
        "ValidationError": OrderStatus.ACCEPTED,  # ib_async only
        "ApiUpdate": OrderStatus.ACCEPTED,  # ib_async only
    }
)
IB_ORDER_STATUSES: Final = frozenset(_FROM_IB)

# Live statuses that become PARTIALLY_FILLED once something has filled. PreSubmitted stays
# PENDING_NEW and PendingCancel stays PENDING_CANCEL whatever has filled: the spec's table.
_PARTIAL_WHEN_FILLED: Final = frozenset({"Submitted", "ValidationError", "ApiUpdate"})


def order_status_from_ib(
    status: str, filled: Decimal, remaining: Decimal | None = None
) -> OrderStatus:
    """Horizon's OrderStatus for an IB orderStatus string and its filled quantity.

    A partially filled order that is then cancelled is CANCELED (its fills stay booked); IB's
    Inactive (rejected, or parked by IB's risk checks) is REJECTED. `remaining` is accepted
    for symmetry with IB's orderStatus message; the string and `filled` decide.
    """
    try:
        base = _FROM_IB[status]
    except KeyError:
        raise ValueError(
            f"IB order status {status!r} is not one of {', '.join(sorted(_FROM_IB))}"
        ) from None
    if status in _PARTIAL_WHEN_FILLED and filled > 0:
        return OrderStatus.PARTIALLY_FILLED
    return base


# ---------------------------------------------------------------------------------------------
# message codes


class ErrorKind(StrEnum):
    """What a caller does differently for an IB message code."""

    INFO = "info"  # log at INFO and carry on (farm notices)
    WARNING = "warning"  # recovered anomaly; an order it names is still live
    ORDER_REJECTED = "order_rejected"  # the order named by reqId is dead: REJECTED
    ORDER_CANCELLED = "order_cancelled"  # 202: the order named by reqId was cancelled
    CANCEL_REJECTED = "cancel_rejected"  # a cancel failed; the order is NOT cancelled
    AMEND_REJECTED = "amend_rejected"  # a modify failed; the order lives on, unchanged
    CONNECTIVITY_LOST = "connectivity_lost"  # 1100: TWS lost IB's servers
    CONNECTIVITY_RESTORED = "connectivity_restored"  # 1101/1102; see needs_resubscribe
    CLIENT_ID_IN_USE = "client_id_in_use"  # 326
    PACING = "pacing"  # 100
    UNKNOWN_CONTRACT = "unknown_contract"  # 200: no (or an ambiguous) security definition
    NO_MARKET_DATA = "no_market_data"
    DELAYED_DATA = "delayed_data"
    NOT_CONNECTED = "not_connected"  # the API socket is gone (client-side 502/504, 1300)
    OTHER = "other"


# ib_async 2.1.0 Wrapper.error: `warningCodes` plus 2100 <= code < 2200 are "warnings" that
# leave an order live. Kept in step by a unit test that reads the installed source.
IB_ASYNC_WARNING_CODES: Final = frozenset({105, 110, 165, 321, 329, 399, 404, 434, 492, 10167})

ORDER_REJECTED_CODES: Final = frozenset(
    {
        103,  # Duplicate order id
        106, 107,  # Can't transmit order id / incomplete order
        109,  # Price out of the range set by the Percentage setting in order defaults
        111,  # TIF and order type are incompatible
        113,  # TIF should be DAY for MOC/LOC
        114, 115, 116, 117, 118, 119, 120, 121,  # routing/destination/BD-flag refusals
        125, 126,  # Buy/Sell price must equal the best ask/bid
        129,  # VWAP orders must be submitted 3 minutes before the start time
        132,  # Order cannot be transmitted without a clearing account
        133,  # Submit new order failed
        140, 141,  # The size should be an integer / the price should be a double
        144, 146, 147, 148,  # allocation / trigger method / conditional order refusals
        151, 152, 153, 154, 155, 156, 157, 158, 159, 160,  # 154: halted security; 160: size 0
        163,  # Price violates the percentage constraint in the default order settings
        167, 168,  # VWAP time in the past / discretionary amount off the tick grid
        201,  # Order rejected - reason: ...
        203,  # The security is not available or allowed for this account
        325, 328,  # discretionary / trailing stop attachment refusals
        332, 333, 334, 335, 336, 337, 338, 340, 341, 342, 343,  # 334: invalid GTD order
        347, 348, 349, 350, 351, 352, 353,  # short-sale slot, RTH flag, combo attributes
        355,  # Order size does not conform to market rule
        356, 358, 359,  # smart combo refusals
        361, 362, 363, 364,  # invalid trigger / adjusted stop prices
        367, 368, 369, 370, 371, 372, 373, 374, 375, 376, 377, 378, 379, 380,  # VOL orders
        382, 383,  # ticks / size constraint of the default order settings
        387, 388,  # Unsupported order type / size below the minimum
        389, 390, 391, 392, 393,  # 392: contract expired
        395, 396, 397, 398,  # OCA group refusals
        400, 401, 402, 403,  # algo error, length restriction, conditions, invalid stop price
        405, 406, 407, 408, 409, 410, 411, 412,  # 411: outside-RTH flag; 412: not tradable
        417, 418, 419, 421, 423, 424, 425, 426, 427, 428, 429,  # scale / FA / fund refusals
        433, 435, 436, 437, 439, 441, 442, 443, 445, 446, 447, 448, 449,
        460,  # No trading permissions
    }
)  # fmt: skip

ERROR_KINDS: Final = MappingProxyType(
    {
        100: ErrorKind.PACING,  # Max rate of messages per second has been exceeded
        104: ErrorKind.AMEND_REJECTED,  # Can't modify a filled order
        105: ErrorKind.AMEND_REJECTED,  # Order being modified does not match original order
        110: ErrorKind.WARNING,  # Price off the tick grid. ib_async: warning on a live order
        # (the modify failed), an error on a PendingSubmit one; the venue tells them apart.
        134: ErrorKind.AMEND_REJECTED,  # Modify order failed
        135: ErrorKind.CANCEL_REJECTED,  # Can't find order with id
        136: ErrorKind.CANCEL_REJECTED,  # This order cannot be cancelled
        137: ErrorKind.CANCEL_REJECTED,  # VWAP orders cancellable only until 3 min before
        161: ErrorKind.CANCEL_REJECTED,  # Cancel attempted when not in a cancellable state
        165: ErrorKind.INFO,  # Historical market data service query message
        200: ErrorKind.UNKNOWN_CONTRACT,  # No security definition found (or ambiguous)
        202: ErrorKind.ORDER_CANCELLED,  # Order cancelled - reason: ...
        321: ErrorKind.WARNING,  # Server error validating a request (a modify leaves it live)
        326: ErrorKind.CLIENT_ID_IN_USE,  # Client id already in use
        329: ErrorKind.AMEND_REJECTED,  # Order modify failed: cannot change the order type
        354: ErrorKind.NO_MARKET_DATA,  # Requested market data is not subscribed
        399: ErrorKind.WARNING,  # Order message (the order proceeds)
        404: ErrorKind.WARNING,  # Shares not available for short sale; order held
        422: ErrorKind.AMEND_REJECTED,  # Account/clearing attributes may not be changed
        434: ErrorKind.WARNING,  # The order size cannot be zero (ib_async keeps it live)
        440: ErrorKind.AMEND_REJECTED,  # Order modify failed: algorithm cannot be modified
        492: ErrorKind.INFO,  # Scanner needs extra permissions for precise results
        502: ErrorKind.NOT_CONNECTED,  # Couldn't connect to TWS (client side)
        504: ErrorKind.NOT_CONNECTED,  # Not connected (client side)
        1100: ErrorKind.CONNECTIVITY_LOST,  # Connectivity between IB and TWS lost
        1101: ErrorKind.CONNECTIVITY_RESTORED,  # ... restored, data lost: resubscribe
        1102: ErrorKind.CONNECTIVITY_RESTORED,  # ... restored, data maintained
        1300: ErrorKind.NOT_CONNECTED,  # TWS socket port reset; this connection is dropped
        2102: ErrorKind.AMEND_REJECTED,  # Unable to modify this order: still being processed
        2103: ErrorKind.WARNING,  # A market data farm is disconnected
        2105: ErrorKind.WARNING,  # A historical data farm is disconnected
        2109: ErrorKind.WARNING,  # "Outside RTH" ignored for this order type/destination
        2110: ErrorKind.WARNING,  # TWS <-> server connectivity broken; restores itself
        2137: ErrorKind.WARNING,  # Cross side warning
        2157: ErrorKind.WARNING,  # Sec-def data farm connection is broken
        10090: ErrorKind.NO_MARKET_DATA,  # Part of the requested market data not subscribed
        10147: ErrorKind.CANCEL_REJECTED,  # OrderId to be cancelled is not found
        10148: ErrorKind.CANCEL_REJECTED,  # OrderId to be cancelled cannot be, state: ...
        10167: ErrorKind.DELAYED_DATA,  # Not subscribed; displaying delayed market data
        10168: ErrorKind.NO_MARKET_DATA,  # Not subscribed; delayed data not enabled
        10197: ErrorKind.NO_MARKET_DATA,  # No market data during a competing live session
        # "Order TIF was set to DAY based on order preset" (and the like): the order is
        # placed and live; ib_async marks it Cancelled, and it then fills (users' overfills)
        10349: ErrorKind.WARNING,
        **{code: ErrorKind.ORDER_REJECTED for code in ORDER_REJECTED_CODES},
    }
)

# 2100-2199 are IB's "warning message codes"; the ones not in ERROR_KINDS are notices such as
# 2104/2106/2158 (farm connection OK), 2107/2108 (farm inactive, available on demand) and
# 2119 (market data farm connecting).
_NOTICE_RANGE: Final = range(2100, 2200)

INFORMATIONAL_CODES: Final = frozenset(
    {c for c in _NOTICE_RANGE if c not in ERROR_KINDS}
    | {c for c, k in ERROR_KINDS.items() if k is ErrorKind.INFO}
)


def classify_error(code: int) -> ErrorKind:
    """The ErrorKind of an IB message code; OTHER for codes with no row.

    On an order id, ib_async marks the Trade Cancelled for every code it does not count as a
    warning, including CANCEL_REJECTED ones (the order is in fact still live or filled) and
    OTHER ones; the venue decides from the kind, not from that Cancelled.
    """
    kind = ERROR_KINDS.get(code)
    if kind is not None:
        return kind
    if code in _NOTICE_RANGE:
        return ErrorKind.INFO
    return ErrorKind.OTHER


def needs_resubscribe(code: int) -> bool:
    """True for 1101 (connectivity restored, data lost): market data subscriptions must be
    requested again. 1102 (data maintained) needs nothing re-requested."""
    return code == 1101


# ---------------------------------------------------------------------------------------------
# accounts


def is_paper_account(account_id: str) -> bool:
    """True for an IB paper-trading account id.

    IB numbers paper accounts with a leading "D": DU… (individual paper account or FA
    sub-account), DF… (FA / advisor master paper account), DI… (introducing broker paper).
    Live ids start with U (individual), F (advisor master), I (introducing broker) and never
    with D. The gateway offers no other in-band paper/live flag, so this prefix is what the
    venue checks against its `paper=` setting after connecting.
    """
    account = account_id.strip().upper()
    if not account:
        raise ValueError("empty account id; expected something like 'DU1234567' or 'U1234567'")
    return account.startswith("D")
