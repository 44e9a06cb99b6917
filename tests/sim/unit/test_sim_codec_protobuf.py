"""The protobuf side of the codec: thresholds and forms checked against IB's official client
(its `getServerVersionForMessage` and its generated message descriptors), round trips under
any chunking, the text regime byte for byte, malformed bodies, negotiation."""

from __future__ import annotations

import dataclasses
import importlib
import itertools
import math
import re
import struct
from decimal import Decimal
from typing import Any

import pytest
from google.protobuf.descriptor import FieldDescriptor
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ibapi.common import getServerVersionForMessage
from ibapi.message import OUT

from ibgateway_sim.gateway.options import GatewayOptions
from ibgateway_sim.wire import messages as m
from ibgateway_sim.wire import protowire as pw
from ibgateway_sim.wire.codec import (
    BadMessage,
    ClientConnection,
    Decoder,
    GatewayConnection,
    Hello,
    UnknownMessage,
    encode,
    encode_fields,
    frame_fields,
    negotiate,
)
from ibgateway_sim.wire.messages import Direction
from ibgateway_sim.wire.protobuf import (
    CONDITION_DOUBLES,
    CONDITION_FIELDS,
    CONDITION_INTS,
    P,
    PKind,
)
from ibgateway_sim.wire.protoforms import (
    DEFAULT_MAX_SERVER_VERSION,
    FORMS,
    TRAILERS,
    rows_without_form,
)
from ibgateway_sim.wire.thresholds import (
    MAX_SERVER_VERSION,
    PROTOBUF_SINCE,
    UTC_Z_SUFFIX,
    protobuf_since,
)
from tests.sim.strategies import prices, quantities, row

