"""Reference data: IB's contract details, symbol matches, option chains, option computations
and PnL read into Horizon's terms (Decimal, dates, tz-aware UTC). Pure; no I/O."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from ib_async import ContractDescription, ContractDetails, OptionChain, OptionComputation

from horizon.venues.ibkr.mapping.accounts import UNSET_DOUBLE, decimal_from_float
from horizon.venues.ibkr.mapping.symbology import market_id_of

__all__ = [
    "ContractInfo",
    "Greeks",
    "OptionChainInfo",
    "PnLFigures",
    "SymbolMatch",
    "chain_of",
    "contract_info_of",
    "greeks_of",
    "match_of",
    "pnl_figure",
]


def _number(value: float | None) -> Decimal | None:
    """None for IB's "no figure" (NaN, UNSET max double, and the -1 / -2 of option ticks)."""
    if value is None:
        return None
    number = float(value)
    if math.isnan(number) or math.isinf(number) or abs(number) >= UNSET_DOUBLE:
        return None
    return decimal_from_float(number)


@dataclass(frozen=True, slots=True, kw_only=True)
class ContractInfo:
    """What IB says about one instrument (reqContractDetails)."""

    market_id: str
    con_id: int
    symbol: str
    sec_type: str
    currency: str
    exchange: str
    primary_exchange: str
    long_name: str
    min_tick: Decimal | None
    multiplier: str
    time_zone: str
    trading_hours: str
    liquid_hours: str
    market_rule_ids: tuple[int, ...]
    valid_exchanges: tuple[str, ...]
    order_types: tuple[str, ...]
    industry: str
    category: str
    subcategory: str
    isin: str | None
    sec_ids: dict[str, str]
    under_con_id: int | None
    stock_type: str


def contract_info_of(details: ContractDetails, market_id: str | None = None) -> ContractInfo:
    c = details.contract
    if c is None:
        raise ValueError("contract details without a contract")
    sec_ids = {t.tag: t.value for t in details.secIdList or []}
    rules = tuple(int(r) for r in (details.marketRuleIds or "").split(",") if r.strip().isdigit())
    return ContractInfo(
        market_id=market_id or market_id_of(c),
        con_id=c.conId,
        symbol=c.symbol,
        sec_type=c.secType,
        currency=c.currency,
        exchange=c.exchange,
        primary_exchange=c.primaryExchange,
        long_name=details.longName,
        min_tick=_number(details.minTick) if details.minTick else None,
        multiplier=c.multiplier or "",
        time_zone=details.timeZoneId,
        trading_hours=details.tradingHours,
        liquid_hours=details.liquidHours,
        market_rule_ids=rules,
        valid_exchanges=tuple(e for e in (details.validExchanges or "").split(",") if e),
        order_types=tuple(t for t in (details.orderTypes or "").split(",") if t),
        industry=details.industry,
        category=details.category,
        subcategory=details.subcategory,
        isin=sec_ids.get("ISIN"),
        sec_ids=sec_ids,
        under_con_id=details.underConId or None,
        stock_type=details.stockType,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class SymbolMatch:
    """One answer of a symbol search (reqMatchingSymbols)."""

    market_id: str
    con_id: int
    symbol: str
    sec_type: str
    currency: str
    primary_exchange: str
    description: str
    derivative_types: tuple[str, ...]


def match_of(found: ContractDescription) -> SymbolMatch:
    c = found.contract
    if c is None:
        raise ValueError("a contract description without a contract")
    return SymbolMatch(
        market_id=market_id_of(c),
        con_id=c.conId,
        symbol=c.symbol,
        sec_type=c.secType,
        currency=c.currency,
        primary_exchange=c.primaryExchange,
        description=c.description,
        derivative_types=tuple(found.derivativeSecTypes or ()),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class OptionChainInfo:
    """The option series of an underlying on one exchange (reqSecDefOptParams)."""

    underlying: str
    exchange: str
    trading_class: str
    multiplier: str
    expirations: tuple[date, ...]
    strikes: tuple[Decimal, ...]


def chain_of(chain: OptionChain, underlying: str) -> OptionChainInfo:
    expirations = sorted(
        date(int(e[:4]), int(e[4:6]), int(e[6:8])) for e in chain.expirations if len(e) >= 8
    )
    strikes = sorted({d for s in chain.strikes if (d := _number(s)) is not None and d > 0})
    return OptionChainInfo(
        underlying=underlying,
        exchange=chain.exchange,
        trading_class=chain.tradingClass,
        multiplier=chain.multiplier,
        expirations=tuple(expirations),
        strikes=tuple(strikes),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Greeks:
    """An option's model values: implied volatility (0.25 = 25 %), delta, gamma, vega,
    theta, the option's model price and the underlying's price; None where IB gave none."""

    market_id: str
    implied_volatility: Decimal | None
    delta: Decimal | None
    gamma: Decimal | None
    vega: Decimal | None
    theta: Decimal | None
    option_price: Decimal | None
    underlying_price: Decimal | None


def _greek(value: float | None, *, low: float | None = None) -> Decimal | None:
    """IB marks a missing greek with -2 (and a missing price with -1): None then."""
    d = _number(value)
    if d is None or (low is not None and d < Decimal(str(low))):
        return None
    if d in (Decimal(-1), Decimal(-2)) and low is None:
        return None
    return d


def greeks_of(comp: OptionComputation, market_id: str) -> Greeks:
    return Greeks(
        market_id=market_id,
        implied_volatility=_greek(comp.impliedVol, low=0),
        delta=_greek(comp.delta, low=-1),
        gamma=_greek(comp.gamma),
        vega=_greek(comp.vega),
        theta=_greek(comp.theta),
        option_price=_greek(comp.optPrice, low=0),
        underlying_price=_greek(comp.undPrice, low=0),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class PnLFigures:
    """Profit and loss of an account (or one position of it), in the account's currency."""

    account: str
    market_id: str | None
    daily: Decimal | None
    unrealized: Decimal | None
    realized: Decimal | None
    position: Decimal | None = None
    value: Decimal | None = None


def pnl_figure(value: float | None) -> Decimal | None:
    return _number(value)
