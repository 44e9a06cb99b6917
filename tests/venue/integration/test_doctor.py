"""`horizon-ibkr doctor` over TCP: against the simulator (healthy, wrong mode, clientId clash,
frozen, skewed clock), a closed port, and two stub servers a simulator cannot imitate (a
relay that handshakes but never starts the API session, and something that is not IB)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import struct
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import ib_async
import pytest

from horizon.cli import main
from horizon.venues.ibkr.doctor import CHECK_NAMES, DoctorOptions, DoctorReport, run_doctor
from ibgateway_sim import GatewaySimulator

CLI = str(Path(sys.executable).with_name("horizon-ibkr"))
SimFactory = Callable[..., contextlib.AbstractAsyncContextManager[GatewaySimulator]]


def doctor_json(*args: str) -> tuple[int, dict[str, Any]]:
    """The console script in a child process, as a healthcheck runs it."""
    done = subprocess.run(
        [CLI, "doctor", "--json", *args], capture_output=True, text=True, timeout=30, check=False
    )
    assert done.stderr == ""
    return done.returncode, json.loads(done.stdout)


def statuses(report: DoctorReport) -> dict[str, str]:
    return {c.name: c.status.value for c in report.checks}


async def doctor(port: int, **options: Any) -> DoctorReport:
    return await run_doctor(DoctorOptions(host="127.0.0.1", port=port, **options))


# ---- through the console script ----------------------------------------------------------


def test_healthy_paper_gateway_passes(gateway: GatewaySimulator) -> None:
    code, data = doctor_json("--port", str(gateway.port), "--paper", "--timeout", "3")
    assert code == 0
    assert data["ok"] is True
    assert [c["name"] for c in data["checks"]] == list(CHECK_NAMES)
    found = {c["name"]: c["status"] for c in data["checks"]}
    # a port-0 simulator is on no well-known port: the one WARN a healthy run can have here
    assert found == {name: "ok" for name in CHECK_NAMES} | {"port_mode": "warn", "login": "skip"}
    assert data["server_version"] == 178
    assert data["accounts"] == [{"id": "DU1234567", "paper": True}]
    assert data["elapsed_s"] < 3
    # the probe's session is gone once doctor exits, so clientId 99 is free again
    gateway.wait_for(lambda: 99 not in gateway.connected_client_ids(), timeout=5)


def test_live_against_a_paper_account_fails_accounts(gateway: GatewaySimulator) -> None:
    code, data = doctor_json("--port", str(gateway.port), "--live", "--client-id", "42")
    assert code == 1
    assert data["ok"] is False
    by_name = {c["name"]: c for c in data["checks"]}
    assert by_name["accounts"]["status"] == "fail"
    assert "PAPER account(s) DU1234567" in by_name["accounts"]["detail"]
    assert "--paper" in by_name["accounts"]["fix"]
    assert by_name["port_mode"]["status"] == "warn"  # a custom port cannot tell
    assert by_name["client_id"]["detail"] == "startApi with clientId 42 accepted"
    assert [n for n, c in by_name.items() if c["status"] == "fail"] == ["accounts"]


# ---- in-process --------------------------------------------------------------------------


def test_closed_port_fails_tcp(capsys: pytest.CaptureFixture[str]) -> None:
    sim = GatewaySimulator(host="127.0.0.1", port=0, accounts=["DU1234567"])
    sim.start()
    port = sim.port
    sim.stop()  # nothing listens there any more
    code = main(["doctor", "--port", str(port), "--timeout", "2"])
    out = capsys.readouterr().out
    assert code == 1
    assert "\x1b[" not in out  # captured stdout is no terminal: plain text
    assert f"  FAIL  tcp          nothing listens on 127.0.0.1:{port}" in out
    assert "fix: start TWS or IB Gateway" in out
    assert "  SKIP  handshake    skipped: no TCP connection" in out
    assert out.rstrip().splitlines()[-1].startswith("FAIL: 0 ok, 1 warn, 1 fail, 7 skipped")


async def test_client_id_in_use_fails_fast(gateway_factory: SimFactory) -> None:
    async with gateway_factory() as sim:
        holder = ib_async.IB()
        await holder.connectAsync("127.0.0.1", sim.port, clientId=7, timeout=4)
        try:
            report = await doctor(sim.port, client_id=7, timeout=4)
            assert statuses(report)["client_id"] == "fail"
            check = report.check("client_id")
            assert "error 326" in check.detail
            assert "another process holds clientId 7" in check.fix
            assert {statuses(report)[n] for n in CHECK_NAMES[4:]} == {"skip"}
            # ib_async alone would wait out its whole timeout here
            assert report.elapsed_s < 2
            assert holder.isConnected() and sim.connected_client_ids() == {7}
        finally:
            holder.disconnect()


async def test_frozen_gateway_fails_the_handshake_within_the_timeout(
    gateway_factory: SimFactory,
) -> None:
    async with gateway_factory() as sim:
        sim.freeze()
        started = time.monotonic()
        report = await doctor(sim.port, timeout=1.0)
        took = time.monotonic() - started
        sim.thaw()
    assert statuses(report)["tcp"] == "ok"
    check = report.check("handshake")
    assert check.status.value == "fail"
    assert check.detail == "TCP accepted but no API handshake within 1 s"
    assert "socat" in check.fix
    assert {statuses(report)[n] for n in CHECK_NAMES[3:]} == {"skip"}
    assert not report.ok
    assert 1.0 <= took < 1.0 + 3


async def test_a_skewed_gateway_clock_warns_but_passes(gateway_factory: SimFactory) -> None:
    async with gateway_factory(clock=lambda: time.time() + 30) as sim:
        report = await doctor(sim.port, timeout=2)
    check = report.check("clock")
    assert check.status.value == "warn"
    assert "ahead of this host" in check.detail and "NTP" in check.fix
    assert report.ok


async def test_multi_account_paper_login_passes(gateway_factory: SimFactory) -> None:
    async with gateway_factory(accounts=["DF1000000", "DU1000001", "DU1000002"]) as sim:
        report = await doctor(sim.port, timeout=2, probe_symbol=None)
    assert report.ok
    assert report.accounts == ("DF1000000", "DU1000001", "DU1000002")
    assert statuses(report)["market_data"] == "skip"


async def test_unknown_probe_symbol_only_warns(gateway_factory: SimFactory) -> None:
    async with gateway_factory() as sim:
        report = await doctor(sim.port, timeout=2, probe_symbol="NOSUCHSYM")
    check = report.check("market_data")
    assert check.status.value == "warn" and "NOSUCHSYM" in check.detail
    assert report.ok


@pytest.mark.parametrize(
    ("entitlements", "status", "words"),
    [
        ({}, "ok", "real-time"),
        ({"realtime_data": False}, "warn", "delayed"),
        ({"realtime_data": False, "delayed_data": False}, "warn", "354"),
    ],
)
async def test_market_data_permission_over_tcp(
    gateway_factory: SimFactory, entitlements: dict[str, Any], status: str, words: str
) -> None:
    async with gateway_factory(**entitlements) as sim:
        report = await doctor(sim.port, timeout=2, probe_symbol="AAPL")
    check = report.check("market_data")
    assert check.status.value == status, check
    assert words in (check.detail + " " + check.fix), check
    assert report.ok  # market data is advisory: it warns, never fails the run


# ---- stub servers ------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def stub_server(reply: bytes | None) -> AsyncIterator[int]:
    """Accepts, reads the client's hello, sends `reply` (if any), then never answers again."""
    writers: list[asyncio.StreamWriter] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            await reader.readexactly(4)  # "API\0"
            (size,) = struct.unpack(">I", await reader.readexactly(4))
            await reader.readexactly(size)
            if reply is not None:
                writer.write(reply)
            while await reader.read(4096):
                pass

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        for w in writers:
            w.close()
        server.close()
        await server.wait_closed()


