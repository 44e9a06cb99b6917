"""`record`: the engine's frozen dataclasses with a cheaper __init__, which must accept,
refuse, store and compare exactly as `@dataclass(frozen=True, slots=True)` does."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest

from ibgateway_sim.engine import ContractQuery, OrderRequest
from ibgateway_sim.engine.records import record


def _shapes(deco: Any) -> tuple[type, type]:
    @deco
    class Point:
        x: int
        y: int = 2
        tags: tuple[str, ...] = ()
        items: list[int] = field(default_factory=list)
        hidden: int = field(default=7, init=False)
        label: str = field(default="p", kw_only=True)

    @deco
    class Checked:
        n: int

        def __post_init__(self) -> None:
            if self.n < 0:
                raise ValueError("negative")

    return Point, Checked


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [((1,), {}), ((1, 3), {}), ((1,), {"y": 4, "label": "q"}), ((), {"x": 1, "items": [5]}),
     ((1, 2, ("a",)), {}), ((), {}), ((1, 2, (), [], 9), {}), ((1,), {"hidden": 3}),
     ((1,), {"bogus": 1}), ((1, 2, (), [], "q"), {})],
)
def test_a_record_takes_what_the_dataclass_takes(args: tuple[Any, ...],
                                                 kwargs: dict[str, Any]) -> None:
    (plain, _), (fast, _) = _shapes(dataclass(frozen=True, slots=True)), _shapes(record)

    def outcome(cls: type) -> Any:
        try:
            obj = cls(*args, **kwargs)
        except TypeError:
            return TypeError
        return [getattr(obj, f.name) for f in dataclasses.fields(obj)]

    assert outcome(fast) == outcome(plain)


def test_a_record_is_a_frozen_dataclass() -> None:
    point, checked = _shapes(record)
    p = point(1, items=[3])
    assert type(p) is point and dataclasses.is_dataclass(p)
    assert p == point(1, items=[3]) and hash(checked(1)) == hash(checked(1))
    assert point(1).items is not point(1).items
    assert dataclasses.replace(p, y=5) == point(1, 5, items=[3])
    assert repr(point(1)).endswith("Point(x=1, y=2, tags=(), items=[], hidden=7, label='p')")
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.x = 2  # type: ignore[misc]
    with pytest.raises(ValueError, match="negative"):
        checked(-1)
    assert checked(1).n == 1


def test_the_engine_values_are_records() -> None:
    q = ContractQuery(symbol="AAPL")
    req = OrderRequest(1, 2, q, "BUY", Decimal(1), "MKT")
    assert (req.client_id, req.order_id, req.contract, req.tif) == (1, 2, q, "DAY")
    assert type(req) is OrderRequest and req == dataclasses.replace(req)
    with pytest.raises(dataclasses.FrozenInstanceError):
        req.order_id = 3  # type: ignore[misc]
