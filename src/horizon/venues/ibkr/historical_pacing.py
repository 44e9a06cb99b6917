"""IB's historical data pacing, kept before a request is sent. Pure: time is passed in.

IB's rules ("Historical Data Limitations", TWS API docs; violations answer error 162
"Historical Market Data Service error message:API historical data query cancelled"):
no more than 60 requests in any 10 minutes; no identical request within 15 seconds; no
more than 6 requests for one contract (same exchange and tick type) within 2 seconds; a
BID_ASK request counts as two. `delay()` says how long a request must wait to keep all
three; `record()` notes one sent.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable
from dataclasses import dataclass

__all__ = ["HistoricalPacer", "PacingRules"]


@dataclass(frozen=True, slots=True)
class PacingRules:
    window_s: float = 600.0
    max_in_window: int = 60
    identical_s: float = 15.0
    per_contract_s: float = 2.0
    max_per_contract: int = 6


class HistoricalPacer:
    """The requests sent recently and what they allow next."""

    def __init__(self, rules: PacingRules | None = None) -> None:
        self.rules = rules or PacingRules()
        self._sent: deque[tuple[float, int]] = deque()  # (time, weight), oldest first
        self._identical: dict[Hashable, float] = {}  # request key -> last sent
        self._per_contract: dict[Hashable, deque[tuple[float, int]]] = {}

    def delay(self, key: Hashable, contract: Hashable, weight: int, now: float) -> float:
        """Seconds to wait before sending (0: now). `key` names the request exactly,
        `contract` the contract+exchange+tick type, `weight` 2 for BID_ASK, else 1."""
        r = self.rules
        self._forget(now)
        wait = 0.0
        last = self._identical.get(key)
        if last is not None:
            wait = max(wait, last + r.identical_s - now)
        wait = max(wait, _window_wait(self._sent, weight, r.max_in_window, r.window_s, now))
        recent = self._per_contract.get(contract)
        if recent is not None:
            wait = max(
                wait, _window_wait(recent, weight, r.max_per_contract, r.per_contract_s, now)
            )
        return max(wait, 0.0)

    def record(self, key: Hashable, contract: Hashable, weight: int, now: float) -> None:
        self._sent.append((now, weight))
        self._identical[key] = now
        self._per_contract.setdefault(contract, deque()).append((now, weight))

    def _forget(self, now: float) -> None:
        r = self.rules
        while self._sent and self._sent[0][0] <= now - r.window_s:
            self._sent.popleft()
        for key in [k for k, t in self._identical.items() if t <= now - r.identical_s]:
            del self._identical[key]
        for contract in list(self._per_contract):
            recent = self._per_contract[contract]
            while recent and recent[0][0] <= now - r.per_contract_s:
                recent.popleft()
            if not recent:
                del self._per_contract[contract]


def _window_wait(
    sent: deque[tuple[float, int]], weight: int, limit: int, window: float, now: float
) -> float:
    """How long until `weight` more fit in a sliding `window` holding at most `limit`."""
    used = sum(w for _, w in sent)
    if used + weight <= limit:
        return 0.0
    # drop the oldest until enough room is freed; the request may go when that one expires
    freed = 0
    for at, w in sent:
        freed += w
        if used - freed + weight <= limit:
            return at + window - now
    return window  # weight alone exceeds the limit: never happens with IB's weights
