"""Pure mapping between the paper engine's values and the wire rows of `messages.py`.

Values in, values out: no sockets, loop, logging or clock reads (times are passed in). The
gateway's handlers and dispatcher call these; tests can check them without a connection.
Each IB-visible choice made here (which exchange an execution names, how TWS formats a time,
which tags a summary returns) is made once, in this module.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import replace
from decimal import Decimal
from operator import attrgetter
from typing import Any, Final
from zoneinfo import ZoneInfo

from ibgateway_sim.engine import (
    ComboLegRequest,
    Commission,
    ConditionRequest,
    ContractQuery,
    ContractSpec,
    Execution,
    OrderRequest,
    OrderState,
    PositionRow,
    Quote,
)
from ibgateway_sim.engine.sessions import calendar_for, hours_fields
from ibgateway_sim.engine.universe import details_of
from ibgateway_sim.wire import messages as m

# live tick types and their delayed twins (tick type + 65 for prices/sizes, per IB)
BID, ASK, LAST, HIGH, LOW, CLOSE = 1, 2, 4, 6, 7, 9
BID_SIZE, ASK_SIZE, LAST_SIZE, VOLUME = 0, 3, 5, 8
DELAYED: Final = {
    BID: 66,
    ASK: 67,
    LAST: 68,
    HIGH: 72,
    LOW: 73,
    CLOSE: 75,
    BID_SIZE: 69,
    ASK_SIZE: 70,
    LAST_SIZE: 71,
    VOLUME: 74,
}
LAST_TIMESTAMP: Final = 45
LEDGER_KEYS: Final = frozenset(
    {
        "CashBalance",
        "Currency",
        "ExchangeRate",
        "FuturesPNL",
        "NetLiquidationByCurrency",
        "OptionMarketValue",
        "RealizedPnL",
        "StockMarketValue",
        "TotalCashBalance",
        "UnrealizedPnL",
    }
)


class TimeFormatter:
    """Formats epoch seconds the way TWS does, in the gateway's configured zone. Not a clock:
    it reads no time, it is given one."""

    def __init__(self, timezone: str, exec_time_format: str = "zone") -> None:
        self.name = timezone
        self.exec_time_format = exec_time_format
        self.zone: dt.tzinfo = dt.UTC if timezone.upper() == "UTC" else ZoneInfo(timezone)
        # the last second stamped, per form: executions come many to a second
        self._last: dict[str, tuple[int, str]] = {}

    def local(self, t: float) -> dt.datetime:
        return dt.datetime.fromtimestamp(t, self.zone)

    def stamp(self, t: float) -> str:
        """ "YYYYMMDD HH:MM:SS <zone>": one space, so ib_async parses it tz-aware."""
        return self._per_second("zone", t)

    def exec_stamp(self, t: float) -> str:
        """Execution times: "zone" (the default, as current TWS sends them) or "utc", the
        "YYYYMMDD-HH:MM:SS" form some TWS versions send, which is UTC by IB's definition."""
        return self._per_second("utc" if self.exec_time_format == "utc" else "zone", t)

    def _per_second(self, form: str, t: float) -> str:
        """A text of whole seconds, made once per second: `t` and the last `t` stamped in the
        same second (and far enough from its end that rounding to microseconds cannot carry
        into the next) read alike."""
        second = int(t)
        same = 0 <= t - second < 0.999
        last = self._last.get(form)
        if same and last is not None and last[0] == second:
            return last[1]
        if form == "utc":
            text = f"{dt.datetime.fromtimestamp(t, dt.UTC):%Y%m%d-%H:%M:%S}"
        else:
            text = f"{self.local(t):%Y%m%d %H:%M:%S} {self.name}"
        if same:
            self._last[form] = (second, text)
        return text

    def connection_time(self, t: float) -> str:
        local = self.local(t)
        return f"{local:%Y%m%d %H:%M:%S} {local.tzname() or self.name}"

    def hhmm(self, t: float) -> str:
        return f"{self.local(t):%H:%M}"


