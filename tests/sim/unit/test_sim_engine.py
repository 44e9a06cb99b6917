"""Paper engine: universe and matching, prices, order types, TIFs, modify and cancel.

Every test drives a fake clock; nothing waits. Shared helpers: tests.sim.engine_helpers.
"""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest

from ibgateway_sim.engine import (
    ContractSpec,
    Engine,
    EngineError,
    OrderError,
    OrderUpdated,
)
from tests.sim.engine_helpers import (
    AAPL,
    IBM,
    MSFT,
    SPY,
    T0,
    FakeClock,
    errors,
    fills,
    order,
    q,
    statuses,
)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def engine(clock: FakeClock) -> Engine:
    return Engine(clock=clock, seed=7)


# ---- universe and matching ---------------------------------------------------------------

def test_stocks_carry_real_con_ids_and_primary_exchanges(engine: Engine) -> None:
    for con_id, sym, primary in [(AAPL, "AAPL", "NASDAQ"), (MSFT, "MSFT", "NASDAQ"),
                                 (SPY, "SPY", "ARCA"), (IBM, "IBM", "NYSE")]:
        [spec] = engine.match_contracts(q(symbol=sym, sec_type="STK", exchange="SMART",
                                          currency="USD"))
        assert (spec.con_id, spec.primary_exchange, spec.min_tick) == (con_id, primary,
                                                                       D("0.01"))
    for sym in ("QQQ", "TSLA", "AMZN", "NVDA"):
        assert len(engine.match_contracts(q(symbol=sym, sec_type="STK"))) == 1


def test_option_chain_has_the_spec_example_and_future_expiries(engine: Engine) -> None:
    [opt] = engine.match_contracts(q(symbol="AAPL", sec_type="OPT", last_trade_date="20260619",
                                     strike=D("180.0"), right="CALL", exchange="SMART"))
    assert opt.local_symbol == "AAPL  260619C00180000"
    assert (opt.multiplier, opt.trading_class, opt.right, opt.under_con_id) == (
        "100", "AAPL", "C", AAPL)
    chain = engine.match_contracts(q(symbol="AAPL", sec_type="OPT"))
    assert {s.right for s in chain} == {"C", "P"}
    assert any(s.last_trade_date > "20261125" for s in chain)
    [put] = engine.match_contracts(q(local_symbol="AAPL 260619P00180000"))
    assert put.right == "P" and put.strike == D(180)


def test_futures_quarterlies_on_cme(engine: Engine) -> None:
    [es] = engine.match_contracts(q(symbol="ES", sec_type="FUT", last_trade_date="202503",
                                    exchange="CME"))
    assert (es.local_symbol, es.multiplier, es.min_tick, es.trading_class) == (
        "ESH5", "50", D("0.25"), "ES")
    assert es.last_trade_date == "20250321"
    [nq] = engine.match_contracts(q(symbol="NQ", sec_type="FUT", last_trade_date="202706",
                                    exchange="GLOBEX"))
    assert (nq.multiplier, nq.local_symbol) == ("20", "NQM7")
    live = [s for s in engine.match_contracts(q(symbol="ES", sec_type="FUT"))
            if s.last_trade_date > "20261125"]
    assert len(live) >= 3


def test_fx_pairs_on_idealpro(engine: Engine) -> None:
    [eur] = engine.match_contracts(q(symbol="EUR", sec_type="CASH", currency="USD",
                                     exchange="IDEALPRO"))
    assert (eur.local_symbol, eur.min_tick, eur.multiplier) == ("EUR.USD", D("0.00005"), "")
    [jpy] = engine.match_contracts(q(local_symbol="USD.JPY"))
    assert jpy.min_tick == D("0.005")
    pairs = {s.local_symbol for s in engine.match_contracts(q(sec_type="CASH"))}
    assert {"EUR.USD", "GBP.USD", "USD.JPY", "AUD.USD", "USD.CHF", "USD.CAD"} <= pairs


