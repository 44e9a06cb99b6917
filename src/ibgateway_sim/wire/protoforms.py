"""The protobuf form of each message row: which protobuf field carries which row attribute.

Field numbers and types are facts of the TWS API's protobuf protocol (the messages IB's client
10.50 builds in `client_utils.py` `create*Proto` and reads in `decoder.py` /
`decoder_utils.py` `decode*`); the names are the rows' own. Nothing here is generated from
IB's schema files: this is the simulator's independent reading, checked against the official
client by the tests.

To give a new row its protobuf form, add one entry to `FORMS`: `RowClass: (f(number, "attr",
KIND), ...)`; `nest` for IB's nested messages, `rep` for repeated sub-rows, `tags` for maps.
When a message goes protobuf is `thresholds.py`'s business, not this table's. Each entry names
IB's message (its `ibapi/protobuf/<Name>_pb2` module), which the tests check it against.

Requests IB never sends as protobuf (`getServerVersionForMessage` gives no version:
verifyAndAuthRequest, verifyAndAuthMessage) have no form and need none.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Final

from ibgateway_sim.wire import messages as m
from ibgateway_sim.wire.protobuf import Form, P, PKind, bit, f, nest, rep, tags
from ibgateway_sim.wire.thresholds import (
    MAX_SERVER_VERSION,
    PROTOBUF,
    TEXT_MAX_VERSION,
    highest_spoken,
    protobuf_since,
)

I32, I64, BOOL, BOOL_I32 = PKind.I32, PKind.I64, PKind.BOOL, PKind.BOOL_I32
STR, TIME, INT_STR = PKind.STR, PKind.TIME, PKind.INT_STR
DEC_STR, DBL, DBL_MAX = PKind.DEC_STR, PKind.DEC_DBL, PKind.DEC_DBL_MAX
STRIKE, TXT_DBL = PKind.STRIKE, PKind.TXT_DBL
TAG_TEXT, INT_BOOL, REP_STR, REP_DBL = PKind.TAG_TEXT, PKind.INT_BOOL, PKind.REP_STR, PKind.REP_DBL


def _names(cls: type) -> frozenset[str]:
    return frozenset(fd.name for fd in dataclasses.fields(cls))


def _only(cls: type, fields: tuple[P, ...], prefix: str = "") -> tuple[P, ...]:
    """The fields whose attribute the row (or its sub-row at `prefix`) has, paths prefixed."""
    names = _names(cls)
    return tuple(
        dataclasses.replace(p, path=prefix + p.path)
        for p in fields
        if p.path.partition(".")[0] in names
    )


# IB's Contract message: conId 1 ... tradingClass 12, secIdType 13, secId 14, issuerId 16,
# deltaNeutralContract 17, includeExpired 18, comboLegsDescrip 19, comboLegs 20
_CONTRACT: Final = (
    f(1, "con_id", I32), f(2, "symbol", STR), f(3, "sec_type", STR),
    f(4, "last_trade_date", STR), f(5, "strike", STRIKE), f(6, "right", STR),
    f(7, "multiplier", TXT_DBL), f(8, "exchange", STR), f(9, "primary_exchange", STR),
    f(10, "currency", STR), f(11, "local_symbol", STR), f(12, "trading_class", STR),
)  # fmt: skip


def _contract(cls: type, prefix: str = "contract.") -> tuple[P, ...]:
    """The Contract fields a contract sub-row class `cls` has, at `prefix` in the row."""
    return _only(cls, _CONTRACT, prefix)


_DELTA_NEUTRAL: Final = nest(
    17,
    f(1, "delta_neutral_contract.con_id", I32),
    f(2, "delta_neutral_contract.delta", DBL),
    f(3, "delta_neutral_contract.price", DBL),
)
_COMBO_LEG: Final = (
    f(1, "con_id", I32), f(2, "ratio", I32), f(3, "action", STR), f(4, "exchange", STR),
    f(5, "open_close", I32), f(6, "short_sale_slot", I32), f(7, "designated_location", STR),
    f(8, "exempt_code", I32),
)  # fmt: skip

# IB's Order message, by the row attribute each field carries (rows that lack an attribute
# simply don't carry that field: `_only`)
_ORDER: Final = (
    f(1, "client_id", I32), f(2, "order_id", I32), f(3, "perm_id", I64), f(4, "parent_id", I32),
    f(5, "action", STR), f(6, "total_quantity", DEC_STR), f(7, "display_size", I32),
    f(8, "order_type", STR), f(9, "lmt_price", DBL), f(10, "aux_price", DBL), f(11, "tif", STR),
    f(12, "account", STR), f(13, "settling_firm", STR), f(14, "clearing_account", STR),
    f(15, "clearing_intent", STR), f(16, "all_or_none", BOOL), f(17, "block_order", BOOL),
    f(18, "hidden", BOOL), f(19, "outside_rth", BOOL), f(20, "sweep_to_fill", BOOL),
    f(21, "percent_offset", DBL), f(22, "trailing_percent", DBL),
    f(23, "trail_stop_price", DBL), f(24, "min_qty", I32), f(25, "good_after_time", STR),
    f(26, "good_till_date", STR), f(27, "oca_group", STR), f(28, "order_ref", STR),
    f(29, "rule80a", STR), f(30, "oca_type", I32), f(31, "trigger_method", I32),
    f(32, "active_start_time", STR), f(33, "active_stop_time", STR), f(34, "fa_group", STR),
    f(35, "fa_method", STR), f(36, "fa_percentage", STR), f(37, "volatility", DBL),
    f(38, "volatility_type", I32), f(39, "continuous_update", BOOL),
    f(40, "reference_price_type", I32), f(41, "delta_neutral_order_type", STR),
    f(42, "delta_neutral_aux_price", DBL), f(43, "delta_neutral_con_id", I32),
    f(44, "delta_neutral_open_close", STR), f(45, "delta_neutral_short_sale", BOOL),
    f(46, "delta_neutral_short_sale_slot", I32),
    f(47, "delta_neutral_designated_location", STR), f(48, "scale_init_level_size", I32),
    f(49, "scale_subs_level_size", I32), f(50, "scale_price_increment", DBL),
    f(51, "scale_price_adjust_value", DBL), f(52, "scale_price_adjust_interval", I32),
    f(53, "scale_profit_offset", DBL), f(54, "scale_auto_reset", BOOL),
    f(55, "scale_init_position", I32), f(56, "scale_init_fill_qty", I32),
    f(57, "scale_random_percent", BOOL), f(58, "scale_table", STR), f(59, "hedge_type", STR),
    f(60, "hedge_param", STR), f(61, "algo_strategy", STR), tags(62, "algo_params"),
    f(63, "algo_id", STR), tags(64, "smart_combo_routing_params"), f(65, "what_if", BOOL),
    f(66, "transmit", BOOL), f(67, "override_percentage_constraints", BOOL),
    f(68, "open_close", STR), f(69, "origin", I32), f(70, "short_sale_slot", I32),
    f(71, "designated_location", STR), f(72, "exempt_code", I32),
    f(73, "delta_neutral_settling_firm", STR), f(74, "delta_neutral_clearing_account", STR),
    f(75, "delta_neutral_clearing_intent", STR), f(76, "discretionary_amt", DBL),
    f(77, "opt_out_smart_routing", BOOL), f(78, "starting_price", DBL),
    f(79, "stock_ref_price", DBL), f(80, "delta", DBL), f(81, "stock_range_lower", DBL),
    f(82, "stock_range_upper", DBL), f(83, "not_held", BOOL), f(85, "solicited", BOOL),
    f(86, "randomize_size", BOOL), f(87, "randomize_price", BOOL),
    f(88, "reference_contract_id", I32), f(89, "pegged_change_amount", DBL),
    f(90, "is_pegged_change_amount_decrease", BOOL), f(91, "reference_change_amount", DBL),
    f(92, "reference_exchange_id", STR), f(93, "adjusted_order_type", STR),
    f(94, "trigger_price", DBL), f(95, "adjusted_stop_price", DBL),
    f(96, "adjusted_stop_limit_price", DBL), f(97, "adjusted_trailing_amount", DBL),
    f(98, "adjustable_trailing_unit", I32), f(99, "lmt_price_offset", DBL),
    f(84, "order_misc_options", TAG_TEXT), f(100, "conditions", PKind.CONDITIONS),
    f(101, "conditions_cancel_order", BOOL), f(102, "conditions_ignore_rth", BOOL),
    f(103, "model_code", STR), f(104, "ext_operator", STR),
    nest(105, f(1, "soft_dollar_tier_name", STR), f(2, "soft_dollar_tier_value", STR),
         f(3, "soft_dollar_tier_display_name", STR)),
    f(106, "cash_qty", DBL), f(107, "mifid2_decision_maker", STR),
    f(108, "mifid2_decision_algo", STR), f(109, "mifid2_execution_trader", STR),
    f(110, "mifid2_execution_algo", STR), f(111, "dont_use_auto_price_for_hedge", BOOL),
    f(112, "is_oms_container", BOOL), f(113, "discretionary_up_to_limit_price", BOOL),
    f(114, "auto_cancel_date", STR), f(115, "filled_quantity", DEC_STR),
    f(116, "ref_futures_con_id", I32), f(117, "auto_cancel_parent", BOOL),
    f(118, "shareholder", STR), f(119, "imbalance_only", BOOL),
    f(120, "route_marketable_to_bbo", BOOL_I32), f(121, "parent_perm_id", I64),
    f(122, "use_price_mgmt_algo", BOOL_I32), f(123, "duration", I32), f(124, "post_to_ats", I32),
    f(125, "advanced_error_override", STR), f(126, "manual_order_time", STR),
    f(127, "min_trade_qty", I32), f(128, "min_compete_size", I32),
    f(129, "compete_against_best_offset", DBL), f(130, "mid_offset_at_whole", DBL),
    f(131, "mid_offset_at_half", DBL),
)  # fmt: skip


def _request_contract(*extra: P) -> P:
    """Contract (2) of a market data or history request: the contract, includeExpired (18)
    where the row has it, its combo legs (20) where the row has them."""
    return nest(2, *_contract(m.RequestContract), *extra)


_MKT_DATA_LEGS: Final = rep(20, "combo_legs", f(1, "con_id", I32), f(2, "ratio", I32),
                            f(3, "action", STR), f(4, "exchange", STR))  # fmt: skip
_EXPIRED: Final = f(18, "include_expired", BOOL)

# HistoricalDataBar: HistoricalData's bars and HistoricalDataUpdate's one bar
_BAR: Final = (
    f(1, "date", STR), f(2, "open", DBL), f(3, "high", DBL), f(4, "low", DBL),
    f(5, "close", DBL), f(6, "volume", DEC_STR), f(7, "wap", DEC_STR), f(8, "bar_count", I32),
)  # fmt: skip
# HistoricalTickLast / HistoricalTickBidAsk, by the attribute names of their sub-rows;
# the attribute masks: Last pastLimit 1, unreported 2 (ibapi decoder.py processHistoricalTicks
# Last and processTickByTickMsg alike)
_TICK_LAST_ATTRIB: Final = nest(2, bit(1, "mask", 1), bit(2, "mask", 2))
# MarketDepthData: marketDepth has no market maker and no smart-depth flag
_DEPTH: Final = (
    f(1, "position", I32), f(2, "operation", I32), f(3, "side", I32), f(4, "price", DBL),
    f(5, "size", DEC_STR), f(6, "market_maker", STR), f(7, "is_smart_depth", BOOL),
)  # fmt: skip


def _order(cls: type) -> tuple[P, ...]:
    fields = _only(cls, _ORDER)
    soft = next(p for p in _ORDER if p.number == 105)
    tier = _only(cls, soft.nested)
    return tuple(p for p in fields if p.number != 105) + ((nest(105, *tier),) if tier else ())


# IB's OrderState message: status 1, margins 2..10 (doubles; the rows keep TWS's text),
# commissionAndFees 11..13, its currency 14, warningText 28, completedTime 29, -Status 30
_ORDER_STATE: Final = (
    f(1, "status", STR), f(2, "init_margin_before", TXT_DBL),
    f(3, "maint_margin_before", TXT_DBL), f(4, "equity_with_loan_before", TXT_DBL),
    f(5, "init_margin_change", TXT_DBL), f(6, "maint_margin_change", TXT_DBL),
    f(7, "equity_with_loan_change", TXT_DBL), f(8, "init_margin_after", TXT_DBL),
    f(9, "maint_margin_after", TXT_DBL), f(10, "equity_with_loan_after", TXT_DBL),
    f(11, "commission", DBL), f(12, "min_commission", DBL), f(13, "max_commission", DBL),
    f(14, "commission_currency", STR), f(28, "warning_text", STR),
    f(29, "completed_time", STR), f(30, "completed_status", STR),
)  # fmt: skip


def _order_contract(cls: type) -> P:
    """The Contract nested in an order row: the reply contract, its combo legs and its
    delta-neutral contract, and (for placeOrder) the order's secIdType / secId."""
    extra = _only(
        cls,
        (f(13, "sec_id_type", STR), f(14, "sec_id", STR), f(19, "combo_legs_descrip", STR)),
    )
    return nest(
        2 if cls is not m.CompletedOrder else 1,
        *_contract(m.RequestContract if cls is m.PlaceOrder else m.ReplyContract),
        *extra,
        _DELTA_NEUTRAL,
        # the order's per-leg prices ride on the contract's legs: ComboLeg.perLegPrice (9)
        rep(
            20, "combo_legs", *_COMBO_LEG, zip_path="order_combo_legs", zipped=(f(9, "price", DBL),)
        ),
    )


