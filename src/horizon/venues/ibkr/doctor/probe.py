"""The doctor's I/O: two probe connections, then the verdicts of `checks.py`.

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
from typing import Any, Final

from horizon.venues.ibkr.doctor.checks import (
    CHECK_NAMES,
    Check,
    CheckStatus,
    DoctorOptions,
    DoctorReport,
    MarketDataProbe,
    _fail,
    _ok,
    _skip,
    accounts_check,
    clock_check,
    farms_check,
    handshake_check,
    login_check,
    market_data_check,
    port_mode_check,
)
from horizon.venues.ibkr.doctor.login import read_login_state
from horizon.venues.ibkr.mapping.status import ErrorKind, classify_error

# the package's name, as before the split, so `doctor --verbose` output and any logging
# config keyed on it stay the same
log = logging.getLogger("horizon.venues.ibkr.doctor")

_HELLO: Final = b"API\0" + struct.pack(">I", len(b"v157..178")) + b"v157..178"
_MAX_FRAME: Final = 1 << 16


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


def _login(o: DoctorOptions, *, api_listening: bool) -> Check:
    if o.gateway_log is None:
        return _skip("login", "no --gateway-log given")
    try:
        with open(o.gateway_log, encoding="utf-8", errors="replace") as f:
            state = read_login_state(f)
    except OSError as exc:
        return _fail(
            "login",
            f"cannot read the gateway log {o.gateway_log}: {exc.strerror or exc}",
            "give --gateway-log the path of IBC's log (in the compose stack, the gateway's "
            "log volume)",
        )
    return login_check(state, api_listening=api_listening)


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
    rows["login"] = _login(options, api_listening=tcp.status is CheckStatus.OK)
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
