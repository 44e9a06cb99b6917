"""A long-running Horizon process for a supervisor to keep alive.

Connects (paper unless HORIZON_IBKR_MODE=live), health-checks the gateway on a fixed cadence
and drains fills. Configured by environment variables only, so the same file runs under
docker compose, systemd and supervisord (deploy/README.md lists them). It exits non-zero
when the gateway stays unhealthy for too long: the venue reconnects by itself after a
restart, but a process that cannot recover should be restarted by its supervisor, not hang.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading

from horizon.venues.ibkr import HealthServer, Ibkr, RestartWindow

log = logging.getLogger("horizon.deploy.app")
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class _KeyValueFormatter(logging.Formatter):
    """Append `extra=` fields as key=value, so structured logs stay readable in a journal."""

    def format(self, record: logging.LogRecord) -> str:
        extra = {k: v for k, v in vars(record).items() if k not in _STANDARD}
        tail = " ".join(f"{k}={v}" for k, v in extra.items())
        return f"{super().format(record)} {tail}".rstrip()


def _client_id_range(text: str) -> tuple[int, int]:
    lo, _, hi = text.partition("-")
    return int(lo), int(hi or lo)


def main() -> int:
    handler = logging.StreamHandler()
    handler.setFormatter(_KeyValueFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logging.basicConfig(level=os.environ.get("HORIZON_LOG_LEVEL", "INFO"), handlers=[handler])

    mode = os.environ.get("HORIZON_IBKR_MODE", "paper")
    if mode not in ("paper", "live"):
        log.error("HORIZON_IBKR_MODE must be paper or live", extra={"mode": mode})
        return 2
    interval = float(os.environ.get("HORIZON_HEALTH_INTERVAL", "15"))
    max_failures = int(os.environ.get("HORIZON_MAX_HEALTH_FAILURES", "20"))

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())

    ibkr = Ibkr(
        host=os.environ.get("HORIZON_IBKR_HOST", "127.0.0.1"),
        port=int(os.environ.get("HORIZON_IBKR_PORT", "4002")),
        paper=mode == "paper",
        client_id_range=_client_id_range(os.environ.get("HORIZON_CLIENT_IDS", "1-9")),
        fill_journal=os.environ.get("HORIZON_FILL_JOURNAL", "fills.sqlite"),
    )
    health = None
    health_port = os.environ.get("HORIZON_HEALTH_PORT", "")
    if health_port:  # /healthz, /readyz (and /metrics) for the orchestrator's probes
        window = os.environ.get("HORIZON_RESTART_WINDOW", "")
        health = HealthServer(
            ibkr,
            host=os.environ.get("HORIZON_HEALTH_HOST", "0.0.0.0"),  # probes come from outside
            port=int(health_port),
            restart_window=RestartWindow.parse(
                window, os.environ.get("HORIZON_RESTART_ZONE", "America/New_York")
            )
            if window
            else None,
        ).start()
    ibkr.connect()  # raises if the gateway is down: the supervisor retries later
    log.info("connected", extra={"mode": mode})
    failures = 0
    try:
        while not stop.wait(interval):
            for fill in ibkr.drain_fills():
                log.info(
                    "fill",
                    extra={
                        "exec_id": fill.exec_id,
                        "market_id": fill.market_id,
                        "side": fill.side,
                        "quantity": fill.quantity,
                        "price": fill.price,
                        "fee": fill.fee,
                        "corrects": fill.corrects,
                    },
                )
            if ibkr.health_check():
                failures = 0
                continue
            failures += 1
            log.warning("gateway health check failed", extra={"failures": failures})
            if failures >= max_failures:
                log.error("gateway unhealthy for too long, exiting", extra={"failures": failures})
                return 1
    finally:
        ibkr.close()  # flushes the fill journal; undrained fills are handed out next start
        if health is not None:
            health.stop()
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
