"""Ibkr connection lifecycle over TCP against the simulator, with real ib_async underneath."""

from __future__ import annotations

import socket
import time
from decimal import Decimal

import pytest

from horizon.errors import AccountModeMismatch, ClientIdInUse, VenueUnavailable
from horizon.venues.ibkr import ConnectionState, Ibkr
from ibgateway_sim import GatewaySimulator
from tests.support import Events


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_quickstart_connect_and_balance(ibkr: Ibkr) -> None:
    assert ibkr.is_connected()
    assert ibkr.managed_accounts() == ["DU1234567"]
    assert ibkr.default_account == "DU1234567"
    balances = ibkr.balance()
    usd = [b for b in balances if b.currency == "USD"]
    assert usd and usd[0].account == "DU1234567"
    assert usd[0].net_liquidation is not None and usd[0].net_liquidation > 0
    assert isinstance(usd[0].cash, Decimal)


def test_nothing_listening_is_a_clear_connection_error() -> None:
    port = free_port()
    venue = Ibkr(port=port, paper=True, connect_timeout=2)
    started = time.monotonic()
    with pytest.raises(VenueUnavailable) as info:
        venue.connect()
    assert time.monotonic() - started < 2
    assert isinstance(info.value, ConnectionError)
    assert f"127.0.0.1:{port}" in str(info.value)
    assert "IB Gateway" in str(info.value)
    assert not venue.is_connected()
    venue.close()


def test_close_is_idempotent_and_context_manager_closes(gateway: GatewaySimulator) -> None:
    with Ibkr(port=gateway.port, paper=True, client_id=3) as venue:
        assert venue.is_connected()
        assert 3 in gateway.connected_client_ids()
    assert not venue.is_connected()
    venue.close()
    gateway.wait_for(lambda: 3 not in gateway.connected_client_ids(), timeout=5)


def test_context_manager_closes_on_exception(gateway: GatewaySimulator) -> None:
    with pytest.raises(RuntimeError, match="boom"), Ibkr(port=gateway.port, client_id=4) as venue:
        raise RuntimeError("boom")
    assert not venue.is_connected()


def test_paper_venue_refuses_a_live_account() -> None:
    sim = GatewaySimulator(host="127.0.0.1", port=0, accounts=["U7654321"], seed=1)
    sim.start()
    try:
        venue = Ibkr(port=sim.port, paper=True, client_id=1)
        with pytest.raises(AccountModeMismatch, match="U7654321"):
            venue.connect()
        assert not venue.is_connected()
        sim.wait_for(lambda: not sim.connected_client_ids(), timeout=5)
        venue.close()
        opted_out = Ibkr(port=sim.port, paper=True, client_id=1, verify_account_mode=False)
        opted_out.connect()
        assert opted_out.is_connected()
        opted_out.close()
    finally:
        sim.stop()


def test_live_venue_refuses_a_paper_account(gateway: GatewaySimulator) -> None:
    venue = Ibkr(port=gateway.port, paper=False, client_id=1)
    with pytest.raises(AccountModeMismatch, match="DU1234567"):
        venue.connect()
    venue.close()


def test_client_id_in_use_fails_fast(gateway: GatewaySimulator, ibkr: Ibkr) -> None:
    clash = Ibkr(port=gateway.port, paper=True, client_id=1, connect_timeout=4)
    started = time.monotonic()
    with pytest.raises(ClientIdInUse, match="client id 1 is already in use"):
        clash.connect()
    assert time.monotonic() - started < 1.0
    clash.close()


def test_client_id_range_leases_the_first_free_id(gateway: GatewaySimulator, ibkr: Ibkr) -> None:
    leased = Ibkr(port=gateway.port, paper=True, client_id=1, client_id_range=(1, 5))
    leased.connect()
    try:
        assert leased.client_id == 2
        assert {1, 2} <= gateway.connected_client_ids()
    finally:
        leased.close()