def test_matching_rules(engine: Engine) -> None:
    assert engine.match_contracts(q(symbol="NOPE", sec_type="STK")) == []
    assert engine.match_contracts(q()) == []
    assert engine.match_contracts(q(con_id=AAPL))[0].symbol == "AAPL"
    assert engine.match_contracts(q(con_id=AAPL, symbol="MSFT")) == []
    assert len(engine.match_contracts(q(symbol="AAPL", sec_type="OPT", strike=D(180)))) > 2
    # SMART covers stocks and options, not futures
    assert engine.match_contracts(q(symbol="ES", sec_type="FUT", exchange="SMART")) == []
    assert engine.match_contracts(q(symbol="AAPL", sec_type="STK", exchange="ISLAND"))
    assert engine.match_contracts(q(symbol="AAPL", sec_type="STK", currency="EUR")) == []
    # ib_async's unset strike (0.0) and multiplier written as a float
    assert len(engine.match_contracts(q(symbol="ES", sec_type="FUT", last_trade_date="202506",
                                        strike=D(0), multiplier="50.0"))) == 1


def test_add_contract(engine: Engine) -> None:
    spec = ContractSpec(
        con_id=9999, symbol="XYZ", sec_type="STK", exchange="SMART", primary_exchange="NYSE",
        currency="USD", local_symbol="XYZ", trading_class="XYZ", min_tick=D("0.05"),
        multiplier="", last_trade_date="", strike=D(0), right="", long_name="XYZ CORP",
        time_zone_id="US/Eastern", initial_price=D("10.00"))
    engine.add_contract(spec)
    engine.add_contract(spec)  # identical: no-op
    assert engine.match_contracts(q(symbol="XYZ")) == [spec]
    assert fills(engine.place(order(1, con_id=9999)))[0].price == D("10.05")
    with pytest.raises(EngineError):
        engine.add_contract(ContractSpec(**{**_fields(spec), "symbol": "OTHER"}))


def _fields(spec: ContractSpec) -> dict[str, Any]:
    return {f: getattr(spec, f) for f in spec.__slots__}  # type: ignore[attr-defined]


def test_unknown_con_id_is_control_misuse(engine: Engine) -> None:
    with pytest.raises(EngineError) as info:
        engine.quote(1)
    assert info.value.code == 200


# ---- prices --------------------------------------------------------------------------------

def test_price_path_is_deterministic_per_seed(clock: FakeClock) -> None:
    a, b, c = (Engine(clock=clock, seed=s) for s in (3, 3, 4))
    ids = [AAPL, SPY, 12087792, 637533000]
    for _ in range(25):
        for e in (a, b, c):
            e.step()
    assert [a.quote(i) for i in ids] == [b.quote(i) for i in ids]
    assert [a.quote(i) for i in ids] != [c.quote(i) for i in ids]


def test_path_does_not_depend_on_which_books_were_read(clock: FakeClock) -> None:
    a, b = Engine(clock=clock, seed=5), Engine(clock=clock, seed=5)
    a.quote(AAPL)
    for _ in range(10):
        a.step()
        b.step()
        b.quote(MSFT)
    assert a.quote(AAPL) == b.quote(AAPL)


def test_quotes_stay_on_the_grid_with_a_spread(engine: Engine, clock: FakeClock) -> None:
    for con_id in (AAPL, 12087792, 15016059, 637533000):
        tick = engine.contract(con_id).min_tick
        for _ in range(30):
            clock.t += 1
            engine.step()
            qt = engine.quote(con_id)
            assert qt.bid < qt.last < qt.ask
            assert qt.ask - qt.bid >= tick
            assert all(p % tick == 0 for p in (qt.bid, qt.ask, qt.last))
            assert qt.bid_size > 0 and qt.ask_size > 0
            assert qt.low <= qt.last <= qt.high
            assert qt.time == clock.t


