"""ib_async's `Decoder.parse`, the same conversions without `dataclasses.fields` per object.

ib_async decodes every openOrder, execDetails and contract-details message into dataclasses
whose fields arrive as strings, then `parse()` converts each int, float and bool field by its
default's type, walking `dataclasses.fields(obj)` (a filtered scan of ~140 fields for an
Order) for every object: two openOrders per order made it ~35 us of each order's decoding.
`fast_parse` reads the same (name, type, default) table, made once per class, and converts
term for term as ib_async does. It is installed on the venue's own decoder only.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ib_async.decoder import Decoder

_CONVERTED = (int, float, bool)


_TABLES: dict[type, tuple[tuple[str, type, Any], ...]] = {}


def _conversions(cls: type) -> tuple[tuple[str, type, Any], ...]:
    """The fields ib_async's parse converts: those whose default is an int, float or bool
    (a str is left as is, and so is a field made by a default factory). Made once a class."""
    table = _TABLES.get(cls)
    if table is None:
        table = _TABLES[cls] = tuple(
            (f.name, type(f.default), f.default)
            for f in dataclasses.fields(cls)
            if type(f.default) in _CONVERTED
        )
    return table


def fast_parse(obj: Any) -> None:
    """Exactly `Decoder.parse(obj)`: each int / float / bool field converted from its string,
    an empty one set to the field's default."""
    for name, typ, default in _conversions(type(obj)):
        v = getattr(obj, name)
        if typ is int:
            setattr(obj, name, int(v) if v else default)
        elif typ is float:
            setattr(obj, name, float(v) if v else default)
        else:
            setattr(obj, name, bool(int(v)) if v else default)


def install(decoder: Decoder) -> None:
    """Use `fast_parse` on this decoder (its handlers call ``self.parse``); others keep
    ib_async's."""
    decoder.parse = fast_parse  # type: ignore[method-assign]
