"""The paper exchange and its accounts: pure state, an injected clock, seeded randomness.

`Engine` (in `exchange.py`) is the one object the gateway layer talks to; the value types it
takes and returns (in `model.py`) are re-exported here, so callers import from the package.
"""

from ibgateway_sim.engine.exchange import Engine
from ibgateway_sim.engine.model import (
    AccountValue,
    Clock,
    ComboLegRequest,
    Commission,
    ConditionRequest,
    ContractQuery,
    ContractSpec,
    EngineError,
    Event,
    ExecFilter,
    Execution,
    ExecutionMade,
    MarginImpact,
    OrderError,
    OrderRequest,
    OrderState,
    OrderUpdated,
    PositionRow,
    Quote,
)

__all__ = [
    "AccountValue",
    "Clock",
    "ComboLegRequest",
    "Commission",
    "ConditionRequest",
    "ContractQuery",
    "ContractSpec",
    "Engine",
    "EngineError",
    "Event",
    "ExecFilter",
    "Execution",
    "ExecutionMade",
    "MarginImpact",
    "OrderError",
    "OrderRequest",
    "OrderState",
    "OrderUpdated",
    "PositionRow",
    "Quote",
]
