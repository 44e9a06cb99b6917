"""A frame with several scalar fields left open (`codec.Shape`) against the whole row encoded.

The gateway encodes one openOrder row per shape of order (`mapping.open_order_shape`) and fills
in each order's ids, side, size, prices and status: each of those frames must be the bytes
`encode` makes of that order's own row, at every version (text; protobuf gets no shape), and
the shape must capture everything else the row is made of.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ibgateway_sim.engine import ConditionRequest, Engine, Execution, OrderRequest, OrderState
from ibgateway_sim.gateway import mapping
from ibgateway_sim.gateway.shapes import ShapedFrames
from ibgateway_sim.wire import messages as m
from ibgateway_sim.wire.codec import EncodeError, Shape, encode, shape
from ibgateway_sim.wire.messages import Direction, Kind
from ibgateway_sim.wire.thresholds import travels_as_protobuf
from tests.sim.strategies import any_message, texts

VERSIONS = [157, 163, 170, 176, 178, 201, 203, 226]
SCALARS = (Kind.STR, Kind.INT, Kind.OPT_INT, Kind.DEC, Kind.DEC_MAX, Kind.BOOL, Kind.OPT_BOOL)


def _scalar_fields(msg: m.Message) -> list[tuple[str, Kind]]:
    return [
        (f.name, f.metadata["wire"].kind)
        for f in dataclasses.fields(msg)  # type: ignore[arg-type]
        if "wire" in f.metadata and f.metadata["wire"].kind in SCALARS
    ]


@settings(max_examples=300, deadline=None)
@given(any_message(), st.data())
def test_a_shape_filled_is_the_row_encoded_whole(
    pair: tuple[m.Message, int], data: st.DataObject
) -> None:
    """Any message, any fields left open (in the row's order, which is its wire order where
    a shape exists): filled with its own values, or with new texts in its text fields, the
    frame is the row encoded whole."""
    msg, version = pair
    fields = _scalar_fields(msg)
    if not fields:
        return
    chosen = data.draw(st.lists(st.sampled_from(fields), min_size=1, max_size=5, unique=True))
    order = [name for name, _ in fields]
    chosen.sort(key=lambda nk: order.index(nk[0]))
    names = tuple(name for name, _ in chosen)
    made = shape(msg, version, names)
    if made is None:
        return  # a field steers the row, is off the wire here, or the row is protobuf
    assert made.fill([getattr(msg, n) for n in names]) == encode(msg, version)
    new = {n: data.draw(texts) for n, k in chosen if k is Kind.STR}
    if new:
        whole = dataclasses.replace(msg, **new)  # type: ignore[type-var]
        assert made.fill([getattr(whole, n) for n in names]) == encode(whole, version)


def test_no_shape_of_a_field_that_steers_the_row_or_out_of_wire_order() -> None:
    row = m.PlaceOrder(order_id=1, order_type="LMT", algo_strategy="Vwap")
    assert shape(row, 178, ("order_id", "order_ref")) is not None
    assert shape(row, 178, ("order_id", "order_type")) is None  # it decides the pegged fields
    assert shape(row, 178, ("order_ref", "order_id")) is None  # not in wire order
    assert shape(row, 178, ("order_id", "combo_legs")) is None  # not a scalar


def _states() -> list[OrderState]:
    """Orders alike and unlike: sides, sizes, prices and ids differ within a shape; types,
    refs, accounts, times, links, algos and conditions make other shapes."""
    engine = Engine(seed=1, accounts=("DU1", "DU2"))
    query = mapping.contract_query(
        m.RequestContract(symbol="AAPL", sec_type="STK", exchange="SMART", currency="USD")
    )
    msft = mapping.contract_query(
        m.RequestContract(symbol="MSFT", sec_type="STK", exchange="", currency="USD")
    )

    def order(order_id: int, **kw: Any) -> OrderRequest:
        base: dict[str, Any] = dict(client_id=1, order_id=order_id, contract=query,
                                    action="BUY", quantity=Decimal(10), order_type="LMT",
                                    limit_price=Decimal("1.00"), account="DU1")
        return OrderRequest(**(base | kw))

    requests = [
        order(1, order_type="MKT", limit_price=None),
        order(2), order(3, action="SELL", quantity=Decimal(3), limit_price=Decimal("9000.5")),
        order(4, quantity=Decimal("0.5"), limit_price=Decimal("1.25")),
        order(5, order_ref="ref\x01"), order(6, account="DU2"), order(7, tif="GTC"),
        order(8, outside_rth=True), order(9, oca_group="g", oca_type=1),
        order(10, oca_group="g", oca_type=1, action="SELL", limit_price=Decimal("9000")),
        order(11, parent_id=2, action="SELL", limit_price=Decimal("9000")),
        order(12, order_type="STP", limit_price=None, aux_price=Decimal("9000")),
        order(13, order_type="TRAIL", limit_price=None, aux_price=Decimal(1)),
        order(14, order_type="TRAIL", limit_price=None, aux_price=None,
              trailing_percent=Decimal(2)),
        order(15, algo_strategy="Adaptive", algo_params=(("adaptivePriority", "Normal"),)),
        order(16, contract=msft), order(17, contract=msft, action="SELL",
                                        limit_price=Decimal("9999")),
        order(18, good_after_time="20300101 09:30:00 US/Eastern"),
        order(19, conditions=(ConditionRequest(3, ("1", "0", "20300101 09:30:00")),)),
    ]
    events = [e for r in requests for e in engine.place(r)]
    events += engine.cancel(1, 2) + engine.cancel(1, 13) + engine.cancel(1, 16)
    return [e.order for e in events if hasattr(e, "order") and e.order.margin is None]


@pytest.mark.parametrize("version", VERSIONS)
def test_open_orders_from_their_shape_are_their_rows_encoded(version: int) -> None:
    """As the dispatcher does it: one shape per (version, open_order_shape), made from the
    first order of that shape, filled for every later one."""
    states = _states()
    assert len(states) >= 30
    shapes: dict[tuple[Any, ...], tuple[OrderState, Shape | None]] = {}
    reused = 0
    for st_ in states:
        key = mapping.open_order_shape(st_)
        if key in shapes:
            reused += 1
            assert shapes[key][0].contract is st_.contract
        else:
            shapes[key] = (st_, shape(mapping.open_order(st_), version,
                                      mapping.OPEN_ORDER_OPEN_FIELDS))
        made = shapes[key][1]
        if travels_as_protobuf(Direction.OUT, m.OpenOrder.MSG_ID, version):
            assert made is None
            continue
        assert made is not None
        assert made.fill(mapping.open_order_values(st_)) == encode(mapping.open_order(st_),
                                                                   version)
    assert reused >= 10  # alike orders did share shapes
    assert len(shapes) >= 12  # and unlike ones did not


def test_an_orders_openorder_frames_through_its_life_are_its_rows_encoded() -> None:
    """Placed, modified, partly filled pass by pass, filled; its snapshots framed for two
    sessions at other versions in turn: every frame is its own row encoded, and a partial
    fill's frame is the one sent for the fill before it (the same bytes object)."""
    engine = Engine(seed=1, accounts=("DU1",), liquidity=Decimal(1))
    query = mapping.contract_query(
        m.RequestContract(symbol="AAPL", sec_type="STK", exchange="SMART", currency="USD"))
    [spec] = engine.match_contracts(query)

    def place(quantity: int, limit: str) -> list[Any]:
        return engine.place(OrderRequest(
            client_id=1, order_id=1, contract=query, action="BUY", quantity=Decimal(quantity),
            order_type="LMT", limit_price=Decimal(limit), account="DU1"))

    events = place(3, "1.00") + place(4, "1.01")  # rests, then a modify
    for _ in range(4):
        events += engine.set_price(spec.con_id, Decimal("0.50"))
    states = [e.order for e in events if hasattr(e, "order")]
    assert [s.status for s in states][-1] == "Filled"
    assert len(states) >= 7
    frames = ShapedFrames(mapping.TimeFormatter("US/Eastern"))
    sent: dict[int, bytes] = {}
    repeats = 0
    for was, st_ in zip([None, *states], states, strict=False):
        alike = was is not None and was.status == st_.status and was.request is st_.request
        for version in (178, 176):
            frame = frames.open_order(st_, version)
            assert frame == encode(mapping.open_order(st_), version)
            assert (frame is sent.get(version)) == alike
            sent[version] = frame
        repeats += alike
    assert repeats >= 2  # partial fills did come one after another


