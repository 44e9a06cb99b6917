"""The venue's promises under compound faults, over TCP against the simulator's fault plan:
order ids never reused, every order's state true after acknowledgements are lost, fills
exactly once through timeouts, restarts and journal trouble, amends that cannot half-send."""

from __future__ import annotations

import asyncio
import logging
import struct
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from horizon.core import OrderAction, OrderStatus
from horizon.errors import (
    HorizonError,
    InvalidOrder,
    JournalError,
    JournalInUse,
    RequestTimeout,
)
from horizon.venues.ibkr import Ibkr
from horizon.venues.ibkr.resilience import ConnectionState
from ibgateway_sim import GatewaySimulator
from ibgateway_sim.wire import messages as m
from tests.support import Events, read_only

FAST = {
    "commission_grace": 0.3,
    "reconnect_initial_delay": 0.05,
    "reconnect_max_delay": 0.3,
    "reconnect_wait": 10,
    "health_timeout": 0.4,
    "connect_timeout": 1.0,
}


def market(qty: int = 1, side: str = "buy", **kw: Any) -> OrderAction:
    return OrderAction(market_id="AAPL", side=side, quantity=Decimal(qty), **kw)  # type: ignore[arg-type]


def limit(price: str, qty: int = 1, side: str = "buy", **kw: Any) -> OrderAction:
    return market(qty, side, order_type="limit", limit_price=price, **kw)


def venue_on(gateway: GatewaySimulator, client_id: int = 7, **kw: Any) -> Ibkr:
    venue = Ibkr(port=gateway.port, paper=True, client_id=client_id, **{**FAST, **kw})
    venue.connect()
    return venue


@pytest.fixture
def venue(gateway: GatewaySimulator) -> Iterator[Ibkr]:
    v = venue_on(gateway)
    try:
        yield v
    finally:
        v.close()


def restart_and_wait(venue: Ibkr, gateway: GatewaySimulator, downtime: float = 0.3) -> None:
    """Restart the gateway, clear freeze and delay, and wait for the venue to be back."""
    events = Events()
    venue.add_listener(events)
    gateway.restart(downtime=downtime)
    gateway.thaw()
    gateway.delay(0)
    events.wait(ConnectionState.DISCONNECTED)
    events.wait(ConnectionState.RECONNECTED)


# ----------------------------------------------------------------------------- 1: order ids


def test_order_ids_are_never_handed_out_twice_after_a_restart(
    venue: Ibkr, gateway: GatewaySimulator
) -> None:
    first = venue.submit(market())
    venue.wait_for_status(first, OrderStatus.FILLED, timeout=5)
    gateway.freeze()
    lost = [venue.submit(market()) for _ in range(3)]  # they never reach the engine
    restart_and_wait(venue, gateway)
    for oid in lost:
        assert venue.wait_for_status(oid, timeout=5) is OrderStatus.REJECTED
    later = [venue.submit(market(7, "sell")) for _ in range(2)]
    for oid in later:
        venue.wait_for_status(oid, OrderStatus.FILLED, timeout=5)
    assert len({first, *lost, *later}) == 6
    assert min(int(i) for i in later) > max(int(i) for i in lost)
    for oid in lost:  # each id still reads as the order it was
        view = venue.order(oid)
        assert (view.side.value, view.quantity, view.status) == ("buy", 1, "rejected")
    placed = [r.order_id for r in gateway.requests(client_id=7, kind=m.PlaceOrder)]
    assert len(placed) == len(set(placed))  # the gateway never saw an id twice


def test_a_journal_keeps_the_id_floor_across_processes(
    gateway: GatewaySimulator, tmp_path: Path
) -> None:
    journal = tmp_path / "fills.sqlite"
    first = venue_on(gateway, fill_journal=journal)
    first.qualify("AAPL")
    gateway.freeze()
    lost = [int(first.submit(market())) for _ in range(2)]
    first.close()  # the process goes; its orders never reached the gateway
    gateway.restart(downtime=0.1)
    gateway.thaw()
    gateway.wait_for(lambda: gateway.listening, timeout=5)
    second = venue_on(gateway, fill_journal=journal)
    try:
        oid = int(second.submit(market()))
        second.wait_for_status(str(oid), OrderStatus.FILLED, timeout=5)
        assert oid > max(lost)
    finally:
        second.close()


# --------------------------------------------------------------------- 2: lost acknowledgements


