"""ib_async's `Wrapper.orderStatus`, the same effects without formatting a log line nobody reads.

Every orderStatus (two or three an order) builds ``f"orderStatus: {trade}"`` before the
logger decides to drop it: the Trade's repr is ~60% of the method's cost even with the
venue's cheaper Order and Contract reprs, and `dataclassAsDict` of the status another ~10%.
`order_status` makes the same comparison field by field, the same update, log entry, events
and (for a logger that will emit it) the same text. Installed on the venue's own wrapper only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from types import MethodType
from typing import Any, Final

from ib_async import OrderStatus, TradeLogEntry
from ib_async.wrapper import Wrapper

# the fields orderStatus updates, in ib_async's order (orderId is the key, never updated)
STATUS_FIELDS: Final = (
    "status", "filled", "remaining", "avgFillPrice", "permId", "parentId", "lastFillPrice",
    "clientId", "whyHeld", "mktCapPrice",
)  # fmt: skip


def order_status(
    self: Wrapper,
    # ib_async's parameter names, so a call by keyword reads the same
    orderId: int,
    status: str,
    filled: float,
    remaining: float,
    avgFillPrice: float,
    permId: int,
    parentId: int,
    lastFillPrice: float,
    clientId: int,
    whyHeld: str,
    mktCapPrice: float = 0.0,
) -> None:
    """`Wrapper.orderStatus`, term for term but the two costs above."""
    trade = self.trades.get(self.orderKey(clientId, orderId, permId))
    if not trade:
        self._logger.error(
            "orderStatus: No order found for orderId %s and clientId %s", orderId, clientId
        )
        return
    current = trade.orderStatus
    old_status = current.status
    new = (
        status, filled, remaining, avgFillPrice, permId, parentId, lastFillPrice, clientId,
        whyHeld, mktCapPrice,
    )  # fmt: skip
    # ib_async's `curr != {**curr, **new}`: a dict compares its values by identity, then ==
    values: dict[str, Any] = current.__dict__
    changed = False
    for name, value in zip(STATUS_FIELDS, new, strict=True):
        held = values[name] if name in values else getattr(current, name)
        if not (held is value or held == value):
            changed = True
            break
    msg: str | None
    if changed:
        values.update(zip(STATUS_FIELDS, new, strict=True))
        msg = ""
    elif status == "Submitted" and trade.log and trade.log[-1].message == "Modify":
        msg = "Modified"  # order modifications are acknowledged
    else:
        return
    trade.log.append(TradeLogEntry(self.lastTime, status, msg))
    logger = self._logger
    if logger.isEnabledFor(logging.INFO):
        logger.info(f"orderStatus: {trade}")
    self.ib.orderStatusEvent.emit(trade)
    trade.statusEvent.emit(trade)
    if status != old_status:
        if status == OrderStatus.Filled:
            trade.filledEvent.emit(trade)
        elif status == OrderStatus.Cancelled:
            trade.cancelledEvent.emit(trade)


def install(wrapper: Wrapper) -> None:
    """Use `order_status` for this wrapper's orderStatus messages (ib_async's decoder looks the
    method up by name on every message); other wrappers keep ib_async's."""
    method: Callable[..., None] = MethodType(order_status, wrapper)
    wrapper.orderStatus = method  # type: ignore[method-assign]
