"""The codec against both real client libraries, with no socket in between.

Requests are produced by ib_async's and ibapi's own encoders (their send path is captured) and
must decode exactly (no field left over) at every server version we negotiate. Replies are
encoded by the simulator and fed to both libraries' own decoders, which must call the
expected callback without logging a decode error.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import struct
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import ib_async
import pytest
from ib_async.client import Client as AsyncClient
from ib_async.decoder import Decoder as AsyncDecoder
from ibapi import order_condition as ibapi_cond
from ibapi.client import EClient
from ibapi.contract import ComboLeg as ApiComboLeg
from ibapi.contract import Contract as ApiContract
from ibapi.contract import DeltaNeutralContract as ApiDnc
from ibapi.decoder import Decoder as ApiDecoder
from ibapi.execution import ExecutionFilter as ApiExecFilter
from ibapi.order import Order as ApiOrder
from ibapi.order_cancel import OrderCancel
from ibapi.tag_value import TagValue as ApiTagValue
from ibapi.wrapper import EWrapper

from ibgateway_sim.wire import messages as m
from ibgateway_sim.wire.codec import (
    MAX_VERSION,
    MIN_VERSION,
    decode_fields,
    encode_fields,
)
from ibgateway_sim.wire.messages import Direction
from ibgateway_sim.wire.protoforms import TRAILERS
from tests.sim.api_samples import API_CALLBACKS, API_SAMPLES
from tests.sim.decoding import ibapi_calls
from tests.sim.market_samples import MARKET_CALLBACKS, MARKET_SAMPLES

VERSIONS = [157, 158, 160, 162, 163, 164, 166, 169, 170, 176, 177, 178]
assert VERSIONS[0] == MIN_VERSION and VERSIONS[-1] == MAX_VERSION

# ---- capturing the clients' requests ------------------------------------------------------


def async_requests(version: int, call: Any) -> list[list[str]]:
    client = AsyncClient(SimpleNamespace())
    client.connState = AsyncClient.CONNECTED
    client._serverVersion = version
    sent: list[str] = []
    client.sendMsg = sent.append  # type: ignore[method-assign]
    call(client)
    return [s.split("\0")[:-1] for s in sent]


class _FakeConn:
    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def isConnected(self) -> bool:
        return True

    def sendMsg(self, data: bytes) -> None:
        self.sent.append(data)


def api_requests(version: int, call: Any) -> list[list[str]]:
    client = EClient(EWrapper())
    client.conn = _FakeConn()
    client.connState = EClient.CONNECTED
    client.serverVersion_ = version
    call(client)
    out = []
    for data in client.conn.sent:
        (size,) = struct.unpack(">I", data[:4])
        assert size == len(data) - 4
        out.append(data[4:].decode().split("\0")[:-1])
    return out


def decode_in(fields: list[str], version: int) -> m.Message:
    msg = decode_fields(Direction.IN, fields, version, strict=True)
    assert isinstance(msg, m.Message)
    return msg


# ---- orders of every shape, from both libraries ------------------------------------------


def _async_orders() -> dict[str, tuple[ib_async.Contract, ib_async.Order]]:
    stk = ib_async.Stock("AAPL", "SMART", "USD")
    bag = ib_async.Contract(
        secType="BAG",
        symbol="SPY",
        exchange="SMART",
        currency="USD",
        comboLegs=[
            ib_async.ComboLeg(conId=1, ratio=1, action="BUY", exchange="SMART"),
            ib_async.ComboLeg(conId=2, ratio=1, action="SELL", exchange="SMART"),
        ],
    )
    ats = ib_async.Stock("AAPL", "IBKRATS", "USD")
    dn = ib_async.Stock("AAPL", "SMART", "USD")
    dn.deltaNeutralContract = ib_async.DeltaNeutralContract(conId=9, delta=0.5, price=100.0)
    cond = ib_async.PriceCondition(price=101.0, conId=265598, exch="SMART")
    return {
        "MKT": (stk, ib_async.MarketOrder("BUY", 10)),
        "LMT": (stk, ib_async.LimitOrder("SELL", 5, 101.25, tif="GTC")),
        "STP": (stk, ib_async.StopOrder("SELL", 5, 95.0)),
        "STP LMT": (stk, ib_async.StopLimitOrder("BUY", 5, 101.0, 100.0)),
        "TRAIL%": (
            stk,
            ib_async.Order(action="SELL", totalQuantity=5, orderType="TRAIL", trailingPercent=1.5),
        ),
        "TRAIL$": (
            stk,
            ib_async.Order(
                action="SELL", totalQuantity=5, orderType="TRAIL", auxPrice=2.0, trailStopPrice=98.0
            ),
        ),
        "GTD": (
            stk,
            ib_async.LimitOrder(
                "BUY", 1, 100.0, tif="GTD", goodTillDate="20301231 16:00:00 US/Eastern"
            ),
        ),
        "algo": (
            stk,
            ib_async.Order(
                action="BUY",
                totalQuantity=1,
                orderType="MKT",
                algoStrategy="Adaptive",
                algoParams=[ib_async.TagValue("adaptivePriority", "Normal")],
            ),
        ),
        "conditions": (
            stk,
            ib_async.Order(
                action="BUY",
                totalQuantity=1,
                orderType="MKT",
                conditions=[cond, ib_async.TimeCondition(time="20301231 10:00:00 UTC")],
                conditionsIgnoreRth=True,
            ),
        ),
        "bag": (
            bag,
            ib_async.Order(
                action="BUY",
                totalQuantity=1,
                orderType="LMT",
                lmtPrice=1.0,
                orderComboLegs=[ib_async.OrderComboLeg(price=0.5)],
                smartComboRoutingParams=[ib_async.TagValue("NonGuaranteed", "1")],
            ),
        ),
        "dn": (
            dn,
            ib_async.Order(
                action="BUY",
                totalQuantity=1,
                orderType="VOL",
                volatility=20.0,
                volatilityType=2,
                deltaNeutralOrderType="LMT",
                deltaNeutralAuxPrice=1.0,
            ),
        ),
        "scale": (
            stk,
            ib_async.Order(
                action="BUY",
                totalQuantity=100,
                orderType="LMT",
                lmtPrice=10.0,
                scaleInitLevelSize=10,
                scaleSubsLevelSize=10,
                scalePriceIncrement=0.05,
            ),
        ),
        "hedge": (
            stk,
            ib_async.Order(
                action="BUY", totalQuantity=1, orderType="MKT", hedgeType="D", hedgeParam="0.5"
            ),
        ),
        "peg bench": (
            stk,
            ib_async.Order(
                action="BUY",
                totalQuantity=1,
                orderType="PEG BENCH",
                referenceContractId=1,
                referenceExchangeId="SMART",
            ),
        ),
        "peg best inf": (
            ats,
            ib_async.Order(
                action="BUY",
                totalQuantity=1,
                orderType="PEG BEST",
                minTradeQty=1,
                minCompeteSize=1,
                competeAgainstBestOffset=math.inf,
                midOffsetAtWhole=0.01,
                midOffsetAtHalf=0.005,
            ),
        ),
        "peg mid": (
            stk,
            ib_async.Order(
                action="BUY",
                totalQuantity=1,
                orderType="PEG MID",
                midOffsetAtWhole=0.01,
                midOffsetAtHalf=0.005,
            ),
        ),
        "fa": (stk, ib_async.MarketOrder("BUY", 10, faGroup="G1", faMethod="EqualQuantity")),
    }


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name", sorted(_async_orders()))
def test_ib_async_place_order_decodes_exactly(version: int, name: str) -> None:
    contract, order = _async_orders()[name]
    (fields,) = async_requests(version, lambda c: c.placeOrder(42, contract, order))
    msg = decode_in(fields, version)
    assert isinstance(msg, m.PlaceOrder)
    assert msg.order_id == 42
    assert msg.action == order.action
    assert msg.total_quantity == Decimal(str(order.totalQuantity))
    assert msg.order_type == order.orderType
    assert msg.contract.symbol == contract.symbol
    if name == "TRAIL%":
        assert msg.trailing_percent == Decimal("1.5") and msg.aux_price is None
    if name == "TRAIL$":
        assert msg.aux_price == Decimal("2.0") and msg.trail_stop_price == Decimal("98.0")
    if name == "GTD":
        assert msg.good_till_date == "20301231 16:00:00 US/Eastern" and msg.tif == "GTD"
    if name == "conditions":
        assert [c.cond_type for c in msg.conditions] == [1, 3]
        assert msg.conditions_ignore_rth is True
    if name == "bag":
        assert [leg.con_id for leg in msg.combo_legs] == [1, 2]
        assert msg.order_combo_legs == (m.OrderComboLeg(price=Decimal("0.5")),)
    if name == "dn":
        assert msg.delta_neutral_contract == m.DeltaNeutralContract(
            con_id=9, delta=Decimal("0.5"), price=Decimal("100.0")
        )
    if name == "algo":
        assert msg.algo_params == (m.TagValue(tag="adaptivePriority", value="Normal"),)
    if name == "peg best inf" and version >= m.V_PEGBEST_PEGMID:
        assert msg.compete_against_best_offset == Decimal("Infinity")
        assert msg.mid_offset_at_half == Decimal("0.005")
        assert msg.min_trade_qty == 1


def _api_order(action: str, qty: str, order_type: str, **kw: Any) -> ApiOrder:
    o = ApiOrder()
    o.action, o.totalQuantity, o.orderType = action, Decimal(qty), order_type
    for k, v in kw.items():
        setattr(o, k, v)
    return o


def _api_contract(
    symbol: str = "AAPL", sec_type: str = "STK", exchange: str = "SMART", **kw: Any
) -> ApiContract:
    c = ApiContract()
    c.symbol, c.secType, c.exchange, c.currency = symbol, sec_type, exchange, "USD"
    for k, v in kw.items():
        setattr(c, k, v)
    return c


def _api_orders() -> dict[str, tuple[ApiContract, ApiOrder]]:
    stk = _api_contract()
    leg1, leg2 = ApiComboLeg(), ApiComboLeg()
    leg1.conId, leg1.ratio, leg1.action, leg1.exchange = 1, 1, "BUY", "SMART"
    leg2.conId, leg2.ratio, leg2.action, leg2.exchange = 2, 1, "SELL", "SMART"
    bag = _api_contract("SPY", "BAG", comboLegs=[leg1, leg2])
    dnc = ApiDnc()
    dnc.conId, dnc.delta, dnc.price = 9, 0.5, 100.0
    dn_contract = _api_contract(deltaNeutralContract=dnc)
    price_cond = ibapi_cond.PriceCondition(0, 265598, "SMART", True, 101.0)
    return {
        "MKT": (stk, _api_order("BUY", "10", "MKT")),
        "LMT": (stk, _api_order("SELL", "5", "LMT", lmtPrice=101.25, tif="GTC")),
        "STP": (stk, _api_order("SELL", "5", "STP", auxPrice=95.0)),
        "TRAIL%": (stk, _api_order("SELL", "5", "TRAIL", trailingPercent=1.5)),
        "algo": (
            stk,
            _api_order(
                "BUY",
                "1",
                "MKT",
                algoStrategy="Adaptive",
                algoParams=[ApiTagValue("adaptivePriority", "Normal")],
            ),
        ),
        "conditions": (stk, _api_order("BUY", "1", "MKT", conditions=[price_cond])),
        "bag": (bag, _api_order("BUY", "1", "LMT", lmtPrice=1.0)),
        "dn": (
            dn_contract,
            _api_order(
                "BUY",
                "1",
                "VOL",
                volatility=20.0,
                volatilityType=2,
                deltaNeutralOrderType="LMT",
                deltaNeutralAuxPrice=1.0,
            ),
        ),
        "peg mid": (
            stk,
            _api_order("BUY", "1", "PEG MID", midOffsetAtWhole=0.01, midOffsetAtHalf=0.005),
        ),
        "price mgmt": (stk, _api_order("BUY", "1", "MKT", usePriceMgmtAlgo=True)),
    }


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name", sorted(_api_orders()))
def test_ibapi_place_order_decodes_exactly(version: int, name: str) -> None:
    contract, order = _api_orders()[name]
    sent = api_requests(version, lambda c: c.placeOrder(42, contract, order))
    if name == "peg mid" and version < m.V_PEGBEST_PEGMID:
        assert sent == []  # ibapi itself refuses (error 503) to send it to an older server
        return
    (fields,) = sent
    msg = decode_in(fields, version)
    assert isinstance(msg, m.PlaceOrder)
    assert (msg.order_id, msg.action, msg.order_type) == (42, order.action, order.orderType)
    assert msg.contract.strike is None  # ibapi sends an unset strike as ""
    if version >= m.V_DURATION:
        assert msg.duration is None  # ... and UNSET_INTEGER literally
    assert msg.cash_qty is None  # ... and UNSET_DOUBLE literally
    if name == "LMT":
        assert msg.lmt_price == Decimal("101.25")
    if name == "price mgmt":
        assert msg.use_price_mgmt_algo is True
    if name == "MKT":
        assert msg.use_price_mgmt_algo is None


def _requests(client_kind: str, version: int) -> dict[str, tuple[list[list[str]], type]]:
    if client_kind == "ib_async":
        stk = ib_async.Stock("AAPL", "SMART", "USD")
        flt = ib_async.ExecutionFilter(
            clientId=3,
            acctCode="DU1",
            time="20250115 09:30:00",
            symbol="AAPL",
            secType="STK",
            exchange="ISLAND",
            side="BUY",
        )
        cap = async_requests
        calls: dict[str, tuple[Any, type]] = {
            "cancel": (lambda c: c.cancelOrder(42, ""), m.CancelOrder),
            "mktdata": (lambda c: c.reqMktData(1, stk, "233", False, False, []), m.ReqMktData),
            "details": (lambda c: c.reqContractDetails(2, stk), m.ReqContractDetails),
            "executions": (lambda c: c.reqExecutions(3, flt), m.ReqExecutions),
            "summary": (
                lambda c: c.reqAccountSummary(4, "All", "NetLiquidation,$LEDGER:ALL"),
                m.ReqAccountSummary,
            ),
            "multi": (
                lambda c: c.reqAccountUpdatesMulti(5, "DU1", "", False),
                m.ReqAccountUpdatesMulti,
            ),
            "completed": (lambda c: c.reqCompletedOrders(False), m.ReqCompletedOrders),
            "global": (lambda c: c.reqGlobalCancel(), m.ReqGlobalCancel),
            "ids": (lambda c: c.reqIds(1), m.ReqIds),
            "mdtype": (lambda c: c.reqMarketDataType(3), m.ReqMarketDataType),
            "start": (lambda c: (setattr(c, "clientId", 7), c.startApi()), m.StartApi),
        }
    else:
        stk = _api_contract()
        flt = ApiExecFilter()
        flt.clientId, flt.acctCode, flt.symbol = 3, "DU1", "AAPL"
        cap = api_requests
        calls = {
            "cancel": (lambda c: c.cancelOrder(42, OrderCancel()), m.CancelOrder),
            "mktdata": (lambda c: c.reqMktData(1, stk, "233", False, False, []), m.ReqMktData),
            "details": (lambda c: c.reqContractDetails(2, stk), m.ReqContractDetails),
            "executions": (lambda c: c.reqExecutions(3, flt), m.ReqExecutions),
            "summary": (
                lambda c: c.reqAccountSummary(4, "All", "NetLiquidation"),
                m.ReqAccountSummary,
            ),
            "multi": (
                lambda c: c.reqAccountUpdatesMulti(5, "DU1", "", False),
                m.ReqAccountUpdatesMulti,
            ),
            "completed": (lambda c: c.reqCompletedOrders(False), m.ReqCompletedOrders),
            "global": (lambda c: c.reqGlobalCancel(OrderCancel()), m.ReqGlobalCancel),
            "ids": (lambda c: c.reqIds(1), m.ReqIds),
            "mdtype": (lambda c: c.reqMarketDataType(3), m.ReqMarketDataType),
            "start": (lambda c: (setattr(c, "clientId", 7), c.startApi()), m.StartApi),
        }
    return {name: (cap(version, call), cls) for name, (call, cls) in calls.items()}


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("client_kind", ["ib_async", "ibapi"])
def test_other_requests_decode_exactly(client_kind: str, version: int) -> None:
    for name, (sent, cls) in _requests(client_kind, version).items():
        assert len(sent) == 1, name
        msg = decode_in(sent[0], version)
        assert type(msg) is cls, name
    executions = decode_in(_requests(client_kind, version)["executions"][0][0], version)
    assert isinstance(executions, m.ReqExecutions)
    assert (executions.client_id, executions.acct_code, executions.symbol) == (3, "DU1", "AAPL")


# ---- replies into both libraries' decoders -------------------------------------------------

C11 = m.ReplyContract(
    con_id=265598,
    symbol="AAPL",
    sec_type="STK",
    exchange="SMART",
    currency="USD",
    local_symbol="AAPL",
    trading_class="NMS",
)
SAMPLES: dict[type, m.Message] = {
    m.TickPrice: m.TickPrice(req_id=1, tick_type=1, price=Decimal("190.01"), size=Decimal(100)),
    m.TickSize: m.TickSize(req_id=1, tick_type=8, size=Decimal(1000)),
    m.TickGeneric: m.TickGeneric(req_id=1, tick_type=49, value=Decimal(0)),
    m.TickString: m.TickString(req_id=1, tick_type=45, value="1736933400"),
    m.OrderStatus: m.OrderStatus(
        order_id=5,
        status="Filled",
        filled=Decimal(10),
        remaining=Decimal(0),
        avg_fill_price=Decimal("190.02"),
        perm_id=1001,
        last_fill_price=Decimal("190.02"),
        client_id=1,
    ),
    m.ErrorMsg: m.ErrorMsg(req_id=5, code=202, text="Order Canceled - reason:"),
    m.OpenOrder: m.OpenOrder(
        order_id=5,
        contract=C11,
        action="BUY",
        total_quantity=Decimal(10),
        order_type="LMT",
        lmt_price=Decimal("190"),
        tif="GTD",
        account="DU1",
        client_id=1,
        perm_id=1001,
        good_till_date="20301231 16:00:00 US/Eastern",
        status="Submitted",
        trail_stop_price=Decimal("180"),
        stop_price=Decimal("180"),
        algo_strategy="Adaptive",
        algo_params=(m.TagValue(tag="adaptivePriority", value="Normal"),),
        conditions=(
            m.OrderCondition(cond_type=1, values=("a", "1", "101.0", "265598", "SMART", "0")),
        ),
        conditions_ignore_rth=True,
    ),
    m.UpdateAccountValue: m.UpdateAccountValue(
        key="NetLiquidation", value="1000000.00", currency="USD", account="DU1"
    ),
    m.UpdatePortfolio: m.UpdatePortfolio(
        contract=m.PortfolioContract(con_id=265598, symbol="AAPL", sec_type="STK", currency="USD"),
        position=Decimal(10),
        account="DU1",
    ),
    m.UpdateAccountTime: m.UpdateAccountTime(time_stamp="09:30"),
    m.NextValidId: m.NextValidId(order_id=1),
    m.ContractData: m.ContractData(
        req_id=2,
        symbol="ES",
        sec_type="FUT",
        last_trade_date="20250321 09:30 US/Central",
        exchange="CME",
        currency="USD",
        local_symbol="ESH5",
        con_id=495512552,
        min_tick=Decimal("0.25"),
        multiplier="50",
        long_name="E-mini S&P 500",
        sec_id_list=(m.TagValue(tag="ISIN", value="X"),),
        min_size=Decimal(1),
        size_increment=Decimal(1),
        suggested_size_increment=Decimal(1),
    ),
    m.ExecDetails: m.ExecDetails(
        req_id=-1,
        order_id=5,
        contract=C11,
        exec_id="0000e1a7.6543210a.01.01",
        time="20250115 09:30:01 US/Eastern",
        acct_number="DU1",
        exchange="ISLAND",
        side="BOT",
        shares=Decimal(10),
        price=Decimal("190.02"),
        perm_id=1001,
        client_id=1,
        cum_qty=Decimal(10),
        avg_price=Decimal("190.02"),
        last_liquidity=2,
    ),
    m.ManagedAccounts: m.ManagedAccounts(accounts="DF1,DU1,DU2"),
    m.CurrentTime: m.CurrentTime(time=1736933400),
    m.ContractDataEnd: m.ContractDataEnd(req_id=2),
    m.OpenOrderEnd: m.OpenOrderEnd(),
    m.AccountDownloadEnd: m.AccountDownloadEnd(account="DU1"),
    m.ExecDetailsEnd: m.ExecDetailsEnd(req_id=3),
    m.TickSnapshotEnd: m.TickSnapshotEnd(req_id=1),
    m.MarketDataType: m.MarketDataType(req_id=1, market_data_type=3),
    m.CommissionReport: m.CommissionReport(
        exec_id="0000e1a7.6543210a.01.01", commission=Decimal("1.00"), currency="USD"
    ),
    m.Position: m.Position(
        account="DU1", contract=C11, position=Decimal(10), avg_cost=Decimal("190.02")
    ),
    m.PositionEnd: m.PositionEnd(),
    m.AccountSummary: m.AccountSummary(
        req_id=4, account="DU1", tag="NetLiquidation", value="1000000.00", currency="USD"
    ),
    m.AccountSummaryEnd: m.AccountSummaryEnd(req_id=4),
    m.PositionMulti: m.PositionMulti(
        req_id=6, account="DU1", contract=C11, position=Decimal(10), avg_cost=Decimal(1)
    ),
    m.PositionMultiEnd: m.PositionMultiEnd(req_id=6),
    m.AccountUpdateMulti: m.AccountUpdateMulti(
        req_id=5, account="DU1", key="NetLiquidation", value="1", currency="USD"
    ),
    m.AccountUpdateMultiEnd: m.AccountUpdateMultiEnd(req_id=5),
    m.TickReqParams: m.TickReqParams(
        req_id=1, min_tick=Decimal("0.01"), bbo_exchange="a", snapshot_permissions=3
    ),
    m.CompletedOrder: m.CompletedOrder(
        contract=C11,
        action="BUY",
        total_quantity=Decimal(10),
        order_type="MKT",
        account="DU1",
        perm_id=1001,
        status="Filled",
        filled_quantity=Decimal(10),
        completed_time="20250115 09:30:01 US/Eastern",
        completed_status="Filled",
    ),
    m.CompletedOrdersEnd: m.CompletedOrdersEnd(),
    **API_SAMPLES,
    **MARKET_SAMPLES,
}


def test_every_outgoing_row_has_a_sample() -> None:
    """Every reply that travels as text; historicalDataEnd is protobuf only (TRAILERS)."""
    protobuf_only = set(TRAILERS.values())
    outgoing = {cls for (d, _), cls in m.SPECS.items() if d is Direction.OUT}
    assert set(SAMPLES) == outgoing - protobuf_only


class _AsyncRecorder:
    """Stands in for ib_async's Wrapper: records every callback by name."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.ib = SimpleNamespace(TimezoneTWS=None)
        self.defaultTimezone = dt.UTC

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)

        def record(*args: Any) -> None:
            self.calls.append((name, args))

        return record


