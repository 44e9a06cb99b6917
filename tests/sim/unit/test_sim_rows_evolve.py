"""`messages.evolver`: a row's copy with some fields over it, compiled for those fields, is
what `dataclasses.replace` makes."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ibgateway_sim.wire import messages as m
from tests.sim.strategies import any_message, row


@settings(max_examples=300, deadline=None)
@given(any_message(), st.data())
def test_an_evolver_is_replace(pair: tuple[m.Message, int], data: st.DataObject) -> None:
    msg, version = pair
    names = [f.name for f in dataclasses.fields(msg)]  # type: ignore[arg-type]
    chosen = tuple(data.draw(st.lists(st.sampled_from(names), unique=True)) if names else ())
    other = data.draw(row(type(msg), version))
    values = {n: getattr(other, n) for n in chosen}
    made = m.evolver(type(msg), chosen)(msg, **values)
    assert made == dataclasses.replace(msg, **values)  # type: ignore[type-var]
    assert type(made) is type(msg)
    if names:  # as frozen as the row
        with pytest.raises(dataclasses.FrozenInstanceError):
            made.__setattr__(names[0], None)


def test_an_evolver_of_no_such_field_is_refused() -> None:
    with pytest.raises(TypeError, match="no field"):
        m.evolver(m.OpenOrder, ("status", "no_such_field"))
