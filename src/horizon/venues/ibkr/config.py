"""IbkrConfig: every knob of the venue, frozen, validated before any socket opens.

IBKR has no in-band paper/live flag on the API socket, so the port is the only early hint: the
four well-known ports are cross-checked against `paper`, and a mismatch refuses to construct.
After connecting, the venue also checks the account ids in-band (paper ids start with "D").
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from horizon.errors import ConfigurationError
from horizon.venues.ibkr.guards import Guards

log = logging.getLogger("horizon.venues.ibkr")

# TWS's limit on one client's messages in any second (above it: error 100, or held with +PACEAPI)
IB_MESSAGES_PER_SECOND: Final = 50

# port -> (application, is_paper)
KNOWN_PORTS: Final = MappingProxyType(
    {
        7497: ("TWS", True),
        7496: ("TWS", False),
        4002: ("IB Gateway", True),
        4001: ("IB Gateway", False),
    }
)

MAX_CLIENT_ID: Final = 999


def check_port_mode(port: int, paper: bool) -> str | None:
    """Raise on a known port of the other mode; return a warning text for an unknown port."""
    known = KNOWN_PORTS.get(port)
    if known is None:
        mode = "PAPER" if paper else "LIVE"
        return (
            f"port {port} is not a known IBKR port (7497/4002 paper, 7496/4001 live); "
            f"proceeding in {mode} mode as asked: confirm the gateway behind it is {mode}"
        )
    app, is_paper = known
    if is_paper != paper:
        kind = "PAPER" if is_paper else "LIVE"
        fix = "paper=True" if is_paper else "paper=False (explicitly, for live trading)"
        raise ConfigurationError(
            f"port {port} is a known IBKR {kind} port ({app} {kind.lower()}); "
            f"pass {fix} or use the port of the mode you mean"
        )
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class IbkrConfig:
    """Connection, pacing, resilience and fill-handling settings of one `Ibkr` venue."""

    host: str = "127.0.0.1"
    port: int = 7497
    client_id: int = 1
    paper: bool = True
    account: str | None = None
    # refuse every order locally (OrderRefused "read_only"), and connect as a read-only client
    read_only: bool = False
    connect_timeout: float = 4.0
    request_timeout: float = 10.0
    # pacing: every outbound request takes a token
    rate: float = 45.0
    burst: int = 10
    # ask TWS to pace our requests itself (+PACEAPI) rather than answer error 100 when host
    # load bunches them up on the wire: a second safety net under the venue's own bucket.
    # It also sets ib_async's own queue (45 in any second, in series with the bucket) to TWS's
    # limit: see `ib_async_queue_limit`
    gateway_pacing: bool = True
    # health
    health_timeout: float = 2.0
    # a background reqCurrentTime round trip every N seconds finds a half-open socket even
    # when the host forgets to call health_check(); None (or 0) turns it off
    health_check_interval: float | None = 15.0
    # fills
    commission_grace: float = 2.0
    dedup_memory: int = 100_000
    # finished orders kept in full (ib_async's Order, Trade and fills); older ones keep only
    # what order() reports, so a process trading all day does not grow without bound
    order_memory: int = 1_000
    # finished orders remembered beyond those, compacted (~1.3 KB each); older ones are
    # forgotten (order() raises UnknownOrder saying so) and RSS stops growing; None keeps all
    order_history: int | None = 100_000
    # ib_async's account value and portfolio streams (ibkr.ib.accountValues() / portfolio(),
    # for code that uses the escape hatch); the venue itself needs neither
    account_updates: bool = False
    replay_fills_on_first_connect: bool = False
    fill_journal: str | Path | None = None
    gateway_timezone: str | None = None
    # market data: 1 real-time, 2 frozen, 3 delayed (free), 4 delayed-frozen
    market_data_type: int = 1
    # logging: drop ib_async's own lines for events the venue logs itself (process-wide)
    quiet_ib_async: bool = True
    # an order the gateway has not acknowledged after this many seconds is looked for (a
    # reqOpenOrders probe) and, if the gateway does not know it, reported rejected (IB's paper
    # servers have been seen to drop placements silently); None turns it off
    ack_timeout: float | None = 10.0
    # pre-trade rules, checked before an order leaves the process (off when None)
    guards: Guards | None = None
    # Prometheus metrics in prometheus_client's default registry (pip install
    # 'horizon-ibkr[metrics]'); horizon.venues.ibkr.metrics.register() takes another registry
    metrics: bool = False
    # safety
    verify_account_mode: bool = True
    # resilience
    reconnect: bool = True
    reconnect_initial_delay: float = 0.25
    reconnect_max_delay: float = 30.0
    reconnect_wait: float = 10.0
    client_id_range: tuple[int, int] | None = None
    # historical data: what a request that would break IB's historical pacing does ("wait"
    # until it may go, or "refuse" with HistoricalPacing), and how long one may take
    history_pacing: str = "wait"
    history_timeout: float = 60.0

    def __post_init__(self) -> None:
        if not isinstance(self.host, str) or not self.host.strip():
            hint = (
                f" (Ibkr({self.host!r}) passes the port as the host: write Ibkr(port={self.host}))"
                if isinstance(self.host, int) and not isinstance(self.host, bool)
                else ""
            )
            raise ConfigurationError(
                f"host must be a host name or address such as '127.0.0.1', got {self.host!r}" + hint
            )
        if not isinstance(self.paper, bool):
            raise ConfigurationError(f"paper must be True or False, got {self.paper!r}")
        port_ok = isinstance(self.port, int) and not isinstance(self.port, bool)
        if not port_ok or not 0 < self.port < 65536:
            raise ConfigurationError(f"port must be 1..65535, got {self.port!r}")
        if not isinstance(self.client_id, int) or not 0 <= self.client_id <= MAX_CLIENT_ID:
            raise ConfigurationError(
                f"client_id must be 0..{MAX_CLIENT_ID}, got {self.client_id!r} "
                "(0 also receives orders entered manually in TWS)"
            )
        if self.client_id_range is not None:
            lo, hi = self.client_id_range
            if not 0 <= lo <= hi <= MAX_CLIENT_ID:
                raise ConfigurationError(
                    f"client_id_range must satisfy 0 <= lo <= hi <= {MAX_CLIENT_ID}, "
                    f"got {self.client_id_range!r}"
                )
        if self.history_pacing not in ("wait", "refuse"):
            raise ConfigurationError(
                f"history_pacing must be 'wait' or 'refuse', got {self.history_pacing!r}"
            )
        for name in (
            "connect_timeout", "request_timeout", "health_timeout", "rate", "history_timeout",
        ):  # fmt: skip
            if not getattr(self, name) > 0:
                raise ConfigurationError(f"{name} must be positive, got {getattr(self, name)!r}")
        if self.market_data_type not in (1, 2, 3, 4):
            raise ConfigurationError(
                f"market_data_type must be 1 (real-time), 2 (frozen), 3 (delayed) or "
                f"4 (delayed-frozen), got {self.market_data_type!r}"
            )
        if self.burst < 1:
            raise ConfigurationError(f"burst must be at least 1, got {self.burst!r}")
        if self.health_check_interval is not None and self.health_check_interval < 0:
            raise ConfigurationError(
                "health_check_interval must be positive, or None / 0 to turn it off, "
                f"got {self.health_check_interval!r}"
            )
        if self.commission_grace < 0:
            raise ConfigurationError(f"commission_grace must be >= 0, got {self.commission_grace}")
        if self.dedup_memory < 1000:
            raise ConfigurationError(f"dedup_memory must be >= 1000, got {self.dedup_memory}")
        if self.order_memory < 1:
            raise ConfigurationError(f"order_memory must be >= 1, got {self.order_memory}")
        if self.order_history is not None and (
            isinstance(self.order_history, bool) or not isinstance(self.order_history, int)
            or self.order_history < 0
        ):  # fmt: skip
            raise ConfigurationError(
                f"order_history must be None or an int >= 0, got {self.order_history!r}"
            )
        if self.gateway_timezone is not None:
            try:
                ZoneInfo(self.gateway_timezone)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise ConfigurationError(
                    f"gateway_timezone {self.gateway_timezone!r} is not an IANA zone name"
                ) from exc
        warning = check_port_mode(self.port, self.paper)
        if warning is not None:
            log.warning(
                "unknown IBKR port %s, %s mode as asked; confirm the gateway behind it",
                self.port,
                self.mode.upper(),
                extra={"port": self.port, "paper": self.paper, "detail": warning},
            )

    @property
    def mode(self) -> str:
        return "paper" if self.paper else "live"


def ib_async_queue_limit(config: IbkrConfig) -> int | None:
    """What ib_async's own request queue (`Client.MaxRequests`) should hold a client to in any
    second; None keeps ib_async's 45.

    Two pacers in series at one rate make a standing queue: the bucket lets out 45/s on
    average plus a burst after any pause of the process (a collection, a busy host), ib_async
    then holds whatever exceeds 45 in a second, and a caller at its limit feeds it exactly as
    fast as it empties, so the held requests never drain. In the scale benchmark (32 clients
    at their limit for 60 s) that queue grew with each pause, to ~140 ms of wire-to-ack p50.
    With +PACEAPI the gateway holds any excess itself, in order, so ib_async's queue is set to
    TWS's own limit: it holds only what the gateway would, and drains (45 < 50). Without it,
    ib_async's 45 stays: 5 a second of headroom against error 100 when host load bunches the
    messages up on their way, at the cost of that queue.
    """
    return IB_MESSAGES_PER_SECOND if config.gateway_pacing else None