def contract_query(c: m.RequestContract) -> ContractQuery:
    """What the client asked for. IB treats a zero strike as 'not given'."""
    strike = c.strike if c.strike else None
    return ContractQuery(
        con_id=c.con_id,
        symbol=c.symbol,
        sec_type=c.sec_type,
        last_trade_date=c.last_trade_date,
        strike=strike,
        right=c.right,
        multiplier=c.multiplier,
        exchange=c.exchange,
        primary_exchange=c.primary_exchange,
        currency=c.currency,
        local_symbol=c.local_symbol,
        trading_class=c.trading_class,
    )


def order_request(msg: m.PlaceOrder, client_id: int) -> OrderRequest:
    return OrderRequest(
        client_id=client_id,
        order_id=msg.order_id,
        contract=contract_query(msg.contract),
        action=msg.action,
        quantity=msg.total_quantity or Decimal(0),
        order_type=msg.order_type,
        limit_price=msg.lmt_price,
        aux_price=msg.aux_price,
        tif=msg.tif or "DAY",
        good_till_date=msg.good_till_date,
        good_after_time=msg.good_after_time,
        trailing_percent=msg.trailing_percent,
        trail_stop_price=msg.trail_stop_price,
        account=msg.account,
        order_ref=msg.order_ref,
        transmit=msg.transmit,
        parent_id=msg.parent_id,
        oca_group=msg.oca_group,
        oca_type=msg.oca_type,
        outside_rth=msg.outside_rth,
        fa_group=msg.fa_group,
        fa_method=msg.fa_method,
        fa_percentage=msg.fa_percentage,
        fa_profile=msg.fa_profile,
        what_if=msg.what_if,
        limit_price_offset=msg.lmt_price_offset,
        combo_legs=tuple(
            ComboLegRequest(con_id=leg.con_id, ratio=leg.ratio, action=leg.action,
                            exchange=leg.exchange)
            for leg in msg.combo_legs
        ) if msg.combo_legs else (),
        algo_strategy=msg.algo_strategy,
        algo_params=tuple((p.tag, p.value) for p in msg.algo_params) if msg.algo_params else (),
        conditions=tuple(
            ConditionRequest(c.cond_type, c.values) for c in msg.conditions
        ) if msg.conditions else (),
        conditions_cancel_order=msg.conditions_cancel_order,
        conditions_ignore_rth=msg.conditions_ignore_rth,
    )


def _combo_legs(req: OrderRequest) -> tuple[m.ComboLeg, ...]:
    """A BAG order's legs as openOrder / completedOrder echo them."""
    if not req.combo_legs:
        return ()
    return tuple(
        m.ComboLeg(con_id=leg.con_id, ratio=leg.ratio, action=leg.action,
                   exchange=leg.exchange or req.contract.exchange or "SMART")
        for leg in req.combo_legs
    )


def _algo_params(req: OrderRequest) -> tuple[m.TagValue, ...]:
    if not req.algo_params:
        return ()
    return tuple(m.TagValue(tag=t, value=v) for t, v in req.algo_params)


def _conditions(req: OrderRequest) -> tuple[m.OrderCondition, ...]:
    if not req.conditions:
        return ()
    return tuple(m.OrderCondition(cond_type=c.cond_type, values=c.values) for c in req.conditions)


def reply_contract(spec: ContractSpec, exchange: str = "") -> m.ReplyContract:
    """The contract block of an order's replies: made once per instrument and exchange (both
    rows are frozen, so one row serves every openOrder, execDetails and position of it)."""
    key = (spec.con_id, exchange)
    made = _REPLY_CONTRACTS.get(key)
    if made is not None and made[0] is spec:
        return made[1]
    if len(_REPLY_CONTRACTS) >= REPLY_CONTRACTS_KEPT:
        _REPLY_CONTRACTS.clear()
    row = _reply_contract(spec, exchange)
    _REPLY_CONTRACTS[key] = (spec, row)
    return row


REPLY_CONTRACTS_KEPT: Final = 10_000
_REPLY_CONTRACTS: dict[tuple[int, str], tuple[ContractSpec, m.ReplyContract]] = {}


