"""Execution times, and the exactly-once FillBook (dedup, late commissions, corrections)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from ib_async.util import parseIBDatetime

from horizon.core.enums import Liquidity, Side
from horizon.core.types import VenueFill
from horizon.venues.ibkr.mapping.fills import (
    ExecutionRecord,
    FillBook,
    exec_base,
    exec_revision,
    liquidity_from_ib,
    parse_exec_time,
    side_from_exec,
)

T0 = datetime(2025, 1, 15, 14, 30, 1, tzinfo=UTC)


@pytest.fixture
def host_tz(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Run with the host's local zone set to Tokyo (UTC+9), restored afterwards."""
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        yield
    finally:
        monkeypatch.undo()
        time.tzset()


# ------------------------------------------------------------------------------ parse_exec_time


@pytest.mark.parametrize(
    ("raw", "gateway_tz", "expected"),
    [
        ("20250115 14:30:01 UTC", None, T0),
        ("20250115 14:30:01 GMT", None, T0),
        ("20250115 09:30:01 US/Eastern", None, T0),
        ("20250115 09:30:01 America/New_York", None, T0),
        ("20250715 09:30:01 US/Eastern", None, datetime(2025, 7, 15, 13, 30, 1, tzinfo=UTC)),
        ("20250115 15:30:01 Europe/Amsterdam", None, T0),
        ("20250115 09:30:01 EST", None, T0),
        ("20250715 09:30:01 EDT", None, datetime(2025, 7, 15, 13, 30, 1, tzinfo=UTC)),
        ("20250115 08:30:01 CST", None, T0),
        ("20250115-14:30:01", None, T0),
        ("20250115-14:30:01", "US/Eastern", T0),  # the dashed form is UTC, whatever the gateway
        ("20250115  09:30:01", "US/Eastern", T0),
        ("20250115 09:30:01", "US/Eastern", T0),
        ("20250115  14:30:01", "UTC", T0),
        ("1736951401", None, T0),
        (" 20250115 14:30:01 UTC ", None, T0),
    ],
)
def test_parse_exec_time(raw: str, gateway_tz: str | None, expected: datetime) -> None:
    got = parse_exec_time(raw, gateway_tz=gateway_tz)
    assert got == expected
    assert got.tzinfo is UTC


@pytest.mark.parametrize(
    ("raw", "gateway_tz", "match"),
    [
        ("20250115  09:30:01", None, "no zone"),
        ("20250115 09:30:01", None, "no zone"),
        ("20250115", None, "without a time"),
        ("20250115 25:00:00 UTC", None, "not a valid date"),
        ("20250230-10:00:00", None, "not a valid date"),
        ("20250115 09:30:01 Mars/Olympus", None, "unknown time zone"),
        ("20250115 09:30:01 BST", None, "unknown time zone"),  # ambiguous: never guessed
        ("20250115  09:30:01", "Nowhere/Else", "unknown time zone"),
        ("2025-01-15 09:30:01", None, "not in a format"),
        ("", None, "not in a format"),
        ("yesterday", None, "not in a format"),
        ("99999999999999999999999", None, "out of range"),
    ],
)
def test_parse_exec_time_refuses(raw: str, gateway_tz: str | None, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        parse_exec_time(raw, gateway_tz=gateway_tz)


@pytest.mark.usefixtures("host_tz")
def test_dashed_form_is_utc_whatever_the_host_zone() -> None:
    assert time.localtime(0).tm_gmtoff == 9 * 3600  # the fixture took effect
    assert parse_exec_time("20250115-14:30:01", gateway_tz=None) == T0
    assert parse_exec_time("20250115  09:30:01", gateway_tz="US/Eastern") == T0
    assert parse_exec_time("1736951401", gateway_tz=None) == T0
    # the trap this function exists for (ib_async issue #230): ib_async reads the dashed
    # form as naive, and a naive datetime is taken in the host's zone, 9 hours off here
    naive = parseIBDatetime("20250115-14:30:01")
    assert isinstance(naive, datetime) and naive.tzinfo is None
    assert naive.astimezone(UTC) == T0 - timedelta(hours=9)


@given(
    when=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC)
    ),
    zone=st.sampled_from(["UTC", "US/Eastern", "Europe/London", "Asia/Hong_Kong"]),
)
@example(when=datetime(2092, 10, 26, 1, 0, tzinfo=UTC), zone="Europe/London")  # the later 01:00
@example(when=datetime(2092, 10, 26, 0, 0, tzinfo=UTC), zone="Europe/London")  # the earlier
def test_every_form_reads_back_the_same_instant(when: datetime, zone: str) -> None:
    when = when.replace(microsecond=0)
    local = when.astimezone(ZoneInfo(zone))
    forms = {
        when.strftime("%Y%m%d-%H:%M:%S"): None,
        str(int(when.timestamp())): None,
    }
    # a local wall time names two instants for one hour a year, at a DST fall-back: the
    # forms in local time (with the zone or without) then read as the earlier of the two
    twice = local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset()
    named = local.strftime("%Y%m%d %H:%M:%S ") + zone
    legacy = local.strftime("%Y%m%d  %H:%M:%S")
    if not twice:
        forms[named] = None
        forms[legacy] = zone
    for raw, gateway_tz in forms.items():
        assert parse_exec_time(raw, gateway_tz=gateway_tz) == when, raw
    if twice:
        earlier = local.replace(fold=0).astimezone(UTC)
        assert parse_exec_time(named, gateway_tz=None) == earlier
        assert parse_exec_time(legacy, gateway_tz=zone) == earlier


