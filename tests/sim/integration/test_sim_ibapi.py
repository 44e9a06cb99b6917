"""The core cycle with IB's official `ibapi` client (EClient + EWrapper, reader thread), so
the simulator is not tuned to ib_async's leniency. ibapi asks for v100..226; the simulator
keeps it at 178, i.e. on the text protocol."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from ibapi.client import EClient
from ibapi.contract import ComboLeg, Contract
from ibapi.execution import ExecutionFilter
from ibapi.order import Order
from ibapi.order_cancel import OrderCancel
from ibapi.wrapper import EWrapper

from ibgateway_sim import GatewaySimulator
from ibgateway_sim.engine import ContractQuery


class App(EWrapper, EClient):
    """Records callbacks; `wait(pred)` blocks on a condition the callbacks notify."""

    def __init__(self) -> None:
        EWrapper.__init__(self)
        EClient.__init__(self, self)
        self.cond = threading.Condition()
        self.next_id: int | None = None
        self.accounts = ""
        self.statuses: list[tuple[int, str, Decimal]] = []
        self.open_orders: list[tuple[int, str]] = []
        self.execs: list[tuple[int, Any]] = []
        self.exec_ends: list[int] = []
        self.reports: list[Any] = []
        self.errors: list[tuple[int, int]] = []
        self.times: list[int] = []
        self.positions: list[tuple[str, int, Decimal]] = []
        self.position_end = False
        self.details: list[Any] = []
        self.details_end: list[int] = []

    def _note(self, fn: Callable[[], None]) -> None:
        with self.cond:
            fn()
            self.cond.notify_all()

    def wait(self, pred: Callable[[], bool], timeout: float = 5) -> None:
        with self.cond:
            assert self.cond.wait_for(pred, timeout), "condition not met"

    # EWrapper
    def nextValidId(self, orderId: int) -> None:
        self._note(lambda: setattr(self, "next_id", orderId))

    def managedAccounts(self, accountsList: str) -> None:
        self._note(lambda: setattr(self, "accounts", accountsList))

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
              advancedOrderRejectJson: str = "") -> None:
        self._note(lambda: self.errors.append((reqId, errorCode)))

    def currentTime(self, time: int) -> None:
        self._note(lambda: self.times.append(time))

    def position(self, account: str, contract: Contract, position: Decimal,
                 avgCost: float) -> None:
        self._note(lambda: self.positions.append((account, contract.conId, position)))

    def positionEnd(self) -> None:
        self._note(lambda: setattr(self, "position_end", True))

    def contractDetails(self, reqId: int, contractDetails: Any) -> None:
        self._note(lambda: self.details.append(contractDetails))

    def contractDetailsEnd(self, reqId: int) -> None:
        self._note(lambda: self.details_end.append(reqId))


@pytest.fixture
def gateway_thread() -> Iterator[GatewaySimulator]:
    sim = GatewaySimulator(
        port=0, accounts=["DU1234567"], seed=7, step_interval=None, max_server_version=178
    )
    sim.start()
    try:
        yield sim
    finally:
        sim.stop()


def connect(sim: GatewaySimulator, client_id: int) -> tuple[App, threading.Thread]:
    app = App()
    app.connect("127.0.0.1", sim.port, client_id)
    thread = threading.Thread(target=app.run, daemon=True)
    thread.start()
    app.wait(lambda: app.next_id is not None and bool(app.accounts))
    return app, thread


def stock(symbol: str) -> Contract:
    c = Contract()
    c.symbol, c.secType, c.exchange, c.currency = symbol, "STK", "SMART", "USD"
    return c


def market(action: str, qty: str) -> Order:
    o = Order()
    o.action, o.orderType, o.totalQuantity = action, "MKT", Decimal(qty)
    return o


def test_ibapi_connect_place_fill_commission_executions(gateway_thread: GatewaySimulator) -> None:
    sim = gateway_thread
    app, thread = connect(sim, client_id=11)
    try:
        assert app.serverVersion() == 178
        assert app.accounts == "DU1234567"
        assert {code for _, code in app.errors} == {2104, 2106, 2158}

        app.reqCurrentTime()
        app.wait(lambda: bool(app.times))

        app.reqContractDetails(1, stock("AAPL"))
        app.wait(lambda: app.details_end == [1])
        assert app.details[0].contract.conId == 265598

        assert app.next_id is not None
        order_id = app.next_id
        app.placeOrder(order_id, stock("AAPL"), market("BUY", "10"))
        app.wait(lambda: (order_id, "Filled", Decimal(10)) in app.statuses and bool(app.reports))
        assert app.open_orders[0] == (order_id, "PreSubmitted")
        ((req_id, execution),) = app.execs
        assert req_id == -1 and execution.shares == Decimal(10) and execution.orderId == order_id
        (report,) = app.reports
        assert report.execId == execution.execId and report.commissionAndFees > 0

        app.reqPositions()
        app.wait(lambda: app.position_end)
        assert ("DU1234567", 265598, Decimal(10)) in app.positions
    finally:
        app.disconnect()
        thread.join(timeout=5)

    # a new connection (same clientId) recovers the fill through reqExecutions
    sim.wait_for(lambda: 11 not in sim.connected_client_ids())
    again, thread = connect(sim, client_id=11)
    try:
        again.reqExecutions(42, ExecutionFilter())
        again.wait(lambda: again.exec_ends == [42] and bool(again.reports))
        ((req_id, replayed),) = again.execs
        assert req_id == 42 and replayed.execId == execution.execId
        assert replayed.time.endswith(" UTC")
        assert again.reports[0].commissionAndFees == report.commissionAndFees
    finally:
        again.disconnect()
        thread.join(timeout=5)


def test_ibapi_limit_order_rests_modifies_and_cancels(gateway_thread: GatewaySimulator) -> None:
    sim = gateway_thread
    app, thread = connect(sim, client_id=12)
    try:
        assert app.next_id is not None
        order_id = app.next_id
        order = Order()
        order.action, order.orderType, order.totalQuantity = "BUY", "LMT", Decimal(5)
        order.lmtPrice = 170.0
        app.placeOrder(order_id, stock("AAPL"), order)
        app.wait(lambda: (order_id, "Submitted", Decimal(0)) in app.statuses)
        order.lmtPrice = 171.0
        app.placeOrder(order_id, stock("AAPL"), order)
        sim.wait_for(lambda: sim.engine.open_orders(12)[0].request.limit_price == 171)
        app.cancelOrder(order_id, OrderCancel())
        app.wait(lambda: (order_id, "Cancelled", Decimal(0)) in app.statuses
                 and (order_id, 202) in app.errors)
    finally:
        app.disconnect()
        thread.join(timeout=5)


def test_ibapi_sees_a_forced_liquidation_and_a_combo(gateway_thread: GatewaySimulator) -> None:
    """IB's own client decodes the liquidation execution (reqId -1, orderId -1, clientId 0,
    liquidation 1) after notice 2148, and a combo's per-leg and BAG executions."""
    sim = gateway_thread
    app, thread = connect(sim, client_id=12)
    try:
        assert app.next_id is not None
        app.placeOrder(app.next_id, stock("AAPL"), market("BUY", "10"))
        app.wait(lambda: len(app.reports) == 1)
        sim.liquidate("DU1234567", "AAPL", Decimal(3))
        app.wait(lambda: len(app.reports) == 2)
        assert (-1, 2148) in app.errors
        req_id, forced = app.execs[-1]
        assert (req_id, forced.orderId, forced.clientId, forced.liquidation) == (-1, -1, 0, 1)
        assert forced.side == "SLD" and forced.shares == Decimal(3)

        legs = [c for c in sim.engine.match_contracts(ContractQuery(
            symbol="AAPL", sec_type="OPT", last_trade_date="20261218", right="C"))
            if c.strike in (180, 190)]
        bag = Contract()
        bag.symbol, bag.secType, bag.exchange, bag.currency = "AAPL", "BAG", "SMART", "USD"
        bag.comboLegs = []
        for spec, action in zip(legs, ("BUY", "SELL"), strict=True):
            leg = ComboLeg()
            leg.conId, leg.ratio, leg.action, leg.exchange = spec.con_id, 1, action, "SMART"
            bag.comboLegs.append(leg)
        app.placeOrder(app.next_id + 1, bag, market("BUY", "1"))
        app.wait(lambda: len(app.execs) == 5)
        assert [e.orderId for _, e in app.execs[-3:]] == [app.next_id + 1] * 3
        assert (app.next_id + 1, "Filled") in app.open_orders
    finally:
        app.disconnect()
        thread.join(timeout=5)


