"""Interactive Brokers venue (over ib_async) and its protocol-faithful gateway simulator.

The names below are exported lazily, so `import horizon.venues.ibkr.simulator` never loads
ib_async.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Final

from horizon.venues.ibkr.resilience import ConnectionEvent, ConnectionState

if TYPE_CHECKING:
    from horizon.venues.ibkr.config import IbkrConfig
    from horizon.venues.ibkr.connection import HealthSample, Lifecycle
    from horizon.venues.ibkr.health_server import HealthServer
    from horizon.venues.ibkr.mapping.allocation import Allocation
    from horizon.venues.ibkr.mapping.preview import Preview
    from horizon.venues.ibkr.mapping.quotes import Quote, Subscription
    from horizon.venues.ibkr.mapping.tickets import LegRole, Ticket, TicketKind
    from horizon.venues.ibkr.readiness import Readiness, RestartWindow
    from horizon.venues.ibkr.venue import Ibkr, MetricsSnapshot, VenueStats

_LAZY: Final = {
    "Ibkr": "venue",
    "VenueStats": "venue",
    "MetricsSnapshot": "venue",
    "IbkrConfig": "config",
    "HealthSample": "connection",
    "Lifecycle": "connection",
    "HealthServer": "health_server",
    "Readiness": "readiness",
    "RestartWindow": "readiness",
    "Allocation": "mapping.allocation",
    "Preview": "mapping.preview",
    "Quote": "mapping.quotes",
    "Subscription": "mapping.quotes",
    "Ticket": "mapping.tickets",
    "TicketKind": "mapping.tickets",
    "LegRole": "mapping.tickets",
}

__all__ = [
    "Allocation",
    "ConnectionEvent",
    "ConnectionState",
    "HealthSample",
    "HealthServer",
    "Ibkr",
    "IbkrConfig",
    "LegRole",
    "Lifecycle",
    "MetricsSnapshot",
    "Preview",
    "Quote",
    "Readiness",
    "RestartWindow",
    "Subscription",
    "Ticket",
    "TicketKind",
    "VenueStats",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
