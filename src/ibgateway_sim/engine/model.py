"""Value types of the paper engine: what goes in (queries, order requests) and what comes out
(order snapshots, executions, quotes, account rows, events).

Kept apart from `exchange.py` so the universe, book and ledger modules can share them without
importing the engine. The package (`ibgateway_sim.engine`) re-exports every name; import them
from there.

Prices and quantities are `Decimal`. IB's own strings (status names, actions, order types,
sides) are kept exactly as IB spells them, because the server puts them on the wire verbatim.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from .records import record

Clock = Callable[[], float]
"""Epoch seconds, UTC. The engine reads time only through this, so tests can drive it."""


@record
class ContractSpec:
    """One instrument of the universe, as reqContractDetails describes it."""

    con_id: int
    symbol: str
    sec_type: str  # "STK" | "OPT" | "FUT" | "CASH" (ETFs are STK)
    exchange: str  # "SMART" for STK/OPT, "CME" for FUT, "IDEALPRO" for CASH
    primary_exchange: str  # "NASDAQ"/"NYSE"/"ARCA" for STK, "" otherwise
    currency: str
    local_symbol: str
    trading_class: str
    min_tick: Decimal
    multiplier: str  # "" for STK/CASH, "100" OPT, "50" ES ...
    last_trade_date: str  # "" or "YYYYMMDD"
    strike: Decimal
    right: str  # "" | "C" | "P"
    long_name: str
    time_zone_id: str
    initial_price: Decimal
    # additions to the contract (defaults keep the interface constructor unchanged)
    size_increment: Decimal = Decimal(1)  # orders must be a multiple of this
    under_con_id: int = 0  # options/futures: conId of the underlying (0 = none)
    under_symbol: str = ""

    @property
    def multiplier_value(self) -> Decimal:
        """The multiplier as a number: 1 when the contract has none (stocks, FX). Read
        several times per fill; each text is converted once (a Decimal is immutable)."""
        value = _MULTIPLIERS.get(self.multiplier)
        if value is None:
            value = Decimal(self.multiplier)
            if len(_MULTIPLIERS) < _MULTIPLIERS_KEPT:
                _MULTIPLIERS[self.multiplier] = value
        return value


# multiplier text -> its value; a universe has a handful ("", "100", "50", ...)
_MULTIPLIERS: dict[str, Decimal] = {"": Decimal(1)}
_MULTIPLIERS_KEPT = 256


@record
class ContractQuery:
    """What a client sent (contract fields of reqContractDetails/placeOrder); "" / None =
    not given."""

    con_id: int = 0
    symbol: str = ""
    sec_type: str = ""
    last_trade_date: str = ""  # "YYYYMM" matches any "YYYYMMDD" of that month
    strike: Decimal | None = None
    right: str = ""  # "C"/"CALL"/"P"/"PUT"
    multiplier: str = ""
    exchange: str = ""  # "SMART" matches any STK/OPT
    primary_exchange: str = ""
    currency: str = ""
    local_symbol: str = ""
    trading_class: str = ""


@record
class OrderRequest:
    """The fields of a placeOrder the engine acts on."""

    client_id: int
    order_id: int
    contract: ContractQuery
    action: str  # "BUY" | "SELL" | "SSHORT"
    quantity: Decimal
    order_type: str  # "MKT" | "LMT" | "STP" | "STP LMT" | "TRAIL" | "TRAIL LIMIT" | "MIT" | "LIT"
    limit_price: Decimal | None = None
    aux_price: Decimal | None = None  # stop price, or trailing amount for TRAIL
    tif: str = "DAY"  # DAY | GTC | IOC | OPG | GTD | FOK
    good_till_date: str = ""  # "YYYYMMDD HH:MM:SS TZ" or "YYYYMMDD-HH:MM:SS" (UTC)
    good_after_time: str = ""
    trailing_percent: Decimal | None = None
    trail_stop_price: Decimal | None = None
    account: str = ""
    order_ref: str = ""
    transmit: bool = True
    parent_id: int = 0
    oca_group: str = ""
    oca_type: int = 0  # 1 cancel others w/ block, 2 reduce w/ block, 3 reduce non-block
    outside_rth: bool = False
    fa_group: str = ""
    fa_method: str = ""  # EqualQuantity | NetLiq | AvailableEquity | PctChange
    fa_percentage: str = ""
    fa_profile: str = ""
    what_if: bool = False
    # additions
    limit_price_offset: Decimal | None = None  # TRAIL LIMIT: limit = stop -/+ offset
    combo_legs: tuple[ComboLegRequest, ...] = ()  # BAG orders: the legs, per combo unit
    algo_strategy: str = ""  # IB algo name ("Adaptive", "Twap", ...); "" = none
    algo_params: tuple[tuple[str, str], ...] = ()  # (tag, value) as sent
    conditions: tuple[ConditionRequest, ...] = ()
    conditions_cancel_order: bool = False  # the chain holding cancels rather than releases
    conditions_ignore_rth: bool = False


@record
class ComboLegRequest:
    """One leg of a BAG order: `ratio` units of `con_id` per unit of the combo, bought
    ("BUY") or sold ("SELL") when the combo is bought (mirrored when it is sold)."""

    con_id: int
    ratio: int
    action: str
    exchange: str = ""


@record
class ConditionRequest:
    """One order condition as sent: IB's type code (1 price, 3 time, 4 margin, 5 execution,
    6 volume, 7 percent change) and its text fields, the conjunction ("a"/"o") first."""

    cond_type: int
    values: tuple[str, ...]


@record
class MarginImpact:
    """What-if answer (openOrder's orderState margin fields), all in the account currency."""

    init_margin_before: Decimal
    maint_margin_before: Decimal
    equity_with_loan_before: Decimal
    init_margin_change: Decimal
    maint_margin_change: Decimal
    equity_with_loan_change: Decimal
    init_margin_after: Decimal
    maint_margin_after: Decimal
    equity_with_loan_after: Decimal
    commission: Decimal
    commission_currency: str
    warning_text: str = ""
    min_commission: Decimal | None = None  # the range IB quotes around its estimate
    max_commission: Decimal | None = None


@record
class OrderState:
    """Immutable snapshot of one order, taken after a change."""

    client_id: int
    order_id: int
    perm_id: int
    request: OrderRequest
    contract: ContractSpec
    status: str  # PreSubmitted | Submitted | Filled | Cancelled | ApiCancelled | Inactive ...
    filled: Decimal
    remaining: Decimal
    avg_fill_price: Decimal
    last_fill_price: Decimal
    why_held: str = ""
    trail_stop_price: Decimal | None = None  # current stop of a TRAIL order
    completed_time: float | None = None  # epoch s when it became done
    completed_status: str = ""
    # additions
    parent_perm_id: int = 0
    margin: MarginImpact | None = None  # set on what-if answers only

    @property
    def is_done(self) -> bool:
        return self.status in DONE_STATUSES


DONE_STATUSES = frozenset({"Filled", "Cancelled", "ApiCancelled", "Inactive"})


@record
class Execution:
    exec_id: str  # "0000e1a7.6543210a.01.01" style; a correction bumps the last part
    perm_id: int
    order_id: int
    client_id: int
    account: str
    contract: ContractSpec
    side: str  # "BOT" | "SLD"
    shares: Decimal
    price: Decimal
    time: float  # epoch s UTC
    cum_qty: Decimal
    avg_price: Decimal
    order_ref: str
    exchange: str  # venue it executed on: "ISLAND", "NYSE", "ARCA", "CBOE", "CME", "IDEALPRO"
    liquidity: int  # 1 added, 2 removed
    corrects: str = ""  # exec id this execution corrects ("" if none)
    liquidation: bool = False  # IB's own forced liquidation (orderId -1, clientId 0)


@record
class Commission:
    exec_id: str
    commission: Decimal
    currency: str
    realized_pnl: Decimal | None  # None = UNSET on the wire (opening trades)


@record
class Quote:
    bid: Decimal
    ask: Decimal
    last: Decimal
    bid_size: Decimal
    ask_size: Decimal
    last_size: Decimal
    volume: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    time: float


@record
class PositionRow:
    account: str
    contract: ContractSpec
    position: Decimal
    avg_cost: Decimal  # per unit times the multiplier, commissions included (as IB reports)
    market_price: Decimal
    market_value: Decimal
    unrealized_pnl: Decimal
    realized_pnl: Decimal


@record
class AccountValue:
    account: str
    key: str
    value: str
    currency: str


@record
class ExecFilter:
    """reqExecutions filter; "" / 0 = any."""

    client_id: int = 0
    account: str = ""
    time: str = ""  # "YYYYMMDD HH:MM:SS[ TZ]" or "YYYYMMDD-HH:MM:SS"; executions at/after it
    symbol: str = ""
    sec_type: str = ""
    exchange: str = ""
    side: str = ""  # "BUY"/"SELL"


@record
class OrderUpdated:
    """Server: openOrder + orderStatus to the owner; orderStatus alone when `status_only`
    (a cancel the trader asked for: TWS answers orderStatus Cancelled and error 202, no
    openOrder, as public real-gateway transcripts show)."""

    order: OrderState
    status_only: bool = False


@record
class ExecutionMade:
    """Server: execDetails(-1) then commissionReport."""

    execution: Execution
    commission: Commission


@record
class OrderError:
    """Server: error(orderId, code, text)."""

    client_id: int
    order_id: int
    code: int
    text: str


@record
class SessionCrossed:
    """The session clock crossed a boundary (`sessions.SessionEvent`): the hook for
    whatever runs at an open or a close (DAY expiry here; auctions later)."""

    event: Any  # sessions.SessionEvent (kept untyped here: sessions imports this module)


Event = OrderUpdated | ExecutionMade | OrderError | SessionCrossed


class EngineError(Exception):
    """Misuse of the engine's control API (never used for client-caused rejections, which
    come back as OrderError events)."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(f"{code}: {text}")
        self.code = code
        self.text = text
