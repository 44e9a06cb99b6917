"""The doctor's verdicts: result types and pure functions of what was observed.

Nothing here connects, sleeps or reads a clock, so every row's wording is unit-tested without
sockets; `probe.py` gathers the observations and calls these.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Final

from horizon.errors import ConfigurationError
from horizon.venues.ibkr.config import KNOWN_PORTS, MAX_CLIENT_ID, check_port_mode
from horizon.venues.ibkr.doctor.login import FIXES, LoginPhase, LoginState
from horizon.venues.ibkr.mapping.status import ErrorKind, classify_error, is_paper_account

CHECK_NAMES: Final = (
    "tcp", "handshake", "port_mode", "client_id", "accounts", "clock", "farms", "market_data",
    "login",
)  # fmt: skip
# Farm and market-data trouble is worth a WARN, never a failed healthcheck: orders, positions
# and fills work without either.
ADVISORY: Final = frozenset({"farms", "market_data"})

DEFAULT_CLIENT_ID: Final = 99  # deploy/README.md reserves 90-99 for operations, 99 for doctor
DEFAULT_TIMEOUT: Final = 4.0
MIN_SERVER_VERSION: Final = 157  # ib_async 2.1.0's MinClientVersion
SKEW_WARN_S: Final = 2.0
RTT_WARN_S: Final = 1.0


class CheckStatus(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"


@dataclass(frozen=True, slots=True, kw_only=True)
class Check:
    name: str
    status: CheckStatus
    detail: str
    fix: str = ""

    def __post_init__(self) -> None:
        if self.name not in CHECK_NAMES:
            raise ValueError(f"unknown check {self.name!r}; one of {', '.join(CHECK_NAMES)}")
        if self.status is CheckStatus.FAIL and self.name in ADVISORY:
            raise ValueError(f"{self.name} is advisory: WARN at worst, never FAIL")

    @property
    def required(self) -> bool:
        return self.name not in ADVISORY


def _ok(name: str, detail: str) -> Check:
    return Check(name=name, status=CheckStatus.OK, detail=detail)


def _warn(name: str, detail: str, fix: str) -> Check:
    return Check(name=name, status=CheckStatus.WARN, detail=detail, fix=fix)


def _fail(name: str, detail: str, fix: str) -> Check:
    return Check(name=name, status=CheckStatus.FAIL, detail=detail, fix=fix)


def _skip(name: str, why: str) -> Check:
    return Check(name=name, status=CheckStatus.SKIP, detail=f"skipped: {why}")


@dataclass(frozen=True, slots=True, kw_only=True)
class DoctorOptions:
    """What to probe. `paper` defaults to True like everywhere in Horizon: a live check must
    say --live. clientId 99 is the id the deploy examples reserve for probes, so a doctor run
    never collides with (or steals the id of) a trading process."""

    host: str = "127.0.0.1"
    port: int = 4002
    paper: bool = True
    client_id: int = DEFAULT_CLIENT_ID
    timeout: float = DEFAULT_TIMEOUT
    probe_symbol: str | None = "AAPL"
    gateway_log: str | None = None  # IBC's log: the login state is read from it

    def __post_init__(self) -> None:
        if not 0 < self.port < 65536:
            raise ConfigurationError(f"port must be 1..65535, got {self.port!r}")
        if not 0 <= self.client_id <= MAX_CLIENT_ID:
            raise ConfigurationError(
                f"client id must be 0..{MAX_CLIENT_ID}, got {self.client_id!r}"
            )
        if not self.timeout > 0:
            raise ConfigurationError(f"timeout must be positive, got {self.timeout!r}")

    @property
    def mode(self) -> str:
        return "paper" if self.paper else "live"

    @property
    def budget(self) -> float:
        """The whole run's deadline, in seconds from its start."""
        return 2 * self.timeout + 1.5


