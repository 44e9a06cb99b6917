"""Resilience over TCP: restarts, half-open sockets, fill faults, lost orders, 1100/1102."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal

import pytest

from horizon.core import OrderAction, OrderStatus
from horizon.errors import VenueUnavailable
from horizon.venues.ibkr import Ibkr
from horizon.venues.ibkr.resilience import ConnectionState
from ibgateway_sim import GatewaySimulator
from tests.support import Events


def market(qty: int = 10, side: str = "buy") -> OrderAction:
    return OrderAction(market_id="AAPL", side=side, quantity=Decimal(qty))  # type: ignore[arg-type]


@pytest.fixture
def resilient(gateway: GatewaySimulator) -> Ibkr:
    venue = Ibkr(
        port=gateway.port, paper=True, client_id=7, commission_grace=0.3,
        reconnect_initial_delay=0.05, reconnect_max_delay=0.3, reconnect_wait=10,
        health_timeout=0.4, connect_timeout=1.0,
    )
    venue.connect()
    yield venue  # type: ignore[misc]
    venue.close()


def test_restart_reconnects_and_loses_no_fill(resilient: Ibkr, gateway: GatewaySimulator) -> None:
    events = Events()
    resilient.add_listener(events)
    first = resilient.submit(market())
    resilient.wait_for_status(first, OrderStatus.FILLED, timeout=5)
    gateway.restart(downtime=0.5)
    events.wait(ConnectionState.DISCONNECTED)
    events.wait(ConnectionState.RECONNECTED)
    assert resilient.is_connected()
    second = resilient.submit(market(5, "sell"))  # works after the restart
    resilient.wait_for_status(second, OrderStatus.FILLED, timeout=5)
    fills = resilient.wait_fills(2, timeout=5)
    truth = gateway.executions()
    assert sorted(f.exec_id for f in fills) == sorted(e.exec_id for e in truth)
    assert all(f.fee is not None for f in fills)
    assert resilient.drain_fills() == []
    assert resilient.reconnects == 1


def test_fill_during_the_outage_is_reconciled(resilient: Ibkr, gateway: GatewaySimulator) -> None:
    events = Events()
    resilient.add_listener(events)
    oid = resilient.submit(
        OrderAction(market_id="AAPL", side="buy", quantity=Decimal(3), order_type="limit",
                    limit_price="150.00")
    )
    resilient.wait_for_status(oid, OrderStatus.ACCEPTED, timeout=5)
    gateway.restart(downtime=1.0)
    events.wait(ConnectionState.DISCONNECTED)
    gateway.set_price("AAPL", Decimal("149.00"))  # the resting buy fills while we are away
    gateway.wait_for(lambda: len(gateway.executions()) == 1, timeout=5)
    events.wait(ConnectionState.RECONNECTED)
    assert resilient.wait_for_status(oid, timeout=5) is OrderStatus.FILLED
    [fill] = resilient.wait_fills(1, timeout=5)
    assert fill.exec_id == gateway.executions()[0].exec_id
    assert fill.order_id == oid


def test_calls_while_down_raise_after_reconnect_wait(gateway: GatewaySimulator) -> None:
    venue = Ibkr(port=gateway.port, paper=True, client_id=8, reconnect_wait=0.3,
                 reconnect_initial_delay=5, connect_timeout=1)
    venue.connect()
    try:
        gateway.restart(downtime=3.0)
        gateway.wait_for(lambda: 8 not in gateway.connected_client_ids(), timeout=5)
        started = time.monotonic()
        with pytest.raises(VenueUnavailable, match=r"reconnecting|connection"):
            venue.submit(market())
        assert time.monotonic() - started < 2
    finally:
        venue.close()


def test_periodic_health_check_recovers_from_a_freeze(gateway: GatewaySimulator) -> None:
    venue = Ibkr(port=gateway.port, paper=True, client_id=9, health_check_interval=0.2,
                 health_timeout=0.3, connect_timeout=0.5, reconnect_initial_delay=0.05,
                 reconnect_max_delay=0.2)
    events = Events()
    venue.add_listener(events)
    venue.connect()
    try:
        gateway.freeze()
        events.wait(ConnectionState.DISCONNECTED, timeout=3)  # within interval + timeout
        gateway.thaw()
        events.wait(ConnectionState.RECONNECTED, timeout=10)
        assert venue.health_check() is True
    finally:
        venue.close()


def test_duplicate_execution_is_delivered_once(resilient: Ibkr, gateway: GatewaySimulator) -> None:
    gateway.duplicate_next_exec()
    oid = resilient.submit(market())
    resilient.wait_for_status(oid, OrderStatus.FILLED, timeout=5)
    fills = resilient.wait_fills(1, timeout=5)
    assert len(fills) == 1
    assert resilient.drain_fills() == []


def test_commission_before_execution_still_sets_the_fee(
    resilient: Ibkr, gateway: GatewaySimulator
) -> None:
    gateway.commission_before_exec()
    oid = resilient.submit(market())
    resilient.wait_for_status(oid, OrderStatus.FILLED, timeout=5)
    [fill] = resilient.wait_fills(1, timeout=5)
    truth = gateway.executions()[0]
    assert fill.fee == gateway.commissions()[truth.exec_id].commission


def test_lost_commission_delivers_fill_then_fee_on_replay(
    resilient: Ibkr, gateway: GatewaySimulator
) -> None:
    events = Events()
    resilient.add_listener(events)
    gateway.drop_next_commission()
    oid = resilient.submit(market())
    resilient.wait_for_status(oid, OrderStatus.FILLED, timeout=5)
    [fill] = resilient.wait_fills(1, timeout=5)
    assert fill.fee is None and fill.corrects is None  # handed out after the grace period
    gateway.restart(downtime=0.2)  # the reconnect replays executions with their commissions
    events.wait(ConnectionState.RECONNECTED)
    [late] = resilient.wait_fills(1, timeout=5)
    assert late.corrects == fill.exec_id and late.exec_id == fill.exec_id
    assert late.fee == gateway.commissions()[fill.exec_id].commission


def test_execution_correction_replaces_the_original(
    resilient: Ibkr, gateway: GatewaySimulator
) -> None:
    gateway.correct_next_exec(price=Decimal("190.50"))
    oid = resilient.submit(market())
    resilient.wait_for_status(oid, OrderStatus.FILLED, timeout=5)
    gateway.wait_for(lambda: len(gateway.executions()) == 2, timeout=5)
    fills = resilient.wait_fills(1, timeout=5) + resilient.drain_fills()
    original, corrected = gateway.executions()
    if len(fills) == 1:  # the original was still held: only the correction comes out
        assert fills[0].exec_id == corrected.exec_id and fills[0].price == Decimal("190.50")
    else:
        assert fills[0].exec_id == original.exec_id
        assert fills[1].corrects == original.exec_id and fills[1].price == Decimal("190.50")


def test_order_lost_before_ack_is_rejected_after_reconnect(
    resilient: Ibkr, gateway: GatewaySimulator
) -> None:
    events = Events()
    resilient.add_listener(events)
    gateway.drop_next_order()
    oid = resilient.submit(market())
    assert resilient.order_status(oid) is OrderStatus.PENDING_NEW
    gateway.restart(downtime=0.2)
    events.wait(ConnectionState.RECONNECTED)
    assert resilient.wait_for_status(oid, timeout=5) is OrderStatus.REJECTED
    assert resilient.order(oid).reason == "lost before the gateway acknowledged it"


def test_connectivity_lost_and_restored_are_reported(
    resilient: Ibkr, gateway: GatewaySimulator
) -> None:
    events = Events()
    resilient.add_listener(events)
    gateway.send_error(1100, "Connectivity between IB and Trader Workstation has been lost.")
    events.wait(ConnectionState.DEGRADED)
    gateway.send_error(
        1102, "Connectivity between IB and Trader Workstation has been restored - data maintained."
    )
    events.wait(ConnectionState.RESTORED)
    assert resilient.is_connected() and resilient.health_check()


@pytest.fixture
def gateway_process() -> Iterator[int]:
    """`horizon-ibkr sim` in its own process (its own GIL): receipt times are not bunched by
    this test process's threads, as they would not be with a real gateway."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "horizon.cli", "sim", "--host", "127.0.0.1", "--port", "0"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("listening on "), line
        yield int(line.rsplit(":", 1)[1])
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)


