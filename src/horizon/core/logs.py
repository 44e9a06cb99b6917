"""Logging for Horizon processes: plain text for people, one JSON object per line for shippers.

The venue logs constant messages with structured fields in ``extra=`` (order_id, exec_id,
code, client_id, ...). `JsonFormatter` keeps those fields as JSON keys, so a log shipper
(Loki, Elasticsearch, CloudWatch) can filter on them without parsing text. `configure()` is
the one-call setup for a strategy process; it reads ``HORIZON_LOG_FORMAT`` (``json`` or
``text``) and ``HORIZON_LOG_LEVEL`` (``INFO`` by default) when no argument says otherwise.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import Any, Final, TextIO

# attributes every LogRecord has: what is left over came in through `extra=`
_STANDARD: Final = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys() | {"message", "asctime"}
)


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601), level, logger, message, the record's
    structured fields, and the exception if there is one."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


TEXT_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure(
    format: str | None = None,  # the word the environment variable uses
    level: str | int | None = None,
    *,
    stream: TextIO | None = None,
) -> logging.Handler:
    """Send the root logger's records to `stream` (stderr) as text or JSON; returns the
    handler. Arguments win over ``HORIZON_LOG_FORMAT`` / ``HORIZON_LOG_LEVEL``."""
    chosen = (format or os.environ.get("HORIZON_LOG_FORMAT") or "text").lower()
    if chosen not in ("text", "json"):
        raise ValueError(f"log format must be 'text' or 'json', got {chosen!r}")
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if chosen == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level or os.environ.get("HORIZON_LOG_LEVEL") or logging.INFO)
    return handler
