"""Option calculators: calculateImpliedVolatility and calculateOptionPrice answer one
tickOptionComputation (tick types 53 and 54, as TWS does), Black-Scholes on the simulator's
own underlying price (or the one the request names), at the gateway's rate and dividend
yield; exerciseOptions is refused (the engine models no exercise or assignment).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Final

from ibgateway_sim.engine import ContractSpec, Engine
from ibgateway_sim.engine.pricing import black_scholes, implied_vol, to_decimal
from ibgateway_sim.gateway.codes import NO_SECURITY, TEXT_NO_SECURITY
from ibgateway_sim.gateway.handlers.base import Handler, ignore
from ibgateway_sim.gateway.mapping import contract_query
from ibgateway_sim.gateway.session import Session
from ibgateway_sim.gateway.validation import VALIDATION, validation_text
from ibgateway_sim.wire import messages as m

CUST_OPTION_COMPUTATION: Final = 53  # the implied-volatility calculator's answer
CUST_OPTION_PRICE: Final = 54  # ... and the option-price calculator's (ibapi TickTypeEnum)
PRICE_BASED: Final = 1
NOT_COMPUTED: Final = Decimal(-1)
EXERCISE_NOT_MODELLED: Final = "Exercise and lapse of options are not modelled here"


class OptionHandlers:
    def __init__(
        self,
        engine: Engine,
        *,
        clock: Callable[[], float],
        rate: Decimal,
        dividend_yield: Decimal,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._rate = float(rate)
        self._dividend = float(dividend_yield)

    @property
    def handlers(self) -> Mapping[type, Handler]:
        return {
            m.ReqCalcImpliedVolat: self._on_implied_vol,
            m.ReqCalcOptionPrice: self._on_option_price,
            m.CancelCalcImpliedVolat: ignore,  # answered at once, nothing left to cancel
            m.CancelCalcOptionPrice: ignore,
            m.ExerciseOptions: self._on_exercise,
        }

    def forget(self, session: Session) -> None:
        """Nothing is kept per connection."""

    def _option(self, s: Session, req_id: int, contract: m.RequestContract) -> ContractSpec | None:
        specs = [sp for sp in self._engine.match_contracts(contract_query(contract))
                 if sp.sec_type == "OPT"]  # fmt: skip
        if len(specs) != 1:
            s.send_error(req_id, NO_SECURITY, TEXT_NO_SECURITY)
            return None
        return specs[0]

    def _years(self, spec: ContractSpec) -> float:
        expiry = dt.datetime.strptime(spec.last_trade_date[:8], "%Y%m%d").replace(
            hour=21, tzinfo=dt.UTC
        )  # 16:00 New York, the options' close
        seconds = expiry.timestamp() - self._clock()
        return max(seconds, 3600.0) / (365.0 * 86400.0)

    def _spot(self, spec: ContractSpec, given: Decimal | None) -> float:
        if given is not None and given > 0:
            return float(given)
        return float(self._engine.quote(spec.under_con_id).last)

    def _on_implied_vol(self, s: Session, msg: m.ReqCalcImpliedVolat) -> None:
        spec = self._option(s, msg.req_id, msg.contract)
        if spec is None:
            return
        spot, years = self._spot(spec, msg.under_price), self._years(spec)
        price = float(msg.option_price or 0)
        vol = implied_vol(
            price=price, spot=spot, strike=float(spec.strike), years=years, rate=self._rate,
            dividend=self._dividend, right=spec.right,
        )  # fmt: skip
        self._send(s, msg.req_id, CUST_OPTION_COMPUTATION, spec, spot, years, vol)

    def _on_option_price(self, s: Session, msg: m.ReqCalcOptionPrice) -> None:
        spec = self._option(s, msg.req_id, msg.contract)
        if spec is None:
            return
        spot, years = self._spot(spec, msg.under_price), self._years(spec)
        vol = float(msg.volatility) if msg.volatility and msg.volatility > 0 else None
        self._send(s, msg.req_id, CUST_OPTION_PRICE, spec, spot, years, vol)

    def _send(
        self, s: Session, req_id: int, tick_type: int, spec: ContractSpec, spot: float,
        years: float, vol: float | None,
    ) -> None:  # fmt: skip
        if vol is None:  # TWS's "not computed" values
            s.send(
                m.TickOptionComputation(
                    req_id=req_id, tick_type=tick_type, tick_attrib=PRICE_BASED,
                    implied_vol=NOT_COMPUTED, delta=Decimal(-2), opt_price=NOT_COMPUTED,
                    pv_dividend=NOT_COMPUTED, gamma=Decimal(-2), vega=Decimal(-2),
                    theta=Decimal(-2), und_price=to_decimal(spot, 4),
                )
            )  # fmt: skip
            return
        g = black_scholes(
            spot=spot, strike=float(spec.strike), years=years, vol=vol, rate=self._rate,
            dividend=self._dividend, right=spec.right,
        )  # fmt: skip
        pv_dividend = spot * (1.0 - pow(2.718281828459045, -self._dividend * years))
        s.send(
            m.TickOptionComputation(
                req_id=req_id, tick_type=tick_type, tick_attrib=PRICE_BASED,
                implied_vol=to_decimal(vol), delta=to_decimal(g.delta),
                opt_price=to_decimal(g.price, 4), pv_dividend=to_decimal(pv_dividend, 4),
                gamma=to_decimal(g.gamma), vega=to_decimal(g.vega), theta=to_decimal(g.theta),
                und_price=to_decimal(spot, 4),
            )
        )  # fmt: skip

    def _on_exercise(self, s: Session, msg: m.ExerciseOptions) -> None:
        s.send_error(msg.req_id, VALIDATION, validation_text(EXERCISE_NOT_MODELLED))
