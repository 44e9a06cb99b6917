"""The whole trading cycle with IB's official client, unmodified, at each regime the simulator
speaks: 178 (text), 203 and 207 (binary ids, some messages protobuf, the rest text), 213 and
226 (protobuf for everything that has a protobuf form, startApi included).

Which replies arrived as protobuf is read from the client itself: its decoder calls the
wrapper's `...ProtoBuf` callbacks only for protobuf messages.
"""

from __future__ import annotations

import struct
import threading
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from ibapi.client import EClient
from ibapi.contract import Contract
from ibapi.execution import ExecutionFilter
from ibapi.order import Order
from ibapi.order_cancel import OrderCancel
from ibapi.wrapper import EWrapper

from ibgateway_sim import GatewaySimulator
from ibgateway_sim.wire import messages as m
from tests.sim.clients import RawClient

AAPL_CON_ID = 265598
# the protobuf callbacks this suite watches, and which of them each version must produce
WATCHED = frozenset({
    "error", "orderStatus", "openOrder", "executionDetails", "commissionAndFeesReport",
    "contractData", "contractDataEnd", "tickPrice", "position", "accountSummary",
    "managedAccounts", "nextValidId", "currentTime",
})  # fmt: skip
_ORDERS = {"error", "orderStatus", "openOrder", "executionDetails", "commissionAndFeesReport",
           "contractData"}  # fmt: skip
_ACCOUNTS = {"contractDataEnd", "tickPrice", "position", "accountSummary", "managedAccounts"}
PROTOBUF_AT = {
    178: frozenset(),
    203: frozenset(_ORDERS),
    207: frozenset(_ORDERS | _ACCOUNTS),
    213: WATCHED,
    226: WATCHED,
}


class App(EWrapper, EClient):
    """Records callbacks; `wait(pred)` blocks on a condition the callbacks notify."""

    def __init__(self) -> None:
        EWrapper.__init__(self)
        EClient.__init__(self, self)
        self.cond = threading.Condition()
        self.protobuf: set[str] = set()
        self.ids: list[int] = []
        self.accounts = ""
        self.times: list[int] = []
        self.details: list[Any] = []
        self.details_end: list[int] = []
        self.statuses: list[tuple[int, str, Decimal]] = []
        self.open_orders: list[tuple[int, str]] = []
        self.execs: list[tuple[int, Any]] = []
        self.exec_ends: list[int] = []
        self.reports: list[Any] = []
        self.errors: list[tuple[int, int]] = []
        self.positions: list[tuple[str, int, Decimal]] = []
        self.position_end = False
        self.summary: list[tuple[int, str, str]] = []
        self.summary_end: list[int] = []
        self.prices: list[tuple[int, int, float]] = []

    def _note(self, fn: Callable[[], Any]) -> None:
        with self.cond:
            fn()
            self.cond.notify_all()

    def wait(self, pred: Callable[[], bool], timeout: float = 5) -> None:
        with self.cond:
            assert self.cond.wait_for(pred, timeout), "condition not met"

    def nextValidId(self, orderId: int) -> None:
        self._note(lambda: self.ids.append(orderId))

    def managedAccounts(self, accountsList: str) -> None:
        self._note(lambda: setattr(self, "accounts", accountsList))

    def currentTime(self, time: int) -> None:
        self._note(lambda: self.times.append(time))

    def contractDetails(self, reqId: int, contractDetails: Any) -> None:
        self._note(lambda: self.details.append(contractDetails))

    def contractDetailsEnd(self, reqId: int) -> None:
        self._note(lambda: self.details_end.append(reqId))

    def orderStatus(self, orderId: int, status: str, filled: Decimal, *args: Any) -> None:
        self._note(lambda: self.statuses.append((orderId, status, filled)))

    def openOrder(self, orderId: int, contract: Contract, order: Order, state: Any) -> None:
        self._note(lambda: self.open_orders.append((orderId, state.status)))

    def execDetails(self, reqId: int, contract: Contract, execution: Any) -> None:
        self._note(lambda: self.execs.append((reqId, execution)))

    def execDetailsEnd(self, reqId: int) -> None:
        self._note(lambda: self.exec_ends.append(reqId))

    def commissionAndFeesReport(self, report: Any) -> None:
        self._note(lambda: self.reports.append(report))

    def error(self, reqId: int, errorTime: int, errorCode: int, errorString: str,
              advancedOrderRejectJson: str = "") -> None:  # fmt: skip
        self._note(lambda: self.errors.append((reqId, errorCode)))

    def position(self, account: str, contract: Contract, position: Decimal, avgCost: float) -> None:
        self._note(lambda: self.positions.append((account, contract.conId, position)))

    def positionEnd(self) -> None:
        self._note(lambda: setattr(self, "position_end", True))

    def accountSummary(self, reqId: int, account: str, tag: str, value: str, currency: str) -> None:
        self._note(lambda: self.summary.append((reqId, tag, value)))

    def accountSummaryEnd(self, reqId: int) -> None:
        self._note(lambda: self.summary_end.append(reqId))

    def tickPrice(self, reqId: int, tickType: int, price: float, attrib: Any) -> None:
        self._note(lambda: self.prices.append((reqId, tickType, price)))