def test_set_price_rounds_to_grid_and_refuses_non_positive(engine: Engine) -> None:
    engine.set_price(637533000, D("6000.1"))
    assert engine.quote(637533000).last == D("6000.00")
    with pytest.raises(EngineError):
        engine.set_price(AAPL, D(0))


# ---- order types ---------------------------------------------------------------------------

def test_market_buy_fills_at_ask_with_status_sequence(engine: Engine) -> None:
    ask = engine.quote(AAPL).ask
    events = engine.place(order(1, exchange="SMART"))
    assert statuses(events) == ["PreSubmitted", "Submitted", "Filled"]
    assert [type(e).__name__ for e in events] == [
        "OrderUpdated", "OrderUpdated", "ExecutionMade", "OrderUpdated"]
    [ex] = fills(events)
    assert (ex.side, ex.shares, ex.price, ex.account, ex.exchange, ex.liquidity) == (
        "BOT", D(100), ask, "DU1234567", "ISLAND", 2)
    assert (ex.cum_qty, ex.avg_price) == (D(100), ask)
    done = engine.order(1, 1)
    assert done is not None and done.status == "Filled" and done.remaining == 0
    assert done.avg_fill_price == ask and done.completed_time is not None
    assert engine.positions()[0].position == D(100)


def test_market_sell_fills_at_bid(engine: Engine) -> None:
    bid = engine.quote(IBM).bid
    [ex] = fills(engine.place(order(1, "SELL", 10, con_id=IBM)))
    assert (ex.side, ex.price, ex.exchange) == ("SLD", bid, "NYSE")
    assert engine.positions()[0].position == D(-10)


def test_marketable_limit_takes_the_quote(engine: Engine) -> None:
    [ex] = fills(engine.place(order(1, otype="LMT", limit_price=D("190.00"))))
    assert ex.price == D("185.01") and ex.liquidity == 2


def test_resting_limit_fills_at_its_limit_when_the_market_comes(engine: Engine) -> None:
    events = engine.place(order(1, otype="LMT", limit_price=D("180.00")))
    assert statuses(events) == ["PreSubmitted", "Submitted"] and not fills(events)
    assert fills(engine.set_price(AAPL, D("180.50"))) == []
    events = engine.set_price(AAPL, D("179.50"))
    [ex] = fills(events)
    assert (ex.price, ex.liquidity) == (D("180.00"), 1)
    assert statuses(events) == ["Filled"]


def test_sell_limit_rests_above_the_market(engine: Engine) -> None:
    engine.place(order(1, "SELL", otype="LMT", limit_price=D("186.00")))
    assert fills(engine.set_price(AAPL, D("185.99"))) == []  # bid 185.98
    [ex] = fills(engine.set_price(AAPL, D("186.01")))  # bid 186.00
    assert ex.price == D("186.00")


def test_buy_stop_triggers_on_last_at_or_above_stop(engine: Engine) -> None:
    events = engine.place(order(1, otype="STP", aux_price=D("187.00")))
    assert statuses(events) == ["PreSubmitted", "Submitted"]
    assert fills(engine.set_price(AAPL, D("186.99"))) == []
    [ex] = fills(engine.set_price(AAPL, D("187.00")))
    assert ex.price == D("187.01")


def test_sell_stop_below_market(engine: Engine) -> None:
    engine.place(order(1, "SELL", otype="STP", aux_price=D("180.00")))
    assert fills(engine.set_price(AAPL, D("180.01"))) == []
    [ex] = fills(engine.set_price(AAPL, D("179.00")))
    assert ex.price == D("178.99")


def test_stop_limit_triggers_then_waits_for_its_limit(engine: Engine) -> None:
    engine.place(order(1, "SELL", otype="STP LMT", aux_price=D("180.00"),
                       limit_price=D("179.50")))
    # gaps through the stop to below the limit: triggered but not marketable
    assert fills(engine.set_price(AAPL, D("179.00"))) == []
    state = engine.order(1, 1)
    assert state is not None and state.status == "Submitted"
    # back above the stop: still triggered, and now the limit is reachable
    [ex] = fills(engine.set_price(AAPL, D("181.00")))
    assert ex.price == D("179.50")  # resting order fills at its limit


