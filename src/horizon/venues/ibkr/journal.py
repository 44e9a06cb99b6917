"""FillJournal: exactly-once fills across *process* restarts (stdlib sqlite3, WAL).

The gateway replays the day's executions on every connect. Within one process the FillBook's
dedup memory absorbs that; after a crash it is gone. The journal records each fill when it is
captured and marks it when drain_fills() hands it out, so a new process (a) treats replayed
executions that were handed out as duplicates, (b) hands out captured-but-undrained fills and
(c) still owes the fee of a fill handed out before its commission report came in.

Rules the venue relies on:

* Every write is committed before the venue goes on (autocommit; a drain's marks in one
  transaction): a SIGKILL between capture and drain loses nothing. A write that fails raises
  `JournalError`, and drain_fills() then hands nothing out.
* A journal belongs to one owner (client id and account set), claimed on first use; another
  owner's journal is refused. One live venue at a time holds it (an advisory lock on
  ``<path>.lock``); a second is refused with `JournalInUse`.
* Executions older than the journal (its creation time) are history, as they are without a
  journal: a journal created, lost or recreated mid-day does not re-deliver the day's fills.
* The venue's order-id floor is kept here too (reserved in blocks), so a new process never
  reuses an order id an earlier one handed out.

A fill is marked drained as drain_fills() returns it, so a crash of the host after that return
but before it booked the batch is the host's to cover (exec_id makes its booking idempotent).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Final

from horizon.core.enums import Liquidity, Side
from horizon.core.types import VenueFill
from horizon.errors import JournalError, JournalInUse
from horizon.venues.ibkr.mapping.fills import ExecutionRecord

try:  # POSIX; elsewhere the lock is skipped (and said so in `locked`)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

APPLICATION: Final = "horizon-ibkr fill journal"
SCHEMA_VERSION: Final = "3"  # 2: drained_fee; 3: liquidation
ORDER_ID_BLOCK: Final = 100  # order ids reserved per write: at most this many skipped on restart

_FILL_COLUMNS: Final = (
    "exec_id", "order_id", "perm_id", "client_id", "account", "market_id", "side", "quantity",
    "price", "time", "exchange", "liquidity", "order_ref", "drained", "captured_at",
)  # fmt: skip

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
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
    captured_at TEXT NOT NULL,
    drained_fee INTEGER NOT NULL DEFAULT 1,
    liquidation INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS fills_undrained ON fills (drained);
CREATE TABLE IF NOT EXISTS commissions (
    exec_id  TEXT PRIMARY KEY,
    fee      TEXT NOT NULL,
    currency TEXT NOT NULL
);
"""

_SELECT_RECORD: Final = (
    "SELECT exec_id, order_id, perm_id, client_id, account, market_id, side, quantity,"
    " price, time, exchange, liquidity, order_ref, liquidation FROM fills"
)

_INSERT_FILL: Final = (
    "INSERT OR IGNORE INTO fills (exec_id, order_id, perm_id, client_id, account, market_id,"
    " side, quantity, price, time, exchange, liquidity, order_ref, drained, captured_at,"
    " drained_fee, liquidation) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,0,?,1,?)"
)


@dataclass(slots=True)
class Restored:
    """What a new process takes over from the journal."""

    drained: list[str] = field(default_factory=list)  # recently handed out, with their fee
    owed: list[ExecutionRecord] = field(default_factory=list)  # handed out with fee=None
    pending: list[ExecutionRecord] = field(default_factory=list)  # captured, not handed out
    commissions: dict[str, tuple[Decimal, str]] = field(default_factory=dict)


def _record(row: tuple[object, ...]) -> ExecutionRecord:
    return ExecutionRecord(
        exec_id=str(row[0]),
        order_id=int(str(row[1])),
        perm_id=int(str(row[2])),
        client_id=int(str(row[3])),
        account=str(row[4]),
        market_id=str(row[5]),
        side=Side(str(row[6])),
        quantity=Decimal(str(row[7])),
        price=Decimal(str(row[8])),
        time=datetime.fromisoformat(str(row[9])).astimezone(UTC),
        exchange=str(row[10]),
        liquidity=Liquidity(str(row[11])) if row[11] else None,
        order_ref=str(row[12]),
        liquidation=bool(row[13]),
    )