def _protobuf_recorder(name: str) -> Callable[[App, Any], None]:
    def record(self: App, proto: Any) -> None:
        self._note(lambda: self.protobuf.add(name))

    return record


for _name in WATCHED:
    setattr(App, f"{_name}ProtoBuf", _protobuf_recorder(_name))


@pytest.fixture
def sim_at() -> Iterator[Callable[..., GatewaySimulator]]:
    started: list[GatewaySimulator] = []

    def make(version: int, **options: Any) -> GatewaySimulator:
        sim = GatewaySimulator(
            port=0, seed=7, step_interval=None, max_server_version=version, **options
        )
        sim.start()
        started.append(sim)
        return sim

    yield make
    for sim in started:
        sim.stop()


def connect(sim: GatewaySimulator, client_id: int) -> tuple[App, threading.Thread]:
    app = App()
    app.connect("127.0.0.1", sim.port, client_id)
    thread = threading.Thread(target=app.run, daemon=True)
    thread.start()
    app.wait(lambda: bool(app.ids) and bool(app.accounts))
    return app, thread


def close(app: App, thread: threading.Thread) -> None:
    """A currentTime round trip first: ibapi's reader thread trips over messages still queued
    when `disconnect()` resets its server version, so let it drain what was sent."""
    seen = len(app.times)
    app.reqCurrentTime()
    app.wait(lambda: len(app.times) > seen)
    app.disconnect()
    thread.join(timeout=5)
    assert not thread.is_alive()


def stock(symbol: str) -> Contract:
    c = Contract()
    c.symbol, c.secType, c.exchange, c.currency = symbol, "STK", "SMART", "USD"
    return c


def order(action: str, qty: str, limit: float | None = None) -> Order:
    o = Order()
    o.action, o.totalQuantity = action, Decimal(qty)
    o.orderType = "MKT" if limit is None else "LMT"
    if limit is not None:
        o.lmtPrice = limit
    return o


@pytest.mark.parametrize("version", sorted(PROTOBUF_AT))
def test_official_client_full_cycle(sim_at: Callable[..., GatewaySimulator], version: int) -> None:
    sim = sim_at(version)
    app, thread = connect(sim, client_id=21)
    try:
        assert app.serverVersion() == version
        assert app.accounts == "DU1234567"
        # the farm notices follow nextValidId: wait for them, then nothing else came
        app.wait(lambda: len(app.errors) >= 3)
        assert {code for _, code in app.errors} == {2104, 2106, 2158}

        app.reqIds(-1)
        app.wait(lambda: len(app.ids) == 2)
        app.reqCurrentTime()
        app.wait(lambda: bool(app.times))
        assert app.times[0] > 1_600_000_000

        app.reqContractDetails(1, stock("AAPL"))
        app.wait(lambda: app.details_end == [1])
        (details,) = app.details
        assert details.contract.conId == AAPL_CON_ID and details.minTick > 0
        assert details.contract.primaryExchange == "NASDAQ"

        buy = app.ids[-1]
        app.placeOrder(buy, stock("AAPL"), order("BUY", "10"))
        app.wait(lambda: (buy, "Filled", Decimal(10)) in app.statuses and bool(app.reports))
        assert app.open_orders[0] == (buy, "PreSubmitted")
        ((req_id, execution),) = app.execs
        assert req_id == -1 and execution.orderId == buy and execution.shares == Decimal(10)
        (report,) = app.reports
        assert report.execId == execution.execId and report.commissionAndFees > 0

        rest = buy + 1
        app.placeOrder(rest, stock("AAPL"), order("BUY", "5", limit=100.0))
        app.wait(lambda: (rest, "Submitted", Decimal(0)) in app.statuses)
        app.cancelOrder(rest, OrderCancel())
        app.wait(lambda: (rest, "Cancelled", Decimal(0)) in app.statuses
                 and (rest, 202) in app.errors)  # fmt: skip

        app.reqExecutions(42, ExecutionFilter())
        app.wait(lambda: app.exec_ends == [42] and len(app.reports) == 2)
        assert [e.execId for r, e in app.execs if r == 42] == [execution.execId]

        app.reqPositions()
        app.wait(lambda: app.position_end)
        assert ("DU1234567", AAPL_CON_ID, Decimal(10)) in app.positions

        app.reqAccountSummary(9, "All", "NetLiquidation,TotalCashValue")
        app.wait(lambda: app.summary_end == [9])
        assert {tag for r, tag, _ in app.summary if r == 9} == {"NetLiquidation", "TotalCashValue"}
        app.cancelAccountSummary(9)

        app.reqMktData(7, stock("AAPL"), "", False, False, [])
        app.wait(lambda: any(r == 7 and price > 0 for r, _, price in app.prices))
        app.cancelMktData(7)

        assert app.protobuf & WATCHED == PROTOBUF_AT[version]
        assert not [code for _, code in app.errors if code == 320]  # nothing misread
    finally:
        close(app, thread)