class _ApiRecorder(EWrapper):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    def __getattribute__(self, name: str) -> Any:
        attr = object.__getattribute__(self, name)
        if callable(attr) and not name.startswith("_") and hasattr(EWrapper, name):
            calls = object.__getattribute__(self, "calls")

            def record(*args: Any) -> None:
                calls.append((name, args))

            return record
        return attr


EXPECTED_CALLBACK = {
    m.TickPrice: ("priceSizeTick", "tickPrice"),
    m.TickSize: ("tickSize", "tickSize"),
    m.TickGeneric: ("tickGeneric", "tickGeneric"),
    m.TickString: ("tickString", "tickString"),
    m.OrderStatus: ("orderStatus", "orderStatus"),
    m.ErrorMsg: ("error", "error"),
    m.OpenOrder: ("openOrder", "openOrder"),
    m.UpdateAccountValue: ("updateAccountValue", "updateAccountValue"),
    m.UpdatePortfolio: ("updatePortfolio", "updatePortfolio"),
    m.UpdateAccountTime: ("updateAccountTime", "updateAccountTime"),
    m.NextValidId: ("nextValidId", "nextValidId"),
    m.ContractData: ("contractDetails", "contractDetails"),
    m.ExecDetails: ("execDetails", "execDetails"),
    m.ManagedAccounts: ("managedAccounts", "managedAccounts"),
    m.CurrentTime: ("currentTime", "currentTime"),
    m.ContractDataEnd: ("contractDetailsEnd", "contractDetailsEnd"),
    m.OpenOrderEnd: ("openOrderEnd", "openOrderEnd"),
    m.AccountDownloadEnd: ("accountDownloadEnd", "accountDownloadEnd"),
    m.ExecDetailsEnd: ("execDetailsEnd", "execDetailsEnd"),
    m.TickSnapshotEnd: ("tickSnapshotEnd", "tickSnapshotEnd"),
    m.MarketDataType: ("marketDataType", "marketDataType"),
    m.CommissionReport: ("commissionReport", "commissionAndFeesReport"),
    m.Position: ("position", "position"),
    m.PositionEnd: ("positionEnd", "positionEnd"),
    m.AccountSummary: ("accountSummary", "accountSummary"),
    m.AccountSummaryEnd: ("accountSummaryEnd", "accountSummaryEnd"),
    m.PositionMulti: ("positionMulti", "positionMulti"),
    m.PositionMultiEnd: ("positionMultiEnd", "positionMultiEnd"),
    m.AccountUpdateMulti: ("accountUpdateMulti", "accountUpdateMulti"),
    m.AccountUpdateMultiEnd: ("accountUpdateMultiEnd", "accountUpdateMultiEnd"),
    m.TickReqParams: ("tickReqParams", "tickReqParams"),
    m.CompletedOrder: ("completedOrder", "completedOrder"),
    m.CompletedOrdersEnd: ("completedOrdersEnd", "completedOrdersEnd"),
    **API_CALLBACKS,
    **MARKET_CALLBACKS,
}


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("cls", list(SAMPLES), ids=lambda c: c.__name__)
def test_both_libraries_decode_every_reply(
    cls: type, version: int, caplog: pytest.LogCaptureFixture
) -> None:
    fields = encode_fields(SAMPLES[cls], version)
    async_name, api_name = EXPECTED_CALLBACK[cls]

    recorder = _AsyncRecorder()
    decoder = AsyncDecoder(recorder, version)
    if cls is m.CompletedOrder:
        recorder.completedOrder = lambda *a: recorder.calls.append(("completedOrder", a))
    with caplog.at_level(logging.ERROR):
        decoder.interpret(list(fields))
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    assert [name for name, _ in recorder.calls][:1] == [async_name]

    api = _ApiRecorder()
    api_decoder = ApiDecoder(api, version)
    api_decoder.interpret(tuple(f.encode() for f in fields[1:]), int(fields[0]))
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    assert api_name in [name for name, _ in api.calls], api.calls
    # field by field: ibapi must read exactly the fields sent, none left over, none missing
    assert api_name in [name for name, _ in ibapi_calls(fields, version)]