# ------------------------------------------------------------------------------ small helpers


def test_exec_base_and_revision() -> None:
    assert exec_base("0000e0d5.6554a7b1.01.02") == "0000e0d5.6554a7b1.01"
    assert exec_revision("0000e0d5.6554a7b1.01.02") == "02"
    assert exec_base("plain") == "plain"
    assert exec_revision("plain") == ""


def test_side_from_exec() -> None:
    assert side_from_exec("BOT") is Side.BUY
    assert side_from_exec("SLD") is Side.SELL
    assert side_from_exec("sld") is Side.SELL
    with pytest.raises(ValueError, match="'XXX'"):
        side_from_exec("XXX")


def test_liquidity_from_ib() -> None:
    assert liquidity_from_ib(1) is Liquidity.ADDED
    assert liquidity_from_ib(2) is Liquidity.REMOVED
    assert liquidity_from_ib(3) is Liquidity.ROUTED
    assert liquidity_from_ib(0) is None
    assert liquidity_from_ib(7) is None


# ------------------------------------------------------------------------------ FillBook basics


def rec(exec_id: str = "0000e0d5.6554a7b1.01.01", **kw: object) -> ExecutionRecord:
    base: dict[str, object] = {
        "exec_id": exec_id, "order_id": 7, "perm_id": 1001, "client_id": 1,
        "account": "DU1234567", "market_id": "AAPL", "side": Side.BUY,
        "quantity": Decimal(10), "price": Decimal("101.25"), "time": T0, "exchange": "ISLAND",
        "liquidity": Liquidity.REMOVED, "order_ref": "strat-1",
    }  # fmt: skip
    base.update(kw)
    return ExecutionRecord(**base)  # type: ignore[arg-type]


E1 = "0000e0d5.6554a7b1.01.01"
E1_2 = "0000e0d5.6554a7b1.01.02"
E1_3 = "0000e0d5.6554a7b1.01.03"
E2 = "0000e0d5.6554a7b2.01.01"
FEE = Decimal("1.05")