@pytest.mark.parametrize(("version", "suffix"), [(213, ""), (214, "Z")])
def test_utc_execution_times_get_a_z_suffix_from_214(
    sim_at: Callable[..., GatewaySimulator], version: int, suffix: str
) -> None:
    sim = sim_at(version, exec_time_format="utc")
    app, thread = connect(sim, client_id=22)
    try:
        app.placeOrder(app.ids[-1], stock("AAPL"), order("BUY", "1"))
        app.wait(lambda: bool(app.execs))
        time = app.execs[0][1].time
        assert len(time) == len("20250115-14:30:01") + len(suffix) and time.endswith(suffix)
        assert time[8] == "-"
    finally:
        close(app, thread)


@pytest.mark.parametrize(
    "body",
    [b"\x08", b"\x0a\x05ab", b"\x0b\x0c", b"\x0a\x01x"],
    ids=["endless-varint", "short-string", "group-wire-type", "int-as-string"],
)
async def test_a_malformed_protobuf_request_gets_error_320_and_the_session_lives(
    sim_factory: Any, raw_factory: Callable[[int], RawClient], body: bytes
) -> None:
    async with sim_factory(max_server_version=226) as sim:
        raw = raw_factory(sim.port)
        await raw.start(client_id=23, lo=100, hi=226)
        assert raw.conn is not None and raw.conn.version == 226
        raw.send_bytes(struct.pack(">II", 4 + len(body), 200 + 8) + body)  # reqIds, garbled
        (error,) = await raw.expect(m.ErrorMsg, lambda e: e.code == 320)
        assert error.req_id == -1
        raw.send(m.ReqCurrentTime())
        await raw.expect(m.CurrentTime)
        assert sim.connected_client_ids() == {23}


def test_the_protobuf_only_requests_are_read_under_their_request_id(
    sim_at: Callable[..., GatewaySimulator],
) -> None:
    """cancelContractData and cancelHistoricalTicks (from 215) find nothing in flight, the
    answers having come at once: nothing is sent back. reqConfig and updateConfig (219, 221),
    TWS's settings, are not modelled: error 320 under their request id. The errors come in
    request order, so when they are in, the cancels have been read."""
    from ibapi.protobuf.ConfigRequest_pb2 import ConfigRequest
    from ibapi.protobuf.UpdateConfigRequest_pb2 import UpdateConfigRequest

    sim = sim_at(226)
    app, thread = connect(sim, client_id=24)
    try:
        app.reqContractDetails(61, stock("AAPL"))
        app.wait(lambda: app.details_end == [61])
        app.cancelContractData(61)
        app.cancelHistoricalTicks(62)
        app.reqConfigProtoBuf(ConfigRequest(reqId=63))
        app.updateConfigProtoBuf(UpdateConfigRequest(reqId=64, resetAPIOrderSequence=True))
        app.wait(lambda: {(63, 320), (64, 320)} <= set(app.errors))
        assert not [e for e in app.errors if e[0] in (61, 62)]
        assert sim.connected_client_ids() == {24}
    finally:
        close(app, thread)
