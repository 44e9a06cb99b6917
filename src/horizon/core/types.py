"""Domain values every Horizon venue speaks: immutable, validated when built, Decimal money."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from horizon.core.algos import ALGOS, Algo
from horizon.core.conditions import CONDITIONS, Condition
from horizon.core.enums import Liquidity, OrderStatus, OrderType, Side, TimeInForce
from horizon.core.values import (
    Number,
    enum_choice,
    market_id_grammar,
    optional_decimal,
    require_utc,
    to_decimal,
)
from horizon.errors import InvalidOrder

__all__ = [
    "Balance",
    "Number",
    "OrderAction",
    "Position",
    "VenueFill",
    "VenueOrder",
    "market_id_grammar",
    "require_utc",
    "to_decimal",
]

_PRICES: tuple[str, ...] = (
    "limit_price", "stop_price", "trail_amount", "trail_percent", "offset", "limit_offset",
)  # fmt: skip


def _rule(
    required: tuple[str, ...], allowed: tuple[str, ...] = ()
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(prices required, prices forbidden): every price not required or allowed is forbidden."""
    return required, tuple(p for p in _PRICES if p not in required and p not in allowed)


_TRAIL: tuple[str, ...] = ("trail_amount", "trail_percent", "stop_price")
_PRICE_RULES: dict[OrderType, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # order type: (prices required, prices forbidden)
    OrderType.MARKET: _rule(()),
    OrderType.LIMIT: _rule(("limit_price",)),
    OrderType.STOP: _rule(("stop_price",)),
    OrderType.STOP_LIMIT: _rule(("limit_price", "stop_price")),
    OrderType.TRAILING_STOP: _rule((), _TRAIL),  # one of trail_amount / trail_percent
    OrderType.TRAILING_STOP_LIMIT: _rule(("limit_offset",), _TRAIL),
    OrderType.MARKET_IF_TOUCHED: _rule(("stop_price",)),
    OrderType.LIMIT_IF_TOUCHED: _rule(("limit_price", "stop_price")),
    OrderType.MARKET_ON_CLOSE: _rule(()),
    OrderType.LIMIT_ON_CLOSE: _rule(("limit_price",)),
    OrderType.MARKET_ON_OPEN: _rule(()),
    OrderType.LIMIT_ON_OPEN: _rule(("limit_price",)),
    OrderType.RELATIVE: _rule(("offset",), ("limit_price",)),
    OrderType.MIDPRICE: _rule((), ("limit_price",)),
    OrderType.PEGGED_TO_MIDPOINT: _rule((), ("limit_price", "offset")),
    OrderType.MARKET_TO_LIMIT: _rule(()),
}
# the auctions' time in force is the order type's: MOC / LOC are DAY orders, and the open's
# are OPG orders (IB refuses other TIFs with error 113)
_AUCTION_TIFS: dict[OrderType, tuple[TimeInForce, ...]] = {
    OrderType.MARKET_ON_CLOSE: (TimeInForce.DAY,),
    OrderType.LIMIT_ON_CLOSE: (TimeInForce.DAY,),
    OrderType.MARKET_ON_OPEN: (TimeInForce.DAY, TimeInForce.OPG),
    OrderType.LIMIT_ON_OPEN: (TimeInForce.DAY, TimeInForce.OPG),
}
_TRAILING: frozenset[OrderType] = frozenset(
    {OrderType.TRAILING_STOP, OrderType.TRAILING_STOP_LIMIT}
)