# the official client's message name for each form (its ibapi/protobuf/<Name>_pb2 module)
IB_NAMES: dict[type, str] = {
    m.StartApi: "StartApiRequest", m.ReqIds: "IdsRequest", m.ReqCurrentTime: "CurrentTimeRequest",
    m.ReqManagedAccts: "ManagedAccountsRequest", m.ReqExecutions: "ExecutionRequest",
    m.PlaceOrder: "PlaceOrderRequest", m.CancelOrder: "CancelOrderRequest",
    m.ReqGlobalCancel: "GlobalCancelRequest", m.ReqOpenOrders: "OpenOrdersRequest",
    m.ReqAllOpenOrders: "AllOpenOrdersRequest", m.ReqAutoOpenOrders: "AutoOpenOrdersRequest",
    m.ReqCompletedOrders: "CompletedOrdersRequest", m.ReqContractDetails: "ContractDataRequest",
    m.ReqMktData: "MarketDataRequest", m.CancelMktData: "CancelMarketData",
    m.ReqMarketDataType: "MarketDataTypeRequest", m.ReqAccountUpdates: "AccountDataRequest",
    m.ReqPositions: "PositionsRequest", m.CancelPositions: "CancelPositions",
    m.ReqAccountSummary: "AccountSummaryRequest", m.CancelAccountSummary: "CancelAccountSummary",
    m.ReqPositionsMulti: "PositionsMultiRequest", m.CancelPositionsMulti: "CancelPositionsMulti",
    m.ReqAccountUpdatesMulti: "AccountUpdatesMultiRequest",
    m.CancelAccountUpdatesMulti: "CancelAccountUpdatesMulti",
    m.TickPrice: "TickPrice", m.TickSize: "TickSize", m.TickGeneric: "TickGeneric",
    m.TickString: "TickString", m.TickReqParams: "TickReqParams", m.TickNews: "TickNews",
    m.TickSnapshotEnd: "TickSnapshotEnd", m.MarketDataType: "MarketDataType",
    m.OrderStatus: "OrderStatus", m.ErrorMsg: "ErrorMessage", m.OpenOrder: "OpenOrder",
    m.OpenOrderEnd: "OpenOrdersEnd", m.CompletedOrder: "CompletedOrder",
    m.CompletedOrdersEnd: "CompletedOrdersEnd", m.UpdateAccountValue: "AccountValue",
    m.UpdatePortfolio: "PortfolioValue", m.UpdateAccountTime: "AccountUpdateTime",
    m.AccountDownloadEnd: "AccountDataEnd", m.NextValidId: "NextValidId",
    m.ContractData: "ContractData", m.ContractDataEnd: "ContractDataEnd",
    m.ExecDetails: "ExecutionDetails", m.ExecDetailsEnd: "ExecutionDetailsEnd",
    m.CommissionReport: "CommissionAndFeesReport", m.ManagedAccounts: "ManagedAccounts",
    m.CurrentTime: "CurrentTime", m.Position: "Position", m.PositionEnd: "PositionEnd",
    m.AccountSummary: "AccountSummary", m.AccountSummaryEnd: "AccountSummaryEnd",
    m.PositionMulti: "PositionMulti", m.PositionMultiEnd: "PositionMultiEnd",
    m.AccountUpdateMulti: "AccountUpdateMulti", m.AccountUpdateMultiEnd: "AccountUpdateMultiEnd",
    # the rest of the API
    m.CancelMktDepth: "CancelMarketDepth", m.ReqMktDepth: "MarketDepthRequest",
    m.ReqHistoricalData: "HistoricalDataRequest", m.CancelHistoricalData: "CancelHistoricalData",
    m.ReqRealTimeBars: "RealTimeBarsRequest", m.CancelRealTimeBars: "CancelRealTimeBars",
    m.ReqHeadTimeStamp: "HeadTimestampRequest", m.CancelHeadTimeStamp: "CancelHeadTimestamp",
    m.ReqHistogramData: "HistogramDataRequest", m.CancelHistogramData: "CancelHistogramData",
    m.ReqHistoricalTicks: "HistoricalTicksRequest", m.ReqTickByTickData: "TickByTickRequest",
    m.CancelTickByTickData: "CancelTickByTick", m.ReqNewsBulletins: "NewsBulletinsRequest",
    m.CancelNewsBulletins: "CancelNewsBulletins", m.ReqNewsArticle: "NewsArticleRequest",
    m.ReqNewsProviders: "NewsProvidersRequest", m.ReqHistoricalNews: "HistoricalNewsRequest",
    m.ReqWshMetaData: "WshMetaDataRequest", m.CancelWshMetaData: "CancelWshMetaData",
    m.ReqWshEventData: "WshEventDataRequest", m.CancelWshEventData: "CancelWshEventData",
    m.ReqScannerParameters: "ScannerParametersRequest",
    m.ReqScannerSubscription: "ScannerSubscriptionRequest",
    m.CancelScannerSubscription: "CancelScannerSubscription", m.ReqPnL: "PnLRequest",
    m.CancelPnL: "CancelPnL", m.ReqPnLSingle: "PnLSingleRequest",
    m.CancelPnLSingle: "CancelPnLSingle", m.RequestFA: "FARequest", m.ReplaceFA: "FAReplace",
    m.ExerciseOptions: "ExerciseOptionsRequest",
    m.ReqCalcImpliedVolat: "CalculateImpliedVolatilityRequest",
    m.CancelCalcImpliedVolat: "CancelCalculateImpliedVolatility",
    m.ReqCalcOptionPrice: "CalculateOptionPriceRequest",
    m.CancelCalcOptionPrice: "CancelCalculateOptionPrice",
    m.ReqSecDefOptParams: "SecDefOptParamsRequest", m.ReqSoftDollarTiers: "SoftDollarTiersRequest",
    m.ReqFamilyCodes: "FamilyCodesRequest", m.ReqMatchingSymbols: "MatchingSymbolsRequest",
    m.ReqSmartComponents: "SmartComponentsRequest", m.ReqMarketRule: "MarketRuleRequest",
    m.ReqUserInfo: "UserInfoRequest", m.ReqMktDepthExchanges: "MarketDepthExchangesRequest",
    m.SetServerLogLevel: "SetServerLogLevelRequest", m.VerifyRequest: "VerifyRequest",
    m.VerifyMessage: "VerifyMessageRequest", m.QueryDisplayGroups: "QueryDisplayGroupsRequest",
    m.SubscribeToGroupEvents: "SubscribeToGroupEventsRequest",
    m.UpdateDisplayGroup: "UpdateDisplayGroupRequest",
    m.UnsubscribeFromGroupEvents: "UnsubscribeFromGroupEventsRequest",
    m.TickOptionComputation: "TickOptionComputation", m.MarketDepth: "MarketDepth",
    m.MarketDepthL2: "MarketDepthL2", m.MktDepthExchanges: "MarketDepthExchanges",
    m.HistoricalData: "HistoricalData", m.HistoricalDataEnd: "HistoricalDataEnd",
    m.HistoricalDataUpdate: "HistoricalDataUpdate", m.HistoricalSchedule: "HistoricalSchedule",
    m.RealTimeBar: "RealTimeBarTick", m.HeadTimestamp: "HeadTimestamp",
    m.HistogramData: "HistogramData", m.HistoricalTicks: "HistoricalTicks",
    m.HistoricalTicksBidAsk: "HistoricalTicksBidAsk", m.HistoricalTicksLast: "HistoricalTicksLast",
    m.TickByTick: "TickByTickData", m.UpdateNewsBulletin: "NewsBulletin",
    m.NewsArticle: "NewsArticle", m.NewsProviders: "NewsProviders",
    m.HistoricalNews: "HistoricalNews", m.HistoricalNewsEnd: "HistoricalNewsEnd",
    m.WshMetaData: "WshMetaData", m.WshEventData: "WshEventData",
    m.ScannerParameters: "ScannerParameters", m.ScannerData: "ScannerData", m.PnL: "PnL",
    m.PnLSingle: "PnLSingle", m.ReceiveFA: "ReceiveFA", m.ReplaceFAEnd: "ReplaceFAEnd",
    m.SecurityDefinitionOptionParameter: "SecDefOptParameter",
    m.SecurityDefinitionOptionParameterEnd: "SecDefOptParameterEnd",
    m.SoftDollarTiers: "SoftDollarTiers", m.FamilyCodes: "FamilyCodes",
    m.SymbolSamples: "SymbolSamples", m.SmartComponents: "SmartComponents",
    m.MarketRule: "MarketRule", m.UserInfo: "UserInfo", m.VerifyCompleted: "VerifyCompleted",
    m.DisplayGroupList: "DisplayGroupList", m.DisplayGroupUpdated: "DisplayGroupUpdated",
    m.CancelContractData: "CancelContractData", m.CancelHistoricalTicks: "CancelHistoricalTicks",
    m.ReqConfig: "ConfigRequest", m.UpdateConfig: "UpdateConfigRequest",
}  # fmt: skip

