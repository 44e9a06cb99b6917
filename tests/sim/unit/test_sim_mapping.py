"""The pure mapping between engine values and wire rows."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from ibgateway_sim.engine import AccountValue, ContractSpec, Engine, OrderRequest
from ibgateway_sim.gateway import mapping
from ibgateway_sim.wire import messages as m
from ibgateway_sim.wire.codec import encode_fields

JAN_15_1430_UTC = dt.datetime(2025, 1, 15, 14, 30, 1, tzinfo=dt.UTC).timestamp()


def test_times_are_formatted_as_tws_sends_them() -> None:
    utc, eastern = mapping.TimeFormatter("UTC"), mapping.TimeFormatter("US/Eastern")
    assert utc.stamp(JAN_15_1430_UTC) == "20250115 14:30:01 UTC"
    assert eastern.stamp(JAN_15_1430_UTC) == "20250115 09:30:01 US/Eastern"
    assert eastern.connection_time(JAN_15_1430_UTC) == "20250115 09:30:01 EST"
    assert eastern.hhmm(JAN_15_1430_UTC) == "09:30"


def test_stamps_made_once_per_second_read_as_fresh_ones() -> None:
    """A formatter keeps the last second it stamped; any time, in any order, still reads as
    a formatter that never stamped anything before would write it."""
    dst_end = dt.datetime(2025, 11, 2, 5, 59, 59, tzinfo=dt.UTC).timestamp()
    times = [JAN_15_1430_UTC + d for d in (0, 0.25, 0.9989, 0.9995, 0.9999996, 1, 1.5, 0.5)]
    times += [dst_end + d for d in (0, 0.5, 1, 1.2, 3600, 3600.7, 0.1)] + [-1.5, -1.2, 0.0]
    for zone, form in (("UTC", "zone"), ("US/Eastern", "zone"), ("US/Eastern", "utc")):
        kept = mapping.TimeFormatter(zone, form)
        for t in times:
            fresh = mapping.TimeFormatter(zone, form)
            assert kept.stamp(t) == fresh.stamp(t), (zone, t)
            assert kept.exec_stamp(t) == fresh.exec_stamp(t), (zone, form, t)


def test_zero_strike_means_not_given() -> None:
    zero = m.RequestContract(symbol="AAPL", strike=Decimal("0.0"))
    assert mapping.contract_query(zero).strike is None
    assert mapping.contract_query(m.RequestContract(strike=Decimal(180))).strike == 180


def test_place_order_fields_reach_the_engine_request() -> None:
    msg = m.PlaceOrder(order_id=9, action="SELL", total_quantity=Decimal(3), order_type="TRAIL",
                       aux_price=Decimal(2), trailing_percent=None, tif="GTD",
                       good_till_date="20991231 16:00:00 US/Eastern", oca_group="G", oca_type=2,
                       parent_id=4, transmit=False, fa_group="All", what_if=True,
                       lmt_price_offset=Decimal("0.1"))
    req = mapping.order_request(msg, client_id=3)
    assert (req.client_id, req.order_id, req.action, req.quantity) == (3, 9, "SELL", 3)
    assert (req.aux_price, req.tif, req.good_till_date) == (2, "GTD", msg.good_till_date)
    assert (req.oca_group, req.oca_type, req.parent_id, req.transmit) == ("G", 2, 4, False)
    assert (req.fa_group, req.what_if, req.limit_price_offset) == ("All", True, Decimal("0.1"))


def test_summary_selects_plain_tags_in_base_and_the_ledger_on_request() -> None:
    values = [AccountValue("DU1", "NetLiquidation", "100.00", "USD"),
              AccountValue("DU1", "AccountType", "INDIVIDUAL", ""),
              AccountValue("DU1", "CashBalance", "100.00", "BASE"),
              AccountValue("DU1", "CashBalance", "90.00", "USD"),
              AccountValue("DU1", "CashBalance", "10.00", "EUR")]
    assert mapping.summary_rows(values, "NetLiquidation,AccountType") == [
        ("NetLiquidation", "100.00", "USD"), ("AccountType", "INDIVIDUAL", "")]
    assert mapping.summary_rows(values, "$LEDGER") == [("CashBalance", "100.00", "BASE")]
    assert mapping.summary_rows(values, "$LEDGER:EUR") == [("CashBalance", "10.00", "EUR")]
    assert len(mapping.summary_rows(values, "$LEDGER:ALL")) == 3


def test_engine_states_become_well_formed_rows() -> None:
    engine = Engine(seed=1, clock=lambda: JAN_15_1430_UTC)
    query = mapping.contract_query(m.RequestContract(symbol="AAPL", sec_type="STK",
                                                exchange="SMART", currency="USD"))
    events = engine.place(OrderRequest(client_id=1, order_id=5, contract=query, action="BUY",
                                       quantity=Decimal(10), order_type="MKT"))
    states = [e.order for e in events if hasattr(e, "order")]
    (execution, commission) = engine.executions()[0]
    rows: list[m.Message] = [mapping.open_order(states[-1]), mapping.order_status(states[-1]),
                             mapping.exec_details(execution, -1, mapping.TimeFormatter("UTC")),
                             mapping.commission_report(commission),
                             mapping.completed_order(states[-1], mapping.TimeFormatter("UTC"), 0.0)]
    for row in rows:
        assert encode_fields(row)  # encodable at the top version
    open_order, status, details, report, completed = rows
    assert isinstance(open_order, m.OpenOrder) and open_order.status == "Filled"
    assert open_order.contract.exchange == "SMART" and open_order.delta_neutral_order_type == "None"
    assert isinstance(status, m.OrderStatus) and status.filled == 10 and status.remaining == 0
    assert isinstance(details, m.ExecDetails) and details.time == "20250115 14:30:01 UTC"
    assert details.contract.exchange == "ISLAND" and details.perm_id == status.perm_id
    assert isinstance(report, m.CommissionReport) and report.realized_pnl is None
    assert isinstance(completed, m.CompletedOrder)
    assert completed.completed_time == "20250115 14:30:01 UTC"


def test_what_if_answer_carries_numeric_margins() -> None:
    engine = Engine(seed=1)
    query = mapping.contract_query(m.RequestContract(symbol="AAPL", sec_type="STK",
                                                exchange="SMART", currency="USD"))
    (event,) = engine.place(OrderRequest(client_id=1, order_id=5, contract=query, action="BUY",
                                         quantity=Decimal(10), order_type="MKT", what_if=True))
    row = mapping.open_order(event.order)  # type: ignore[union-attr]
    assert row.what_if and float(row.init_margin_change) > 0  # ib_async calls float() on it


def test_an_open_order_made_again_is_the_one_made_afresh() -> None:
    """Every snapshot of orders that fill, rest, trail, are modified and cancelled: the row
    re-made from the previous snapshot's row is the row `open_order` makes, byte for byte."""
    engine = Engine(seed=1, clock=lambda: JAN_15_1430_UTC)
    query = mapping.contract_query(m.RequestContract(symbol="AAPL", sec_type="STK",
                                                exchange="SMART", currency="USD"))

    def order(order_id: int, **kw: object) -> OrderRequest:
        return OrderRequest(client_id=1, order_id=order_id, contract=query, action="BUY",
                            quantity=Decimal(10), **kw)  # type: ignore[arg-type]

    events = [
        *engine.place(order(1, order_type="MKT")),
        *engine.place(order(2, order_type="LMT", limit_price=Decimal(1))),
        *engine.place(order(2, order_type="LMT", limit_price=Decimal(2))),
        *engine.place(order(3, order_type="TRAIL", aux_price=Decimal(1))),
        *engine.place(order(4, order_type="LMT", limit_price=Decimal(1), what_if=True)),
        *engine.cancel(1, 2),
        *engine.cancel(1, 3),
    ]
    states = [e.order for e in events if hasattr(e, "order")]
    assert len(states) >= 8
    for was in states:
        for st in states:
            again = mapping.open_order_again(st, was, mapping.open_order(was))
            if was.order_id == st.order_id:
                assert again == mapping.open_order(st)
                assert encode_fields(again) == encode_fields(mapping.open_order(st))


