"""HealthServer: `/healthz`, `/readyz` and `/metrics` of a strategy process, over HTTP.

Standard library only (`http.server` in its own thread), by choice: three small GET endpoints
need no framework, the core install stays dependency-free, and a server thread of its own is
what lets `/healthz` tell that the venue's event loop is blocked (an in-loop server would go
silent with it, and an orchestrator would only see a timeout).

- `/healthz`: the process is alive and the venue's event loop answers within a second. 200 or
  503, JSON.
- `/readyz`: connected, the health check fresh, the account mode verified, and outside the
  gateway's restart window (`readiness.assess`). 200 or 503, JSON with every check.
- `/metrics`: the Prometheus text format, when prometheus_client is installed.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from horizon.venues.ibkr.readiness import Readiness, RestartWindow

if TYPE_CHECKING:
    from horizon.venues.ibkr.venue import Ibkr

log = logging.getLogger("horizon.venues.ibkr")

LOOP_TIMEOUT_S = 1.0


class HealthServer:
    """Serve a venue's health on `host:port` (port 0: any free one) from a daemon thread."""

    def __init__(
        self,
        venue: Ibkr,
        *,
        host: str = "127.0.0.1",
        port: int = 8080,
        restart_window: RestartWindow | None = None,
        registry: Any = None,
    ) -> None:
        self.venue = venue
        self.restart_window = restart_window
        self.registry = registry
        self._httpd = ThreadingHTTPServer((host, port), _handler_for(self))
        self._httpd.daemon_threads = True
        self.host, self.port = self._httpd.server_address[0], self._httpd.server_address[1]
        self._thread: threading.Thread | None = None

    def start(self) -> HealthServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="horizon-health", daemon=True
        )
        self._thread.start()
        log.info("health server listening", extra={"host": self.host, "port": self.port})
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> HealthServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ the answers
    def liveness(self) -> tuple[bool, dict[str, object]]:
        loop = self.venue.bound_loop
        if loop is None or loop.is_closed() or not loop.is_running():
            return True, {"alive": True, "loop": "not running (the venue is not connected)"}
        answered = threading.Event()
        started = datetime.now(UTC)
        loop.call_soon_threadsafe(answered.set)
        if not answered.wait(LOOP_TIMEOUT_S):
            return False, {
                "alive": False,
                "loop": f"blocked: no answer within {LOOP_TIMEOUT_S:g} s",
            }
        lag_ms = (datetime.now(UTC) - started).total_seconds() * 1000
        return True, {"alive": True, "loop": "answering", "loop_lag_ms": round(lag_ms, 3)}

    def readiness(self) -> Readiness:
        return self.venue.readiness(self.restart_window)

    def metrics(self) -> bytes | None:
        try:
            import prometheus_client
        except ImportError:
            return None
        registry = self.registry if self.registry is not None else prometheus_client.REGISTRY
        data: bytes = prometheus_client.generate_latest(registry)
        return data


def _handler_for(server: HealthServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/healthz":
                alive, body = server.liveness()
                self._json(HTTPStatus.OK if alive else HTTPStatus.SERVICE_UNAVAILABLE, body)
            elif path == "/readyz":
                verdict = server.readiness()
                status = HTTPStatus.OK if verdict.ready else HTTPStatus.SERVICE_UNAVAILABLE
                self._json(status, verdict.as_dict())
            elif path == "/metrics":
                data = server.metrics()
                if data is None:
                    self._json(
                        HTTPStatus.NOT_FOUND,
                        {"error": "metrics need pip install 'horizon-ibkr[metrics]'"},
                    )
                else:
                    self._send(HTTPStatus.OK, data, "text/plain; version=0.0.4; charset=utf-8")
            else:
                self._json(HTTPStatus.NOT_FOUND, {"error": f"no {path}; try /healthz, /readyz"})

        def _json(self, status: HTTPStatus, body: dict[str, object]) -> None:
            self._send(status, json.dumps(body, default=str).encode(), "application/json")

        def _send(self, status: HTTPStatus, data: bytes, kind: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("health request", extra={"request": format % args})

    return Handler