# IB's Execution message, as execDetails carries it
_EXECUTION: Final = nest(
    3,
    f(1, "order_id", I32), f(2, "exec_id", STR), f(3, "time", TIME), f(4, "acct_number", STR),
    f(5, "exchange", STR), f(6, "side", STR), f(7, "shares", DEC_STR), f(8, "price", DBL),
    f(9, "perm_id", I64), f(10, "client_id", I32), f(11, "liquidation", BOOL),
    f(12, "cum_qty", DEC_STR), f(13, "avg_price", DBL), f(14, "order_ref", STR),
    f(15, "ev_rule", STR), f(16, "ev_multiplier", DBL), f(17, "model_code", STR),
    f(18, "last_liquidity", I32), f(19, "pending_price_revision", BOOL),
)  # fmt: skip

# IB's ContractDetails message, as contractData carries it (the row is flat)
_CONTRACT_DETAILS: Final = nest(
    3,
    f(1, "market_name", STR), f(2, "min_tick", DEC_STR), f(3, "order_types", STR),
    f(4, "valid_exchanges", STR), f(5, "price_magnifier", I32), f(6, "under_con_id", I32),
    f(7, "long_name", STR), f(8, "contract_month", STR), f(9, "industry", STR),
    f(10, "category", STR), f(11, "subcategory", STR), f(12, "time_zone_id", STR),
    f(13, "trading_hours", STR), f(14, "liquid_hours", STR), f(15, "ev_rule", STR),
    f(16, "ev_multiplier", TXT_DBL), tags(17, "sec_id_list"), f(18, "agg_group", I32),
    f(19, "under_symbol", STR), f(20, "under_sec_type", STR), f(21, "market_rule_ids", STR),
    f(22, "real_expiration_date", STR), f(23, "stock_type", STR), f(24, "min_size", DEC_STR),
    f(25, "size_increment", DEC_STR), f(26, "suggested_size_increment", DEC_STR),
)  # fmt: skip

