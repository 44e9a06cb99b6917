"""Answer shapes compared kind by kind: presence, field counts, field shapes (not values)."""

from __future__ import annotations

from decimal import Decimal

from horizon.tap.shape import Sample, compare, render, shapes_of
from horizon.venues.ibkr.simulator import messages as m


def sample(msg: m.Message, count: int = 0) -> Sample:
    return Sample(type(msg).__name__, count or 6, msg, 178)


def summary(value: str) -> Sample:
    return sample(m.AccountSummary(req_id=1, account="DU1", tag="NetLiquidation", value=value))


def test_a_field_shape_is_its_kind_not_its_value() -> None:
    shapes = dict(shapes_of(m.OrderStatus(order_id=6, status="Filled", filled=Decimal(10),
                                          avg_fill_price=None), 178))
    assert shapes["order_id"] == "int" and shapes["status"] == "text"
    assert shapes["filled"] == "decimal" and shapes["avg_fill_price"] == "unset"
    assert shapes["why_held"] == "empty"
    nested = dict(shapes_of(m.ContractData(sec_id_list=(m.TagValue(tag="ISIN", value="US1"),)),
                            178))
    assert nested["sec_id_list"] == "list" and nested["sec_id_list[].tag"] == "text"


def test_same_kinds_and_shapes_match_whatever_the_values_and_counts() -> None:
    report = compare([summary("100.00"), summary("5")], [summary("99.10")])
    assert report.ok and [(k.name, k.recorded, k.live) for k in report.kinds] == [
        ("AccountSummary", 2, 1)]


def test_a_kind_on_one_side_only_is_missing() -> None:
    report = compare([summary("1"), sample(m.PositionEnd(), 2)], [summary("1"),
                                                                   sample(m.OpenOrderEnd(), 2)])
    assert not report.ok
    assert [(k.name, k.missing) for k in report.differences()] == [
        ("PositionEnd", "live"), ("OpenOrderEnd", "recorded")]


def test_field_counts_and_field_shapes_are_differences() -> None:
    longer = Sample("AccountSummary", 7, summary("1").message, 178)
    report = compare([summary("1")], [longer])
    [kind] = report.differences()
    assert kind.counts_differ and (kind.recorded_counts, kind.live_counts) == ({6}, {7})
    report = compare([summary("1000.00")], [summary("one thousand")])
    [kind] = report.differences()
    assert [(d.field, d.recorded, d.live) for d in kind.fields] == [
        ("value", {"numeric text"}, {"text"})]


def test_unset_beside_a_value_is_no_difference_but_never_filled_is() -> None:
    filled = sample(m.OrderStatus(order_id=1, avg_fill_price=Decimal("1.5")))
    unset = sample(m.OrderStatus(order_id=1, avg_fill_price=None))
    assert compare([filled, unset], [filled]).ok
    [kind] = compare([filled], [unset]).differences()
    assert [d.field for d in kind.fields] == ["avg_fill_price"]


def test_the_report_reads_as_a_line_per_kind() -> None:
    report = compare([summary("1000.00"), sample(m.PositionEnd(), 2)], [summary("x")])
    text = render(report, live="simulated")
    assert "  DIFF    AccountSummary  1 recorded, 1 simulated" in text
    assert "value: numeric text recorded, text simulated" in text
    assert "MISSING PositionEnd" in text and "never sent by the simulated side" in text
