"""The built-in instrument universe and contract matching.

Stocks carry their real IB conIds (AAPL 265598, MSFT 272093, SPY 756733, IBM 8314, ...).
Options, futures and FX pairs get conIds that look like IB's but are made up; clients must
not hard-code them (they qualify contracts first, as with a real gateway).

Expiries: the option chain and the futures ladder run from a fixed past date through about a
year after the reference date, so the spec's examples (OPT AAPL 20260619 180 C, FUT ES 202503)
exist next to live contracts. A real gateway needs includeExpired for past expiries; this
simulator is lenient on purpose.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
from collections.abc import Iterable, Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Final

from .model import ContractQuery, ContractSpec

REFERENCE_DATE = dt.date(2026, 11, 25)
"""Fixed so the universe (and option theoretical prices) never depend on the wall clock."""

_STOCKS: tuple[tuple[str, int, str, str, str], ...] = (
    # symbol, conId, primary exchange, long name, initial price
    ("AAPL", 265598, "NASDAQ", "APPLE INC", "185.00"),
    ("MSFT", 272093, "NASDAQ", "MICROSOFT CORP", "415.00"),
    ("SPY", 756733, "ARCA", "SPDR S&P 500 ETF TRUST", "590.00"),
    ("QQQ", 320227571, "NASDAQ", "INVESCO QQQ TRUST SERIES 1", "510.00"),
    ("TSLA", 76792991, "NASDAQ", "TESLA INC", "250.00"),
    ("AMZN", 3691937, "NASDAQ", "AMAZON.COM INC", "200.00"),
    ("NVDA", 4815747, "NASDAQ", "NVIDIA CORP", "140.00"),
    ("IBM", 8314, "NYSE", "INTL BUSINESS MACHINES CORP", "225.00"),
    ("GOOGL", 208813719, "NASDAQ", "ALPHABET INC-CL A", "170.00"),
    ("META", 107113386, "NASDAQ", "META PLATFORMS INC-CLASS A", "580.00"),
    ("JPM", 1520593, "NYSE", "JPMORGAN CHASE & CO", "240.00"),
    ("IWM", 9579970, "ARCA", "ISHARES RUSSELL 2000 ETF", "225.00"),
)

_FUTURES: tuple[tuple[str, str, str, str, int], ...] = (
    # symbol, multiplier, long name, initial price (front month), conId base
    ("ES", "50", "E-mini S&P 500", "6000.00", 637533000),
    ("NQ", "20", "E-mini Nasdaq-100", "21000.00", 637534000),
)
_FUT_MONTH_CODES = {3: "H", 6: "M", 9: "U", 12: "Z"}

# Exchange (CME SPAN outright) margin per contract, (initial, maintenance) in USD: the order of
# magnitude CME publishes for the E-minis; a future not listed here margins at a fraction of
# its notional (ledger.py).
FUTURE_MARGINS: Final[Mapping[str, tuple[Decimal, Decimal]]] = MappingProxyType(
    {
        "ES": (Decimal("16500"), Decimal("15000")),
        "NQ": (Decimal("24000"), Decimal("22000")),
    }
)

_FX: tuple[tuple[str, str, int, str, str], ...] = (
    # base, quote, conId, long name, initial price
    ("EUR", "USD", 12087792, "European Monetary Union Euro", "1.08500"),
    ("GBP", "USD", 12087797, "British pound", "1.27000"),
    ("USD", "JPY", 15016059, "US dollar", "150.000"),
    ("AUD", "USD", 14433401, "Australian dollar", "0.65500"),
    ("USD", "CHF", 12087820, "US dollar", "0.88000"),
    ("USD", "CAD", 15016062, "US dollar", "1.36000"),
)

_AAPL_OPTION_EXPIRIES = ((2026, 6), (2026, 12), (2027, 1), (2027, 3), (2027, 6))
_AAPL_STRIKES = tuple(range(150, 225, 5))
_OPTION_CON_ID_BASE = 700_000_000


def third_friday(year: int, month: int) -> dt.date:
    """Standard monthly expiry (options) and CME equity-index futures expiry."""
    weeks = calendar.monthcalendar(year, month)
    fridays = [w[calendar.FRIDAY] for w in weeks if w[calendar.FRIDAY]]
    return dt.date(year, month, fridays[2])


def occ_symbol(root: str, expiry: dt.date, right: str, strike: Decimal) -> str:
    """OCC option symbol: root padded to 6, YYMMDD, C/P, strike * 1000 in 8 digits."""
    return f"{root:<6}{expiry:%y%m%d}{right}{int(strike * 1000):08d}"


def _option_price(spot: Decimal, strike: Decimal, expiry: dt.date, right: str) -> Decimal:
    """Black-Scholes at 25% vol, zero rates, as an initial theoretical price on a 0.05 grid.
    Floats are fine here: the result is rounded and becomes a Decimal through a string."""
    s, k = float(spot), float(strike)
    t = max((expiry - REFERENCE_DATE).days, 30) / 365.0
    vol = 0.25
    d1 = (math.log(s / k) + 0.5 * vol * vol * t) / (vol * math.sqrt(t))
    d2 = d1 - vol * math.sqrt(t)

    def normal_cdf(x: float) -> float:
        return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))

    call = s * normal_cdf(d1) - k * normal_cdf(d2)
    price = call if right == "C" else call - s + k
    return max(Decimal(f"{round(price * 20) / 20:.2f}"), Decimal("0.05"))


def _stocks() -> list[ContractSpec]:
    return [
        ContractSpec(
            con_id=con_id,
            symbol=sym,
            sec_type="STK",
            exchange="SMART",
            primary_exchange=primary,
            currency="USD",
            local_symbol=sym,
            trading_class="NMS" if primary == "NASDAQ" else sym,
            min_tick=Decimal("0.01"),
            multiplier="",
            last_trade_date="",
            strike=Decimal(0),
            right="",
            long_name=name,
            time_zone_id="US/Eastern",
            initial_price=Decimal(price),
        )
        for sym, con_id, primary, name, price in _STOCKS
    ]


def _aapl_options() -> list[ContractSpec]:
    spot = Decimal(_STOCKS[0][4])
    specs = []
    con_id = _OPTION_CON_ID_BASE
    for year, month in _AAPL_OPTION_EXPIRIES:
        expiry = third_friday(year, month)
        for strike_int in _AAPL_STRIKES:
            strike = Decimal(strike_int)
            for right in ("C", "P"):
                con_id += 1
                specs.append(
                    ContractSpec(
                        con_id=con_id,
                        symbol="AAPL",
                        sec_type="OPT",
                        exchange="SMART",
                        primary_exchange="",
                        currency="USD",
                        local_symbol=occ_symbol("AAPL", expiry, right, strike),
                        trading_class="AAPL",
                        min_tick=Decimal("0.01"),
                        multiplier="100",
                        last_trade_date=f"{expiry:%Y%m%d}",
                        strike=strike,
                        right=right,
                        long_name="APPLE INC",
                        time_zone_id="US/Eastern",
                        initial_price=_option_price(spot, strike, expiry, right),
                        under_con_id=265598,
                        under_symbol="AAPL",
                    )
                )
    return specs


def _futures() -> list[ContractSpec]:
    specs = []
    for sym, mult, name, price, base in _FUTURES:
        months = [(y, m) for y in (2025, 2026, 2027) for m in (3, 6, 9, 12)]
        for i, (year, month) in enumerate(months):
            expiry = third_friday(year, month)
            # a small contango per quarter, on the 0.25 grid
            initial = Decimal(price) + Decimal(i - 7) * Decimal("12.50")
            specs.append(
                ContractSpec(
                    con_id=base + i,
                    symbol=sym,
                    sec_type="FUT",
                    exchange="CME",
                    primary_exchange="",
                    currency="USD",
                    local_symbol=f"{sym}{_FUT_MONTH_CODES[month]}{year % 10}",
                    trading_class=sym,
                    min_tick=Decimal("0.25"),
                    multiplier=mult,
                    last_trade_date=f"{expiry:%Y%m%d}",
                    strike=Decimal(0),
                    right="",
                    long_name=name,
                    time_zone_id="US/Central",
                    initial_price=initial,
                )
            )
    return specs


def _fx() -> list[ContractSpec]:
    return [
        ContractSpec(
            con_id=con_id,
            symbol=base,
            sec_type="CASH",
            exchange="IDEALPRO",
            primary_exchange="",
            currency=quote,
            local_symbol=f"{base}.{quote}",
            trading_class=f"{base}.{quote}",
            min_tick=Decimal("0.005") if quote == "JPY" else Decimal("0.00005"),
            multiplier="",
            last_trade_date="",
            strike=Decimal(0),
            right="",
            long_name=name,
            time_zone_id="US/Eastern",
            initial_price=Decimal(price),
        )
        for base, quote, con_id, name, price in _FX
    ]


def builtin_universe() -> list[ContractSpec]:
    """Every built-in instrument; a fresh list each call."""
    return [*_stocks(), *_aapl_options(), *_futures(), *_fx()]


# --- matching -------------------------------------------------------------------------------

_RIGHTS = {"C": "C", "CALL": "C", "P": "P", "PUT": "P"}
_UNSET_RIGHTS = {"", "?", "0"}
_EXCHANGE_ALIASES = {"GLOBEX": "CME"}
_SMART_TYPES = {"STK", "OPT"}
_STOCK_VENUES = {
    "ISLAND": "NASDAQ",
    "NASDAQ": "NASDAQ",
    "NYSE": "NYSE",
    "ARCA": "ARCA",
    "BATS": "*",
    "IEX": "*",
    "BYX": "*",
    "EDGX": "*",
}


def _norm(s: str) -> str:
    return s.strip().upper()


def _exchange_matches(query: str, spec: ContractSpec) -> bool:
    q = _EXCHANGE_ALIASES.get(_norm(query), _norm(query))
    if q in ("", spec.exchange, spec.primary_exchange):
        return True
    if q == "SMART":
        return spec.sec_type in _SMART_TYPES
    if spec.sec_type == "STK":  # a direct-routed stock order names a venue
        venue = _STOCK_VENUES.get(q)
        return venue in ("*", spec.primary_exchange)
    if spec.sec_type == "OPT":  # listed on every US options exchange
        return q in {"CBOE", "AMEX", "ISE", "PHLX", "BOX", "PSE", "BATS", "MIAX", "NASDAQOM"}
    return False


def _multiplier_matches(query: str, spec: ContractSpec) -> bool:
    q = query.strip()
    if not q:
        return True
    try:
        return Decimal(q) == spec.multiplier_value
    except ArithmeticError:
        return q == spec.multiplier


def matches(query: ContractQuery, spec: ContractSpec) -> bool:
    """True when `spec` agrees with every field the query gives."""
    if query.con_id and query.con_id != spec.con_id:
        return False
    if query.symbol and _norm(query.symbol) != spec.symbol:
        return False
    if query.sec_type and _norm(query.sec_type) != spec.sec_type:
        return False
    if query.last_trade_date:
        q = query.last_trade_date.strip().split(" ")[0]
        if not spec.last_trade_date.startswith(q) or len(q) not in (6, 8):
            return False
    # ib_async sends strike 0.0 for "unset"; no listed strike is 0
    if query.strike is not None and query.strike not in (0, spec.strike):
        return False
    right = _norm(query.right)
    if right not in _UNSET_RIGHTS and _RIGHTS.get(right, right) != spec.right:
        return False
    if not _multiplier_matches(query.multiplier, spec):
        return False
    if query.exchange and not _exchange_matches(query.exchange, spec):
        return False
    if query.primary_exchange and _norm(query.primary_exchange) not in (
        spec.primary_exchange,
        "ISLAND" if spec.primary_exchange == "NASDAQ" else "-",
    ):
        return False
    if query.currency and _norm(query.currency) != spec.currency:
        return False
    if query.local_symbol and "".join(query.local_symbol.split()).upper() != "".join(
        spec.local_symbol.split()
    ):
        return False
    return not (query.trading_class and _norm(query.trading_class) != spec.trading_class)


def match_all(query: ContractQuery, specs: Iterable[ContractSpec]) -> list[ContractSpec]:
    """Every spec the query matches. A query that names nothing matches nothing (a real
    gateway answers 321 to an empty contract; we answer "unknown")."""
    if query == ContractQuery() or query == ContractQuery(strike=Decimal(0)):
        return []
    return [s for s in specs if matches(query, s)]
