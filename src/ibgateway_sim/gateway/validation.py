"""Request validation: the checks TWS makes on a request's own fields before it looks
anything up, and the error 321 it answers with ("Error validating request.-'bN' : cause -
..."), carrying the request's id (an order's id for an order).

Pure: a request in, a refusal or None out. The gateway applies it before any handler, so a
refused request never reaches the engine. Causes are TWS's texts as public captures of real
gateways show them; the `'bN'` fragment is an opaque tag that varies between TWS sessions
(clients must not parse it), so a fixed one is used.

The request-id table at the end serves the same rule for what cannot be decoded: whatever
the gateway refuses, it refuses with the request's id when the request has one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from ibgateway_sim.wire import messages as m

VALIDATION: Final = 321
_TAG: Final = "bN"

# causes, as real gateways word them
MISSING_ORDER_EXCHANGE: Final = "Missing order exchange."
ENTER_EXCHANGE: Final = "Please enter exchange"
ENTER_CURRENCY: Final = "Please enter a currency"  # wording not seen in a capture
ENTER_SEC_TYPE: Final = "Please enter a valid security type"
ENTER_EXPIRY: Final = "Please enter a local symbol or an expiry"
SNAPSHOT_GENERIC: Final = (
    "Snapshot market data subscription is not applicable to generic ticks"
)
NON_FA: Final = "FA data operations ignored for non FA customers."

SEC_TYPES: Final = frozenset(
    {"STK", "OPT", "FUT", "CASH", "IND", "FOP", "BOND", "CFD", "WAR", "IOPT", "FWD", "BAG",
     "NEWS", "FUND", "CMDTY", "EC", "BILL", "CRYPTO"}
)  # fmt: skip
_NEEDS_EXPIRY: Final = frozenset({"FUT", "FOP", "OPT"})


@dataclass(frozen=True, slots=True)
class Refusal:
    req_id: int
    code: int
    text: str


def validation_text(cause: str) -> str:
    return f"Error validating request.-'{_TAG}' : cause - {cause}"


def _refuse(req_id: int, cause: str) -> Refusal:
    return Refusal(req_id, VALIDATION, validation_text(cause))


def _contract_cause(c: m.RequestContract, *, order: bool) -> str | None:
    """What TWS says about a contract it cannot even look up. A conId alone identifies a
    contract for data requests; an order still needs its exchange."""
    if c.con_id and not order:
        return None
    if not c.con_id and c.sec_type.strip().upper() not in SEC_TYPES:
        return ENTER_SEC_TYPE
    if not c.exchange.strip():
        return MISSING_ORDER_EXCHANGE if order else ENTER_EXCHANGE
    if not c.con_id and not c.currency.strip():
        return ENTER_CURRENCY
    return None


_VALIDATED: Final = frozenset(
    {m.PlaceOrder, m.ReqMktData, m.ReqContractDetails, m.ReqCalcImpliedVolat,
     m.ReqCalcOptionPrice}
)  # fmt: skip


CHECKED: Final = _VALIDATED  # the request types `refusal_of` may refuse; None for the rest


def refusal_of(msg: Any) -> Refusal | None:
    """The 321 TWS sends for `msg`, or None when its fields are fine."""
    if type(msg) not in _VALIDATED:  # the rest have nothing checked here (one lookup each)
        return None
    if isinstance(msg, m.PlaceOrder):
        cause = _contract_cause(msg.contract, order=True)
        return _refuse(msg.order_id, cause) if cause else None
    if isinstance(msg, m.ReqMktData):
        if msg.snapshot and msg.generic_tick_list.strip():
            return _refuse(msg.req_id, SNAPSHOT_GENERIC)
        if msg.contract.sec_type.upper() == "BAG":
            return None
        cause = _contract_cause(msg.contract, order=False)
        return _refuse(msg.req_id, cause) if cause else None
    if isinstance(msg, m.ReqContractDetails):
        c = msg.contract
        sec_type = c.sec_type.strip().upper()
        if sec_type and sec_type not in SEC_TYPES:
            return _refuse(msg.req_id, ENTER_SEC_TYPE)
        return None
    if isinstance(msg, m.ReqCalcImpliedVolat | m.ReqCalcOptionPrice):
        cause = _contract_cause(msg.contract, order=False)
        if cause is None and not msg.contract.con_id:
            c = msg.contract
            if c.sec_type.upper() in _NEEDS_EXPIRY and not (c.last_trade_date or c.local_symbol):
                cause = ENTER_EXPIRY
        return _refuse(msg.req_id, cause) if cause else None
    return None


# ---- request ids of what could not be decoded ----------------------------------------------

# message id -> index of the request id among the fields (message id = field 0), for the
# requests of the text protocol at server versions 157..178 (ibapi `client.py`: a version
# field first where it sends one). Orders are keyed by their order id.
_REQ_ID_FIELD: Final = {
    1: 2, 2: 2, 3: 1, 4: 2, 7: 2, 9: 2, 10: 2, 11: 2, 19: 4, 20: 1, 21: 2, 22: 1, 23: 2, 25: 2,
    50: 2, 51: 2, 52: 2, 53: 2, 54: 2, 55: 2, 56: 2, 57: 2, 62: 2, 63: 2, 67: 2, 68: 2, 69: 2,
    70: 2, 74: 2, 75: 2, 76: 2, 77: 2, 78: 1, 79: 1, 81: 1, 83: 1, 84: 1, 86: 1, 87: 1, 88: 1,
    89: 1, 90: 1, 92: 1, 93: 1, 94: 1, 95: 1, 96: 1, 97: 1, 98: 1, 100: 1, 101: 1, 102: 1,
    103: 1, 104: 1,
}  # fmt: skip


def request_id(msg_id: int | None, fields: Sequence[str]) -> int:
    """The request id a raw request carries (-1 when it has none or it is unreadable)."""
    pos = _REQ_ID_FIELD.get(msg_id) if msg_id is not None else None
    if pos is None or pos >= len(fields):
        return -1
    try:
        return int(fields[pos])
    except ValueError:
        return -1


def request_id_of(msg: Any) -> int:
    """The id a decoded request is answered under: its reqId, an order's id, else -1."""
    for name in ("req_id", "order_id"):
        value = getattr(msg, name, None)
        if isinstance(value, int):
            return value
    return -1