def test_execution_then_commission() -> None:
    book = FillBook(venue="ibkr-test")
    assert book.add_execution(rec(), 0.0)
    assert book.drain(0.1) == []  # waiting for its commission
    assert book.add_commission(E1, FEE, "USD", 0.2)
    [fill] = book.drain(0.3)
    assert fill == VenueFill(
        venue="ibkr-test", order_id="7", exec_id=E1, market_id="AAPL", side=Side.BUY,
        quantity=Decimal(10), price=Decimal("101.25"), fee=FEE, fee_currency="USD",
        account="DU1234567", timestamp=T0, liquidity=Liquidity.REMOVED, corrects=None,
        client_order_id="strat-1",
    )  # fmt: skip
    assert book.drain(100.0) == []
    assert book.pending() == 0


def test_commission_before_execution() -> None:
    book = FillBook()
    assert book.add_commission(E1, FEE, "USD", 0.0)
    assert book.drain(0.0) == []
    assert book.add_execution(rec(), 0.1)
    [fill] = book.drain(0.1)  # ready at once: its commission was waiting
    assert (fill.fee, fill.fee_currency) == (FEE, "USD")


def test_empty_order_ref_means_no_client_order_id() -> None:
    book = FillBook()
    book.add_execution(rec(order_ref=""), 0.0)
    book.add_commission(E1, FEE, "USD", 0.0)
    assert book.drain(0.0)[0].client_order_id is None


def test_duplicates_are_ignored() -> None:
    book = FillBook()
    assert not book.seen(E1)
    assert book.add_execution(rec(), 0.0)
    assert book.seen(E1)
    assert not book.add_execution(rec(), 0.1)  # IB re-sent it
    assert book.add_commission(E1, FEE, "USD", 0.1)
    assert not book.add_commission(E1, FEE, "USD", 0.2)
    assert len(book.drain(0.2)) == 1
    assert not book.add_execution(rec(), 5.0)  # re-sent after it was handed out
    assert not book.add_commission(E1, FEE, "USD", 5.0)
    assert book.drain(50.0) == []


def test_grace_then_late_commission_is_a_correcting_copy() -> None:
    book = FillBook(commission_grace=2.0)
    book.add_execution(rec(), 10.0)
    assert book.drain(11.9) == []
    [first] = book.drain(12.0)
    assert (first.fee, first.fee_currency, first.corrects) == (None, None, None)
    assert book.pending() == 0
    assert book.add_commission(E1, FEE, "USD", 13.0)
    assert book.pending() == 1
    [late] = book.drain(13.0)
    assert (late.exec_id, late.corrects, late.fee, late.fee_currency) == (E1, E1, FEE, "USD")
    assert late.quantity == first.quantity and late.price == first.price
    assert not book.add_commission(E1, FEE, "USD", 14.0)  # its duplicate
    assert book.drain(20.0) == []


def test_zero_grace_hands_out_at_once() -> None:
    book = FillBook(commission_grace=0.0)
    book.add_execution(rec(), 1.0)
    assert [f.fee for f in book.drain(1.0)] == [None]


def test_drain_keeps_arrival_order() -> None:
    book = FillBook(commission_grace=1.0)
    book.add_execution(rec(E1), 0.0)
    book.add_execution(rec(E2), 0.5)
    book.add_commission(E2, FEE, "USD", 0.6)
    assert [f.exec_id for f in book.drain(0.6)] == [E2]  # ready; E1 still waits its grace
    book.add_execution(rec("0000e0d5.6554a7b3.01.01"), 0.7)
    book.add_execution(rec("0000e0d5.6554a7b4.01.01"), 0.8)
    assert [f.exec_id for f in book.drain(5.0)] == [
        E1, "0000e0d5.6554a7b3.01.01", "0000e0d5.6554a7b4.01.01",
    ]  # fmt: skip


# ------------------------------------------------------------------------------ corrections


def test_correction_before_drain_replaces_the_original() -> None:
    book = FillBook()
    book.add_execution(rec(E1, price=Decimal("101.25")), 0.0)
    book.add_commission(E1, FEE, "USD", 0.0)
    assert book.add_execution(rec(E1_2, price=Decimal("101.20")), 0.1)
    assert book.pending() == 1
    book.add_commission(E1_2, Decimal("1.04"), "USD", 0.2)
    [fill] = book.drain(0.2)
    assert (fill.exec_id, fill.price, fill.fee, fill.corrects) == (
        E1_2, Decimal("101.20"), Decimal("1.04"), None,
    )  # fmt: skip