FD = FieldDescriptor
_PROTO_TYPE = {
    PKind.I32: FD.TYPE_INT32, PKind.I64: FD.TYPE_INT64, PKind.BOOL: FD.TYPE_BOOL,
    PKind.BOOL_I32: FD.TYPE_INT32, PKind.STR: FD.TYPE_STRING, PKind.TIME: FD.TYPE_STRING,
    PKind.DEC_STR: FD.TYPE_STRING, PKind.INT_STR: FD.TYPE_STRING, PKind.DEC_DBL: FD.TYPE_DOUBLE,
    PKind.DEC_DBL_MAX: FD.TYPE_DOUBLE, PKind.STRIKE: FD.TYPE_DOUBLE,
    PKind.TXT_DBL: FD.TYPE_DOUBLE, PKind.NEST: FD.TYPE_MESSAGE, PKind.REP: FD.TYPE_MESSAGE,
    PKind.TAGS: FD.TYPE_MESSAGE, PKind.TAG_TEXT: FD.TYPE_MESSAGE, PKind.INT_BOOL: FD.TYPE_BOOL,
    PKind.BIT: FD.TYPE_BOOL, PKind.REP_STR: FD.TYPE_STRING, PKind.REP_DBL: FD.TYPE_DOUBLE,
    PKind.CONDITIONS: FD.TYPE_MESSAGE,
}  # fmt: skip
_REPEATED = (PKind.REP, PKind.TAGS, PKind.TAG_TEXT, PKind.REP_STR, PKind.REP_DBL, PKind.CONDITIONS)
_MAPS = (PKind.TAGS, PKind.TAG_TEXT)


def _descriptor(name: str) -> Any:
    return getattr(importlib.import_module(f"ibapi.protobuf.{name}_pb2"), name).DESCRIPTOR


def _check_against(form: tuple[P, ...], descriptor: Any, where: str) -> None:
    for p in form:
        fd = descriptor.fields_by_number.get(p.number)
        assert fd is not None, f"{where}: IB has no field {p.number} ({p.path})"
        assert fd.type == _PROTO_TYPE[p.kind], f"{where}.{fd.name}: {p.kind} vs type {fd.type}"
        is_map = fd.message_type is not None and fd.message_type.GetOptions().map_entry
        assert fd.is_repeated == (p.kind in _REPEATED), f"{where}.{fd.name}"
        assert is_map == (p.kind in _MAPS), f"{where}.{fd.name}"
        if p.kind in (PKind.NEST, PKind.REP):
            _check_against(p.nested, fd.message_type, f"{where}.{fd.name}")
            _check_against(p.zipped, fd.message_type, f"{where}.{fd.name}")
        if p.kind is PKind.CONDITIONS:
            _check_conditions(fd.message_type)