def test_venue_never_triggers_pacing_errors(gateway_process: int) -> None:
    """140 requests as fast as the venue allows: IB's limit (50 msg/s) is never exceeded, at
    the socket write and at the gateway (which would answer error 100)."""
    venue = Ibkr(port=gateway_process, paper=True, client_id=11, rate=45, burst=10)
    venue.connect()
    sent: list[float] = []
    conn = venue.ib.client.conn
    original = conn.sendMsg

    def record(msg: bytes) -> None:
        sent.append(time.monotonic())
        original(msg)

    conn.sendMsg = record
    try:
        ids = [
            venue.submit(OrderAction(market_id="AAPL", side="buy", quantity=Decimal(1),
                                     order_type="limit", limit_price="100.00"))
            for _ in range(70)
        ]
        venue.cancel_all()
        for oid in ids:
            assert venue.wait_for_status(oid, timeout=10) is OrderStatus.CANCELED, oid
        assert len(sent) >= 140
        most = max(sum(1 for u in sent if t <= u < t + 1.0) for t in sent)
        assert most <= 50, most
        assert venue.pacing_errors == 0
    finally:
        venue.close()


def test_restart_with_a_partial_fill_in_flight() -> None:
    sim = GatewaySimulator(host="127.0.0.1", port=0, accounts=["DU1234567"], seed=9,
                           liquidity=Decimal(3), step_interval=0.05)
    sim.start()
    venue = Ibkr(port=sim.port, paper=True, client_id=12, commission_grace=0.3,
                 reconnect_initial_delay=0.05, reconnect_max_delay=0.3, connect_timeout=1.0)
    events = Events()
    venue.add_listener(events)
    try:
        venue.connect()
        oid = venue.submit(market(10))
        sim.wait_for(lambda: len(sim.executions()) >= 1, timeout=5)
        sim.restart(downtime=0.5)  # the rest keeps filling while the client is away
        events.wait(ConnectionState.RECONNECTED)
        assert venue.wait_for_status(oid, OrderStatus.FILLED, timeout=10) is OrderStatus.FILLED
        truth = sim.executions()
        assert sum(e.shares for e in truth) == 10 and len(truth) >= 4
        fills = venue.wait_fills(len(truth), timeout=10)
        assert sorted(f.exec_id for f in fills) == sorted(e.exec_id for e in truth)
        assert sum(f.quantity for f in fills) == Decimal(10)
        assert venue.drain_fills() == []
        assert venue.order(oid).filled == Decimal(10)
    finally:
        venue.close()
        sim.stop()