def _reply_contract(spec: ContractSpec, exchange: str) -> m.ReplyContract:
    return m.ReplyContract(
        con_id=spec.con_id,
        symbol=spec.symbol,
        sec_type=spec.sec_type,
        last_trade_date=spec.last_trade_date,
        strike=spec.strike,
        right=spec.right,
        multiplier=spec.multiplier,
        exchange=exchange or spec.exchange,
        currency=spec.currency,
        local_symbol=spec.local_symbol,
        trading_class=spec.trading_class,
    )


def _order_exchange(st: OrderState) -> str:
    return st.request.contract.exchange or st.contract.exchange


_OPEN_ORDER: Final = m.OpenOrder()
# what open_order sets over the defaults; the rest stay as they are
_OPEN_FIELDS: Final = (
    "order_id", "contract", "action", "total_quantity", "order_type", "lmt_price", "aux_price",
    "tif", "oca_group", "account", "order_ref", "client_id", "perm_id", "outside_rth",
    "good_after_time", "fa_group", "fa_method", "fa_percentage", "fa_profile",
    "good_till_date", "oca_type", "parent_id", "trail_stop_price", "trailing_percent",
    "stop_price", "lmt_price_offset", "what_if", "status", "combo_legs", "algo_strategy",
    "algo_params", "conditions", "conditions_ignore_rth", "conditions_cancel_order",
)  # fmt: skip
_open_row: Final = m.evolver(m.OpenOrder, _OPEN_FIELDS)


def open_order(st: OrderState) -> m.OpenOrder:
    req = st.request
    margin = st.margin
    # the row's defaults with this order's fields over them: the same row as
    # m.OpenOrder(order_id=..., ...) without matching 35 keywords against 141 parameters
    base = _open_row(
        _OPEN_ORDER,
        order_id=st.order_id,
        contract=reply_contract(st.contract, _order_exchange(st)),
        action=req.action,
        total_quantity=req.quantity,
        order_type=req.order_type,
        lmt_price=req.limit_price,
        aux_price=req.aux_price,
        tif=req.tif,
        oca_group=req.oca_group,
        account=req.account,
        order_ref=req.order_ref,
        client_id=st.client_id,
        perm_id=st.perm_id,
        outside_rth=req.outside_rth,
        good_after_time=req.good_after_time,
        fa_group=req.fa_group,
        fa_method=req.fa_method,
        fa_percentage=req.fa_percentage,
        fa_profile=req.fa_profile,
        good_till_date=req.good_till_date,
        oca_type=req.oca_type,
        parent_id=req.parent_id,
        trail_stop_price=st.trail_stop_price,
        trailing_percent=req.trailing_percent,
        stop_price=st.trail_stop_price,
        lmt_price_offset=req.limit_price_offset,
        what_if=req.what_if,
        status=st.status,
        combo_legs=_combo_legs(req),
        algo_strategy=req.algo_strategy,
        algo_params=_algo_params(req),
        conditions=_conditions(req),
        conditions_ignore_rth=req.conditions_ignore_rth,
        conditions_cancel_order=req.conditions_cancel_order,
    )
    if margin is None:
        return base
    return replace(
        base,
        init_margin_before=str(margin.init_margin_before),
        maint_margin_before=str(margin.maint_margin_before),
        equity_with_loan_before=str(margin.equity_with_loan_before),
        init_margin_change=str(margin.init_margin_change),
        maint_margin_change=str(margin.maint_margin_change),
        equity_with_loan_change=str(margin.equity_with_loan_change),
        init_margin_after=str(margin.init_margin_after),
        maint_margin_after=str(margin.maint_margin_after),
        equity_with_loan_after=str(margin.equity_with_loan_after),
        commission=margin.commission,
        min_commission=margin.min_commission,
        max_commission=margin.max_commission,
        commission_currency=margin.commission_currency,
        warning_text=margin.warning_text,
    )


# the fields of an openOrder row that differ between alike orders: left open in a `Shape`
OPEN_ORDER_OPEN_FIELDS: Final = (
    "order_id", "action", "total_quantity", "lmt_price", "aux_price", "perm_id", "status",
)  # fmt: skip
# what else `open_order` reads of an order's request
_SHAPE_OF_REQUEST: Final = attrgetter(
    "order_type", "tif", "oca_group", "account", "order_ref", "outside_rth",
    "good_after_time", "fa_group", "fa_method", "fa_percentage", "fa_profile",
    "good_till_date", "oca_type", "parent_id", "trailing_percent", "limit_price_offset",
    "what_if", "combo_legs", "algo_strategy", "algo_params", "conditions",
    "conditions_ignore_rth", "conditions_cancel_order", "contract.exchange",
)  # fmt: skip