def _check_conditions(descriptor: Any) -> None:
    """The order-condition fields the simulator writes per condition type exist in IB's
    OrderCondition message, with the types the walker gives them."""
    assert descriptor.name == "OrderCondition"
    assert descriptor.fields_by_number[1].name == "type"
    for cond_type, numbers in CONDITION_FIELDS.items():
        for number in numbers:
            fd = descriptor.fields_by_number[number]
            if number in CONDITION_INTS:
                want = FD.TYPE_INT32
            elif number in CONDITION_DOUBLES:
                want = FD.TYPE_DOUBLE
            elif fd.name in ("isConjunctionConnection", "isMore"):
                want = FD.TYPE_BOOL
            else:
                want = FD.TYPE_STRING
            assert fd.type == want, f"condition {cond_type}: {fd.name}"


@pytest.mark.parametrize("cls", list(FORMS), ids=lambda c: c.__name__)
def test_each_form_matches_the_official_clients_message(cls: type) -> None:
    """Field numbers and types agree with the descriptors IB's client encodes and decodes."""
    _check_against(FORMS[cls], _descriptor(IB_NAMES[cls]), IB_NAMES[cls])


def test_request_thresholds_are_the_official_clients() -> None:
    for msg_id in OUT:
        ib = getServerVersionForMessage(msg_id)
        ours = protobuf_since(Direction.IN, msg_id)
        if math.isinf(ib):  # IB: text only, or (106..109) protobuf-only requests
            assert ours is None or msg_id >= 106, msg_id
        else:
            assert ours == ib, f"request {msg_id!r}: {ours} vs IB's {ib}"


def test_the_default_version_never_sends_a_row_without_its_protobuf_form() -> None:
    """A row added without a form would be sent (or expected) as text where the official
    client speaks protobuf: the default maximum stays below the first version where that
    happens, and rises to 226 once every row has its form."""
    missing = rows_without_form()
    by_class = {cls: key for key, cls in m.SPECS.items()}
    for cls in missing:
        since = protobuf_since(*by_class[cls])
        assert (since if since is not None else 201) > DEFAULT_MAX_SERVER_VERSION, cls.__name__
    if not missing:
        assert DEFAULT_MAX_SERVER_VERSION == MAX_SERVER_VERSION
    for key, cls in m.SPECS.items():  # every row with a form has its threshold
        if cls in FORMS:
            assert key in PROTOBUF_SINCE, f"{cls.__name__}: add it to thresholds.py"


# ---- round trips ------------------------------------------------------------------------------

_PB_VERSIONS = st.integers(203, MAX_SERVER_VERSION)
_NUMBER_TEXTS = st.sampled_from(["", "1", "100", "0.5", "12.25", "-3"])
_WORDS = st.text(alphabet="abcXYZ019 _.-", max_size=6)
_TAG_TEXTS = st.lists(st.tuples(_WORDS, _WORDS), max_size=3).map(
    lambda kvs: "".join(f"{k}={v};" for k, v in kvs)
)
_INT_TEXTS = st.integers(-(2**31), 2**31 - 1).map(str)
_DOUBLE_TEXTS = st.sampled_from(["1", "100", "0.5", "101.25", "-3"])
_CONDITION_TEXT = {2: st.sampled_from(["a", "o"]), 3: st.sampled_from(["1", "0"])}


@st.composite
def _conditions(draw: st.DrawFn) -> tuple[m.OrderCondition, ...]:
    """Order conditions as the official client writes their text fields (canonical spellings,
    so that text -> protobuf -> text is exact)."""
    out = []
    for cond_type in draw(st.lists(st.sampled_from(sorted(CONDITION_FIELDS)), max_size=3)):
        values = []
        for number in CONDITION_FIELDS[cond_type]:
            if number in _CONDITION_TEXT:
                values.append(draw(_CONDITION_TEXT[number]))
            elif number in CONDITION_INTS:
                values.append(draw(_INT_TEXTS))
            elif number in CONDITION_DOUBLES:
                values.append(draw(_DOUBLE_TEXTS))
            else:
                values.append(draw(_WORDS))
        out.append(m.OrderCondition(cond_type=cond_type, values=tuple(values)))
    return tuple(out)


_UTC_FORM = re.compile(r"\d{8}-\d{2}:\d{2}:\d{2}")