@pytest.mark.parametrize("version", VERSIONS)
def test_open_order_values_survive_both_decoders(version: int) -> None:
    fields = encode_fields(SAMPLES[m.OpenOrder], version)
    recorder = _AsyncRecorder()
    AsyncDecoder(recorder, version).interpret(list(fields))
    ((_, (order_id, contract, order, state)),) = recorder.calls
    assert (order_id, contract.conId, order.permId, order.clientId) == (5, 265598, 1001, 1)
    assert (order.lmtPrice, order.trailStopPrice, state.status) == (190.0, 180.0, "Submitted")
    assert order.goodTillDate == "20301231 16:00:00 US/Eastern"
    assert len(order.conditions) == 1 and order.conditionsIgnoreRth is True

    api = _ApiRecorder()
    ApiDecoder(api, version).interpret(tuple(f.encode() for f in fields[1:]), 5)
    ((_, (order_id, contract, order, state)),) = [c for c in api.calls if c[0] == "openOrder"]
    assert (order_id, contract.conId, order.permId, order.clientId) == (5, 265598, 1001, 1)
    assert order.totalQuantity == Decimal(10) and state.status == "Submitted"
    assert order.algoParams[0].value == "Normal"


def test_exec_time_is_parsed_tz_aware_by_ib_async() -> None:
    recorder = _AsyncRecorder()
    AsyncDecoder(recorder, MAX_VERSION).interpret(encode_fields(SAMPLES[m.ExecDetails]))
    ((_, (req_id, _contract, execution)),) = recorder.calls
    assert req_id == -1
    assert execution.time == dt.datetime(2025, 1, 15, 14, 30, 1, tzinfo=dt.UTC)


