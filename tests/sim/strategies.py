"""Shared hypothesis strategies.

`any_message()` draws any row of the simulator's spec table with field values that are
consistent with the wire: fields outside the version window or whose presence condition is
false keep their defaults (the wire cannot carry them), everything else is drawn.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from ibgateway_sim.wire.codec import MAX_VERSION, MIN_VERSION
from ibgateway_sim.wire.messages import (
    SPECS,
    Direction,
    Kind,
    Message,
    OrderCondition,
)

# Printable ASCII without NUL: both clients keep text ASCII (ibapi decodes unicode-escape).
texts = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=12)
ints = st.integers(min_value=-(2**31) + 1, max_value=2**31 - 2)
prices = st.decimals(
    min_value=Decimal("-1e9"),
    max_value=Decimal("1e9"),
    allow_nan=False,
    allow_infinity=False,
    places=6,
)
quantities = st.decimals(min_value=Decimal(0), max_value=Decimal("1e9"), places=4)
versions = st.integers(min_value=MIN_VERSION, max_value=MAX_VERSION)

_SCALARS: dict[Kind, st.SearchStrategy[Any]] = {
    Kind.STR: texts,
    Kind.INT: ints,
    Kind.OPT_INT: st.none() | ints.filter(lambda i: i != 2**31 - 1),
    Kind.DEC: st.none() | prices,
    Kind.DEC_MAX: st.none() | prices,
    Kind.BOOL: st.booleans(),
    Kind.OPT_BOOL: st.none() | st.booleans(),
}
# Fields whose value steers a conditional block: draw the interesting values often.
_STEERING: dict[str, st.SearchStrategy[Any]] = {
    "sec_type": st.sampled_from(["STK", "OPT", "FUT", "CASH", "BAG"]),
    "exchange": st.sampled_from(["SMART", "IBKRATS", "CME"]) | texts,
    "order_type": st.sampled_from(
        ["MKT", "LMT", "STP", "STP LMT", "TRAIL", "PEG BENCH", "PEG BEST", "PEG MID"]
    ),
    "delta_neutral_order_type": st.sampled_from(["", "None", "LMT"]),
    "hedge_type": st.sampled_from(["", "D"]),
    "algo_strategy": st.sampled_from(["", "Adaptive"]),
    "scale_price_increment": st.none() | st.sampled_from([Decimal(0), Decimal("0.05")]),
    "compete_against_best_offset": st.none() | st.just(Decimal("Infinity")) | prices,
}


def _conditions(arity: dict[int, int]) -> st.SearchStrategy[tuple[OrderCondition, ...]]:
    one = st.sampled_from(sorted(arity)).flatmap(
        lambda tag: st.tuples(*([texts] * arity[tag])).map(
            lambda values: OrderCondition(cond_type=tag, values=values)
        )
    )
    return st.lists(one, max_size=2).map(tuple)


@st.composite
def row(draw: st.DrawFn, cls: type, version: int) -> Any:
    """Draw one instance of row `cls` as it can exist on the wire at `version`."""
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        spec = f.metadata.get("wire")
        if spec is None:
            continue
        if not spec.since <= version < spec.until:
            continue
        if spec.when is not None and not spec.when(values):
            continue
        kind = spec.kind
        if kind is Kind.STRUCT:
            value = draw(row(spec.item, version))
        elif kind is Kind.GROUP:
            value = tuple(draw(st.lists(row(spec.item, version), max_size=2)))
        elif kind is Kind.FLAGGED:
            value = draw(st.none() | row(spec.item, version))
        elif kind is Kind.TAGGED:
            value = draw(_conditions(dict(spec.arity)))
        elif f.name in _STEERING:
            value = draw(_STEERING[f.name])
        else:
            value = draw(_SCALARS[kind])
        values[f.name] = value
    return cls(**values)


def any_message(
    direction: Direction | None = None, version: int | None = None
) -> st.SearchStrategy[tuple[Message, int]]:
    """(message, version) pairs over every row of the table (optionally one direction)."""
    classes = sorted(
        (cls for (d, _), cls in SPECS.items() if direction is None or d is direction),
        key=lambda c: (c.DIRECTION.value, c.MSG_ID),
    )
    version_st = st.just(version) if version is not None else versions
    return st.tuples(st.sampled_from(classes), version_st).flatmap(
        lambda cv: st.tuples(row(cv[0], cv[1]), st.just(cv[1]))
    )
