"""Option computations on the wire: the one mapping from `pricing.OptionValues` to a
tickOptionComputation row, shared by reqMktData's greeks (tick types 10-13, delayed 80-83)
and the calculators (53, 54), so the two agree to the digit.

Layout (ibapi decoder.py `processTickOptionComputationMsg`, server version >= 156
MIN_SERVER_VER_PRICE_BASED_VOLATILITY: no version field, tickAttrib after the tick type,
then impliedVol, delta, optPrice, pvDividend, gamma, vega, theta, undPrice). "Not computed"
is -1 for the volatility and the prices and -2 for the greeks (the same decoder's checks).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

from ibgateway_sim.engine import ContractSpec, Quote
from ibgateway_sim.engine.pricing import OptionValues, implied_vol, option_values, to_decimal
from ibgateway_sim.wire import messages as m

BID_OPTION, ASK_OPTION, LAST_OPTION, MODEL_OPTION = 10, 11, 12, 13  # ibapi TickTypeEnum
DELAYED_OPTION: Final = {10: 80, 11: 81, 12: 82, 13: 83}  # DELAYED_BID_OPTION ...
CUST_OPTION_COMPUTATION: Final = 53  # the implied-volatility calculator's answer
CUST_OPTION_PRICE: Final = 54  # ... and the option-price calculator's
PRICE_BASED: Final = 1  # tickAttrib: 0 return-based, 1 price-based
NOT_COMPUTED: Final = Decimal(-1)
GREEK_NOT_COMPUTED: Final = Decimal(-2)


def option_computation(req_id: int, tick_type: int, v: OptionValues) -> m.TickOptionComputation:
    g = v.greeks
    if v.implied_vol is None or g is None:
        return m.TickOptionComputation(
            req_id=req_id, tick_type=tick_type, tick_attrib=PRICE_BASED,
            implied_vol=NOT_COMPUTED, delta=GREEK_NOT_COMPUTED, opt_price=NOT_COMPUTED,
            pv_dividend=NOT_COMPUTED, gamma=GREEK_NOT_COMPUTED, vega=GREEK_NOT_COMPUTED,
            theta=GREEK_NOT_COMPUTED, und_price=to_decimal(v.und_price, 4),
        )  # fmt: skip
    return m.TickOptionComputation(
        req_id=req_id, tick_type=tick_type, tick_attrib=PRICE_BASED,
        implied_vol=to_decimal(v.implied_vol), delta=to_decimal(g.delta),
        opt_price=to_decimal(g.price, 4), pv_dividend=to_decimal(v.pv_dividend, 4),
        gamma=to_decimal(g.gamma), vega=to_decimal(g.vega), theta=to_decimal(g.theta),
        und_price=to_decimal(v.und_price, 4),
    )  # fmt: skip


def quote_computations(
    spec: ContractSpec, quote: Quote, spot: Decimal, years: float, rate: float, dividend: float
) -> dict[int, OptionValues]:
    """reqMktData's computations for an option: at the volatility implied by its bid, its
    ask and its last price, and the model's (the volatility implied by the mid)."""
    strike = float(spec.strike)
    prices = {
        BID_OPTION: quote.bid,
        ASK_OPTION: quote.ask,
        LAST_OPTION: quote.last,
        MODEL_OPTION: (quote.bid + quote.ask) / 2,
    }
    out = {}
    for tick_type, price in prices.items():
        vol = (
            implied_vol(
                price=float(price), spot=float(spot), strike=strike, years=years, rate=rate,
                dividend=dividend, right=spec.right,
            )
            if price > 0
            else None
        )  # fmt: skip
        out[tick_type] = option_values(
            spot=float(spot), strike=strike, years=years, rate=rate, dividend=dividend,
            right=spec.right, vol=vol,
        )  # fmt: skip
    return out