def test_correction_after_drain_corrects_the_original() -> None:
    book = FillBook()
    book.add_execution(rec(E1), 0.0)
    book.add_commission(E1, FEE, "USD", 0.0)
    [original] = book.drain(0.0)
    assert book.add_execution(rec(E1_2, quantity=Decimal(9)), 1.0)
    book.add_commission(E1_2, FEE, "USD", 1.0)
    [fix] = book.drain(1.0)
    assert (fix.exec_id, fix.corrects, fix.quantity) == (E1_2, original.exec_id, Decimal(9))
    # and a correction of the correction names what the host holds now
    book.add_execution(rec(E1_3, quantity=Decimal(8)), 2.0)
    [fix2] = book.drain(10.0)
    assert (fix2.exec_id, fix2.corrects, fix2.fee) == (E1_3, E1_2, None)


def test_correction_pending_over_a_drained_original_still_corrects_it() -> None:
    book = FillBook()
    book.add_execution(rec(E1), 0.0)
    book.add_commission(E1, FEE, "USD", 0.0)
    book.drain(0.0)
    book.add_execution(rec(E1_2), 1.0)
    book.add_execution(rec(E1_3), 1.1)  # supersedes E1_2 before it was handed out
    book.add_commission(E1_3, FEE, "USD", 1.2)
    assert [(f.exec_id, f.corrects) for f in book.drain(1.2)] == [(E1_3, E1)]


def test_stale_revisions_and_their_commissions_are_ignored() -> None:
    book = FillBook()
    assert book.add_execution(rec(E1_2), 0.0)
    assert not book.add_execution(rec(E1), 0.1)  # the original arrives after its correction
    assert book.seen(E1)
    assert not book.add_commission(E1, FEE, "USD", 0.2)
    assert book.add_commission(E1_2, FEE, "USD", 0.3)
    assert [f.exec_id for f in book.drain(0.3)] == [E1_2]


def test_commission_for_a_correction_not_yet_seen_waits_for_it() -> None:
    book = FillBook()
    book.add_execution(rec(E1), 0.0)
    assert book.add_commission(E1_2, FEE, "USD", 0.1)  # held as an orphan
    assert book.drain(0.1) == []
    book.add_execution(rec(E1_2), 0.2)
    [fill] = book.drain(0.2)
    assert (fill.exec_id, fill.fee) == (E1_2, FEE)


def test_late_commission_copy_is_superseded_by_a_correction() -> None:
    book = FillBook(commission_grace=1.0)
    book.add_execution(rec(E1), 0.0)
    [first] = book.drain(1.0)
    book.add_commission(E1, FEE, "USD", 2.0)  # a fee copy is now pending
    book.add_execution(rec(E1_2), 2.1)  # ... and replaced by the correction
    book.add_commission(E1_2, FEE, "USD", 2.2)
    assert [(f.exec_id, f.corrects) for f in book.drain(2.2)] == [(E1_2, first.exec_id)]


# ------------------------------------------------------------------------------ journal seeding


def test_mark_drained_makes_replays_duplicates() -> None:
    book = FillBook()
    book.mark_drained([E1, E2])
    assert book.seen(E1) and book.seen(E2)
    assert not book.add_execution(rec(E1), 0.0)
    assert not book.add_commission(E1, FEE, "USD", 0.0)  # kept simple: ignored
    assert book.drain(100.0) == []
    assert book.add_execution(rec(E1_2), 1.0)  # a correction of a journalled fill
    book.add_commission(E1_2, FEE, "USD", 1.0)
    assert [(f.exec_id, f.corrects) for f in book.drain(1.0)] == [(E1_2, E1)]


