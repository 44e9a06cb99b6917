"""The day's executions, their ids, the reqExecutions filter and correction ids.

Execution ids look like IB's, "0000e0d5.6718a3c1.01.01": a stable per-gateway prefix, a
counter that starts at the construction time in hex (IB's middle part is an epoch-like hex
number), then ".01.01". A correction keeps everything up to the last '.' and bumps the last
part (".01" -> ".02" -> ".03"), which is how clients recognise a correction.
"""

from __future__ import annotations

from .model import Commission, ExecFilter, Execution
from .timeparse import parse_ib_time

_SIDES = {"BUY": "BOT", "SELL": "SLD", "BOT": "BOT", "SLD": "SLD"}


class Journal:
    def __init__(self, seed: int, start: float) -> None:
        self._prefix = f"0000{(seed * 40503 + 0xE0D5) & 0xFFFF:04x}"
        self._counter = int(start) & 0xFFFFFFFF
        # the executions and their commission reports, side by side: not a tuple of the two
        # per execution, one object fewer that every full garbage collection walks
        self._execs: list[Execution] = []
        self._comms: list[Commission] = []
        self._by_id: dict[str, int] = {}
        # original id -> (corrections made so far, id of the version in force)
        self._versions: dict[str, tuple[int, str]] = {}

    def next_id(self) -> str:
        self._counter = (self._counter + 1) & 0xFFFFFFFF
        return f"{self._prefix}.{self._counter:08x}.01.01"

    def add(self, ex: Execution, cr: Commission) -> None:
        self._by_id[ex.exec_id] = len(self._execs)
        self._execs.append(ex)
        self._comms.append(cr)

    def __len__(self) -> int:
        return len(self._execs)

    def since(self, mark: int) -> list[Execution]:
        """The executions from position `mark` on (what happened after an order was placed)."""
        return self._execs[mark:]

    def get(self, exec_id: str) -> tuple[Execution, Commission] | None:
        i = self._by_id.get(exec_id)
        return (self._execs[i], self._comms[i]) if i is not None else None

    def correction_id(self, exec_id: str) -> tuple[str, str, str]:
        """For a correction of `exec_id` (an original or one of its corrections):
        (original id, id of the version in force, id of the new correction)."""
        found = self.get(exec_id)
        root = found[0].corrects if found and found[0].corrects else exec_id
        n, current = self._versions.get(root, (1, root))
        head, _, _ = root.rpartition(".")
        new_id = f"{head}.{n + 1:02d}"
        self._versions[root] = (n + 1, new_id)
        return root, current, new_id

    def rows(self, flt: ExecFilter | None, timezone: str) -> list[tuple[Execution, Commission]]:
        """Executions in execution order, filtered as reqExecutions filters: every
        non-empty field must match (clientId 0 = any; side BUY/SELL; time = at or after)."""
        rows = zip(self._execs, self._comms, strict=True)
        if flt is None or flt == ExecFilter():
            return list(rows)
        since = parse_ib_time(flt.time, timezone) if flt.time else None
        side = _SIDES.get(flt.side.strip().upper(), flt.side.strip().upper())
        exchange = flt.exchange.strip().upper()
        out = []
        for ex, cr in rows:
            c = ex.contract
            if (
                (flt.client_id and ex.client_id != flt.client_id)
                or (flt.account and ex.account != flt.account)
                or (since is not None and ex.time < since)
                or (flt.symbol and c.symbol != flt.symbol.strip().upper())
                or (flt.sec_type and c.sec_type != flt.sec_type.strip().upper())
                or (exchange and exchange not in (ex.exchange, c.exchange))
                or (side and ex.side != side)
            ):
                continue
            out.append((ex, cr))
        return out
