"""FA allocation over TCP: an advisor login (DF master + DU sub-accounts) on the simulator.

Group orders are split by the gateway (EqualQuantity, NetLiq, PctChange, profiles); blocks
are split by Horizon into per-account child orders. Every fill names its sub-account.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from typing import Any

import pytest

from horizon.core import OrderAction, OrderStatus, VenueFill
from horizon.errors import InvalidOrder
from horizon.venues.ibkr.mapping.allocation import Allocation, FaMethod
from horizon.venues.ibkr.venue import Ibkr
from ibgateway_sim import GatewaySimulator

MASTER, A, B, C = "DF1000000", "DU1000001", "DU1000002", "DU1000003"
FA: dict[str, Any] = {
    "accounts": [MASTER, A, B, C],
    "fa_groups": {"Growth": [A, B], "Income": [B, C]},
}
CID = 7


@pytest.fixture
async def advisor_sim(gateway_factory: Any) -> AsyncIterator[GatewaySimulator]:
    async with gateway_factory(**FA) as sim:
        sim.set_price("AAPL", Decimal("190.00"))
        yield sim


@pytest.fixture
async def venue(advisor_sim: GatewaySimulator) -> AsyncIterator[Any]:
    v = Ibkr(port=advisor_sim.port, paper=True, client_id=CID, commission_grace=0.2)
    await v.connect_async()
    try:
        yield v
    finally:
        await v.close_async()


def buy(quantity: int | str = 10, **kw: object) -> OrderAction:
    return OrderAction(market_id="AAPL", side="buy", quantity=Decimal(quantity), **kw)  # type: ignore[arg-type]


def by_account(fills: list[VenueFill]) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for f in fills:
        out[f.account] = out.get(f.account, Decimal(0)) + f.quantity
    return out


async def positions(venue: Any) -> dict[str, Decimal]:
    return {p.account: p.quantity for p in await venue.positions_async()}


async def test_managed_accounts_list_the_master_first(venue: Any) -> None:
    assert venue.managed_accounts() == [MASTER, A, B, C]
    assert venue.default_account == MASTER


async def test_equal_quantity_group_fills_name_their_sub_accounts(
    venue: Any, advisor_sim: GatewaySimulator
) -> None:
    oid = await venue.allocate_block_async(buy(11), Allocation(fa_group="Growth"))
    assert isinstance(oid, str)
    assert await venue.wait_for_status_async(oid, OrderStatus.FILLED, timeout=5) == "filled"
    fills = await venue.wait_fills_async(2, timeout=5)
    assert by_account(fills) == {A: Decimal(6), B: Decimal(5)}  # ties to the first listed
    assert {f.order_id for f in fills} == {oid}
    assert {(e.account, e.shares) for e in advisor_sim.executions()} == {(A, 6), (B, 5)}
    request = advisor_sim.engine.order(CID, int(oid)).request  # type: ignore[union-attr]
    assert (request.fa_group, request.fa_method, request.account) == ("Growth",
                                                                      "EqualQuantity", "")
    assert await positions(venue) == {A: Decimal(6), B: Decimal(5)}


async def test_net_liq_weights_by_account_value(venue: Any, advisor_sim: GatewaySimulator) -> None:
    first = await venue.allocate_block_async(buy(1000), {A: Decimal(1)})
    await venue.wait_for_status_async(first[0], OrderStatus.FILLED, timeout=5)
    advisor_sim.set_price("AAPL", Decimal("290.00"))  # A is now worth ~100k more than B
    oid = await venue.allocate_block_async(
        buy(21), Allocation(fa_group="Growth", method=FaMethod.NET_LIQ)
    )
    await venue.wait_for_status_async(oid, OrderStatus.FILLED, timeout=5)
    split = by_account([f for f in await venue.wait_fills_async(3, timeout=5)
                        if f.order_id == oid])
    assert split == {A: Decimal(11), B: Decimal(10)}
    assert advisor_sim.engine.order(CID, int(oid)).request.fa_method == "NetLiq"  # type: ignore[union-attr]


async def test_pct_change_resizes_each_position(venue: Any, advisor_sim: GatewaySimulator) -> None:
    ids = await venue.allocate_block_async(buy(40), {A: Decimal(1), B: Decimal(3)})
    for oid in ids:
        await venue.wait_for_status_async(oid, OrderStatus.FILLED, timeout=5)
    assert await positions(venue) == {A: Decimal(10), B: Decimal(30)}
    sell = OrderAction(market_id="AAPL", side="sell", quantity=Decimal(1))  # size: IB's call
    oid = await venue.allocate_block_async(
        sell, Allocation(fa_group="Growth", method=FaMethod.PCT_CHANGE, percentage=Decimal(-50))
    )
    await venue.wait_for_status_async(oid, OrderStatus.FILLED, timeout=5)
    fills = [f for f in await venue.wait_fills_async(4, timeout=5) if f.order_id == oid]
    assert by_account(fills) == {A: Decimal(5), B: Decimal(15)}
    request = advisor_sim.engine.order(CID, int(oid)).request  # type: ignore[union-attr]
    assert (request.fa_percentage, request.quantity) == ("-50", Decimal(0))
    assert (await venue.order_async(oid)).filled == Decimal(20)
    assert await positions(venue) == {A: Decimal(5), B: Decimal(15)}


async def test_a_profile_travels_as_a_group_on_modern_servers(
    venue: Any, advisor_sim: GatewaySimulator
) -> None:
    assert venue.ib.client.serverVersion() >= 177
    oid = await venue.allocate_block_async(buy(4), Allocation(fa_profile="Income"))
    await venue.wait_for_status_async(oid, OrderStatus.FILLED, timeout=5)
    assert by_account(await venue.wait_fills_async(2, timeout=5)) == {B: Decimal(2),
                                                                      C: Decimal(2)}
    request = advisor_sim.engine.order(CID, int(oid)).request  # type: ignore[union-attr]
    assert (request.fa_group, request.fa_profile) == ("Income", "")


async def test_block_split_into_per_account_child_orders(
    venue: Any, advisor_sim: GatewaySimulator
) -> None:
    ids = await venue.allocate_block_async(
        buy(10, client_order_id="blk"), {A: Decimal(1), B: Decimal(2), C: Decimal(0)}
    )
    assert isinstance(ids, list) and len(ids) == 2
    for oid in ids:
        await venue.wait_for_status_async(oid, OrderStatus.FILLED, timeout=5)
    fills = await venue.wait_fills_async(2, timeout=5)
    assert by_account(fills) == {A: Decimal(3), B: Decimal(7)}
    assert {(f.order_id, f.account, f.client_order_id) for f in fills} == {
        (ids[0], A, f"blk:{A}"), (ids[1], B, f"blk:{B}")}
    assert [(await venue.order_async(i)).account for i in ids] == [A, B]


@pytest.mark.parametrize(
    ("action", "allocation", "field"),
    [
        (buy(10), {A: Decimal(1), "DU9999999": Decimal(1)}, "account"),
        (buy(10), {MASTER: Decimal(1)}, "allocation"),
        (buy(10), {A: 0.5}, f"allocation[{A}]"),
        (buy(10, account=A), {A: Decimal(1)}, "account"),
        (buy(10, account=A), Allocation(fa_group="Growth"), "account"),
        (buy("10.5"), {A: Decimal(1)}, "quantity"),
    ],
)
async def test_refusals_send_nothing(
    venue: Any, advisor_sim: GatewaySimulator, action: OrderAction, allocation: Any, field: str
) -> None:
    with pytest.raises(InvalidOrder) as err:
        await venue.allocate_block_async(action, allocation)
    assert err.value.field == field
    assert advisor_sim.engine.open_orders() == [] and advisor_sim.engine.completed_orders() == []


async def test_an_unknown_group_is_rejected_by_the_gateway(
    venue: Any, advisor_sim: GatewaySimulator
) -> None:
    oid = await venue.allocate_block_async(buy(5), Allocation(fa_group="Nope"))
    assert await venue.wait_for_status_async(oid, OrderStatus.REJECTED, timeout=5) == "rejected"
    assert "Nope" in ((await venue.order_async(oid)).reason or "")
    assert advisor_sim.executions() == []


@pytest.fixture
def advisor_gateway() -> Iterator[GatewaySimulator]:
    sim = GatewaySimulator(host="127.0.0.1", port=0, seed=7, step_interval=None, **FA)
    sim.start()
    try:
        yield sim
    finally:
        sim.stop()


def test_blocking_allocate_block(advisor_gateway: GatewaySimulator) -> None:
    with Ibkr(port=advisor_gateway.port, paper=True, client_id=CID, commission_grace=0.2) as venue:
        oid = venue.allocate_block(buy(9), Allocation(fa_group="All"))
        venue.wait_for_status(oid, OrderStatus.FILLED, timeout=5)
        assert by_account(venue.wait_fills(3, timeout=5)) == {A: Decimal(3), B: Decimal(3),
                                                              C: Decimal(3)}
        ids = venue.allocate_block(buy(2), {B: Decimal(1), C: Decimal(1)})
        assert [venue.wait_for_status(i, OrderStatus.FILLED, timeout=5) for i in ids] == [
            OrderStatus.FILLED, OrderStatus.FILLED]
