"""Financial-advisor routing, and UTC fill times whatever the host's and the gateway's zones."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from horizon.core import OrderAction, OrderStatus
from horizon.errors import InvalidOrder
from horizon.venues.ibkr import Ibkr
from ibgateway_sim import GatewaySimulator

FA = ["DF1234567", "DU1234568", "DU1234569"]


@pytest.fixture
def fa_gateway() -> Iterator[GatewaySimulator]:
    sim = GatewaySimulator(host="127.0.0.1", port=0, accounts=FA, seed=3)
    sim.start()
    try:
        yield sim
    finally:
        sim.stop()


def test_fa_accounts_enumerated_and_orders_routed_to_a_sub_account(
    fa_gateway: GatewaySimulator,
) -> None:
    with Ibkr(port=fa_gateway.port, paper=True, client_id=1, commission_grace=0.3) as ibkr:
        assert ibkr.managed_accounts() == FA
        assert ibkr.default_account == "DF1234567"  # the first is the default
        oid = ibkr.submit(
            OrderAction(market_id="AAPL", side="buy", quantity=Decimal(4), account="DU1234569")
        )
        assert ibkr.wait_for_status(oid, timeout=5) is OrderStatus.FILLED
        [fill] = ibkr.wait_fills(1, timeout=5)
        assert fill.account == "DU1234569"
        [pos] = ibkr.positions("DU1234569")
        assert pos.account == "DU1234569" and pos.quantity == Decimal(4)
        assert ibkr.positions("DU1234568") == []
        accounts = {b.account for b in ibkr.balance()}
        assert {"DU1234568", "DU1234569"} <= accounts
        with pytest.raises(InvalidOrder, match="account"):
            ibkr.submit(OrderAction(market_id="AAPL", side="buy", quantity=1, account="DU999"))


def test_explicit_account_must_be_managed(fa_gateway: GatewaySimulator) -> None:
    from horizon.errors import ConfigurationError

    venue = Ibkr(port=fa_gateway.port, paper=True, client_id=2, account="DU0000001")
    with pytest.raises(ConfigurationError, match="DU0000001"):
        venue.connect()
    venue.close()


CHILD = r"""
import json, sys
from decimal import Decimal
from horizon.core import OrderAction
from horizon.venues.ibkr import Ibkr

with Ibkr(port=int(sys.argv[1]), paper=True, client_id=5, commission_grace=0.3) as ibkr:
    oid = ibkr.submit(OrderAction(market_id="AAPL", side="buy", quantity=Decimal(1)))
    ibkr.wait_for_status(oid, timeout=10)
    [fill] = ibkr.wait_fills(1, timeout=10)
    print(json.dumps({"exec_id": fill.exec_id, "ts": fill.timestamp.isoformat()}))
"""


@pytest.mark.parametrize(
    ("gateway_zone", "exec_format"),
    [("US/Eastern", "zone"), ("UTC", "zone"), ("US/Eastern", "utc")],
)
def test_fill_time_is_utc_whatever_the_host_and_gateway_zones(
    gateway_zone: str, exec_format: str
) -> None:
    """ "utc" sends YYYYMMDD-HH:MM:SS, which ib_async alone reads in the host's zone (#230)."""
    sim = GatewaySimulator(host="127.0.0.1", port=0, accounts=["DU1234567"], seed=5,
                           timezone=gateway_zone, exec_time_format=exec_format)
    sim.start()
    try:
        env = {**os.environ, "TZ": "Asia/Tokyo"}  # the host's zone must not matter
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(sim.port)],
            env=env, capture_output=True, text=True, timeout=60, check=True,
        )
        got = json.loads(out.stdout.strip().splitlines()[-1])
        [truth] = sim.executions()
        ts = datetime.fromisoformat(got["ts"])
        assert got["exec_id"] == truth.exec_id
        assert ts.utcoffset() is not None and ts.utcoffset().total_seconds() == 0
        expected = datetime.fromtimestamp(int(truth.time), UTC)  # the wire has whole seconds
        assert abs((ts - expected).total_seconds()) < 1.0
    finally:
        sim.stop()
