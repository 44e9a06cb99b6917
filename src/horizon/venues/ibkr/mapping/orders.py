"""OrderAction -> ib_async Order, and amendments of a placed order. Pure; no I/O.

This is the one place where Horizon's Decimals become floats, because ib_async's Order holds
floats and sends them as ``str(float)``. Every conversion goes through `to_ib_float`, which
refuses a value the wire would carry differently from what the user wrote.
"""

from __future__ import annotations

import copy
import functools
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation, localcontext
from types import MappingProxyType
from typing import Final

from ib_async import Contract, Order, TagValue
from ib_async import order as ib_order

from horizon.core.algos import (
    Adaptive,
    Algo,
    ArrivalPrice,
    ClosePrice,
    PercentOfVolume,
    Priority,
    RiskAversion,
    Twap,
    TwapStyle,
    Vwap,
)
from horizon.core.conditions import (
    WATCHES_MARKET,
    Condition,
    Conjunction,
    ExecutionCondition,
    MarginCondition,
    PercentChangeCondition,
    PriceCondition,
    TimeCondition,
    TriggerMethod,
    VolumeCondition,
)
from horizon.core.enums import OrderType, Side, TimeInForce
from horizon.core.types import OrderAction, require_utc, to_decimal
from horizon.errors import InvalidOrder
from horizon.venues.ibkr.mapping.blanks import blank_maker
from horizon.venues.ibkr.mapping.fast_repr import HorizonOrder

__all__ = [
    "IB_ALGOS",
    "IB_ORDER_TYPES",
    "IB_TRIGGER_METHODS",
    "algo_fields",
    "amend_order",
    "check_combo",
    "check_tick",
    "condition_fields",
    "format_good_till",
    "order_type_of",
    "side_of",
    "stop_of",
    "to_ib_float",
    "to_ib_order",
    "watched_markets",
]

# OrderType -> (IB orderType, the TIF IB needs for it, if it is fixed). "STP LMT" has a space
# on the wire. The opening auction is a market / limit order with tif OPG (IB's own
# "MKT"/"LMT" + OPG; TWS API "Order Types": Market-on-Open, Limit-on-Open).
IB_ORDER_TYPES: Final = MappingProxyType(
    {
        OrderType.MARKET: "MKT",
        OrderType.LIMIT: "LMT",
        OrderType.STOP: "STP",
        OrderType.STOP_LIMIT: "STP LMT",
        OrderType.TRAILING_STOP: "TRAIL",
        OrderType.TRAILING_STOP_LIMIT: "TRAIL LIMIT",
        OrderType.MARKET_IF_TOUCHED: "MIT",
        OrderType.LIMIT_IF_TOUCHED: "LIT",
        OrderType.MARKET_ON_CLOSE: "MOC",
        OrderType.LIMIT_ON_CLOSE: "LOC",
        OrderType.MARKET_ON_OPEN: "MKT",
        OrderType.LIMIT_ON_OPEN: "LMT",
        OrderType.RELATIVE: "REL",
        OrderType.MIDPRICE: "MIDPRICE",
        OrderType.PEGGED_TO_MIDPOINT: "PEG MID",
        OrderType.MARKET_TO_LIMIT: "MTL",
    }
)
_FIXED_TIF: Final = MappingProxyType(
    {OrderType.MARKET_ON_OPEN: TimeInForce.OPG, OrderType.LIMIT_ON_OPEN: TimeInForce.OPG}
)
# IB orderType (and tif, where it decides) -> OrderType, for orders read back from IB
_FROM_IB_ORDER_TYPE: Final = MappingProxyType(
    {
        v: k
        for k, v in IB_ORDER_TYPES.items()
        if k not in (OrderType.MARKET_ON_OPEN, OrderType.LIMIT_ON_OPEN)
    }
)
_FROM_IB_AT_THE_OPEN: Final = MappingProxyType(
    {"MKT": OrderType.MARKET_ON_OPEN, "LMT": OrderType.LIMIT_ON_OPEN}
)

_SIDE_TO_IB: Final = MappingProxyType({Side.BUY: "BUY", Side.SELL: "SELL"})
# IB order actions -> Side. SSHORT (short sale, institutional) and SLONG are sells.
_SIDE_FROM_IB: Final = MappingProxyType(
    {"BUY": Side.BUY, "SELL": Side.SELL, "SSHORT": Side.SELL, "SLONG": Side.SELL}
)

