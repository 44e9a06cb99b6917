"""`record`: `@dataclass(frozen=True, slots=True)` with an __init__ that costs a plain store
per field.

dataclass's frozen __init__ stores each field with `object.__setattr__` by name, to get past
the frozen `__setattr__`; the engine makes several values per order (its request, a snapshot
per change, the execution and its commission, the ledger's summaries), so that is a cost paid
on every order. A record is the same dataclass (fields, eq, hash, repr, `replace`, the
frozen error) whose __init__, with the same parameters, fills the object as a mutable twin
of its class (the same slots on the same base) and then sets its class back: no caller ever
holds a twin. The way back is a plain store of `__class__` on the twin, cheaper than a call
of `object.__setattr__` (the way in has to be that call: the record's own setattr refuses).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, TypeVar, dataclass_transform

_T = TypeVar("_T")


@dataclass_transform(frozen_default=True)
def record(cls: type[_T]) -> type[_T]:
    """A frozen, slotted dataclass with a cheap __init__ (see the module docstring)."""
    row = dataclass(frozen=True, slots=True)(cls)
    row.__init__ = _init(row)  # type: ignore[method-assign]
    return row


def _twin(row: type) -> type:
    for base in row.__mro__[1:]:
        if base is not object and (
            vars(base).get("__slots__", None) != () or "__setattr__" in vars(base)
        ):
            raise TypeError(f"{row.__name__}: base {base.__name__} is not an empty mixin")
    slots = row.__dict__["__slots__"]
    return type(f"{row.__name__}Unfrozen", row.__bases__, {"__slots__": slots})


def _init(row: type) -> Any:
    env: dict[str, Any] = {
        "MISSING": dataclasses.MISSING,
        "_twin": _twin(row),
        "_row": row,
        "_set_class": object.__setattr__,
    }
    positional: list[str] = []
    keyword: list[str] = []
    body: list[str] = []
    for f in dataclasses.fields(row):
        factory = f.default_factory is not dataclasses.MISSING
        if factory:
            env[f"_make_{f.name}"] = f.default_factory
        if f.default is not dataclasses.MISSING:
            env[f"_default_{f.name}"] = f.default
        if not f.init:
            value = f"_make_{f.name}()" if factory else f"_default_{f.name}"
        elif factory:
            value = f"_make_{f.name}() if {f.name} is MISSING else {f.name}"
        else:
            value = f.name
        if f.init:
            param = (
                f"{f.name}=MISSING"
                if factory
                else f"{f.name}=_default_{f.name}"
                if f.default is not dataclasses.MISSING
                else f.name
            )
            (keyword if f.kw_only else positional).append(param)
        body.append(f"        self.{f.name} = {value}")
    params = ["self", *positional, *(["*", *keyword] if keyword else [])]
    lines = [
        f"def __init__({', '.join(params)}):",
        "    _set_class(self, '__class__', _twin)",
        "    try:",
        *(body or ["        pass"]),
        "    finally:",
        "        self.__class__ = _row",  # the twin's own setattr: no call of a builtin
    ]
    if hasattr(row, "__post_init__"):
        lines.append("    self.__post_init__()")
    exec(compile("\n".join(lines), f"<record {row.__name__}>", "exec"), env)
    init = env["__init__"]
    init.__qualname__ = f"{row.__qualname__}.__init__"
    return init
