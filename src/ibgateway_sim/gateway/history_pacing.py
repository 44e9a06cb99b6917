"""IB's historical-data pacing rules, per client; a pure window, no clock of its own.

A request is refused (error 162, "pacing violation") when it would be the 61st in ten
minutes, repeats an identical request made within 15 seconds, or is the 7th for the same
contract (and exchange and tick type) within 2 seconds. A BID_ASK request counts twice.
The numbers are IB's defaults and configurable.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Final

TEXT_PACING: Final = (
    "Historical Market Data Service error message:Historical data request pacing violation"
)


@dataclass(frozen=True, slots=True)
class HistoricalPacingRules:
    enabled: bool = True
    max_requests: int = 60
    window: float = 600.0
    identical_within: float = 15.0
    per_contract: int = 6
    per_contract_window: float = 2.0


@dataclass(slots=True)
class HistoricalPacing:
    rules: HistoricalPacingRules = field(default_factory=HistoricalPacingRules)
    _times: deque[float] = field(default_factory=deque)
    _identical: dict[tuple[object, ...], float] = field(default_factory=dict)
    _per_contract: dict[object, deque[float]] = field(default_factory=dict)

    def admit(self, request: tuple[object, ...], contract: object, cost: int, now: float) -> bool:
        """True (and counted) when the request may go ahead; False is a violation."""
        r = self.rules
        if not r.enabled:
            return True
        while self._times and self._times[0] <= now - r.window:
            self._times.popleft()
        recent = self._per_contract.setdefault(contract, deque())
        while recent and recent[0] <= now - r.per_contract_window:
            recent.popleft()
        last = self._identical.get(request)
        if (
            len(self._times) + cost > r.max_requests
            or (last is not None and now - last < r.identical_within)
            or len(recent) + cost > r.per_contract
        ):
            return False
        for _ in range(cost):
            self._times.append(now)
            recent.append(now)
        self._identical[request] = now
        if len(self._identical) > 10_000:
            cutoff = now - r.identical_within
            self._identical = {k: t for k, t in self._identical.items() if t > cutoff}
        return True
