"""Paper engine laws under random sequences of orders, price moves, modifies and cancels:
positions are the sum of signed fills, filled never exceeds ordered, cash moves exactly by
the fills and their commissions, no fill is worse than its limit, statuses only move
forward, and the whole run is a pure function of the seed and the calls."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ibgateway_sim.engine import (
    ContractQuery,
    Engine,
    Event,
    ExecutionMade,
    OrderRequest,
    OrderUpdated,
)
from ibgateway_sim.engine.allocation import largest_remainder
from tests.sim.engine_helpers import AAPL, IBM, FakeClock

BOOKS = {AAPL: D("185.00"), IBM: D("225.00")}
TICK = D("0.01")
DONE = {"Filled", "Cancelled", "ApiCancelled", "Inactive"}

_place = st.tuples(
    st.just("place"), st.sampled_from(sorted(BOOKS)), st.sampled_from(["BUY", "SELL"]),
    st.integers(1, 400), st.sampled_from(["MKT", "LMT", "STP", "STP LMT", "TRAIL"]),
    st.integers(-150, 150), st.sampled_from(["DAY", "GTC", "IOC", "FOK"]),
    st.sampled_from(["", "", "g1", "g2"]), st.sampled_from([1, 2]),
)
_move = st.tuples(st.just("move"), st.sampled_from(sorted(BOOKS)), st.integers(-400, 400))
_step = st.tuples(st.just("step"))
_cancel = st.tuples(st.just("cancel"), st.integers(0, 30))
_modify = st.tuples(st.just("modify"), st.integers(0, 30), st.integers(1, 400),
                    st.integers(-150, 150))
ops_strategy = st.lists(st.one_of(_place, _place, _move, _step, _cancel, _modify),
                        min_size=8, max_size=40)


def _request(oid: int, op: tuple[Any, ...]) -> OrderRequest:
    _, con_id, side, qty, otype, offset, tif, oca, oca_type = op
    ref = BOOKS[con_id] + offset * TICK
    kw: dict[str, Any] = {}
    if otype in ("LMT", "STP LMT"):
        kw["limit_price"] = ref
    if otype in ("STP", "STP LMT"):
        kw["aux_price"] = ref
    if otype == "TRAIL":
        kw["aux_price"] = abs(offset) * TICK + TICK
    return OrderRequest(client_id=1 + oid % 2, order_id=oid, contract=ContractQuery(
        con_id=con_id), action=side, quantity=D(qty), order_type=otype, tif=tif,
        oca_group=oca, oca_type=oca_type if oca else 0, **kw)


def run(ops: list[tuple[Any, ...]], seed: int, liquidity: D | None
        ) -> tuple[Engine, list[list[Event]]]:
    clock = FakeClock()
    engine = Engine(clock=clock, seed=seed, liquidity=liquidity)
    placed: list[OrderRequest] = []
    batches: list[list[Event]] = []
    for op in ops:
        clock.t += 1
        kind = op[0]
        if kind == "place":
            req = _request(len(placed) + 1, op)
            placed.append(req)
            batches.append(engine.place(req))
        elif kind == "move":
            price = max(BOOKS[op[1]] + op[2] * TICK, D("1.00"))
            batches.append(engine.set_price(op[1], price))
        elif kind == "step":
            batches.append(engine.step())
        elif kind == "cancel" and placed:
            req = placed[op[1] % len(placed)]
            batches.append(engine.cancel(req.client_id, req.order_id))
        elif kind == "modify" and placed:
            req = placed[op[1] % len(placed)]
            new = _modified(req, op[2], op[3])
            batches.append(engine.place(new))
    return engine, batches


def _modified(req: OrderRequest, qty: int, offset: int) -> OrderRequest:
    fields = {f: getattr(req, f) for f in req.__slots__}  # type: ignore[attr-defined]
    fields["quantity"] = D(qty)
    if req.limit_price is not None:
        fields["limit_price"] = BOOKS[req.contract.con_id] + offset * TICK
    return OrderRequest(**fields)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=ops_strategy, seed=st.integers(0, 2**16),
       liquidity=st.sampled_from([None, D(25), D(150)]))
def test_engine_laws(ops: list[tuple[Any, ...]], seed: int, liquidity: D | None) -> None:
    engine, batches = run(ops, seed, liquidity)
    events = [e for batch in batches for e in batch]
    executions = engine.executions()

    # a position is the sum of the signed fills
    signed: dict[tuple[str, int], D] = {}
    for ex, _ in executions:
        key = (ex.account, ex.contract.con_id)
        signed[key] = signed.get(key, D(0)) + (ex.shares if ex.side == "BOT" else -ex.shares)
    held = {(p.account, p.contract.con_id): p.position for p in engine.positions()}
    assert {k: v for k, v in held.items() if v} == {k: v for k, v in signed.items() if v}

    # filled never exceeds ordered, and is exactly what was executed
    per_order: dict[tuple[int, int], D] = {}
    for ex, _ in executions:
        k = (ex.client_id, ex.order_id)
        per_order[k] = per_order.get(k, D(0)) + ex.shares
    for state in engine.open_orders() + engine.completed_orders():
        assert 0 <= state.filled <= state.request.quantity
        assert state.filled == per_order.get((state.client_id, state.order_id), D(0))
        assert state.remaining >= 0
        if state.status == "Filled":
            assert state.remaining == 0

    # cash moves by exactly the fills and their commissions (stocks only here)
    expected = D(1_000_000)
    for ex, cr in executions:
        sign = 1 if ex.side == "BOT" else -1
        expected -= sign * ex.shares * ex.price + cr.commission
    usd = next(v for v in engine.account_values("DU1234567")
               if v.key == "CashBalance" and v.currency == "USD")
    assert D(usd.value) == expected.quantize(D("0.01"))

    # no fill worse than the limit in force when it happened
    for batch in batches:
        for i, ev in enumerate(batch):
            if not isinstance(ev, ExecutionMade):
                continue
            ex = ev.execution
            state = next(e.order for e in batch[i:] if isinstance(e, OrderUpdated)
                         and (e.order.client_id, e.order.order_id) == (ex.client_id,
                                                                      ex.order_id))
            limit = state.request.limit_price
            if state.request.order_type in ("LMT", "STP LMT") and limit is not None:
                assert ex.price <= limit if ex.side == "BOT" else ex.price >= limit

    # statuses start at PreSubmitted (or a rejection) and never leave a final state
    seen: dict[tuple[int, int], list[str]] = {}
    for ev in events:
        if isinstance(ev, OrderUpdated):
            seen.setdefault((ev.order.client_id, ev.order.order_id), []).append(ev.order.status)
    for history in seen.values():
        assert history[0] in ("PreSubmitted", "Inactive", "Cancelled")
        finals = [i for i, s in enumerate(history) if s in DONE]
        if finals:
            assert finals[0] == len(history) - 1 or all(
                s == history[finals[0]] for s in history[finals[0]:])

    # the book never crosses
    for con_id in BOOKS:
        qt = engine.quote(con_id)
        assert qt.bid < qt.ask


@settings(max_examples=60, deadline=None)
@given(ops=ops_strategy, seed=st.integers(0, 2**16),
       liquidity=st.sampled_from([None, D(25)]))
def test_same_seed_and_calls_give_the_same_run(ops: list[tuple[Any, ...]], seed: int,
                                               liquidity: D | None) -> None:
    a, events_a = run(ops, seed, liquidity)
    b, events_b = run(ops, seed, liquidity)
    assert events_a == events_b
    assert a.executions() == b.executions()
    assert a.account_values("DU1234567") == b.account_values("DU1234567")


@given(units=st.integers(0, 10_000),
       weights=st.lists(st.decimals(min_value=0, max_value=10**7, places=2), min_size=1,
                        max_size=8))
def test_allocation_parts_add_up_and_follow_the_weights(units: int, weights: list[D]) -> None:
    parts = largest_remainder(units, weights)
    assert sum(parts) == units and all(p >= 0 for p in parts)
    total = sum(weights) or D(len(weights))
    for part, w in zip(parts, weights, strict=True):
        share = units * (w if sum(weights) else D(1)) / total
        assert share - 1 < part < share + 1
