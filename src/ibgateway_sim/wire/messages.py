"""Every TWS API message the simulator speaks, as data: one frozen dataclass per message.

The dataclass *is* the spec row. Its fields, in declaration order, are the wire fields after the
message id; each carries a `Wire` descriptor (kind, version window, presence condition). The one
generic walker in `fieldcodec.py` encodes and decodes every message from these rows, so adding a
message means adding a row here, never writing an encoder.

The layouts are an independent reading of the TWS API socket protocol (text protocol, server
versions 157..178). Directions: `IN` is client -> gateway, `OUT` is gateway -> client; the same
message id means different things in each direction (3 is placeOrder in, orderStatus out).

No I/O, clocks or logging here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from typing import Any, ClassVar, Final, Protocol, TypeVar, dataclass_transform

_T = TypeVar("_T")

# --------------------------------------------------------------------------------------------
# The spec language
# --------------------------------------------------------------------------------------------


class Direction(Enum):
    IN = "client->gateway"
    OUT = "gateway->client"


class Kind(Enum):
    """How one wire field is written and read.

    Numbers travel as decimal text. "Unset" is `None` in the dataclass and travels as `""`
    (DEC_MAX: as IB's max double, which is what TWS sends in commission reports). On the way
    in, every spelling of unset either client uses is accepted: `""`, the max double in both
    its Java and Python spellings, and 2**31-1.
    """

    STR = "str"
    INT = "int"  # int; "" reads as 0
    OPT_INT = "opt_int"  # int | None
    DEC = "dec"  # Decimal | None; "Infinite" <-> Decimal("Infinity")
    DEC_MAX = "dec_max"  # like DEC but None is written as 1.7976931348623157E308
    BOOL = "bool"  # "1"/"0"; "" reads as False
    OPT_BOOL = "opt_bool"  # bool | None
    STRUCT = "struct"  # an inline sub-row (a contract): its fields, no count
    GROUP = "group"  # tuple of sub-rows, preceded by their count
    FLAGGED = "flagged"  # sub-row | None, preceded by a 1/0 presence flag
    TAGGED = "tagged"  # tuple of variant rows, preceded by their count (order conditions)


class Values(Protocol):
    """The fields read or written so far: a dict on decode, a view of the row on encode."""

    def get(self, name: str, /) -> Any: ...


class Pred:
    """A presence condition for a field, evaluated on the fields already read or written."""

    def __call__(self, values: Values) -> bool:
        raise NotImplementedError


def _lookup(values: Values, path: str) -> Any:
    head, _, rest = path.partition(".")
    value = values.get(head)
    for part in rest.split(".") if rest else ():
        value = getattr(value, part, None)
    return value


@dataclass(frozen=True, slots=True)
class NonEmpty(Pred):
    path: str

    def __call__(self, values: Values) -> bool:
        return bool(_lookup(values, self.path))


@dataclass(frozen=True, slots=True)
class OneOf(Pred):
    path: str
    options: frozenset[Any]

    def __call__(self, values: Values) -> bool:
        return _lookup(values, self.path) in self.options


@dataclass(frozen=True, slots=True)
class Positive(Pred):
    """Set and > 0; 'set' already excludes IB's max-double sentinel, which reads as None."""

    path: str

    def __call__(self, values: Values) -> bool:
        value = _lookup(values, self.path)
        return value is not None and value > 0


@dataclass(frozen=True, slots=True)
class AllOf(Pred):
    preds: tuple[Pred, ...]

    def __call__(self, values: Values) -> bool:
        return all(p(values) for p in self.preds)


@dataclass(frozen=True, slots=True)
class AnyOf(Pred):
    preds: tuple[Pred, ...]

    def __call__(self, values: Values) -> bool:
        return any(p(values) for p in self.preds)


@dataclass(frozen=True, slots=True)
class Wire:
    """One field's wire description: present when since <= version < until and `when` holds."""

    kind: Kind
    since: int = 0
    until: int = 1 << 30
    when: Pred | None = None
    item: type | None = None  # STRUCT / GROUP / FLAGGED sub-row class
    arity: Mapping[int, int] | None = None  # TAGGED: tag -> number of string fields after it


def w(
    kind: Kind,
    default: Any = None,
    *,
    since: int = 0,
    until: int = 1 << 30,
    when: Pred | None = None,
    item: type | None = None,
    arity: Mapping[int, int] | None = None,
) -> Any:
    """Declare a wire field; `default` is what a decoder yields when the field is absent."""
    if default is None:
        default = {
            Kind.STR: "",
            Kind.INT: 0,
            Kind.BOOL: False,
            Kind.GROUP: (),
            Kind.TAGGED: (),
        }.get(kind)
    spec = Wire(kind, since, until, when, item, arity)
    if kind is Kind.STRUCT:
        assert item is not None
        return field(default_factory=item, metadata={"wire": spec})
    return field(default=default, metadata={"wire": spec})


@dataclass_transform(frozen_default=True, kw_only_default=True)
def ROW(cls: type[_T]) -> type[_T]:
    """A spec row: frozen, slotted, keyword-only (so field order is free to follow the wire)."""
    row = dataclass(frozen=True, slots=True, kw_only=True)(cls)
    row.__init__ = _slot_init(row)  # type: ignore[method-assign]
    return row


def unfrozen(row: type) -> type:
    """The mutable twin of a row class: the same slots on the same base, no frozen
    `__setattr__`. An object is filled as the twin by plain attribute stores, then its class
    is set to the row's, so no caller ever holds a twin (the rows' __init__ and the field
    codec's generated decoders build rows so)."""
    twin = _TWINS.get(row)
    if twin is None:
        for base in row.__mro__[1:]:
            if base is not object and (vars(base).get("__slots__", None) != ()
                                       or "__setattr__" in vars(base)):
                raise TypeError(f"{row.__name__}: base {base.__name__} is not an empty mixin")
        slots = row.__dict__["__slots__"]
        twin = _TWINS[row] = type(f"{row.__name__}Unfrozen", row.__bases__, {"__slots__": slots})
    return twin


_TWINS: dict[type, type] = {}
_COPIERS: dict[type, Any] = {}


def evolve(row: _T, **changes: Any) -> _T:
    """`dataclasses.replace(row, **changes)` without a second pass through __init__: the
    row's fields copied into a fresh `unfrozen` twin, the changes stored over them. For a big
    row sent again with one field changed (openOrder at each status of an order)."""
    cls = type(row)
    copier = _COPIERS.get(cls)
    if copier is None:
        fields = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
        env: dict[str, Any] = {"_new": object.__new__, "_twin": unfrozen(cls), "_row": cls,
                               "_set_class": object.__setattr__}
        source = "\n".join([
            "def copy(row):",
            "    o = _new(_twin)",
            *(f"    o.{n} = row.{n}" for n in fields),
            "    return o",
            "",
        ])
        exec(compile(source, f"<evolve {cls.__name__}>", "exec"), env)
        copier = _COPIERS[cls] = (env["copy"], frozenset(fields))
    copy, names = copier
    new = copy(row)
    try:
        for name, value in changes.items():
            setattr(new, name, value)
    except AttributeError:  # the twin has its slots and nothing else
        unknown = sorted(set(changes) - names)
        raise TypeError(f"{cls.__name__} has no field(s) {unknown}") from None
    object.__setattr__(new, "__class__", cls)
    return new  # type: ignore[no-any-return]


def evolver(cls: type[_T], names: tuple[str, ...]) -> Callable[..., _T]:
    """`evolve` compiled for one set of changed fields: `f(row, **values)` with exactly the
    fields `names` as keywords, each stored straight, the others copied from `row`; no
    changes dict walked, no setattr by name. For a row made from the same defaults with the
    same fields over them every time (openOrder from an order's state)."""
    fields = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    unknown = sorted(set(names) - set(fields))
    if unknown:
        raise TypeError(f"{cls.__name__} has no field(s) {unknown}")
    env: dict[str, Any] = {"_new": object.__new__, "_twin": unfrozen(cls), "_row": cls,
                           "_set_class": object.__setattr__}
    source = "\n".join([
        f"def evolve_{cls.__name__}({', '.join(['row', '*', *names] if names else ['row'])}):",
        "    o = _new(_twin)",
        *(f"    o.{n} = {n}" if n in names else f"    o.{n} = row.{n}" for n in fields),
        "    _set_class(o, '__class__', _row)",
        "    return o",
        "",
    ])
    exec(compile(source, f"<evolver {cls.__name__}>", "exec"), env)
    return env[f"evolve_{cls.__name__}"]  # type: ignore[no-any-return]


def _slot_init(row: type) -> Any:
    """The dataclass's own __init__ (the same parameters, defaults and factories), filling the
    object as its `unfrozen` twin by plain stores instead of `object.__setattr__` by name:
    the same values at a third of the cost. It matters for the big rows (openOrder and
    placeOrder have 140 fields), built or read more than once per order."""
    env: dict[str, Any] = {
        "MISSING": dataclasses.MISSING, "_twin": unfrozen(row), "_row": row,
        "_set_class": object.__setattr__,
    }
    params, body = [], []
    for f in dataclasses.fields(row):
        if f.default_factory is not dataclasses.MISSING:
            env[f"_make_{f.name}"] = f.default_factory
            params.append(f"{f.name}=MISSING")
            value = f"_make_{f.name}() if {f.name} is MISSING else {f.name}"
        else:
            if f.default is not dataclasses.MISSING:
                env[f"_default_{f.name}"] = f.default
                params.append(f"{f.name}=_default_{f.name}")
            else:
                params.append(f.name)
            value = f.name
        body.append(f"    self.{f.name} = {value}")
    star = "*, " if params else ""
    source = "\n".join([
        f"def __init__(self, {star}{', '.join(params)}):",
        "    _set_class(self, '__class__', _twin)",
        "    try:",
        *("    " + line for line in body or ["    pass"]),
        "    finally:",
        "        _set_class(self, '__class__', _row)",
    ])
    exec(compile(source, f"<row {row.__name__}>", "exec"), env)
    init = env["__init__"]
    init.__qualname__ = f"{row.__qualname__}.__init__"
    return init


STR, INT, OPT_INT, DEC, DEC_MAX = Kind.STR, Kind.INT, Kind.OPT_INT, Kind.DEC, Kind.DEC_MAX
BOOL, OPT_BOOL = Kind.BOOL, Kind.OPT_BOOL

# Server versions at which a field appears or disappears (names follow IB's constants).
V_DURATION: Final = 158
V_POST_TO_ATS: Final = 160
V_AUTO_CANCEL_PARENT: Final = 162
V_FRACTIONAL_SIZE: Final = 163
V_SIZE_RULES: Final = 164
V_ADVANCED_REJECT: Final = 166
V_MANUAL_ORDER_TIME: Final = 169
V_PEGBEST_PEGMID: Final = 170
V_BOND_ISSUERID: Final = 176
V_FA_PROFILE_DESUPPORT: Final = 177
V_PENDING_PRICE_REVISION: Final = 178

PEG_BENCH: Final = frozenset({"PEG BENCH", "PEGBENCH"})
PEG_BEST: Final = frozenset({"PEG BEST", "PEGBEST"})
PEG_MID: Final = frozenset({"PEG MID", "PEGMID"})
INFINITY: Final = Decimal("Infinity")

# --------------------------------------------------------------------------------------------
# Sub-rows
# --------------------------------------------------------------------------------------------


@ROW
class RequestContract:
    """The contract as requests send it (reqMktData, placeOrder, reqContractDetails): twelve
    fields, primaryExchange among them."""

    con_id: int = w(INT)
    symbol: str = w(STR)
    sec_type: str = w(STR)
    last_trade_date: str = w(STR)
    strike: Decimal | None = w(DEC)  # ib_async sends 0.0, ibapi "" when unset
    right: str = w(STR)
    multiplier: str = w(STR)
    exchange: str = w(STR)
    primary_exchange: str = w(STR)
    currency: str = w(STR)
    local_symbol: str = w(STR)
    trading_class: str = w(STR)


@ROW
class ReplyContract:
    """The contract as the gateway's replies send it (openOrder, completedOrder, execDetails,
    position, positionMulti): eleven fields, no primaryExchange."""

    con_id: int = w(INT)
    symbol: str = w(STR)
    sec_type: str = w(STR)
    last_trade_date: str = w(STR)
    strike: Decimal | None = w(DEC, Decimal(0))
    right: str = w(STR)
    multiplier: str = w(STR)
    exchange: str = w(STR)
    currency: str = w(STR)
    local_symbol: str = w(STR)
    trading_class: str = w(STR)


@ROW
class PortfolioContract:
    """updatePortfolio's contract: primaryExchange where the others have exchange."""

    con_id: int = w(INT)
    symbol: str = w(STR)
    sec_type: str = w(STR)
    last_trade_date: str = w(STR)
    strike: Decimal | None = w(DEC, Decimal(0))
    right: str = w(STR)
    multiplier: str = w(STR)
    primary_exchange: str = w(STR)
    currency: str = w(STR)
    local_symbol: str = w(STR)
    trading_class: str = w(STR)


@ROW
class TagValue:
    tag: str = w(STR)
    value: str = w(STR)


@ROW
class ComboLeg:
    con_id: int = w(INT)
    ratio: int = w(INT)
    action: str = w(STR)
    exchange: str = w(STR)
    open_close: int = w(INT)
    short_sale_slot: int = w(INT)
    designated_location: str = w(STR)
    exempt_code: int = w(INT, -1)


@ROW
class MktDataComboLeg:
    con_id: int = w(INT)
    ratio: int = w(INT)
    action: str = w(STR)
    exchange: str = w(STR)


@ROW
class OrderComboLeg:
    price: Decimal | None = w(DEC)


@ROW
class DeltaNeutralContract:
    con_id: int = w(INT)
    delta: Decimal | None = w(DEC)
    price: Decimal | None = w(DEC)


@ROW
class OrderCondition:
    """A variant row: the condition type picks how many fields follow. The values are kept
    as text because the simulator stores conditions but never evaluates them."""

    cond_type: int
    values: tuple[str, ...]


# conjunction + fields, per IB condition type: Price, Time, Margin, Execution, Volume, PercentChange
CONDITION_ARITY: Final[Mapping[int, int]] = {1: 6, 3: 3, 4: 3, 5: 4, 6: 5, 7: 5}

# --------------------------------------------------------------------------------------------
# Client -> gateway
# --------------------------------------------------------------------------------------------


class Message:
    """Base of every row; MSG_ID and DIRECTION identify the row's wire identity."""

    __slots__ = ()
    MSG_ID: ClassVar[int]
    DIRECTION: ClassVar[Direction]

    def __init_subclass__(cls, msg_id: int | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if msg_id is not None:
            cls.MSG_ID = msg_id


class Inbound(Message):
    """Client -> gateway."""

    __slots__ = ()
    DIRECTION: ClassVar[Direction] = Direction.IN


class Outbound(Message):
    """Gateway -> client."""

    __slots__ = ()
    DIRECTION: ClassVar[Direction] = Direction.OUT


@ROW
class ReqMktData(Inbound, msg_id=1):
    version: int = w(INT, 11)
    req_id: int = w(INT)
    contract: RequestContract = w(Kind.STRUCT, item=RequestContract)
    combo_legs: tuple[MktDataComboLeg, ...] = w(
        Kind.GROUP, item=MktDataComboLeg, when=OneOf("contract.sec_type", frozenset({"BAG"}))
    )
    delta_neutral_contract: DeltaNeutralContract | None = w(Kind.FLAGGED, item=DeltaNeutralContract)
    generic_tick_list: str = w(STR)
    snapshot: bool = w(BOOL)
    regulatory_snapshot: bool = w(BOOL)
    mkt_data_options: str = w(STR)


@ROW
class CancelMktData(Inbound, msg_id=2):
    version: int = w(INT, 2)
    req_id: int = w(INT)


_BAG = OneOf("contract.sec_type", frozenset({"BAG"}))
_DN = NonEmpty("delta_neutral_order_type")
_SCALE = Positive("scale_price_increment")


@ROW
class PlaceOrder(Inbound, msg_id=3):
    """placeOrder has no version field; its layout follows the negotiated server version."""

    order_id: int = w(INT)
    contract: RequestContract = w(Kind.STRUCT, item=RequestContract)
    sec_id_type: str = w(STR)
    sec_id: str = w(STR)
    action: str = w(STR)
    total_quantity: Decimal | None = w(DEC)
    order_type: str = w(STR)
    lmt_price: Decimal | None = w(DEC)
    aux_price: Decimal | None = w(DEC)
    tif: str = w(STR)
    oca_group: str = w(STR)
    account: str = w(STR)
    open_close: str = w(STR)
    origin: int = w(INT)
    order_ref: str = w(STR)
    transmit: bool = w(BOOL, True)
    parent_id: int = w(INT)
    block_order: bool = w(BOOL)
    sweep_to_fill: bool = w(BOOL)
    display_size: int | None = w(OPT_INT)
    trigger_method: int = w(INT)
    outside_rth: bool = w(BOOL)
    hidden: bool = w(BOOL)
    combo_legs: tuple[ComboLeg, ...] = w(Kind.GROUP, item=ComboLeg, when=_BAG)
    order_combo_legs: tuple[OrderComboLeg, ...] = w(Kind.GROUP, item=OrderComboLeg, when=_BAG)
    smart_combo_routing_params: tuple[TagValue, ...] = w(Kind.GROUP, item=TagValue, when=_BAG)
    shares_allocation: str = w(STR)
    discretionary_amt: Decimal | None = w(DEC)
    good_after_time: str = w(STR)
    good_till_date: str = w(STR)
    fa_group: str = w(STR)
    fa_method: str = w(STR)
    fa_percentage: str = w(STR)
    fa_profile: str = w(STR, until=V_FA_PROFILE_DESUPPORT)
    model_code: str = w(STR)
    short_sale_slot: int = w(INT)
    designated_location: str = w(STR)
    exempt_code: int = w(INT, -1)
    oca_type: int = w(INT)
    rule80a: str = w(STR)
    settling_firm: str = w(STR)
    all_or_none: bool = w(BOOL)
    min_qty: int | None = w(OPT_INT)
    percent_offset: Decimal | None = w(DEC)
    e_trade_only: bool = w(BOOL)
    firm_quote_only: bool = w(BOOL)
    nbbo_price_cap: Decimal | None = w(DEC)
    auction_strategy: int = w(INT)
    starting_price: Decimal | None = w(DEC)
    stock_ref_price: Decimal | None = w(DEC)
    delta: Decimal | None = w(DEC)
    stock_range_lower: Decimal | None = w(DEC)
    stock_range_upper: Decimal | None = w(DEC)
    override_percentage_constraints: bool = w(BOOL)
    volatility: Decimal | None = w(DEC)
    volatility_type: int | None = w(OPT_INT)
    delta_neutral_order_type: str = w(STR)
    delta_neutral_aux_price: Decimal | None = w(DEC)
    delta_neutral_con_id: int = w(INT, when=_DN)
    delta_neutral_settling_firm: str = w(STR, when=_DN)
    delta_neutral_clearing_account: str = w(STR, when=_DN)
    delta_neutral_clearing_intent: str = w(STR, when=_DN)
    delta_neutral_open_close: str = w(STR, when=_DN)
    delta_neutral_short_sale: bool = w(BOOL, when=_DN)
    delta_neutral_short_sale_slot: int = w(INT, when=_DN)
    delta_neutral_designated_location: str = w(STR, when=_DN)
    continuous_update: bool = w(BOOL)
    reference_price_type: int | None = w(OPT_INT)
    trail_stop_price: Decimal | None = w(DEC)
    trailing_percent: Decimal | None = w(DEC)
    scale_init_level_size: int | None = w(OPT_INT)
    scale_subs_level_size: int | None = w(OPT_INT)
    scale_price_increment: Decimal | None = w(DEC)
    scale_price_adjust_value: Decimal | None = w(DEC, when=_SCALE)
    scale_price_adjust_interval: int | None = w(OPT_INT, when=_SCALE)
    scale_profit_offset: Decimal | None = w(DEC, when=_SCALE)
    scale_auto_reset: bool = w(BOOL, when=_SCALE)
    scale_init_position: int | None = w(OPT_INT, when=_SCALE)
    scale_init_fill_qty: int | None = w(OPT_INT, when=_SCALE)
    scale_random_percent: bool = w(BOOL, when=_SCALE)
    scale_table: str = w(STR)
    active_start_time: str = w(STR)
    active_stop_time: str = w(STR)
    hedge_type: str = w(STR)
    hedge_param: str = w(STR, when=NonEmpty("hedge_type"))
    opt_out_smart_routing: bool = w(BOOL)
    clearing_account: str = w(STR)
    clearing_intent: str = w(STR)
    not_held: bool = w(BOOL)
    delta_neutral_contract: DeltaNeutralContract | None = w(Kind.FLAGGED, item=DeltaNeutralContract)
    algo_strategy: str = w(STR)
    algo_params: tuple[TagValue, ...] = w(Kind.GROUP, item=TagValue, when=NonEmpty("algo_strategy"))
    algo_id: str = w(STR)
    what_if: bool = w(BOOL)
    order_misc_options: str = w(STR)
    solicited: bool = w(BOOL)
    randomize_size: bool = w(BOOL)
    randomize_price: bool = w(BOOL)
    reference_contract_id: int = w(INT, when=OneOf("order_type", PEG_BENCH))
    is_pegged_change_amount_decrease: bool = w(BOOL, when=OneOf("order_type", PEG_BENCH))
    pegged_change_amount: Decimal | None = w(DEC, when=OneOf("order_type", PEG_BENCH))
    reference_change_amount: Decimal | None = w(DEC, when=OneOf("order_type", PEG_BENCH))
    reference_exchange_id: str = w(STR, when=OneOf("order_type", PEG_BENCH))
    conditions: tuple[OrderCondition, ...] = w(Kind.TAGGED, arity=CONDITION_ARITY)
    conditions_ignore_rth: bool = w(BOOL, when=NonEmpty("conditions"))
    conditions_cancel_order: bool = w(BOOL, when=NonEmpty("conditions"))
    adjusted_order_type: str = w(STR)
    trigger_price: Decimal | None = w(DEC)
    lmt_price_offset: Decimal | None = w(DEC)
    adjusted_stop_price: Decimal | None = w(DEC)
    adjusted_stop_limit_price: Decimal | None = w(DEC)
    adjusted_trailing_amount: Decimal | None = w(DEC)
    adjustable_trailing_unit: int = w(INT)
    ext_operator: str = w(STR)
    soft_dollar_tier_name: str = w(STR)
    soft_dollar_tier_value: str = w(STR)
    cash_qty: Decimal | None = w(DEC)
    mifid2_decision_maker: str = w(STR)
    mifid2_decision_algo: str = w(STR)
    mifid2_execution_trader: str = w(STR)
    mifid2_execution_algo: str = w(STR)
    dont_use_auto_price_for_hedge: bool = w(BOOL)
    is_oms_container: bool = w(BOOL)
    discretionary_up_to_limit_price: bool = w(BOOL)
    use_price_mgmt_algo: bool | None = w(OPT_BOOL)
    duration: int | None = w(OPT_INT, since=V_DURATION)
    post_to_ats: int | None = w(OPT_INT, since=V_POST_TO_ATS)
    auto_cancel_parent: bool = w(BOOL, since=V_AUTO_CANCEL_PARENT)
    advanced_error_override: str = w(STR, since=V_ADVANCED_REJECT)
    manual_order_time: str = w(STR, since=V_MANUAL_ORDER_TIME)
    min_trade_qty: int | None = w(
        OPT_INT,
        since=V_PEGBEST_PEGMID,
        when=OneOf("contract.exchange", frozenset({"IBKRATS"})),
    )
    min_compete_size: int | None = w(
        OPT_INT, since=V_PEGBEST_PEGMID, when=OneOf("order_type", PEG_BEST)
    )
    compete_against_best_offset: Decimal | None = w(
        DEC, since=V_PEGBEST_PEGMID, when=OneOf("order_type", PEG_BEST)
    )
    mid_offset_at_whole: Decimal | None = w(
        DEC,
        since=V_PEGBEST_PEGMID,
        when=AnyOf(
            (
                OneOf("order_type", PEG_MID),
                AllOf(
                    (
                        OneOf("order_type", PEG_BEST),
                        OneOf("compete_against_best_offset", frozenset({INFINITY})),
                    )
                ),
            )
        ),
    )
    mid_offset_at_half: Decimal | None = w(
        DEC,
        since=V_PEGBEST_PEGMID,
        when=AnyOf(
            (
                OneOf("order_type", PEG_MID),
                AllOf(
                    (
                        OneOf("order_type", PEG_BEST),
                        OneOf("compete_against_best_offset", frozenset({INFINITY})),
                    )
                ),
            )
        ),
    )


@ROW
class CancelOrder(Inbound, msg_id=4):
    version: int = w(INT, 1)
    order_id: int = w(INT)
    manual_order_cancel_time: str = w(STR, since=V_MANUAL_ORDER_TIME)


@ROW
class ReqOpenOrders(Inbound, msg_id=5):
    version: int = w(INT, 1)


@ROW
class ReqAccountUpdates(Inbound, msg_id=6):
    version: int = w(INT, 2)
    subscribe: bool = w(BOOL)
    acct_code: str = w(STR)


@ROW
class ReqExecutions(Inbound, msg_id=7):
    version: int = w(INT, 3)
    req_id: int = w(INT)
    client_id: int = w(INT)
    acct_code: str = w(STR)
    time: str = w(STR)
    symbol: str = w(STR)
    sec_type: str = w(STR)
    exchange: str = w(STR)
    side: str = w(STR)


@ROW
class ReqIds(Inbound, msg_id=8):
    version: int = w(INT, 1)
    num_ids: int = w(INT)


@ROW
class ReqContractDetails(Inbound, msg_id=9):
    version: int = w(INT, 8)
    req_id: int = w(INT)
    contract: RequestContract = w(Kind.STRUCT, item=RequestContract)
    include_expired: bool = w(BOOL)
    sec_id_type: str = w(STR)
    sec_id: str = w(STR)
    issuer_id: str = w(STR, since=V_BOND_ISSUERID)


@ROW
class ReqAutoOpenOrders(Inbound, msg_id=15):
    version: int = w(INT, 1)
    auto_bind: bool = w(BOOL)


@ROW
class ReqAllOpenOrders(Inbound, msg_id=16):
    version: int = w(INT, 1)


@ROW
class ReqManagedAccts(Inbound, msg_id=17):
    version: int = w(INT, 1)


@ROW
class ReqCurrentTime(Inbound, msg_id=49):
    version: int = w(INT, 1)


@ROW
class ReqGlobalCancel(Inbound, msg_id=58):
    version: int = w(INT, 1)


@ROW
class ReqMarketDataType(Inbound, msg_id=59):
    version: int = w(INT, 1)
    market_data_type: int = w(INT)


@ROW
class ReqPositions(Inbound, msg_id=61):
    version: int = w(INT, 1)


@ROW
class ReqAccountSummary(Inbound, msg_id=62):
    version: int = w(INT, 1)
    req_id: int = w(INT)
    group: str = w(STR)
    tags: str = w(STR)


@ROW
class CancelAccountSummary(Inbound, msg_id=63):
    version: int = w(INT, 1)
    req_id: int = w(INT)


@ROW
class CancelPositions(Inbound, msg_id=64):
    version: int = w(INT, 1)


@ROW
class StartApi(Inbound, msg_id=71):
    version: int = w(INT, 2)
    client_id: int = w(INT)
    optional_capabilities: str = w(STR)


@ROW
class ReqPositionsMulti(Inbound, msg_id=74):
    version: int = w(INT, 1)
    req_id: int = w(INT)
    account: str = w(STR)
    model_code: str = w(STR)


@ROW
class CancelPositionsMulti(Inbound, msg_id=75):
    version: int = w(INT, 1)
    req_id: int = w(INT)


@ROW
class ReqAccountUpdatesMulti(Inbound, msg_id=76):
    version: int = w(INT, 1)
    req_id: int = w(INT)
    account: str = w(STR)
    model_code: str = w(STR)
    ledger_and_nlv: bool = w(BOOL)


@ROW
class CancelAccountUpdatesMulti(Inbound, msg_id=77):
    version: int = w(INT, 1)
    req_id: int = w(INT)


@ROW
class ReqCompletedOrders(Inbound, msg_id=99):
    """No version field: the only field is apiOnly."""

    api_only: bool = w(BOOL)


# --------------------------------------------------------------------------------------------
# Gateway -> client
# --------------------------------------------------------------------------------------------


@ROW
class TickPrice(Outbound, msg_id=1):
    version: int = w(INT, 6)
    req_id: int = w(INT)
    tick_type: int = w(INT)
    price: Decimal | None = w(DEC)
    size: Decimal | None = w(DEC)
    attr_mask: int = w(INT)


@ROW
class TickSize(Outbound, msg_id=2):
    version: int = w(INT, 6)
    req_id: int = w(INT)
    tick_type: int = w(INT)
    size: Decimal | None = w(DEC)


@ROW
class TickGeneric(Outbound, msg_id=45):
    version: int = w(INT, 6)
    req_id: int = w(INT)
    tick_type: int = w(INT)
    value: Decimal | None = w(DEC)


@ROW
class TickString(Outbound, msg_id=46):
    version: int = w(INT, 6)
    req_id: int = w(INT)
    tick_type: int = w(INT)
    value: str = w(STR)


@ROW
class OrderStatus(Outbound, msg_id=3):
    """No version field at these server versions."""

    order_id: int = w(INT)
    status: str = w(STR)
    filled: Decimal | None = w(DEC, Decimal(0))
    remaining: Decimal | None = w(DEC, Decimal(0))
    avg_fill_price: Decimal | None = w(DEC, Decimal(0))
    perm_id: int = w(INT)
    parent_id: int = w(INT)
    last_fill_price: Decimal | None = w(DEC, Decimal(0))
    client_id: int = w(INT)
    why_held: str = w(STR)
    mkt_cap_price: Decimal | None = w(DEC, Decimal(0))


@ROW
class ErrorMsg(Outbound, msg_id=4):
    version: int = w(INT, 2)
    req_id: int = w(INT, -1)
    code: int = w(INT)
    text: str = w(STR)
    advanced_order_reject_json: str = w(STR, since=V_ADVANCED_REJECT)


@ROW
class OpenOrder(Outbound, msg_id=5):
    """135 fields (with the id) for a plain order at 177-178 (136 at 170-176, where faProfile
    is still sent); no version field."""

    order_id: int = w(INT)
    contract: ReplyContract = w(Kind.STRUCT, item=ReplyContract)
    action: str = w(STR)
    total_quantity: Decimal | None = w(DEC, Decimal(0))
    order_type: str = w(STR)
    lmt_price: Decimal | None = w(DEC)
    aux_price: Decimal | None = w(DEC)
    tif: str = w(STR)
    oca_group: str = w(STR)
    account: str = w(STR)
    open_close: str = w(STR)
    origin: int = w(INT)
    order_ref: str = w(STR)
    client_id: int = w(INT)
    perm_id: int = w(INT)
    outside_rth: bool = w(BOOL)
    hidden: bool = w(BOOL)
    discretionary_amt: Decimal | None = w(DEC, Decimal(0))
    good_after_time: str = w(STR)
    shares_allocation: str = w(STR)
    fa_group: str = w(STR)
    fa_method: str = w(STR)
    fa_percentage: str = w(STR)
    fa_profile: str = w(STR, until=V_FA_PROFILE_DESUPPORT)
    model_code: str = w(STR)
    good_till_date: str = w(STR)
    rule80a: str = w(STR)
    percent_offset: Decimal | None = w(DEC)
    settling_firm: str = w(STR)
    short_sale_slot: int = w(INT)
    designated_location: str = w(STR)
    exempt_code: int = w(INT, -1)
    auction_strategy: int = w(INT)
    starting_price: Decimal | None = w(DEC)
    stock_ref_price: Decimal | None = w(DEC)
    delta: Decimal | None = w(DEC)
    stock_range_lower: Decimal | None = w(DEC)
    stock_range_upper: Decimal | None = w(DEC)
    display_size: int | None = w(OPT_INT)
    block_order: bool = w(BOOL)
    sweep_to_fill: bool = w(BOOL)
    all_or_none: bool = w(BOOL)
    min_qty: int | None = w(OPT_INT)
    oca_type: int = w(INT)
    e_trade_only: bool = w(BOOL)
    firm_quote_only: bool = w(BOOL)
    nbbo_price_cap: Decimal | None = w(DEC)
    parent_id: int = w(INT)
    trigger_method: int = w(INT)
    volatility: Decimal | None = w(DEC)
    volatility_type: int | None = w(OPT_INT)
    # A real TWS sends "None" for a plain order, so both decoders read the 8 delta-neutral
    # fields that follow (ibapi orderdecoder.decodeVolOrderParams with readOpenOrderAttribs,
    # ib_async decoder.openOrder), filled as TWS fills them: 0, "", "", "", "?", 0, 0, "".
    delta_neutral_order_type: str = w(STR, "None")
    delta_neutral_aux_price: Decimal | None = w(DEC)
    delta_neutral_con_id: int = w(INT, when=_DN)
    delta_neutral_settling_firm: str = w(STR, when=_DN)
    delta_neutral_clearing_account: str = w(STR, when=_DN)
    delta_neutral_clearing_intent: str = w(STR, when=_DN)
    delta_neutral_open_close: str = w(STR, "?", when=_DN)
    delta_neutral_short_sale: bool = w(BOOL, when=_DN)
    delta_neutral_short_sale_slot: int = w(INT, when=_DN)
    delta_neutral_designated_location: str = w(STR, when=_DN)
    continuous_update: bool = w(BOOL)
    reference_price_type: int | None = w(OPT_INT)
    trail_stop_price: Decimal | None = w(DEC)
    trailing_percent: Decimal | None = w(DEC)
    basis_points: Decimal | None = w(DEC)
    basis_points_type: int | None = w(OPT_INT)
    combo_legs_descrip: str = w(STR)
    combo_legs: tuple[ComboLeg, ...] = w(Kind.GROUP, item=ComboLeg)
    order_combo_legs: tuple[OrderComboLeg, ...] = w(Kind.GROUP, item=OrderComboLeg)
    smart_combo_routing_params: tuple[TagValue, ...] = w(Kind.GROUP, item=TagValue)
    scale_init_level_size: int | None = w(OPT_INT)
    scale_subs_level_size: int | None = w(OPT_INT)
    scale_price_increment: Decimal | None = w(DEC)
    scale_price_adjust_value: Decimal | None = w(DEC, when=_SCALE)
    scale_price_adjust_interval: int | None = w(OPT_INT, when=_SCALE)
    scale_profit_offset: Decimal | None = w(DEC, when=_SCALE)
    scale_auto_reset: bool = w(BOOL, when=_SCALE)
    scale_init_position: int | None = w(OPT_INT, when=_SCALE)
    scale_init_fill_qty: int | None = w(OPT_INT, when=_SCALE)
    scale_random_percent: bool = w(BOOL, when=_SCALE)
    hedge_type: str = w(STR)
    hedge_param: str = w(STR, when=NonEmpty("hedge_type"))
    opt_out_smart_routing: bool = w(BOOL)
    clearing_account: str = w(STR)
    clearing_intent: str = w(STR)
    not_held: bool = w(BOOL)
    delta_neutral_contract: DeltaNeutralContract | None = w(Kind.FLAGGED, item=DeltaNeutralContract)
    algo_strategy: str = w(STR)
    algo_params: tuple[TagValue, ...] = w(Kind.GROUP, item=TagValue, when=NonEmpty("algo_strategy"))
    solicited: bool = w(BOOL)
    what_if: bool = w(BOOL)
    status: str = w(STR)
    init_margin_before: str = w(STR)
    maint_margin_before: str = w(STR)
    equity_with_loan_before: str = w(STR)
    init_margin_change: str = w(STR)
    maint_margin_change: str = w(STR)
    equity_with_loan_change: str = w(STR)
    init_margin_after: str = w(STR)
    maint_margin_after: str = w(STR)
    equity_with_loan_after: str = w(STR)
    commission: Decimal | None = w(DEC)
    min_commission: Decimal | None = w(DEC)
    max_commission: Decimal | None = w(DEC)
    commission_currency: str = w(STR)
    warning_text: str = w(STR)
    randomize_size: bool = w(BOOL)
    randomize_price: bool = w(BOOL)
    reference_contract_id: int = w(INT, when=OneOf("order_type", PEG_BENCH))
    is_pegged_change_amount_decrease: bool = w(BOOL, when=OneOf("order_type", PEG_BENCH))
    pegged_change_amount: Decimal | None = w(DEC, when=OneOf("order_type", PEG_BENCH))
    reference_change_amount: Decimal | None = w(DEC, when=OneOf("order_type", PEG_BENCH))
    reference_exchange_id: str = w(STR, when=OneOf("order_type", PEG_BENCH))
    conditions: tuple[OrderCondition, ...] = w(Kind.TAGGED, arity=CONDITION_ARITY)
    conditions_ignore_rth: bool = w(BOOL, when=NonEmpty("conditions"))
    conditions_cancel_order: bool = w(BOOL, when=NonEmpty("conditions"))
    adjusted_order_type: str = w(STR, "None")
    trigger_price: Decimal | None = w(DEC)
    stop_price: Decimal | None = w(DEC)  # trailStopPrice again; clients keep this one
    lmt_price_offset: Decimal | None = w(DEC)
    adjusted_stop_price: Decimal | None = w(DEC)
    adjusted_stop_limit_price: Decimal | None = w(DEC)
    adjusted_trailing_amount: Decimal | None = w(DEC)
    adjustable_trailing_unit: int = w(INT)
    soft_dollar_tier_name: str = w(STR)
    soft_dollar_tier_value: str = w(STR)
    soft_dollar_tier_display_name: str = w(STR)
    cash_qty: Decimal | None = w(DEC)
    dont_use_auto_price_for_hedge: bool = w(BOOL)
    is_oms_container: bool = w(BOOL)
    discretionary_up_to_limit_price: bool = w(BOOL)
    use_price_mgmt_algo: bool | None = w(OPT_BOOL, False)
    duration: int | None = w(OPT_INT, since=V_DURATION)
    post_to_ats: int | None = w(OPT_INT, since=V_POST_TO_ATS)
    auto_cancel_parent: bool = w(BOOL, since=V_AUTO_CANCEL_PARENT)
    min_trade_qty: int | None = w(OPT_INT, since=V_PEGBEST_PEGMID)
    min_compete_size: int | None = w(OPT_INT, since=V_PEGBEST_PEGMID)
    compete_against_best_offset: Decimal | None = w(DEC, since=V_PEGBEST_PEGMID)
    mid_offset_at_whole: Decimal | None = w(DEC, since=V_PEGBEST_PEGMID)
    mid_offset_at_half: Decimal | None = w(DEC, since=V_PEGBEST_PEGMID)


@ROW
class UpdateAccountValue(Outbound, msg_id=6):
    version: int = w(INT, 2)
    key: str = w(STR)
    value: str = w(STR)
    currency: str = w(STR)
    account: str = w(STR)


@ROW
class UpdatePortfolio(Outbound, msg_id=7):
    version: int = w(INT, 8)
    contract: PortfolioContract = w(Kind.STRUCT, item=PortfolioContract)
    position: Decimal | None = w(DEC, Decimal(0))
    market_price: Decimal | None = w(DEC, Decimal(0))
    market_value: Decimal | None = w(DEC, Decimal(0))
    average_cost: Decimal | None = w(DEC, Decimal(0))
    unrealized_pnl: Decimal | None = w(DEC, Decimal(0))
    realized_pnl: Decimal | None = w(DEC, Decimal(0))
    account: str = w(STR)


@ROW
class UpdateAccountTime(Outbound, msg_id=8):
    version: int = w(INT, 1)
    time_stamp: str = w(STR)


@ROW
class NextValidId(Outbound, msg_id=9):
    version: int = w(INT, 1)
    order_id: int = w(INT)


@ROW
class ContractData(Outbound, msg_id=10):
    """Below 164 a version field leads and two obsolete size fields appear."""

    version: int = w(INT, 8, until=V_SIZE_RULES)
    req_id: int = w(INT)
    symbol: str = w(STR)
    sec_type: str = w(STR)
    last_trade_date: str = w(STR)  # "YYYYMMDD[ HH:MM TZ]"
    strike: Decimal | None = w(DEC, Decimal(0))
    right: str = w(STR)
    exchange: str = w(STR)
    currency: str = w(STR)
    local_symbol: str = w(STR)
    market_name: str = w(STR)
    trading_class: str = w(STR)
    con_id: int = w(INT)
    min_tick: Decimal | None = w(DEC)
    md_size_multiplier: int = w(INT, 1, until=V_SIZE_RULES)
    multiplier: str = w(STR)
    order_types: str = w(STR)
    valid_exchanges: str = w(STR)
    price_magnifier: int = w(INT, 1)
    under_con_id: int = w(INT)
    long_name: str = w(STR)
    primary_exchange: str = w(STR)
    contract_month: str = w(STR)
    industry: str = w(STR)
    category: str = w(STR)
    subcategory: str = w(STR)
    time_zone_id: str = w(STR)
    trading_hours: str = w(STR)
    liquid_hours: str = w(STR)
    ev_rule: str = w(STR)
    ev_multiplier: str = w(STR)
    sec_id_list: tuple[TagValue, ...] = w(Kind.GROUP, item=TagValue)
    agg_group: int = w(INT, 1)
    under_symbol: str = w(STR)
    under_sec_type: str = w(STR)
    market_rule_ids: str = w(STR)
    real_expiration_date: str = w(STR)
    stock_type: str = w(STR)
    size_min_tick: Decimal | None = w(DEC, since=V_FRACTIONAL_SIZE, until=V_SIZE_RULES)
    min_size: Decimal | None = w(DEC, since=V_SIZE_RULES)
    size_increment: Decimal | None = w(DEC, since=V_SIZE_RULES)
    suggested_size_increment: Decimal | None = w(DEC, since=V_SIZE_RULES)


@ROW
class ExecDetails(Outbound, msg_id=11):
    """No version field; reqId is -1 for live fills."""

    req_id: int = w(INT, -1)
    order_id: int = w(INT)
    contract: ReplyContract = w(Kind.STRUCT, item=ReplyContract)
    exec_id: str = w(STR)
    time: str = w(STR)
    acct_number: str = w(STR)
    exchange: str = w(STR)
    side: str = w(STR)
    shares: Decimal | None = w(DEC, Decimal(0))
    price: Decimal | None = w(DEC, Decimal(0))
    perm_id: int = w(INT)
    client_id: int = w(INT)
    liquidation: int = w(INT)
    cum_qty: Decimal | None = w(DEC, Decimal(0))
    avg_price: Decimal | None = w(DEC, Decimal(0))
    order_ref: str = w(STR)
    ev_rule: str = w(STR)
    ev_multiplier: Decimal | None = w(DEC)
    model_code: str = w(STR)
    last_liquidity: int = w(INT)
    pending_price_revision: bool = w(BOOL, since=V_PENDING_PRICE_REVISION)


@ROW
class ManagedAccounts(Outbound, msg_id=15):
    version: int = w(INT, 1)
    accounts: str = w(STR)


@ROW
class CurrentTime(Outbound, msg_id=49):
    version: int = w(INT, 1)
    time: int = w(INT)


@ROW
class ContractDataEnd(Outbound, msg_id=52):
    version: int = w(INT, 1)
    req_id: int = w(INT)


@ROW
class OpenOrderEnd(Outbound, msg_id=53):
    version: int = w(INT, 1)


@ROW
class AccountDownloadEnd(Outbound, msg_id=54):
    version: int = w(INT, 1)
    account: str = w(STR)


@ROW
class ExecDetailsEnd(Outbound, msg_id=55):
    version: int = w(INT, 1)
    req_id: int = w(INT)


@ROW
class TickSnapshotEnd(Outbound, msg_id=57):
    version: int = w(INT, 1)
    req_id: int = w(INT)


@ROW
class MarketDataType(Outbound, msg_id=58):
    version: int = w(INT, 1)
    req_id: int = w(INT)
    market_data_type: int = w(INT)


@ROW
class CommissionReport(Outbound, msg_id=59):
    version: int = w(INT, 1)
    exec_id: str = w(STR)
    commission: Decimal | None = w(DEC, Decimal(0))
    currency: str = w(STR)
    realized_pnl: Decimal | None = w(DEC_MAX)
    yield_: Decimal | None = w(DEC_MAX)
    yield_redemption_date: int | None = w(OPT_INT)


@ROW
class Position(Outbound, msg_id=61):
    version: int = w(INT, 3)
    account: str = w(STR)
    contract: ReplyContract = w(Kind.STRUCT, item=ReplyContract)
    position: Decimal | None = w(DEC, Decimal(0))
    avg_cost: Decimal | None = w(DEC, Decimal(0))


@ROW
class PositionEnd(Outbound, msg_id=62):
    version: int = w(INT, 1)


@ROW
class AccountSummary(Outbound, msg_id=63):
    version: int = w(INT, 1)
    req_id: int = w(INT)
    account: str = w(STR)
    tag: str = w(STR)
    value: str = w(STR)
    currency: str = w(STR)


@ROW
class AccountSummaryEnd(Outbound, msg_id=64):
    version: int = w(INT, 1)
    req_id: int = w(INT)


@ROW
class PositionMulti(Outbound, msg_id=71):
    version: int = w(INT, 1)
    req_id: int = w(INT)
    account: str = w(STR)
    contract: ReplyContract = w(Kind.STRUCT, item=ReplyContract)
    position: Decimal | None = w(DEC, Decimal(0))
    avg_cost: Decimal | None = w(DEC, Decimal(0))
    model_code: str = w(STR)


@ROW
class PositionMultiEnd(Outbound, msg_id=72):
    version: int = w(INT, 1)
    req_id: int = w(INT)


@ROW
class AccountUpdateMulti(Outbound, msg_id=73):
    version: int = w(INT, 1)
    req_id: int = w(INT)
    account: str = w(STR)
    model_code: str = w(STR)
    key: str = w(STR)
    value: str = w(STR)
    currency: str = w(STR)


@ROW
class AccountUpdateMultiEnd(Outbound, msg_id=74):
    version: int = w(INT, 1)
    req_id: int = w(INT)


@ROW
class TickReqParams(Outbound, msg_id=81):
    """No version field."""

    req_id: int = w(INT)
    min_tick: Decimal | None = w(DEC)
    bbo_exchange: str = w(STR)
    snapshot_permissions: int = w(INT)


@ROW
class CompletedOrder(Outbound, msg_id=101):
    """Like openOrder without orderId/clientId and several order fields; never unsolicited."""

    contract: ReplyContract = w(Kind.STRUCT, item=ReplyContract)
    action: str = w(STR)
    total_quantity: Decimal | None = w(DEC, Decimal(0))
    order_type: str = w(STR)
    lmt_price: Decimal | None = w(DEC)
    aux_price: Decimal | None = w(DEC)
    tif: str = w(STR)
    oca_group: str = w(STR)
    account: str = w(STR)
    open_close: str = w(STR)
    origin: int = w(INT)
    order_ref: str = w(STR)
    perm_id: int = w(INT)
    outside_rth: bool = w(BOOL)
    hidden: bool = w(BOOL)
    discretionary_amt: Decimal | None = w(DEC, Decimal(0))
    good_after_time: str = w(STR)
    fa_group: str = w(STR)
    fa_method: str = w(STR)
    fa_percentage: str = w(STR)
    fa_profile: str = w(STR, until=V_FA_PROFILE_DESUPPORT)
    model_code: str = w(STR)
    good_till_date: str = w(STR)
    rule80a: str = w(STR)
    percent_offset: Decimal | None = w(DEC)
    settling_firm: str = w(STR)
    short_sale_slot: int = w(INT)
    designated_location: str = w(STR)
    exempt_code: int = w(INT, -1)
    starting_price: Decimal | None = w(DEC)
    stock_ref_price: Decimal | None = w(DEC)
    delta: Decimal | None = w(DEC)
    stock_range_lower: Decimal | None = w(DEC)
    stock_range_upper: Decimal | None = w(DEC)
    display_size: int | None = w(OPT_INT)
    sweep_to_fill: bool = w(BOOL)
    all_or_none: bool = w(BOOL)
    min_qty: int | None = w(OPT_INT)
    oca_type: int = w(INT)
    trigger_method: int = w(INT)
    volatility: Decimal | None = w(DEC)
    volatility_type: int | None = w(OPT_INT)
    # "None" as in openOrder; completedOrder carries 4 of the delta-neutral fields
    # (ibapi decodeVolOrderParams without readOpenOrderAttribs, ib_async completedOrder)
    delta_neutral_order_type: str = w(STR, "None")
    delta_neutral_aux_price: Decimal | None = w(DEC)
    delta_neutral_con_id: int = w(INT, when=_DN)
    delta_neutral_short_sale: bool = w(BOOL, when=_DN)
    delta_neutral_short_sale_slot: int = w(INT, when=_DN)
    delta_neutral_designated_location: str = w(STR, when=_DN)
    continuous_update: bool = w(BOOL)
    reference_price_type: int | None = w(OPT_INT)
    trail_stop_price: Decimal | None = w(DEC)
    trailing_percent: Decimal | None = w(DEC)
    combo_legs_descrip: str = w(STR)
    combo_legs: tuple[ComboLeg, ...] = w(Kind.GROUP, item=ComboLeg)
    order_combo_legs: tuple[OrderComboLeg, ...] = w(Kind.GROUP, item=OrderComboLeg)
    smart_combo_routing_params: tuple[TagValue, ...] = w(Kind.GROUP, item=TagValue)
    scale_init_level_size: int | None = w(OPT_INT)
    scale_subs_level_size: int | None = w(OPT_INT)
    scale_price_increment: Decimal | None = w(DEC)
    scale_price_adjust_value: Decimal | None = w(DEC, when=_SCALE)
    scale_price_adjust_interval: int | None = w(OPT_INT, when=_SCALE)
    scale_profit_offset: Decimal | None = w(DEC, when=_SCALE)
    scale_auto_reset: bool = w(BOOL, when=_SCALE)
    scale_init_position: int | None = w(OPT_INT, when=_SCALE)
    scale_init_fill_qty: int | None = w(OPT_INT, when=_SCALE)
    scale_random_percent: bool = w(BOOL, when=_SCALE)
    hedge_type: str = w(STR)
    hedge_param: str = w(STR, when=NonEmpty("hedge_type"))
    clearing_account: str = w(STR)
    clearing_intent: str = w(STR)
    not_held: bool = w(BOOL)
    delta_neutral_contract: DeltaNeutralContract | None = w(Kind.FLAGGED, item=DeltaNeutralContract)
    algo_strategy: str = w(STR)
    algo_params: tuple[TagValue, ...] = w(Kind.GROUP, item=TagValue, when=NonEmpty("algo_strategy"))
    solicited: bool = w(BOOL)
    status: str = w(STR)
    randomize_size: bool = w(BOOL)
    randomize_price: bool = w(BOOL)
    reference_contract_id: int = w(INT, when=OneOf("order_type", PEG_BENCH))
    is_pegged_change_amount_decrease: bool = w(BOOL, when=OneOf("order_type", PEG_BENCH))
    pegged_change_amount: Decimal | None = w(DEC, when=OneOf("order_type", PEG_BENCH))
    reference_change_amount: Decimal | None = w(DEC, when=OneOf("order_type", PEG_BENCH))
    reference_exchange_id: str = w(STR, when=OneOf("order_type", PEG_BENCH))
    conditions: tuple[OrderCondition, ...] = w(Kind.TAGGED, arity=CONDITION_ARITY)
    conditions_ignore_rth: bool = w(BOOL, when=NonEmpty("conditions"))
    conditions_cancel_order: bool = w(BOOL, when=NonEmpty("conditions"))
    stop_price: Decimal | None = w(DEC)
    lmt_price_offset: Decimal | None = w(DEC)
    cash_qty: Decimal | None = w(DEC)
    dont_use_auto_price_for_hedge: bool = w(BOOL)
    is_oms_container: bool = w(BOOL)
    auto_cancel_date: str = w(STR)
    filled_quantity: Decimal | None = w(DEC)
    ref_futures_con_id: int = w(INT)
    auto_cancel_parent: bool = w(BOOL)
    shareholder: str = w(STR)
    imbalance_only: bool = w(BOOL)
    route_marketable_to_bbo: bool = w(BOOL)
    parent_perm_id: int = w(INT)
    completed_time: str = w(STR)
    completed_status: str = w(STR)
    min_trade_qty: int | None = w(OPT_INT, since=V_PEGBEST_PEGMID)
    min_compete_size: int | None = w(OPT_INT, since=V_PEGBEST_PEGMID)
    compete_against_best_offset: Decimal | None = w(DEC, since=V_PEGBEST_PEGMID)
    mid_offset_at_whole: Decimal | None = w(DEC, since=V_PEGBEST_PEGMID)
    mid_offset_at_half: Decimal | None = w(DEC, since=V_PEGBEST_PEGMID)


@ROW
class CompletedOrdersEnd(Outbound, msg_id=102):
    """Just the message id."""


# --------------------------------------------------------------------------------------------
# The rest of the API: reference data, account PnL, options, news, scanners, WSH, FA, display
# groups. Each layout follows IB's own client: requests as `ibapi/client.py` (10.50) and
# `ib_async/client.py` (2.1) send them, replies as `ibapi/decoder.py` and `ib_async/decoder.py`
# read them (the `processXxx` / handler named in each docstring). Rows with no version field
# have none on the wire either.
# --------------------------------------------------------------------------------------------

V_LINKING: Final = 70  # display groups, verify, option-calc and scanner option strings
V_SERVICE_DATA_TYPE: Final = 120  # mktDepthExchanges: listingExch, serviceDataType, aggGroup
V_WSH_EVENT_DATA_FILTERS: Final = 171
V_WSH_EVENT_DATA_FILTERS_DATE: Final = 173


@ROW
class OptionContract:
    """exerciseOptions' contract (ibapi `exerciseOptions`): the reply layout, eleven fields,
    no primaryExchange."""

    con_id: int = w(INT)
    symbol: str = w(STR)
    sec_type: str = w(STR)
    last_trade_date: str = w(STR)
    strike: Decimal | None = w(DEC)
    right: str = w(STR)
    multiplier: str = w(STR)
    exchange: str = w(STR)
    currency: str = w(STR)
    local_symbol: str = w(STR)
    trading_class: str = w(STR)


@ROW
class ReqNewsBulletins(Inbound, msg_id=12):
    version: int = w(INT, 1)
    all_msgs: bool = w(BOOL)


@ROW
class CancelNewsBulletins(Inbound, msg_id=13):
    version: int = w(INT, 1)


@ROW
class SetServerLogLevel(Inbound, msg_id=14):
    version: int = w(INT, 1)
    log_level: int = w(INT)


@ROW
class RequestFA(Inbound, msg_id=18):
    version: int = w(INT, 1)
    fa_data_type: int = w(INT)  # 1 groups, 3 aliases (2, profiles, is refused at >= 177)


@ROW
class ReplaceFA(Inbound, msg_id=19):
    """reqId trails the xml (MIN_SERVER_VER_REPLACE_FA_END = 157, our lowest version)."""

    version: int = w(INT, 1)
    fa_data_type: int = w(INT)
    cxml: str = w(STR)
    req_id: int = w(INT)


@ROW
class ExerciseOptions(Inbound, msg_id=21):
    """ibapi client.py `exerciseOptions` (VERSION 2; conId and tradingClass from
    MIN_SERVER_VER_TRADING_CLASS 68) and ib_async client.py `exerciseOptions` (the same
    sixteen fields). manualOrderTime (180), customerAccount (183) and professionalCustomer
    (184) come after `override` on newer servers: none is inside our version window. The
    protobuf form (client_utils.py `createExerciseOptionsRequestProto`, from 211) carries
    the request id as `orderId`."""

    version: int = w(INT, 2)
    req_id: int = w(INT)
    contract: OptionContract = w(Kind.STRUCT, item=OptionContract)
    exercise_action: int = w(INT)  # 1 exercise, 2 lapse
    exercise_quantity: int = w(INT)
    account: str = w(STR)
    override: int = w(INT)


@ROW
class ReqScannerSubscription(Inbound, msg_id=22):
    """No version field at >= MIN_SERVER_VER_SCANNER_GENERIC_OPTS (143). Both option lists
    travel as `tag=value;` text (ib_async formats its TagValue lists so)."""

    req_id: int = w(INT)
    number_of_rows: int | None = w(OPT_INT)
    instrument: str = w(STR)
    location_code: str = w(STR)
    scan_code: str = w(STR)
    above_price: Decimal | None = w(DEC)
    below_price: Decimal | None = w(DEC)
    above_volume: int | None = w(OPT_INT)
    market_cap_above: Decimal | None = w(DEC)
    market_cap_below: Decimal | None = w(DEC)
    moody_rating_above: str = w(STR)
    moody_rating_below: str = w(STR)
    sp_rating_above: str = w(STR)
    sp_rating_below: str = w(STR)
    maturity_date_above: str = w(STR)
    maturity_date_below: str = w(STR)
    coupon_rate_above: Decimal | None = w(DEC)
    coupon_rate_below: Decimal | None = w(DEC)
    exclude_convertible: bool = w(BOOL)
    average_option_volume_above: int | None = w(OPT_INT)
    scanner_setting_pairs: str = w(STR)
    stock_type_filter: str = w(STR)
    filter_options: str = w(STR)
    options: str = w(STR)


@ROW
class CancelScannerSubscription(Inbound, msg_id=23):
    version: int = w(INT, 1)
    req_id: int = w(INT)


@ROW
class ReqScannerParameters(Inbound, msg_id=24):
    version: int = w(INT, 1)


@ROW
class ReqCalcImpliedVolat(Inbound, msg_id=54):
    """ibapi sends the options as one `tag=value;` string; ib_async sends a count before it
    (`len(implVolOptions), implVolOptions`), one field more, which the gateway tolerates as a
    trailing field (it then reads the count as the options text)."""

    version: int = w(INT, 3)
    req_id: int = w(INT)
    contract: RequestContract = w(Kind.STRUCT, item=RequestContract)
    option_price: Decimal | None = w(DEC)
    under_price: Decimal | None = w(DEC)
    options: str = w(STR)


@ROW
class ReqCalcOptionPrice(Inbound, msg_id=55):
    """Like ReqCalcImpliedVolat, with the volatility where the option price was."""

    version: int = w(INT, 3)
    req_id: int = w(INT)
    contract: RequestContract = w(Kind.STRUCT, item=RequestContract)
    volatility: Decimal | None = w(DEC)
    under_price: Decimal | None = w(DEC)
    options: str = w(STR)


@ROW
class CancelCalcImpliedVolat(Inbound, msg_id=56):
    version: int = w(INT, 1)
    req_id: int = w(INT)


@ROW
class CancelCalcOptionPrice(Inbound, msg_id=57):
    version: int = w(INT, 1)
    req_id: int = w(INT)


@ROW
class VerifyRequest(Inbound, msg_id=65):
    version: int = w(INT, 1)
    api_name: str = w(STR)
    api_version: str = w(STR)


@ROW
class VerifyMessage(Inbound, msg_id=66):
    version: int = w(INT, 1)
    api_data: str = w(STR)


@ROW
class QueryDisplayGroups(Inbound, msg_id=67):
    version: int = w(INT, 1)
    req_id: int = w(INT)


@ROW
class SubscribeToGroupEvents(Inbound, msg_id=68):
    version: int = w(INT, 1)
    req_id: int = w(INT)
    group_id: int = w(INT)


@ROW
class UpdateDisplayGroup(Inbound, msg_id=69):
    version: int = w(INT, 1)
    req_id: int = w(INT)
    contract_info: str = w(STR)


@ROW
class UnsubscribeFromGroupEvents(Inbound, msg_id=70):
    version: int = w(INT, 1)
    req_id: int = w(INT)


@ROW
class VerifyAndAuthRequest(Inbound, msg_id=72):
    version: int = w(INT, 1)
    api_name: str = w(STR)
    api_version: str = w(STR)
    opaque_isv_key: str = w(STR)


@ROW
class VerifyAndAuthMessage(Inbound, msg_id=73):
    version: int = w(INT, 1)
    api_data: str = w(STR)
    xyz_response: str = w(STR)


@ROW
class ReqSecDefOptParams(Inbound, msg_id=78):
    req_id: int = w(INT)
    underlying_symbol: str = w(STR)
    fut_fop_exchange: str = w(STR)
    underlying_sec_type: str = w(STR)
    underlying_con_id: int = w(INT)


@ROW
class ReqSoftDollarTiers(Inbound, msg_id=79):
    req_id: int = w(INT)


@ROW
class ReqFamilyCodes(Inbound, msg_id=80):
    """Just the message id."""


@ROW
class ReqMatchingSymbols(Inbound, msg_id=81):
    req_id: int = w(INT)
    pattern: str = w(STR)


@ROW
class ReqMktDepthExchanges(Inbound, msg_id=82):
    """Just the message id."""


@ROW
class ReqSmartComponents(Inbound, msg_id=83):
    req_id: int = w(INT)
    bbo_exchange: str = w(STR)


@ROW
class ReqNewsArticle(Inbound, msg_id=84):
    req_id: int = w(INT)
    provider_code: str = w(STR)
    article_id: str = w(STR)
    options: str = w(STR)  # MIN_SERVER_VER_NEWS_QUERY_ORIGINS (128)


@ROW
class ReqNewsProviders(Inbound, msg_id=85):
    """Just the message id."""


@ROW
class ReqHistoricalNews(Inbound, msg_id=86):
    req_id: int = w(INT)
    con_id: int = w(INT)
    provider_codes: str = w(STR)  # "BRFG+DJNL"
    start_date_time: str = w(STR)
    end_date_time: str = w(STR)
    total_results: int = w(INT)
    options: str = w(STR)


@ROW
class ReqMarketRule(Inbound, msg_id=91):
    market_rule_id: int = w(INT)


@ROW
class ReqPnL(Inbound, msg_id=92):
    req_id: int = w(INT)
    account: str = w(STR)
    model_code: str = w(STR)


@ROW
class CancelPnL(Inbound, msg_id=93):
    req_id: int = w(INT)


@ROW
class ReqPnLSingle(Inbound, msg_id=94):
    req_id: int = w(INT)
    account: str = w(STR)
    model_code: str = w(STR)
    con_id: int = w(INT)


@ROW
class CancelPnLSingle(Inbound, msg_id=95):
    req_id: int = w(INT)


@ROW
class ReqWshMetaData(Inbound, msg_id=100):
    req_id: int = w(INT)


@ROW
class CancelWshMetaData(Inbound, msg_id=101):
    req_id: int = w(INT)


@ROW
class ReqWshEventData(Inbound, msg_id=102):
    """ib_async sends this one with makeEmpty=False: an unset conId is 2147483647."""

    req_id: int = w(INT)
    con_id: int | None = w(OPT_INT)
    filter: str = w(STR, since=V_WSH_EVENT_DATA_FILTERS)
    fill_watchlist: bool = w(BOOL, since=V_WSH_EVENT_DATA_FILTERS)
    fill_portfolio: bool = w(BOOL, since=V_WSH_EVENT_DATA_FILTERS)
    fill_competitors: bool = w(BOOL, since=V_WSH_EVENT_DATA_FILTERS)
    start_date: str = w(STR, since=V_WSH_EVENT_DATA_FILTERS_DATE)
    end_date: str = w(STR, since=V_WSH_EVENT_DATA_FILTERS_DATE)
    total_limit: int | None = w(OPT_INT, since=V_WSH_EVENT_DATA_FILTERS_DATE)


@ROW
class CancelWshEventData(Inbound, msg_id=103):
    req_id: int = w(INT)


@ROW
class ReqUserInfo(Inbound, msg_id=104):
    req_id: int = w(INT)


# Requests IB's client sends only as protobuf (client.py cancelContractData,
# cancelHistoricalTicks from 215, reqConfig from 219, updateConfig from 221): no text layout
# exists; the row is the request id, which is all the simulator reads of them.


@ROW
class CancelContractData(Inbound, msg_id=106):
    req_id: int = w(INT)


@ROW
class CancelHistoricalTicks(Inbound, msg_id=107):
    req_id: int = w(INT)


@ROW
class ReqConfig(Inbound, msg_id=108):
    req_id: int = w(INT)


@ROW
class UpdateConfig(Inbound, msg_id=109):
    req_id: int = w(INT)


# ---- replies --------------------------------------------------------------------------------


@ROW
class UpdateNewsBulletin(Outbound, msg_id=14):
    """ibapi: wrap=updateNewsBulletin (msgId, msgType, message, originExch after the version);
    ib_async: wrap("updateNewsBulletin", [int, int, str, str])."""

    version: int = w(INT, 1)
    news_msg_id: int = w(INT)
    news_msg_type: int = w(INT)  # 1 regular, 2 exchange unavailable, 3 exchange available
    message: str = w(STR)
    origin_exchange: str = w(STR)


@ROW
class ReceiveFA(Outbound, msg_id=16):
    """ibapi: wrap=receiveFA(faData, cxml); ib_async: wrap("receiveFA", [int, str])."""

    version: int = w(INT, 1)
    fa_data_type: int = w(INT)
    cxml: str = w(STR)


@ROW
class ScannerParameters(Outbound, msg_id=19):
    """ibapi: wrap=scannerParameters(xml); ib_async: wrap("scannerParameters", [str])."""

    version: int = w(INT, 1)
    xml: str = w(STR)


@ROW
class ScanDataItem:
    """One row of scannerData (ibapi `processScannerDataMsg`, ib_async `scannerData`)."""

    rank: int = w(INT)
    con_id: int = w(INT)
    symbol: str = w(STR)
    sec_type: str = w(STR)
    last_trade_date: str = w(STR)
    strike: Decimal | None = w(DEC, Decimal(0))
    right: str = w(STR)
    exchange: str = w(STR)
    currency: str = w(STR)
    local_symbol: str = w(STR)
    market_name: str = w(STR)
    trading_class: str = w(STR)
    distance: str = w(STR)
    benchmark: str = w(STR)
    projection: str = w(STR)
    legs_str: str = w(STR)


@ROW
class ScannerData(Outbound, msg_id=20):
    """All rows of one scan in one message; both clients end the scan after it."""

    version: int = w(INT, 3)
    req_id: int = w(INT)
    items: tuple[ScanDataItem, ...] = w(Kind.GROUP, item=ScanDataItem)


@ROW
class TickOptionComputation(Outbound, msg_id=21):
    """No version field at >= MIN_SERVER_VER_PRICE_BASED_VOLATILITY (156), and every field
    present (ibapi `processTickOptionComputationMsg`: version >= 6; ib_async unpacks exactly
    eight values after tickAttrib). "Not computed" is -1 (vol, prices) or -2 (greeks)."""

    req_id: int = w(INT)
    tick_type: int = w(INT)  # 13 model; 53 / 54 for the IV / price calculators' replies
    tick_attrib: int = w(INT)  # 0 return-based, 1 price-based
    implied_vol: Decimal | None = w(DEC)
    delta: Decimal | None = w(DEC)
    opt_price: Decimal | None = w(DEC)
    pv_dividend: Decimal | None = w(DEC)
    gamma: Decimal | None = w(DEC)
    vega: Decimal | None = w(DEC)
    theta: Decimal | None = w(DEC)
    und_price: Decimal | None = w(DEC)


@ROW
class VerifyCompleted(Outbound, msg_id=66):
    """ibapi: wrap=verifyCompleted(isSuccessful, errorText); ib_async: [bool, str]."""

    version: int = w(INT, 1)
    is_successful: bool = w(BOOL)
    error_text: str = w(STR)


@ROW
class DisplayGroupList(Outbound, msg_id=67):
    """ibapi: wrap=displayGroupList(reqId, groups); groups is `1|2|3...`."""

    version: int = w(INT, 1)
    req_id: int = w(INT)
    groups: str = w(STR)


@ROW
class DisplayGroupUpdated(Outbound, msg_id=68):
    version: int = w(INT, 1)
    req_id: int = w(INT)
    contract_info: str = w(STR)  # "conId@exchange", or "none"


@ROW
class Expiration:
    value: str = w(STR)


@ROW
class Strike:
    value: Decimal | None = w(DEC)


@ROW
class SecurityDefinitionOptionParameter(Outbound, msg_id=75):
    """ibapi `processSecurityDefinitionOptionParameterMsg`: no version field; expirations
    and strikes each after their count."""

    req_id: int = w(INT)
    exchange: str = w(STR)
    underlying_con_id: int = w(INT)
    trading_class: str = w(STR)
    multiplier: str = w(STR)
    expirations: tuple[Expiration, ...] = w(Kind.GROUP, item=Expiration)
    strikes: tuple[Strike, ...] = w(Kind.GROUP, item=Strike)


@ROW
class SecurityDefinitionOptionParameterEnd(Outbound, msg_id=76):
    req_id: int = w(INT)


@ROW
class SoftDollarTier:
    name: str = w(STR)
    value: str = w(STR)
    display_name: str = w(STR)


@ROW
class SoftDollarTiers(Outbound, msg_id=77):
    req_id: int = w(INT)
    tiers: tuple[SoftDollarTier, ...] = w(Kind.GROUP, item=SoftDollarTier)


@ROW
class FamilyCode:
    account_id: str = w(STR)
    family_code: str = w(STR)


@ROW
class FamilyCodes(Outbound, msg_id=78):
    codes: tuple[FamilyCode, ...] = w(Kind.GROUP, item=FamilyCode)


@ROW
class DerivativeSecType:
    value: str = w(STR)


@ROW
class ContractDescription:
    """ibapi `processSymbolSamplesMsg`: description and issuerId close each item at >= 176."""

    con_id: int = w(INT)
    symbol: str = w(STR)
    sec_type: str = w(STR)
    primary_exchange: str = w(STR)
    currency: str = w(STR)
    derivative_sec_types: tuple[DerivativeSecType, ...] = w(Kind.GROUP, item=DerivativeSecType)
    description: str = w(STR, since=V_BOND_ISSUERID)
    issuer_id: str = w(STR, since=V_BOND_ISSUERID)


@ROW
class SymbolSamples(Outbound, msg_id=79):
    req_id: int = w(INT)
    descriptions: tuple[ContractDescription, ...] = w(Kind.GROUP, item=ContractDescription)


@ROW
class DepthMktDataDescription:
    exchange: str = w(STR)
    sec_type: str = w(STR)
    listing_exchange: str = w(STR)
    service_data_type: str = w(STR)  # "Deep" / "Deep2"
    agg_group: int = w(INT)  # never empty: ib_async int()s it


@ROW
class MktDepthExchanges(Outbound, msg_id=80):
    """At >= MIN_SERVER_VER_SERVICE_DATA_TYPE (120) each item has five fields."""

    descriptions: tuple[DepthMktDataDescription, ...] = w(Kind.GROUP, item=DepthMktDataDescription)


@ROW
class SmartComponent:
    bit_number: int = w(INT)
    exchange: str = w(STR)
    exchange_letter: str = w(STR)


@ROW
class SmartComponents(Outbound, msg_id=82):
    req_id: int = w(INT)
    components: tuple[SmartComponent, ...] = w(Kind.GROUP, item=SmartComponent)


@ROW
class NewsArticle(Outbound, msg_id=83):
    req_id: int = w(INT)
    article_type: int = w(INT)  # 0 plain text or html, 1 binary (base64 pdf)
    article_text: str = w(STR)


@ROW
class NewsProvider:
    code: str = w(STR)
    name: str = w(STR)


@ROW
class NewsProviders(Outbound, msg_id=85):
    providers: tuple[NewsProvider, ...] = w(Kind.GROUP, item=NewsProvider)


@ROW
class HistoricalNews(Outbound, msg_id=86):
    req_id: int = w(INT)
    time: str = w(STR)  # "YYYY-MM-DD HH:MM:SS.0"
    provider_code: str = w(STR)
    article_id: str = w(STR)
    headline: str = w(STR)


@ROW
class HistoricalNewsEnd(Outbound, msg_id=87):
    req_id: int = w(INT)
    has_more: bool = w(BOOL)


@ROW
class PriceIncrement:
    low_edge: Decimal | None = w(DEC, Decimal(0))
    increment: Decimal | None = w(DEC, Decimal(0))


@ROW
class MarketRule(Outbound, msg_id=93):
    """No reqId: the answer carries the rule id asked for."""

    market_rule_id: int = w(INT)
    increments: tuple[PriceIncrement, ...] = w(Kind.GROUP, item=PriceIncrement)


@ROW
class PnL(Outbound, msg_id=94):
    """unrealized (>= 129) and realized (>= 135) are always present in our window."""

    req_id: int = w(INT)
    daily_pnl: Decimal | None = w(DEC_MAX)
    unrealized_pnl: Decimal | None = w(DEC_MAX)
    realized_pnl: Decimal | None = w(DEC_MAX)


@ROW
class PnLSingle(Outbound, msg_id=95):
    req_id: int = w(INT)
    position: Decimal | None = w(DEC, Decimal(0))
    daily_pnl: Decimal | None = w(DEC_MAX)
    unrealized_pnl: Decimal | None = w(DEC_MAX)
    realized_pnl: Decimal | None = w(DEC_MAX)
    value: Decimal | None = w(DEC_MAX)


@ROW
class ReplaceFAEnd(Outbound, msg_id=103):
    req_id: int = w(INT)
    text: str = w(STR)


@ROW
class WshMetaData(Outbound, msg_id=104):
    req_id: int = w(INT)
    data_json: str = w(STR)


@ROW
class WshEventData(Outbound, msg_id=105):
    req_id: int = w(INT)
    data_json: str = w(STR)


@ROW
class UserInfo(Outbound, msg_id=107):
    req_id: int = w(INT)
    white_branding_id: str = w(STR)


# --------------------------------------------------------------------------------------------
# Market model: history, real-time bars, tick-by-tick and depth. Layouts from IB's client
# (ibapi 10.50 client.py / decoder.py at server version 178) and ib_async 2.1.0
# (client.py / decoder.py); the source of each row is named in its docstring.
# --------------------------------------------------------------------------------------------

_BAR_TICKS_LAST = OneOf("tick_type", frozenset({1, 2}))
_BAR_TICKS_BID_ASK = OneOf("tick_type", frozenset({3}))
_BAR_TICKS_MID = OneOf("tick_type", frozenset({4}))


@ROW
class ReqMktDepth(Inbound, msg_id=10):
    """ibapi reqMktDepth (VERSION 5; primaryExchange since 149, isSmartDepth since 146);
    ib_async client.reqMktDepth sends the same 17 fields."""

    version: int = w(INT, 5)
    req_id: int = w(INT)
    contract: RequestContract = w(Kind.STRUCT, item=RequestContract)
    num_rows: int = w(INT)
    is_smart_depth: bool = w(BOOL)
    mkt_depth_options: str = w(STR)


@ROW
class CancelMktDepth(Inbound, msg_id=11):
    """ibapi cancelMktDepth: [11, 1, reqId, isSmartDepth] (the flag since 146)."""

    version: int = w(INT, 1)
    req_id: int = w(INT)
    is_smart_depth: bool = w(BOOL)


@ROW
class ReqHistoricalData(Inbound, msg_id=20):
    """ibapi reqHistoricalData (no version field since 124) and ib_async's: reqId,
    contract12, includeExpired, endDateTime, barSize, duration, useRTH, whatToShow,
    formatDate, [BAG legs], keepUpToDate, chartOptions."""

    req_id: int = w(INT)
    contract: RequestContract = w(Kind.STRUCT, item=RequestContract)
    include_expired: bool = w(BOOL)
    end_date_time: str = w(STR)
    bar_size: str = w(STR)
    duration: str = w(STR)
    use_rth: bool = w(BOOL)
    what_to_show: str = w(STR)
    format_date: int = w(INT, 1)
    combo_legs: tuple[MktDataComboLeg, ...] = w(Kind.GROUP, item=MktDataComboLeg, when=_BAG)
    keep_up_to_date: bool = w(BOOL)
    chart_options: str = w(STR)


@ROW
class CancelHistoricalData(Inbound, msg_id=25):
    """ibapi / ib_async cancelHistoricalData: [25, 1, reqId]."""

    version: int = w(INT, 1)
    req_id: int = w(INT)


@ROW
class ReqRealTimeBars(Inbound, msg_id=50):
    """ibapi reqRealTimeBars (VERSION 3) / ib_async: reqId, contract12, barSize,
    whatToShow, useRTH, options."""

    version: int = w(INT, 3)
    req_id: int = w(INT)
    contract: RequestContract = w(Kind.STRUCT, item=RequestContract)
    bar_size: int = w(INT, 5)
    what_to_show: str = w(STR)
    use_rth: bool = w(BOOL)
    options: str = w(STR)


@ROW
class CancelRealTimeBars(Inbound, msg_id=51):
    """ibapi / ib_async cancelRealTimeBars: [51, 1, reqId]."""

    version: int = w(INT, 1)
    req_id: int = w(INT)


@ROW
class ReqHeadTimeStamp(Inbound, msg_id=87):
    """ibapi reqHeadTimeStamp / ib_async: no version; reqId, contract12, includeExpired,
    useRTH, whatToShow, formatDate."""

    req_id: int = w(INT)
    contract: RequestContract = w(Kind.STRUCT, item=RequestContract)
    include_expired: bool = w(BOOL)
    use_rth: bool = w(BOOL)
    what_to_show: str = w(STR)
    format_date: int = w(INT, 1)


@ROW
class ReqHistogramData(Inbound, msg_id=88):
    """ibapi reqHistogramData / ib_async: reqId, contract12, includeExpired, useRTH,
    timePeriod ("3 days", "1 week")."""

    req_id: int = w(INT)
    contract: RequestContract = w(Kind.STRUCT, item=RequestContract)
    include_expired: bool = w(BOOL)
    use_rth: bool = w(BOOL)
    time_period: str = w(STR)


@ROW
class CancelHistogramData(Inbound, msg_id=89):
    """ibapi / ib_async cancelHistogramData: [89, reqId]."""

    req_id: int = w(INT)


@ROW
class CancelHeadTimeStamp(Inbound, msg_id=90):
    """ibapi / ib_async cancelHeadTimeStamp: [90, reqId]."""

    req_id: int = w(INT)


@ROW
class ReqHistoricalTicks(Inbound, msg_id=96):
    """ibapi reqHistoricalTicks / ib_async: reqId, contract12, includeExpired, start, end,
    numberOfTicks, whatToShow, useRth, ignoreSize, miscOptions."""

    req_id: int = w(INT)
    contract: RequestContract = w(Kind.STRUCT, item=RequestContract)
    include_expired: bool = w(BOOL)
    start_date_time: str = w(STR)
    end_date_time: str = w(STR)
    number_of_ticks: int = w(INT)
    what_to_show: str = w(STR)
    use_rth: bool = w(BOOL)
    ignore_size: bool = w(BOOL)
    misc_options: str = w(STR)


@ROW
class ReqTickByTickData(Inbound, msg_id=97):
    """ibapi reqTickByTickData / ib_async: reqId, contract12, tickType ("Last", "AllLast",
    "BidAsk", "MidPoint"), numberOfTicks and ignoreSize (since 140)."""

    req_id: int = w(INT)
    contract: RequestContract = w(Kind.STRUCT, item=RequestContract)
    tick_type: str = w(STR)
    number_of_ticks: int = w(INT)
    ignore_size: bool = w(BOOL)


@ROW
class CancelTickByTickData(Inbound, msg_id=98):
    """ibapi / ib_async cancelTickByTickData: [98, reqId]."""

    req_id: int = w(INT)


@ROW
class MarketDepth(Outbound, msg_id=12):
    """ibapi processMarketDepthMsg (version, reqId, position, operation, side, price,
    size); ib_async wraps updateMktDepth the same. operation 0/1/2 = insert/update/delete,
    side 0 = ask, 1 = bid."""

    version: int = w(INT, 1)
    req_id: int = w(INT)
    position: int = w(INT)
    operation: int = w(INT)
    side: int = w(INT)
    price: Decimal | None = w(DEC)
    size: Decimal | None = w(DEC)


@ROW
class MarketDepthL2(Outbound, msg_id=13):
    """ibapi processMarketDepthL2Msg (isSmartDepth since 146); ib_async updateMktDepthL2."""

    version: int = w(INT, 1)
    req_id: int = w(INT)
    position: int = w(INT)
    market_maker: str = w(STR)
    operation: int = w(INT)
    side: int = w(INT)
    price: Decimal | None = w(DEC)
    size: Decimal | None = w(DEC)
    is_smart_depth: bool = w(BOOL)


@ROW
class HistoricalBar:
    """One bar of historicalData: ibapi processHistoricalDataMsg / ib_async historicalData
    (date, open, high, low, close, volume, wap, barCount; no per-bar extra field since
    124)."""

    date: str = w(STR)
    open: Decimal | None = w(DEC)
    high: Decimal | None = w(DEC)
    low: Decimal | None = w(DEC)
    close: Decimal | None = w(DEC)
    volume: Decimal | None = w(DEC)
    wap: Decimal | None = w(DEC)
    bar_count: int = w(INT)


@ROW
class HistoricalData(Outbound, msg_id=17):
    """No version (since 124); start and end strings before the bars until 196, when they
    moved to historicalDataEnd (108). ib_async reads [17, reqId, start, end, n, bars]."""

    req_id: int = w(INT)
    start: str = w(STR)
    end: str = w(STR)
    bars: tuple[HistoricalBar, ...] = w(Kind.GROUP, item=HistoricalBar)


@ROW
class HistoricalDataEnd(Outbound, msg_id=108):
    """The end of a historical data set in its own message, from 196 (ibapi
    processHistoricalDataEndMsg: reqId, start, end): the simulator sends it only in protobuf,
    after the bars of a `HistoricalData` row (`protoforms.TRAILERS`)."""

    req_id: int = w(INT)
    start: str = w(STR)
    end: str = w(STR)


@ROW
class RealTimeBar(Outbound, msg_id=50):
    """ibapi processRealTimeBarMsg / ib_async realtimeBar: version, reqId, time (epoch s of
    the bar's start), open, high, low, close, volume, wap, count."""

    version: int = w(INT, 3)
    req_id: int = w(INT)
    time: int = w(INT)
    open: Decimal | None = w(DEC)
    high: Decimal | None = w(DEC)
    low: Decimal | None = w(DEC)
    close: Decimal | None = w(DEC)
    volume: Decimal | None = w(DEC)
    wap: Decimal | None = w(DEC)
    count: int = w(INT)


@ROW
class HeadTimestamp(Outbound, msg_id=88):
    """ibapi processHeadTimestamp / ib_async (skip=1): reqId, headTimestamp."""

    req_id: int = w(INT)
    head_timestamp: str = w(STR)


@ROW
class HistogramEntry:
    price: Decimal | None = w(DEC)
    size: Decimal | None = w(DEC)  # ib_async reads it with int(): send whole numbers


@ROW
class HistogramData(Outbound, msg_id=89):
    """ibapi processHistogramData / ib_async histogramData: reqId, n, (price, size)*n."""

    req_id: int = w(INT)
    items: tuple[HistogramEntry, ...] = w(Kind.GROUP, item=HistogramEntry)


@ROW
class HistoricalDataUpdate(Outbound, msg_id=90):
    """ibapi processHistoricalDataUpdateMsg / ib_async historicalDataUpdate: reqId,
    barCount, date, open, close, high, low, wap, volume (note the order)."""

    req_id: int = w(INT)
    bar_count: int = w(INT)
    date: str = w(STR)
    open: Decimal | None = w(DEC)
    close: Decimal | None = w(DEC)
    high: Decimal | None = w(DEC)
    low: Decimal | None = w(DEC)
    wap: Decimal | None = w(DEC)
    volume: Decimal | None = w(DEC)


@ROW
class MidpointTick:
    """A historicalTicks row: time, an unused field ("for consistency" in ibapi), price,
    size."""

    time: int = w(INT)
    unused: str = w(STR)
    price: Decimal | None = w(DEC)
    size: Decimal | None = w(DEC)


@ROW
class HistoricalTicks(Outbound, msg_id=96):
    """ibapi processHistoricalTicks / ib_async historicalTicks (MIDPOINT)."""

    req_id: int = w(INT)
    ticks: tuple[MidpointTick, ...] = w(Kind.GROUP, item=MidpointTick)
    done: bool = w(BOOL)


@ROW
class BidAskTick:
    """A historicalTicksBidAsk row; mask bit 1 = askPastHigh, 2 = bidPastLow."""

    time: int = w(INT)
    mask: int = w(INT)
    price_bid: Decimal | None = w(DEC)
    price_ask: Decimal | None = w(DEC)
    size_bid: Decimal | None = w(DEC)
    size_ask: Decimal | None = w(DEC)


@ROW
class HistoricalTicksBidAsk(Outbound, msg_id=97):
    """ibapi processHistoricalTicksBidAsk / ib_async historicalTicksBidAsk."""

    req_id: int = w(INT)
    ticks: tuple[BidAskTick, ...] = w(Kind.GROUP, item=BidAskTick)
    done: bool = w(BOOL)


@ROW
class LastTick:
    """A historicalTicksLast row; mask bit 1 = pastLimit, 2 = unreported."""

    time: int = w(INT)
    mask: int = w(INT)
    price: Decimal | None = w(DEC)
    size: Decimal | None = w(DEC)
    exchange: str = w(STR)
    special_conditions: str = w(STR)


@ROW
class HistoricalTicksLast(Outbound, msg_id=98):
    """ibapi processHistoricalTicksLast / ib_async historicalTicksLast."""

    req_id: int = w(INT)
    ticks: tuple[LastTick, ...] = w(Kind.GROUP, item=LastTick)
    done: bool = w(BOOL)


@ROW
class TickByTick(Outbound, msg_id=99):
    """ibapi processTickByTickMsg / ib_async tickByTick: reqId, tickType, time, then by
    type: 1/2 (Last/AllLast) price, size, mask, exchange, specialConditions; 3 (BidAsk)
    bid, ask, bidSize, askSize, mask (bit 1 bidPastLow, 2 askPastHigh); 4 (MidPoint) mid."""

    req_id: int = w(INT)
    tick_type: int = w(INT)
    time: int = w(INT)
    price: Decimal | None = w(DEC, when=_BAR_TICKS_LAST)
    size: Decimal | None = w(DEC, when=_BAR_TICKS_LAST)
    last_mask: int = w(INT, when=_BAR_TICKS_LAST)
    exchange: str = w(STR, when=_BAR_TICKS_LAST)
    special_conditions: str = w(STR, when=_BAR_TICKS_LAST)
    bid_price: Decimal | None = w(DEC, when=_BAR_TICKS_BID_ASK)
    ask_price: Decimal | None = w(DEC, when=_BAR_TICKS_BID_ASK)
    bid_size: Decimal | None = w(DEC, when=_BAR_TICKS_BID_ASK)
    ask_size: Decimal | None = w(DEC, when=_BAR_TICKS_BID_ASK)
    bid_ask_mask: int = w(INT, when=_BAR_TICKS_BID_ASK)
    mid_point: Decimal | None = w(DEC, when=_BAR_TICKS_MID)


@ROW
class ScheduleSession:
    start_date_time: str = w(STR)
    end_date_time: str = w(STR)
    ref_date: str = w(STR)


@ROW
class HistoricalSchedule(Outbound, msg_id=106):
    """whatToShow=SCHEDULE (since 165): ibapi processHistoricalSchedule / ib_async
    historicalSchedule: reqId, start, end, timeZone, n, (start, end, refDate)*n."""

    req_id: int = w(INT)
    start_date_time: str = w(STR)
    end_date_time: str = w(STR)
    time_zone: str = w(STR)
    sessions: tuple[ScheduleSession, ...] = w(Kind.GROUP, item=ScheduleSession)


# --------------------------------------------------------------------------------------------
# Market model rows (news ticks)
# --------------------------------------------------------------------------------------------


@ROW
class TickNews(Outbound, msg_id=84):
    """A news headline on a reqMktData subscription with generic tick 292. No version field:
    ibapi decoder.py `processTickNews` reads tickerId, timeStamp, providerCode, articleId,
    headline, extraData; ib_async decoder.py wraps 84 with skip=1 (the message id only).
    The time stamp is epoch milliseconds (clients divide it by 1000)."""

    req_id: int = w(INT)
    time_stamp: int = w(INT)
    provider_code: str = w(STR)
    article_id: str = w(STR)
    headline: str = w(STR)
    extra_data: str = w(STR)


# --------------------------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------------------------


def _collect() -> dict[tuple[Direction, int], type[Message]]:
    table: dict[tuple[Direction, int], type[Message]] = {}
    for obj in list(globals().values()):
        if isinstance(obj, type) and issubclass(obj, Message) and hasattr(obj, "MSG_ID"):
            key = (obj.DIRECTION, obj.MSG_ID)
            assert key not in table, f"two rows for {key}"
            assert dataclasses.is_dataclass(obj)
            table[key] = obj
    return table


SPECS: Final[Mapping[tuple[Direction, int], type[Message]]] = _collect()
