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
from collections.abc import Mapping
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
    return dataclass(frozen=True, slots=True, kw_only=True)(cls)


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
