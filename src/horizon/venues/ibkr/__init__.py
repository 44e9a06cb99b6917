"""Interactive Brokers venue (over ib_async). The gateway simulator is its own package,
`ibgateway_sim`."""

from horizon.venues.ibkr.bar_streams import BarSubscription
from horizon.venues.ibkr.config import IbkrConfig
from horizon.venues.ibkr.connection import HealthSample, Lifecycle
from horizon.venues.ibkr.health_server import HealthServer
from horizon.venues.ibkr.history import HistoricalTick
from horizon.venues.ibkr.mapping.allocation import Allocation
from horizon.venues.ibkr.mapping.bars import Bar, BarSize, WhatToShow
from horizon.venues.ibkr.mapping.depth import DepthChange, DepthLevel, DepthSnapshot
from horizon.venues.ibkr.mapping.preview import Preview
from horizon.venues.ibkr.mapping.quotes import Quote, Subscription
from horizon.venues.ibkr.mapping.reference import (
    ContractInfo,
    Greeks,
    OptionChainInfo,
    PnLFigures,
    SymbolMatch,
)
from horizon.venues.ibkr.mapping.tickets import LegRole, Ticket, TicketKind
from horizon.venues.ibkr.market_streams import DepthSubscription, TickSubscription
from horizon.venues.ibkr.readiness import Readiness, RestartWindow
from horizon.venues.ibkr.resilience import ConnectionEvent, ConnectionState
from horizon.venues.ibkr.venue import Ibkr, MetricsSnapshot, VenueStats

__all__ = [
    "Allocation",
    "Bar",
    "BarSize",
    "BarSubscription",
    "ConnectionEvent",
    "ConnectionState",
    "ContractInfo",
    "DepthChange",
    "DepthLevel",
    "DepthSnapshot",
    "DepthSubscription",
    "Greeks",
    "HealthSample",
    "HealthServer",
    "HistoricalTick",
    "Ibkr",
    "IbkrConfig",
    "LegRole",
    "Lifecycle",
    "MetricsSnapshot",
    "OptionChainInfo",
    "PnLFigures",
    "Preview",
    "Quote",
    "Readiness",
    "RestartWindow",
    "Subscription",
    "SymbolMatch",
    "TickSubscription",
    "Ticket",
    "TicketKind",
    "VenueStats",
    "WhatToShow",
]
