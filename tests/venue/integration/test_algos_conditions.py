"""IB algos and order conditions through Ibkr over TCP, worked by the simulator: an algo's
slices arrive as fills of the one order, each exactly once; a conditional order waits as
accepted-but-not-working (PreSubmitted, which the venue reports as pending_new) until its
conditions hold. Time-driven algos run on a driven clock, so every slice is known."""

from __future__ import annotations

import math
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from horizon.core import OrderAction, OrderStatus
from horizon.core.algos import Adaptive, ArrivalPrice, ClosePrice, PercentOfVolume, Twap, Vwap
from horizon.core.conditions import (
    ExecutionCondition,
    MarginCondition,
    PercentChangeCondition,
    PriceCondition,
    TimeCondition,
    VolumeCondition,
)
from horizon.venues.ibkr import Ibkr
from ibgateway_sim import GatewaySimulator
from ibgateway_sim.clock import SimClock

AAPL = Decimal("190.00")


@pytest.fixture
def clock() -> SimClock:
    return SimClock(math.floor(time.time()))


@pytest.fixture
def sim(clock: SimClock) -> Iterator[GatewaySimulator]:
    """A threaded simulator whose time moves only when the test moves `clock`."""
    gateway = GatewaySimulator(seed=7, step_interval=None, clock=clock)
    gateway.start()
    gateway.set_price("AAPL", AAPL)
    try:
        yield gateway
    finally:
        gateway.stop()


@pytest.fixture
def venue(sim: GatewaySimulator) -> Iterator[Ibkr]:
    v = Ibkr(port=sim.port, paper=True, client_id=1, commission_grace=0.5)
    v.connect()
    try:
        yield v
    finally:
        v.close()


@pytest.fixture
async def avenue(sim: GatewaySimulator) -> AsyncIterator[Ibkr]:
    v = Ibkr(port=sim.port, paper=True, client_id=2, commission_grace=0.5)
    await v.connect_async()
    try:
        yield v
    finally:
        await v.close_async()


def buy(quantity: int = 10, **kw: object) -> OrderAction:
    return OrderAction(market_id="AAPL", side="buy", quantity=Decimal(quantity), **kw)  # type: ignore[arg-type]


def at(clock: SimClock, seconds: float) -> datetime:
    return datetime.fromtimestamp(clock() + seconds, UTC)


def drive(sim: GatewaySimulator, clock: SimClock, steps: int, seconds: float) -> None:
    for _ in range(steps):
        clock.advance(seconds)
        sim.step()


def engine_status(sim: GatewaySimulator) -> str:
    """The status of the one order the gateway holds ("" before it arrives)."""
    states = sim.engine.open_orders() or sim.engine.completed_orders()[-1:]
    return states[0].status if states else ""


# ---- algos ------------------------------------------------------------------------------


def test_twap_slices_are_fills_of_the_order_exactly_once(
    venue: Ibkr, sim: GatewaySimulator, clock: SimClock
) -> None:
    oid = venue.submit(buy(1000, algo=Twap(end=at(clock, 100))))
    assert venue.wait_for_status(oid, OrderStatus.ACCEPTED, timeout=5) is OrderStatus.ACCEPTED
    drive(sim, clock, 1, 10)
    status = venue.wait_for_status(oid, OrderStatus.PARTIALLY_FILLED, timeout=5)
    assert status is OrderStatus.PARTIALLY_FILLED
    drive(sim, clock, 9, 10)
    assert venue.wait_for_status(oid, OrderStatus.FILLED, timeout=5) is OrderStatus.FILLED
    fills = venue.wait_fills(10, timeout=5)
    assert [f.quantity for f in fills] == [Decimal(100)] * 10
    assert {f.order_id for f in fills} == {oid}
    assert venue.drain_fills() == []
    [pos] = venue.positions()
    assert pos.quantity == Decimal(1000)


async def test_twap_async_matching_midpoint(
    avenue: Ibkr, sim: GatewaySimulator, clock: SimClock
) -> None:
    oid = await avenue.submit_async(buy(100, algo=Twap(style="matching_midpoint",
                                                       end=at(clock, 20))))
    await avenue.wait_for_status_async(oid, OrderStatus.ACCEPTED, timeout=5)
    for _ in range(2):  # ten seconds on, a print at 190.00: the quote stays 189.99 / 190.01
        clock.advance(10)
        sim.set_price("AAPL", AAPL)
    fills = await avenue.wait_fills_async(2, timeout=5)
    assert [f.price for f in fills] == [AAPL, AAPL]  # the midpoint of 189.99 / 190.01
    assert await avenue.wait_for_status_async(oid, timeout=5) is OrderStatus.FILLED
    assert await avenue.drain_fills_async() == []


