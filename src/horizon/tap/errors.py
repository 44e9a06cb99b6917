"""The tap's typed errors: each says what happened, names the value, and says what to do."""

from __future__ import annotations

from pathlib import Path

from horizon.errors import ConfigurationError, HorizonError


class TapError(HorizonError):
    """Root of the tap's deliberate errors."""


class LivePortRefused(TapError, ConfigurationError):
    """The upstream is a known live port and live tapping was not asked for."""

    def __init__(self, port: int, application: str) -> None:
        super().__init__(
            f"port {port} is a known IBKR LIVE port ({application} live); the tap records "
            "paper sessions only unless you pass --allow-live (allow_live=True), and a live "
            "recording holds real account activity"
        )
        self.port = port


class RecordingError(TapError, ValueError):
    """A file is not a recording this tool can read."""

    def __init__(self, path: Path, line: int, reason: str) -> None:
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {reason}; give a file written by `horizon-ibkr tap --record`")
        self.path = path
        self.line = line
        self.reason = reason


class UpstreamUnavailable(TapError, ConnectionError):
    """Nothing accepted the connection the tap, replay or check opened."""

    def __init__(self, host: str, port: int, detail: str = "") -> None:
        tail = f" ({detail})" if detail else ""
        super().__init__(
            f"nothing accepted a connection on {host}:{port}{tail}; start TWS, IB Gateway or "
            "`horizon-ibkr sim` there, or point --upstream / --port at it"
        )
        self.host = host
        self.port = port
