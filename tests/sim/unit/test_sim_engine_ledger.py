"""Paper engine: commissions, cash and positions per instrument type, account values,
execution corrections, the reqExecutions filter and every rejection."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from ibgateway_sim.engine import (
    ContractQuery,
    Engine,
    EngineError,
    ExecFilter,
    OrderError,
    OrderRequest,
    OrderUpdated,
)
from tests.sim.engine_helpers import AAPL, IBM, MSFT, FakeClock, errors, fills, order, statuses

EURUSD, USDJPY, ESH5 = 12087792, 15016059, 637533000
ACCOUNT = "DU1234567"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def engine(clock: FakeClock) -> Engine:
    return Engine(clock=clock, seed=7)


def value(engine: Engine, key: str, currency: str = "USD", account: str = ACCOUNT) -> str:
    [row] = [v for v in engine.account_values(account) if v.key == key and v.currency == currency]
    return row.value


def cash(engine: Engine, currency: str = "USD") -> D:
    return D(value(engine, "CashBalance", currency))


def option_180c(engine: Engine) -> int:
    [spec] = engine.match_contracts(ContractQuery(
        symbol="AAPL", sec_type="OPT", last_trade_date="20260619", strike=D(180), right="C"))
    return spec.con_id


# ---- commissions ---------------------------------------------------------------------------

def test_stock_commission_per_share_min_and_max(engine: Engine) -> None:
    def commission(oid: int, qty: int) -> D:
        [ev] = [e for e in engine.place(order(oid, qty=qty)) if hasattr(e, "commission")]
        return ev.commission.commission  # type: ignore[union-attr]

    assert commission(1, 100) == D("1.00")  # 0.50 -> the $1 minimum
    assert commission(2, 1000) == D("5.00")
    engine.set_price(AAPL, D("1.00"))
    assert commission(3, 10) == D("0.10")  # capped at 1% of 10.10


def test_custom_stock_rate(clock: FakeClock) -> None:
    engine = Engine(clock=clock, commission_per_share=D("0.01"), min_commission=D("2.00"))
    [ex] = fills(engine.place(order(1, qty=100)))
    assert engine.executions()[0][1].commission == D("2.00") and ex.shares == 100
    engine.place(order(2, qty=1000))
    assert engine.executions()[1][1].commission == D("10.00")


def test_option_future_and_fx_commissions(engine: Engine) -> None:
    opt = option_180c(engine)
    engine.place(order(1, qty=3, con_id=opt))
    engine.place(order(2, qty=1, con_id=opt))
    engine.place(order(3, qty=2, con_id=ESH5))
    engine.place(order(4, qty=100000, con_id=EURUSD))
    engine.place(order(5, qty=10000, con_id=EURUSD))
    got = [(cr.commission, cr.currency) for _, cr in engine.executions()]
    assert got == [(D("1.95"), "USD"), (D("1.00"), "USD"), (D("1.70"), "USD"),
                   (D("2.17"), "USD"), (D("2.00"), "USD")]


def test_per_order_minimum_across_partial_fills(clock: FakeClock) -> None:
    engine = Engine(clock=clock, liquidity=D(100))
    engine.place(order(1, qty=300))
    engine.step()
    engine.step()
    assert [cr.commission for _, cr in engine.executions()] == [D("1.00"), D(0), D("0.50")]


# ---- cash, positions, PnL ------------------------------------------------------------------

def test_stock_round_trip_realizes_pnl(engine: Engine) -> None:
    engine.place(order(1))
    [pos] = engine.positions()
    assert (pos.position, pos.avg_cost) == (D(100), D("185.02"))  # commission in the cost
    assert (pos.market_price, pos.market_value, pos.unrealized_pnl) == (
        D("185.00"), D("18500.00"), D("-2.00"))
    assert cash(engine) == D("981498.00")
    engine.set_price(AAPL, D("190.00"))
    engine.place(order(2, "SELL"))
    _, cr = engine.executions()[-1]
    assert cr.realized_pnl == D("496.00")  # 100 x (189.99 - 185.02) - 1.00
    [pos] = engine.positions()
    assert (pos.position, pos.realized_pnl, pos.unrealized_pnl) == (0, D("496.00"), 0)
    assert cash(engine) == D("1000496.00")
    assert value(engine, "RealizedPnL", "BASE") == "496.00"


def test_partial_close_and_flip(engine: Engine) -> None:
    engine.place(order(1, qty=100))
    engine.place(order(2, "SELL", qty=40))
    assert engine.executions()[-1][1].realized_pnl == D("-2.20")  # 40 x (184.99-185.02) - 1
    assert engine.positions()[0].position == 60
    engine.place(order(3, "SELL", qty=100))
    [pos] = engine.positions()
    assert pos.position == D(-40) and pos.avg_cost == D("184.99")


def test_option_cost_uses_the_multiplier(engine: Engine) -> None:
    opt = option_180c(engine)
    ask = engine.quote(opt).ask
    engine.place(order(1, qty=1, con_id=opt))
    [pos] = engine.positions()
    assert pos.avg_cost == ask * 100 + 1
    assert cash(engine) == D(1_000_000) - ask * 100 - 1
    assert D(value(engine, "OptionMarketValue")) == engine.quote(opt).last * 100


def test_futures_move_cash_by_pnl_only(engine: Engine) -> None:
    engine.place(order(1, qty=1, con_id=ESH5))  # at 5912.75
    assert cash(engine) == D("999999.15")
    [pos] = engine.positions()
    assert pos.avg_cost == D("295638.35")
    engine.set_price(ESH5, D("5922.50"))
    assert value(engine, "FuturesPNL") == "487.50"
    assert value(engine, "NetLiquidation") == "1000486.65"
    assert D(value(engine, "InitMarginReq")) == D(16500)  # the exchange margin per contract
    engine.place(order(2, "SELL", qty=1, con_id=ESH5))  # at 5922.25
    assert engine.executions()[-1][1].realized_pnl == D("473.30")
    assert cash(engine) == D("1000473.30")


def test_fx_trade_moves_both_currencies(engine: Engine) -> None:
    engine.place(order(1, qty=100000, con_id=EURUSD))  # at 1.08505
    assert cash(engine, "EUR") == D("100000.00")
    assert cash(engine, "USD") == D("891492.83")  # 1M - 108505 - 2.17
    assert value(engine, "ExchangeRate", "EUR") == "1.08500"
    assert value(engine, "TotalCashValue") == "999992.83"
    assert value(engine, "NetLiquidation") == "999992.83"
    [pos] = engine.positions()
    assert (pos.contract.local_symbol, pos.position) == ("EUR.USD", D(100000))


def test_usd_jpy_trade(engine: Engine) -> None:
    engine.place(order(1, "SELL", qty=100000, con_id=USDJPY))  # at 149.995
    assert cash(engine, "JPY") == D("14999500.00")
    assert cash(engine, "USD") == D("899998.00")  # 1M - 100000 - 2.00
    nlv = D(value(engine, "NetLiquidation"))
    assert abs(nlv - (D("899998.00") + D("14999500") / D("150.000"))) < D("0.01")


def test_account_values_at_start(engine: Engine) -> None:
    rows = {(v.key, v.currency): v.value for v in engine.account_values(ACCOUNT)}
    expect = {("NetLiquidation", "USD"): "1000000.00", ("TotalCashValue", "USD"): "1000000.00",
              ("SettledCash", "USD"): "1000000.00", ("BuyingPower", "USD"): "2000000.00",
              ("AvailableFunds", "USD"): "1000000.00", ("ExcessLiquidity", "USD"): "1000000.00",
              ("EquityWithLoanValue", "USD"): "1000000.00",
              ("GrossPositionValue", "USD"): "0.00", ("InitMarginReq", "USD"): "0.00",
              ("MaintMarginReq", "USD"): "0.00", ("FullInitMarginReq", "USD"): "0.00",
              ("CashBalance", "USD"): "1000000.00", ("CashBalance", "BASE"): "1000000.00",
              ("AccountType", ""): "INDIVIDUAL", ("Currency", "USD"): "USD",
              ("AccountCode", ""): ACCOUNT, ("RealizedPnL", "BASE"): "0.00",
              ("UnrealizedPnL", "BASE"): "0.00"}
    assert {k: rows.get(k) for k in expect} == expect
    assert all(v.account == ACCOUNT for v in engine.account_values(ACCOUNT))
    with pytest.raises(EngineError):
        engine.account_values("DU0000000")


def test_margin_values_after_a_stock_buy(engine: Engine) -> None:
    engine.place(order(1, qty=1000))
    assert value(engine, "GrossPositionValue") == "185000.00"
    assert value(engine, "InitMarginReq") == "92500.00"  # Reg T: 50% initial
    assert value(engine, "MaintMarginReq") == "46250.00"  # 25% maintenance
    nlv = D(value(engine, "NetLiquidation"))
    assert D(value(engine, "AvailableFunds")) == nlv - D("92500.00")
    assert D(value(engine, "BuyingPower")) == 2 * (nlv - D("92500.00"))


# ---- corrections ---------------------------------------------------------------------------

def test_correction_bumps_the_id_and_adjusts_the_ledger(engine: Engine) -> None:
    [orig] = fills(engine.place(order(1, qty=100)))
    assert orig.exec_id.endswith(".01.01") and len(orig.exec_id.split(".")) == 4
    [ev] = engine.correct_execution(orig.exec_id, shares=D(90))
    fix = ev.execution  # type: ignore[union-attr]
    assert fix.exec_id == orig.exec_id[:-2] + "02" and fix.corrects == orig.exec_id
    assert (fix.shares, fix.price, fix.perm_id, fix.order_id) == (
        D(90), orig.price, orig.perm_id, orig.order_id)
    assert engine.positions()[0].position == 90
    assert cash(engine) == D(1_000_000) - 90 * orig.price - 1
    [ev2] = engine.correct_execution(orig.exec_id, price=D("185.00"))
    assert ev2.execution.exec_id == orig.exec_id[:-2] + "03"  # type: ignore[union-attr]
    assert ev2.execution.corrects == orig.exec_id  # type: ignore[union-attr]
    assert ev2.execution.shares == 90  # type: ignore[union-attr]  # corrects the correction
    assert cash(engine) == D(1_000_000) - 90 * D("185.00") - 1
    assert [ex.exec_id for ex, _ in engine.executions()] == [
        orig.exec_id, fix.exec_id, ev2.execution.exec_id]  # type: ignore[union-attr]
    with pytest.raises(EngineError):
        engine.correct_execution("nope")


def test_exec_ids_are_unique(engine: Engine) -> None:
    for i in range(20):
        engine.place(order(i + 1, "BUY" if i % 2 else "SELL", qty=1))
    ids = [ex.exec_id for ex, _ in engine.executions()]
    assert len(set(ids)) == 20
    assert len({i.split(".")[0] for i in ids}) == 1


# ---- reqExecutions filter ------------------------------------------------------------------

def test_execution_filter_honours_every_field(engine: Engine, clock: FakeClock) -> None:
    engine.place(order(1, qty=10, client_id=1))                      # AAPL BOT, t0
    clock.t += 60
    engine.place(order(2, "SELL", qty=5, con_id=IBM, client_id=2))   # IBM SLD, t0+60
    clock.t += 60
    engine.place(order(3, qty=100000, con_id=EURUSD, client_id=1))   # EUR.USD BOT, t0+120
    everything = engine.executions()
    assert engine.executions(ExecFilter()) == everything and len(everything) == 3

    def ids(**kw: object) -> list[int]:
        return [ex.order_id for ex, _ in engine.executions(ExecFilter(**kw))]  # type: ignore[arg-type]

    assert ids(client_id=2) == [2]
    assert ids(account=ACCOUNT) == [1, 2, 3] and ids(account="DU0") == []
    assert ids(symbol="ibm") == [2]
    assert ids(sec_type="CASH") == [3]
    assert ids(exchange="NYSE") == [2] and ids(exchange="IDEALPRO") == [3]
    assert ids(exchange="SMART") == [1, 2]
    assert ids(side="BUY") == [1, 3] and ids(side="SELL") == [2]
    assert ids(time="20261118 11:07:40 UTC") == [2, 3]        # t0 + 60 s
    assert ids(time="20261118-11:08:40") == [3]
    assert ids(time="20261118 06:07:40 US/Eastern") == [2, 3]
    assert ids(time="20261118 11:07:41") == [3]  # no zone: the gateway's (UTC here)
    assert ids(client_id=1, side="BUY", sec_type="STK") == [1]


# ---- rejections ----------------------------------------------------------------------------

def test_off_tick_price_is_110_and_cancelled(engine: Engine) -> None:
    events = engine.place(order(1, otype="LMT", limit_price=D("185.005")))
    assert isinstance(events[0], OrderError) and events[0].code == 110
    assert events[0].text == ("The price does not conform to the minimum price variation "
                              "for this contract.")
    assert statuses(events) == ["Cancelled"]
    assert errors(engine.place(order(2, con_id=ESH5, otype="STP", aux_price=D("6000.10")))) == [
        (2, 110)]
    assert errors(engine.place(order(3, con_id=EURUSD, qty=1, otype="LMT",
                                     limit_price=D("1.08501")))) == [(3, 110)]


def test_unknown_or_ambiguous_contract_is_200(engine: Engine) -> None:
    req = OrderRequest(client_id=1, order_id=1, contract=ContractQuery(symbol="NOPE",
                       sec_type="STK"), action="BUY", quantity=D(1), order_type="MKT")
    [err] = engine.place(req)
    assert isinstance(err, OrderError) and err.code == 200
    assert err.text == "No security definition has been found for the request"
    assert engine.order(1, 1) is None
    amb = OrderRequest(client_id=1, order_id=2, contract=ContractQuery(symbol="AAPL",
                       sec_type="OPT"), action="BUY", quantity=D(1), order_type="MKT")
    [err] = engine.place(amb)
    assert isinstance(err, OrderError) and err.code == 200 and "ambiguous" in err.text


def test_insufficient_buying_power_is_201_inactive(engine: Engine) -> None:
    events = engine.place(order(1, qty=30000))  # 5.55M of stock > 2M buying power
    assert statuses(events) == ["Inactive"]
    assert isinstance(events[1], OrderError) and events[1].code == 201
    assert events[1].text.startswith("Order rejected - reason:YOUR ORDER IS NOT ACCEPTED")
    assert engine.executions() == [] and engine.open_orders() == []
    assert statuses(engine.place(order(2, qty=10000)))[-1] == "Filled"  # 1.85M fits
    # closing never needs buying power; a limit far away is checked at its limit
    assert statuses(engine.place(order(3, "SELL", qty=10000)))[-1] == "Filled"
    assert errors(engine.place(order(4, qty=100000, otype="LMT", limit_price=D("10.00")))) == []


def test_bad_quantities_are_201(engine: Engine) -> None:
    for oid, qty in ((1, "0"), (2, "-5"), (3, "1.5")):
        events = engine.place(order(oid, qty=qty))
        assert errors(events) == [(oid, 201)] and statuses(events) == ["Inactive"]


def test_missing_prices_and_unknown_types_are_201(engine: Engine) -> None:
    assert errors(engine.place(order(1, otype="LMT"))) == [(1, 201)]
    assert errors(engine.place(order(2, otype="STP"))) == [(2, 201)]
    assert errors(engine.place(order(3, otype="TRAIL"))) == [(3, 201)]
    assert errors(engine.place(order(4, otype="VWAP"))) == [(4, 201)]
    assert errors(engine.place(order(5, tif="XYZ"))) == [(5, 201)]
    assert errors(engine.place(order(6, action="HOLD"))) == [(6, 201)]


def test_unknown_account_is_201(engine: Engine) -> None:
    events = engine.place(order(1, account="DU7654321"))
    assert errors(events) == [(1, 201)] and "DU7654321" in events[-1].text  # type: ignore[union-attr]


def test_read_only_rejects_every_order(clock: FakeClock) -> None:
    engine = Engine(clock=clock, read_only=True)
    events = engine.place(order(1))
    assert isinstance(events[0], OrderError) and events[0].code == 321
    assert "Read-Only mode" in events[0].text
    assert isinstance(events[1], OrderUpdated) and events[1].order.status == "Cancelled"
    assert engine.executions() == []
    # reads keep working
    assert engine.quote(AAPL).last > 0 and engine.positions() == []


def test_rejected_orders_are_completed_with_status_rejected(engine: Engine) -> None:
    engine.place(order(1, qty=0))
    engine.place(order(2, con_id=MSFT, otype="LMT", limit_price=D("1.001")))
    done = engine.completed_orders()
    assert [(o.order_id, o.status, o.completed_status) for o in done] == [
        (1, "Inactive", "Rejected"), (2, "Cancelled", "Rejected")]


def test_what_if_and_the_pre_trade_check_leave_the_account_as_it_was(engine: Engine) -> None:
    """Both apply the order to a trial copy: the positions it touches are copies, the rest
    are shared and only read."""
    engine.place(order(1, "BUY", 10, "MKT", AAPL))
    engine.place(order(2, "BUY", 5, "MKT", MSFT))
    before = (engine.positions(), engine.account_values(ACCOUNT))
    assert len(before[0]) == 2
    rest = engine.place(order(3, "SELL", 10, "LMT", AAPL, limit_price=D(10_000)))
    assert statuses(rest) == ["PreSubmitted", "Submitted"]  # checked, and resting
    answer = engine.place(order(4, "BUY", 7, "LMT", MSFT, limit_price=D(1), what_if=True))
    assert [e.order.margin is not None for e in answer if isinstance(e, OrderUpdated)] == [True]
    assert (engine.positions(), engine.account_values(ACCOUNT)) == before