def test_a_nul_in_an_open_text_field_is_refused() -> None:
    [st_, *_] = _states()
    made = shape(mapping.open_order(st_), 178, mapping.OPEN_ORDER_OPEN_FIELDS)
    assert made is not None
    values = list(mapping.open_order_values(st_))
    values[-1] = "Sub\0mitted"
    with pytest.raises(EncodeError):
        made.fill(values)


_OPEN_IN_REQUEST = {"order_id", "action", "quantity", "limit_price", "aux_price", "client_id"}


def _other(value: Any) -> list[Any]:
    """Values unlike `value`, of its field's type."""
    if isinstance(value, bool):
        return [not value]
    if isinstance(value, int):
        return [value + 7]
    if isinstance(value, str):
        return [value + "X", "GTC" if value != "GTC" else "DAY"]
    if isinstance(value, Decimal) or value is None:
        return [Decimal("2.5")] if value is None else [value + 1, None]
    if value == ():
        return []  # tuples of legs, params, conditions: other shapes in `_states`
    return []


@pytest.mark.parametrize(
    "name",
    [f.name for f in dataclasses.fields(OrderRequest) if f.name not in _OPEN_IN_REQUEST],
)
def test_the_shape_captures_every_other_field_the_row_reads(name: str) -> None:
    """A request field outside the open ones either changes the shape or leaves the row as
    it was: a field `open_order` starts to read that `open_order_shape` forgets fails here."""
    st_ = _states()[2]

    def normalized(s: OrderState) -> m.OpenOrder:
        row = mapping.open_order(s)
        return dataclasses.replace(row, **{f: getattr(_ROW0, f)
                                           for f in mapping.OPEN_ORDER_OPEN_FIELDS})

    for value in _other(getattr(st_.request, name)):
        if name == "contract":
            continue
        other = dataclasses.replace(st_, request=dataclasses.replace(st_.request,
                                                                     **{name: value}))
        if mapping.open_order_shape(other) == mapping.open_order_shape(st_):
            assert normalized(other) == normalized(st_), (name, value)


