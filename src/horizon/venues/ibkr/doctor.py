"""`horizon-ibkr doctor`: is this gateway fit for Horizon, and if not, what does a person do?

Eight checks, each OK / WARN / FAIL (or SKIP when an earlier one failed) with a one-line fix:
tcp, handshake, port_mode, client_id, accounts, clock, farms, market_data. The verdicts are
pure functions of what was observed (unit-tested without sockets); `run_doctor` does the I/O.

Two connections are made on purpose. The first is a raw socket that only sends the `API\\0`
hello and reads the version reply: a TCP check alone passes when socat (or any relay) accepts
in front of a wedged or logged-out gateway, so the handshake gets its own row and its own
timeout. The second is ib_async's `Client` (handshake + startApi, nothing else: no position or
order sync, so a probe costs the gateway almost nothing). ib_async waits out its whole timeout
on error 326 (clientId in use), so the runner races the connect against errorEvent/apiError
and fails fast.

Time budget: every step waits at most `timeout`, and all steps together at most
`2 * timeout + 1.5` s, so a healthcheck never outlives its own interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Final

from horizon.errors import ConfigurationError
from horizon.venues.ibkr.config import KNOWN_PORTS, MAX_CLIENT_ID, check_port_mode
from horizon.venues.ibkr.status import ErrorKind, classify_error, is_paper_account

log = logging.getLogger(__name__)

__all__ = [
    "CHECK_NAMES", "Check", "CheckStatus", "DoctorOptions", "DoctorReport", "MarketDataProbe",
    "accounts_check", "clock_check", "farms_check", "handshake_check", "market_data_check",
    "port_mode_check", "report_to_dict", "run_doctor",
]  # fmt: skip

CHECK_NAMES: Final = (
    "tcp", "handshake", "port_mode", "client_id", "accounts", "clock", "farms", "market_data",
)  # fmt: skip
# Farm and market-data trouble is worth a WARN, never a failed healthcheck: orders, positions
# and fills work without either.
ADVISORY: Final = frozenset({"farms", "market_data"})

DEFAULT_CLIENT_ID: Final = 99  # deploy/README.md reserves 90-99 for operations, 99 for doctor
DEFAULT_TIMEOUT: Final = 4.0
MIN_SERVER_VERSION: Final = 157  # ib_async 2.1.0's MinClientVersion
SKEW_WARN_S: Final = 2.0
RTT_WARN_S: Final = 1.0
_HELLO: Final = b"API\0" + struct.pack(">I", len(b"v157..178")) + b"v157..178"
_MAX_FRAME: Final = 1 << 16


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


# ---------------------------------------------------------------------------------------------
# I/O


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self._end = time.monotonic() + seconds

    def wait(self, step: float) -> float:
        """Seconds a step may wait: its own timeout, cut to what the run has left."""
        return max(0.05, min(step, self._end - time.monotonic()))


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError, TimeoutError):
        await asyncio.wait_for(writer.wait_closed(), 1.0)


async def _read_frame(reader: asyncio.StreamReader) -> list[str]:
    (size,) = struct.unpack(">I", await reader.readexactly(4))
    if size > _MAX_FRAME:
        raise ValueError(f"a {size}-byte frame")
    payload = await reader.readexactly(size)
    return payload.decode("ascii", "replace").split("\0")[:-1] or [""]


async def _probe_handshake(o: DoctorOptions) -> tuple[Check, Check, int | None]:
    """Rows tcp and handshake, from one raw socket closed right after the version reply."""
    t0 = time.perf_counter()
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(o.host, o.port), o.timeout)
    except TimeoutError:
        tcp = _fail(
            "tcp",
            f"no answer to a TCP connect to {o.host}:{o.port} within {o.timeout:g} s",
            "check --host and any firewall or security group on the way; reach a remote "
            "gateway through an SSH tunnel rather than opening its port",
        )
        return tcp, _skip("handshake", "no TCP connection"), None
    except socket.gaierror as exc:
        tcp = _fail(
            "tcp",
            f"cannot resolve host {o.host!r} ({exc.strerror})",
            "check --host (inside docker compose, the gateway's service name, e.g. ib-gateway)",
        )
        return tcp, _skip("handshake", "no TCP connection"), None
    except OSError as exc:
        refused = isinstance(exc, ConnectionRefusedError)
        tcp = _fail(
            "tcp",
            f"nothing listens on {o.host}:{o.port} (connection refused)"
            if refused
            else f"cannot connect to {o.host}:{o.port}: {exc.strerror or exc}",
            "start TWS or IB Gateway (or `horizon-ibkr sim`), tick 'Enable ActiveX and "
            "Socket Clients' in its API settings and check the socket port there, or the "
            "container's port mapping",
        )
        return tcp, _skip("handshake", "no TCP connection"), None
    t1 = time.perf_counter()
    tcp = _ok("tcp", f"{o.host}:{o.port} accepted a connection in {1000 * (t1 - t0):.1f} ms")
    try:
        writer.write(_HELLO)
        await writer.drain()
        fields = await asyncio.wait_for(_read_frame(reader), o.timeout)
    except TimeoutError:
        hs = _fail(
            "handshake",
            f"TCP accepted but no API handshake within {o.timeout:g} s",
            "the gateway is wedged, still starting or not logged in (classic: socat in "
            "front of a dead gateway); read the IBC / gateway log and restart it",
        )
        return tcp, hs, None
    except (asyncio.IncompleteReadError, ConnectionError) as exc:
        log.info("handshake closed", extra={"host": o.host, "port": o.port, "error": repr(exc)})
        hs = _fail(
            "handshake",
            "the gateway closed the connection during the API handshake",
            "add this machine to 'Trusted IPs' in the API settings (or untick 'Allow "
            "connections from localhost only'); check the port is the API socket port",
        )
        return tcp, hs, None
    except ValueError as exc:
        return tcp, handshake_check([str(exc)], 0.0)[0], None
    finally:
        await _close(writer)
    hs, version = handshake_check(fields, time.perf_counter() - t1)
    return tcp, hs, version


async def _probe_market_data(
    ib: Any, contract: Any, md_type: int, errors: list[tuple[int, int, str, Any]], wait: float
) -> MarketDataProbe:
    seen = len(errors)
    answered = asyncio.Event()

    def on_update(ticker: Any) -> None:
        if ticker.ticks:
            answered.set()

    def on_error(_req_id: int, _code: int, _text: str, c: Any) -> None:
        if c is contract:
            answered.set()

    ib.reqMarketDataType(md_type)
    ticker = ib.reqMktData(contract, "", False, False)
    ticker.updateEvent += on_update
    ib.errorEvent += on_error
    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(answered.wait(), wait)
    finally:
        ticker.updateEvent -= on_update
        ib.errorEvent -= on_error
        with contextlib.suppress(ConnectionError):
            ib.cancelMktData(contract)
    return MarketDataProbe(
        errors=tuple(code for _r, code, _t, c in errors[seen:] if c is contract),
        tick_types=frozenset(t.tickType for t in ticker.ticks),
    )


async def _probe_session(o: DoctorOptions, deadline: _Deadline) -> tuple[list[Check], list[str]]:
    """Rows client_id .. market_data over one ib_async connection."""
    from ib_async import IB

    ib: Any = IB()
    errors: list[tuple[int, int, str, Any]] = []
    refused = asyncio.Event()
    closed = asyncio.Event()

    def on_error(req_id: int, code: int, text: str, contract: Any) -> None:
        errors.append((req_id, code, text, contract))
        if classify_error(code) is ErrorKind.CLIENT_ID_IN_USE:
            refused.set()

    ib.errorEvent += on_error
    ib.client.apiError += lambda _msg: closed.set()
    n = o.client_id
    connect = asyncio.ensure_future(ib.client.connectAsync(o.host, o.port, n, o.timeout))
    waiters = [asyncio.ensure_future(e.wait()) for e in (refused, closed)]
    try:
        await asyncio.wait(
            [connect, *waiters],
            timeout=deadline.wait(o.timeout),
            return_when=asyncio.FIRST_COMPLETED,
        )
        # read the flags before cancelling: a cancelled connect closes the socket itself
        why = refused.is_set(), closed.is_set()
        if not (connect.done() and not connect.cancelled() and connect.exception() is None):
            return [_client_id_failure(o, *why)], []
        accounts = list(ib.client.getAccounts())
        rows = [
            _ok("client_id", f"startApi with clientId {n} accepted"),
            accounts_check(accounts, o.paper),
        ]
        rows.append(await _clock(ib, o, deadline))
        # The reqCurrentTime round trip (or its timeout) is behind every notice the gateway
        # sent on connect, so the farm list is complete here.
        rows.append(farms_check((code, text) for req_id, code, text, _ in errors if req_id == -1))
        try:
            rows.append(await _market_data(ib, o, errors, deadline))
        except ConnectionError:  # ib_async raises it for a send on a dropped socket
            rows.append(_skip("market_data", "the API connection dropped"))
        return rows, accounts
    finally:
        for task in (connect, *waiters):
            task.cancel()
        await asyncio.gather(connect, *waiters, return_exceptions=True)
        ib.disconnect()


async def _clock(ib: Any, o: DoctorOptions, deadline: _Deadline) -> Check:
    try:
        sent = time.time()
        server = await asyncio.wait_for(ib.reqCurrentTimeAsync(), deadline.wait(o.timeout))
        return clock_check(int(server.timestamp()), sent, time.time())
    except (TimeoutError, ConnectionError) as exc:
        return _fail(
            "clock",
            f"reqCurrentTime not answered within {o.timeout:g} s"
            if isinstance(exc, TimeoutError)
            else "the API connection dropped before reqCurrentTime was answered",
            "the API session is up but requests go unanswered: restart the gateway",
        )


async def _market_data(
    ib: Any, o: DoctorOptions, errors: list[tuple[int, int, str, Any]], deadline: _Deadline
) -> Check:
    """reqMktData needs a conId in ib_async, so the symbol is resolved first (error 200 or
    no details: unknown). Real-time is asked first; only if refused, delayed (type 3)."""
    from ib_async import Stock

    symbol = o.probe_symbol
    if not symbol:
        return market_data_check(None, None)
    try:
        details = await asyncio.wait_for(
            ib.reqContractDetailsAsync(Stock(symbol, "SMART", "USD")), deadline.wait(o.timeout)
        )
    except TimeoutError:
        return market_data_check(symbol, MarketDataProbe())
    if not details:
        return market_data_check(symbol, MarketDataProbe(errors=(200,)))
    contract = details[0].contract
    live = await _probe_market_data(ib, contract, 1, errors, deadline.wait(o.timeout))
    delayed = None
    if live.errors and not live.realtime and not live.delayed:
        delayed = await _probe_market_data(ib, contract, 3, errors, deadline.wait(o.timeout))
    return market_data_check(symbol, live, delayed)


def _client_id_failure(o: DoctorOptions, refused: bool, closed: bool) -> Check:
    n = o.client_id
    if refused:
        return _fail(
            "client_id",
            f"error 326: clientId {n} is already in use",
            f"another process holds clientId {n}: pass a free --client-id or stop that "
            "process (deploy/README.md reserves 99 for doctor)",
        )
    if closed:
        return _fail(
            "client_id",
            f"the gateway closed the connection after startApi (clientId {n}) without a reason",
            "TWS may have refused the session: check 'Trusted IPs' and the API log of "
            "TWS / IB Gateway",
        )
    return _fail(
        "client_id",
        f"startApi with clientId {n} not answered within {o.timeout:g} s",
        "the gateway is up but its API session did not start: finish the login "
        "(IBC, 2FA), dismiss any dialog in TWS, or restart it",
    )


async def run_doctor(options: DoctorOptions) -> DoctorReport:
    """Run every check against `options.host:port`; never raises for a broken gateway."""
    started = time.monotonic()
    deadline = _Deadline(options.budget)
    rows = {"port_mode": port_mode_check(options.port, options.paper)}
    tcp, hs, version = await _probe_handshake(options)
    rows.update(tcp=tcp, handshake=hs)
    accounts: list[str] = []
    if hs.status is CheckStatus.OK:
        session, accounts = await _probe_session(options, deadline)
        rows.update((c.name, c) for c in session)
    why = "no API handshake" if hs.status is not CheckStatus.OK else "no API session"
    checks = tuple(rows.get(name) or _skip(name, why) for name in CHECK_NAMES)
    report = DoctorReport(
        options=options,
        checks=checks,
        elapsed_s=time.monotonic() - started,
        server_version=version,
        accounts=tuple(accounts),
    )
    log.info(
        "doctor finished",
        extra={
            "host": options.host,
            "port": options.port,
            "ok": report.ok,
            "failed": [c.name for c in checks if c.status is CheckStatus.FAIL],
            "elapsed_s": report.elapsed_s,
        },
    )
    return report