@pytest.mark.parametrize(("version", "count"), [(170, 136), (176, 136), (177, 135), (178, 135)])
def test_plain_open_order_carries_the_delta_neutral_block_tws_sends(
    version: int, count: int
) -> None:
    """TWS sends deltaNeutralOrderType "None" and its 8 fields for a plain order; the official
    decoder reads them and still lands on the last field (midOffsetAtHalf) in step."""
    row = m.OpenOrder(order_id=5, contract=C11, action="BUY", total_quantity=Decimal(1),
                      order_type="MKT", status="Submitted", mid_offset_at_half=Decimal("0.5"))
    fields = encode_fields(row, version)
    assert len(fields) == count
    api = _ApiRecorder()
    ApiDecoder(api, version).interpret(tuple(f.encode() for f in fields[1:]), 5)
    ((_, (_, _, order, _)),) = [c for c in api.calls if c[0] == "openOrder"]
    assert order.deltaNeutralOrderType == "None" and order.deltaNeutralOpenClose == "?"
    if version >= 176:  # PEG BEST / PEG MID fields start at 176
        assert order.midOffsetAtHalf == 0.5


def test_plain_completed_order_carries_four_delta_neutral_fields() -> None:
    fields = encode_fields(SAMPLES[m.CompletedOrder], 178)
    api = _ApiRecorder()
    ApiDecoder(api, 178).interpret(tuple(f.encode() for f in fields[1:]), int(fields[0]))
    ((_, (_, order, state)),) = [c for c in api.calls if c[0] == "completedOrder"]
    assert order.deltaNeutralOrderType == "None"
    assert state.completedStatus == "Filled"  # the tail is read in step
