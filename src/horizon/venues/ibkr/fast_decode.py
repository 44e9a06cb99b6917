"""ib_async's `Decoder.parse`, the same conversions without `dataclasses.fields` per object.

ib_async decodes every openOrder, execDetails and contract-details message into dataclasses
whose fields arrive as strings, then `parse()` converts each int, float and bool field by its
default's type, walking `dataclasses.fields(obj)` (a filtered scan of ~140 fields for an
Order) for every object: two openOrders per order made it ~35 us of each order's decoding.
`fast_parse` reads the same (name, type, default) table, made once per class, and converts
term for term as ib_async does, in a function compiled once per class. Position messages get
a handler of their own, and so do open orders (both below). All three are installed on the
venue's own decoder only.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from types import FunctionType, MethodType
from typing import Any, Final

from ib_async import Contract, Order, OrderState, Position
from ib_async import decoder as decoder_module
from ib_async.decoder import Decoder

from horizon.venues.ibkr.mapping.blanks import blank_maker

_CONVERTED = (int, float, bool)
POSITION_DATA: Final = 61  # the incoming message id of a position (ibapi's IN.POSITION_DATA)
OPEN_ORDER: Final = 5  # the incoming message id of an open order (ibapi's IN.OPEN_ORDER)


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


def _parse_by_name(obj: Any) -> None:
    """`Decoder.parse`'s loop, for an object that lacks a field in its ``__dict__``."""
    for name, typ, default in _conversions(type(obj)):
        v = getattr(obj, name)
        if typ is int:
            setattr(obj, name, int(v) if v else default)
        elif typ is float:
            setattr(obj, name, float(v) if v else default)
        else:
            setattr(obj, name, bool(int(v)) if v else default)


PARSER_FILE: Final = "fast_decode.parse"
_CONVERSION_TEXT: Final = {int: "int(v)", float: "float(v)", bool: "bool(int(v))"}
_PARSERS: dict[type, Callable[[Any], None]] = {}


def _compiled(cls: type) -> Callable[[Any], None]:
    """One function for the class: a statement per converted field on the instance's
    ``__dict__``, no loop, no getattr/setattr calls (an Order's 90 fields: ~28 -> ~11 us).
    The defaults are the function's globals, so any value (NaN, a float's max) stands as is."""
    table = _conversions(cls)
    names = frozenset(name for name, _, _ in table)
    scope: dict[str, Any] = {"_names": names, "_parse_by_name": _parse_by_name}
    lines = [
        "def parse(obj):",
        "    d = obj.__dict__",
        "    if not d.keys() >= _names:",
        "        return _parse_by_name(obj)",
    ]
    for i, (name, typ, default) in enumerate(table):
        scope[f"_default{i}"] = default
        lines.append(f"    v = d[{name!r}]")
        lines.append(f"    d[{name!r}] = {_CONVERSION_TEXT[typ]} if v else _default{i}")
    # the text is made above from a dataclass's own field names; its file name tells a
    # profile or a traceback where the function came from
    exec(compile("\n".join(lines), f"<{PARSER_FILE} {cls.__name__}>", "exec"), scope)
    parse: Callable[[Any], None] = scope["parse"]
    return parse


def fast_parse(obj: Any) -> None:
    """Exactly `Decoder.parse(obj)`: each int / float / bool field converted from its string,
    an empty one set to the field's default."""
    parse = _PARSERS.get(type(obj))
    if parse is None:
        parse = _PARSERS[type(obj)] = _compiled(type(obj))
    parse(obj)


def install(decoder: Decoder) -> None:
    """Use `fast_parse` on this decoder (its handlers call ``self.parse``), the handler of
    `_position_handler` for its position messages and `open_order_handler`'s for its open
    orders; other decoders keep ib_async's."""
    decoder.parse = fast_parse  # type: ignore[method-assign]
    decoder.handlers[POSITION_DATA] = _position_handler(decoder)
    decoder.handlers[OPEN_ORDER] = open_order_handler(decoder)


# ---- open orders --------------------------------------------------------------------------
# Every order's openOrders (two or more) each start with ``Order(), Contract(), OrderState()``:
# the dataclass __init__ of 139 + 20 + 17 fields, ~20% of the handler. The handler below is
# ib_async's own code (`Decoder.openOrder.__code__`, so it reads every field as ib_async's
# does, at every server version), run with globals in which those three names make the same
# instances from a table of their defaults.


_OPEN_ORDER_MAKERS: Final = {"Order": Order, "Contract": Contract, "OrderState": OrderState}


def open_order_handler(decoder: Decoder) -> Callable[[list[str]], None]:
    """`Decoder.openOrder` bound to `decoder`, its three constructors `blank_maker`'s."""
    scope = dict(vars(decoder_module))
    scope.update({name: blank_maker(cls) for name, cls in _OPEN_ORDER_MAKERS.items()})
    method = Decoder.openOrder
    function = FunctionType(
        method.__code__, scope, method.__name__, method.__defaults__, method.__closure__
    )
    handler: Callable[[list[str]], None] = MethodType(function, decoder)
    return handler


# ---- position messages --------------------------------------------------------------------
# Every fill of every client on the gateway sends a position to each client (reqPositions,
# which ib_async subscribes on connect): with 32 clients, 32 per fill. ib_async's handler costs
# ~50-70 us of each: `Contract.recreate` walks `dataclasses.fields` (~18 us) and the log line
# is formatted whether or not it is ever emitted (~19 us). The handler below makes the
# specific class in one call and the text only for a logger that will emit it (~11-17 us).


def _position_contract(fields: list[str]) -> Contract:
    """`Contract.recreate` of the Contract ib_async's decoder fills from a position message
    and parses. Only the message's fields are passed (converted as parse does): the rest keep
    their defaults, as no class's constructor (Stock, Option, ...) takes any of them."""
    (
        _, _, _, con_id, symbol, sec_type, last_trade, strike, right, multiplier, exchange,
        currency, local_symbol, trading_class, _, _,
    ) = fields  # fmt: skip
    return Contract.create(
        conId=int(con_id) if con_id else 0, symbol=symbol, secType=sec_type,
        lastTradeDateOrContractMonth=last_trade, strike=float(strike) if strike else 0.0,
        right=right, multiplier=multiplier, exchange=exchange, currency=currency,
        localSymbol=local_symbol, tradingClass=trading_class,
    )  # fmt: skip


def _position_handler(decoder: Decoder) -> Callable[[list[str]], None]:
    def position(fields: list[str]) -> None:
        """`Decoder.position` + `Wrapper.position`, term for term but the two costs above."""
        contract = _position_contract(fields)
        account, size, avg_cost = fields[2], fields[14], fields[15]
        wrapper = decoder.wrapper
        item = Position(account, contract, float(size or 0), float(avg_cost or 0))
        positions = wrapper.positions[account]
        if item.position == 0:
            positions.pop(contract.conId, None)
        else:
            positions[contract.conId] = item
        logger = wrapper._logger
        if logger.isEnabledFor(logging.INFO):
            logger.info(f"position: {item}")
        results = wrapper._results.get("positions")
        if results is not None:
            results.append(item)
        wrapper.ib.positionEvent.emit(item)

    return position