def test_mark_drained_withdraws_a_pending_fill_and_its_orphan() -> None:
    book = FillBook()
    book.add_execution(rec(E1), 0.0)
    book.add_commission(E2, FEE, "USD", 0.0)
    book.mark_drained([E1, E2])
    assert book.pending() == 0
    assert not book.add_execution(rec(E2), 0.1)
    assert book.drain(100.0) == []


def test_mark_drained_older_revision_is_ignored() -> None:
    book = FillBook()
    book.add_execution(rec(E1_2), 0.0)
    book.mark_drained([E1])
    assert book.pending() == 1


# ------------------------------------------------------------------------------ memory


def test_memory_stays_bounded_over_ten_times_its_size() -> None:
    memory = 50
    book = FillBook(memory=memory, commission_grace=1.0)
    peak = 0
    for i in range(10 * memory):
        exec_id = f"{i:08x}.00000001.01.01"
        book.add_execution(rec(exec_id), float(i))
        if i % 3:
            book.add_commission(exec_id, FEE, "USD", float(i))
        book.add_commission(f"{i:08x}.ffffffff.01.01", FEE, "USD", float(i))  # never matched
        book.drain(float(i))
        peak = max(peak, book.tracked())
    assert peak <= 2 * memory + 2  # remembered fills + orphans + the few pending
    assert book.tracked() <= 2 * memory + 2
    # recent ids are still recognised; the oldest were forgotten
    assert book.seen(f"{10 * memory - 1:08x}.00000001.01.01")
    assert not book.seen(f"{0:08x}.00000001.01.01")


def test_constructor_validation() -> None:
    with pytest.raises(ValueError, match="commission_grace"):
        FillBook(commission_grace=-1)
    with pytest.raises(ValueError, match="memory"):
        FillBook(memory=0)


def test_bad_commission_refused() -> None:
    with pytest.raises(ValueError, match="finite"):
        FillBook().add_commission(E1, Decimal("NaN"), "USD", 0.0)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"exec_id": ""}, "exec_id"),
        ({"time": datetime(2025, 1, 15, 14, 30)}, "naive"),
        ({"quantity": Decimal(0)}, "not > 0"),
        ({"quantity": Decimal("NaN")}, "finite"),
        ({"price": Decimal("Infinity")}, "finite"),
    ],
)
def test_execution_record_validation(kw: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        rec(**kw)  # type: ignore[arg-type]


def test_execution_record_time_becomes_utc() -> None:
    eastern = ZoneInfo("US/Eastern")
    r = rec(time=datetime(2025, 1, 15, 9, 30, 1, tzinfo=eastern))
    assert r.time == T0 and r.time.tzinfo is UTC


# ------------------------------------------------------------------------------ the law


@dataclass(frozen=True)
class Exec:
    base: int
    rev: int


@dataclass(frozen=True)
class Comm:
    base: int
    rev: int


@dataclass(frozen=True)
class Drain:
    pass


def eid(base: int, rev: int) -> str:
    return f"{base:08x}.6554a7b1.01.{rev:02d}"


def fee_of(base: int, rev: int) -> Decimal:
    return Decimal(f"{base}.{rev:02d}")


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[object], list[float], float]:
    n = draw(st.integers(1, 5))
    events: list[object] = []
    for b in range(n):
        top = draw(st.integers(1, 3))
        revs = draw(st.sets(st.integers(1, top), min_size=1))
        for r in revs:
            events += [Exec(b, r)] * draw(st.integers(1, 2))  # maybe re-sent
        for r in range(1, top + 1):
            events += [Comm(b, r)] * draw(st.integers(0, 2))  # none, one or a duplicate
    events += [Drain()] * draw(st.integers(0, 6))
    order = draw(st.permutations(events))
    steps = draw(st.lists(st.sampled_from([0.0, 0.3, 1.0, 2.5]), min_size=len(order),
                          max_size=len(order)))  # fmt: skip
    grace = draw(st.sampled_from([0.0, 1.0, 2.0]))
    return list(order), steps, grace


