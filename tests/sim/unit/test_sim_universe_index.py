"""The contract index answers exactly what a scan of the whole universe answers."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from ibgateway_sim.engine import ContractQuery
from ibgateway_sim.engine.universe import ContractIndex, builtin_universe, match_all

UNIVERSE = builtin_universe()
INDEX = ContractIndex(UNIVERSE)


def _scan(query: ContractQuery) -> list[int]:
    return sorted(s.con_id for s in match_all(query, UNIVERSE))


def _spelled(text: str) -> st.SearchStrategy[str]:
    """A field as clients spell it: as listed, lower case, padded, or something else."""
    return st.sampled_from([text, text.lower(), f" {text} ", "", "X"])


@st.composite
def queries(draw: st.DrawFn) -> ContractQuery:
    """Queries made from a listed instrument's own fields, some of them respelled or dropped."""
    spec = draw(st.sampled_from(UNIVERSE))
    return ContractQuery(
        con_id=draw(st.sampled_from([0, 0, 0, spec.con_id, 1])),
        symbol=draw(_spelled(spec.symbol)),
        sec_type=draw(_spelled(spec.sec_type)),
        last_trade_date=draw(st.sampled_from(["", spec.last_trade_date, spec.last_trade_date[:6]])),
        strike=draw(st.sampled_from([None, Decimal(0), spec.strike])),
        right=draw(st.sampled_from(["", spec.right, "CALL", "PUT"])),
        exchange=draw(st.sampled_from(["", spec.exchange, "SMART", "ISLAND", "GLOBEX"])),
        currency=draw(_spelled(spec.currency)),
        local_symbol=draw(_spelled(spec.local_symbol)),
    )


@settings(max_examples=400, deadline=None)
@given(queries())
def test_index_matches_what_a_full_scan_matches(query: ContractQuery) -> None:
    assert [s.con_id for s in INDEX.match(query)] == _scan(query)


def test_local_symbol_alone_finds_an_option_by_its_occ_name() -> None:
    option = next(s for s in UNIVERSE if s.sec_type == "OPT")
    query = ContractQuery(local_symbol=option.local_symbol.replace(" ", "").lower())
    assert INDEX.match(query) == [option]


@settings(max_examples=200, deadline=None)
@given(queries())
def test_a_remembered_answer_is_the_answer_again(query: ContractQuery) -> None:
    first = INDEX.match(query)
    first.append(UNIVERSE[0])  # what a caller does to its list is not remembered
    assert [s.con_id for s in INDEX.match(query)] == _scan(query)


def test_re_adding_a_con_id_replaces_the_old_instrument() -> None:
    index = ContractIndex(UNIVERSE)
    aapl = next(s for s in UNIVERSE if s.symbol == "AAPL" and s.sec_type == "STK")
    renamed = dataclasses.replace(aapl, symbol="APPL")
    assert index.match(ContractQuery(symbol="AAPL", sec_type="STK")) == [aapl]
    assert index.match(ContractQuery(symbol="APPL", sec_type="STK")) == []
    index.add(renamed)
    assert index.match(ContractQuery(symbol="APPL", sec_type="STK")) == [renamed]
    assert index.match(ContractQuery(symbol="AAPL", sec_type="STK")) == []
    assert len(index) == len(UNIVERSE)