def test_orders_filled_while_their_acknowledgements_were_lost_read_filled(
    venue: Ibkr, gateway: GatewaySimulator
) -> None:
    venue.qualify("AAPL")
    gateway.delay(1.0)
    ids = [venue.submit(market()) for _ in range(3)]
    gateway.wait_for(lambda: len(gateway.executions()) == 3, timeout=5)
    restart_and_wait(venue, gateway)  # the delayed replies die with the sockets
    for _ in range(2):  # and the truth survives a second restart
        for oid in ids:
            view = venue.order(oid)
            assert (view.status, view.filled, view.remaining) == ("filled", 1, 0)
        assert venue.open_orders() == []
        restart_and_wait(venue, gateway)
    fills = venue.wait_fills(3, timeout=5)
    assert sorted(f.order_id for f in fills) == sorted(ids)
    assert venue.drain_fills() == []


def test_a_cancelled_order_whose_ack_was_lost_is_found_by_its_client_order_id(
    venue: Ibkr, gateway: GatewaySimulator
) -> None:
    venue.qualify("AAPL")
    gateway.delay(1.0)
    # an IOC far from the market: the gateway cancels it at once; the news is lost
    tagged = venue.submit(limit("150.00", tif="IOC", client_order_id="ioc-1"))
    plain = venue.submit(limit("150.00", tif="IOC"))
    gateway.wait_for(
        lambda: len(gateway.requests(client_id=7, kind=m.PlaceOrder)) == 2, timeout=5
    )
    restart_and_wait(venue, gateway)
    assert venue.order_status(tagged) is OrderStatus.CANCELED
    # without an orderRef nothing ties the completed order to it: the order is final
    # either way, and says it was never seen
    assert venue.order_status(plain) is OrderStatus.REJECTED
    assert venue.open_orders() == []


# ----------------------------------------------------------------------------- 3: wait_fills


def test_a_wait_fills_that_times_out_drains_nothing(
    venue: Ibkr, gateway: GatewaySimulator
) -> None:
    oid = venue.submit(market())
    venue.wait_for_status(oid, OrderStatus.FILLED, timeout=5)
    with pytest.raises(RequestTimeout, match=r"2 fill\(s\)"):
        venue.wait_fills(2, timeout=0.5)
    [fill] = venue.wait_fills(1, timeout=5)  # still there
    assert fill.order_id == oid


# ------------------------------------------------------------------------- 4: owed fees


def test_a_fee_owed_when_the_process_ends_arrives_in_the_next_one(
    gateway: GatewaySimulator, tmp_path: Path
) -> None:
    journal = tmp_path / "fills.sqlite"
    first = venue_on(gateway, fill_journal=journal)
    gateway.drop_next_commission()
    oid = first.submit(market())
    [fill] = first.wait_fills(1, timeout=5)
    assert fill.fee is None and fill.order_id == oid
    first.close()

    second = venue_on(gateway, fill_journal=journal)
    try:
        [late] = second.wait_fills(1, timeout=5)  # the replayed commission report
        assert late.exec_id == fill.exec_id and late.corrects == fill.exec_id
        assert late.fee is not None
        assert second.drain_fills() == []
    finally:
        second.close()
    third = venue_on(gateway, fill_journal=journal)
    try:
        assert third.pending_fills() == 0 and third.drain_fills() == []  # paid once only
    finally:
        third.close()


# ---------------------------------------------------------------- 5, 6, 10: journal trouble


def test_an_unusable_journal_is_refused_when_the_venue_is_built(
    gateway: GatewaySimulator, tmp_path: Path
) -> None:
    with pytest.raises(JournalError, match="is a directory"):
        Ibkr(port=gateway.port, paper=True, fill_journal=tmp_path)
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"not a database" * 100)
    with pytest.raises(JournalError, match="not a usable SQLite"):
        Ibkr(port=gateway.port, paper=True, fill_journal=junk)


