"""`horizon-ibkr tap`: a transparent recording proxy for the TWS API socket protocol, with
replay and a shape check.

    from horizon.tap import Recorder, TapProxy
    recorder = Recorder(record="session.jsonl")          # redacted unless redact=False
    async with TapProxy("127.0.0.1", 4002, port=4012, tap=recorder.connection):
        ...                     # clients connect to 4012; the gateway is 4002

    from horizon.tap import ReplayGateway
    with ReplayGateway("session.jsonl") as gw:     # serves the recording as a gateway
        ...                     # connect to gw.port

The names below are exported lazily, so the pytest plugin (and `horizon-ibkr --help`) load
nothing of the wire layer until it is used. See docs/tap.md.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from horizon.tap.check import CheckResult, check_recording
    from horizon.tap.errors import LivePortRefused, RecordingError, TapError, UpstreamUnavailable
    from horizon.tap.proxy import LIVE_PORTS, TapProxy
    from horizon.tap.recorder import Recorder
    from horizon.tap.recording import RecordedFrame, Recording, RecordingWriter, read_recording
    from horizon.tap.redact import Redactor
    from horizon.tap.replay import ReplayGateway

_LAZY: Final = {
    "CheckResult": "check", "check_recording": "check",
    "LivePortRefused": "errors", "RecordingError": "errors", "TapError": "errors",
    "UpstreamUnavailable": "errors",
    "LIVE_PORTS": "proxy", "TapProxy": "proxy",
    "Recorder": "recorder",
    "RecordedFrame": "recording", "Recording": "recording", "RecordingWriter": "recording",
    "read_recording": "recording",
    "Redactor": "redact",
    "ReplayGateway": "replay",
}  # fmt: skip

__all__ = [
    "LIVE_PORTS", "CheckResult", "LivePortRefused", "RecordedFrame", "Recorder", "Recording",
    "RecordingError", "RecordingWriter", "Redactor", "ReplayGateway", "TapError", "TapProxy",
    "UpstreamUnavailable", "check_recording", "read_recording",
]  # fmt: skip


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'horizon.tap' has no attribute {name!r}")
    return getattr(importlib.import_module(f"horizon.tap.{module}"), name)
