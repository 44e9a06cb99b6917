"""ib_async's reprs, the same text at a fraction of the cost.

ib_async formats whole objects into its log lines with f-strings (``f"orderStatus: {trade}"``
on every status, ``f"placeOrder: New order {trade}"`` on every placement), so the text is built
whether or not any handler will ever see it. A Trade's repr costs ~50 us, two thirds of it the
Order's: ``util.dataclassNonDefaults`` walks the 139 fields twice through
``dataclasses.fields``. Three of them per order made ib_async's logging the largest single
cost of a submit. `HorizonOrder` and `HorizonContract` are ib_async's Order and Contract
(subclasses, the same fields) whose repr is exactly ib_async's text, computed from a table of the
fields' defaults made once. The venue builds its orders as HorizonOrder and keeps qualified
contracts as HorizonContract, so every Trade and Fill of its own formats at a third of the cost.
HorizonOrder also keeps its container fields in slots: see its docstring.
"""

from __future__ import annotations

import dataclasses
import operator
from itertools import compress
from typing import Any, Final

from ib_async import Contract, Order

from horizon.venues.ibkr.mapping.blanks import slotted_fields


class _Fields:
    """One dataclass's field names and defaults, and a reader of all its values at once.

    The fields the class keeps in slots rather than in ``__dict__`` are read as attributes,
    the rest from the dict, and put back in field order."""

    def __init__(self, cls: type) -> None:
        fields = dataclasses.fields(cls)
        slots = tuple(slotted_fields(cls))
        self.names: Final = tuple(f.name for f in fields)
        self.defaults: Final = tuple(f.default for f in fields)
        in_dict = tuple(name for name in self.names if name not in slots)
        self._from_dict: Final = operator.itemgetter(*in_dict)
        self._from_slots: Final = operator.attrgetter(*slots) if slots else None
        read = in_dict + slots  # the order the two getters give, then back to field order
        self._in_order: Final = operator.itemgetter(*(read.index(name) for name in self.names))

    def values(self, obj: object) -> tuple[Any, ...]:
        try:
            if self._from_slots is None:
                return self._from_dict(obj.__dict__)  # type: ignore[no-any-return]
            slotted = self._from_slots(obj)
            return self._in_order(self._from_dict(obj.__dict__) + slotted)  # type: ignore[no-any-return]
        except (KeyError, AttributeError):  # a field deleted from the instance: as ib_async
            return tuple(getattr(obj, name) for name in self.names)

    def non_defaults(self, values: tuple[Any, ...]) -> list[tuple[str, Any]]:
        """(name, value) of the fields `util.dataclassNonDefaults` keeps, in field order.

        A value that *is* its default cannot pass that filter (``value != default`` is False,
        or it is NaN and ``value == value`` is); the identity test in C leaves the dozen fields
        an order sets for the full test below, which is ib_async's own, term for term.
        """
        defaults = self.defaults
        changed = compress(
            zip(self.names, defaults, values, strict=True), map(operator.is_not, values, defaults)
        )
        return [
            (name, value)
            for name, default, value in changed
            if value is not None
            and value != default
            and value == value  # noqa: PLR0124 - ib_async's NaN test, kept term for term
            and not (
                (isinstance(value, list) and value == [])
                or (isinstance(value, dict) and value == {})
            )
        ]


# an Order's fields whose defaults are containers (each instance its own, from a factory)
ORDER_CONTAINERS: Final = tuple(
    f.name for f in dataclasses.fields(Order) if f.default is dataclasses.MISSING
)
_CONTRACT: Final = _Fields(Contract)


class HorizonOrder(Order):
    """An ib_async Order; its repr (and str) is ``Order``'s, made without dataclasses.fields.

    Its six container fields (five lists and the SoftDollarTier) live in slots, so the
    instance's ``__dict__`` holds only atomic values (str, int, float, bool, None, Decimal):
    the garbage collector untracks such a dict, and no full collection visits its ~133
    values again for as long as the order rests (~1.5 us an order, each collection). An
    Order's dict holds the lists, so every collection walks all 139. The fields read, write,
    copy and compare as on an Order; only ``vars()`` no longer lists those six.
    """

    __slots__ = ORDER_CONTAINERS

    def __repr__(self) -> str:
        items = _ORDER.non_defaults(_ORDER.values(self))
        if not self.softDollarTier:
            items = [(k, v) for k, v in items if k != "softDollarTier"]
        return "Order(" + ", ".join(f"{k}={v!r}" for k, v in items) + ")"

    __str__ = __repr__


_ORDER: Final = _Fields(HorizonOrder)  # its slotted fields found on the class


class HorizonContract(Contract):
    """An ib_async Contract; its repr (and str) is ``Contract``'s, made the same way.

    A qualified contract does not change, and ib_async formats it into every Trade and Fill
    it logs (a Trade's repr holds its fills, each with the contract), so the text is kept with
    the values it was made from and reused while every value is still the same object. Only
    when it holds nothing mutable (no combo legs, no delta-neutral contract): an edit in place
    of those would not show in the values. The slot keeps the cache out of ``vars()``.
    """

    __slots__ = ("_repr_of",)
    _repr_of: tuple[tuple[Any, ...], str]

    def __repr__(self) -> str:
        values = _CONTRACT.values(self)
        try:
            seen, text = self._repr_of
        except AttributeError:
            pass
        else:
            if all(map(operator.is_, values, seen)) and not self.comboLegs:
                return text
        items = _CONTRACT.non_defaults(values)
        text = "Contract(" + ", ".join(f"{k}={v!r}" for k, v in items) + ")"
        if not self.comboLegs and self.deltaNeutralContract is None:
            self._repr_of = (values, text)
        return text

    __str__ = __repr__


def horizon_contract(contract: Contract) -> Contract:
    """A plain Contract (what ib_async's contract details carry) as a HorizonContract with the
    same fields; any other class (Stock, Option, ... whose reprs differ) is returned as is."""
    if type(contract) is not Contract:
        return contract
    fast = object.__new__(HorizonContract)
    fast.__dict__.update(contract.__dict__)
    return fast
