"""FillJournal (sqlite, WAL): what a restarted process hands out, and what it must not."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from horizon.core.enums import Liquidity, Side
from horizon.venues.ibkr.fills import ExecutionRecord, FillBook
from horizon.venues.ibkr.journal import FillJournal

T0 = datetime(2026, 11, 25, 14, 30, tzinfo=UTC)


def rec(n: int) -> ExecutionRecord:
    return ExecutionRecord(
        exec_id=f"0000e0d5.{n:08x}.01.01", order_id=n, perm_id=1000 + n, client_id=1,
        account="DU1234567", market_id="AAPL", side=Side.BUY, quantity=Decimal(1),
        price=Decimal("190.01"), time=T0, exchange="ISLAND", liquidity=Liquidity.REMOVED,
        order_ref="",
    )


def test_a_reopened_journal_restores_what_was_not_handed_out(tmp_path: Path) -> None:
    path = tmp_path / "fills.sqlite"
    journal = FillJournal(path)
    for n in range(5):
        journal.captured(rec(n))
        journal.commission(rec(n).exec_id, Decimal("1.00"), "USD")
    book = FillBook(commission_grace=0)
    for n in range(3):
        book.add_execution(rec(n), 0.0)
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


def test_only_the_most_recent_drained_ids_are_loaded(tmp_path: Path) -> None:
    journal = FillJournal(tmp_path / "fills.sqlite")
    book = FillBook(commission_grace=0)
    for n in range(50):
        journal.captured(rec(n))
        book.add_execution(rec(n), 0.0)
    journal.drained(book.drain(1.0))
    restored = journal.load(recent=10)
    assert restored.drained == [rec(n).exec_id for n in range(40, 50)]
    assert journal.was_drained(rec(0).exec_id)  # older ones stay answerable on demand
    journal.checkpoint()
    journal.captured(rec(99))  # still usable after a checkpoint
    assert [r.exec_id for r in journal.load().pending] == [rec(99).exec_id]