class FillJournal:
    """One venue's fill journal. Open on construction (checked, locked); `close()` releases
    it and `open()` takes it again (a venue reconnecting after `close()`)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None
        self._lock: IO[bytes] | None = None
        self.created_at: datetime = datetime.now(UTC)
        self.owner: str | None = None
        self._reserved = 0
        self.open()

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self._db is not None

    def open(self) -> None:
        """Check the path, take the lock, create or verify the schema. Idempotent."""
        if self._db is not None:
            return
        path = self.path
        if path.is_dir():
            raise JournalError(str(path), "is a directory; give the path of a file")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise JournalError(str(path), f"cannot create its folder: {exc}") from exc
        self._lock = self._take_lock(path)
        try:
            self._db = self._connect(path)
        except BaseException:
            self._release_lock()
            raise

    def close(self) -> None:
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = None
        self._release_lock()

    def checkpoint(self) -> None:
        """Fold the WAL into the main file (on close); the journal stays usable."""
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise JournalError(str(self.path), "is closed")
        return self._db

    def _take_lock(self, path: Path) -> IO[bytes] | None:
        if fcntl is None:  # pragma: no cover - Windows
            return None
        lock_path = Path(f"{path}.lock")
        try:
            handle = open(lock_path, "a+b")  # noqa: SIM115 - held for the journal's life
        except OSError as exc:
            raise JournalError(str(path), f"cannot open its lock file {lock_path}: {exc}") from exc
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            handle.close()
            raise JournalInUse(
                str(path),
                "is in use by another live venue (this process or another); one journal "
                "serves one venue at a time: give each process its own file",
            ) from exc
        return handle

    def _release_lock(self) -> None:
        if self._lock is not None:
            with contextlib.suppress(OSError):
                self._lock.close()  # closing the descriptor drops the flock
            self._lock = None

    def _connect(self, path: Path) -> sqlite3.Connection:
        existed = path.exists() and path.stat().st_size > 0
        if existed and not os.access(path, os.W_OK):
            raise JournalError(str(path), "is read-only; the venue must write every fill to it")
        try:
            db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise JournalError(str(path), f"cannot be opened: {exc}") from exc
        try:
            self._prepare(db, existed)
        except JournalError:
            db.close()
            raise
        except sqlite3.DatabaseError as exc:
            db.close()
            raise JournalError(str(path), f"is not a usable SQLite fill journal: {exc}") from exc
        return db

    def _prepare(self, db: sqlite3.Connection, existed: bool) -> None:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "fills" in tables:
            columns = [row[1] for row in db.execute("PRAGMA table_info(fills)")]
            if columns[: len(_FILL_COLUMNS)] != list(_FILL_COLUMNS):
                raise JournalError(
                    str(self.path),
                    "holds a 'fills' table that is not a Horizon fill journal's; "
                    "point fill_journal= at a file of its own",
                )
        meta: dict[str, str] = {}
        if "meta" in tables:
            meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
            if meta.get("application", APPLICATION) != APPLICATION:
                raise JournalError(
                    str(self.path),
                    f"belongs to another application ({meta['application']!r})",
                )
        elif tables - {"fills", "commissions"}:
            raise JournalError(
                str(self.path),
                f"is a SQLite database of something else (tables {', '.join(sorted(tables))}); "
                "point fill_journal= at a file of its own",
            )
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        try:
            with self._transaction(db):
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)
                had = {row[1] for row in db.execute("PRAGMA table_info(fills)")}
                if "fills" in tables and "drained_fee" not in had:
                    # a schema-1 journal: its drained fills were all handed out with their fee
                    db.execute(
                        "ALTER TABLE fills ADD COLUMN drained_fee INTEGER NOT NULL DEFAULT 1"
                    )
                if "fills" in tables and "liquidation" not in had:
                    # before schema 3 no fill was flagged: IB's own executions were not captured
                    db.execute(
                        "ALTER TABLE fills ADD COLUMN liquidation INTEGER NOT NULL DEFAULT 0"
                    )
                if "created_at" not in meta:
                    first = db.execute("SELECT MIN(captured_at) FROM fills").fetchone()[0]
                    meta["created_at"] = first or datetime.now(UTC).isoformat()
                meta.setdefault("application", APPLICATION)
                meta["schema"] = SCHEMA_VERSION
                db.executemany(
                    "INSERT OR REPLACE INTO meta VALUES (?, ?)",
                    [(k, meta[k]) for k in ("application", "schema", "created_at")],
                )
        except sqlite3.OperationalError as exc:
            if "readonly" in str(exc) or "read-only" in str(exc):
                raise JournalError(
                    str(self.path), "is read-only; the venue must write every fill to it"
                ) from exc
            raise
        self.created_at = datetime.fromisoformat(meta["created_at"]).astimezone(UTC)
        self.owner = meta.get("owner")
        self._reserved = int(meta.get("order_id_reserved", "0"))

    @staticmethod
    @contextlib.contextmanager
    def _transaction(db: sqlite3.Connection) -> Iterator[None]:
        db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    @contextlib.contextmanager
    def _writing(self, what: str) -> Iterator[sqlite3.Connection]:
        """One atomic write; any SQLite failure becomes a JournalError naming `what`."""
        db = self.db
        try:
            with self._transaction(db):
                yield db
        except sqlite3.Error as exc:
            raise JournalError(str(self.path), f"could not record {what}: {exc}") from exc

    # -- ownership and the order-id floor --------------------------------------------------

    def claim(self, owner: str) -> None:
        """Make `owner` the journal's owner, or refuse if it belongs to another one."""
        if self.owner is not None and self.owner != owner:
            raise JournalError(
                str(self.path),
                f"belongs to {self.owner}, not to this venue ({owner}); a journal serves one "
                "client id and account set: give this venue a file of its own",
            )
        if self.owner is None:
            with self._writing("its owner") as db:
                db.execute("INSERT OR REPLACE INTO meta VALUES ('owner', ?)", (owner,))
            self.owner = owner

    @property
    def order_id_floor(self) -> int:
        """No order id below this was handed out by an earlier run (ids reserved in blocks)."""
        return self._reserved

    def reserve_order_id(self, order_id: int) -> None:
        """Record that `order_id` is in use (a write only when a new block is needed)."""
        if order_id < self._reserved:
            return
        upto = order_id + ORDER_ID_BLOCK
        with self._writing("the order-id floor") as db:
            db.execute("INSERT OR REPLACE INTO meta VALUES ('order_id_reserved', ?)", (str(upto),))
        self._reserved = upto

    # -- fills -----------------------------------------------------------------------------

    def load(self, *, recent: int = 100_000) -> Restored:
        """Undrained fills (to hand out), fills handed out without their fee (still owed),
        and the `recent` most recently drained exec ids (to seed the in-memory dedup); older
        ones are looked up with `was_drained` if replayed."""
        db = self.db
        out = Restored()
        recent_rows = db.execute(
            "SELECT exec_id FROM fills WHERE drained = 1 AND drained_fee = 1"
            " ORDER BY rowid DESC LIMIT ?",
            (recent,),
        ).fetchall()
        out.drained = [row[0] for row in reversed(recent_rows)]
        out.owed = [
            _record(row)
            for row in db.execute(
                f"{_SELECT_RECORD} WHERE drained = 1 AND drained_fee = 0 ORDER BY rowid"
            )
        ]
        out.pending = [
            _record(row) for row in db.execute(f"{_SELECT_RECORD} WHERE drained = 0 ORDER BY rowid")
        ]
        wanted = {r.exec_id for r in out.pending} | {r.exec_id for r in out.owed}
        for exec_id, fee, currency in db.execute("SELECT exec_id, fee, currency FROM commissions"):
            if exec_id in wanted:
                out.commissions[exec_id] = (Decimal(fee), currency)
        return out

    def was_drained(self, exec_id: str) -> bool:
        """Whether this fill was handed out (the authority once the in-memory dedup forgot)."""
        try:
            row = self.db.execute(
                "SELECT drained FROM fills WHERE exec_id = ?", (exec_id,)
            ).fetchone()
        except sqlite3.Error as exc:
            raise JournalError(str(self.path), f"could not be read: {exc}") from exc
        return bool(row and row[0])

    def captured(self, records: Iterable[ExecutionRecord]) -> None:
        """Record captured fills (not yet handed out); one transaction."""
        now = datetime.now(UTC).isoformat()
        rows = [_row(rec, now) for rec in records]
        if not rows:
            return
        with self._writing("a captured fill") as db:
            db.executemany(
                _INSERT_FILL, rows
            )

    def commission(self, fees: Iterable[tuple[str, Decimal, str]]) -> None:
        rows = [(exec_id, str(fee), currency) for exec_id, fee, currency in fees]
        if not rows:
            return
        with self._writing("a commission") as db:
            db.executemany("INSERT OR REPLACE INTO commissions VALUES (?,?,?)", rows)

    def drained(
        self,
        fills: Iterable[VenueFill],
        *,
        captured: Iterable[ExecutionRecord] = (),
        fees: Iterable[tuple[str, Decimal, str]] = (),
    ) -> None:
        """Mark fills handed out (and whether each carried its fee), in one transaction with
        any capture or commission write that failed before: all of it, or none."""
        now = datetime.now(UTC).isoformat()
        capture_rows = [_row(rec, now) for rec in captured]
        fee_rows = [(exec_id, str(fee), currency) for exec_id, fee, currency in fees]
        marks = [(int(f.fee is not None), f.exec_id) for f in fills]
        with self._writing("handed-out fills") as db:
            if capture_rows:
                db.executemany(
                    _INSERT_FILL,
                    capture_rows,
                )
            if fee_rows:
                db.executemany("INSERT OR REPLACE INTO commissions VALUES (?,?,?)", fee_rows)
            db.executemany("UPDATE fills SET drained = 1, drained_fee = ? WHERE exec_id = ?", marks)


def _row(rec: ExecutionRecord, captured_at: str) -> tuple[object, ...]:
    return (
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
        captured_at,
        int(rec.liquidation),
    )