def test_walking_a_range_of_taken_ids_does_not_wait_on_pacing(gateway: GatewaySimulator) -> None:
    """Each refused attempt is a closed connection (IB paces per connection): its handshake
    tokens come back, so 12 clashes cost 12 handshakes, not 36 tokens at 45 a second."""
    holders = [Ibkr(port=gateway.port, paper=True, client_id=cid) for cid in range(1, 13)]
    leased = Ibkr(port=gateway.port, paper=True, client_id_range=(1, 20))
    try:
        for holder in holders:
            holder.connect()
        leased.connect()
        assert leased.client_id == 13
        assert leased.metrics_snapshot().pacing_wait_seconds == 0.0
    finally:
        leased.close()
        for holder in holders:
            holder.close()


def test_health_check_records_rtt_and_utc_time(ibkr: Ibkr) -> None:
    assert ibkr.health_check() is True
    assert ibkr._last_health_rtt_s is not None and 0 < ibkr._last_health_rtt_s < 2
    assert ibkr._last_health_at is not None
    assert ibkr._last_health_at.utcoffset() is not None
    assert ibkr._last_health_at.utcoffset().total_seconds() == 0


def test_health_check_detects_a_half_open_socket(gateway: GatewaySimulator) -> None:
    venue = Ibkr(port=gateway.port, paper=True, client_id=5, health_timeout=0.5, reconnect=False)
    venue.connect()
    try:
        gateway.freeze()
        assert venue.ib.isConnected()  # ib_async still believes it is connected
        started = time.monotonic()
        assert venue.health_check() is False
        assert time.monotonic() - started < 1.5
        assert not venue.is_connected()
    finally:
        gateway.thaw()
        venue.close()


async def test_async_twins_on_the_callers_loop(aibkr: Ibkr) -> None:
    assert aibkr.is_connected()
    assert await aibkr.health_check_async()
    balances = await aibkr.balance_async()
    assert any(b.currency == "USD" for b in balances)
    assert await aibkr.positions_async() == []


async def test_blocking_call_inside_the_venue_loop_is_refused(aibkr: Ibkr) -> None:
    from horizon.errors import HorizonError

    with pytest.raises(HorizonError, match="_async"):
        aibkr.balance()


def test_close_then_connect_again(gateway: GatewaySimulator) -> None:
    venue = Ibkr(port=gateway.port, paper=True, client_id=6)
    venue.connect()
    venue.close()
    assert not venue.is_connected()
    venue.connect()
    try:
        assert venue.is_connected() and venue.health_check()
    finally:
        venue.close()


def test_a_leased_client_id_is_kept_across_a_restart(gateway: GatewaySimulator) -> None:
    squatter = Ibkr(port=gateway.port, paper=True, client_id=20)
    squatter.connect()
    leased = Ibkr(port=gateway.port, paper=True, client_id=20, client_id_range=(20, 22),
                  reconnect_initial_delay=0.05, reconnect_max_delay=0.2)
    leased.connect()
    events = Events()
    leased.add_listener(events)
    try:
        assert leased.client_id == 21
        squatter.close()  # 20 is free now; the restart must not move us onto it
        gateway.wait_for(lambda: 20 not in gateway.connected_client_ids(), timeout=5)
        gateway.restart(downtime=0.2)
        events.wait(ConnectionState.RECONNECTED, timeout=10)  # back and synced, not just seen
        assert 21 in gateway.connected_client_ids()
        assert leased.client_id == 21
        assert leased.health_check()
    finally:
        leased.close()


def test_a_wedged_gateway_is_named_as_such(gateway: GatewaySimulator) -> None:
    """TCP accepts, no handshake comes (socat in front of a dead gateway)."""
    gateway.freeze()
    venue = Ibkr(port=gateway.port, paper=True, client_id=30, connect_timeout=0.5)
    try:
        started = time.monotonic()
        with pytest.raises(VenueUnavailable, match=r"no API handshake within 0\.5 s"):
            venue.connect()
        assert time.monotonic() - started < 3
    finally:
        gateway.thaw()
        venue.close()
