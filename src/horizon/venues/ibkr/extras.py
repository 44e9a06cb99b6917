"""Bracket / OCO tickets, quotes and FA block allocation: the I/O half, mixed into `Ibkr`.

Two concerns, one module each: `tickets_io.TicketsMixin` (brackets, OCO sets, ticket cancel,
FA block allocation) and `quotes_io.QuotesMixin` (snapshots, shared streams, their restore
after a reconnect). The mapping is in `tickets.py`, `quotes.py` and `allocation.py`. This
module keeps the one name `Ibkr` mixes in, so the venue and its callers need not know the split.
"""

from __future__ import annotations

from horizon.venues.ibkr.quotes_io import QuotesMixin
from horizon.venues.ibkr.tickets_io import TicketsMixin

__all__ = ["QuotesMixin", "TicketsMixin", "TicketsQuotesMixin"]


class TicketsQuotesMixin(TicketsMixin, QuotesMixin):
    """Brackets, OCO sets, quotes and FA allocation for `Ibkr` (which provides the plumbing)."""
