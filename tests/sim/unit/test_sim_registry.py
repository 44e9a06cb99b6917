"""The registry's per-instrument index of open orders: what a price change matches.

`moved_by_any` replaced a scan of every open order in each matching pass; it must name the
same orders in the same (placement) order as that scan did, whatever was placed or closed
before.
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from ibgateway_sim.engine.combos import Leg
from ibgateway_sim.engine.model import ContractQuery, ContractSpec, OrderRequest
from ibgateway_sim.engine.working import Registry, WorkingOrder

CON_IDS = (11, 12, 13, 14)


def _spec(con_id: int) -> ContractSpec:
    return ContractSpec(
        con_id=con_id, symbol=f"S{con_id}", sec_type="STK", exchange="SMART",
        primary_exchange="NASDAQ", currency="USD", local_symbol=f"S{con_id}",
        trading_class="NMS", min_tick=Decimal("0.01"), multiplier="", last_trade_date="",
        strike=Decimal(0), right="", long_name="", time_zone_id="US/Eastern",
        initial_price=Decimal(100),
    )  # fmt: skip


BAG = _spec(28812380)


def _order(seq: int, order_id: int, moved_by: tuple[int, ...]) -> WorkingOrder:
    """A plain order of one instrument, or a combo whose legs are `moved_by`."""
    req = OrderRequest(client_id=1, order_id=order_id, contract=ContractQuery(),
                       action="BUY", quantity=Decimal(1), order_type="LMT",
                       limit_price=Decimal(1))  # fmt: skip
    if len(moved_by) == 1:
        return WorkingOrder(seq=seq, req=req, spec=_spec(moved_by[0]), perm_id=seq,
                            account="DU1", total=Decimal(1))  # fmt: skip
    legs = tuple(Leg(_spec(c), 1, 1) for c in moved_by)
    return WorkingOrder(seq=seq, req=req, spec=BAG, perm_id=seq, account="DU1",
                        total=Decimal(1), legs=legs)  # fmt: skip


def _scanned(registry: Registry, con_ids: set[int]) -> list[WorkingOrder]:
    """What the matching pass scanned before the index: every open order, filtered."""
    return [o for o in registry.live.values() if not con_ids.isdisjoint(o.con_ids)]


steps = st.lists(
    st.tuples(
        st.sampled_from(["add", "close"]),
        st.integers(1, 40),  # close: the order placed this many orders ago, if still open
        st.lists(st.sampled_from(CON_IDS), min_size=1, max_size=3, unique=True),
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(steps, st.sets(st.sampled_from(CON_IDS), min_size=1))
def test_the_index_names_what_the_scan_named(ops: list, con_ids: set[int]) -> None:
    registry = Registry()
    placed: list[WorkingOrder] = []
    for op, back, moved_by in ops:
        if op == "add":  # a new order id each time, as the engine adds them
            placed.append(_order(len(placed) + 1, len(placed) + 1, tuple(moved_by)))
            registry.add(placed[-1])
        elif back <= len(placed):
            registry.close(placed[-back])  # closing a closed order again changes nothing
    assert registry.moved_by_any(con_ids) == _scanned(registry, con_ids)
    for con_id in CON_IDS:
        assert registry.moved_by_any({con_id}) == _scanned(registry, {con_id})
    # nothing closed lingers in the index, and no instrument is kept with no orders
    indexed = {k for moved in registry.moved_by.values() for k in moved}
    assert indexed == set(registry.live)
    assert all(registry.moved_by.values())


def test_a_closed_order_is_no_longer_moved_and_others_keep_their_order() -> None:
    registry = Registry()
    a, b, c = _order(1, 1, (11,)), _order(2, 2, (12, 11)), _order(3, 3, (11,))
    for o in (a, b, c):
        registry.add(o)
    assert registry.moved_by_any({11}) == [a, b, c]
    assert registry.moved_by_any({12}) == [b]
    registry.close(b)
    assert registry.moved_by_any({11}) == [a, c]
    assert registry.moved_by_any({12}) == []
    assert 12 not in registry.moved_by