def open_order_shape(st: OrderState) -> tuple[Any, ...]:
    """What `open_order(st)` depends on but `OPEN_ORDER_OPEN_FIELDS`: two snapshots of equal
    shape (and the same contract object, which the caller checks, as it is not hashed here)
    make rows that differ in those fields alone. Only for snapshots without a margin answer."""
    return (
        st.contract.con_id, st.contract.exchange, st.client_id, st.trail_stop_price,
        _SHAPE_OF_REQUEST(st.request),
    )  # fmt: skip


def open_order_values(st: OrderState) -> tuple[Any, ...]:
    """The values of `OPEN_ORDER_OPEN_FIELDS` in `open_order(st)`."""
    req = st.request
    return (
        st.order_id, req.action, req.quantity, req.limit_price, req.aux_price, st.perm_id,
        st.status,
    )  # fmt: skip


def only_status_changed(st: OrderState, was: OrderState) -> bool:
    """Whether `open_order(st)` is `open_order(was)` but for its status: nothing else
    `open_order` reads has changed (the same request and contract objects, both frozen;
    perm id, trail stop; no margin answer)."""
    return (
        was.request is st.request
        and was.contract is st.contract
        and was.client_id == st.client_id
        and was.order_id == st.order_id
        and was.perm_id == st.perm_id
        and was.trail_stop_price == st.trail_stop_price
        and was.margin is None
        and st.margin is None
    )


def open_order_again(st: OrderState, was: OrderState, row: m.OpenOrder) -> m.OpenOrder:
    """`open_order(st)`, given `row == open_order(was)` for an earlier snapshot of the same
    order: only the status is new when `only_status_changed`."""
    if only_status_changed(st, was):
        return row if was.status == st.status else m.evolve(row, status=st.status)
    return open_order(st)


# every field of an orderStatus row, in wire order: its `Shape` leaves them all open
ORDER_STATUS_FIELDS: Final = (
    "order_id", "status", "filled", "remaining", "avg_fill_price", "perm_id", "parent_id",
    "last_fill_price", "client_id", "why_held", "mkt_cap_price",
)  # fmt: skip
_MKT_CAP_PRICE: Final = m.OrderStatus().mkt_cap_price


def order_status_values(st: OrderState) -> tuple[Any, ...]:
    """The values of `ORDER_STATUS_FIELDS` in `order_status(st)`."""
    return (
        st.order_id, st.status, st.filled, st.remaining, st.avg_fill_price, st.perm_id,
        st.request.parent_id, st.last_fill_price, st.client_id, st.why_held, _MKT_CAP_PRICE,
    )  # fmt: skip


def order_status(st: OrderState) -> m.OrderStatus:
    return m.OrderStatus(
        order_id=st.order_id,
        status=st.status,
        filled=st.filled,
        remaining=st.remaining,
        avg_fill_price=st.avg_fill_price,
        perm_id=st.perm_id,
        parent_id=st.request.parent_id,
        last_fill_price=st.last_fill_price,
        client_id=st.client_id,
        why_held=st.why_held,
    )


