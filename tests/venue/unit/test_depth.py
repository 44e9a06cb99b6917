"""DepthBook: IB's insert / update / delete rows applied as IB means them; rows that cannot
apply say so (DepthOutOfSync), never an IndexError; a model-based property test."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from horizon.venues.ibkr.mapping.depth import DepthBook, DepthOutOfSync

T = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
ASK, BID = 0, 1


def row(book: DepthBook, position: int, operation: int, side: int, price: str = "1",
        size: str = "1") -> None:  # fmt: skip
    book.apply(position=position, operation=operation, side=side, price=Decimal(price),
               size=Decimal(size), time=T)  # fmt: skip


def test_insert_update_delete_shift_levels_as_ib_says() -> None:
    book = DepthBook("AAPL", rows=3)
    row(book, 0, 0, BID, "190.00", "100")
    row(book, 0, 0, BID, "190.01", "50")  # a better bid in front: the old one moves down
    row(book, 1, 1, BID, "190.00", "70")  # update the second level
    row(book, 0, 0, ASK, "190.02", "10")
    snap = book.snapshot()
    assert [(lv.price, lv.size) for lv in snap.bids] == [
        (Decimal("190.01"), Decimal(50)), (Decimal("190.00"), Decimal(70)),
    ]  # fmt: skip
    row(book, 0, 2, BID)  # delete the best: the next moves up
    assert [lv.price for lv in book.snapshot().bids] == [Decimal("190.00")]
    assert [lv.price for lv in book.snapshot().asks] == [Decimal("190.02")]


@pytest.mark.parametrize(
    ("position", "operation"), [(1, 1), (0, 2), (2, 0), (-1, 0), (0, 7)]
)
def test_rows_the_book_cannot_hold_are_out_of_sync(position: int, operation: int) -> None:
    book = DepthBook("AAPL", rows=5)
    with pytest.raises(DepthOutOfSync):
        row(book, position, operation, BID)
    with pytest.raises(DepthOutOfSync):
        row(book, 0, 0, 2)  # no side 2


def test_the_book_keeps_at_most_its_rows() -> None:
    book = DepthBook("AAPL", rows=2)
    for n in range(4):
        row(book, 0, 0, ASK, str(100 - n))
    assert [lv.price for lv in book.snapshot().asks] == [Decimal(97), Decimal(98)]


Op = tuple[int, int, int]


@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 2), st.integers(0, 1)),
                max_size=60))  # fmt: skip
@settings(max_examples=200, deadline=None)
def test_the_book_equals_a_list_model_of_ibs_rules(ops: list[Op]) -> None:
    book = DepthBook("X", rows=5)
    model: dict[int, list[int]] = {0: [], 1: []}
    for n, (position, operation, side) in enumerate(ops):
        levels = model[side]
        valid = position <= len(levels) if operation == 0 else position < len(levels)
        if not valid:
            with pytest.raises(DepthOutOfSync):
                row(book, position, operation, side, str(n + 1))
            continue
        row(book, position, operation, side, str(n + 1))
        if operation == 0:
            levels.insert(position, n + 1)
            del levels[5:]
        elif operation == 1:
            levels[position] = n + 1
        else:
            del levels[position]
    snap = book.snapshot()
    assert [int(lv.price) for lv in snap.asks] == model[0]
    assert [int(lv.price) for lv in snap.bids] == model[1]