@dataclass(frozen=True, slots=True, init=False)
class OrderAction:
    """What a strategy wants done: one order, venue-neutral, refused at once if incoherent.

    `side`, `order_type` and `tif` accept their plain string values ("buy", "limit", "GTC");
    numbers accept Decimal, int or str (never float). For a trailing stop (and a trailing
    stop-limit) give exactly one of `trail_percent` (Decimal("1.5") = 1.5 %) or
    `trail_amount` (a price distance); `stop_price` may seed the initial trigger level, and a
    trailing stop-limit's limit sits `limit_offset` beyond its stop. The touched types trigger
    at `stop_price`. `offset` is the distance of a relative order from its quote (and of a
    midpoint peg from the midpoint); a `limit_price` caps those and the midprice order.

    A combo (``COMBO:+1 A,-1 B``: legs traded together, see the venue's market-id forms) takes
    a net `limit_price`, which may be zero or negative (a credit).

    `algo` hands a market or limit order to a broker algorithm (`horizon.core.algos`).
    `conditions` (`horizon.core.conditions`) hold the order back until they are met, or with
    `conditions_cancel_order` cancel it then; `conditions_outside_rth` lets them trigger
    outside regular trading hours.
    """

    market_id: str
    side: Side
    quantity: Decimal
    order_type: OrderType
    limit_price: Decimal | None
    stop_price: Decimal | None
    trail_percent: Decimal | None
    trail_amount: Decimal | None
    offset: Decimal | None
    limit_offset: Decimal | None
    tif: TimeInForce
    good_till: datetime | None
    account: str | None
    client_order_id: str | None
    outside_rth: bool
    algo: Algo | None
    conditions: tuple[Condition, ...]
    conditions_cancel_order: bool
    conditions_outside_rth: bool

    def __init__(
        self,
        *,
        market_id: str,
        side: Side | str,
        quantity: Number,
        order_type: OrderType | str = OrderType.MARKET,
        limit_price: Number | None = None,
        stop_price: Number | None = None,
        trail_percent: Number | None = None,
        trail_amount: Number | None = None,
        offset: Number | None = None,
        limit_offset: Number | None = None,
        tif: TimeInForce | str = TimeInForce.DAY,
        good_till: datetime | None = None,
        account: str | None = None,
        client_order_id: str | None = None,
        outside_rth: bool = False,
        algo: Algo | None = None,
        conditions: Sequence[Condition] = (),
        conditions_cancel_order: bool = False,
        conditions_outside_rth: bool = False,
    ) -> None:
        s = object.__setattr__
        s(self, "market_id", market_id_grammar(market_id))
        s(self, "side", enum_choice("side", Side, side))
        s(self, "order_type", enum_choice("order_type", OrderType, order_type))
        s(self, "tif", enum_choice("tif", TimeInForce, tif))
        qty = to_decimal("quantity", quantity)
        if qty <= 0:
            raise InvalidOrder("quantity", f"must be positive, got {qty}")
        s(self, "quantity", qty)
        combo = self.market_id[:6].upper() == "COMBO:"
        for name, raw in (
            ("limit_price", limit_price),
            ("stop_price", stop_price),
            ("trail_percent", trail_percent),
            ("trail_amount", trail_amount),
            ("limit_offset", limit_offset),
        ):
            value = None if raw is None else to_decimal(name, raw)
            if value is not None and value <= 0 and not (combo and name == "limit_price"):
                # a combo's limit is a net price: zero or below is a credit
                raise InvalidOrder(name, f"must be positive, got {value}")
            s(self, name, value)
        # an offset may be 0 (a peg at the midpoint itself), never negative
        peg = optional_decimal("offset", offset)
        if peg is not None and peg < 0:
            raise InvalidOrder("offset", f"must be zero or positive, got {peg}")
        s(self, "offset", peg)
        s(self, "good_till", good_till)
        s(self, "account", account)
        s(self, "client_order_id", client_order_id)
        s(self, "outside_rth", bool(outside_rth))
        self._check_prices()
        self._check_tif()
        self._set_algo(algo)
        self._set_conditions(conditions, conditions_cancel_order, conditions_outside_rth)
        if account is not None and not account.strip():
            raise InvalidOrder("account", "must be None or a non-empty account id")

    def _check_prices(self) -> None:
        required, forbidden = _PRICE_RULES[self.order_type]
        for name in required:
            if getattr(self, name) is None:
                raise InvalidOrder(name, f"required for a {self.order_type.value} order")
        for name in forbidden:
            if getattr(self, name) is not None:
                raise InvalidOrder(name, f"not allowed on a {self.order_type.value} order")
        if self.order_type in _TRAILING:
            given = [n for n in ("trail_percent", "trail_amount") if getattr(self, n) is not None]
            if len(given) != 1:
                raise InvalidOrder(
                    "trail_percent",
                    f"a {self.order_type.value} needs exactly one of trail_percent or trail_amount",
                )
            if self.trail_percent is not None and self.trail_percent >= 100:
                raise InvalidOrder("trail_percent", f"must be below 100, got {self.trail_percent}")

    def _set_algo(self, algo: object) -> None:
        if algo is not None:
            if not isinstance(algo, ALGOS):
                names = ", ".join(a.__name__ for a in ALGOS)
                raise InvalidOrder("algo", f"expected one of {names}, got {algo!r}")
            if self.order_type not in (OrderType.MARKET, OrderType.LIMIT):
                raise InvalidOrder(
                    "algo", f"an algo works a market or limit order, not a {self.order_type.value}"
                )
        object.__setattr__(self, "algo", algo)

    def _set_conditions(self, conditions: object, cancel: object, outside_rth: object) -> None:
        if type(conditions) is not tuple and (
            isinstance(conditions, (str, bytes)) or not isinstance(conditions, Sequence)
        ):
            raise InvalidOrder("conditions", f"expected a sequence, got {conditions!r}")
        for condition in conditions:
            if not isinstance(condition, CONDITIONS):
                names = ", ".join(c.__name__ for c in CONDITIONS)
                raise InvalidOrder("conditions", f"expected one of {names}, got {condition!r}")
        if cancel and not conditions:
            raise InvalidOrder("conditions_cancel_order", "needs at least one condition")
        s = object.__setattr__
        s(self, "conditions", tuple(conditions))
        s(self, "conditions_cancel_order", bool(cancel))
        s(self, "conditions_outside_rth", bool(outside_rth))

    def _check_tif(self) -> None:
        auction = _AUCTION_TIFS.get(self.order_type)
        if auction is not None and self.tif not in auction:
            allowed = " or ".join(t.value for t in auction)
            raise InvalidOrder(
                "tif", f"a {self.order_type.value} order is {allowed}, not {self.tif.value}"
            )
        if self.tif is TimeInForce.GTD:
            if self.good_till is None:
                raise InvalidOrder("good_till", "required when tif is GTD")
            when = require_utc("good_till", self.good_till)
            if when <= datetime.now(UTC):
                raise InvalidOrder("good_till", f"must be in the future, got {when.isoformat()}")
            object.__setattr__(self, "good_till", when)
        elif self.good_till is not None:
            raise InvalidOrder("good_till", f"only allowed with tif GTD, not {self.tif.value}")


