"""The live trace: one readable line per recorded frame. Pure (a frame in, a string out).

    14:30:01.204113 #1 c1 -> PlaceOrder         order_id=6 action=BUY total_quantity=10 ...
    14:30:01.205020 #1 c1 <- OrderStatus        order_id=6 status=PreSubmitted filled=0 ...

Time (UTC), connection number, client id once startApi said it, the direction (`->` client
to gateway, `<-` gateway to client), the message, then its ids and a few key fields; `full`
prints every field by name instead.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any, Final

from horizon.tap.decode import EventKind
from horizon.tap.recording import RecordedFrame
from horizon.tap.wire import Direction

__all__ = ["KEY_FIELDS", "format_frame"]

ARROW: Final = MappingProxyType({Direction.IN: "->", Direction.OUT: "<-"})
_IDS: Final = ("req_id", "order_id")
# the fields worth a glance, per message; any other message shows its request / order id
KEY_FIELDS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType({
    "StartApi": ("client_id", "optional_capabilities"),
    "PlaceOrder": ("order_id", "action", "total_quantity", "contract.symbol", "order_type",
                   "lmt_price", "aux_price", "tif", "account"),
    "CancelOrder": ("order_id",),
    "ReqMktData": ("req_id", "contract.symbol", "contract.sec_type", "generic_tick_list",
                   "snapshot"),
    "ReqContractDetails": ("req_id", "contract.con_id", "contract.symbol", "contract.sec_type",
                           "contract.exchange", "contract.currency"),
    "ReqAccountUpdates": ("subscribe", "acct_code"),
    "ReqAccountUpdatesMulti": ("req_id", "account"),
    "ReqAccountSummary": ("req_id", "group", "tags"),
    "ReqMarketDataType": ("market_data_type",),
    "ReqIds": ("num_ids",),
    "OrderStatus": ("order_id", "status", "filled", "remaining", "avg_fill_price", "perm_id"),
    "ErrorMsg": ("req_id", "code", "text"),
    "OpenOrder": ("order_id", "action", "total_quantity", "contract.symbol", "order_type",
                  "status", "account"),
    "ExecDetails": ("req_id", "order_id", "contract.symbol", "side", "shares", "price",
                    "exec_id", "acct_number"),
    "CommissionReport": ("exec_id", "commission", "currency"),
    "ContractData": ("req_id", "symbol", "sec_type", "con_id", "exchange", "currency"),
    "ManagedAccounts": ("accounts",),
    "NextValidId": ("order_id",),
    "CurrentTime": ("time",),
    "TickPrice": ("req_id", "tick_type", "price", "size"),
    "TickSize": ("req_id", "tick_type", "size"),
    "Position": ("account", "contract.symbol", "position", "avg_cost"),
    "UpdateAccountValue": ("key", "value", "currency", "account"),
    "UpdatePortfolio": ("contract.symbol", "position", "market_price", "account"),
    "AccountSummary": ("req_id", "account", "tag", "value", "currency"),
    "AccountUpdateMulti": ("req_id", "account", "key", "value", "currency"),
    "AccountDownloadEnd": ("account",),
    "UpdateAccountTime": ("time_stamp",),
})  # fmt: skip
_NAME_WIDTH: Final = 18
_MAX_VALUES: Final = 8


def _lookup(fields: Mapping[str, Any], path: str) -> Any:
    value: Any = fields
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _show(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value) if (not value or " " in value) else value
    if isinstance(value, bool):
        return "1" if value else "0"
    if value is None:
        return "-"
    if isinstance(value, list | dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _flat(fields: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for name, value in fields.items():
        if isinstance(value, Mapping):
            yield from _flat(value, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}", value


def _body(f: RecordedFrame, full: bool) -> str:
    if f.kind is EventKind.HELLO:
        text = f.payload.decode("ascii", errors="replace")
        return text
    if f.kind is EventKind.VERSION and f.fields:
        return f"{f.fields['server_version']} {f.fields['connection_time']}"
    if f.kind is EventKind.RAW:
        return f"{len(f.raw)} bytes"
    if f.values:  # unknown or undecodable: the text as it came
        shown = " ".join(_show(v) for v in f.values[:_MAX_VALUES])
        more = " ..." if len(f.values) > _MAX_VALUES else ""
        return f"[{shown}{more}]"
    if full:
        return " ".join(f"{k}={_show(v)}" for k, v in _flat(f.fields))
    keys = KEY_FIELDS.get(f.name) or tuple(k for k in _IDS if k in f.fields)
    pairs = ((k, _lookup(f.fields, k)) for k in keys)
    return " ".join(f"{k}={_show(v)}" for k, v in pairs if v is not None and v != "")


def format_frame(f: RecordedFrame, *, full: bool = False) -> str:
    """One trace line for `f` (no newline)."""
    who = f"c{f.client_id}" if f.client_id is not None else "c?"
    line = (
        f"{f.ts:%H:%M:%S.%f} #{f.conn} {who} {ARROW[f.direction]} "
        f"{f.name:<{_NAME_WIDTH}} {_body(f, full)}"
    ).rstrip()
    if f.unknown:
        line += "  (unknown message)"
    if f.error is not None:
        line += f"  ! {f.error}"
    return line
