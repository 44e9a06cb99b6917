"""What the engine's tests share: contract ids of the universe, a clock tests move by hand,
and small builders and filters of engine requests and events."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

from ibgateway_sim.engine import (
    ContractQuery,
    Event,
    Execution,
    ExecutionMade,
    OrderError,
    OrderRequest,
    OrderUpdated,
)

AAPL, MSFT, SPY, IBM = 265598, 272093, 756733, 8314
T0 = 1_795_000_000.0  # 2026-11-18 11:06:40 UTC


class FakeClock:
    def __init__(self, t: float = T0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def order(oid: int, action: str = "BUY", qty: str | int = 100, otype: str = "MKT",
          con_id: int = AAPL, client_id: int = 1, exchange: str = "", **kw: Any
          ) -> OrderRequest:
    return OrderRequest(client_id=client_id, order_id=oid,
                        contract=ContractQuery(con_id=con_id, exchange=exchange),
                        action=action, quantity=D(qty), order_type=otype, **kw)


def statuses(events: list[Event], oid: int | None = None) -> list[str]:
    return [e.order.status for e in events
            if isinstance(e, OrderUpdated) and (oid is None or e.order.order_id == oid)]


def fills(events: list[Event]) -> list[Execution]:
    return [e.execution for e in events if isinstance(e, ExecutionMade)]


def errors(events: list[Event]) -> list[tuple[int, int]]:
    return [(e.order_id, e.code) for e in events if isinstance(e, OrderError)]


def q(**kw: Any) -> ContractQuery:
    return ContractQuery(**kw)
