"""Keep ib_async from retelling what Horizon already logs.

ib_async logs every IB error at ERROR ("Error 202, reqId 7: Order Canceled - reason:"), every
failed connect twice, and a dropped socket once more; the venue handles each of those events
and logs it once itself, from ``horizon.venues.ibkr``, at the level it deserves (a cancel is
INFO, not ERROR). `install()` puts a filter on ib_async's loggers that drops exactly those
records; everything else ib_async says passes. It is process-wide (loggers are), installed by
the first venue built with ``quiet_ib_async=True`` (the default) and idempotent.
"""

from __future__ import annotations

import logging
from typing import Final

# (logger, message prefix) of the records Horizon tells itself
_RETOLD: Final = (
    ("ib_async.wrapper", "Error "),  # every IB error code: the venue's errorEvent handler
    ("ib_async.wrapper", "IBKR API validation warning"),  # order warnings: same handler
    ("ib_async.client", "API connection failed"),  # the venue's connect error
    ("ib_async.client", "Make sure API port"),
    ("ib_async.client", "Peer closed connection"),  # the venue's "disconnected" warning
    ("ib_async.ib", "Unknown contract"),  # UnknownInstrument
    ("ib_async.ib", "Ambiguous contract"),
)


class RetoldByHorizon(logging.Filter):
    """Drops ib_async's records of events the venue logs itself (WARNING and above only)."""

    def __init__(self, prefixes: tuple[str, ...]) -> None:
        super().__init__()
        self.prefixes = prefixes

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        return not str(record.msg).startswith(self.prefixes)


def install() -> None:
    """Put the filter on each ib_async logger concerned (once)."""
    by_logger: dict[str, list[str]] = {}
    for name, prefix in _RETOLD:
        by_logger.setdefault(name, []).append(prefix)
    for name, prefixes in by_logger.items():
        logger = logging.getLogger(name)
        if not any(isinstance(f, RetoldByHorizon) for f in logger.filters):
            logger.addFilter(RetoldByHorizon(tuple(prefixes)))


def uninstall() -> None:
    """Take the filters off again (ib_async then logs everything, as it does on its own)."""
    for name in {name for name, _ in _RETOLD}:
        logger = logging.getLogger(name)
        for f in [f for f in logger.filters if isinstance(f, RetoldByHorizon)]:
            logger.removeFilter(f)