def test_trailing_stop_by_amount_ratchets_and_triggers(engine: Engine) -> None:
    engine.place(order(1, "SELL", otype="TRAIL", aux_price=D("2.00")))
    assert engine.order(1, 1).trail_stop_price == D("183.00")  # type: ignore[union-attr]
    engine.set_price(AAPL, D("190.00"))
    assert engine.order(1, 1).trail_stop_price == D("188.00")  # type: ignore[union-attr]
    engine.set_price(AAPL, D("189.00"))  # a fall does not lower the stop
    assert engine.order(1, 1).trail_stop_price == D("188.00")  # type: ignore[union-attr]
    [ex] = fills(engine.set_price(AAPL, D("187.90")))
    assert ex.price == D("187.89")


def test_trailing_percent_and_initial_stop(engine: Engine) -> None:
    engine.place(order(1, "BUY", otype="TRAIL", trailing_percent=D("1"),
                       trail_stop_price=D("190.00")))
    assert engine.order(1, 1).trail_stop_price == D("190.00")  # type: ignore[union-attr]
    engine.set_price(AAPL, D("180.00"))  # buy trail follows the price down: 180 * 1.01
    assert engine.order(1, 1).trail_stop_price == D("181.80")  # type: ignore[union-attr]
    assert fills(engine.set_price(AAPL, D("181.79"))) == []
    assert len(fills(engine.set_price(AAPL, D("181.80")))) == 1


def test_trail_limit_uses_the_offset(engine: Engine) -> None:
    engine.place(order(1, "SELL", otype="TRAIL LIMIT", aux_price=D("1.00"),
                       limit_price_offset=D("0.50")))
    # stop 184.00, limit 183.50; gap to 183.00 triggers but the bid 182.99 is below the limit
    assert fills(engine.set_price(AAPL, D("183.00"))) == []
    [ex] = fills(engine.set_price(AAPL, D("184.00")))
    assert ex.price == D("183.50")


def test_if_touched_orders(engine: Engine) -> None:
    engine.place(order(1, "BUY", otype="MIT", aux_price=D("180.00")))
    assert fills(engine.set_price(AAPL, D("181.00"))) == []
    [ex] = fills(engine.set_price(AAPL, D("180.00")))
    assert ex.price == D("180.01")


# ---- time in force -------------------------------------------------------------------------

def test_ioc_unfilled_is_cancelled_at_once(engine: Engine) -> None:
    events = engine.place(order(1, otype="LMT", limit_price=D("150.00"), tif="IOC"))
    assert statuses(events) == ["PreSubmitted", "Submitted", "Cancelled"]
    assert engine.open_orders() == []


def test_ioc_partial_fill_cancels_the_rest(clock: FakeClock) -> None:
    engine = Engine(clock=clock, liquidity=D(30))
    events = engine.place(order(1, tif="IOC"))
    assert [f.shares for f in fills(events)] == [D(30)]
    assert statuses(events) == ["PreSubmitted", "Submitted", "Submitted", "Cancelled"]
    state = engine.order(1, 1)
    assert state is not None and (state.filled, state.remaining) == (D(30), D(70))


def test_fok_fills_all_or_nothing(clock: FakeClock) -> None:
    thin = Engine(clock=clock, liquidity=D(30))
    events = thin.place(order(1, tif="FOK"))
    assert fills(events) == [] and statuses(events)[-1] == "Cancelled"
    deep = Engine(clock=clock)
    assert statuses(deep.place(order(1, tif="FOK")))[-1] == "Filled"
    assert statuses(deep.place(order(2, otype="LMT", limit_price=D(1), tif="FOK")))[-1] == (
        "Cancelled")