def test_adaptive_urgent_fills_at_the_touch(venue: Ibkr) -> None:
    oid = venue.submit(buy(algo=Adaptive(priority="urgent")))
    assert venue.wait_for_status(oid, timeout=5) is OrderStatus.FILLED
    [fill] = venue.wait_fills(1, timeout=5)
    assert fill.price == Decimal("190.01") and venue.drain_fills() == []


async def test_adaptive_async_normal_improves_on_the_midpoint(
    avenue: Ibkr, sim: GatewaySimulator
) -> None:
    oid = await avenue.submit_async(buy(limit_price="191.00", order_type="limit",
                                        algo=Adaptive(priority="normal")))
    await avenue.wait_for_status_async(oid, OrderStatus.ACCEPTED, timeout=5)
    sim.set_price("AAPL", AAPL)  # trades at its resting midpoint
    [fill] = await avenue.wait_fills_async(1, timeout=5)
    assert fill.price == AAPL


def test_vwap_stays_within_its_participation(
    venue: Ibkr, sim: GatewaySimulator, clock: SimClock
) -> None:
    before = sim.engine.quote(sim.resolve("AAPL")).volume
    oid = venue.submit(buy(1000, algo=Vwap(max_participation="0.1", end=at(clock, 100))))
    venue.wait_for_status(oid, OrderStatus.ACCEPTED, timeout=5)
    drive(sim, clock, 5, 10)
    traded = sim.engine.quote(sim.resolve("AAPL")).volume - before
    sim.wait_for(lambda: bool(sim.executions()))
    filled = sum((e.shares for e in sim.executions()), Decimal(0))
    assert 0 < filled <= traded * Decimal("0.1")
    fills = venue.wait_fills(len(sim.executions()), timeout=5)
    assert sum(f.quantity for f in fills) == filled and venue.drain_fills() == []


def test_percent_of_volume_participates(venue: Ibkr, sim: GatewaySimulator,
                                        clock: SimClock) -> None:
    before = sim.engine.quote(sim.resolve("AAPL")).volume
    oid = venue.submit(buy(1000, algo=PercentOfVolume(participation="0.5")))
    venue.wait_for_status(oid, OrderStatus.ACCEPTED, timeout=5)
    drive(sim, clock, 3, 1)
    traded = sim.engine.quote(sim.resolve("AAPL")).volume - before
    want = min(int(traded / 2), 1000)
    sim.wait_for(lambda: sum(e.shares for e in sim.executions()) == want)
    fills = venue.wait_fills(len(sim.executions()), timeout=5)
    assert sum(f.quantity for f in fills) == want and {f.order_id for f in fills} == {oid}


def test_arrival_price_get_done_front_loads(venue: Ibkr, sim: GatewaySimulator,
                                            clock: SimClock) -> None:
    oid = venue.submit(buy(1000, algo=ArrivalPrice(risk_aversion="get_done",
                                                   end=at(clock, 100))))
    venue.wait_for_status(oid, OrderStatus.ACCEPTED, timeout=5)
    drive(sim, clock, 1, 25)
    [fill] = venue.wait_fills(1, timeout=5)
    assert fill.quantity == Decimal(707)  # 1000 x 0.25 ** 0.25 after a quarter of the time


def test_close_price_forced_to_complete_at_its_end(venue: Ibkr, sim: GatewaySimulator,
                                                   clock: SimClock) -> None:
    oid = venue.submit(buy(100, algo=ClosePrice(risk_aversion="get_done",
                                                force_completion=True)))
    venue.wait_for_status(oid, OrderStatus.ACCEPTED, timeout=5)
    midnight = (math.floor(clock() / 86400) + 1) * 86400  # the always-open day's close
    clock.set(midnight + 1)
    sim.step()
    assert venue.wait_for_status(oid, timeout=5) is OrderStatus.FILLED
    assert sum(f.quantity for f in venue.wait_fills(1, timeout=5)) == Decimal(100)


def test_an_algo_window_already_over_is_rejected_by_the_gateway(venue: Ibkr, clock: SimClock
                                                                 ) -> None:
    # no start: IB starts the algo now, after its end (Horizon cannot know the gateway's now)
    oid = venue.submit(buy(algo=Twap(end=at(clock, -10))))
    assert venue.wait_for_status(oid, timeout=5) is OrderStatus.REJECTED
    assert venue.drain_fills() == []


# ---- conditions -------------------------------------------------------------------------


def _held(venue: Ibkr, sim: GatewaySimulator, oid: str) -> None:
    """Accepted by the gateway, not working: PreSubmitted there, pending_new here."""
    sim.wait_for(lambda: engine_status(sim) == "PreSubmitted")
    assert venue.order_status(oid) is OrderStatus.PENDING_NEW
    assert venue.drain_fills() == []