_ROW0 = m.OpenOrder()


def test_the_request_contract_exchange_is_part_of_the_shape() -> None:
    st_ = _states()[2]
    contract = dataclasses.replace(st_.request.contract, exchange="ISLAND")
    other = dataclasses.replace(st_, request=dataclasses.replace(st_.request,
                                                                 contract=contract))
    assert mapping.open_order_shape(other) != mapping.open_order_shape(st_)


@pytest.mark.parametrize("version", VERSIONS)
def test_order_statuses_from_the_shape_of_the_row_are_their_rows_encoded(version: int) -> None:
    """orderStatus with every field open: filled with a snapshot's values it is the bytes of
    that snapshot's row, for fills, rests, cancels, trails (no shape where protobuf)."""
    made = shape(m.OrderStatus(), version, mapping.ORDER_STATUS_FIELDS)
    if travels_as_protobuf(Direction.OUT, m.OrderStatus.MSG_ID, version):
        assert made is None
        return
    assert made is not None
    states = _states()
    assert {s.status for s in states} >= {"PreSubmitted", "Submitted", "Filled", "Cancelled"}
    for st_ in states:
        assert made.fill(mapping.order_status_values(st_)) == encode(mapping.order_status(st_),
                                                                     version)


def test_the_status_shape_names_every_field_of_the_row() -> None:
    wire = [f.name for f in dataclasses.fields(m.OrderStatus) if "wire" in f.metadata]
    assert list(mapping.ORDER_STATUS_FIELDS) == wire


def _executions() -> list[Execution]:
    """Executions of stocks, an option, a future and FX, buys and sells, partial and whole,
    with an order ref and a liquidation among them."""
    engine = Engine(seed=3, clock=lambda: 1_700_000_000.0, liquidity=Decimal(4))
    wanted = [("AAPL", "STK", "SMART", "USD", ""), ("MSFT", "STK", "SMART", "USD", "r1"),
              ("ES", "FUT", "CME", "USD", ""), ("EUR", "CASH", "IDEALPRO", "USD", "fx")]
    for i, (symbol, sec_type, exchange, ccy, ref) in enumerate(wanted):
        query = mapping.contract_query(m.RequestContract(
            symbol=symbol, sec_type=sec_type, exchange=exchange, currency=ccy,
            last_trade_date="" if sec_type != "FUT" else engine.match_contracts(
                mapping.contract_query(m.RequestContract(symbol=symbol, sec_type="FUT",
                                                         exchange=exchange, currency=ccy))
            )[0].last_trade_date))
        for j, action in enumerate(("BUY", "SELL", "BUY")):
            engine.place(OrderRequest(client_id=1, order_id=10 * i + j + 1, contract=query,
                                      action=action, quantity=Decimal(10), order_type="MKT",
                                      order_ref=ref))
    for _ in range(3):
        engine.step()
    out = [ex for ex, _ in engine.executions()]
    return [*out, dataclasses.replace(out[0], liquidation=True, order_id=-1, client_id=0)]


