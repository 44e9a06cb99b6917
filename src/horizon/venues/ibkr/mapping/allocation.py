"""Financial-advisor allocation: an allocation spec on an ib_async Order, and a block split
into per-account child orders. Pure; no I/O.

Two ways to trade one block for many sub-accounts:

- an **FA allocation** (`Allocation`): one order to the advisor login; IB splits each fill
  across the group's accounts by the method (EqualQuantity, NetLiq, AvailableEquity,
  PctChange) or by a profile's ratios. Each execution names the sub-account it went to.
- **per-account child orders** (`split_block`): Horizon splits the block by weights into one
  order per account, deterministically (largest remainder, ties to the account listed first),
  the parts always summing exactly to the block.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from enum import StrEnum
from typing import Final

from ib_async import Order

from horizon.core.types import OrderAction, to_decimal
from horizon.errors import InvalidOrder

__all__ = [
    "FA_PROFILE_DESUPPORT",
    "Allocation",
    "FaMethod",
    "apply_allocation",
    "block_actions",
    "split_block",
]

# From this server version on, the API has no faProfile field: IB merged profiles into groups,
# and ib_async silently drops order.faProfile. A profile then travels as the group name.
FA_PROFILE_DESUPPORT: Final = 177


class FaMethod(StrEnum):
    """How IB splits an FA group order (the values are IB's faMethod strings)."""

    EQUAL_QUANTITY = "EqualQuantity"
    NET_LIQ = "NetLiq"
    AVAILABLE_EQUITY = "AvailableEquity"
    PCT_CHANGE = "PctChange"


@dataclass(frozen=True, slots=True, kw_only=True)
class Allocation:
    """Where an FA order's fills go: `fa_group` + `method`, or a `fa_profile`.

    ``Allocation(fa_group="Growth")`` splits equally; ``method=FaMethod.NET_LIQ`` by net
    liquidation value; ``method="PctChange", percentage=Decimal("50")`` grows (or, negative,
    shrinks) each account's position by that percentage, IB computing the quantities (the
    order's own quantity is then ignored). ``Allocation(fa_profile="Income")`` uses a profile's
    ratios.
    """

    fa_group: str | None = None
    method: FaMethod | None = None
    percentage: Decimal | None = None
    fa_profile: str | None = None

    def __post_init__(self) -> None:
        group = self.fa_group.strip() if isinstance(self.fa_group, str) else self.fa_group
        profile = self.fa_profile.strip() if isinstance(self.fa_profile, str) else self.fa_profile
        if (group is None) == (profile is None):
            raise InvalidOrder("allocation", "give exactly one of fa_group or fa_profile")
        if group == "" or profile == "":
            raise InvalidOrder("allocation", "the FA group / profile name must not be empty")
        object.__setattr__(self, "fa_group", group)
        object.__setattr__(self, "fa_profile", profile)
        if profile is not None:
            if self.method is not None or self.percentage is not None:
                raise InvalidOrder(
                    "allocation",
                    "a profile carries its own ratios; method/percentage are "
                    "for fa_group allocations",
                )
            return
        try:
            method = FaMethod(self.method or FaMethod.EQUAL_QUANTITY)
        except ValueError:
            allowed = ", ".join(m.value for m in FaMethod)
            raise InvalidOrder(
                "allocation", f"method {self.method!r} is not one of {allowed}"
            ) from None
        object.__setattr__(self, "method", method)
        if method is FaMethod.PCT_CHANGE:
            if self.percentage is None:
                raise InvalidOrder("percentage", "required with method PctChange, e.g. '50'")
            pct = to_decimal("percentage", self.percentage)
            if pct == 0 or not -100 <= pct <= 1000:
                raise InvalidOrder("percentage", f"must be non-zero, -100..1000; got {pct}")
            object.__setattr__(self, "percentage", pct)
        elif self.percentage is not None:
            raise InvalidOrder("percentage", f"only used with PctChange, not {method.value}")

    @property
    def ib_quantity_from_positions(self) -> bool:
        """True when IB computes the quantity (PctChange): the order is sent with size 0."""
        return self.method is FaMethod.PCT_CHANGE


def apply_allocation(order: Order, allocation: Allocation, *, server_version: int) -> Order:
    """A copy of `order` allocated by `allocation`, with no single account set.

    On servers >= 177 (`FA_PROFILE_DESUPPORT`) the API no longer carries faProfile and
    ib_async drops it without a word: the order would go out with no allocation at all and be
    rejected (436), or worse, booked to a default. A profile is then sent as faGroup, which is
    how IB resolves it since profiles were merged into groups.
    """
    new = copy.deepcopy(order)
    new.account = ""
    new.faGroup = new.faMethod = new.faPercentage = new.faProfile = ""
    if allocation.fa_profile is not None:
        if server_version >= FA_PROFILE_DESUPPORT:
            new.faGroup = allocation.fa_profile
        else:
            new.faProfile = allocation.fa_profile
        return new
    assert allocation.fa_group is not None and allocation.method is not None
    new.faGroup = allocation.fa_group
    new.faMethod = allocation.method.value
    if allocation.method is FaMethod.PCT_CHANGE:
        new.faPercentage = f"{allocation.percentage:f}"
        new.totalQuantity = 0.0
    return new


def split_block(
    quantity: Decimal, weights: Mapping[str, object], *, increment: Decimal = Decimal(1)
) -> dict[str, Decimal]:
    """Split `quantity` across accounts in proportion to `weights`, in whole `increment`s.

    Largest-remainder rounding: every account first gets the floor of its exact share, and the
    units left go one each to the largest remainders, ties to the account listed first. So the
    parts sum exactly to `quantity`, and the same inputs always give the same split. Accounts
    whose share rounds to zero are left out. Weights are ratios (``{"A": 1, "B": 3}`` is 25/75);
    floats are refused like everywhere in Horizon.
    """
    qty = to_decimal("quantity", quantity)
    inc = to_decimal("increment", increment)
    if inc <= 0:
        raise InvalidOrder("increment", f"must be positive, got {inc}")
    if qty <= 0:
        raise InvalidOrder("quantity", f"must be positive, got {qty}")
    if qty % inc != 0:
        raise InvalidOrder("quantity", f"the block {qty} is not a multiple of {inc}")
    if not weights:
        raise InvalidOrder("allocation", "no accounts to allocate to")
    accounts = list(weights)
    ws = []
    for account in accounts:
        if not isinstance(account, str) or not account.strip():
            raise InvalidOrder("allocation", f"account ids must be non-empty strings: {account!r}")
        w = to_decimal(f"allocation[{account}]", weights[account])
        if w < 0:
            raise InvalidOrder(f"allocation[{account}]", f"weights must be >= 0, got {w}")
        ws.append(w)
    total = sum(ws, Decimal(0))
    if total <= 0:
        raise InvalidOrder("allocation", "the weights add up to zero")
    units = int(qty / inc)
    exact = [Decimal(units) * w / total for w in ws]
    parts = [int(x.to_integral_value(ROUND_FLOOR)) for x in exact]
    left = units - sum(parts)
    by_remainder = sorted(range(len(accounts)), key=lambda i: (-(exact[i] - parts[i]), i))
    for i in by_remainder[:left]:
        parts[i] += 1
    return {a: inc * p for a, p in zip(accounts, parts, strict=True) if p > 0}


def block_actions(action: OrderAction, parts: Mapping[str, Decimal]) -> list[OrderAction]:
    """One child action per account of a split block; client order ids get ``:<account>``."""
    if action.account is not None:
        raise InvalidOrder(
            "account", "a block is split across accounts; leave the block's account unset"
        )
    coid = action.client_order_id
    return [
        dataclasses.replace(
            action,
            account=account,
            quantity=qty,
            client_order_id=f"{coid}:{account}" if coid else None,
        )
        for account, qty in parts.items()
    ]
