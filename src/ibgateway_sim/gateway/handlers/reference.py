"""Reference data: reqMatchingSymbols, reqMarketRule, reqSecDefOptParams, reqSmartComponents,
reqSoftDollarTiers, reqMktDepthExchanges, reqFamilyCodes, reqUserInfo; all answered from the
engine's universe (`engine/universe.py` holds the instruments' reference data)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Final

from ibgateway_sim.engine import ContractQuery, ContractSpec, Engine
from ibgateway_sim.engine.universe import MARKET_RULES, OPTION_EXCHANGES
from ibgateway_sim.gateway.codes import NO_SECURITY, TEXT_NO_SECURITY
from ibgateway_sim.gateway.handlers.base import Handler
from ibgateway_sim.gateway.session import Session
from ibgateway_sim.wire import messages as m

SEC_TYPES: Final = ("STK", "OPT", "FUT", "CASH")
MATCHES_MAX: Final = 16  # TWS answers at most 16 descriptions
# the SMART components of the bboExchange "9c0001" tickReqParams names (bit, exchange, letter)
SMART_COMPONENTS: Final = (
    (1, "NYSE", "N"), (2, "ARCA", "P"), (3, "NASDAQ", "Q"), (4, "BATS", "Z"), (5, "IEX", "V"),
    (6, "EDGX", "K"), (7, "AMEX", "A"), (8, "CHX", "M"),
)  # fmt: skip
DEPTH_EXCHANGES: Final = (
    ("ISLAND", "STK", "NASDAQ", "Deep2", 1), ("ARCA", "STK", "ARCA", "Deep2", 1),
    ("NYSE", "STK", "NYSE", "Deep", 1), ("IEX", "STK", "", "Deep2", 1),
    ("CME", "FUT", "", "Deep", 2), ("IDEALPRO", "CASH", "", "Deep", 4),
)  # fmt: skip


class ReferenceHandlers:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @property
    def handlers(self) -> Mapping[type, Handler]:
        return {
            m.ReqMatchingSymbols: self._on_matching_symbols,
            m.ReqMarketRule: self._on_market_rule,
            m.ReqSecDefOptParams: self._on_sec_def_opt_params,
            m.ReqSmartComponents: self._on_smart_components,
            m.ReqSoftDollarTiers: self._on_soft_dollar_tiers,
            m.ReqMktDepthExchanges: self._on_depth_exchanges,
            m.ReqFamilyCodes: self._on_family_codes,
            m.ReqUserInfo: self._on_user_info,
        }

    def forget(self, session: Session) -> None:
        """Nothing is kept per connection."""

    def _universe(self) -> list[ContractSpec]:
        engine = self._engine
        return [s for t in SEC_TYPES for s in engine.match_contracts(ContractQuery(sec_type=t))]

    def _on_matching_symbols(self, s: Session, msg: m.ReqMatchingSymbols) -> None:
        """Symbols starting with the pattern (then names containing it); one description per
        underlying, with the derivative types listed on it, as TWS answers."""
        pattern = msg.pattern.strip().upper()
        universe = self._universe()
        derivatives: dict[str, set[str]] = {}
        for spec in universe:
            if spec.sec_type in ("OPT", "FUT"):
                derivatives.setdefault(spec.symbol, set()).add(spec.sec_type)
        bases = [sp for sp in universe if sp.sec_type in ("STK", "CASH")]
        hits = [sp for sp in bases if pattern and sp.symbol.startswith(pattern)]
        hits += [sp for sp in bases if pattern and sp not in hits and pattern in sp.long_name]
        s.send(
            m.SymbolSamples(
                req_id=msg.req_id,
                descriptions=tuple(
                    m.ContractDescription(
                        con_id=sp.con_id,
                        symbol=sp.symbol,
                        sec_type=sp.sec_type,
                        primary_exchange=sp.primary_exchange or sp.exchange,
                        currency=sp.currency,
                        derivative_sec_types=tuple(
                            m.DerivativeSecType(value=t)
                            for t in sorted(derivatives.get(sp.symbol, ()))
                        ),
                        description=sp.long_name,
                    )
                    for sp in hits[:MATCHES_MAX]
                ),
            )
        )

    def _on_market_rule(self, s: Session, msg: m.ReqMarketRule) -> None:
        rule = MARKET_RULES.get(msg.market_rule_id)
        increments = rule.increments if rule is not None else ()
        s.send(
            m.MarketRule(
                market_rule_id=msg.market_rule_id,
                increments=tuple(m.PriceIncrement(low_edge=lo, increment=inc)
                                 for lo, inc in increments),
            )
        )  # fmt: skip

    def _on_sec_def_opt_params(self, s: Session, msg: m.ReqSecDefOptParams) -> None:
        """One row per exchange the chain is listed on (SMART and each options exchange, as
        TWS lists them), each with every expiry and strike; then the end."""
        chain = [
            sp
            for sp in self._engine.match_contracts(
                ContractQuery(symbol=msg.underlying_symbol, sec_type="OPT")
            )
            if not msg.underlying_con_id or sp.under_con_id == msg.underlying_con_id
        ]
        if msg.fut_fop_exchange:  # a futures-options query: the simulator lists none
            chain = []
        by_class: dict[tuple[str, str, int], tuple[set[str], set[Decimal]]] = {}
        for sp in chain:
            expiries, strikes = by_class.setdefault(
                (sp.trading_class, sp.multiplier, sp.under_con_id), (set(), set())
            )
            expiries.add(sp.last_trade_date)
            strikes.add(sp.strike)
        for (trading_class, multiplier, under), (expiries, strikes) in sorted(by_class.items()):
            for exchange in OPTION_EXCHANGES:
                s.send(
                    m.SecurityDefinitionOptionParameter(
                        req_id=msg.req_id,
                        exchange=exchange,
                        underlying_con_id=under,
                        trading_class=trading_class,
                        multiplier=multiplier,
                        expirations=tuple(m.Expiration(value=e) for e in sorted(expiries)),
                        strikes=tuple(m.Strike(value=k) for k in sorted(strikes)),
                    )
                )
        s.send(m.SecurityDefinitionOptionParameterEnd(req_id=msg.req_id))

    def _on_smart_components(self, s: Session, msg: m.ReqSmartComponents) -> None:
        if msg.bbo_exchange != "9c0001":  # the only bboExchange tickReqParams hands out
            s.send_error(msg.req_id, NO_SECURITY, TEXT_NO_SECURITY)
            return
        s.send(
            m.SmartComponents(
                req_id=msg.req_id,
                components=tuple(
                    m.SmartComponent(bit_number=b, exchange=x, exchange_letter=letter)
                    for b, x, letter in SMART_COMPONENTS
                ),
            )
        )

    def _on_soft_dollar_tiers(self, s: Session, msg: m.ReqSoftDollarTiers) -> None:
        s.send(m.SoftDollarTiers(req_id=msg.req_id))  # none set up, as on a paper account

    def _on_depth_exchanges(self, s: Session, msg: m.ReqMktDepthExchanges) -> None:
        s.send(
            m.MktDepthExchanges(
                descriptions=tuple(
                    m.DepthMktDataDescription(exchange=x, sec_type=t, listing_exchange=lx,
                                              service_data_type=kind, agg_group=g)
                    for x, t, lx, kind, g in DEPTH_EXCHANGES
                )
            )
        )  # fmt: skip

    def _on_family_codes(self, s: Session, msg: m.ReqFamilyCodes) -> None:
        """Each account with an empty family code (accounts outside a family), as TWS
        answers for individual paper accounts."""
        s.send(
            m.FamilyCodes(
                codes=tuple(m.FamilyCode(account_id=a) for a in self._engine.accounts)
            )
        )

    def _on_user_info(self, s: Session, msg: m.ReqUserInfo) -> None:
        s.send(m.UserInfo(req_id=msg.req_id))  # no white-branding
