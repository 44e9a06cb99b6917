"""Option calculators: calculateImpliedVolatility and calculateOptionPrice answer one
tickOptionComputation (tick types 53 and 54, as TWS does), Black-Scholes on the simulator's
own underlying price (or the one the request names), at the gateway's rate and dividend
yield. exerciseOptions exercises or lapses a long option position at once (the engine's
`exercise.py`): its executions (orderId 0) and commission reports go to the requesting
client, positions and portfolio follow as after any fill; a refusal is error 322 on the
request's id.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal

from ibgateway_sim.engine import ContractQuery, ContractSpec, Engine
from ibgateway_sim.engine.pricing import implied_vol, option_values, years_to_expiry
from ibgateway_sim.gateway.codes import NO_SECURITY, TEXT_NO_SECURITY
from ibgateway_sim.gateway.handlers.base import Handler, ignore
from ibgateway_sim.gateway.handlers.orders import Dispatcher
from ibgateway_sim.gateway.mapping import contract_query
from ibgateway_sim.gateway.option_ticks import (
    CUST_OPTION_COMPUTATION,
    CUST_OPTION_PRICE,
    option_computation,
)
from ibgateway_sim.gateway.session import Session
from ibgateway_sim.wire import messages as m


class OptionHandlers:
    def __init__(
        self,
        engine: Engine,
        *,
        dispatcher: Dispatcher,
        clock: Callable[[], float],
        rate: Decimal,
        dividend_yield: Decimal,
    ) -> None:
        self._engine = engine
        self._dispatcher = dispatcher
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
        return years_to_expiry(spec.last_trade_date, self._clock())

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
        values = option_values(
            spot=spot, strike=float(spec.strike), years=years, rate=self._rate,
            dividend=self._dividend, right=spec.right, vol=vol,
        )  # fmt: skip
        s.send(option_computation(req_id, tick_type, values))

    def _on_exercise(self, s: Session, msg: m.ExerciseOptions) -> None:
        assert s.client_id is not None  # requests are handled only after startApi
        c = msg.contract
        query = ContractQuery(
            con_id=c.con_id, symbol=c.symbol, sec_type=c.sec_type,
            last_trade_date=c.last_trade_date, strike=c.strike or None, right=c.right,
            multiplier=c.multiplier, exchange=c.exchange, currency=c.currency,
            local_symbol=c.local_symbol, trading_class=c.trading_class,
        )  # fmt: skip
        specs = self._engine.match_contracts(query)
        if len(specs) != 1:
            s.send_error(msg.req_id, NO_SECURITY, TEXT_NO_SECURITY)
            return
        self._dispatcher.dispatch(
            self._engine.exercise(
                client_id=s.client_id, req_id=msg.req_id, account=msg.account,
                con_id=specs[0].con_id, action=msg.exercise_action,
                quantity=msg.exercise_quantity, override=msg.override != 0,
            )
        )  # fmt: skip
