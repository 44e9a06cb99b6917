"""Reply messages through both IB client libraries' own decoders, field by field.

ibapi reads a message from an iterator over its fields (`processXxx(fields)`) or, for the
simple ones, checks the field count against the callback's signature. `ibapi_calls` drives the
same code and then checks that the iterator is exhausted: a field left over (or one missing,
which ibapi raises on) fails the test, not only a decoder exception. ib_async unpacks into
tuples, which catches most mismatches; `ib_async_calls` fails on anything it logs.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator, Sequence
from types import SimpleNamespace
from typing import Any

from ib_async.decoder import Decoder as AsyncDecoder
from ibapi.decoder import Decoder as ApiDecoder
from ibapi.wrapper import EWrapper

Calls = list[tuple[str, tuple[Any, ...]]]


class ApiRecorder(EWrapper):
    """An ibapi wrapper that records every callback by name."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: Calls = []

    def __getattribute__(self, name: str) -> Any:
        attr = object.__getattribute__(self, name)
        if callable(attr) and not name.startswith("_") and hasattr(EWrapper, name):
            calls = object.__getattribute__(self, "calls")

            def record(*args: Any) -> None:
                calls.append((name, args))

            return record
        return attr


class AsyncRecorder:
    """Stands in for ib_async's Wrapper: records every callback by name."""

    def __init__(self) -> None:
        self.calls: Calls = []
        self.ib = SimpleNamespace(TimezoneTWS=None)
        self.defaultTimezone = dt.UTC

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)

        def record(*args: Any) -> None:
            self.calls.append((name, args))

        return record


class _Counting(Iterator[bytes]):
    def __init__(self, fields: Sequence[bytes]) -> None:
        self._fields = fields
        self.pos = 0

    def __next__(self) -> bytes:
        if self.pos >= len(self._fields):
            raise StopIteration
        self.pos += 1
        return self._fields[self.pos - 1]


def ibapi_calls(fields: Sequence[str], version: int) -> Calls:
    """Decode one message (message id first) as ibapi's reader does at `version`; assert that
    exactly its fields were read."""
    msg_id, body = int(fields[0]), tuple(f.encode() for f in fields[1:])
    recorder = ApiRecorder()
    decoder = ApiDecoder(recorder, version)
    info = decoder.msgId2handleInfo[msg_id]
    if info.wrapperMeth is not None:
        params = [p for p in info.wrapperParams if p != "self"]
        # interpretWithSignature skips the version field, then one field per parameter
        assert len(body) == 1 + len(params), (fields, params)
        decoder.interpret(body, msg_id)
    else:
        it = _Counting(body)
        info.processMeth(decoder, it)
        left = body[it.pos :]
        assert not left, f"ibapi left {len(left)} fields unread: {left!r} of {fields!r}"
    assert recorder.calls, f"ibapi made no callback for {fields!r}"
    return recorder.calls


def ib_async_calls(fields: Sequence[str], version: int, caplog: Any) -> Calls:
    """Decode one message as ib_async does; fail on any error it logs (it swallows them)."""
    recorder = AsyncRecorder()
    decoder = AsyncDecoder(recorder, version)  # type: ignore[arg-type]
    with caplog.at_level(logging.ERROR, logger="ib_async"):
        before = len(caplog.records)
        decoder.interpret(list(fields))
        errors = [r for r in caplog.records[before:] if r.levelno >= logging.ERROR]
    assert not errors, caplog.text
    assert recorder.calls, f"ib_async made no callback for {fields!r}"
    return recorder.calls
