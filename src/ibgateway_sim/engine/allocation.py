"""Financial-advisor allocation: how one order's quantity is split across sub-accounts.

Splits are in whole size increments. Proportional methods use the largest-remainder rule
(ties go to the account listed first), so the parts always add up to the whole.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import ROUND_FLOOR, Decimal
from typing import Protocol

from .model import ContractSpec, OrderRequest
from .validation import Rejection, reject
from .working import NO_ALLOCATION, TEXT_NO_ALLOCATION

METHODS = ("EqualQuantity", "NetLiq", "AvailableEquity", "PctChange", "Ratio")


def largest_remainder(units: int, weights: Sequence[Decimal]) -> list[int]:
    """Split `units` in proportion to `weights` (>= 0); equal split when all are zero."""
    if not weights:
        return []
    total = sum(weights, Decimal(0))
    if total <= 0:
        weights = [Decimal(1)] * len(weights)
        total = Decimal(len(weights))
    exact = [Decimal(units) * w / total for w in weights]
    parts = [int(x.to_integral_value(ROUND_FLOOR)) for x in exact]
    left = units - sum(parts)
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - parts[i]), i))
    for i in order[:left]:
        parts[i] += 1
    return parts


def split(qty: Decimal, increment: Decimal, weights: Sequence[Decimal]) -> list[Decimal]:
    """`qty` split by `weights` into multiples of `increment`."""
    units = int((qty / increment).to_integral_value(ROUND_FLOOR))
    return [increment * p for p in largest_remainder(units, weights)]


def pct_change(positions: Sequence[Decimal], percent: Decimal, increment: Decimal) -> list[Decimal]:
    """PctChange: each account trades |position| x percent/100, rounded down to the
    increment (accounts without a position get nothing)."""
    out = []
    for pos in positions:
        raw = abs(pos) * abs(percent) / 100
        out.append((raw / increment).to_integral_value(ROUND_FLOOR) * increment)
    return out


class FaSetup:
    """Which accounts exist, which are FA masters, the allocation groups and profiles; and
    the rule that turns an order's account / faGroup / faProfile into per-account targets.

    A master account ("DF..." paper, "F" + digits live) holds no positions: an order to it,
    or with no account in a multi-account login, needs an allocation (TWS error 436).
    `fa_groups` maps a group to its sub-accounts (default group "All" = every sub-account);
    `fa_profiles` maps a profile to account -> ratio. An `fa_profile` that names no profile
    but names a group is treated as that group (IB has merged profiles into groups).
    """

    def __init__(
        self,
        accounts: Sequence[str],
        groups: Mapping[str, Sequence[str]],
        profiles: Mapping[str, Mapping[str, Decimal]],
    ) -> None:
        self.accounts = tuple(accounts)
        self.masters = frozenset(a for a in self.accounts if is_master(a))
        self.subs = tuple(a for a in self.accounts if a not in self.masters)
        self.groups: dict[str, tuple[str, ...]] = {"All": self.subs}
        self.groups.update({k: tuple(v) for k, v in groups.items()})
        self.profiles = {k: dict(v) for k, v in profiles.items()}

    def resolve(
        self, req: OrderRequest, spec: ContractSpec, view: AccountView
    ) -> tuple[str, dict[str, Decimal]]:
        """(account, {}) for a single-account order, ("", targets) for an allocated one."""
        name = req.fa_group or req.fa_profile
        if name:
            return "", self._targets(req, spec, name, view)
        account = req.account
        if not account:
            if len(self.subs) != 1:
                raise Rejection(NO_ALLOCATION, TEXT_NO_ALLOCATION)
            account = self.subs[0]
        if account not in self.accounts:
            raise reject(f"Invalid account code {account!r}")
        if account in self.masters:
            raise Rejection(NO_ALLOCATION, TEXT_NO_ALLOCATION)
        return account, {}

    def _targets(
        self, req: OrderRequest, spec: ContractSpec, name: str, view: AccountView
    ) -> dict[str, Decimal]:
        inc = spec.size_increment
        profile = self.profiles.get(req.fa_profile) if req.fa_profile else None
        if profile is not None:
            members = tuple(profile)
            parts = split(req.quantity, inc, [profile[a] for a in members])
        else:
            members = self.groups.get(name, ())
            if not members:
                raise reject(f"Unknown allocation group {name!r}")
            parts = self._by_method(req, spec, members, view)
        unknown = [a for a in members if a not in self.accounts or a in self.masters]
        if unknown:
            raise reject(f"Invalid account code {unknown[0]!r}")
        targets = {a: q for a, q in zip(members, parts, strict=True) if q > 0}
        if not targets:
            raise reject("The allocation gives every account zero")
        return targets

    @staticmethod
    def _by_method(
        req: OrderRequest, spec: ContractSpec, members: Sequence[str], view: AccountView
    ) -> list[Decimal]:
        inc = spec.size_increment
        method = req.fa_method or "EqualQuantity"
        if method == "EqualQuantity":
            return split(req.quantity, inc, [Decimal(1)] * len(members))
        if method in ("NetLiq", "AvailableEquity"):
            return split(
                req.quantity, inc, [max(view.weight(a, method), Decimal(0)) for a in members]
            )
        if method == "PctChange":
            try:
                pct = Decimal(req.fa_percentage)
            except ArithmeticError as exc:
                raise reject(f"Invalid percentage {req.fa_percentage!r}") from exc
            return pct_change([view.position(a, spec.con_id) for a in members], pct, inc)
        raise reject(f"Unknown allocation method {method!r}")


class AccountView(Protocol):
    """What allocation reads from the ledger."""

    def weight(self, account: str, method: str) -> Decimal: ...
    def position(self, account: str, con_id: int) -> Decimal: ...


def is_master(account: str) -> bool:
    """FA master accounts: "DF..." (paper) or "F" + digits (live)."""
    return account.startswith("DF") or (account[:1] == "F" and account[1:].isdigit())