def _scalars(form: tuple[P, ...], prefix: str = "") -> list[P]:
    out: list[P] = []
    for p in form:
        if p.kind is PKind.NEST:
            out += _scalars(p.nested, prefix)
        elif p.kind not in (PKind.REP, PKind.TAGS, PKind.REP_STR, PKind.REP_DBL):
            out.append(dataclasses.replace(p, path=prefix + p.path))
    return out


def _get(obj: Any, path: str) -> Any:
    for part in path.split("."):
        obj = None if obj is None else getattr(obj, part)
    return obj


def _with(obj: Any, path: str, value: Any) -> Any:
    head, _, rest = path.partition(".")
    if rest:
        return dataclasses.replace(obj, **{head: _with(getattr(obj, head), rest, value)})
    return dataclasses.replace(obj, **{head: value})


_TICK_FIELDS: dict[int, dict[str, st.SearchStrategy[Any]]] = {
    1: {"price": st.none() | prices, "size": st.none() | quantities,
        "last_mask": st.integers(0, 3), "exchange": _WORDS, "special_conditions": _WORDS},
    3: {"bid_price": st.none() | prices, "ask_price": st.none() | prices,
        "bid_size": st.none() | quantities, "ask_size": st.none() | quantities,
        "bid_ask_mask": st.integers(0, 3)},
    4: {"mid_point": st.none() | prices},
}  # fmt: skip


@st.composite
def _tick_by_tick(draw: st.DrawFn, drawn: m.TickByTick) -> m.TickByTick:
    """A tick of a real type (1 Last, 2 AllLast, 3 BidAsk, 4 MidPoint) with that type's
    fields: protobuf carries them in the nested message of that type only."""
    tick_type = draw(st.integers(1, 4))
    fields = _TICK_FIELDS[1 if tick_type == 2 else tick_type]
    values = {name: draw(strategy) for name, strategy in fields.items()}
    return m.TickByTick(req_id=drawn.req_id, tick_type=tick_type, time=drawn.time, **values)


@st.composite
def protobuf_message(draw: st.DrawFn) -> tuple[m.Message, int]:
    cls = draw(st.sampled_from(sorted(FORMS, key=lambda c: c.__name__)))
    version = draw(_PB_VERSIONS)
    msg = draw(row(cls, version))
    if isinstance(msg, m.TickByTick):  # a real tick type: protobuf nests the tick under it
        msg = draw(_tick_by_tick(msg))
    for p in _scalars(FORMS[cls]):
        if p.kind is PKind.TXT_DBL and _get(msg, p.path.rpartition(".")[0] or p.path) is not None:
            msg = _with(msg, p.path, draw(_NUMBER_TEXTS))
        elif p.kind is PKind.TAG_TEXT:
            msg = _with(msg, p.path, draw(_TAG_TEXTS))
        elif p.kind is PKind.CONDITIONS:
            msg = _with(msg, p.path, draw(_conditions()))
    return msg, version


def _same(p: P, sent: Any, got: Any, version: int) -> bool:
    kind = p.kind
    if kind is PKind.BIT:
        return bool(sent & p.mask) == bool(got & p.mask)
    if kind is PKind.INT_BOOL:
        return bool(sent) == bool(got)
    if kind in (PKind.DEC_DBL, PKind.DEC_DBL_MAX, PKind.STRIKE):
        return float(sent) == float(got)
    if kind is PKind.TXT_DBL:
        return sent == got == "" or float(sent) == float(got)
    if kind is PKind.BOOL or kind is PKind.BOOL_I32:
        return bool(sent) == bool(got)
    if kind is PKind.TIME and version >= UTC_Z_SUFFIX and _UTC_FORM.fullmatch(sent):
        return bool(got == sent + "Z")
    return bool(sent == got)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(pair=protobuf_message(), data=st.data())
def test_protobuf_round_trip_survives_any_chunking(
    pair: tuple[m.Message, int], data: st.DataObject
) -> None:
    msg, version = pair
    wire = encode(msg, version)
    since = protobuf_since(msg.DIRECTION, msg.MSG_ID)
    assert since is not None
    as_protobuf = version >= since
    (msg_id,) = struct.unpack_from(">I", wire, 4)
    assert msg_id == (msg.MSG_ID + 200 if as_protobuf else msg.MSG_ID)
    cuts = sorted(data.draw(st.sets(st.integers(1, len(wire) - 1), max_size=8)))
    dec = Decoder(msg.DIRECTION, version)
    received: list[Any] = []
    for a, b in itertools.pairwise([0, *cuts, len(wire)]):
        dec.feed(wire[a:b])
        while (event := dec.next_message()) is not None:
            received.append(event)
    if not as_protobuf:  # a text body after a binary id: exact, as on the text protocol
        assert received == [msg]
        return
    trailer = TRAILERS.get(type(msg))
    assert [type(r) for r in received] == [type(msg)] + ([trailer] if trailer else [])
    for got, cls in zip(received, [type(msg), trailer], strict=False):
        assert cls is not None
        for p in _scalars(FORMS[cls]):  # a trailer's fields are read from the same row
            sent = _get(msg, p.path)
            if sent is not None:
                assert _same(p, sent, _get(got, p.path), version), (p.path, sent)
    assert _decoded_again(received[0], version) == received[0]  # travels back unchanged