_REQ_ID: Final = f(1, "req_id", I32)
_NOTHING: Final[Form] = ()

FORMS: Final[Mapping[type[m.Message], Form]] = {
    # ---- client -> gateway -------------------------------------------------------------------
    m.StartApi: (f(1, "client_id", I32), f(2, "optional_capabilities", STR)),
    m.ReqIds: (f(1, "num_ids", I32),),
    m.ReqCurrentTime: _NOTHING,
    m.ReqManagedAccts: _NOTHING,
    m.ReqExecutions: (
        _REQ_ID,
        nest(
            2,
            f(1, "client_id", I32),
            f(2, "acct_code", STR),
            f(3, "time", STR),
            f(4, "symbol", STR),
            f(5, "sec_type", STR),
            f(6, "exchange", STR),
            f(7, "side", STR),
        ),
    ),
    m.PlaceOrder: (
        f(1, "order_id", I32),
        _order_contract(m.PlaceOrder),
        nest(3, *_order(m.PlaceOrder)),
    ),
    m.CancelOrder: (f(1, "order_id", I32), nest(2, f(1, "manual_order_cancel_time", STR))),
    m.ReqGlobalCancel: _NOTHING,
    m.ReqOpenOrders: _NOTHING,
    m.ReqAllOpenOrders: _NOTHING,
    m.ReqAutoOpenOrders: (f(1, "auto_bind", BOOL),),
    m.ReqCompletedOrders: (f(1, "api_only", BOOL),),
    m.ReqContractDetails: (
        _REQ_ID,
        nest(
            2,
            *_contract(m.RequestContract),
            f(13, "sec_id_type", STR),
            f(14, "sec_id", STR),
            f(16, "issuer_id", STR),
            f(18, "include_expired", BOOL),
        ),
    ),
    m.ReqMktData: (
        _REQ_ID,
        nest(
            2,
            *_contract(m.RequestContract),
            _DELTA_NEUTRAL,
            rep(
                20,
                "combo_legs",
                f(1, "con_id", I32),
                f(2, "ratio", I32),
                f(3, "action", STR),
                f(4, "exchange", STR),
            ),
        ),
        f(3, "generic_tick_list", STR),
        f(4, "snapshot", BOOL),
        f(5, "regulatory_snapshot", BOOL),
        f(6, "mkt_data_options", TAG_TEXT),
    ),
    m.CancelMktData: (_REQ_ID,),
    m.ReqMarketDataType: (f(1, "market_data_type", I32),),
    m.ReqAccountUpdates: (f(1, "subscribe", BOOL), f(2, "acct_code", STR)),
    m.ReqPositions: _NOTHING,
    m.CancelPositions: _NOTHING,
    m.ReqAccountSummary: (_REQ_ID, f(2, "group", STR), f(3, "tags", STR)),
    m.CancelAccountSummary: (_REQ_ID,),
    m.ReqPositionsMulti: (_REQ_ID, f(2, "account", STR), f(3, "model_code", STR)),
    m.CancelPositionsMulti: (_REQ_ID,),
    m.ReqAccountUpdatesMulti: (
        _REQ_ID,
        f(2, "account", STR),
        f(3, "model_code", STR),
        f(4, "ledger_and_nlv", BOOL),
    ),
    m.CancelAccountUpdatesMulti: (_REQ_ID,),
    # ---- gateway -> client -------------------------------------------------------------------
    m.TickPrice: (
        _REQ_ID,
        f(2, "tick_type", I32),
        f(3, "price", DBL),
        f(4, "size", DEC_STR),
        f(5, "attr_mask", I32),
    ),
    m.TickSize: (_REQ_ID, f(2, "tick_type", I32), f(3, "size", DEC_STR)),
    m.TickGeneric: (_REQ_ID, f(2, "tick_type", I32), f(3, "value", DBL)),
    m.TickString: (_REQ_ID, f(2, "tick_type", I32), f(3, "value", STR)),
    m.TickReqParams: (
        _REQ_ID,
        f(2, "min_tick", DEC_STR),
        f(3, "bbo_exchange", STR),
        f(4, "snapshot_permissions", I32),
    ),
    m.TickSnapshotEnd: (_REQ_ID,),
    m.MarketDataType: (_REQ_ID, f(2, "market_data_type", I32)),
    m.TickNews: (  # decoder.py processTickNewsMsgProtoBuf
        _REQ_ID,
        f(2, "time_stamp", I64),
        f(3, "provider_code", STR),
        f(4, "article_id", STR),
        f(5, "headline", STR),
        f(6, "extra_data", STR),
    ),
    m.OrderStatus: (
        f(1, "order_id", I32),
        f(2, "status", STR),
        f(3, "filled", DEC_STR),
        f(4, "remaining", DEC_STR),
        f(5, "avg_fill_price", DBL),
        f(6, "perm_id", I64),
        f(7, "parent_id", I32),
        f(8, "last_fill_price", DBL),
        f(9, "client_id", I32),
        f(10, "why_held", STR),
        f(11, "mkt_cap_price", DBL),
    ),
    # errorTime (2) is not in the row: the client reads 0
    m.ErrorMsg: (
        f(1, "req_id", I32),
        f(3, "code", I32),
        f(4, "text", STR),
        f(5, "advanced_order_reject_json", STR),
    ),
    m.OpenOrder: (
        f(1, "order_id", I32),
        _order_contract(m.OpenOrder),
        nest(3, *_order(m.OpenOrder)),
        nest(4, *_only(m.OpenOrder, _ORDER_STATE)),
    ),
    m.OpenOrderEnd: _NOTHING,
    m.CompletedOrder: (
        _order_contract(m.CompletedOrder),
        nest(2, *_order(m.CompletedOrder)),
        nest(3, *_only(m.CompletedOrder, _ORDER_STATE)),
    ),
    m.CompletedOrdersEnd: _NOTHING,
    m.UpdateAccountValue: (
        f(1, "key", STR),
        f(2, "value", STR),
        f(3, "currency", STR),
        f(4, "account", STR),
    ),
    m.UpdatePortfolio: (
        nest(1, *_contract(m.PortfolioContract)),
        f(2, "position", DEC_STR),
        f(3, "market_price", DBL),
        f(4, "market_value", DBL),
        f(5, "average_cost", DBL),
        f(6, "unrealized_pnl", DBL),
        f(7, "realized_pnl", DBL),
        f(8, "account", STR),
    ),
    m.UpdateAccountTime: (f(1, "time_stamp", STR),),
    m.AccountDownloadEnd: (f(1, "account", STR),),
    m.NextValidId: (f(1, "order_id", I32),),
    m.ContractData: (_REQ_ID, nest(2, *_contract(m.ContractData, "")), _CONTRACT_DETAILS),
    m.ContractDataEnd: (_REQ_ID,),
    m.ExecDetails: (_REQ_ID, nest(2, *_contract(m.ReplyContract)), _EXECUTION),
    m.ExecDetailsEnd: (_REQ_ID,),
    m.CommissionReport: (
        f(1, "exec_id", STR),
        f(2, "commission", DBL),
        f(3, "currency", STR),
        f(4, "realized_pnl", DBL_MAX),
        f(5, "yield_", DBL_MAX),
        f(6, "yield_redemption_date", INT_STR),
    ),
    m.ManagedAccounts: (f(1, "accounts", STR),),
    m.CurrentTime: (f(1, "time", I64),),
    m.Position: (
        f(1, "account", STR),
        nest(2, *_contract(m.ReplyContract)),
        f(3, "position", DEC_STR),
        f(4, "avg_cost", DBL),
    ),
    m.PositionEnd: _NOTHING,
    m.AccountSummary: (
        _REQ_ID,
        f(2, "account", STR),
        f(3, "tag", STR),
        f(4, "value", STR),
        f(5, "currency", STR),
    ),
    m.AccountSummaryEnd: (_REQ_ID,),
    m.PositionMulti: (
        _REQ_ID,
        f(2, "account", STR),
        nest(3, *_contract(m.ReplyContract)),
        f(4, "position", DEC_STR),
        f(5, "avg_cost", DBL),
        f(6, "model_code", STR),
    ),
    m.PositionMultiEnd: (_REQ_ID,),
    m.AccountUpdateMulti: (
        _REQ_ID,
        f(2, "account", STR),
        f(3, "model_code", STR),
        f(4, "key", STR),
        f(5, "value", STR),
        f(6, "currency", STR),
    ),
    m.AccountUpdateMultiEnd: (_REQ_ID,),
    # ---- the rest of the API: requests (ibapi client_utils.py create*RequestProto) ----------
    m.CancelMktDepth: (_REQ_ID, f(2, "is_smart_depth", BOOL)),  # CancelMarketDepth
    m.ReqMktDepth: (  # MarketDepthRequest
        _REQ_ID,
        _request_contract(),
        f(3, "num_rows", I32),
        f(4, "is_smart_depth", BOOL),
        f(5, "mkt_depth_options", TAG_TEXT),
    ),
    m.ReqHistoricalData: (  # HistoricalDataRequest
        _REQ_ID,
        _request_contract(_EXPIRED, _MKT_DATA_LEGS),
        f(3, "end_date_time", STR),
        f(4, "bar_size", STR),
        f(5, "duration", STR),
        f(6, "use_rth", BOOL),
        f(7, "what_to_show", STR),
        f(8, "format_date", I32),
        f(9, "keep_up_to_date", BOOL),
        f(10, "chart_options", TAG_TEXT),
    ),
    m.CancelHistoricalData: (_REQ_ID,),
    m.ReqRealTimeBars: (  # RealTimeBarsRequest
        _REQ_ID,
        _request_contract(),
        f(3, "bar_size", I32),
        f(4, "what_to_show", STR),
        f(5, "use_rth", BOOL),
        f(6, "options", TAG_TEXT),
    ),
    m.CancelRealTimeBars: (_REQ_ID,),
    m.ReqHeadTimeStamp: (  # HeadTimestampRequest
        _REQ_ID,
        _request_contract(_EXPIRED),
        f(3, "use_rth", BOOL),
        f(4, "what_to_show", STR),
        f(5, "format_date", I32),
    ),
    m.CancelHeadTimeStamp: (_REQ_ID,),  # CancelHeadTimestamp
    m.ReqHistogramData: (  # HistogramDataRequest
        _REQ_ID,
        _request_contract(_EXPIRED),
        f(3, "use_rth", BOOL),
        f(4, "time_period", STR),
    ),
    m.CancelHistogramData: (_REQ_ID,),
    m.ReqHistoricalTicks: (  # HistoricalTicksRequest
        _REQ_ID,
        _request_contract(_EXPIRED),
        f(3, "start_date_time", STR),
        f(4, "end_date_time", STR),
        f(5, "number_of_ticks", I32),
        f(6, "what_to_show", STR),
        f(7, "use_rth", BOOL),
        f(8, "ignore_size", BOOL),
        f(9, "misc_options", TAG_TEXT),
    ),
    m.ReqTickByTickData: (  # TickByTickRequest
        _REQ_ID,
        _request_contract(),
        f(3, "tick_type", STR),
        f(4, "number_of_ticks", I32),
        f(5, "ignore_size", BOOL),
    ),
    m.CancelTickByTickData: (_REQ_ID,),  # CancelTickByTick
    m.ReqNewsBulletins: (f(1, "all_msgs", BOOL),),  # NewsBulletinsRequest
    m.CancelNewsBulletins: _NOTHING,
    m.ReqNewsArticle: (  # NewsArticleRequest
        _REQ_ID,
        f(2, "provider_code", STR),
        f(3, "article_id", STR),
        f(4, "options", TAG_TEXT),
    ),
    m.ReqNewsProviders: _NOTHING,  # NewsProvidersRequest
    m.ReqHistoricalNews: (  # HistoricalNewsRequest
        _REQ_ID,
        f(2, "con_id", I32),
        f(3, "provider_codes", STR),
        f(4, "start_date_time", STR),
        f(5, "end_date_time", STR),
        f(6, "total_results", I32),
        f(7, "options", TAG_TEXT),
    ),
    m.ReqWshMetaData: (_REQ_ID,),  # WshMetaDataRequest
    m.CancelWshMetaData: (_REQ_ID,),
    m.ReqWshEventData: (  # WshEventDataRequest
        _REQ_ID,
        f(2, "con_id", I32),
        f(3, "filter", STR),
        f(4, "fill_watchlist", BOOL),
        f(5, "fill_portfolio", BOOL),
        f(6, "fill_competitors", BOOL),
        f(7, "start_date", STR),
        f(8, "end_date", STR),
        f(9, "total_limit", I32),
    ),
    m.CancelWshEventData: (_REQ_ID,),
    m.ReqScannerParameters: _NOTHING,  # ScannerParametersRequest
    m.ReqScannerSubscription: (  # ScannerSubscriptionRequest: ScannerSubscription (2)
        _REQ_ID,
        nest(
            2,
            f(1, "number_of_rows", I32),
            f(2, "instrument", STR),
            f(3, "location_code", STR),
            f(4, "scan_code", STR),
            f(5, "above_price", DBL),
            f(6, "below_price", DBL),
            f(7, "above_volume", I64),
            f(8, "market_cap_above", DBL),
            f(9, "market_cap_below", DBL),
            f(10, "moody_rating_above", STR),
            f(11, "moody_rating_below", STR),
            f(12, "sp_rating_above", STR),
            f(13, "sp_rating_below", STR),
            f(14, "maturity_date_above", STR),
            f(15, "maturity_date_below", STR),
            f(16, "coupon_rate_above", DBL),
            f(17, "coupon_rate_below", DBL),
            f(18, "exclude_convertible", BOOL),
            f(19, "average_option_volume_above", I64),
            f(20, "scanner_setting_pairs", STR),
            f(21, "stock_type_filter", STR),
            f(22, "filter_options", TAG_TEXT),
            f(23, "options", TAG_TEXT),
        ),
    ),
    m.CancelScannerSubscription: (_REQ_ID,),
    m.ReqPnL: (_REQ_ID, f(2, "account", STR), f(3, "model_code", STR)),  # PnLRequest
    m.CancelPnL: (_REQ_ID,),
    m.ReqPnLSingle: (
        _REQ_ID,
        f(2, "account", STR),
        f(3, "model_code", STR),
        f(4, "con_id", I32),
    ),  # PnLSingleRequest
    m.CancelPnLSingle: (_REQ_ID,),
    m.RequestFA: (f(1, "fa_data_type", I32),),  # FARequest
    m.ReplaceFA: (_REQ_ID, f(2, "fa_data_type", I32), f(3, "cxml", STR)),  # FAReplace
    m.ExerciseOptions: (  # ExerciseOptionsRequest: the request id travels as orderId (1)
        f(1, "req_id", I32),
        nest(2, *_contract(m.OptionContract)),
        f(3, "exercise_action", I32),
        f(4, "exercise_quantity", I32),
        f(5, "account", STR),
        f(6, "override", INT_BOOL),
    ),
    m.ReqCalcImpliedVolat: (  # CalculateImpliedVolatilityRequest
        _REQ_ID,
        _request_contract(),
        f(3, "option_price", DBL),
        f(4, "under_price", DBL),
        f(5, "options", TAG_TEXT),
    ),
    m.CancelCalcImpliedVolat: (_REQ_ID,),  # CancelCalculateImpliedVolatility
    m.ReqCalcOptionPrice: (  # CalculateOptionPriceRequest
        _REQ_ID,
        _request_contract(),
        f(3, "volatility", DBL),
        f(4, "under_price", DBL),
        f(5, "options", TAG_TEXT),
    ),
    m.CancelCalcOptionPrice: (_REQ_ID,),  # CancelCalculateOptionPrice
    m.ReqSecDefOptParams: (  # SecDefOptParamsRequest
        _REQ_ID,
        f(2, "underlying_symbol", STR),
        f(3, "fut_fop_exchange", STR),
        f(4, "underlying_sec_type", STR),
        f(5, "underlying_con_id", I32),
    ),
    m.ReqSoftDollarTiers: (_REQ_ID,),  # SoftDollarTiersRequest
    m.ReqFamilyCodes: _NOTHING,  # FamilyCodesRequest
    m.ReqMatchingSymbols: (_REQ_ID, f(2, "pattern", STR)),  # MatchingSymbolsRequest
    m.ReqSmartComponents: (_REQ_ID, f(2, "bbo_exchange", STR)),  # SmartComponentsRequest
    m.ReqMarketRule: (f(1, "market_rule_id", I32),),  # MarketRuleRequest
    m.ReqUserInfo: (_REQ_ID,),  # UserInfoRequest
    m.ReqMktDepthExchanges: _NOTHING,  # MarketDepthExchangesRequest
    m.SetServerLogLevel: (f(1, "log_level", I32),),  # SetServerLogLevelRequest
    m.VerifyRequest: (f(1, "api_name", STR), f(2, "api_version", STR)),
    m.VerifyMessage: (f(1, "api_data", STR),),  # VerifyMessageRequest
    m.QueryDisplayGroups: (_REQ_ID,),  # QueryDisplayGroupsRequest
    m.SubscribeToGroupEvents: (_REQ_ID, f(2, "group_id", I32)),
    m.UpdateDisplayGroup: (_REQ_ID, f(2, "contract_info", STR)),
    m.UnsubscribeFromGroupEvents: (_REQ_ID,),
    # protobuf-only requests (client.py): the simulator reads their request id; the rest of
    # UpdateConfigRequest, TWS's settings, is skipped
    m.CancelContractData: (_REQ_ID,),
    m.CancelHistoricalTicks: (_REQ_ID,),
    m.ReqConfig: (_REQ_ID,),  # ConfigRequest
    m.UpdateConfig: (_REQ_ID,),  # UpdateConfigRequest
    # ---- the rest of the API: replies (ibapi decoder.py process*MsgProtoBuf) --------------
    m.TickOptionComputation: (
        _REQ_ID,
        f(2, "tick_type", I32),
        f(3, "tick_attrib", I32),
        f(4, "implied_vol", DBL),
        f(5, "delta", DBL),
        f(6, "opt_price", DBL),
        f(7, "pv_dividend", DBL),
        f(8, "gamma", DBL),
        f(9, "vega", DBL),
        f(10, "theta", DBL),
        f(11, "und_price", DBL),
    ),
    m.MarketDepth: (_REQ_ID, nest(2, *_only(m.MarketDepth, _DEPTH))),
    m.MarketDepthL2: (_REQ_ID, nest(2, *_DEPTH)),
    m.MktDepthExchanges: (  # MarketDepthExchanges
        rep(
            1,
            "descriptions",
            f(1, "exchange", STR),
            f(2, "sec_type", STR),
            f(3, "listing_exchange", STR),
            f(4, "service_data_type", STR),
            f(5, "agg_group", I32),
        ),
    ),
    m.HistoricalData: (_REQ_ID, rep(2, "bars", *_BAR)),  # start / end: HistoricalDataEnd
    m.HistoricalDataEnd: (_REQ_ID, f(2, "start", STR), f(3, "end", STR)),
    m.HistoricalDataUpdate: (_REQ_ID, nest(2, *_BAR)),
    m.HistoricalSchedule: (
        _REQ_ID,
        f(2, "start_date_time", STR),
        f(3, "end_date_time", STR),
        f(4, "time_zone", STR),
        rep(
            5,
            "sessions",
            f(1, "start_date_time", STR),
            f(2, "end_date_time", STR),
            f(3, "ref_date", STR),
        ),
    ),
    m.RealTimeBar: (  # RealTimeBarTick
        _REQ_ID,
        f(2, "time", I64),
        f(3, "open", DBL),
        f(4, "high", DBL),
        f(5, "low", DBL),
        f(6, "close", DBL),
        f(7, "volume", DEC_STR),
        f(8, "wap", DEC_STR),
        f(9, "count", I32),
    ),
    m.HeadTimestamp: (_REQ_ID, f(2, "head_timestamp", STR)),
    m.HistogramData: (_REQ_ID, rep(2, "items", f(1, "price", DBL), f(2, "size", DEC_STR))),
    m.HistoricalTicks: (  # HistoricalTick: time, price, size
        _REQ_ID,
        rep(2, "ticks", f(1, "time", I64), f(2, "price", DBL), f(3, "size", DEC_STR)),
        f(3, "done", BOOL),
    ),
    m.HistoricalTicksBidAsk: (  # HistoricalTickBidAsk; its mask: askPastHigh 1, bidPastLow 2
        _REQ_ID,
        rep(
            2,
            "ticks",
            f(1, "time", I64),
            nest(2, bit(1, "mask", 2), bit(2, "mask", 1)),
            f(3, "price_bid", DBL),
            f(4, "price_ask", DBL),
            f(5, "size_bid", DEC_STR),
            f(6, "size_ask", DEC_STR),
        ),
        f(3, "done", BOOL),
    ),
    m.HistoricalTicksLast: (  # HistoricalTickLast
        _REQ_ID,
        rep(
            2,
            "ticks",
            f(1, "time", I64),
            _TICK_LAST_ATTRIB,
            f(3, "price", DBL),
            f(4, "size", DEC_STR),
            f(5, "exchange", STR),
            f(6, "special_conditions", STR),
        ),
        f(3, "done", BOOL),
    ),
    m.TickByTick: (  # TickByTickData: one of three nested ticks, by tick type
        _REQ_ID,
        f(2, "tick_type", I32),
        nest(
            3,
            f(1, "time", I64),
            nest(2, bit(1, "last_mask", 1), bit(2, "last_mask", 2)),
            f(3, "price", DBL),
            f(4, "size", DEC_STR),
            f(5, "exchange", STR),
            f(6, "special_conditions", STR),
            when=m.OneOf("tick_type", frozenset({1, 2})),
        ),
        # tick-by-tick's bid/ask mask is bidPastLow 1, askPastHigh 2 (processTickByTickMsg)
        nest(
            4,
            f(1, "time", I64),
            nest(2, bit(1, "bid_ask_mask", 1), bit(2, "bid_ask_mask", 2)),
            f(3, "bid_price", DBL),
            f(4, "ask_price", DBL),
            f(5, "bid_size", DEC_STR),
            f(6, "ask_size", DEC_STR),
            when=m.OneOf("tick_type", frozenset({3})),
        ),
        nest(
            5, f(1, "time", I64), f(2, "mid_point", DBL), when=m.OneOf("tick_type", frozenset({4}))
        ),
    ),
    m.UpdateNewsBulletin: (  # NewsBulletin
        f(1, "news_msg_id", I32),
        f(2, "news_msg_type", I32),
        f(3, "message", STR),
        f(4, "origin_exchange", STR),
    ),
    m.NewsArticle: (_REQ_ID, f(2, "article_type", I32), f(3, "article_text", STR)),
    m.NewsProviders: (rep(1, "providers", f(1, "code", STR), f(2, "name", STR)),),
    m.HistoricalNews: (
        _REQ_ID,
        f(2, "time", STR),
        f(3, "provider_code", STR),
        f(4, "article_id", STR),
        f(5, "headline", STR),
    ),
    m.HistoricalNewsEnd: (_REQ_ID, f(2, "has_more", BOOL)),
    m.WshMetaData: (_REQ_ID, f(2, "data_json", STR)),
    m.WshEventData: (_REQ_ID, f(2, "data_json", STR)),
    m.ScannerParameters: (f(1, "xml", STR),),
    m.ScannerData: (  # ScannerDataElement: rank, Contract, marketName ... comboKey
        _REQ_ID,
        rep(
            2,
            "items",
            f(1, "rank", I32),
            nest(2, *_contract(m.ScanDataItem, "")),
            f(3, "market_name", STR),
            f(4, "distance", STR),
            f(5, "benchmark", STR),
            f(6, "projection", STR),
            f(7, "legs_str", STR),
        ),
    ),
    m.PnL: (
        _REQ_ID,
        f(2, "daily_pnl", DBL_MAX),
        f(3, "unrealized_pnl", DBL_MAX),
        f(4, "realized_pnl", DBL_MAX),
    ),
    m.PnLSingle: (
        _REQ_ID,
        f(2, "position", DEC_STR),
        f(3, "daily_pnl", DBL_MAX),
        f(4, "unrealized_pnl", DBL_MAX),
        f(5, "realized_pnl", DBL_MAX),
        f(6, "value", DBL_MAX),
    ),
    m.ReceiveFA: (f(1, "fa_data_type", I32), f(2, "cxml", STR)),
    m.ReplaceFAEnd: (_REQ_ID, f(2, "text", STR)),
    m.SecurityDefinitionOptionParameter: (  # SecDefOptParameter
        _REQ_ID,
        f(2, "exchange", STR),
        f(3, "underlying_con_id", I32),
        f(4, "trading_class", STR),
        f(5, "multiplier", STR),
        f(6, "expirations", REP_STR),
        f(7, "strikes", REP_DBL),
    ),
    m.SecurityDefinitionOptionParameterEnd: (_REQ_ID,),  # SecDefOptParameterEnd
    m.SoftDollarTiers: (
        _REQ_ID,
        rep(2, "tiers", f(1, "name", STR), f(2, "value", STR), f(3, "display_name", STR)),
    ),
    m.FamilyCodes: (rep(1, "codes", f(1, "account_id", STR), f(2, "family_code", STR)),),
    m.SymbolSamples: (  # ContractDescription: Contract (1), derivativeSecTypes (2)
        _REQ_ID,
        rep(
            2,
            "descriptions",
            nest(
                1,
                *_contract(m.ContractDescription, ""),
                f(15, "description", STR),
                f(16, "issuer_id", STR),
            ),
            f(2, "derivative_sec_types", REP_STR),
        ),
    ),
    m.SmartComponents: (
        _REQ_ID,
        rep(
            2,
            "components",
            f(1, "bit_number", I32),
            f(2, "exchange", STR),
            f(3, "exchange_letter", STR),
        ),
    ),
    m.MarketRule: (
        f(1, "market_rule_id", I32),
        rep(2, "increments", f(1, "low_edge", DBL), f(2, "increment", DBL)),
    ),
    m.UserInfo: (_REQ_ID, f(2, "white_branding_id", STR)),
    m.VerifyCompleted: (f(1, "is_successful", BOOL), f(2, "error_text", STR)),
    m.DisplayGroupList: (_REQ_ID, f(2, "groups", STR)),
    m.DisplayGroupUpdated: (_REQ_ID, f(2, "contract_info", STR)),
}

