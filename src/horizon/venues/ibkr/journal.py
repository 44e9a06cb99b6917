"""FillJournal: exactly-once fills across *process* restarts (stdlib sqlite3, WAL).

The gateway replays the day's executions on every connect. Within one process the FillBook's
dedup memory absorbs that; after a crash it is gone. The journal records each fill when it is
captured and marks it when drain_fills() hands it out, so a new process (a) treats replayed
executions that were handed out as duplicates and (b) hands out captured-but-undrained fills.
Each write is committed (autocommit) before the venue goes on: a SIGKILL between capture and
drain loses nothing. A fill is marked drained as drain_fills() returns it, so a crash of the
host after that return but before it booked the batch is the host's to cover (exec_id makes
its booking idempotent).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from horizon.core.enums import Liquidity, Side
from horizon.core.types import VenueFill
from horizon.venues.ibkr.fills import ExecutionRecord

_SCHEMA = """
CREATE TABLE IF NOT EXISTS fills (
    exec_id     TEXT PRIMARY KEY,
    order_id    INTEGER NOT NULL,
    perm_id     INTEGER NOT NULL,
    client_id   INTEGER NOT NULL,
    account     TEXT NOT NULL,
    market_id   TEXT NOT NULL,
    side        TEXT NOT NULL,
    quantity    TEXT NOT NULL,
    price       TEXT NOT NULL,
    time        TEXT NOT NULL,
    exchange    TEXT NOT NULL,
    liquidity   TEXT,
    order_ref   TEXT NOT NULL,
    drained     INTEGER NOT NULL DEFAULT 0,
    captured_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS fills_undrained ON fills (drained);
CREATE TABLE IF NOT EXISTS commissions (
    exec_id  TEXT PRIMARY KEY,
    fee      TEXT NOT NULL,
    currency TEXT NOT NULL
);
"""


@dataclass(slots=True)
class Restored:
    drained: list[str] = field(default_factory=list)
    pending: list[ExecutionRecord] = field(default_factory=list)
    commissions: dict[str, tuple[Decimal, str]] = field(default_factory=dict)


class FillJournal:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def load(self, *, recent: int = 100_000) -> Restored:
        """Undrained fills (to hand out) and the `recent` most recently drained exec ids (to
        seed the in-memory dedup); older ones are looked up with `was_drained` if replayed."""
        out = Restored()
        recent_rows = self._db.execute(
            "SELECT exec_id FROM fills WHERE drained = 1 ORDER BY rowid DESC LIMIT ?", (recent,)
        ).fetchall()
        out.drained = [row[0] for row in reversed(recent_rows)]
        rows = self._db.execute(
            "SELECT exec_id, order_id, perm_id, client_id, account, market_id, side, quantity,"
            " price, time, exchange, liquidity, order_ref FROM fills WHERE drained = 0"
            " ORDER BY rowid"
        ).fetchall()
        for row in rows:
            out.pending.append(
                ExecutionRecord(
                    exec_id=row[0],
                    order_id=row[1],
                    perm_id=row[2],
                    client_id=row[3],
                    account=row[4],
                    market_id=row[5],
                    side=Side(row[6]),
                    quantity=Decimal(row[7]),
                    price=Decimal(row[8]),
                    time=datetime.fromisoformat(row[9]).astimezone(UTC),
                    exchange=row[10],
                    liquidity=Liquidity(row[11]) if row[11] else None,
                    order_ref=row[12],
                )
            )
        pending_ids = {r.exec_id for r in out.pending}
        for exec_id, fee, currency in self._db.execute(
            "SELECT exec_id, fee, currency FROM commissions"
        ):
            if exec_id in pending_ids:
                out.commissions[exec_id] = (Decimal(fee), currency)
        return out

    def was_drained(self, exec_id: str) -> bool:
        """Whether this fill was handed out (the authority once the in-memory dedup forgot)."""
        row = self._db.execute("SELECT drained FROM fills WHERE exec_id = ?", (exec_id,)).fetchone()
        return bool(row and row[0])

    def captured(self, rec: ExecutionRecord) -> None:
        self._db.execute(
            "INSERT OR IGNORE INTO fills VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,0,?)",
            (
                rec.exec_id,
                rec.order_id,
                rec.perm_id,
                rec.client_id,
                rec.account,
                rec.market_id,
                rec.side.value,
                str(rec.quantity),
                str(rec.price),
                rec.time.isoformat(),
                rec.exchange,
                rec.liquidity.value if rec.liquidity else None,
                rec.order_ref,
                datetime.now(UTC).isoformat(),
            ),
        )

    def commission(self, exec_id: str, fee: Decimal, currency: str) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO commissions VALUES (?,?,?)", (exec_id, str(fee), currency)
        )

    def drained(self, fills: Iterable[VenueFill]) -> None:
        ids = [(f.exec_id,) for f in fills]
        self._db.executemany("UPDATE fills SET drained = 1 WHERE exec_id = ?", ids)

    def checkpoint(self) -> None:
        """Fold the WAL into the main file (on close); the journal stays usable."""
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        self._db.close()
