"""exerciseOptions over TCP: unmodified ib_async exercises and lapses a long option position
and sees the executions, the commission reports and the positions that follow; refusals
come back on the request's id."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import ib_async

from ibgateway_sim.clock import SimClock
from tests.sim.clients import connect_ib, until

T0 = 1_795_000_000.0  # 2026-11-18 11:06:40 UTC
ACCOUNT = "DU1234567"


def _held(ib: ib_async.IB, con_id: int) -> float:
    return sum(float(p.position) for p in ib.positions() if p.contract.conId == con_id)


async def test_exercise_buys_the_stock_at_the_strike_and_a_lapse_removes_the_rest(
    sim_factory: Any,
) -> None:
    async with sim_factory(clock=SimClock(T0)) as sim:
        ib = await connect_ib(sim)
        errors: list[tuple[int, int]] = []
        ib.errorEvent += lambda req_id, code, *_: errors.append((req_id, code))
        try:
            (stock,) = await ib.qualifyContractsAsync(ib_async.Stock("AAPL", "SMART", "USD"))
            sim.set_price("AAPL", Decimal("185.00"))
            itm, otm = await ib.qualifyContractsAsync(
                ib_async.Option("AAPL", "20261218", 180, "C", "SMART"),
                ib_async.Option("AAPL", "20261218", 190, "C", "SMART"),
            )
            for c in (itm, otm):
                trade = ib.placeOrder(c, ib_async.MarketOrder("BUY", 2))
                await until(ib, lambda t=trade: t.orderStatus.status == "Filled")
            await until(ib, lambda: _held(ib, itm.conId) == 2 and _held(ib, otm.conId) == 2)

            ib.exerciseOptions(itm, 1, 1, ACCOUNT, 0)
            await until(ib, lambda: _held(ib, stock.conId) == 100 and _held(ib, itm.conId) == 1)
            legs = {f.contract.conId: f for f in ib.fills() if f.execution.orderId == 0}
            assert set(legs) == {itm.conId, stock.conId}
            opt_leg, stock_leg = legs[itm.conId], legs[stock.conId]
            assert (opt_leg.execution.side, opt_leg.execution.shares) == ("SLD", 1)
            assert opt_leg.execution.price == 0
            assert (stock_leg.execution.side, stock_leg.execution.shares) == ("BOT", 100)
            assert stock_leg.execution.price == 180
            await until(ib, lambda: all(f.commissionReport.execId for f in legs.values()))
            assert all(f.commissionReport.commission == 0 for f in legs.values())
            (pos,) = [p for p in ib.positions() if p.contract.conId == stock.conId]
            assert pos.avgCost == 180

            ib.exerciseOptions(itm, 2, 1, ACCOUNT, 0)  # lapse the other
            await until(ib, lambda: _held(ib, itm.conId) == 0)
            assert _held(ib, stock.conId) == 100

            # out of the money: refused without override, exercised with it
            ib.exerciseOptions(otm, 1, 1, ACCOUNT, 0)
            await until(ib, lambda: any(code == 322 for _, code in errors))
            assert _held(ib, otm.conId) == 2
            ib.exerciseOptions(otm, 1, 2, ACCOUNT, 1)
            await until(ib, lambda: _held(ib, otm.conId) == 0 and _held(ib, stock.conId) == 300)
            ib.exerciseOptions(otm, 1, 1, ACCOUNT, 0)  # nothing left
            await until(ib, lambda: sum(code == 322 for _, code in errors) == 2)
            assert all(req_id > 0 for req_id, code in errors if code == 322)
        finally:
            ib.disconnect()