def _decoded_again(msg: m.Message, version: int) -> Any:
    dec = Decoder(msg.DIRECTION, version)
    dec.feed(encode(msg, version))
    return dec.next_message()


def test_the_text_regime_is_byte_for_byte_what_it_was() -> None:
    msg = m.OrderStatus(order_id=3, status="Filled", filled=Decimal(10), perm_id=77)
    assert encode(msg, 178) == frame_fields(encode_fields(msg, 178))
    # from 201, a message still on text carries a binary id and the same fields after it
    tick = m.TickPrice(req_id=1, tick_type=1, price=Decimal("1.5"), size=Decimal(3))
    body = "".join(f"{f}\0" for f in encode_fields(tick, 205)[1:]).encode()
    assert encode(tick, 205) == struct.pack(">II", 4 + len(body), 1) + body
    assert encode(tick, 206)[4:8] == struct.pack(">I", 201)


# ---- what a protobuf body says on the wire, read by the official client's own classes -------


def test_official_classes_read_the_simulators_bodies() -> None:
    from ibapi.protobuf.ExecutionDetails_pb2 import ExecutionDetails
    from ibapi.protobuf.OrderStatus_pb2 import OrderStatus

    status = m.OrderStatus(
        order_id=5,
        status="Filled",
        filled=Decimal("2.5"),
        avg_fill_price=Decimal("101.25"),
        perm_id=2**40,
        client_id=-1,
    )
    parsed = OrderStatus.FromString(encode(status, 226)[8:])
    assert (parsed.orderId, parsed.status, parsed.filled) == (5, "Filled", "2.5")
    assert (parsed.avgFillPrice, parsed.permId, parsed.clientId) == (101.25, 2**40, -1)

    fill = m.ExecDetails(req_id=-1, order_id=5, exec_id="E1", time="20250115-14:30:01",
                         contract=m.ReplyContract(con_id=8, symbol="X", strike=Decimal(0)),
                         shares=Decimal(3))  # fmt: skip
    parsed_fill = ExecutionDetails.FromString(encode(fill, 226)[8:])
    assert parsed_fill.execution.time == "20250115-14:30:01Z"
    assert parsed_fill.contract.HasField("strike") and parsed_fill.contract.strike == 0
    assert parsed_fill.execution.shares == "3" and parsed_fill.reqId == -1


def test_official_client_bodies_decode_to_rows() -> None:
    from ibapi.client_utils import createPlaceOrderRequestProto
    from ibapi.contract import Contract
    from ibapi.order import Order

    c = Contract()
    c.symbol, c.secType, c.exchange, c.currency, c.multiplier = "ES", "FUT", "CME", "USD", "50"
    o = Order()
    o.action, o.orderType, o.totalQuantity, o.lmtPrice = "SELL", "LMT", Decimal(2), 4500.25
    o.algoStrategy, o.algoParams = "Adaptive", []
    body = createPlaceOrderRequestProto(9, c, o).SerializeToString()
    conn = _open_connection(226)
    conn.receive_data(struct.pack(">II", 4 + len(body), 203) + body)
    got = conn.next_event()
    assert isinstance(got, m.PlaceOrder)
    assert (got.order_id, got.action, got.order_type) == (9, "SELL", "LMT")
    assert (got.total_quantity, got.lmt_price) == (Decimal(2), Decimal("4500.25"))
    assert got.contract == m.RequestContract(symbol="ES", sec_type="FUT", exchange="CME",
                                             currency="USD", multiplier="50")  # fmt: skip
    assert got.transmit is True  # ibapi leaves transmit out when True; TWS's default holds


# ---- malformed bodies -------------------------------------------------------------------------


def _open_connection(version: int) -> GatewayConnection:
    conn = GatewayConnection(hi=MAX_SERVER_VERSION)
    conn.receive_data(b"API\0" + struct.pack(">I", 9) + b"v100..226")
    assert isinstance(conn.next_event(), Hello)
    conn.accept(version, "20250115 09:30:00 UTC")
    return conn