def frame(*fields: str) -> bytes:
    payload = "".join(f"{f}\0" for f in fields).encode()
    return struct.pack(">I", len(payload)) + payload


async def test_handshake_without_api_session_fails_client_id_within_budget() -> None:
    async with stub_server(frame("178", "20250115 09:30:00 EST")) as port:
        options = DoctorOptions(port=port, timeout=1.0)
        started = time.monotonic()
        report = await run_doctor(options)
        took = time.monotonic() - started
    assert statuses(report)["handshake"] == "ok"
    check = report.check("client_id")
    assert check.status.value == "fail"
    assert "not answered within 1 s" in check.detail
    assert "login" in check.fix
    assert took < 2 * options.timeout + 2


async def test_something_else_on_the_port_fails_the_handshake() -> None:
    async with stub_server(b"HTTP/1.1 400 Bad Request\r\n\r\n") as port:
        report = await doctor(port, timeout=1.0)
    check = report.check("handshake")
    assert check.status.value == "fail"
    assert "not a TWS API handshake" in check.detail
    assert report.elapsed_s < 1.0  # refused on sight, no waiting out the timeout


LOGS = Path(__file__).resolve().parents[2] / "fixtures" / "ibc"


def test_the_login_state_comes_from_the_gateway_log(gateway: GatewaySimulator) -> None:
    code, data = doctor_json(
        "--port", str(gateway.port), "--gateway-log", str(LOGS / "logged_in.log")
    )
    login = {c["name"]: c for c in data["checks"]}["login"]
    assert code == 0 and login["status"] == "ok" and "11:45 PM" in login["detail"]
    code, data = doctor_json(
        "--port", str(gateway.port), "--gateway-log", str(LOGS / "awaiting_2fa.log")
    )
    login = {c["name"]: c for c in data["checks"]}["login"]
    assert code == 1 and login["status"] == "fail" and "second factor" in login["detail"]


def test_logged_in_but_no_api_port_is_named_as_the_api_switched_off(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code, data = doctor_json("--port", str(port), "--gateway-log", str(LOGS / "logged_in.log"))
    login = {c["name"]: c for c in data["checks"]}["login"]
    assert code == 1 and "nothing listens on the API port" in login["detail"]
    code, data = doctor_json("--port", str(port), "--gateway-log", str(tmp_path / "missing.log"))
    login = {c["name"]: c for c in data["checks"]}["login"]
    assert login["status"] == "fail" and "cannot read the gateway log" in login["detail"]