def test_opg_waits_for_the_opening_auction(engine: Engine) -> None:
    events = engine.place(order(1, tif="OPG"))
    assert fills(events) == [] and statuses(events) == ["PreSubmitted", "Submitted"]
    assert fills(engine.set_price(AAPL, D("186.00"))) == []
    assert fills(engine.step()) == []
    assert len(fills(engine.run_auction("open"))) == 1
    engine.place(order(2, otype="LMT", limit_price=D("100.00"), tif="OPG"))
    assert statuses(engine.run_auction("open"), 2) == ["Cancelled"]  # not filled at the open


@pytest.mark.parametrize("gtd", ["20261118 10:00:00 US/Eastern", "20261118-15:00:00",
                                 "20261118 15:00:00 UTC"])
def test_gtd_expires_at_its_time(engine: Engine, clock: FakeClock, gtd: str) -> None:
    clock.t = T0 - 3600
    engine.place(order(1, otype="LMT", limit_price=D("100.00"), tif="GTD", good_till_date=gtd))
    clock.t = 1_795_014_000.0 - 1  # 14:59:59 UTC
    assert statuses(engine.step(), 1) == []
    clock.t = 1_795_014_000.0  # 2026-11-18 15:00:00 UTC == 10:00 US/Eastern
    assert statuses(engine.step(), 1) == ["Cancelled"]


def test_gtd_in_the_past_is_rejected(engine: Engine) -> None:
    events = engine.place(order(1, otype="LMT", limit_price=D("100.00"), tif="GTD",
                                good_till_date="20200101 00:00:00 UTC"))
    assert errors(events) == [(1, 201)]


def test_day_orders_expire_at_end_of_day_gtc_stay(engine: Engine) -> None:
    engine.place(order(1, otype="LMT", limit_price=D("100.00")))
    engine.place(order(2, otype="LMT", limit_price=D("100.00"), tif="GTC"))
    events = engine.expire_day_orders()
    assert statuses(events) == ["Cancelled"] and events[0].order.order_id == 1  # type: ignore[union-attr]
    assert [o.order_id for o in engine.open_orders()] == [2]


def test_good_after_time_holds_the_order(engine: Engine, clock: FakeClock) -> None:
    events = engine.place(order(1, good_after_time="20261118 17:00:00 UTC"))
    assert statuses(events) == ["PreSubmitted"] and fills(events) == []
    clock.t = 1_795_021_200.0  # 17:00 UTC
    events = engine.step()
    assert statuses(events, 1) == ["Submitted", "Filled"]


# ---- partial fills -------------------------------------------------------------------------

def test_thin_liquidity_fills_in_steps(clock: FakeClock) -> None:
    engine = Engine(clock=clock, liquidity=D(40))
    events = engine.place(order(1))
    assert [f.shares for f in fills(events)] == [D(40)]
    mid = engine.order(1, 1)
    assert mid is not None and (mid.status, mid.filled, mid.remaining) == (
        "Submitted", D(40), D(60))
    assert [f.shares for f in fills(engine.step())] == [D(40)]
    events = engine.step()
    assert [(f.shares, f.cum_qty) for f in fills(events)] == [(D(20), D(100))]
    assert statuses(events) == ["Filled"]


# ---- modify and cancel ---------------------------------------------------------------------

def test_modify_price_makes_the_order_marketable(engine: Engine) -> None:
    engine.place(order(1, otype="LMT", limit_price=D("180.00")))
    events = engine.place(order(1, otype="LMT", limit_price=D("186.00")))
    assert statuses(events) == ["Submitted", "Filled"]
    assert fills(events)[0].price == D("185.01")


def test_modify_quantity_and_below_filled(clock: FakeClock) -> None:
    engine = Engine(clock=clock, liquidity=D(50))
    engine.place(order(1, qty=200, otype="LMT", limit_price=D("186.00")))
    events = engine.place(order(1, qty=150, otype="LMT", limit_price=D("180.00")))
    assert statuses(events) == ["Submitted"]
    state = engine.order(1, 1)
    assert state is not None and (state.filled, state.remaining) == (D(50), D(100))
    events = engine.place(order(1, qty=40, otype="LMT", limit_price=D("180.00")))
    assert errors(events) == [(1, 201)]
    assert statuses(events) == ["Submitted"]  # unchanged, re-stated
    assert engine.order(1, 1).remaining == D(100)  # type: ignore[union-attr]
    assert statuses(engine.place(order(1, qty=50, otype="LMT", limit_price=D("180.00")))) == [
        "Filled"]