def completed_order(st: OrderState, times: TimeFormatter, now: float) -> m.CompletedOrder:
    req = st.request
    done_at = st.completed_time if st.completed_time is not None else now
    return m.CompletedOrder(
        contract=reply_contract(st.contract, _order_exchange(st)),
        action=req.action,
        total_quantity=req.quantity,
        order_type=req.order_type,
        lmt_price=req.limit_price,
        aux_price=req.aux_price,
        tif=req.tif,
        oca_group=req.oca_group,
        account=req.account,
        order_ref=req.order_ref,
        perm_id=st.perm_id,
        outside_rth=req.outside_rth,
        good_after_time=req.good_after_time,
        fa_group=req.fa_group,
        fa_method=req.fa_method,
        fa_percentage=req.fa_percentage,
        fa_profile=req.fa_profile,
        good_till_date=req.good_till_date,
        oca_type=req.oca_type,
        trail_stop_price=st.trail_stop_price,
        trailing_percent=req.trailing_percent,
        status=st.status,
        stop_price=st.trail_stop_price,
        filled_quantity=st.filled,
        parent_perm_id=st.parent_perm_id,
        completed_time=times.stamp(done_at),
        completed_status=st.completed_status or st.status,
        combo_legs=_combo_legs(req),
        algo_strategy=req.algo_strategy,
        algo_params=_algo_params(req),
        conditions=_conditions(req),
        conditions_ignore_rth=req.conditions_ignore_rth,
        conditions_cancel_order=req.conditions_cancel_order,
    )


# the fields of an execDetails row that differ between executions of one contract at one
# exchange: left open in its `Shape` (the contract block and the unused fields are not)
EXEC_DETAILS_OPEN_FIELDS: Final = (
    "req_id", "order_id", "exec_id", "time", "acct_number", "exchange", "side", "shares",
    "price", "perm_id", "client_id", "liquidation", "cum_qty", "avg_price", "order_ref",
    "last_liquidity",
)  # fmt: skip


def exec_details_values(ex: Execution, req_id: int, times: TimeFormatter) -> tuple[Any, ...]:
    """The values of `EXEC_DETAILS_OPEN_FIELDS` in `exec_details(ex, req_id, times)`."""
    return (
        req_id, ex.order_id, ex.exec_id, times.exec_stamp(ex.time), ex.account, ex.exchange,
        ex.side, ex.shares, ex.price, ex.perm_id, ex.client_id, 1 if ex.liquidation else 0,
        ex.cum_qty, ex.avg_price, ex.order_ref, ex.liquidity,
    )  # fmt: skip


def exec_details(ex: Execution, req_id: int, times: TimeFormatter) -> m.ExecDetails:
    return m.ExecDetails(
        req_id=req_id,
        order_id=ex.order_id,
        contract=reply_contract(ex.contract, ex.exchange),
        exec_id=ex.exec_id,
        time=times.exec_stamp(ex.time),
        acct_number=ex.account,
        exchange=ex.exchange,
        side=ex.side,
        shares=ex.shares,
        price=ex.price,
        perm_id=ex.perm_id,
        client_id=ex.client_id,
        liquidation=1 if ex.liquidation else 0,
        cum_qty=ex.cum_qty,
        avg_price=ex.avg_price,
        order_ref=ex.order_ref,
        last_liquidity=ex.liquidity,
    )


# the fields of a commissionReport row that an execution's commission sets: all of them but
# the yield ones (bonds), left open in its `Shape`
COMMISSION_REPORT_OPEN_FIELDS: Final = ("exec_id", "commission", "currency", "realized_pnl")


def commission_report_values(cr: Commission) -> tuple[Any, ...]:
    """The values of `COMMISSION_REPORT_OPEN_FIELDS` in `commission_report(cr)`."""
    return (cr.exec_id, cr.commission, cr.currency, cr.realized_pnl)


def commission_report(cr: Commission) -> m.CommissionReport:
    return m.CommissionReport(
        exec_id=cr.exec_id,
        commission=cr.commission,
        currency=cr.currency,
        realized_pnl=cr.realized_pnl,
    )


def position_row(row: PositionRow) -> m.Position:
    return m.Position(
        account=row.account,
        contract=reply_contract(row.contract),
        position=row.position,
        avg_cost=row.avg_cost,
    )


def portfolio_row(row: PositionRow) -> m.UpdatePortfolio:
    c = row.contract
    return m.UpdatePortfolio(
        contract=m.PortfolioContract(
            con_id=c.con_id,
            symbol=c.symbol,
            sec_type=c.sec_type,
            last_trade_date=c.last_trade_date,
            strike=c.strike,
            right=c.right,
            multiplier=c.multiplier,
            primary_exchange=c.primary_exchange,
            currency=c.currency,
            local_symbol=c.local_symbol,
            trading_class=c.trading_class,
        ),
        position=row.position,
        market_price=row.market_price,
        market_value=row.market_value,
        average_cost=row.avg_cost,
        unrealized_pnl=row.unrealized_pnl,
        realized_pnl=row.realized_pnl,
        account=row.account,
    )


