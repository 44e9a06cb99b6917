"""Instances of ib_async's dataclasses equal to ``cls()``, made without their __init__.

An Order is 139 fields: its dataclass __init__ costs ~5 us, a copy of its defaults ~1 us, and
the venue makes one per submit and ib_async's decoder one per openOrder (with a Contract and an
OrderState). The defaults are shared as the __init__ shares them; each default_factory (a list,
the SoftDollarTier) is called afresh for every instance.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import MISSING
from typing import Any


def blank_maker(cls: type) -> Callable[[], Any]:
    """A maker of instances equal to ``cls()``, its ``__dict__`` in the same order: what the
    dataclass __init__ does (each default shared, each default_factory called) without it.
    Only for a dataclass whose every field takes a default and has no __post_init__."""
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__} has a __post_init__ its instances depend on")
    fields = dataclasses.fields(cls)
    if any((f.default is MISSING and f.default_factory is MISSING) or not f.init for f in fields):
        raise TypeError(f"{cls.__name__}() does not make every field from a default")
    # a plain dict, read-only by convention: dict.update from a mappingproxy has no fast path
    template = {f.name: None if f.default is MISSING else f.default for f in fields}
    fresh: tuple[tuple[str, Callable[[], Any]], ...] = tuple(
        (f.name, f.default_factory)  # type: ignore[misc]
        for f in fields
        if f.default is MISSING
    )
    new = object.__new__

    def make() -> Any:
        obj: Any = new(cls)
        values = obj.__dict__
        values.update(template)
        for name, factory in fresh:
            values[name] = factory()
        return obj

    return make