def test_price_condition_holds_the_order_until_the_price_is_reached(
    venue: Ibkr, sim: GatewaySimulator
) -> None:
    oid = venue.submit(buy(conditions=[PriceCondition("AAPL", "191.00", trigger="last")]))
    _held(venue, sim, oid)
    sim.set_price("AAPL", Decimal("190.50"))
    _held(venue, sim, oid)
    sim.set_price("AAPL", Decimal("191.00"))
    assert venue.wait_for_status(oid, timeout=5) is OrderStatus.FILLED
    [fill] = venue.wait_fills(1, timeout=5)
    assert fill.price == Decimal("191.01") and venue.drain_fills() == []


async def test_price_condition_async_cancel_order(avenue: Ibkr, sim: GatewaySimulator) -> None:
    oid = await avenue.submit_async(buy(order_type="limit", limit_price="150.00",
                                        conditions=[PriceCondition("AAPL", "189.00",
                                                                   above=False)],
                                        conditions_cancel_order=True))
    await avenue.wait_for_status_async(oid, OrderStatus.PENDING_NEW, timeout=5)
    sim.set_price("AAPL", Decimal("189.00"))
    assert await avenue.wait_for_status_async(oid, timeout=5) is OrderStatus.CANCELED
    assert await avenue.drain_fills_async() == []


def test_time_condition(venue: Ibkr, sim: GatewaySimulator, clock: SimClock) -> None:
    oid = venue.submit(buy(conditions=[TimeCondition(at(clock, 60))]))
    _held(venue, sim, oid)
    drive(sim, clock, 1, 61)
    assert venue.wait_for_status(oid, timeout=5) is OrderStatus.FILLED
    assert len(venue.wait_fills(1, timeout=5)) == 1


def test_margin_condition(venue: Ibkr, sim: GatewaySimulator) -> None:
    oid = venue.submit(buy(conditions=[MarginCondition(90, above=False)]))
    _held(venue, sim, oid)
    big = venue.submit(buy(5000))  # 950k of stock on 1m cash: the cushion falls below 90 %
    assert venue.wait_for_status(big, timeout=5) is OrderStatus.FILLED
    assert venue.wait_for_status(oid, timeout=5) is OrderStatus.FILLED
    assert sorted(f.quantity for f in venue.wait_fills(2, timeout=5)) == [10, 5000]


def test_execution_condition(venue: Ibkr, sim: GatewaySimulator) -> None:
    oid = venue.submit(buy(conditions=[ExecutionCondition("MSFT")]))
    _held(venue, sim, oid)
    other = venue.submit(OrderAction(market_id="MSFT", side="buy", quantity=Decimal(1)))
    assert venue.wait_for_status(other, timeout=5) is OrderStatus.FILLED
    assert venue.wait_for_status(oid, timeout=5) is OrderStatus.FILLED
    fills = venue.wait_fills(2, timeout=5)
    assert {f.order_id for f in fills} == {oid, other} and venue.drain_fills() == []


def test_volume_or_percent_change(venue: Ibkr, sim: GatewaySimulator) -> None:
    volume = int(sim.engine.quote(sim.resolve("AAPL")).volume) + 1000
    oid = venue.submit(buy(conditions=[
        VolumeCondition("AAPL", volume, conjunction="or"),
        PercentChangeCondition("AAPL", "50"),
    ]))
    _held(venue, sim, oid)
    for _ in range(10):  # each print is 100 shares: the day volume passes the mark
        sim.set_price("AAPL", AAPL)
    assert venue.wait_for_status(oid, timeout=5) is OrderStatus.FILLED
    assert len(venue.wait_fills(1, timeout=5)) == 1


# ---- the session clock runs the auctions --------------------------------------------------


def test_the_close_runs_the_closing_auction_and_expires_day_orders() -> None:
    clock = SimClock.in_regular_session(time.time(), minutes_in=389)  # 15:59 New York
    sim = GatewaySimulator(seed=7, step_interval=None, clock=clock, trading_hours=True)
    sim.start()
    venue = Ibkr(port=sim.port, paper=True, client_id=1, commission_grace=0.5)
    try:
        sim.set_price("AAPL", AAPL)
        venue.connect()
        moc = venue.submit(buy(order_type="market_on_close"))
        day = venue.submit(buy(order_type="limit", limit_price="150.00"))
        for oid in (moc, day):
            venue.wait_for_status(oid, OrderStatus.ACCEPTED, timeout=5)
        drive(sim, clock, 1, 61)  # across 16:00
        assert venue.wait_for_status(moc, timeout=5) is OrderStatus.FILLED
        assert venue.wait_for_status(day, timeout=5) is OrderStatus.CANCELED
        [fill] = venue.wait_fills(1, timeout=5)
        assert fill.price == AAPL and venue.drain_fills() == []  # the last regular print
    finally:
        venue.close()
        sim.stop()