@dataclass(frozen=True, slots=True, kw_only=True)
class VenueFill:
    """One execution, as the host application books it.

    A fill with `corrects` set replaces the fill it names (an IB execution correction, or a
    late commission for a fill already handed out with `fee=None`). `liquidation` marks an
    execution the broker made on its own (IB's forced liquidation: no order of yours).
    """

    venue: str
    order_id: str
    exec_id: str
    market_id: str
    side: Side
    quantity: Decimal
    price: Decimal
    fee: Decimal | None
    fee_currency: str | None
    account: str
    timestamp: datetime
    liquidity: Liquidity | None = None
    corrects: str | None = None
    client_order_id: str | None = None
    liquidation: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "timestamp", require_utc("timestamp", self.timestamp))


@dataclass(frozen=True, slots=True, kw_only=True)
class Position:
    venue: str
    account: str
    market_id: str
    quantity: Decimal
    avg_cost: Decimal
    currency: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Balance:
    """Cash and equity of one account in one currency."""

    venue: str
    account: str
    currency: str
    cash: Decimal
    net_liquidation: Decimal | None = None
    buying_power: Decimal | None = None
    available_funds: Decimal | None = None
    values: dict[str, Decimal] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class VenueOrder:
    """The venue's current view of one order."""

    venue: str
    order_id: str
    market_id: str
    side: Side
    quantity: Decimal
    order_type: OrderType
    status: OrderStatus
    filled: Decimal
    remaining: Decimal
    avg_fill_price: Decimal | None
    limit_price: Decimal | None
    stop_price: Decimal | None
    tif: TimeInForce
    account: str
    client_order_id: str | None = None
    reason: str | None = None
    updated_at: datetime | None = None
