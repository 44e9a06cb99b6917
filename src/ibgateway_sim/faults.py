"""The fault plan: which misbehaviours the gateway shows next. Pure state, read by the gateway.

Faults are the things a real IB Gateway does to its clients in production: it restarts every
night, wedges half-open behind a proxy, answers slowly, repeats an execution, reorders or loses
a commission report, corrects an execution afterwards, and silently loses an order sent in the
last instant before a restart. Tests arm them through `GatewaySimulator`; the gateway layer
consults this plan at the one point where each fault bites (sessions: freeze and delay; the
order handlers: lost orders; the dispatcher: the execution faults).

"Next" faults are counters: arming one twice affects the next two occurrences.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum


class OneShot(Enum):
    DUPLICATE_EXEC = "duplicate_next_exec"  # next execDetails sent twice
    COMMISSION_FIRST = "commission_before_exec"  # next commissionReport before its execDetails
    DROP_COMMISSION = "drop_next_commission"  # next commissionReport never sent live
    DROP_ORDER = "drop_next_order"  # next placeOrder never reaches the engine
    DROP_AFTER_ORDER = "drop_after_next_order"  # the connection drops after the next one


@dataclass(frozen=True, slots=True)
class Correction:
    """An execution correction to apply after the next execution."""

    shares: Decimal | None = None
    price: Decimal | None = None


@dataclass(slots=True)
class FaultPlan:
    frozen: bool = False  # half-open: bytes are accepted, nothing is answered
    delay: float = 0.0  # seconds added before every reply
    pending: dict[OneShot, int] = field(default_factory=lambda: dict.fromkeys(OneShot, 0))
    corrections: deque[Correction] = field(default_factory=deque)
    # market data: farms down ("market", "hmds", "secdef"), stale (frozen) prices, a
    # competing live session holding the data; streams pause while any of them lasts
    farms_down: set[str] = field(default_factory=set)
    stale_prices: bool = False
    competing_session: bool = False
    armed: int = field(init=False, default=0)  # sum of `pending`: none armed is one test

    def __post_init__(self) -> None:
        self.armed = sum(self.pending.values())

    @property
    def market_data_paused(self) -> bool:
        return "market" in self.farms_down or self.stale_prices or self.competing_session

    def arm(self, fault: OneShot) -> None:
        self.pending[fault] += 1
        self.armed += 1

    def take(self, fault: OneShot) -> bool:
        """Consume one armed occurrence of `fault`; False if none is armed (asked of every
        order and execution: an enum key hashes slowly, so none armed is answered first)."""
        if not self.armed or self.pending[fault] <= 0:
            return False
        self.pending[fault] -= 1
        self.armed -= 1
        return True

    def take_correction(self) -> Correction | None:
        return self.corrections.popleft() if self.corrections else None
