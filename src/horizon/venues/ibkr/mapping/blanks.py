"""Instances of ib_async's dataclasses equal to ``cls()``, made without their __init__.

An Order is 139 fields: its dataclass __init__ costs ~5 us, a copy of its defaults ~1 us, and
the venue makes one per submit and ib_async's decoder one per openOrder (with a Contract and an
OrderState). The defaults are shared as the __init__ shares them; each default_factory (a list,
the SoftDollarTier) is called afresh for every instance, and stored in the slot when the class
keeps that field in one (HorizonOrder does), else in ``__dict__``.
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Callable
from dataclasses import MISSING
from typing import Any


def slotted_fields(cls: type) -> dict[str, types.MemberDescriptorType]:
    """The dataclass fields `cls` keeps in slots rather than in ``__dict__`` (a subclass can:
    its slot's descriptor comes first), each with that descriptor, in field order."""
    return {
        f.name: slot
        for f in dataclasses.fields(cls)
        if isinstance(slot := getattr(cls, f.name, None), types.MemberDescriptorType)
    }


def blank_maker(cls: type) -> Callable[[], Any]:
    """A maker of instances equal to ``cls()``, its ``__dict__`` in the same order: what the
    dataclass __init__ does (each default shared, each default_factory called) without it.
    Only for a dataclass whose every field takes a default and has no __post_init__; a field
    a subclass keeps in a slot must be one made by a default_factory."""
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__} has a __post_init__ its instances depend on")
    fields = dataclasses.fields(cls)
    if any((f.default is MISSING and f.default_factory is MISSING) or not f.init for f in fields):
        raise TypeError(f"{cls.__name__}() does not make every field from a default")
    # a plain dict, read-only by convention: dict.update from a mappingproxy has no fast path
    slots = slotted_fields(cls)
    if any(f.default is not MISSING for f in fields if f.name in slots):
        raise TypeError(f"{cls.__name__} keeps a field with a plain default in a slot")
    template = {f.name: None if f.default is MISSING else f.default
                for f in fields if f.name not in slots}  # fmt: skip
    fresh: tuple[tuple[str, Callable[[], Any]], ...] = tuple(
        (f.name, f.default_factory)  # type: ignore[misc]
        for f in fields
        if f.default is MISSING and f.name not in slots
    )
    slotted: tuple[tuple[Callable[[Any, Any], None], Callable[[], Any]], ...] = tuple(
        (slots[f.name].__set__, f.default_factory)  # type: ignore[misc]
        for f in fields
        if f.name in slots
    )
    new = object.__new__

    def make() -> Any:
        obj: Any = new(cls)
        values = obj.__dict__
        values.update(template)
        for name, factory in fresh:
            values[name] = factory()
        for put, factory in slotted:
            put(obj, factory())
        return obj

    return make
