"""Paper engine, the wider order types: touched, trailing limit, pegged (REL, MIDPRICE,
PEG MID), market-to-limit, fill-or-kill and the auctions (MOC, LOC, OPG). AAPL starts at
185.00 with a 184.99 / 185.01 quote. Every test drives a fake clock; nothing waits."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from ibgateway_sim.engine import Engine
from tests.sim.engine_helpers import AAPL, FakeClock, errors, fills, order, statuses


@pytest.fixture
def engine() -> Engine:
    return Engine(clock=FakeClock(), seed=7)


def test_mit_waits_for_the_touch_then_takes_the_market(engine: Engine) -> None:
    assert fills(engine.place(order(1, otype="MIT", aux_price=D("184.00")))) == []
    assert fills(engine.set_price(AAPL, D("184.50"))) == []
    (ex,) = fills(engine.set_price(AAPL, D("184.00")))
    assert ex.price == D("184.01")  # the ask once touched: a market order


def test_lit_becomes_a_limit_at_the_touch(engine: Engine) -> None:
    engine.place(order(1, action="SELL", otype="LIT", aux_price=D("186.00"),
                       limit_price=D("186.50")))
    assert fills(engine.set_price(AAPL, D("186.00"))) == []  # touched; bid 185.99 < limit
    (ex,) = fills(engine.set_price(AAPL, D("186.60")))
    assert ex.price == D("186.50")


def test_trail_limit_keeps_its_offset_below_the_trailing_stop(engine: Engine) -> None:
    engine.place(order(1, action="SELL", otype="TRAIL LIMIT", aux_price=D("1.00"),
                       limit_price_offset=D("0.50")))
    engine.set_price(AAPL, D("190.00"))  # stop trails to 189.00, limit 188.50
    state = engine.order(1, 1)
    assert state is not None and state.trail_stop_price == D("189.00")
    assert fills(engine.set_price(AAPL, D("188.00"))) == []  # gapped through its limit
    (ex,) = fills(engine.set_price(AAPL, D("188.60")))  # back above: the resting limit
    assert ex.price == D("188.50")


def test_rel_pegs_to_the_bid_plus_offset_and_repegs(engine: Engine) -> None:
    events = engine.place(order(1, otype="REL", aux_price=D("0.01"), limit_price=D("186.00")))
    assert fills(events) == [] and statuses(events)[-1] == "Submitted"  # rests at 185.00
    assert fills(engine.set_price(AAPL, D("185.50"))) == []  # re-pegs up to 185.50
    (ex,) = fills(engine.set_price(AAPL, D("185.40")))  # trades through 185.50
    assert ex.price == D("185.50") and ex.liquidity == 1


def test_rel_is_capped_by_its_limit(engine: Engine) -> None:
    engine.place(order(1, otype="REL", aux_price=D("0.01"), limit_price=D("185.20")))
    engine.set_price(AAPL, D("190.00"))  # the peg would be 190.00; the cap holds it
    (ex,) = fills(engine.set_price(AAPL, D("185.20")))
    assert ex.price == D("185.20")


def test_midprice_fills_at_the_midpoint_within_its_cap(engine: Engine) -> None:
    (ex,) = fills(engine.place(order(1, otype="MIDPRICE")))
    assert ex.price == D("185.00")  # (184.99 + 185.01) / 2
    assert fills(engine.place(order(2, otype="MIDPRICE", limit_price=D("184.00")))) == []
    (ex2,) = fills(engine.set_price(AAPL, D("183.90")))
    assert ex2.price == D("183.90")


def test_peg_mid_rests_below_the_midpoint_by_its_offset(engine: Engine) -> None:
    assert fills(engine.place(order(1, otype="PEG MID", aux_price=D("0.05")))) == []
    (ex,) = fills(engine.set_price(AAPL, D("184.90")))  # traded through 184.95
    assert ex.price == D("184.95")


def test_mtl_rest_becomes_a_limit_at_the_first_fill_price() -> None:
    engine = Engine(clock=FakeClock(), seed=7, liquidity=D(60))
    (first,) = fills(engine.place(order(1, otype="MTL")))
    assert first.price == D("185.01") and first.shares == 60
    assert fills(engine.set_price(AAPL, D("186.00"))) == []  # ask 186.01 > limit 185.01
    (rest,) = fills(engine.set_price(AAPL, D("185.00")))
    assert rest.shares == 40 and rest.price == D("185.01")


def test_fok_fills_in_full_at_once_or_is_cancelled() -> None:
    engine = Engine(clock=FakeClock(), seed=7, liquidity=D(50))
    assert statuses(engine.place(order(1, qty=100, tif="FOK")))[-1] == "Cancelled"
    assert statuses(engine.place(order(2, qty=50, tif="FOK")))[-1] == "Filled"


def test_moc_and_loc_wait_for_the_closing_auction(engine: Engine) -> None:
    engine.place(order(1, otype="MOC"))
    engine.place(order(2, otype="LOC", limit_price=D("186.00")))
    engine.place(order(3, otype="LOC", limit_price=D("180.00")))
    assert fills(engine.step()) == [] and fills(engine.set_price(AAPL, D("185.50"))) == []
    assert fills(engine.run_auction("open")) == []  # not theirs
    events = engine.run_auction("close")
    assert [(e.order_id, e.price) for e in fills(events)] == [(1, D("185.50")),
                                                              (2, D("185.50"))]
    assert statuses(events, 3) == ["Cancelled"]  # its limit did not allow the close


def test_auction_of_one_instrument_leaves_the_others(engine: Engine) -> None:
    from tests.sim.engine_helpers import MSFT
    engine.place(order(1, otype="MOC"))
    engine.place(order(2, otype="MOC", con_id=MSFT))
    assert [e.order_id for e in fills(engine.run_auction("close", AAPL))] == [1]
    msft = engine.order(1, 2)
    assert msft is not None and msft.status == "Submitted"


@pytest.mark.parametrize(("otype", "tif", "extra"), [
    ("MOC", "GTC", {}),
    ("LOC", "IOC", {"limit_price": D("185.00")}),
    ("STP", "OPG", {"aux_price": D("180.00")}),
    ("MOC", "OPG", {}),
])
def test_auction_tifs_ib_refuses(engine: Engine, otype: str, tif: str,
                                 extra: dict[str, D]) -> None:
    events = engine.place(order(1, otype=otype, tif=tif, **extra))
    assert errors(events) == [(1, 201)]
    assert statuses(events)[-1] == "Inactive"


def test_pegged_prices_must_sit_on_the_tick_grid(engine: Engine) -> None:
    assert errors(engine.place(order(1, otype="REL", aux_price=D("0.005")))) == [(1, 110)]
    assert statuses(engine.place(order(2, otype="REL", aux_price=D(0))))[-1] == "Submitted"
