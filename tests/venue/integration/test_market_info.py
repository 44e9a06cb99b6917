"""Reference data, options and PnL through the venue, over TCP on the simulator."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from horizon.core import OrderAction, OrderStatus
from horizon.errors import InvalidRequest
from horizon.venues.ibkr import Ibkr
from ibgateway_sim import GatewaySimulator

CALL = "OPT:AAPL:20260619:180:C"


def test_contract_details_carry_the_isin_hours_and_rules(ibkr: Ibkr) -> None:
    info = ibkr.contract_details("AAPL")
    assert info.isin == "US0378331005" and info.sec_ids["ISIN"] == "US0378331005"
    assert info.market_id == "AAPL" and info.con_id == 265598 and info.min_tick == Decimal("0.01")
    assert info.market_rule_ids and len(info.market_rule_ids) == len(info.valid_exchanges)
    assert info.industry and info.time_zone
    option = ibkr.contract_details(CALL)
    assert option.under_con_id == 265598 and option.multiplier == "100"


def test_search_finds_symbols_by_prefix(ibkr: Ibkr) -> None:
    found = ibkr.search("AAP")
    assert "AAPL" in [m.market_id for m in found]
    aapl = next(m for m in found if m.market_id == "AAPL")
    assert aapl.sec_type == "STK" and "OPT" in aapl.derivative_types
    with pytest.raises(InvalidRequest):
        ibkr.search("  ")


def test_the_option_chain_lists_expiries_and_strikes(ibkr: Ibkr) -> None:
    chains = ibkr.option_chain("AAPL")
    assert chains, "no chain"
    smart = next(c for c in chains if c.exchange == "SMART")
    assert date(2026, 6, 19) in smart.expirations and Decimal(180) in smart.strikes
    assert smart.multiplier == "100" and smart.expirations == tuple(sorted(smart.expirations))


def test_ibs_option_calculators_round_trip(ibkr: Ibkr) -> None:
    [smart] = [c for c in ibkr.option_chain("AAPL") if c.exchange == "SMART"]
    expiry = next(e for e in smart.expirations if e > date.today())  # a live one
    call = f"OPT:AAPL:{expiry:%Y%m%d}:180:C"
    priced = ibkr.option_price(call, "0.30", "190")
    assert priced.option_price is not None and priced.option_price > 10  # in the money
    assert priced.delta is not None and Decimal("0.5") < priced.delta < 1
    implied = ibkr.implied_volatility(call, str(priced.option_price), "190")
    assert implied.implied_volatility is not None
    assert abs(implied.implied_volatility - Decimal("0.30")) < Decimal("0.01")
    with pytest.raises(InvalidRequest):
        ibkr.option_price("AAPL", "0.3", "190")  # not an option


def test_the_greeks_of_an_option_come_from_its_market_data(
    gateway: GatewaySimulator, ibkr: Ibkr
) -> None:
    """The model computation (tick 13) the simulator streams on reqMktData, read by the venue
    over TCP, agrees with IB's option calculator at the same volatility and underlying."""
    [smart] = [c for c in ibkr.option_chain("AAPL") if c.exchange == "SMART"]
    expiry = next(e for e in smart.expirations if e > date.today())  # a live one
    call = f"OPT:AAPL:{expiry:%Y%m%d}:180:C"
    under = ibkr.contract_details("AAPL").con_id
    spot = gateway.engine.quote(under).last  # the market stands still
    greeks = ibkr.greeks(call)
    assert greeks.market_id == call and greeks.underlying_price == spot
    assert greeks.implied_volatility is not None and greeks.implied_volatility > 0
    assert greeks.delta is not None and Decimal("0.5") < greeks.delta < 1  # in the money
    assert greeks.gamma is not None and greeks.gamma > 0
    assert greeks.vega is not None and greeks.vega > 0
    assert greeks.theta is not None and greeks.theta < 0
    assert greeks.option_price is not None and greeks.option_price > spot - 180
    priced = ibkr.option_price(call, str(greeks.implied_volatility), str(spot))
    assert priced.option_price is not None and priced.delta is not None
    assert abs(priced.option_price - greeks.option_price) < Decimal("0.01")
    assert abs(priced.delta - greeks.delta) < Decimal("0.001")
    with pytest.raises(InvalidRequest):
        ibkr.greeks("AAPL")  # not an option


def test_pnl_of_the_account_and_a_position_follows_the_fills(gateway: GatewaySimulator) -> None:
    gateway.set_price("AAPL", Decimal("190.00"))
    with Ibkr(port=gateway.port, paper=True, client_id=5, commission_grace=0.2) as venue:
        oid = venue.submit(OrderAction(market_id="AAPL", side="buy", quantity=10))
        venue.wait_for_status(oid, OrderStatus.FILLED, timeout=5)
        [fill] = venue.wait_fills(1, timeout=5)
        gateway.set_price("AAPL", fill.price + 2)
        position = venue.pnl("AAPL")
        assert position.position == Decimal(10) and position.market_id == "AAPL"
        assert position.unrealized is not None
        account = venue.pnl()
        assert account.daily is not None and account.unrealized is not None
        assert venue.pnl() == venue.pnl()  # one subscription, reused (ib_async asserts twice)
