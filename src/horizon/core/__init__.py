"""Horizon's venue-independent vocabulary: enums, domain values, the Venue protocol, pacing."""

from horizon.core.enums import OrderStatus, OrderType, Side, TimeInForce
from horizon.core.ratelimit import TokenBucket
from horizon.core.types import Balance, OrderAction, Position, VenueFill, VenueOrder
from horizon.core.venue import Venue

__all__ = [
    "Balance",
    "OrderAction",
    "OrderStatus",
    "OrderType",
    "Position",
    "Side",
    "TimeInForce",
    "TokenBucket",
    "Venue",
    "VenueFill",
    "VenueOrder",
]