# Which IB order types carry which amendable price, and in which Order field.
_LIMIT_FIELD: Final = MappingProxyType(
    {t: "lmtPrice" for t in ("LMT", "STP LMT", "LIT", "LOC", "REL", "MIDPRICE", "PEG MID")}
)
_STOP_FIELD: Final = MappingProxyType(
    {
        "STP": "auxPrice",
        "STP LMT": "auxPrice",
        "MIT": "auxPrice",
        "LIT": "auxPrice",
        "TRAIL": "trailStopPrice",
        "TRAIL LIMIT": "trailStopPrice",
    }
)

_MAX_RELATIVE_ERROR: Final = Decimal("1e-9")


def to_ib_float(field: str, value: Decimal) -> float:
    """The float ib_async will put on the wire for `value`; refuses one that would change it.

    ``float(str(d))`` is the correctly rounded float of the decimal, so every price with up to
    15 significant digits travels exactly (ib_async sends ``str(float)``, the shortest
    round-trip text). A value whose float differs by more than 1e-9 relative (overflow to
    inf, underflow to 0, absurd digit counts) is refused rather than silently traded.
    """
    d = to_decimal(field, value)
    f = _exact_float(d)
    if f is None:
        if not math.isfinite(float(str(d))):
            raise InvalidOrder(field, f"{d} is too large to send to IB")
        raise InvalidOrder(field, f"{d} cannot be sent to IB without changing it")
    return f


@functools.lru_cache(maxsize=16384)
def _exact_float(d: Decimal) -> float | None:
    """The float of `d`, or None if it would change it (cached: prices repeat all day)."""
    f = float(str(d))
    if not math.isfinite(f):
        return None
    if d != 0 and abs(Decimal(repr(f)) - d) > abs(d) * _MAX_RELATIVE_ERROR:
        return None
    return f


def format_good_till(when: datetime) -> str:
    """``YYYYMMDD HH:MM:SS UTC`` for a GTD order's goodTillDate.

    TWS reads "yyyymmdd hh:mm:ss zone" (a missing zone means TWS's local zone, which is the
    bug this avoids) and also "yyyymmdd-hh:mm:ss", which is UTC by definition. We name the zone
    because it is the form ib_async's own `formatIBDatetime` writes, it reads unambiguously in
    logs, and the simulator's engine parses both. Sub-second parts are dropped: the order
    expires at most one second before the instant asked, never after it.
    """
    utc = require_utc("good_till", when).astimezone(UTC)
    return utc.strftime("%Y%m%d %H:%M:%S UTC")


_MAKE_ORDER: Final = blank_maker(HorizonOrder)  # on the submit path: see mapping.blanks


def blank_order() -> Order:
    """An Order equal to ``Order()``, built without running the dataclass __init__ (a
    `HorizonOrder`: the same fields, a repr ib_async's log lines can afford)."""
    order: Order = _MAKE_ORDER()
    return order


# ------------------------------------------------------------------ algos
# Algo class -> IB algoStrategy (TWS API "IB Algos"; the names IB's own AvailableAlgoParams
# samples send)
IB_ALGOS: Final = MappingProxyType(
    {
        Adaptive: "Adaptive",
        Twap: "Twap",
        Vwap: "Vwap",
        ArrivalPrice: "ArrivalPx",
        ClosePrice: "ClosePx",
        PercentOfVolume: "PctVol",
    }
)
_PRIORITY: Final = MappingProxyType(
    {Priority.URGENT: "Urgent", Priority.NORMAL: "Normal", Priority.PATIENT: "Patient"}
)
_RISK_AVERSION: Final = MappingProxyType(
    {
        RiskAversion.GET_DONE: "Get Done",
        RiskAversion.AGGRESSIVE: "Aggressive",
        RiskAversion.NEUTRAL: "Neutral",
        RiskAversion.PASSIVE: "Passive",
    }
)
_TWAP_STYLE: Final = MappingProxyType(
    {
        TwapStyle.MARKETABLE: "Marketable",
        TwapStyle.MATCHING_MIDPOINT: "Matching Midpoint",
        TwapStyle.MATCHING_SAME_SIDE: "Matching Same Side",
        TwapStyle.MATCHING_LAST: "Matching Last",
    }
)


def _flag(value: bool) -> str:
    return "1" if value else "0"


def _time(when: datetime | None) -> str | None:
    return None if when is None else format_good_till(when)


def _rate(value: object) -> str | None:
    return None if value is None else f"{Decimal(str(value)).normalize():f}"