def _hours(spec: ContractSpec, day: dt.date) -> tuple[str, str]:
    """tradingHours / liquidHours for a week from `day`, in the contract's zone, from the
    exchange calendar the session clock uses (engine/sessions.py): the same text with
    trading hours on or off, since they describe the exchange, which the simulator only
    holds to while they are on."""
    return hours_fields(calendar_for(spec, True), spec.time_zone_id or "UTC", day)


def contract_data(spec: ContractSpec, req_id: int, now: float) -> m.ContractData:
    d = details_of(spec)
    # --- trading sessions (the session model's part): zone, trading and liquid hours ---
    zone = ZoneInfo(spec.time_zone_id) if spec.time_zone_id else dt.UTC
    trading, liquid = _hours(spec, dt.datetime.fromtimestamp(now, zone).date())
    time_zone_id = spec.time_zone_id
    # --- everything else is the instrument's reference data (engine/universe.py) ---
    return m.ContractData(
        req_id=req_id,
        symbol=spec.symbol,
        sec_type=spec.sec_type,
        last_trade_date=spec.last_trade_date,
        strike=spec.strike,
        right=spec.right,
        exchange=spec.exchange,
        currency=spec.currency,
        local_symbol=spec.local_symbol,
        market_name=d.market_name,
        trading_class=spec.trading_class,
        con_id=spec.con_id,
        min_tick=spec.min_tick,
        multiplier=spec.multiplier,
        order_types=d.order_types,
        valid_exchanges=d.valid_exchanges,
        under_con_id=d.under_con_id,
        long_name=spec.long_name,
        primary_exchange=spec.primary_exchange,
        contract_month=d.contract_month,
        industry=d.industry,
        category=d.category,
        subcategory=d.subcategory,
        time_zone_id=time_zone_id,
        trading_hours=trading,
        liquid_hours=liquid,
        ev_rule=d.ev_rule,
        ev_multiplier=d.ev_multiplier,
        sec_id_list=tuple(m.TagValue(tag=t, value=v) for t, v in d.sec_ids),
        agg_group=d.agg_group,
        under_symbol=d.under_symbol,
        under_sec_type=d.under_sec_type,
        market_rule_ids=d.market_rule_ids,
        real_expiration_date=d.real_expiration_date,
        stock_type=d.stock_type,
        size_min_tick=spec.size_increment,
        min_size=spec.size_increment,
        size_increment=spec.size_increment,
        suggested_size_increment=spec.size_increment,
    )


def summary_rows(values: Iterable[Any], tags: str) -> list[tuple[str, str, str]]:
    """reqAccountSummary's selection: the plain tags in the base currency, plus the ledger
    tags for `$LEDGER` (base), `$LEDGER:ALL` (every currency) or `$LEDGER:CCY`."""
    wanted = {t.strip() for t in tags.split(",") if t.strip()}
    ledger = {t.split(":", 1)[1] if ":" in t else "BASE" for t in wanted if t.startswith("$")}
    rows, seen = [], set()
    for v in values:
        if v.key in wanted and v.currency != "BASE" and v.key not in seen:
            seen.add(v.key)
            rows.append((v.key, v.value, v.currency))
        elif (
            v.key in LEDGER_KEYS
            and ledger
            and (
                "ALL" in ledger
                or (v.currency == "BASE" and "BASE" in ledger)
                or v.currency in ledger
            )
            and v.currency
        ):
            rows.append((v.key, v.value, v.currency))
    return rows


def quote_ticks(q: Quote) -> dict[int, tuple[Decimal, Decimal | None]]:
    """Tick type -> (value, size for price ticks)."""
    return {
        BID: (q.bid, q.bid_size),
        ASK: (q.ask, q.ask_size),
        LAST: (q.last, q.last_size),
        HIGH: (q.high, Decimal(0)),
        LOW: (q.low, Decimal(0)),
        CLOSE: (q.close, Decimal(0)),
        VOLUME: (q.volume, None),
    }