def test_modify_of_a_finished_order_is_a_duplicate_id(engine: Engine) -> None:
    engine.place(order(1))
    assert errors(engine.place(order(1))) == [(1, 103)]
    assert errors(engine.place(order(1, con_id=MSFT))) == [(1, 103)]


def test_modify_must_keep_contract_and_side(engine: Engine) -> None:
    engine.place(order(1, otype="LMT", limit_price=D("100.00")))
    assert errors(engine.place(order(1, con_id=MSFT, otype="LMT",
                                     limit_price=D("100.00")))) == [(1, 105)]


def test_cancel_open_order(engine: Engine) -> None:
    engine.place(order(1, otype="LMT", limit_price=D("100.00")))
    events = engine.cancel(1, 1)
    assert statuses(events) == ["Cancelled"] and errors(events) == [(1, 202)]
    [done] = engine.completed_orders()
    assert done.completed_status == "Cancelled by Trader"
    events = engine.cancel(1, 1)
    assert errors(events) == [(1, 161)]
    assert "not in a cancellable state" in events[0].text  # type: ignore[union-attr]


def test_cancel_unknown_and_filled(engine: Engine) -> None:
    [err] = engine.cancel(1, 42)
    assert isinstance(err, OrderError) and err.code == 10147
    assert err.text == "OrderId 42 that needs to be cancelled is not found."
    engine.place(order(1))
    assert errors(engine.cancel(1, 1)) == [(1, 161)]


def test_orders_are_per_client(engine: Engine) -> None:
    engine.place(order(1, otype="LMT", limit_price=D("100.00"), client_id=1))
    engine.place(order(1, otype="LMT", limit_price=D("101.00"), client_id=2))
    assert [o.client_id for o in engine.open_orders(2)] == [2]
    assert len(engine.open_orders()) == 2
    assert errors(engine.cancel(3, 1)) == [(1, 10147)]


def test_global_cancel(engine: Engine) -> None:
    for i in (1, 2, 3):
        engine.place(order(i, otype="LMT", limit_price=D("100.00"), client_id=i))
    engine.place(order(4))
    events = engine.global_cancel()
    assert statuses(events) == ["Cancelled"] * 3
    assert engine.open_orders() == []
    assert {o.status for o in engine.completed_orders()} == {"Filled", "Cancelled"}


def test_next_order_id_hint(engine: Engine) -> None:
    assert engine.next_order_id_hint() == 1
    engine.place(order(41, otype="LMT", limit_price=D("100.00")))
    engine.place(order(7, otype="LMT", limit_price=D("100.00"), client_id=2))
    assert engine.next_order_id_hint() == 42


def test_perm_ids_are_unique_and_stable(engine: Engine) -> None:
    engine.place(order(1, otype="LMT", limit_price=D("180.00")))
    engine.place(order(2))
    p1 = engine.order(1, 1).perm_id  # type: ignore[union-attr]
    engine.place(order(1, otype="LMT", limit_price=D("181.00")))
    assert engine.order(1, 1).perm_id == p1  # type: ignore[union-attr]
    assert engine.order(1, 2).perm_id != p1  # type: ignore[union-attr]


def test_what_if_answers_margin_without_placing(engine: Engine) -> None:
    [ev] = engine.place(order(1, what_if=True))
    assert isinstance(ev, OrderUpdated) and ev.order.margin is not None
    m = ev.order.margin
    assert m.init_margin_change == m.init_margin_after - m.init_margin_before > 0
    assert m.commission == D("1.00")
    assert engine.open_orders() == [] and engine.executions() == []