def algo_fields(algo: Algo) -> tuple[str, list[TagValue]]:
    """(algoStrategy, algoParams) for `algo`; parameters left unset are not sent, so IB applies
    its own defaults."""
    params: dict[str, str | None]
    match algo:
        case Adaptive():
            params = {"adaptivePriority": _PRIORITY[Priority(algo.priority)]}
        case Twap():
            params = {
                "strategyType": _TWAP_STYLE[TwapStyle(algo.style)],
                "startTime": _time(algo.start),
                "endTime": _time(algo.end),
                "allowPastEndTime": _flag(algo.allow_past_end),
            }
        case Vwap():
            params = {
                "maxPctVol": _rate(algo.max_participation),
                "startTime": _time(algo.start),
                "endTime": _time(algo.end),
                "allowPastEndTime": _flag(algo.allow_past_end),
                "noTakeLiq": _flag(algo.no_take_liquidity),
            }
        case ArrivalPrice():
            params = {
                "maxPctVol": _rate(algo.max_participation),
                "riskAversion": _RISK_AVERSION[RiskAversion(algo.risk_aversion)],
                "startTime": _time(algo.start),
                "endTime": _time(algo.end),
                "forceCompletion": _flag(algo.force_completion),
                "allowPastEndTime": _flag(algo.allow_past_end),
            }
        case ClosePrice():
            params = {
                "maxPctVol": _rate(algo.max_participation),
                "riskAversion": _RISK_AVERSION[RiskAversion(algo.risk_aversion)],
                "startTime": _time(algo.start),
                "forceCompletion": _flag(algo.force_completion),
            }
        case PercentOfVolume():
            params = {
                "pctVol": _rate(algo.participation),
                "startTime": _time(algo.start),
                "endTime": _time(algo.end),
                "noTakeLiq": _flag(algo.no_take_liquidity),
            }
        case _:
            raise InvalidOrder("algo", f"not an algo Horizon knows: {algo!r}")
    tags = [TagValue(tag, value) for tag, value in params.items() if value is not None]
    return IB_ALGOS[type(algo)], tags


# ------------------------------------------------------------------ conditions
# TriggerMethod -> IB's triggerMethod code (ibapi order_condition.PriceCondition; 5 and 6 unused)
IB_TRIGGER_METHODS: Final = MappingProxyType(
    {
        TriggerMethod.DEFAULT: 0,
        TriggerMethod.DOUBLE_BID_ASK: 1,
        TriggerMethod.LAST: 2,
        TriggerMethod.DOUBLE_LAST: 3,
        TriggerMethod.BID_ASK: 4,
        TriggerMethod.LAST_BID_ASK: 7,
        TriggerMethod.MIDPOINT: 8,
    }
)


def watched_markets(conditions: Sequence[Condition]) -> list[str]:
    """The market ids the conditions watch (each must be resolved to a contract first)."""
    seen: dict[str, None] = {}
    for condition in conditions:
        if isinstance(condition, WATCHES_MARKET):
            seen[condition.market_id] = None  # type: ignore[union-attr]
    return list(seen)


def _watched(contracts: Mapping[str, Contract], market_id: str) -> Contract:
    contract = contracts.get(market_id)
    if contract is None or not contract.conId:
        raise InvalidOrder("conditions", f"{market_id!r} was not resolved to a contract")
    return contract


def condition_fields(
    condition: Condition, contracts: Mapping[str, Contract]
) -> ib_order.OrderCondition:
    """The ib_async condition for `condition`, whose watched market is in `contracts`.

    ib_async sends a condition's dataclass fields in order, which is the layout of IB's own
    ``OrderCondition.make_fields`` (type, conjunction, isMore, value, conId, exchange, ...).
    """
    conjunction = "a" if Conjunction(condition.conjunction) is Conjunction.AND else "o"
    match condition:
        case PriceCondition():
            c = _watched(contracts, condition.market_id)
            return ib_order.PriceCondition(
                conjunction=conjunction,
                isMore=condition.above,
                price=to_ib_float("condition.price", Decimal(str(condition.price))),
                conId=c.conId,
                exch=c.exchange or "SMART",
                triggerMethod=IB_TRIGGER_METHODS[TriggerMethod(condition.trigger)],
            )
        case TimeCondition():
            return ib_order.TimeCondition(
                conjunction=conjunction, isMore=condition.after, time=format_good_till(condition.at)
            )
        case MarginCondition():
            return ib_order.MarginCondition(
                conjunction=conjunction, isMore=condition.above, percent=condition.percent
            )
        case ExecutionCondition():
            c = _watched(contracts, condition.market_id)
            return ib_order.ExecutionCondition(
                conjunction=conjunction,
                secType=c.secType,
                exch=c.exchange or "SMART",
                symbol=c.symbol,
            )
        case VolumeCondition():
            c = _watched(contracts, condition.market_id)
            return ib_order.VolumeCondition(
                conjunction=conjunction,
                isMore=condition.above,
                volume=condition.volume,
                conId=c.conId,
                exch=c.exchange or "SMART",
            )
        case PercentChangeCondition():
            c = _watched(contracts, condition.market_id)
            return ib_order.PercentChangeCondition(
                conjunction=conjunction,
                isMore=condition.above,
                changePercent=to_ib_float("condition.percent", Decimal(str(condition.percent))),
                conId=c.conId,
                exch=c.exchange or "SMART",
            )
    raise InvalidOrder("conditions", f"not a condition Horizon knows: {condition!r}")


