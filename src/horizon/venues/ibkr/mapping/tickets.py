"""Bracket and OCO tickets: the linked ib_async Orders of one Horizon ticket. Pure; no I/O.

A *ticket* is several orders that live and die together:

- a **bracket** is an entry order plus a take-profit (limit) and a stop-loss (stop) on the
  other side, both children of the entry (``parentId``). Only the last child is sent with
  ``transmit=True``; the gateway holds the parent and the first child until it arrives, so a
  parent can never work without its protection. When the parent fills the children start
  working; the fill of one child cancels (or, after a partial fill, reduces) the other.
- an **OCO** set is orders in one OCA group (``ocaGroup``): the fill of one cancels the others
  (``ocaType`` 1), or reduces them by the filled quantity (2 with block, 3 without).

Everything is validated before the first order is built, so an invalid ticket sends nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from ib_async import Contract, Order

from horizon.core.enums import OrderType, Side, TimeInForce
from horizon.core.types import OrderAction, to_decimal
from horizon.errors import InvalidOrder, UnknownTicket
from horizon.venues.ibkr.mapping.orders import to_ib_order

__all__ = [
    "OCA_TYPES",
    "Leg",
    "LegRole",
    "Ticket",
    "TicketKind",
    "bracket_actions",
    "bracket_legs",
    "check_oca_type",
    "oco_legs",
]


class TicketKind(StrEnum):
    BRACKET = "bracket"
    OCO = "oco"


class LegRole(StrEnum):
    ENTRY = "entry"
    TAKE_PROFIT = "take_profit"
    STOP_LOSS = "stop_loss"
    OCO = "oco"


# IB ocaType: what the fill of one member does to the others
OCA_TYPES: Final = MappingProxyType(
    {
        1: "cancel the other orders of the group (with block)",
        2: "reduce the other orders by the filled quantity (with block)",
        3: "reduce the other orders by the filled quantity (without block)",
    }
)

_OTHER_SIDE: Final = MappingProxyType({Side.BUY: Side.SELL, Side.SELL: Side.BUY})
# an IOC/OPG entry would kill its own protection at once; children rest DAY instead
_CHILD_TIF: Final = MappingProxyType(
    {TimeInForce.IOC: TimeInForce.DAY, TimeInForce.OPG: TimeInForce.DAY}
)
_ENTRY_TYPES: Final = frozenset(
    {OrderType.MARKET, OrderType.LIMIT, OrderType.STOP, OrderType.STOP_LIMIT}
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Leg:
    """One order of a ticket: what Horizon asked for and the ib_async Order that carries it."""

    role: LegRole
    action: OrderAction
    order: Order


@dataclass(frozen=True, slots=True, kw_only=True)
class Ticket:
    """A group of orders placed as one; `order_ids` are in placement order.

    For a bracket they are (entry, take_profit, stop_loss); for an OCO set, the caller's order.
    """

    ticket_id: str
    kind: TicketKind
    order_ids: tuple[str, ...]
    roles: tuple[LegRole, ...]
    market_ids: tuple[str, ...]
    oca_group: str | None = None
    oca_type: int | None = None

    def leg(self, role: LegRole | str) -> str:
        """The order id of the (first) leg with `role`, e.g. ``ticket.leg("stop_loss")``."""
        try:
            wanted = LegRole(role)
        except ValueError:
            roles = ", ".join(r.value for r in LegRole)
            raise UnknownTicket(self.ticket_id, f"{role!r} is not a leg role ({roles})") from None
        for order_id, have in zip(self.order_ids, self.roles, strict=True):
            if have is wanted:
                return order_id
        have_roles = ", ".join(r.value for r in self.roles)
        raise UnknownTicket(self.ticket_id, f"has no {wanted.value} leg (it has {have_roles})")


def _entry_price(entry: OrderAction) -> tuple[str, Decimal | None] | None:
    """(field, price) the bracket is judged against; None for a market entry."""
    if entry.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT):
        return "limit_price", entry.limit_price
    if entry.order_type is OrderType.STOP:
        return "stop_price", entry.stop_price
    return None


def bracket_actions(
    entry: OrderAction, take_profit: object, stop_loss: object
) -> tuple[OrderAction, OrderAction, OrderAction]:
    """Validate a bracket and return its (entry, take-profit, stop-loss) actions.

    A buy bracket needs ``stop_loss < entry price < take_profit`` (a sell bracket the mirror);
    with a market entry only ``stop_loss < take_profit`` can be checked. The entry price is the
    limit price of a limit / stop-limit entry, the stop price of a stop entry. Trailing-stop
    entries are refused: their price moves, so the bracket could invert after it is accepted.
    The children copy the entry's quantity, account, TIF (IOC/OPG become DAY, else the children
    would die at once) and outside-RTH flag; their client order id is the entry's plus
    ``:tp`` / ``:sl``.
    """
    if entry.order_type not in _ENTRY_TYPES:
        raise InvalidOrder(
            "entry",
            f"a bracket entry must be market, limit, stop or stop_limit, not "
            f"{entry.order_type.value}",
        )
    tp = to_decimal("take_profit", take_profit)
    sl = to_decimal("stop_loss", stop_loss)
    for name, value in (("take_profit", tp), ("stop_loss", sl)):
        if value <= 0:
            raise InvalidOrder(name, f"must be positive, got {value}")
    buy = entry.side is Side.BUY
    side = entry.side.value
    ref = _entry_price(entry)
    if ref is not None:
        field, price = ref
        assert price is not None  # OrderAction requires it for these order types
        if (sl >= price) if buy else (sl <= price):
            where = "below" if buy else "above"
            raise InvalidOrder(
                "stop_loss",
                f"a {side} bracket needs the stop loss {where} the entry {field} {price}, got {sl}",
            )
        if (tp <= price) if buy else (tp >= price):
            where = "above" if buy else "below"
            raise InvalidOrder(
                "take_profit",
                f"a {side} bracket needs the take profit {where} the entry {field} {price}, "
                f"got {tp}",
            )
    elif (sl >= tp) if buy else (sl <= tp):
        where = "below" if buy else "above"
        raise InvalidOrder(
            "stop_loss",
            f"a {side} bracket needs the stop loss {where} the take profit {tp}, got {sl}",
        )
    tif = _CHILD_TIF.get(entry.tif, entry.tif)
    common = {
        "market_id": entry.market_id,
        "side": _OTHER_SIDE[entry.side],
        "quantity": entry.quantity,
        "tif": tif,
        "good_till": entry.good_till if tif is TimeInForce.GTD else None,
        "account": entry.account,
        "outside_rth": entry.outside_rth,
    }
    coid = entry.client_order_id
    take = OrderAction(
        order_type=OrderType.LIMIT,
        limit_price=tp,
        client_order_id=f"{coid}:tp" if coid else None,
        **common,  # type: ignore[arg-type]
    )
    stop = OrderAction(
        order_type=OrderType.STOP,
        stop_price=sl,
        client_order_id=f"{coid}:sl" if coid else None,
        **common,  # type: ignore[arg-type]
    )
    return entry, take, stop


def bracket_legs(
    entry: OrderAction,
    take_profit: object,
    stop_loss: object,
    *,
    account: str,
    order_ids: Sequence[int],
    watched: Mapping[str, Contract] = MappingProxyType({}),
) -> list[Leg]:
    """The three linked Orders of a bracket, in the order they must be placed.

    `order_ids` are three fresh ids (the parent's is needed before it is placed, since the
    children name it in ``parentId``). transmit is False on the entry and the take-profit and
    True on the stop-loss only: placing them in this order means the gateway never works a
    parent whose stop is not there yet.
    """
    if len(order_ids) != 3 or len(set(order_ids)) != 3 or min(order_ids) <= 0:
        raise ValueError(f"a bracket needs three distinct positive order ids, got {order_ids!r}")
    actions = bracket_actions(entry, take_profit, stop_loss)
    parent_id = order_ids[0]
    legs = []
    roles = (LegRole.ENTRY, LegRole.TAKE_PROFIT, LegRole.STOP_LOSS)
    for i, (role, action, order_id) in enumerate(zip(roles, actions, order_ids, strict=True)):
        order = to_ib_order(action, account=account, watched=watched)
        order.orderId = order_id
        order.parentId = 0 if role is LegRole.ENTRY else parent_id
        order.transmit = i == len(roles) - 1
        legs.append(Leg(role=role, action=action, order=order))
    return legs


def check_oca_type(oca_type: object) -> int:
    """IB's ocaType must be 1, 2 or 3."""
    if isinstance(oca_type, bool) or not isinstance(oca_type, int) or oca_type not in OCA_TYPES:
        allowed = "; ".join(f"{k}: {v}" for k, v in OCA_TYPES.items())
        raise InvalidOrder("oca_type", f"must be one of {allowed}; got {oca_type!r}")
    return oca_type