@dataclass(frozen=True, slots=True, kw_only=True)
class DoctorReport:
    options: DoctorOptions
    checks: tuple[Check, ...]
    elapsed_s: float
    server_version: int | None = None
    accounts: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Exit 0 only when no required check failed; WARN and SKIP-after-success pass."""
        return not any(c.status is CheckStatus.FAIL for c in self.checks)

    def check(self, name: str) -> Check:
        return next(c for c in self.checks if c.name == name)


# ---------------------------------------------------------------------------------------------
# verdicts (pure)


def handshake_check(fields: Sequence[str], elapsed_s: float) -> tuple[Check, int | None]:
    """The gateway's 2-field `[serverVersion, connectionTime]` reply, judged."""
    try:
        version = int(fields[0]) if len(fields) == 2 else None
    except ValueError:
        version = None
    if version is None:
        shown = ", ".join(repr(f[:40]) for f in fields[:3])
        return _fail(
            "handshake",
            f"the reply is not a TWS API handshake ({shown})",
            "something else listens on this port; point --port at the TWS / IB Gateway "
            "API socket port",
        ), None
    if version < MIN_SERVER_VERSION:
        return _fail(
            "handshake",
            f"server version {version} is below {MIN_SERVER_VERSION}, the minimum of "
            "ib_async 2.1.0",
            "update TWS / IB Gateway to a current stable or latest release",
        ), version
    return _ok(
        "handshake",
        f"server version {version}, connection time {fields[1]} ({1000 * elapsed_s:.1f} ms)",
    ), version


def port_mode_check(port: int, paper: bool) -> Check:
    """The safety valve of `IbkrConfig`, as a row: wrong-mode known port FAIL, unknown WARN."""
    mode = "paper" if paper else "live"
    try:
        warning = check_port_mode(port, paper)
    except ConfigurationError:
        app, _ = KNOWN_PORTS[port]
        other = "live" if paper else "paper"
        return _fail(
            "port_mode",
            f"port {port} is the {app} {other.upper()} port, but --{mode} was given",
            f"pass --{other} if you mean it, or use the {mode} port (paper: TWS 7497, "
            "IB Gateway 4002; live: TWS 7496, IB Gateway 4001)",
        )
    if warning is not None:
        return _warn(
            "port_mode",
            warning,
            "expected behind a tunnel or container relay (socat 4004/4003); the accounts "
            "row checks the mode in-band",
        )
    app, _ = KNOWN_PORTS[port]
    return _ok("port_mode", f"port {port} is the {app} {mode} port, as --{mode} says")


def accounts_check(accounts: Sequence[str], paper: bool) -> Check:
    """Paper account ids start with D (DU, DF, DI); nothing else on the socket tells."""
    ids = [a for a in (x.strip() for x in accounts) if a]
    if not ids:
        return _fail(
            "accounts",
            "the gateway reported no managed accounts",
            "the gateway is not fully logged in: wait for the login (2FA?) or read the IBC log",
        )
    papers = [a for a in ids if is_paper_account(a)]
    lives = [a for a in ids if not is_paper_account(a)]
    if paper and lives:
        return _fail(
            "accounts",
            f"--paper, but the gateway is logged in to LIVE account(s) {', '.join(lives)}",
            "this gateway trades real money: use the paper gateway's port, log it in "
            "with the paper user (TRADING_MODE=paper), or pass --live if you mean it",
        )
    if not paper and papers:
        return _fail(
            "accounts",
            f"--live, but the gateway is logged in to PAPER account(s) {', '.join(papers)}",
            "log the gateway in with the live user (TRADING_MODE=live) or pass --paper",
        )
    kind = "paper" if paper else "live"
    return _ok("accounts", f"{', '.join(ids)} ({kind})")


def clock_check(server_epoch: int, sent_at: float, received_at: float) -> Check:
    """reqCurrentTime answers in whole seconds (truncated), so the gateway's clock lies in
    [epoch, epoch + 1): the midpoint of that second against the midpoint of the round trip
    gives the skew to within 0.5 s plus half the round trip. Within that, it is "in step"."""
    rtt = max(0.0, received_at - sent_at)
    skew = server_epoch + 0.5 - (sent_at + received_at) / 2
    if abs(skew) <= 0.5 + rtt / 2:
        clock = "gateway clock in step with this host (reqCurrentTime has 1 s resolution)"
    else:
        side = "ahead of" if skew > 0 else "behind"
        clock = f"gateway clock about {abs(skew):.1f} s {side} this host"
    detail = f"reqCurrentTime round trip {1000 * rtt:.1f} ms; {clock}"
    if abs(skew) > SKEW_WARN_S:
        return _warn(
            "clock",
            detail,
            "sync both clocks with NTP (chrony, systemd-timesyncd); fills, GTD orders and "
            "the restart schedule follow the gateway's clock",
        )
    if rtt > RTT_WARN_S:
        return _warn(
            "clock",
            detail,
            "the gateway answers slowly: it is overloaded or far away; run Horizon next to it",
        )
    return _ok("clock", detail)