def _frame(msg_id: int, body: bytes) -> bytes:
    return struct.pack(">II", 4 + len(body), msg_id) + body


@pytest.mark.parametrize(
    "body",
    [
        b"\x08",  # a varint that never ends
        b"\x08" + b"\xff" * 11,  # a varint longer than ten bytes
        b"\x0a\x05ab",  # a string longer than what follows
        b"\x09\x01",  # a double cut short
        b"\x0b",  # wire type 3 (groups): not used by the TWS API
        b"\x0a\x01x",  # numIds (field 1) sent as a string
        b"\x00\x01",  # field number 0
    ],
)
def test_malformed_bodies_are_bad_messages_and_the_stream_goes_on(body: bytes) -> None:
    conn = _open_connection(226)
    conn.receive_data(_frame(200 + 8, body) + _frame(200 + 49, b""))
    bad = conn.next_event()
    assert isinstance(bad, BadMessage) and bad.msg_id == 8 and "protobuf" in bad.reason
    assert conn.next_event() == m.ReqCurrentTime()


def test_a_bad_decimal_and_a_short_frame_are_bad_messages() -> None:
    conn = _open_connection(226)
    order_body = pw.field_bytes(3, pw.field_bytes(6, b"ten"))  # totalQuantity "ten"
    conn.receive_data(_frame(200 + 3, order_body) + struct.pack(">I", 2) + b"\x00\x01")
    bad = conn.next_event()
    assert isinstance(bad, BadMessage) and bad.msg_id == 3
    short = conn.next_event()
    assert isinstance(short, BadMessage) and short.msg_id is None


def test_an_unknown_protobuf_id_is_an_unknown_message() -> None:
    conn = _open_connection(226)
    conn.receive_data(_frame(200 + 120, b"\x08\x01"))  # no such request
    assert conn.next_event() == UnknownMessage(120, ())


def test_the_protobuf_only_requests_are_read_with_their_request_id() -> None:
    conn = _open_connection(226)
    for msg_id in (106, 107, 108, 109):
        conn.receive_data(_frame(200 + msg_id, b"\x08\x07"))
        got = conn.next_event()
        assert isinstance(got, m.CancelContractData | m.CancelHistoricalTicks | m.ReqConfig
                          | m.UpdateConfig)  # fmt: skip
        assert (type(got).MSG_ID, got.req_id) == (msg_id, 7)


# ---- negotiation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("client", "server_max", "agreed"),
    [
        ((100, 226), 226, 226),  # ibapi 10.50 against the default
        ((100, 215), 226, 215),  # ibapi 10.40: the lower maximum
        ((100, 203), 226, 203),  # ibapi 10.37
        ((100, 226), 207, 207),  # a pinned mixed regime
        ((100, 226), 178, 178),  # pinned to text
        ((157, 178), 226, 178),  # ib_async 2.1: text, as ever
        ((100, 190), 226, 178),  # 179..202 are not spoken: text at 178
        ((190, 200), 226, None),  # ... and a client that can't go that low is refused
    ],
)
def test_negotiation_takes_the_lower_maximum(
    client: tuple[int, int], server_max: int, agreed: int | None
) -> None:
    assert negotiate(Hello(*client), 157, server_max) == agreed


@pytest.mark.parametrize("version", [179, 190, 201, 202, 227, 150])
def test_a_version_the_simulator_does_not_speak_cannot_be_pinned(version: int) -> None:
    with pytest.raises(ValueError, match="max_server_version"):
        GatewayOptions(max_server_version=version)


def test_client_connection_speaks_protobuf_after_the_handshake() -> None:
    client = ClientConnection(100, 226)
    client.receive_data(frame_fields(["226", "20250115 09:30:00 UTC"]))
    assert client.next_event() is None and client.version == 226
    assert client.send(m.StartApi(client_id=3))[4:8] == struct.pack(">I", 271)
    client.receive_data(encode(m.NextValidId(order_id=17), 226))
    assert client.next_event() == m.NextValidId(order_id=17)


