"""The venue's own order ledger: one record per order id, surviving reconnects.

ib_async clears its trades on every disconnect, and the gateway re-announces only orders that
are still open. So the venue keeps its own record of every order it placed, updates it from
ib_async's events, and reconciles it after each (re)connect: an order the gateway no longer
knows gets its true final state instead of hanging in "pending" forever.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from ib_async import Contract, Order

from horizon.core.enums import OrderStatus
from horizon.core.types import OrderAction, VenueOrder
from horizon.venues.ibkr.mapping.status import order_status_from_ib

# ib_async writes this pseudo-status onto a trade when IB sends an order *warning*; the order
# is still live at the broker, so the venue keeps the last real status instead.
IB_VALIDATION_WARNING = "ValidationError"

LOST_BEFORE_ACK = "lost before the gateway acknowledged it"
FINISHED_UNSEEN = (
    "finished at the gateway while disconnected (reported neither open nor completed there)"
)
REFUSED_BY_PACING = "refused by the gateway's pacing (IB error 100); not placed"
NEVER_ACKNOWLEDGED = "no acknowledgement from the gateway, which does not know the order"


@dataclass(slots=True, kw_only=True)
class OrderRecord:
    order_id: int
    market_id: str
    action: OrderAction | None
    ib_order: Order  # as last sent
    contract: Contract  # qualified
    account: str
    ib_status: str = "PendingSubmit"
    filled: Decimal = Decimal(0)
    remaining: Decimal | None = None
    avg_fill_price: Decimal | None = None
    perm_id: int = 0
    reason: str | None = None
    rejected: bool = False
    acknowledged: bool = False
    updated_ts: float | None = None  # time.time() of the last change (a float: cheap)
    # IB error codes the order got, in order (a tuple: no list per resting order to collect)
    error_codes: tuple[int, ...] = ()
    # ib_async's raw (status, filled, remaining, avgFillPrice, permId) last applied
    last_raw: tuple[object, ...] | None = None
    # the order's executions as the venue captured them: exec base -> shares (latest revision)
    executions: dict[str, Decimal] = field(default_factory=dict)
    executed: Decimal = Decimal(0)  # their sum, kept as they come
    sent_at: float | None = None  # monotonic time of the placeOrder; None once acknowledged
    status: OrderStatus = OrderStatus.PENDING_NEW  # derived; kept current by the methods below
    # a finished order compacted to what order() reports (its ib_async objects let go)
    final_view: VenueOrder | None = None

    def apply_status(
        self,
        *,
        ib_status: str,
        filled: Decimal,
        remaining: Decimal,
        avg_fill_price: Decimal | None,
        perm_id: int,
        at: float,
    ) -> bool:
        """Apply an orderStatus; return True if anything changed. Terminal states stick."""
        if ib_status == IB_VALIDATION_WARNING or not ib_status:
            return False
        if self.status.is_terminal and ib_status not in ("Filled", "Cancelled", "ApiCancelled"):
            return False
        if self.rejected:
            return False
        before = (self.ib_status, self.filled, self.remaining, self.perm_id)
        self.ib_status = sys.intern(ib_status)  # one "Filled" for every record, not one each
        self.filled = max(self.filled, filled)
        self.remaining = remaining
        if avg_fill_price is not None and avg_fill_price > 0:
            self.avg_fill_price = avg_fill_price
        if perm_id:
            self.perm_id = perm_id
        if ib_status != "PendingSubmit":
            self.acknowledged = True
        self.updated_ts = at
        self.status = order_status_from_ib(self.ib_status, self.filled, self.remaining)
        return before != (self.ib_status, self.filled, self.remaining, self.perm_id)

    def note_execution(self, exec_base: str, shares: Decimal, perm_id: int) -> bool:
        """Count an execution of this order; True if the filled quantity grew.

        Executions are the one report of an order that survives a lost acknowledgement (the
        gateway replays the day's executions on every connect): they carry the perm id that
        finds the order among the completed ones, and its filled quantity.
        """
        self.executed += shares - self.executions.get(exec_base, Decimal(0))
        self.executions[exec_base] = shares
        if self.rejected and self.reason in (LOST_BEFORE_ACK, REFUSED_BY_PACING):
            # it reached the gateway after all: its own reports decide from here
            self.rejected, self.reason = False, None
            self.acknowledged = True
        if perm_id and not self.perm_id:
            self.perm_id = perm_id
        executed = self.executed
        if executed <= self.filled:
            return False
        self.filled = executed
        self.status = order_status_from_ib(self.ib_status, self.filled, self.remaining)
        return True

    @property
    def updated_at(self) -> datetime | None:
        """When the record last changed, tz-aware UTC."""
        ts = self.updated_ts
        return None if ts is None else datetime.fromtimestamp(ts, UTC)

    def conclude(
        self, ib_status: str, filled: Decimal, at: float, *, reason: str | None = None
    ) -> None:
        """A final state inferred by reconciliation (the gateway no longer reports it)."""
        self.ib_status = ib_status
        self.filled = max(self.filled, filled)
        self.remaining = Decimal(0)
        self.acknowledged = True
        self.reason = reason or self.reason
        self.updated_ts = at
        self.status = order_status_from_ib(ib_status, self.filled, self.remaining)

    def reject(self, reason: str, at: float) -> None:
        self.rejected = True
        self.reason = reason
        self.updated_ts = at
        self.status = OrderStatus.REJECTED
