"""Interactive Brokers venue (over ib_async) and its protocol-faithful gateway simulator.

`Ibkr` is exported lazily, so `import horizon.venues.ibkr.simulator` never loads ib_async.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from horizon.venues.ibkr.resilience import ConnectionEvent, ConnectionState

if TYPE_CHECKING:
    from horizon.venues.ibkr.config import IbkrConfig
    from horizon.venues.ibkr.venue import Ibkr

__all__ = ["ConnectionEvent", "ConnectionState", "Ibkr", "IbkrConfig"]


def __getattr__(name: str) -> Any:
    if name == "Ibkr":
        from horizon.venues.ibkr.venue import Ibkr

        return Ibkr
    if name == "IbkrConfig":
        from horizon.venues.ibkr.config import IbkrConfig

        return IbkrConfig
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