async def test_orders_dropped_by_gateway_pacing_are_reported_rejected() -> None:
    """Without +PACEAPI and with every client-side limit off, a flood draws error 100; the
    orders the gateway dropped come out REJECTED, never pending forever."""
    from horizon.venues.ibkr.order_record import REFUSED_BY_PACING

    async with GatewaySimulator(host="127.0.0.1", port=0, accounts=["DU1234567"], seed=4,
                                step_interval=None, pacing_limit=50) as sim:
        venue = Ibkr(port=sim.port, paper=True, client_id=13, gateway_pacing=False,
                     rate=1e6, burst=1_000_000)
        await venue.connect_async()
        venue.ib.client.MaxRequests = 0  # ib_async's own queue off too: a true flood
        try:
            ids = [
                await venue.submit_async(
                    OrderAction(market_id="AAPL", side="buy", quantity=Decimal(1),
                                order_type="limit", limit_price="100.00")
                )
                for _ in range(90)
            ]
            statuses = {OrderStatus.ACCEPTED, OrderStatus.REJECTED}
            for oid in ids:
                await venue.wait_for_status_async(oid, *statuses, timeout=10)
            views = {oid: await venue.order_async(oid) for oid in ids}
            rejected = [oid for oid, v in views.items() if v.status is OrderStatus.REJECTED]
            accepted = [oid for oid in ids if oid not in rejected]
            assert sim.pacing_violations > 0 and rejected
            assert all(views[o].reason == REFUSED_BY_PACING for o in rejected)
            live = {o.order_id for o in sim.engine.open_orders(13)}
            assert live == {int(o) for o in accepted}
        finally:
            await venue.close_async()


async def test_ib_asyncs_queue_drains_while_a_caller_stays_at_its_limit() -> None:
    """A caller at the bucket's limit (its burst, then 45/s) overfills its first second. With
    +PACEAPI (the default) ib_async's own queue is held to TWS's 50, not its 45, so what it
    holds back goes out while the caller keeps submitting at 45/s; at 45 it would hold them
    for as long as the caller keeps up (see `ib_async_queue_limit`)."""
    async with GatewaySimulator(host="127.0.0.1", port=0, accounts=["DU1234567"], seed=4,
                                step_interval=None) as sim:  # fmt: skip
        venue = Ibkr(port=sim.port, paper=True, client_id=14, health_check_interval=None)
        other = Ibkr(port=sim.port, paper=True, client_id=15, gateway_pacing=False)
        await venue.connect_async()
        await other.connect_async()
        client = venue.ib.client
        throttling: list[bool] = []
        client.throttleStart += lambda: throttling.append(True)
        client.throttleEnd += lambda: throttling.append(False)
        action = OrderAction(market_id="AAPL", side="buy", quantity=Decimal(1),
                             order_type="limit", limit_price="100.00")  # fmt: skip
        try:
            await venue.qualify_async("AAPL")
            assert client.MaxRequests == 50 and other.ib.client.MaxRequests == 45
            for _ in range(10 + 45 * 2):  # the burst, then two seconds at the limit
                await venue.submit_async(action)
            assert throttling[:1] == [True]  # the burst overfilled a second: something held
            assert throttling[-1] is False  # and it has gone out, the caller still at 45/s
            assert venue.pacing_errors == 0 and sim.pacing_violations == 0
        finally:
            await venue.close_async()
            await other.close_async()