# rows whose protobuf rendering is two messages: the row's form, then this message's form read
# from the same row (historicalData's start and end travel in historicalDataEnd from 196)
TRAILERS: Final[Mapping[type[m.Message], type[m.Message]]] = {
    m.HistoricalData: m.HistoricalDataEnd,
}


def form_for(cls: type) -> Form | None:
    return FORMS.get(cls)


# ---- how far protobuf reaches ------------------------------------------------------------------
def _needs_form(key: tuple[m.Direction, int], cls: type) -> bool:
    """Every row needs a form but the requests IB's client sends as text at every version."""
    return cls not in FORMS and not (key[0] is m.Direction.IN and protobuf_since(*key) is None)


def rows_without_form() -> list[type[m.Message]]:
    """Message rows the simulator speaks that have no protobuf form yet."""
    missing = (cls for key, cls in m.SPECS.items() if _needs_form(key, cls))
    return sorted(missing, key=lambda c: c.__name__)


def protobuf_complete_below() -> int:
    """The server version from which some message the simulator speaks would have to travel
    as protobuf without a form: a request the official client sends as protobuf from its
    threshold (`getServerVersionForMessage`), a reply from 201 (the client accepts protobuf
    for every reply from there, and a text layout newer than 178 is not described by the
    rows). Negotiating below it keeps every message on a path the simulator speaks."""
    limits = [MAX_SERVER_VERSION + 1]
    for key, cls in m.SPECS.items():
        if not _needs_form(key, cls):
            continue
        since = protobuf_since(*key)
        limits.append(since if since is not None else PROTOBUF)
    return min(limits)


def default_max_server_version() -> int:
    """The newest version negotiated by default: the newest spoken below
    `protobuf_complete_below()` (226 once every row has its form)."""
    top = highest_spoken(protobuf_complete_below() - 1)
    return top if top is not None else TEXT_MAX_VERSION


DEFAULT_MAX_SERVER_VERSION: Final = default_max_server_version()