# code -> (farm kind, state). Farm names follow the last ":" of the notice text.
_FARM_NOTICES: Final = MappingProxyType(
    {
        2103: ("market data", "broken"),
        2104: ("market data", "OK"),
        2105: ("historical data", "broken"),
        2106: ("historical data", "OK"),
        2107: ("historical data", "inactive, on demand"),
        2108: ("market data", "inactive, on demand"),
        2119: ("market data", "connecting"),
        2157: ("sec-def", "broken"),
        2158: ("sec-def", "OK"),
    }
)
_FARM_FINE: Final = frozenset({"OK", "inactive, on demand"})
_CONNECTIVITY: Final = MappingProxyType({1100: "lost", 1101: "restored", 1102: "restored"})


def farms_check(notices: Iterable[tuple[int, str]]) -> Check:
    """The 21xx farm notices (and 1100-1102 connectivity) seen since connecting, in order;
    the last notice per farm wins."""
    farms: dict[tuple[str, str], str] = {}
    connectivity = "ok"
    for code, text in notices:
        if code in _CONNECTIVITY:
            connectivity = _CONNECTIVITY[code]
        elif code in _FARM_NOTICES:
            kind, state = _FARM_NOTICES[code]
            name = text.rsplit(":", 1)[-1].strip() if ":" in text else "?"
            farms[(kind, name)] = state
    listing = "; ".join(f"{kind} {name} {state}" for (kind, name), state in farms.items())
    if connectivity == "lost":
        return _warn(
            "farms",
            "error 1100: the gateway lost its connection to IBKR's servers"
            + (f" ({listing})" if listing else ""),
            "check the gateway host's internet connection; it restores itself "
            "(1101/1102) and Horizon reconnects",
        )
    if not farms:
        return _warn(
            "farms",
            "no market-data farm notices (2104/2106/2158) after connecting",
            "a gateway that just logged in may still be connecting its farms; run the "
            "doctor again in a minute",
        )
    bad = [f"{kind} {name}" for (kind, name), state in farms.items() if state not in _FARM_FINE]
    if bad:
        return _warn(
            "farms",
            listing,
            f"not connected: {', '.join(bad)}; IBKR's farms usually reconnect within "
            "minutes; if not, check the gateway's network and IBKR's system status page",
        )
    return _ok("farms", listing)


@dataclass(frozen=True, slots=True, kw_only=True)
class MarketDataProbe:
    """What one reqMktData brought within its wait: error codes for its reqId and the tick
    types that arrived (1-9 real-time, 66-76 delayed)."""

    errors: tuple[int, ...] = ()
    tick_types: frozenset[int] = field(default_factory=frozenset)

    @property
    def realtime(self) -> bool:
        return any(t < 66 for t in self.tick_types)

    @property
    def delayed(self) -> bool:
        return any(66 <= t <= 90 for t in self.tick_types) or any(
            classify_error(c) is ErrorKind.DELAYED_DATA for c in self.errors
        )

    @property
    def unknown_contract(self) -> bool:
        return any(classify_error(c) is ErrorKind.UNKNOWN_CONTRACT for c in self.errors)

    @property
    def answered(self) -> bool:
        return bool(self.errors or self.tick_types)


_SUBSCRIBE: Final = (
    "subscribe on IBKR's Market Data Subscriptions page, or request delayed data (free) "
    "with reqMarketDataType(3)"
)


