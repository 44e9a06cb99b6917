"""The `ibkr_gateway` fixture, as a user project sees it: a fresh pytest run in a temporary
directory with nothing but horizon-ibkr installed, so the fixture can only come from the
`pytest11` entry point."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

USER_TESTS = """
import asyncio
import socket
import time
from decimal import Decimal

import ib_async
import pytest

SEEN_PORTS = []


def test_a_gateway_on_a_free_port(ibkr_gateway):
    SEEN_PORTS.append(ibkr_gateway.port)
    assert ibkr_gateway.port > 0
    ib = ib_async.IB()
    ib.connect("127.0.0.1", ibkr_gateway.port, clientId=1, timeout=5)
    try:
        assert ib.managedAccounts() == ["DU1234567"]
        assert ibkr_gateway.connected_client_ids() == {1}
    finally:
        ib.disconnect()


def test_the_last_gateway_was_stopped(ibkr_gateway):
    assert ibkr_gateway.port != SEEN_PORTS[0]
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", SEEN_PORTS[0]), timeout=2)


@pytest.mark.ibkr_gateway(accounts=["DU111", "DU222"], seed=3)
def test_marker_options(ibkr_gateway):
    ib = ib_async.IB()
    ib.connect("127.0.0.1", ibkr_gateway.port, clientId=2, timeout=5)
    try:
        assert sorted(ib.managedAccounts()) == ["DU111", "DU222"]
    finally:
        ib.disconnect()


def test_control_api_moves_the_price(ibkr_gateway):
    ibkr_gateway.set_price("AAPL", Decimal("123.45"))
    ib = ib_async.IB()
    ib.connect("127.0.0.1", ibkr_gateway.port, clientId=3, timeout=5)
    try:
        [aapl] = ib.qualifyContracts(ib_async.Stock("AAPL", "SMART", "USD"))
        ticker = ib.reqMktData(aapl)
        deadline = time.monotonic() + 5
        while ticker.last != 123.45 and time.monotonic() < deadline:
            ib.waitOnUpdate(timeout=1)
        assert ticker.last == 123.45
    finally:
        ib.disconnect()


@pytest.mark.asyncio
async def test_async_client_and_a_fault(ibkr_gateway):
    ib = ib_async.IB()
    await ib.connectAsync("127.0.0.1", ibkr_gateway.port, clientId=4, timeout=5)
    lost = asyncio.Event()
    ib.errorEvent += lambda _req_id, code, _text, _contract: code == 1100 and lost.set()
    try:
        ibkr_gateway.send_error(1100, "Connectivity between IB and TWS has been lost.")
        await asyncio.wait_for(lost.wait(), 5)
    finally:
        ib.disconnect()
"""


def test_fixture_serves_a_user_project(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest_subprocess("--strict-markers", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=5)


def test_the_fixture_comes_from_the_entry_point(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user="def test_x(ibkr_gateway):\n    assert ibkr_gateway.port\n")
    result = pytester.runpytest_subprocess("-p", "no:horizon_ibkr", "-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'ibkr_gateway' not found*"])
