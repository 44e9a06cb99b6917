"""Interactive Brokers venue (over ib_async). The gateway simulator is its own package,
`ibgateway_sim`."""

from horizon.venues.ibkr.config import IbkrConfig
from horizon.venues.ibkr.resilience import ConnectionEvent, ConnectionState
from horizon.venues.ibkr.venue import Ibkr

__all__ = ["ConnectionEvent", "ConnectionState", "Ibkr", "IbkrConfig"]