def test_a_journal_that_turns_read_only_holds_fills_back_and_delivers_each_once(
    gateway: GatewaySimulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    journal = tmp_path / "fills.sqlite"
    first = venue_on(gateway, fill_journal=journal, commission_grace=0)
    warm = first.submit(market())  # reserves a block of order ids in the journal
    first.wait_fills(1, timeout=5)
    wal = Path(f"{journal}-wal")
    with read_only(journal, wal):
        with caplog.at_level(logging.ERROR, logger="horizon.venues.ibkr"):
            oid = first.submit(market())  # an id of the block: no journal write needed
            first.wait_for_status(oid, OrderStatus.FILLED, timeout=5)
            gateway.wait_for(lambda: len(gateway.executions()) == 2)
            with pytest.raises(JournalError, match="could not record"):
                first.wait_fills(1, timeout=5)
        assert any("fill journal write failed" in r.message for r in caplog.records)
        with pytest.raises(JournalError):
            first.drain_fills()  # still held back, still not lost
    [fill] = first.drain_fills()  # writable again
    assert fill.order_id == oid != warm
    first.close()
    second = venue_on(gateway, fill_journal=journal)
    try:
        assert second.drain_fills() == []  # the journal knows it was handed out
    finally:
        second.close()


def test_a_journal_belongs_to_one_client_and_account_set(
    gateway: GatewaySimulator, tmp_path: Path
) -> None:
    journal = tmp_path / "fills.sqlite"
    owner = venue_on(gateway, client_id=3, fill_journal=journal)
    with pytest.raises(JournalInUse):  # a second live venue on it
        Ibkr(port=gateway.port, paper=True, client_id=9, fill_journal=journal)
    oid = owner.submit(market())
    owner.wait_for_status(oid, OrderStatus.FILLED, timeout=5)
    owner.close()  # one fill captured, not drained
    other = Ibkr(port=gateway.port, paper=True, client_id=9, fill_journal=journal, **FAST)
    with pytest.raises(JournalError, match=r"belongs to client 3 of DU1234567"):
        other.connect()
    assert other.pending_fills() == 0 and other.drain_fills() == []  # nothing of client 3's
    other.close()


def test_a_new_journal_does_not_redeliver_the_days_history(
    gateway: GatewaySimulator, tmp_path: Path
) -> None:
    run1 = venue_on(gateway)
    oid = run1.submit(market())
    [fill] = run1.wait_fills(1, timeout=5)
    run1.close()
    run2 = venue_on(gateway, fill_journal=tmp_path / "new.sqlite")
    try:
        assert run2.pending_fills() == 0 and run2.drain_fills() == []
    finally:
        run2.close()
    run3 = venue_on(gateway, fill_journal=tmp_path / "newer.sqlite",
                    replay_fills_on_first_connect=True)
    try:
        [again] = run3.wait_fills(1, timeout=5)  # asked for, explicitly
        assert (again.exec_id, again.order_id) == (fill.exec_id, oid)
    finally:
        run3.close()


# -------------------------------------------------------------- 8: a corrupt inbound stream


@pytest.mark.parametrize(
    "garbage",
    [struct.pack(">I", 0x7FFFFFFF) + b"x" * 64, struct.pack(">I", 6) + b"abc\0d\0"],
    ids=["oversized-length", "no-message-id"],
)
def test_a_corrupt_frame_resets_the_session_and_the_venue_comes_back(
    venue: Ibkr, gateway: GatewaySimulator, garbage: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    events = Events()
    venue.add_listener(events)
    with caplog.at_level(logging.ERROR, logger="horizon.venues.ibkr"):
        gateway.inject_bytes(garbage, client_id=7)
        events.wait(ConnectionState.DISCONNECTED, timeout=5)
    assert any("corrupt data from the gateway" in r.message for r in caplog.records)
    events.wait(ConnectionState.RECONNECTED, timeout=10)
    oid = venue.submit(market())
    assert venue.wait_for_status(oid, timeout=5) is OrderStatus.FILLED


# ------------------------------------------------------------------------- 7: amend races


def test_an_amend_waiting_out_a_reconnect_is_refused_once_the_order_filled(
    venue: Ibkr, gateway: GatewaySimulator
) -> None:
    oid = venue.submit(limit("150.00"))
    venue.wait_for_status(oid, OrderStatus.ACCEPTED, timeout=5)
    events = Events()
    venue.add_listener(events)
    gateway.restart(downtime=1.0)
    events.wait(ConnectionState.DISCONNECTED)
    amend = asyncio.run_coroutine_threadsafe(
        venue.amend_async(oid, limit_price=Decimal("151.00")), venue.loop
    )
    gateway.set_price("AAPL", Decimal("149.00"))  # it fills at the gateway meanwhile
    gateway.wait_for(lambda: len(gateway.executions()) == 1, timeout=5)
    with pytest.raises(InvalidOrder, match="filled"):
        amend.result(timeout=10)
    assert venue.order_status(oid) is OrderStatus.FILLED
    modifies = [r for r in gateway.requests(client_id=7, kind=m.PlaceOrder)
                if r.order_id == int(oid)]
    assert len(modifies) == 1  # the original only: nothing half-sent


def test_an_order_being_cancelled_is_not_amended_and_stays_cancelled(
    venue: Ibkr, gateway: GatewaySimulator
) -> None:
    oid = venue.submit(limit("150.00"))
    venue.wait_for_status(oid, OrderStatus.ACCEPTED, timeout=5)
    gateway.delay(0.5)
    venue.cancel(oid)
    assert venue.order_status(oid) is OrderStatus.PENDING_CANCEL
    with pytest.raises(InvalidOrder, match="pending_cancel"):
        venue.amend(oid, limit_price=Decimal("151.00"))
    venue.cancel(oid)  # a second cancel while one is pending: nothing more sent
    assert venue.wait_for_status(oid, timeout=5) is OrderStatus.CANCELED
    gateway.delay(0)
    cancels = gateway.requests(client_id=7, kind=m.CancelOrder)
    assert [c.order_id for c in cancels] == [int(oid)]


def test_an_error_after_the_final_status_never_overrides_it(
    venue: Ibkr, gateway: GatewaySimulator
) -> None:
    oid = venue.submit(limit("150.00"))
    venue.wait_for_status(oid, OrderStatus.ACCEPTED, timeout=5)
    venue.cancel(oid)
    venue.wait_for_status(oid, OrderStatus.CANCELED, timeout=5)
    probe = venue.submit(limit("150.00"))  # a marker: its ack comes after the error below
    gateway.send_error(103, f"Duplicate order id {oid}.", req_id=int(oid))
    venue.wait_for_status(probe, OrderStatus.ACCEPTED, timeout=5)
    assert venue.order_status(oid) is OrderStatus.CANCELED


def test_many_threads_trading_at_once_meet_only_typed_errors_and_true_states(
    gateway: GatewaySimulator,
) -> None:
    venue = venue_on(gateway, rate=200, burst=50)
    venue.qualify("AAPL")
    ids: list[str] = []
    untyped: list[BaseException] = []
    stop = threading.Event()
    lock = threading.Lock()

    def guarded(work: Any) -> None:
        while not stop.is_set():
            try:
                work()
            except HorizonError:
                pass  # typed: what a caller handles
            except BaseException as exc:
                untyped.append(exc)
                return

    def submitter() -> None:
        oid = venue.submit(limit("189.99"))
        with lock:
            ids.append(oid)

    def pick() -> str | None:
        with lock:
            return ids[len(ids) // 2] if ids else None

    def canceller() -> None:
        if (oid := pick()) is not None:
            venue.cancel(oid)

    def amender() -> None:
        if (oid := pick()) is not None:
            venue.amend(oid, limit_price=Decimal("190.01"))  # marketable: it fills

    def drainer() -> None:
        venue.drain_fills()
        venue.open_orders()

    workers = [submitter, submitter, canceller, canceller, amender, amender, drainer, drainer]
    threads = [threading.Thread(target=guarded, args=(w,)) for w in workers]
    try:
        for t in threads:
            t.start()
        gateway.wait_for(
            lambda: len(gateway.requests(client_id=7, kind=m.PlaceOrder)) >= 60, timeout=30
        )
        stop.set()
        for t in threads:
            t.join(timeout=10)
        assert untyped == []
        final = {"Filled": OrderStatus.FILLED, "Cancelled": OrderStatus.CANCELED}
        for oid in ids:  # every final state the gateway reached, the venue reports
            gateway.wait_for(lambda oid=oid: gateway.engine.order(7, int(oid)) is not None)
            truth = gateway.engine.order(7, int(oid))
            assert truth is not None
            if truth.status in final:
                assert venue.wait_for_status(oid, timeout=5) is final[truth.status], oid
    finally:
        stop.set()
        venue.close()


# ------------------------------------------------------------- an order the gateway dropped


def test_an_order_the_gateway_silently_drops_is_reported_rejected(
    gateway: GatewaySimulator,
) -> None:
    venue = venue_on(gateway, ack_timeout=0.3)
    try:
        gateway.drop_next_order()  # as IB's paper servers sometimes do
        lost = venue.submit(market())
        kept = venue.submit(market())
        assert venue.wait_for_status(kept, timeout=5) is OrderStatus.FILLED
        assert venue.wait_for_status(lost, timeout=5) is OrderStatus.REJECTED
        assert "does not know the order" in (venue.order(lost).reason or "")
        assert venue.metrics_snapshot().rejects == {"unacknowledged": 1}
    finally:
        venue.close()