def market_data_check(
    symbol: str | None, live: MarketDataProbe | None, delayed: MarketDataProbe | None = None
) -> Check:
    """`live` answers reqMktData after reqMarketDataType(1); `delayed`, if the live request
    was refused, the same after reqMarketDataType(3)."""
    if not symbol or live is None:
        return _skip("market_data", "no --probe-symbol given")
    if live.unknown_contract:
        return _warn(
            "market_data",
            f"{symbol}: no such US stock at SMART (error 200)",
            "pass --probe-symbol with a US stock symbol you trade",
        )
    if live.realtime and not live.errors:
        return _ok("market_data", f"{symbol}: real-time data permitted")
    if live.delayed:
        return _warn("market_data", f"{symbol}: only delayed data", _SUBSCRIBE)
    if not live.answered:
        return _warn(
            "market_data",
            f"{symbol}: no market data answer in time",
            "the market-data farm may be down (see farms) or the gateway slow; run again",
        )
    codes = ", ".join(str(c) for c in live.errors)
    if delayed is not None and delayed.delayed:
        return _warn(
            "market_data",
            f"{symbol}: no real-time data (error {codes}); delayed data works",
            "subscribe on IBKR's Market Data Subscriptions page, or use delayed data "
            "(free): reqMarketDataType(3)",
        )
    if 10197 in live.errors:
        return _warn(
            "market_data",
            f"{symbol}: no market data (error 10197: a competing live session)",
            "this username is logged in elsewhere (TWS, Client Portal, mobile) and that "
            "session holds the market data; use a dedicated API username",
        )
    more = ", ".join(str(c) for c in delayed.errors) if delayed is not None else ""
    return _warn(
        "market_data",
        f"{symbol}: neither real-time (error {codes}) nor delayed data"
        + (f" (error {more})" if more else ""),
        "subscribe on IBKR's Market Data Subscriptions page; a paper user sees the live "
        "user's subscriptions only if market data sharing is enabled",
    )


# ---------------------------------------------------------------------------------------------
# the machine-readable form


def login_check(state: LoginState, *, api_listening: bool) -> Check:
    """The gateway's login, as IBC's log tells it; an API port that does not listen although
    the login completed is the API switched off."""
    since = f" since {state.since:%Y-%m-%d %H:%M:%S}" if state.since else ""
    restart = f"; auto restart at {state.restart_at}" if state.restart_at else ""
    if state.phase is LoginPhase.LOGGED_IN:
        if not api_listening:
            return _fail(
                "login",
                f"logged in{since}, but nothing listens on the API port{restart}",
                "enable the API: Configure > API > Settings > 'Enable ActiveX and Socket "
                "Clients' (IBC: the image's API settings), and check the socket port",
            )
        return _ok("login", f"logged in{since}{restart}")
    words = {
        LoginPhase.UNKNOWN: "the login state is unknown",
        LoginPhase.STARTING: "the gateway is starting; no login result yet",
        LoginPhase.AWAITING_2FA: "waiting for the second factor (IB Key)",
        LoginPhase.TWO_FA_TIMED_OUT: "the second factor was not approved in time",
        LoginPhase.LOGIN_REFUSED: "the login was refused",
        LoginPhase.TOO_MANY_ATTEMPTS: "too many failed login attempts",
        LoginPhase.EXISTING_SESSION: "another session of this username is logged in",
    }[state.phase]
    return _fail("login", f"{words}{since}: IBC: {state.detail}{restart}", FIXES[state.phase])


def report_to_dict(report: DoctorReport) -> dict[str, Any]:
    """The `--json` object: {ok, checks: [{name, status, detail, fix, required}], ...}."""
    o = report.options
    return {
        "ok": report.ok,
        "host": o.host,
        "port": o.port,
        "mode": o.mode,
        "client_id": o.client_id,
        "timeout_s": o.timeout,
        "elapsed_s": round(report.elapsed_s, 3),
        "server_version": report.server_version,
        "accounts": [{"id": a, "paper": is_paper_account(a)} for a in report.accounts if a.strip()],
        "checks": [
            {
                "name": c.name,
                "status": c.status.value,
                "detail": c.detail,
                "fix": c.fix,
                "required": c.required,
            }
            for c in report.checks
        ],
    }