def test_trading_hours_come_from_the_session_calendar_for_every_kind() -> None:
    import datetime as dt
    import re

    from ibgateway_sim.engine.sessions import calendar_for
    from ibgateway_sim.engine.universe import builtin_universe
    from ibgateway_sim.gateway.mapping import contract_data

    friday = dt.datetime(2024, 7, 19, 12, tzinfo=dt.UTC).timestamp()
    entry = re.compile(r"\d{8}:(CLOSED|\d{4}-\d{8}:\d{4})")
    kinds: dict[str, ContractSpec] = {}
    for spec in builtin_universe():
        kinds.setdefault(spec.sec_type, spec)
    for spec in kinds.values():
        row = contract_data(spec, 1, friday)
        calendar = calendar_for(spec, True)
        zone = ZoneInfo(spec.time_zone_id)
        for text, rth in ((row.trading_hours, False), (row.liquid_hours, True)):
            parts = text.split(";")
            assert len(parts) >= 6 and all(entry.fullmatch(p) for p in parts), text
            assert "20240720:CLOSED" in parts  # Saturday
            for part in parts:
                if part.endswith("CLOSED"):
                    continue
                start = dt.datetime.strptime(part[:13], "%Y%m%d:%H%M").replace(tzinfo=zone)
                assert calendar.is_open(start.timestamp(), rth)  # the session clock agrees
                assert not calendar.is_open(start.timestamp() - 60, rth)


def test_a_session_opening_the_evening_before_lists_that_evening_not_closed() -> None:
    from ibgateway_sim.engine.sessions import CME, hours_fields

    trading, liquid = hours_fields(CME, "US/Central", dt.date(2024, 7, 19))  # a Friday
    assert trading.split(";")[:3] == [
        "20240718:1700-20240719:1600", "20240720:CLOSED", "20240721:1700-20240722:1600",
    ]
    assert liquid.split(";")[:3] == [
        "20240719:0830-20240719:1500", "20240720:CLOSED", "20240722:0830-20240722:1500",
    ]


def test_a_contract_block_is_made_once_per_instrument_and_exchange() -> None:
    """The kept block is the block made afresh; another exchange, or another spec of the same
    conId (a universe rebuilt), gets its own."""
    engine = Engine(seed=1, clock=lambda: JAN_15_1430_UTC)
    query = mapping.contract_query(m.RequestContract(symbol="AAPL", sec_type="STK",
                                                exchange="SMART", currency="USD"))
    [spec] = engine.match_contracts(query)
    first = mapping.reply_contract(spec, "SMART")
    assert first is mapping.reply_contract(spec, "SMART")
    made_afresh = mapping.reply_contract(dataclasses.replace(spec), "SMART")  # an equal spec
    assert made_afresh == first and made_afresh is not first
    assert (first.con_id, first.symbol, first.local_symbol) == (
        spec.con_id, spec.symbol, spec.local_symbol)
    elsewhere = mapping.reply_contract(spec, "ISLAND")
    assert elsewhere.exchange == "ISLAND" and first.exchange == "SMART"
    renamed = dataclasses.replace(spec, local_symbol="AAPL2")
    assert mapping.reply_contract(renamed, "SMART").local_symbol == "AAPL2"
    assert mapping.reply_contract(spec, "SMART").local_symbol == spec.local_symbol