def test_conditions_leg_prices_and_options_of_the_official_client_decode_to_rows() -> None:
    """What the text rows carry of a conditional combo order travels in protobuf too: order
    conditions, per-leg prices (on the contract's legs), orderMiscOptions, algo params."""
    from ibapi.client_utils import createPlaceOrderRequestProto
    from ibapi.contract import ComboLeg, Contract
    from ibapi.order import Order, OrderComboLeg
    from ibapi.order_condition import Create, OrderCondition
    from ibapi.tag_value import TagValue

    c = Contract()
    c.symbol, c.secType, c.exchange, c.currency = "AAPL", "BAG", "SMART", "USD"
    legs = []
    for con_id, action in ((265598, "BUY"), (272093, "SELL")):
        leg = ComboLeg()
        leg.conId, leg.ratio, leg.action, leg.exchange = con_id, 1, action, "SMART"
        legs.append(leg)
    c.comboLegs = legs
    o = Order()
    o.action, o.orderType, o.totalQuantity, o.lmtPrice = "BUY", "LMT", Decimal(1), 1.5
    first, second = OrderComboLeg(), OrderComboLeg()
    first.price, second.price = 101.25, 99.5
    o.orderComboLegs = [first, second]
    o.orderMiscOptions = [TagValue("a", "1"), TagValue("b", "x")]
    price = Create(OrderCondition.Price)
    price.conId, price.exchange, price.isMore, price.price, price.triggerMethod = (
        265598,
        "SMART",
        True,
        185.5,
        2,
    )
    margin = Create(OrderCondition.Margin)
    margin.isMore, margin.percent = False, 30
    margin.And()
    time_cond = Create(OrderCondition.Time)
    time_cond.isMore, time_cond.time = True, "20261118 15:00:00 US/Eastern"
    time_cond.Or()
    o.conditions = [price, margin, time_cond]
    o.conditionsCancelOrder = True
    body = createPlaceOrderRequestProto(9, c, o).SerializeToString()
    conn = _open_connection(226)
    conn.receive_data(_frame(203, body))
    got = conn.next_event()
    assert isinstance(got, m.PlaceOrder)
    legs_read = [(leg.con_id, leg.action) for leg in got.combo_legs]
    assert legs_read == [(265598, "BUY"), (272093, "SELL")]
    assert [leg.price for leg in got.order_combo_legs] == [Decimal("101.25"), Decimal("99.5")]
    # a protobuf map has no order
    assert sorted(got.order_misc_options.rstrip(";").split(";")) == ["a=1", "b=x"]
    assert got.conditions == (
        m.OrderCondition(cond_type=1, values=("a", "1", "185.5", "265598", "SMART", "2")),
        m.OrderCondition(cond_type=4, values=("a", "0", "30")),
        m.OrderCondition(cond_type=3, values=("o", "1", "20261118 15:00:00 US/Eastern")),
    )
    assert got.conditions_cancel_order is True


def test_official_classes_read_history_its_end_and_option_chains() -> None:
    from ibapi.protobuf.HistoricalData_pb2 import HistoricalData
    from ibapi.protobuf.HistoricalDataEnd_pb2 import HistoricalDataEnd
    from ibapi.protobuf.SecDefOptParameter_pb2 import SecDefOptParameter

    bar = m.HistoricalBar(date="20261118", open=Decimal(1), high=Decimal(2), low=Decimal("0.5"),
                          close=Decimal("1.5"), volume=Decimal(100), wap=Decimal("1.25"),
                          bar_count=7)  # fmt: skip
    history = m.HistoricalData(req_id=4, start="20261117", end="20261118", bars=(bar, bar))
    wire = encode(history, 226)
    (length, first_id) = struct.unpack_from(">II", wire)
    assert first_id == 200 + 17
    bars = HistoricalData.FromString(wire[8 : 4 + length])
    assert [b.barCount for b in bars.historicalDataBars] == [7, 7]
    assert bars.historicalDataBars[0].WAP == "1.25" and bars.historicalDataBars[0].high == 2
    tail = wire[4 + length :]
    assert struct.unpack_from(">I", tail, 4) == (200 + 108,)
    end = HistoricalDataEnd.FromString(tail[8:])
    assert (end.reqId, end.startDateStr, end.endDateStr) == (4, "20261117", "20261118")

    chain = m.SecurityDefinitionOptionParameter(
        req_id=3, exchange="SMART", underlying_con_id=265598, trading_class="AAPL",
        multiplier="100", expirations=(m.Expiration(value="20261218"),),
        strikes=(m.Strike(value=Decimal(180)), m.Strike(value=Decimal("182.5"))),
    )  # fmt: skip
    parsed = SecDefOptParameter.FromString(encode(chain, 226)[8:])
    assert list(parsed.expirations) == ["20261218"] and list(parsed.strikes) == [180, 182.5]