@settings(max_examples=400, deadline=None)
@given(scenarios())
def test_law_exactly_once_after_corrections(
    scenario: tuple[list[object], list[float], float],
) -> None:
    events, steps, grace = scenario
    book = FillBook(commission_grace=grace)
    now = 0.0
    drained: list[VenueFill] = []
    for event, step in zip(events, steps, strict=True):
        now += step
        if isinstance(event, Exec):
            book.add_execution(rec(eid(event.base, event.rev), order_id=event.base), now)
        elif isinstance(event, Comm):
            book.add_commission(
                eid(event.base, event.rev), fee_of(event.base, event.rev), "USD", now
            )
        else:
            drained += book.drain(now)
    drained += book.drain(now + grace + 1)
    assert book.pending() == 0
    assert book.drain(now + grace + 100) == []

    # the host's one rule: a record with `corrects` replaces the record it names
    ledger: dict[str, VenueFill] = {}
    for fill in drained:
        if fill.corrects is not None:
            assert fill.corrects in ledger, f"{fill.exec_id} corrects unknown {fill.corrects}"
            del ledger[fill.corrects]
        assert fill.exec_id not in ledger, f"{fill.exec_id} handed out twice"
        ledger[fill.exec_id] = fill

    latest = {}
    for e in events:
        if isinstance(e, Exec):
            latest[e.base] = max(latest.get(e.base, 0), e.rev)
    assert set(ledger) == {eid(b, r) for b, r in latest.items()}
    commissions = {(e.base, e.rev) for e in events if isinstance(e, Comm)}
    for b, r in latest.items():
        fill = ledger[eid(b, r)]
        expected = fee_of(b, r) if (b, r) in commissions else None
        assert fill.fee == expected, (b, r)
        assert fill.fee_currency == ("USD" if expected is not None else None)
        assert fill.order_id == str(b)
    # each commission of a surviving execution shows up exactly once in what was handed out
    for b, r in latest.items():
        with_fee = [f for f in drained if f.exec_id == eid(b, r) and f.fee is not None]
        assert len(with_fee) == (1 if (b, r) in commissions else 0)


def test_a_replay_after_memory_eviction_hands_nothing_out_twice() -> None:
    """More fills in a day than the dedup memory: the reconnect replay stays silent."""
    from datetime import timedelta

    book = FillBook(commission_grace=0, memory=1000)
    day = [
        rec(f"0000e0d5.{i:08x}.01.01", time=T0 + timedelta(seconds=i)) for i in range(3000)
    ]
    for i, r in enumerate(day):
        book.add_execution(r, float(i))
    assert len(book.drain(1e9)) == 3000
    assert book.tracked() <= 1000
    for r in day:  # the gateway re-sends the whole day after a reconnect
        book.add_execution(r, 1e9)
    assert book.drain(2e9) == []
    late = rec("0000e0d5.ffffffff.01.01", time=T0 + timedelta(seconds=3000))
    assert book.add_execution(late, 2e9)  # a genuinely new fill still comes out
    assert [f.exec_id for f in book.drain(3e9)] == [late.exec_id]


def test_a_live_fill_in_the_forgotten_second_is_not_lost() -> None:
    book = FillBook(commission_grace=0, memory=1)
    first = rec("0000e0d5.00000001.01.01", time=T0)
    book.add_execution(first, 0.0)
    book.drain(1.0)
    book.add_execution(rec("0000e0d5.00000002.01.01", time=T0), 1.0)
    book.drain(2.0)  # the first is forgotten now, at second T0
    assert not book.add_execution(first, 3.0)  # its replay stays silent
    same_second = rec("0000e0d5.00000003.01.01", time=T0)
    assert book.add_execution(same_second, 3.0)  # a new fill of that second still comes out
    assert [f.exec_id for f in book.drain(4.0)] == [same_second.exec_id]