_NO_CONTRACTS: Final[Mapping[str, Contract]] = MappingProxyType({})


def to_ib_order(
    action: OrderAction, *, account: str, watched: Mapping[str, Contract] = _NO_CONTRACTS
) -> Order:
    """The ib_async Order for `action`, routed to ``action.account`` or else `account`.

    orderId is left 0: ib_async assigns the next id in placeOrder. transmit is always True
    (Horizon has no staged orders), and orderRef carries the client order id so fills and
    open orders can be matched back to it after a restart. `watched` holds the contracts of
    the markets the action's conditions watch (`watched_markets`), resolved by the caller.
    """
    order = blank_order()
    kind = action.order_type
    order.action = _SIDE_TO_IB[action.side]
    order.totalQuantity = to_ib_float("quantity", action.quantity)
    order.orderType = IB_ORDER_TYPES[kind]
    order.tif = _FIXED_TIF.get(kind, action.tif).value
    order.account = action.account or account
    order.orderRef = action.client_order_id or ""
    order.outsideRth = action.outside_rth
    order.transmit = True
    if action.limit_price is not None:
        order.lmtPrice = to_ib_float("limit_price", action.limit_price)
    if kind in (OrderType.TRAILING_STOP, OrderType.TRAILING_STOP_LIMIT):
        # TWS API "Trailing Stop" / "Trailing Stop Limit": the trail in auxPrice (or
        # trailingPercent), the initial stop in trailStopPrice, the limit's distance from
        # the stop in lmtPriceOffset
        if action.trail_percent is not None:
            order.trailingPercent = to_ib_float("trail_percent", action.trail_percent)
        elif action.trail_amount is not None:
            order.auxPrice = to_ib_float("trail_amount", action.trail_amount)
        if action.stop_price is not None:
            order.trailStopPrice = to_ib_float("stop_price", action.stop_price)
        if action.limit_offset is not None:
            order.lmtPriceOffset = to_ib_float("limit_offset", action.limit_offset)
    elif action.stop_price is not None:  # STP, STP LMT, and the trigger of MIT / LIT
        order.auxPrice = to_ib_float("stop_price", action.stop_price)
    if action.offset is not None:  # REL and PEG MID: the offset travels in auxPrice
        order.auxPrice = to_ib_float("offset", action.offset) if action.offset else 0.0
    if action.tif is TimeInForce.GTD:
        if action.good_till is None:  # OrderAction refuses this already; keep mypy and us honest
            raise InvalidOrder("good_till", "required when tif is GTD")
        order.goodTillDate = format_good_till(action.good_till)
    if action.algo is not None:
        order.algoStrategy, order.algoParams = algo_fields(action.algo)
    if action.conditions:
        order.conditions = [condition_fields(c, watched) for c in action.conditions]
        order.conditionsCancelOrder = action.conditions_cancel_order
        order.conditionsIgnoreRth = action.conditions_outside_rth
    return order


def _positive(field: str, value: object) -> Decimal:
    d = to_decimal(field, value)
    if d <= 0:
        raise InvalidOrder(field, f"must be positive, got {d}")
    return d


