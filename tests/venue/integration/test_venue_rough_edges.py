"""What a new user meets first: the timeout they asked for, the message that is true, a typed
error for every mistake, a quiet log, and no noise at exit."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time
from decimal import Decimal

import pytest

from horizon.core import OrderAction, OrderStatus
from horizon.errors import ClientIdInUse, RequestTimeout, VenueUnavailable
from horizon.venues.ibkr import Ibkr
from ibgateway_sim import GatewaySimulator


def resting() -> OrderAction:
    return OrderAction(market_id="AAPL", side="buy", quantity=Decimal(1), order_type="limit",
                       limit_price="150.00")


def test_a_blocking_wait_says_the_timeout_it_was_given(ibkr: Ibkr) -> None:
    oid = ibkr.submit(resting())
    started = time.monotonic()
    with pytest.raises(RequestTimeout) as err:
        ibkr.wait_for_status(oid, OrderStatus.FILLED, timeout=0.5)
    assert time.monotonic() - started < 2
    assert err.value.timeout == 0.5 and "within 0.5 s" in str(err.value)
    assert err.value.__cause__ is None  # the venue's own error, not a chain of wrappers
    said = r"2 fill\(s\) \(got 0 ready\) got no answer within 1 s"
    with pytest.raises(RequestTimeout, match=said):
        ibkr.wait_fills(2, timeout=1)


def test_not_connected_is_not_gateway_down(gateway: GatewaySimulator) -> None:
    venue = Ibkr(port=gateway.port, paper=True, client_id=31)
    with pytest.raises(VenueUnavailable, match="not connected; call connect") as err:
        venue.submit(resting())
    assert "nothing answered" not in str(err.value)
    venue.connect()
    venue.close()
    with pytest.raises(VenueUnavailable, match="is closed; call connect") as err:
        venue.submit(resting())
    assert "nothing answered" not in str(err.value)


def test_ib_async_does_not_repeat_what_horizon_logs(
    ibkr: Ibkr, gateway: GatewaySimulator, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        oid = ibkr.submit(resting())
        ibkr.wait_for_status(oid, OrderStatus.ACCEPTED, timeout=5)
        ibkr.cancel(oid)
        ibkr.wait_for_status(oid, OrderStatus.CANCELED, timeout=5)
        with pytest.raises(ClientIdInUse):
            Ibkr(port=gateway.port, paper=True, client_id=1, connect_timeout=2).connect()
    noisy = [r for r in caplog.records if r.name.startswith("ib_async")
             and r.levelno >= logging.WARNING]
    assert noisy == [], [r.getMessage() for r in noisy]
    said = [r.getMessage() for r in caplog.records if r.name == "horizon.venues.ibkr"]
    assert sum("cancelled" in m for m in said) == 1
    assert sum("in use" in m for m in said) == 1


def test_the_ib_async_log_stays_when_asked_for(
    gateway: GatewaySimulator, caplog: pytest.LogCaptureFixture
) -> None:
    venue = Ibkr(port=gateway.port, paper=True, client_id=32, quiet_ib_async=False)
    venue.connect()
    try:
        with caplog.at_level(logging.INFO):
            oid = venue.submit(resting())
            venue.wait_for_status(oid, OrderStatus.ACCEPTED, timeout=5)
            venue.cancel(oid)
            venue.wait_for_status(oid, OrderStatus.CANCELED, timeout=5)
    finally:
        venue.close()
    assert any(r.name.startswith("ib_async") and "202" in r.getMessage()
               for r in caplog.records)


CTRL_C = r"""
import sys
from decimal import Decimal
from horizon.core import OrderAction, OrderStatus
from horizon.venues.ibkr import Ibkr
venue = Ibkr(port=int(sys.argv[1]), paper=True, client_id=33)
venue.connect()
oid = venue.submit(OrderAction(market_id="AAPL", side="buy", quantity=Decimal(1),
                               order_type="limit", limit_price="150.00"))
print("waiting", flush=True)
venue.wait_for_status(oid, OrderStatus.FILLED, timeout=60)
"""


def test_ctrl_c_during_a_blocking_call_leaves_no_pending_task_noise(
    gateway: GatewaySimulator,
) -> None:
    proc = subprocess.Popen([sys.executable, "-c", CTRL_C, str(gateway.port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "waiting"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "KeyboardInterrupt" in err
    assert "Task was destroyed" not in err and "Exception ignored" not in err, err