def oco_legs(
    actions: Sequence[OrderAction],
    *,
    account: str,
    order_ids: Sequence[int],
    oca_group: str,
    oca_type: int = 1,
    watched: Mapping[str, Contract] = MappingProxyType({}),
) -> list[Leg]:
    """Orders of one OCA group, one per action, in the order they must be placed.

    Every leg but the last has transmit=False and the last transmit=True, so the gateway
    holds the group until it is complete and releases it as one: no leg can fill before its
    siblings are in the group (placed one by one, a marketable first leg fills at once and
    the second, arriving after, is never cancelled). At least two actions; `oca_group` must
    be unique among the account's live groups (IB merges orders of equal group names, even
    across days and clients).
    """
    check_oca_type(oca_type)
    actions = list(actions)
    if len(actions) < 2:
        raise InvalidOrder(
            "actions", f"an OCO ticket needs at least two orders, got {len(actions)}"
        )
    for i, action in enumerate(actions):
        if not isinstance(action, OrderAction):
            raise InvalidOrder(
                f"actions[{i}]", f"expected an OrderAction, got {type(action).__name__}"
            )
    if not oca_group.strip():
        raise ValueError("oca_group must be a non-empty name")
    if len(order_ids) != len(actions) or len(set(order_ids)) != len(actions):
        raise ValueError(f"need {len(actions)} distinct order ids, got {order_ids!r}")
    legs = []
    last = len(actions) - 1
    for i, (action, order_id) in enumerate(zip(actions, order_ids, strict=True)):
        order = to_ib_order(action, account=account, watched=watched)
        order.orderId = order_id
        order.ocaGroup = oca_group
        order.ocaType = oca_type
        order.transmit = i == last
        legs.append(Leg(role=LegRole.OCO, action=action, order=order))
    return legs
