"""Structured logs: the venue's `extra=` fields come out as JSON keys, one object per line."""

from __future__ import annotations

import io
import json
import logging

import pytest

from horizon.core.logs import JsonFormatter, configure


def test_json_lines_keep_the_structured_fields() -> None:
    record = logging.LogRecord("horizon.venues.ibkr", logging.WARNING, "x.py", 1,
                               "order rejected: %s", ("no funds",), None)
    record.order_id = 7
    record.code = 201
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "order rejected: no funds" and line["level"] == "WARNING"
    assert (line["order_id"], line["code"], line["logger"]) == (7, 201, "horizon.venues.ibkr")
    assert line["time"].endswith("+00:00")


def test_configure_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HORIZON_LOG_FORMAT", "json")
    stream = io.StringIO()
    handler = configure(stream=stream, level="INFO")
    try:
        logging.getLogger("horizon.venues.ibkr").info("fill captured", extra={"exec_id": "e1"})
    finally:
        logging.getLogger().removeHandler(handler)
    [line] = stream.getvalue().splitlines()
    assert json.loads(line)["exec_id"] == "e1"
    with pytest.raises(ValueError, match="text' or 'json"):
        configure(format="xml")