@pytest.mark.parametrize("version", VERSIONS)
def test_exec_details_from_the_shape_of_their_contract_are_their_rows_encoded(
    version: int,
) -> None:
    """One shape per version, contract and exchange, made from the first execution there:
    every later execution filled into it is the bytes of its own row (live, reqId -1, and in
    answer to reqExecutions)."""
    times = mapping.TimeFormatter("US/Eastern")
    frames = ShapedFrames(times)
    executions = _executions()
    assert len({ex.contract.con_id for ex in executions}) == 4
    assert len(executions) >= 20
    for ex in executions:
        for req_id in (-1, 7):
            values = mapping.exec_details_values(ex, req_id, times)
            if req_id == -1:  # the dispatcher's way: the row encoded whole where no shape is
                assert frames.exec_details(ex, values, version) == encode(
                    mapping.exec_details(ex, -1, times), version)
                made = None if travels_as_protobuf(
                    Direction.OUT, m.ExecDetails.MSG_ID, version) else frames.exec_details(
                    ex, values, version)
            else:
                first = shape(mapping.exec_details(ex, -1, times), version,
                              mapping.EXEC_DETAILS_OPEN_FIELDS)
                made = None if first is None else first.fill(values)
            if travels_as_protobuf(Direction.OUT, m.ExecDetails.MSG_ID, version):
                assert made is None
                continue
            assert made == encode(mapping.exec_details(ex, req_id, times), version)


def test_exec_details_open_every_field_the_execution_sets_but_its_contract() -> None:
    """Rows of two executions of one contract differ in the open fields alone: a field
    `exec_details` starts to set from the execution that the shape keeps fixed fails here."""
    times = mapping.TimeFormatter("US/Eastern")
    ex = _executions()[0]
    other = dataclasses.replace(
        ex, exec_id="x", perm_id=9, order_id=9, client_id=9, account="DU9", side="SLD",
        shares=Decimal(3), price=Decimal("1.5"), time=ex.time + 3600, cum_qty=Decimal(7),
        avg_price=Decimal("2.5"), order_ref="ref", exchange="ARCA", liquidity=3 - ex.liquidity,
        liquidation=True,
    )
    open_fields = set(mapping.EXEC_DETAILS_OPEN_FIELDS)
    a, b = mapping.exec_details(ex, -1, times), mapping.exec_details(other, 5, times)
    differing = {f.name for f in dataclasses.fields(a) if getattr(a, f.name) != getattr(b, f.name)}
    assert differing - {"contract"} <= open_fields
    assert differing >= open_fields - {"contract"}


@pytest.mark.parametrize("version", VERSIONS)
def test_commission_reports_from_their_shape_are_their_rows_encoded(version: int) -> None:
    """Opening and closing fills (realized PnL unset and set), a commission of zero and
    one of many digits: each frame is the row `commission_report` makes, encoded."""
    frames = ShapedFrames(mapping.TimeFormatter("US/Eastern"))
    engine = Engine(seed=1, accounts=("DU1",))
    query = mapping.contract_query(
        m.RequestContract(symbol="AAPL", sec_type="STK", exchange="SMART", currency="USD"))
    for order_id, action in enumerate(("BUY", "SELL", "SELL", "BUY"), start=1):
        engine.place(OrderRequest(client_id=1, order_id=order_id, contract=query,
                                  action=action, quantity=Decimal(7), order_type="MKT",
                                  account="DU1"))
        engine.step()
    reports = [cr for _, cr in engine.executions()]
    reports += [dataclasses.replace(reports[0], commission=Decimal(0), currency="EUR"),
                dataclasses.replace(reports[-1], commission=Decimal("1.23456789"),
                                    realized_pnl=Decimal("-1E+3"))]
    assert len(reports) >= 6
    assert any(cr.realized_pnl is None for cr in reports)
    assert any(cr.realized_pnl is not None for cr in reports)
    for cr in reports:
        assert frames.commission_report(cr, version) == encode(
            mapping.commission_report(cr), version)


def test_shaped_frames_refuse_a_nul_like_the_encoder() -> None:
    times = mapping.TimeFormatter("US/Eastern")
    ex = dataclasses.replace(_executions()[0], order_ref="a\0b")
    with pytest.raises(EncodeError):
        ShapedFrames(times).exec_details(ex, mapping.exec_details_values(ex, -1, times), 178)
