"""FillJournal (sqlite, WAL): what a restarted process hands out, what it must not, and every
way a journal file can be unusable (each a typed JournalError, never a raw sqlite3 one)."""

from __future__ import annotations

import dataclasses
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from horizon.core.enums import Liquidity, Side
from horizon.errors import JournalError, JournalInUse
from horizon.venues.ibkr.journal import ORDER_ID_BLOCK, FillJournal
from horizon.venues.ibkr.mapping.fills import ExecutionRecord, FillBook
from tests.support import read_only

T0 = datetime(2026, 11, 25, 14, 30, tzinfo=UTC)


def rec(n: int) -> ExecutionRecord:
    return ExecutionRecord(
        exec_id=f"0000e0d5.{n:08x}.01.01", order_id=n, perm_id=1000 + n, client_id=1,
        account="DU1234567", market_id="AAPL", side=Side.BUY, quantity=Decimal(1),
        price=Decimal("190.01"), time=T0, exchange="ISLAND", liquidity=Liquidity.REMOVED,
        order_ref="",
    )


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "fills.sqlite"


def test_a_reopened_journal_restores_what_was_not_handed_out(path: Path) -> None:
    journal = FillJournal(path)
    journal.captured(rec(n) for n in range(5))
    journal.commission((rec(n).exec_id, Decimal("1.00"), "USD") for n in range(5))
    book = FillBook(commission_grace=0)
    for n in range(3):
        book.add_execution(rec(n), 0.0)
        book.add_commission(rec(n).exec_id, Decimal("1.00"), "USD", 0.0)
    journal.drained(book.drain(1.0))
    journal.close()  # the process dies here

    again = FillJournal(path)
    restored = again.load(recent=10)
    assert restored.drained == [rec(n).exec_id for n in range(3)]
    assert [r.exec_id for r in restored.pending] == [rec(3).exec_id, rec(4).exec_id]
    assert restored.pending[0] == rec(3)  # every field survives the round trip
    assert restored.commissions[rec(4).exec_id] == (Decimal("1.00"), "USD")
    assert again.was_drained(rec(0).exec_id) and not again.was_drained(rec(4).exec_id)
    assert not again.was_drained("never.seen.01.01")


def test_only_the_most_recent_drained_ids_are_loaded(path: Path) -> None:
    journal = FillJournal(path)
    book = FillBook(commission_grace=0)
    journal.captured(rec(n) for n in range(50))
    for n in range(50):
        book.add_execution(rec(n), 0.0)
        book.add_commission(rec(n).exec_id, Decimal("1.00"), "USD", 0.0)
    journal.drained(book.drain(1.0))
    restored = journal.load(recent=10)
    assert restored.drained == [rec(n).exec_id for n in range(40, 50)]
    assert journal.was_drained(rec(0).exec_id)  # older ones stay answerable on demand
    journal.checkpoint()
    journal.captured([rec(99)])  # still usable after a checkpoint
    assert [r.exec_id for r in journal.load().pending] == [rec(99).exec_id]


def test_a_fee_owed_at_a_crash_is_still_owed_after_it(path: Path) -> None:
    journal = FillJournal(path)
    journal.captured([rec(1)])
    book = FillBook(commission_grace=0.5)
    book.add_execution(rec(1), 0.0)
    [first] = book.drain(1.0)
    assert first.fee is None
    journal.drained([first])
    journal.close()  # SIGKILL before the commission report arrived

    again = FillJournal(path)
    restored = again.load()
    assert [r.exec_id for r in restored.owed] == [rec(1).exec_id]
    assert restored.drained == [] and restored.pending == []
    book = FillBook(commission_grace=0.5)
    for owed in restored.owed:
        book.restore_owed(owed)
    assert not book.add_execution(rec(1), 2.0)  # the replay is a duplicate
    assert book.add_commission(rec(1).exec_id, Decimal("1.25"), "USD", 2.0)
    [fee] = book.drain(2.0)
    assert (fee.exec_id, fee.fee, fee.corrects) == (rec(1).exec_id, Decimal("1.25"), rec(1).exec_id)
    again.drained([fee])
    assert again.load().owed == []  # paid: no longer owed


def test_a_fee_captured_but_not_handed_out_before_a_crash_comes_out_after_it(path: Path) -> None:
    journal = FillJournal(path)
    journal.captured([rec(1)])
    book = FillBook(commission_grace=0)
    book.add_execution(rec(1), 0.0)
    journal.drained(book.drain(1.0))  # handed out with fee=None
    journal.commission([(rec(1).exec_id, Decimal("2"), "USD")])
    journal.close()  # the fee came in, its copy never went out

    restored = FillJournal(path).load()
    book = FillBook(commission_grace=0)
    for owed in restored.owed:
        book.restore_owed(owed)
    for exec_id, (fee, ccy) in restored.commissions.items():
        book.add_commission(exec_id, fee, ccy, 0.0)
    [copy] = book.drain(0.0)
    assert copy.fee == Decimal("2") and copy.corrects == rec(1).exec_id


def test_the_order_id_floor_survives_a_restart_and_is_written_in_blocks(path: Path) -> None:
    journal = FillJournal(path)
    assert journal.order_id_floor == 0
    journal.reserve_order_id(7)
    assert journal.order_id_floor == 7 + ORDER_ID_BLOCK
    journal.reserve_order_id(8)  # inside the block: no write needed
    journal.close()
    assert FillJournal(path).order_id_floor == 7 + ORDER_ID_BLOCK