def test_ibapi_exercises_an_option_and_hears_the_refusal(gateway_thread: GatewaySimulator) -> None:
    """IB's own client sends exerciseOptions (text, version 2 at 178) and decodes the two
    executions of no order it makes, and error 322 on its request id for a refusal."""
    sim = gateway_thread
    app, thread = connect(sim, client_id=13)
    try:
        assert app.next_id is not None
        sim.set_price("AAPL", Decimal("185.00"))
        (spec,) = [c for c in sim.engine.match_contracts(ContractQuery(
            symbol="AAPL", sec_type="OPT", last_trade_date="20261218", right="C"))
            if c.strike == 180]  # fmt: skip
        option = Contract()
        option.conId, option.exchange = spec.con_id, "SMART"
        app.placeOrder(app.next_id, option, market("BUY", "1"))
        app.wait(lambda: len(app.reports) == 1)
        app.exerciseOptions(901, option, 1, 1, "DU1234567", 0, "", "", False)
        app.wait(lambda: len(app.reports) == 3)
        (_, opt_leg), (_, stock_leg) = app.execs[-2:]
        assert (opt_leg.orderId, stock_leg.orderId) == (0, 0)  # executions of no order
        assert (opt_leg.side, opt_leg.shares, opt_leg.price) == ("SLD", Decimal(1), 0)
        assert (stock_leg.side, stock_leg.shares, stock_leg.price) == ("BOT", Decimal(100), 180)
        app.exerciseOptions(902, option, 1, 1, "DU1234567", 0, "", "", False)
        app.wait(lambda: (902, 322) in app.errors)
        app.reqPositions()
        app.wait(lambda: app.position_end)
        held = {con_id: qty for _, con_id, qty in app.positions}
        assert held[spec.con_id] == 0 and held[spec.under_con_id] == 100
    finally:
        app.disconnect()
        thread.join(timeout=5)
