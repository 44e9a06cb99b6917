"""Limits: what the simulated gateway holds for its clients before it pushes back. Pure data.

A real TWS serves many clients on one machine and protects itself from any one of them: it
stops reading a client that sends faster than it is served, disconnects one that does not
read what it is sent, and closes sockets that never complete the API handshake. Without such
limits one flooding client starves every other and grows the process without bound. With
them, what the gateway buffers is bounded by
``max_connections x (max_unread_bytes + max_unsent_bytes + max_backlog requests)``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    # TCP connections at once; more are closed on accept (TWS itself serves at most 32 API
    # clients; the margin is for sockets still in their handshake)
    max_connections: int = 64
    # seconds a socket may take to complete the handshake (version exchange and startApi)
    handshake_timeout: float | None = 10.0
    # requests of one client handled per turn of the loop: the others get theirs in between
    batch: int = 200
    # inbound bytes buffered for one client before the gateway stops reading it
    max_unread_bytes: int = 1 << 20
    # replies one client has not read (its socket's send buffer): beyond it, disconnected
    max_unsent_bytes: int = 32 << 20
    # +PACEAPI requests queued for one client: beyond it, disconnected
    max_backlog: int = 10_000
    # seconds between two log lines about the same client's refused or queued requests
    log_every: float = 1.0

    def __post_init__(self) -> None:
        for name in ("max_connections", "batch", "max_unread_bytes", "max_unsent_bytes",
                     "max_backlog"):  # fmt: skip
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.handshake_timeout is not None and not self.handshake_timeout > 0:
            raise ValueError(
                f"handshake_timeout must be positive or None, got {self.handshake_timeout!r}"
            )
        if not self.log_every >= 0:
            raise ValueError(f"log_every must be >= 0, got {self.log_every!r}")