def test_created_at_is_kept_and_an_old_schema_journal_is_upgraded(path: Path) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    journal = FillJournal(path)
    created = journal.created_at
    assert before <= created <= datetime.now(UTC)
    journal.close()
    assert FillJournal(path).created_at == created

    legacy = path.with_name("legacy.sqlite")
    db = sqlite3.connect(legacy)
    db.executescript(
        "CREATE TABLE fills (exec_id TEXT PRIMARY KEY, order_id INTEGER NOT NULL, perm_id "
        "INTEGER NOT NULL, client_id INTEGER NOT NULL, account TEXT NOT NULL, market_id TEXT "
        "NOT NULL, side TEXT NOT NULL, quantity TEXT NOT NULL, price TEXT NOT NULL, time TEXT "
        "NOT NULL, exchange TEXT NOT NULL, liquidity TEXT, order_ref TEXT NOT NULL, drained "
        "INTEGER NOT NULL DEFAULT 0, captured_at TEXT NOT NULL);"
        "CREATE TABLE commissions (exec_id TEXT PRIMARY KEY, fee TEXT NOT NULL, currency TEXT "
        "NOT NULL);"
        "INSERT INTO fills VALUES ('a.b.01.01', 1, 2, 1, 'DU1', 'AAPL', 'buy', '1', '2', "
        "'2026-11-25T14:30:00+00:00', 'X', NULL, '', 1, '2026-11-25T14:30:01+00:00');"
    )
    db.commit()
    db.close()
    upgraded = FillJournal(legacy)
    assert upgraded.created_at == datetime(2026, 11, 25, 14, 30, 1, tzinfo=UTC)
    assert upgraded.load().drained == ["a.b.01.01"]  # schema-1 drains carried their fee
    upgraded.captured([rec(7)])
    upgraded.close()
    again = FillJournal(legacy)
    assert again.load().pending == [rec(7)]  # the upgraded table takes new fills, unflagged
    schema = sqlite3.connect(legacy).execute("SELECT value FROM meta WHERE key='schema'")
    assert schema.fetchone() == ("3",)


def test_a_liquidation_stays_flagged_across_a_restart(path: Path) -> None:
    journal = FillJournal(path)
    forced = dataclasses.replace(rec(9), order_id=-1, client_id=0, liquidation=True)
    journal.captured([forced, rec(10)])
    journal.close()
    pending = FillJournal(path).load().pending
    assert [(r.exec_id, r.liquidation) for r in pending] == [
        (forced.exec_id, True), (rec(10).exec_id, False),
    ]  # fmt: skip


def test_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(JournalError, match="is a directory"):
        FillJournal(tmp_path)


def test_a_file_that_is_not_sqlite_is_refused(path: Path) -> None:
    path.write_bytes(b"this is a text file, not a database\n" * 100)
    with pytest.raises(JournalError, match="not a usable SQLite fill journal"):
        FillJournal(path)


def test_someone_elses_fills_table_is_refused(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE fills (id INTEGER PRIMARY KEY, symbol TEXT, qty REAL)")
    db.commit()
    db.close()
    with pytest.raises(JournalError, match="not a Horizon fill journal"):
        FillJournal(path)


def test_another_applications_database_is_refused(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE trades (id INTEGER PRIMARY KEY)")
    db.commit()
    db.close()
    with pytest.raises(JournalError, match="something else"):
        FillJournal(path)


def test_an_owner_claims_the_journal_and_another_is_refused(path: Path) -> None:
    journal = FillJournal(path)
    journal.claim("client 3 of DU1234567")
    journal.claim("client 3 of DU1234567")  # the same owner again: fine
    journal.close()
    again = FillJournal(path)
    with pytest.raises(JournalError, match=r"belongs to client 3 of DU1234567"):
        again.claim("client 9 of DU7654321")


def test_a_second_live_holder_is_refused_until_the_first_closes(path: Path) -> None:
    first = FillJournal(path)
    with pytest.raises(JournalInUse, match="in use by another live venue"):
        FillJournal(path)
    first.close()
    FillJournal(path).close()  # free again


def test_a_second_process_is_refused_too(path: Path) -> None:
    holder = FillJournal(path)
    try:
        code = (
            "import sys; from pathlib import Path\n"
            "from horizon.errors import JournalInUse\n"
            "from horizon.venues.ibkr.journal import FillJournal\n"
            "try:\n    FillJournal(Path(sys.argv[1]))\n"
            "except JournalInUse:\n    sys.exit(3)\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", code, str(path)], check=False, capture_output=True, timeout=30
        )
        assert done.returncode == 3, done.stderr
    finally:
        holder.close()


def test_a_read_only_journal_is_refused_when_opened(path: Path) -> None:
    FillJournal(path).close()
    with read_only(path), pytest.raises(JournalError, match=r"read-only|cannot be opened"):
        FillJournal(path)


def test_a_journal_that_turns_read_only_fails_its_writes_typed(path: Path) -> None:
    journal = FillJournal(path)
    journal.captured([rec(1)])
    wal = Path(f"{path}-wal")
    assert wal.exists()
    with read_only(path, wal), pytest.raises(JournalError, match="could not record"):
        journal.captured([rec(2)])
    journal.captured([rec(2)])  # writable again: works again
    assert [r.exec_id for r in journal.load().pending] == [rec(1).exec_id, rec(2).exec_id]