def amend_order(
    order: Order,
    *,
    quantity: Decimal | None = None,
    limit_price: Decimal | None = None,
    stop_price: Decimal | None = None,
) -> Order:
    """A copy of a placed `order` with the changes applied; the input is never mutated.

    IB amends by receiving placeOrder again with the same orderId, so the copy keeps orderId,
    clientId and permId. It is a deep copy because ib_async keeps the placed Order inside its
    Trade: changing that object in place would make the Trade claim a change IB may yet
    refuse. A stop_price on a TRAIL order moves its trailStopPrice (the current trigger).
    """
    if quantity is None and limit_price is None and stop_price is None:
        raise InvalidOrder("amend", "nothing to change; pass quantity, limit_price or stop_price")
    if not order.orderId:
        raise InvalidOrder("order_id", "the order was never placed (orderId 0); submit it first")
    kind = order.orderType
    changes: dict[str, float] = {}
    if quantity is not None:
        changes["totalQuantity"] = to_ib_float("quantity", _positive("quantity", quantity))
    if limit_price is not None:
        target = _LIMIT_FIELD.get(kind)
        if target is None:
            raise InvalidOrder("limit_price", f"a {kind or 'typeless'} order has no limit price")
        changes[target] = to_ib_float("limit_price", _positive("limit_price", limit_price))
    if stop_price is not None:
        target = _STOP_FIELD.get(kind)
        if target is None:
            raise InvalidOrder("stop_price", f"a {kind or 'typeless'} order has no stop price")
        changes[target] = to_ib_float("stop_price", _positive("stop_price", stop_price))
    new = copy.deepcopy(order)
    for name, value in changes.items():
        setattr(new, name, value)
    return new


def check_tick(price: Decimal, min_tick: Decimal, field: str) -> None:
    """Refuse a price off the contract's tick grid before IB answers error 110.

    IB's 110 arrives asynchronously and ib_async treats it as a mere warning on a live order,
    so an off-grid amend would look accepted while IB kept the old price.
    """
    tick = to_decimal("min_tick", min_tick)
    if tick <= 0:
        raise ValueError(f"min_tick must be positive, got {tick}")
    p = to_decimal(field, price)
    if (p, tick) in _ON_GRID:  # a strategy re-quotes the same few prices all day
        return
    with localcontext() as ctx:
        ctx.prec = 60  # exact for any price/tick pair a venue could list
        try:
            off_grid = p % tick != 0
            below = (p // tick) * tick
        except InvalidOperation as exc:
            raise InvalidOrder(field, f"{p} is absurdly far from the tick {tick}") from exc
    if off_grid:
        raise InvalidOrder(
            field,
            f"{p} is not a multiple of the minimum tick {tick}; "
            f"use {below.normalize():f} or {(below + tick).normalize():f}",
        )
    if len(_ON_GRID) >= _ON_GRID_MAX:
        _ON_GRID.clear()
    _ON_GRID.add((p, tick))


# (price, tick) pairs already found on the grid: Decimal's modulo at 60 digits is ~3 us a
# check, a set lookup ~0.1; bounded by clearing (a set lookup is all the hot path pays)
_ON_GRID: Final[set[tuple[Decimal, Decimal]]] = set()
_ON_GRID_MAX: Final = 65_536


_COMBO_TYPES: Final = frozenset({OrderType.MARKET, OrderType.LIMIT})


def check_combo(action: OrderAction) -> None:
    """A combo order is a market or limit order on the net price (IB's BAG orders); its
    limit may be a credit (zero or below). Other actions pass unchanged."""
    if action.market_id[:6].upper() != "COMBO:":
        return
    if action.order_type not in _COMBO_TYPES:
        raise InvalidOrder(
            "order_type", f"a combo is a market or limit order, not {action.order_type.value}"
        )


def order_type_of(ib_order_type: str, tif: str = "") -> OrderType:
    """OrderType of an IB orderType string (and tif: MKT / LMT with OPG are the opening
    auction's); ValueError for types Horizon does not place."""
    kind = ib_order_type.strip().upper()
    if tif.strip().upper() == "OPG" and kind in _FROM_IB_AT_THE_OPEN:
        return _FROM_IB_AT_THE_OPEN[kind]
    try:
        return _FROM_IB_ORDER_TYPE[kind]
    except KeyError:
        raise ValueError(f"IB order type {ib_order_type!r} has no Horizon OrderType") from None


def stop_of(order: Order) -> float | None:
    """The stop (trigger) price an order carries, by its type: auxPrice for stops and touched
    orders, trailStopPrice for trailing ones; None for types without one (a REL's auxPrice is
    its offset, not a stop)."""
    field = _STOP_FIELD.get(order.orderType)
    return None if field is None else getattr(order, field)


def side_of(action: str) -> Side:
    """Side of an IB order action: BUY -> buy; SELL, SSHORT, SLONG -> sell."""
    try:
        return _SIDE_FROM_IB[action.strip().upper()]
    except KeyError:
        raise ValueError(f"IB order action {action!r} is not BUY, SELL or SSHORT") from None
