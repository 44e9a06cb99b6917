"""Paper engine: brackets (parent/child, transmit), OCA groups and FA allocation."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from ibgateway_sim.engine import Engine, OrderUpdated
from tests.sim.engine_helpers import AAPL, FakeClock, errors, fills, order, statuses

MASTER, A1, A2, A3 = "DF1000000", "DU1000001", "DU1000002", "DU1000003"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def engine(clock: FakeClock) -> Engine:
    return Engine(clock=clock, seed=7)


# ---- brackets ------------------------------------------------------------------------------

def _bracket(engine: Engine, parent_type: str = "LMT") -> None:
    parent_px = {"limit_price": D("180.00")} if parent_type == "LMT" else {}
    assert statuses(engine.place(order(10, "BUY", otype=parent_type, transmit=False,
                                       **parent_px))) == ["PreSubmitted"]
    held = engine.place(order(11, "SELL", otype="LMT", limit_price=D("190.00"), parent_id=10,
                              transmit=False))
    assert statuses(held) == ["PreSubmitted"]


def test_bracket_is_held_until_the_last_child_transmits(engine: Engine) -> None:
    _bracket(engine, "MKT")
    # untransmitted: nothing trades, even a market parent
    assert fills(engine.step()) == []
    assert fills(engine.set_price(AAPL, D("185.00"))) == []
    events = engine.place(order(12, "SELL", otype="STP", aux_price=D("175.00"), parent_id=10))
    assert [f.order_id for f in fills(events)] == [10]
    # parent submitted and filled, then both children become active
    assert statuses(events, 10) == ["Submitted", "Filled"]
    assert statuses(events, 11) == ["Submitted"]
    assert statuses(events, 12) == ["PreSubmitted", "Submitted"]
    child = engine.order(1, 12)
    assert child is not None and child.parent_perm_id == engine.order(1, 10).perm_id  # type: ignore[union-attr]


def test_children_wait_for_the_parent_fill(engine: Engine) -> None:
    _bracket(engine)
    events = engine.place(order(12, "SELL", otype="STP", aux_price=D("175.00"), parent_id=10))
    assert statuses(events, 12) == ["PreSubmitted"]
    assert statuses(events, 10) == ["Submitted"]
    child = engine.order(1, 12)
    assert child is not None and child.why_held == "child"
    # a price the take-profit would take does nothing while the parent is working
    assert fills(engine.set_price(AAPL, D("191.00"))) == []
    events = engine.set_price(AAPL, D("179.50"))
    assert [f.order_id for f in fills(events)] == [10]
    assert statuses(events, 11) == statuses(events, 12) == ["Submitted"]


def test_take_profit_fill_cancels_the_stop(engine: Engine) -> None:
    _bracket(engine)
    engine.place(order(12, "SELL", otype="STP", aux_price=D("175.00"), parent_id=10))
    engine.set_price(AAPL, D("179.50"))
    events = engine.set_price(AAPL, D("190.01"))
    assert [(f.order_id, f.price) for f in fills(events)] == [(11, D("190.00"))]
    assert statuses(events, 11) == ["Filled"] and statuses(events, 12) == ["Cancelled"]
    assert engine.positions()[0].position == 0


def test_stop_fill_cancels_the_take_profit(engine: Engine) -> None:
    _bracket(engine)
    engine.place(order(12, "SELL", otype="STP", aux_price=D("175.00"), parent_id=10))
    engine.set_price(AAPL, D("179.50"))
    events = engine.set_price(AAPL, D("174.00"))
    assert [f.order_id for f in fills(events)] == [12]
    assert statuses(events, 11) == ["Cancelled"]


def test_cancelling_the_parent_cancels_the_children(engine: Engine) -> None:
    _bracket(engine)
    engine.place(order(12, "SELL", otype="STP", aux_price=D("175.00"), parent_id=10))
    events = engine.cancel(1, 10)
    assert statuses(events) == ["Cancelled"] * 3
    assert errors(events) == [(10, 202)]
    assert engine.open_orders() == []


def test_partial_child_fill_reduces_the_sibling(clock: FakeClock) -> None:
    engine = Engine(clock=clock, liquidity=D(60))
    engine.place(order(10, "BUY", otype="MKT", transmit=False))
    engine.place(order(11, "SELL", otype="LMT", limit_price=D("190.00"), parent_id=10,
                       transmit=False))
    engine.place(order(12, "SELL", otype="STP", aux_price=D("175.00"), parent_id=10))
    engine.step()  # parent: 60 then 40
    engine.step()
    assert engine.order(1, 10).status == "Filled"  # type: ignore[union-attr]
    events = engine.set_price(AAPL, D("191.00"))
    assert [f.shares for f in fills(events)] == [D(60)]
    sl = engine.order(1, 12)
    assert sl is not None and sl.remaining == D(40) and sl.status == "Submitted"
    events = engine.set_price(AAPL, D("191.01"))
    assert statuses(events, 12) == ["Cancelled"]


def test_trailing_child_trails_from_the_activation_price(engine: Engine) -> None:
    engine.place(order(10, otype="LMT", limit_price=D("180.00")))
    engine.place(order(11, "SELL", otype="TRAIL", aux_price=D("2.00"), parent_id=10))
    engine.set_price(AAPL, D("179.50"))
    assert engine.order(1, 11).trail_stop_price == D("177.50")  # type: ignore[union-attr]


def test_child_of_an_already_filled_parent_is_live(engine: Engine) -> None:
    engine.place(order(10))
    events = engine.place(order(11, "SELL", otype="LMT", limit_price=D("184.00"), parent_id=10))
    assert statuses(events) == ["PreSubmitted", "Submitted", "Filled"]


def test_child_of_a_cancelled_parent_is_rejected(engine: Engine) -> None:
    engine.place(order(10, otype="LMT", limit_price=D("100.00")))
    engine.cancel(1, 10)
    events = engine.place(order(11, "SELL", otype="LMT", limit_price=D("190.00"), parent_id=10))
    assert errors(events) == [(11, 201)] and statuses(events) == ["Inactive"]


def test_transmit_false_order_transmits_on_modify(engine: Engine) -> None:
    assert statuses(engine.place(order(1, transmit=False))) == ["PreSubmitted"]
    assert fills(engine.step()) == []
    events = engine.place(order(1))
    assert statuses(events) == ["Submitted", "Filled"]


# ---- OCA -----------------------------------------------------------------------------------

def test_oca_type_1_cancels_the_others(engine: Engine) -> None:
    engine.place(order(1, "BUY", otype="LMT", limit_price=D("180.00"), oca_group="g",
                       oca_type=1))
    engine.place(order(2, "BUY", otype="LMT", limit_price=D("179.00"), oca_group="g",
                       oca_type=1))
    engine.place(order(3, "BUY", otype="LMT", limit_price=D("170.00"), oca_group="other"))
    events = engine.set_price(AAPL, D("179.90"))
    assert [f.order_id for f in fills(events)] == [1]
    assert statuses(events, 2) == ["Cancelled"]
    assert [o.order_id for o in engine.open_orders()] == [3]


def test_oca_cancels_on_the_first_partial_fill(clock: FakeClock) -> None:
    engine = Engine(clock=clock, liquidity=D(10))
    engine.place(order(1, otype="LMT", limit_price=D("170.00"), oca_group="g", oca_type=1))
    events = engine.place(order(2, otype="MKT", oca_group="g", oca_type=1))
    assert statuses(events, 1) == ["Cancelled"]
    assert engine.order(1, 2).filled == D(10)  # type: ignore[union-attr]


@pytest.mark.parametrize("oca_type", [2, 3])
def test_oca_reduce_types_shrink_the_others(clock: FakeClock, oca_type: int) -> None:
    engine = Engine(clock=clock, liquidity=D(40))
    engine.place(order(1, otype="LMT", limit_price=D("150.00"), oca_group="r",
                       oca_type=oca_type))
    events = engine.place(order(2, otype="MKT", oca_group="r", oca_type=oca_type))
    assert [o.order.remaining for o in events
            if isinstance(o, OrderUpdated) and o.order.order_id == 1] == [D(60)]
    engine.step()
    assert engine.order(1, 1).remaining == D(20)  # type: ignore[union-attr]
    events = engine.step()
    assert statuses(events, 2) == ["Filled"] and statuses(events, 1) == ["Cancelled"]


def test_oco_sell_pair(engine: Engine) -> None:
    engine.place(order(1))
    engine.place(order(2, "SELL", otype="LMT", limit_price=D("190.00"), oca_group="exit",
                       oca_type=1))
    engine.place(order(3, "SELL", otype="STP", aux_price=D("180.00"), oca_group="exit",
                       oca_type=1))
    events = engine.set_price(AAPL, D("179.00"))
    assert [f.order_id for f in fills(events)] == [3]
    assert statuses(events, 2) == ["Cancelled"]
    assert engine.positions()[0].position == 0


# ---- FA allocation -------------------------------------------------------------------------

@pytest.fixture
def fa(clock: FakeClock) -> Engine:
    return Engine(clock=clock, accounts=(MASTER, A1, A2, A3),
                  fa_groups={"Pair": (A2, A3)},
                  fa_profiles={"Tilt": {A1: D(3), A2: D(1)}})


def _alloc(events: list[object]) -> list[tuple[str, D]]:
    return [(f.account, f.shares) for f in fills(events)]  # type: ignore[arg-type]


def test_fa_accounts_and_types(fa: Engine) -> None:
    assert fa.accounts == (MASTER, A1, A2, A3)
    kinds = {a: next(v.value for v in fa.account_values(a) if v.key == "AccountType")
             for a in fa.accounts}
    assert kinds == {MASTER: "FA", A1: "INDIVIDUAL", A2: "INDIVIDUAL", A3: "INDIVIDUAL"}


def test_equal_quantity_over_the_default_group(fa: Engine) -> None:
    events = fa.place(order(1, qty=100, account=MASTER, fa_group="All",
                            fa_method="EqualQuantity"))
    assert _alloc(events) == [(A1, D(34)), (A2, D(33)), (A3, D(33))]
    state = fa.order(1, 1)
    assert state is not None and state.status == "Filled" and state.filled == D(100)
    assert {p.account: p.position for p in fa.positions()} == {A1: 34, A2: 33, A3: 33}
    assert fa.positions(MASTER) == []
    # each allocation pays its own commission (per-order minimum per account)
    assert [cr.commission for _, cr in fa.executions()] == [D("1.00")] * 3


def test_named_group_and_profile(fa: Engine) -> None:
    assert _alloc(fa.place(order(1, qty=10, fa_group="Pair"))) == [(A2, D(5)), (A3, D(5))]
    assert _alloc(fa.place(order(2, qty=100, fa_profile="Tilt"))) == [(A1, D(75)),
                                                                       (A2, D(25))]
    # a profile name that is a group works like the group
    assert _alloc(fa.place(order(3, qty=4, fa_profile="Pair"))) == [(A2, D(2)), (A3, D(2))]


def test_net_liq_and_available_equity(clock: FakeClock) -> None:
    fa = Engine(clock=clock, accounts=(MASTER, A1, A2, A3),
                cash={A1: D(2_000_000), A2: D(1_000_000), A3: D(1_000_000)})
    assert _alloc(fa.place(order(1, qty=100, fa_group="All", fa_method="NetLiq"))) == [
        (A1, D(50)), (A2, D(25)), (A3, D(25))]
    # margin on 5000 more shares lowers A1's available equity, not its net liquidation
    fa.place(order(2, qty=5000, account=A1))
    events = fa.place(order(3, qty=1000, fa_group="All", fa_method="AvailableEquity"))
    split = dict(_alloc(events))
    assert sum(split.values()) == 1000
    assert abs(split[A2] - split[A3]) <= 1 and split[A1] < 2 * split[A3] - 50


def test_pct_change_scales_each_position(fa: Engine) -> None:
    fa.place(order(1, qty=100, account=A1))
    fa.place(order(2, qty=50, account=A2))
    events = fa.place(order(3, "SELL", qty=0, fa_group="All", fa_method="PctChange",
                            fa_percentage="-50"))
    assert _alloc(events) == [(A1, D(50)), (A2, D(25))]
    assert {p.account: p.position for p in fa.positions()} == {A1: 50, A2: 25}


def test_order_needs_an_allocation_in_an_fa_setup(fa: Engine) -> None:
    for oid, kw in ((1, {}), (2, {"account": MASTER})):
        events = fa.place(order(oid, **kw))
        assert errors(events) == [(oid, 436)]
        assert statuses(events) == ["Inactive"]
    assert errors(fa.place(order(3, fa_group="Nope"))) == [(3, 201)]
    assert errors(fa.place(order(4, account="DU9999999"))) == [(4, 201)]
    # a single sub-account is a normal order
    assert _alloc(fa.place(order(5, qty=7, account=A3))) == [(A3, D(7))]


def test_allocated_order_keeps_its_quantity_on_modify(fa: Engine) -> None:
    fa.place(order(1, qty=30, otype="LMT", limit_price=D("100.00"), fa_group="All"))
    events = fa.place(order(1, qty=60, otype="LMT", limit_price=D("100.00"), fa_group="All"))
    assert errors(events) == [(1, 201)] and statuses(events) == ["Submitted"]
    events = fa.place(order(1, qty=30, otype="LMT", limit_price=D("186.00"), fa_group="All"))
    assert _alloc(events) == [(A1, D(10)), (A2, D(10)), (A3, D(10))]


def test_allocated_partial_fills_keep_the_split(clock: FakeClock) -> None:
    fa = Engine(clock=clock, accounts=(MASTER, A1, A2, A3), liquidity=D(30))
    fa.place(order(1, qty=100, fa_group="All"))
    for _ in range(5):
        fa.step()
    rows = fa.executions()
    per_account: dict[str, D] = {}
    for ex, _ in rows:
        per_account[ex.account] = per_account.get(ex.account, D(0)) + ex.shares
    assert per_account == {A1: D(34), A2: D(33), A3: D(33)}
    assert fa.order(1, 1).status == "Filled"  # type: ignore[union-attr]
    # per-order commission: one minimum per account over all its partial executions
    comm: dict[str, D] = {}
    for ex, cr in rows:
        comm[ex.account] = comm.get(ex.account, D(0)) + cr.commission
    assert comm == {A1: D("1.00"), A2: D("1.00"), A3: D("1.00")}
