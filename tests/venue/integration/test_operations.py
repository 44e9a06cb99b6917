"""What an operator sees of a running strategy: Prometheus metrics, /healthz and /readyz, over
real HTTP and TCP against the simulator; a frozen gateway, a restart and a restart window each
show in both."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from horizon.core import OrderAction, OrderStatus
from horizon.venues.ibkr import Ibkr
from horizon.venues.ibkr import metrics as venue_metrics
from horizon.venues.ibkr.health_server import HealthServer
from horizon.venues.ibkr.readiness import RestartWindow
from horizon.venues.ibkr.resilience import ConnectionState
from ibgateway_sim import GatewaySimulator
from tests.support import Events

CID = 41
REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def venue(gateway: GatewaySimulator, registry: CollectorRegistry) -> Iterator[Ibkr]:
    v = Ibkr(port=gateway.port, paper=True, client_id=CID, commission_grace=0.2,
             reconnect_initial_delay=0.05, reconnect_max_delay=0.2, health_timeout=0.3,
             health_check_interval=0.3, connect_timeout=1)
    venue_metrics.register(v, registry)
    v.connect()
    try:
        yield v
    finally:
        v.close()


def scrape(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = generate_latest(registry).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def get(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_metrics_count_orders_fills_fees_rejects_and_latency(
    venue: Ibkr, gateway: GatewaySimulator, registry: CollectorRegistry
) -> None:
    gateway.set_price("AAPL", Decimal("190.00"))
    filled = venue.submit(OrderAction(market_id="AAPL", side="buy", quantity=Decimal(2)))
    refused = venue.submit(OrderAction(market_id="AAPL", side="buy", quantity=Decimal(100_000)))
    assert venue.wait_for_status(filled, timeout=5) is OrderStatus.FILLED
    assert venue.wait_for_status(refused, timeout=5) is OrderStatus.REJECTED
    [fill] = venue.wait_fills(1, timeout=5)
    got = scrape(registry)
    who = (("account", "DU1234567"), ("client_id", str(CID)))
    assert got[("horizon_ibkr_orders_submitted_total", who)] == 2
    assert got[("horizon_ibkr_orders_final_total", (*who, ("status", "filled")))] == 1
    code = (("client_id", str(CID)), ("code", "201"))
    assert got[("horizon_ibkr_order_rejects_total", code)] == 1
    assert got[("horizon_ibkr_fills_total", who)] == 1
    fee = (("client_id", str(CID)), ("currency", "USD"))
    assert got[("horizon_ibkr_fees_total", fee)] == float(fill.fee or 0) > 0
    assert got[("horizon_ibkr_submit_ack_seconds_count", (("client_id", str(CID)),))] == 2
    assert got[("horizon_ibkr_connected", (("client_id", str(CID)),))] == 1
    assert got[("horizon_ibkr_requests_total", (("client_id", str(CID)),))] > 2
    assert not any("order_id" in dict(labels) for _, labels in got)  # bounded labels only


def test_scrapes_from_another_thread_while_orders_go_out(
    venue: Ibkr, registry: CollectorRegistry
) -> None:
    """Prometheus scrapes from its own thread while the venue's loop adds orders: every
    scrape succeeds (the order book was once iterated as it grew: 'dictionary changed size
    during iteration' in about one scrape in six)."""
    errors: list[str] = []
    scrapes = 0
    done = threading.Event()

    def scraper() -> None:
        nonlocal scrapes
        while not done.is_set():
            try:
                scrape(registry)
                venue.stats  # noqa: B018 - read, as an operator's thread would
            except Exception as exc:  # any failure of a scrape is the finding
                errors.append(repr(exc))
            scrapes += 1

    thread = threading.Thread(target=scraper)
    thread.start()
    try:
        for _ in range(150):
            venue.submit(OrderAction(market_id="AAPL", side="buy", quantity=Decimal(1)))
    finally:
        done.set()
        thread.join(timeout=10)
    assert errors == [] and scrapes > 10
    who = (("account", "DU1234567"), ("client_id", str(CID)))
    assert scrape(registry)[("horizon_ibkr_orders_submitted_total", who)] == 150


def test_a_freeze_and_a_restart_show_in_readyz_and_the_metrics(
    venue: Ibkr, gateway: GatewaySimulator, registry: CollectorRegistry
) -> None:
    events = Events()
    venue.add_listener(events)
    with HealthServer(venue, port=0, registry=registry) as server:
        base = f"http://127.0.0.1:{server.port}"
        status, body = get(f"{base}/readyz")
        assert status == 200 and body["ready"] is True
        status, body = get(f"{base}/healthz")
        assert status == 200 and body["alive"] is True and body["loop"] == "answering"

        gateway.freeze()  # the background health check finds it and marks the venue down
        events.wait(ConnectionState.DISCONNECTED, timeout=5)
        status, body = get(f"{base}/readyz")
        assert status == 503 and body["checks"]["connected"]["ok"] is False
        cid = (("client_id", str(CID)),)
        assert scrape(registry)[("horizon_ibkr_connected", cid)] == 0
        gateway.thaw()
        events.wait(ConnectionState.RECONNECTED, timeout=10)
        gateway.restart(downtime=0.2)
        events.wait(ConnectionState.RECONNECTED, count=2, timeout=10)
        status, body = get(f"{base}/readyz")
        assert status == 200, body
        got = scrape(registry)
        assert got[("horizon_ibkr_reconnects_total", cid)] == 2
        assert got[("horizon_ibkr_disconnected_seconds_total", cid)] > 0
        text = urllib.request.urlopen(f"{base}/metrics", timeout=5).read().decode()
        assert "horizon_ibkr_reconnects_total" in text


def test_inside_the_restart_window_the_venue_is_not_ready(venue: Ibkr) -> None:
    now = datetime.now(UTC)
    around_now = RestartWindow.parse(
        f"{(now - timedelta(minutes=5)):%H:%M}-{(now + timedelta(minutes=5)):%H:%M}", "UTC"
    )
    with HealthServer(venue, port=0, restart_window=around_now) as server:
        status, body = get(f"http://127.0.0.1:{server.port}/readyz")
    assert status == 503 and body["checks"]["restart_window"]["ok"] is False
    assert body["checks"]["connected"]["ok"] is True


def test_a_venue_that_cannot_log_in_is_not_ready(
    gateway: GatewaySimulator, registry: CollectorRegistry
) -> None:
    gateway.stop()  # as a gateway stuck at its login: nothing answers the API
    venue = Ibkr(port=gateway.port, paper=True, client_id=CID, connect_timeout=0.5)
    venue_metrics.register(venue, registry)
    assert scrape(registry)[("horizon_ibkr_connected", (("client_id", str(CID)),))] == 0
    with HealthServer(venue, port=0) as server:
        status, body = get(f"http://127.0.0.1:{server.port}/readyz")
        assert status == 503 and body["checks"]["connected"]["detail"] == "lifecycle new"
        assert get(f"http://127.0.0.1:{server.port}/healthz")[0] == 200
    venue.close()


async def test_a_blocked_event_loop_fails_healthz(gateway: GatewaySimulator) -> None:
    venue = Ibkr(port=gateway.port, paper=True, client_id=CID)
    await venue.connect_async()
    try:
        with HealthServer(venue, port=0) as server:
            answers: list[tuple[int, dict[str, Any]]] = []
            asker = threading.Thread(
                target=lambda: answers.append(get(f"http://127.0.0.1:{server.port}/healthz"))
            )
            asker.start()
            asker.join(timeout=3)  # this test blocks the venue's loop (its own) meanwhile
            assert answers and answers[0][0] == 503
            assert "blocked" in answers[0][1]["loop"]
    finally:
        await venue.close_async()


def test_the_deploy_example_serves_its_probes_and_stops_cleanly(
    gateway: GatewaySimulator, tmp_path: Path
) -> None:
    """deploy/app_example.py as the compose stack and Kubernetes run it, against the
    simulator: /readyz goes 503 when the gateway freezes, and SIGTERM ends it with 0."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        health_port = s.getsockname()[1]
    env = {
        **os.environ,
        "HORIZON_IBKR_PORT": str(gateway.port),
        "HORIZON_CLIENT_IDS": "51-52",
        "HORIZON_FILL_JOURNAL": str(tmp_path / "fills.sqlite"),
        "HORIZON_HEALTH_INTERVAL": "0.2",
        "HORIZON_HEALTH_PORT": str(health_port),
        "HORIZON_HEALTH_HOST": "127.0.0.1",
        "HORIZON_LOG_LEVEL": "INFO",
    }
    app = subprocess.Popen(
        [sys.executable, str(REPO / "deploy" / "app_example.py")],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert app.stderr is not None
        for line in app.stderr:  # the example logs "connected" once the venue is up
            if " connected" in line:
                break
        url = f"http://127.0.0.1:{health_port}"
        assert get(f"{url}/readyz")[0] == 200
        gateway.freeze()
        gateway.wait_for(lambda: not gateway.connected_client_ids(), timeout=10)
        status, body = get(f"{url}/readyz")
        assert status == 503 and body["checks"]["connected"]["ok"] is False
        gateway.thaw()
        app.send_signal(signal.SIGTERM)
        assert app.wait(timeout=20) == 0
    finally:
        if app.poll() is None:
            app.kill()
