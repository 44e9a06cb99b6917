"""Reconnection policy (pure): exponential backoff with full jitter and a cap.

Jitter keeps a fleet of Horizon processes from hammering a gateway that just came back from its
daily restart all in the same instant.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


def backoff_delays(
    initial: float, cap: float, *, rng: random.Random | None = None
) -> Iterator[float]:
    """Yield delays: attempt n waits uniform(0.5, 1) * min(cap, initial * 2**n)."""
    rng = rng or random.Random()
    n = 0
    while True:
        base = min(cap, initial * (2**n))
        yield base * rng.uniform(0.5, 1.0)
        if base < cap:
            n += 1


class ConnectionState(StrEnum):
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    RECONNECTED = "reconnected"
    DEGRADED = "degraded"  # socket up, but IB <-> gateway connectivity lost (1100)
    RESTORED = "restored"  # 1101 / 1102
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class ConnectionEvent:
    """What the host's listeners receive when the venue's connection changes."""

    state: ConnectionState
    at: datetime
    detail: str = ""
    attempt: int = 0
