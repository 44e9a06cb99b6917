"""The built-in instrument universe and contract matching.

Stocks carry their real IB conIds (AAPL 265598, MSFT 272093, SPY 756733, IBM 8314, ...).
Options, futures and FX pairs get conIds that look like IB's but are made up; clients must
not hard-code them (they qualify contracts first, as with a real gateway).

Expiries come in two sets, so the universe has live contracts on any date:

* Fixed: the AAPL options of 2026-06, 2026-12, 2027-01, 2027-03 and 2027-06 and the quarterly
  ES / NQ futures of 2025 through 2027, the same on every date, so the spec's examples
  (OPT AAPL 20260619 180 C, FUT ES 202503) and their conIds always exist. Their initial
  prices are taken at `REFERENCE_DATE`.
* Rolling: from the date the universe is built for (the simulator's clock when it is built,
  `listing_date`), the next `ROLLING_OPTION_EXPIRIES` standard monthly AAPL expiries (third
  Fridays) and the next `ROLLING_FUTURE_EXPIRIES` quarterly futures, each on or after that
  date. A rolling expiry that is also a fixed one is listed once, as the fixed contract.
  Their conIds are a function of the expiry alone (an option's also of its strike and right;
  a future's is its quarter's place in the fixed ladder, extended), so a date always gives the
  same conIds and none is a fixed contract's. An option's initial price is the option
  model's (`option_model.option_price`) at that date; a future's is on the fixed ones'
  ladder (a small contango per quarter), so a future is the same contract on every date.

A real gateway needs includeExpired for past expiries; this simulator lists the fixed ones on
every date, lenient on purpose. A future's local symbol has a one-digit year, as IB's: from
2033 on a rolling one can repeat an expired fixed one's (ESH5 of 2035 and of 2025), so name
those by contract month.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from types import MappingProxyType
from typing import Final

from .model import ContractQuery, ContractSpec
from .option_model import OptionRates, option_price, smile_vol
from .path import PathParams
from .pricing import black_scholes, years_to_expiry

REFERENCE_DATE = dt.date(2026, 11, 25)
"""The date the fixed contracts' initial prices are taken at (never the wall clock's)."""

ROLLING_OPTION_EXPIRIES: Final = 6
"""How many standard monthly AAPL expiries are listed from the universe's date on."""
ROLLING_FUTURE_EXPIRIES: Final = 8
"""How many quarterly futures expiries are listed from the universe's date on."""

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
# a rolling option's conId: this base + days from _CON_ID_EPOCH to its expiry x 100 + its
# strike's place x 2 + (0 call, 1 put); 710,000,000 up is free of every fixed conId
_ROLLING_OPTION_CON_ID_BASE = 710_000_000
_CON_ID_EPOCH = dt.date(2000, 1, 1)
_FIRST_FUTURE_QUARTER = (2025, 3)  # the fixed ladder's first contract: its conId is the base
_FIXED_FUTURE_QUARTERS = 12  # 2025 through 2027
_CONTANGO_PER_QUARTER = Decimal("12.50")  # on the 0.25 grid


def third_friday(year: int, month: int) -> dt.date:
    """Standard monthly expiry (options) and CME equity-index futures expiry."""
    weeks = calendar.monthcalendar(year, month)
    fridays = [w[calendar.FRIDAY] for w in weeks if w[calendar.FRIDAY]]
    return dt.date(year, month, fridays[2])


def listing_date(t: float) -> dt.date:
    """The date a universe built at epoch seconds `t` lists its rolling expiries from (UTC,
    as the option model's time to expiry is)."""
    return dt.datetime.fromtimestamp(t, dt.UTC).date()


def monthly_expiries(start: dt.date, count: int) -> list[dt.date]:
    """The next `count` standard monthly expiries (third Fridays) on or after `start`."""
    out: list[dt.date] = []
    year, month = start.year, start.month
    while len(out) < count:
        expiry = third_friday(year, month)
        if expiry >= start:
            out.append(expiry)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def quarterly_expiries(start: dt.date, count: int) -> list[dt.date]:
    """The next `count` quarterly expiries (third Fridays of March, June, September and
    December) on or after `start`."""
    return [e for e in monthly_expiries(start, 3 * count + 3) if e.month % 3 == 0][:count]


def occ_symbol(root: str, expiry: dt.date, right: str, strike: Decimal) -> str:
    """OCC option symbol: root padded to 6, YYMMDD, C/P, strike * 1000 in 8 digits."""
    return f"{root:<6}{expiry:%y%m%d}{right}{int(strike * 1000):08d}"


def _option_price(spot: Decimal, strike: Decimal, expiry: dt.date, right: str) -> Decimal:
    """Black-Scholes at 25% vol, zero rates, as an initial theoretical price on a 0.05 grid.
    Floats are fine here: the result is rounded and becomes a Decimal through a string."""
    years = max((expiry - REFERENCE_DATE).days, 30) / 365.0
    price = black_scholes(
        spot=float(spot), strike=float(strike), years=years, vol=0.25, rate=0.0, dividend=0.0,
        right=right,
    ).price
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


def _aapl_option(
    con_id: int, expiry: dt.date, strike: Decimal, right: str, price: Decimal
) -> ContractSpec:
    return ContractSpec(
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
        initial_price=price,
        under_con_id=265598,
        under_symbol="AAPL",
    )


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
                price = _option_price(spot, strike, expiry, right)
                specs.append(_aapl_option(con_id, expiry, strike, right, price))
    return specs


def rolling_option_con_id(expiry: dt.date, strike_index: int, right: str) -> int:
    """The conId of a rolling AAPL option: a function of its expiry, strike and right."""
    days = (expiry - _CON_ID_EPOCH).days
    return _ROLLING_OPTION_CON_ID_BASE + days * 100 + strike_index * 2 + int(right == "P")


def _model_price(spec: ContractSpec, spot: Decimal, today: dt.date) -> Decimal:
    """The option model's price of `spec` at the start of `today`: the default rates and
    path volatility, the surface's skew and smile against `spot`."""
    start = dt.datetime.combine(today, dt.time(), dt.UTC).timestamp()
    years = years_to_expiry(spec.last_trade_date, start)
    vol = smile_vol(PathParams().volatility, float(spec.strike), float(spot), years)
    return option_price(spec, spot, years, vol, OptionRates())


def _rolling_aapl_options(today: dt.date) -> list[ContractSpec]:
    spot = Decimal(_STOCKS[0][4])
    fixed = {third_friday(y, m) for y, m in _AAPL_OPTION_EXPIRIES}
    specs = []
    for expiry in monthly_expiries(today, ROLLING_OPTION_EXPIRIES):
        if expiry in fixed:
            continue
        for i, strike_int in enumerate(_AAPL_STRIKES):
            strike = Decimal(strike_int)
            for right in ("C", "P"):
                spec = _aapl_option(rolling_option_con_id(expiry, i, right), expiry, strike,
                                    right, Decimal(1))  # fmt: skip
                specs.append(replace(spec, initial_price=_model_price(spec, spot, today)))
    return specs


def _quarter_index(expiry: dt.date) -> int:
    """A quarterly expiry's place in the futures ladder (0: the first fixed contract)."""
    year, month = _FIRST_FUTURE_QUARTER
    return (expiry.year - year) * 4 + (expiry.month - month) // 3


def _future(
    sym: str, mult: str, name: str, con_id: int, expiry: dt.date, initial: Decimal
) -> ContractSpec:
    return ContractSpec(
        con_id=con_id,
        symbol=sym,
        sec_type="FUT",
        exchange="CME",
        primary_exchange="",
        currency="USD",
        local_symbol=f"{sym}{_FUT_MONTH_CODES[expiry.month]}{expiry.year % 10}",
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


def _future_price(price: str, expiry: dt.date) -> Decimal:
    """A future's initial price: its symbol's front-month price at the reference date, a
    small contango per quarter from there (below it for the quarters before), on one ladder
    for the fixed and the rolling contracts."""
    front = _quarter_index(quarterly_expiries(REFERENCE_DATE, 1)[0])
    return Decimal(price) + (_quarter_index(expiry) - front) * _CONTANGO_PER_QUARTER


def _futures() -> list[ContractSpec]:
    specs = []
    for sym, mult, name, price, base in _FUTURES:
        months = [(y, m) for y in (2025, 2026, 2027) for m in (3, 6, 9, 12)]
        for i, (year, month) in enumerate(months):
            expiry = third_friday(year, month)
            specs.append(_future(sym, mult, name, base + i, expiry, _future_price(price, expiry)))
    return specs


def _rolling_futures(today: dt.date) -> list[ContractSpec]:
    """The next quarterly futures from `today`, the fixed ones left out."""
    specs = []
    for sym, mult, name, price, base in _FUTURES:
        for expiry in quarterly_expiries(today, ROLLING_FUTURE_EXPIRIES):
            i = _quarter_index(expiry)
            if not 0 <= i < _FIXED_FUTURE_QUARTERS:
                specs.append(_future(sym, mult, name, base + i, expiry,
                                     _future_price(price, expiry)))  # fmt: skip
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


def builtin_universe(today: dt.date = REFERENCE_DATE) -> list[ContractSpec]:
    """Every built-in instrument, with the rolling expiries from `today` (the simulator
    passes its clock's `listing_date`); a fresh list each call, of specs made once a day."""
    return list(_universe_of(today))


@functools.lru_cache(maxsize=4)
def _universe_of(today: dt.date) -> tuple[ContractSpec, ...]:
    """The specs are frozen and depend on `today` alone, so a process that starts many
    simulators (a test suite with one per test) prices the options and lists the
    expiries once a day, not in every simulator's constructor (~5 of its ~6 ms)."""
    return (
        *_stocks(), *_aapl_options(), *_rolling_aapl_options(today), *_futures(),
        *_rolling_futures(today), *_fx(),
    )  # fmt: skip


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


_NAMES_NOTHING: Final = (ContractQuery(), ContractQuery(strike=Decimal(0)))
MATCHES_KEPT: Final = 4096  # answers `ContractIndex.match` remembers (queries repeat)


def match_all(query: ContractQuery, specs: Iterable[ContractSpec]) -> list[ContractSpec]:
    """Every spec the query matches. A query that names nothing matches nothing (a real
    gateway answers 321 to an empty contract; we answer "unknown")."""
    if query in _NAMES_NOTHING:
        return []
    return [s for s in specs if matches(query, s)]


def _local_key(local_symbol: str) -> str:
    """A local symbol as `matches` compares it: without whitespace (OCC pads the root)."""
    return "".join(local_symbol.split())


class ContractIndex:
    """The instruments, indexed by what queries name: conId, (symbol, secType), symbol and
    local symbol. A query naming one of them is matched against its few candidates instead of
    the whole universe (every placeOrder matches its contract; the AAPL chain alone is 150
    options). `matches` still decides; the index only picks whom it looks at."""

    def __init__(self, specs: Iterable[ContractSpec] = ()) -> None:
        self._by_con_id: dict[int, ContractSpec] = {}
        self._by_symbol: dict[str, list[ContractSpec]] = {}
        self._by_symbol_type: dict[tuple[str, str], list[ContractSpec]] = {}
        self._by_local_symbol: dict[str, list[ContractSpec]] = {}
        self._answers: dict[ContractQuery, tuple[ContractSpec, ...]] = {}
        for spec in specs:
            self.add(spec)

    def add(self, spec: ContractSpec) -> None:
        """Add `spec`, replacing the instrument with its conId if there is one."""
        old = self._by_con_id.get(spec.con_id)
        if old is not None:
            self._remove(old)
        self._answers.clear()  # a new instrument may answer any query
        self._by_con_id[spec.con_id] = spec
        self._by_symbol.setdefault(spec.symbol, []).append(spec)
        self._by_symbol_type.setdefault((spec.symbol, spec.sec_type), []).append(spec)
        self._by_local_symbol.setdefault(_local_key(spec.local_symbol), []).append(spec)

    def _remove(self, spec: ContractSpec) -> None:
        self._by_symbol[spec.symbol].remove(spec)
        self._by_symbol_type[(spec.symbol, spec.sec_type)].remove(spec)
        self._by_local_symbol[_local_key(spec.local_symbol)].remove(spec)

    def get(self, con_id: int) -> ContractSpec | None:
        return self._by_con_id.get(con_id)

    def __len__(self) -> int:
        return len(self._by_con_id)

    def candidates(self, query: ContractQuery) -> Iterable[ContractSpec]:
        """The instruments `query` can match: a superset of `match_all`'s answer."""
        if query.con_id:
            spec = self._by_con_id.get(query.con_id)
            return () if spec is None else (spec,)
        if query.symbol:
            symbol = _norm(query.symbol)
            if query.sec_type:
                return self._by_symbol_type.get((symbol, _norm(query.sec_type)), ())
            return self._by_symbol.get(symbol, ())
        if query.local_symbol:
            return self._by_local_symbol.get(_local_key(query.local_symbol).upper(), ())
        return self._by_con_id.values()

    def match(self, query: ContractQuery) -> list[ContractSpec]:
        """Every instrument the query matches, in conId order (see `match_all`). The answer
        is remembered until an instrument is added: orders name the same few contracts."""
        known = self._answers.get(query)
        if known is not None:
            return list(known)
        found = match_all(query, self.candidates(query))
        if len(found) > 1:
            found.sort(key=lambda s: s.con_id)
        if len(self._answers) >= MATCHES_KEPT:
            self._answers.clear()
        self._answers[query] = tuple(found)
        return found


# --- reference data: what reqContractDetails and the reference requests tell about each ----
# instrument, beyond its contract. Values are IB's where they are public (ISINs, the
# classification IB shows for a stock, its SMART destinations); the market-rule ids are the
# simulator's own, each defined below with the tick ladder it stands for.


@dataclass(frozen=True, slots=True)
class MarketRuleSpec:
    """A price ladder: (low edge, increment) from the lowest price up."""

    rule_id: int
    increments: tuple[tuple[Decimal, Decimal], ...]


MARKET_RULES: Final[Mapping[int, MarketRuleSpec]] = MappingProxyType(
    {
        r.rule_id: r
        for r in (
            MarketRuleSpec(26, ((Decimal(0), Decimal("0.01")),)),  # US stocks and ETFs
            MarketRuleSpec(32, ((Decimal(0), Decimal("0.01")), (Decimal(3), Decimal("0.05")))),
            MarketRuleSpec(67, ((Decimal(0), Decimal("0.25")),)),  # CME equity-index futures
            MarketRuleSpec(239, ((Decimal(0), Decimal("0.00005")),)),  # FX majors
            MarketRuleSpec(240, ((Decimal(0), Decimal("0.005")),)),  # FX against JPY
        )
    }
)

STOCK_EXCHANGES: Final[tuple[str, ...]] = (
    "SMART", "AMEX", "NYSE", "CBOE", "PHLX", "ISE", "CHX", "ARCA", "ISLAND", "DRCTEDGE",
    "BEX", "BATS", "EDGEA", "BYX", "IEX", "EDGX", "FOXRIVER", "PEARL", "NYSENAT", "LTSE",
    "MEMX", "IBEOS", "OVERNIGHT", "TPLUS0", "PSX",
)  # fmt: skip
OPTION_EXCHANGES: Final[tuple[str, ...]] = (
    "SMART", "AMEX", "CBOE", "PHLX", "PSE", "ISE", "BOX", "BATS", "NASDAQOM", "CBOE2",
    "NASDAQBX", "MIAX", "GEMINI", "EDGX", "MERCURY", "PEARL", "EMERALD", "MEMX", "IBUSOPT",
)  # fmt: skip
STOCK_ORDER_TYPES: Final = (
    "ACTIVETIM,AD,ADJUST,ALERT,ALGO,ALLOC,AON,AVGCOST,BASKET,BENCHPX,CASHQTY,COND,CONDORDER,"
    "DARKONLY,DARKPOLL,DAY,DEACT,DEACTDIS,DEACTEOD,DIS,DUR,GAT,GTC,GTD,GTT,HID,IBKRATS,ICE,"
    "IMB,IOC,LIT,LMT,LOC,MIDPX,MIT,MKT,MOC,MTL,NGCOMB,NODARK,NONALGO,OCA,OPG,OPGREROUT,PEGBENCH,"
    "PEGMID,POSTATS,POSTONLY,PREOPGRTH,PRICECHK,REL,REL2MID,RELPCTOFS,RPI,RTH,SCALE,SCALEODD,"
    "SCALERST,SIZECHK,SNAPMID,SNAPMKT,SNAPREL,STP,STPLMT,SWEEP,TRAIL,TRAILLIT,TRAILLMT,"
    "TRAILMIT,WHATIF"
)
OPTION_ORDER_TYPES: Final = (
    "ACTIVETIM,AD,ADJUST,ALERT,ALLOC,AVGCOST,BASKET,COND,CONDORDER,DAY,DEACT,DEACTDIS,DEACTEOD,"
    "DIS,GAT,GTC,GTD,GTT,HID,ICE,IOC,LIT,LMT,MIT,MKT,MTL,NGCOMB,NONALGO,OCA,OPG,OPGREROUT,"
    "PEGMID,PRICECHK,REL,REL2MID,RELPCTOFS,SCALE,SCALERST,SIZECHK,SNAPMID,SNAPMKT,SNAPREL,STP,"
    "STPLMT,TRAIL,TRAILLIT,TRAILLMT,TRAILMIT,VOLAT,WHATIF"
)
FUTURE_ORDER_TYPES: Final = (
    "ACTIVETIM,AD,ADJUST,ALERT,ALGO,ALLOC,AVGCOST,BASKET,COND,CONDORDER,DAY,DEACT,DEACTDIS,"
    "DEACTEOD,GAT,GTC,GTD,GTT,HID,ICE,IOC,LIT,LMT,LTH,MIT,MKT,MTL,NGCOMB,NONALGO,OCA,SCALE,"
    "SCALERST,SNAPMID,SNAPMKT,SNAPREL,STP,STPLMT,TRAIL,TRAILLIT,TRAILLMT,TRAILMIT,WHATIF"
)
FX_ORDER_TYPES: Final = (
    "ACTIVETIM,AD,ADJUST,ALERT,ALGO,ALLOC,AVGCOST,BASKET,CASHQTY,COND,CONDORDER,DAY,DEACT,"
    "DEACTDIS,DEACTEOD,GAT,GTC,GTD,GTT,HID,IOC,LIT,LMT,MIT,MKT,NONALGO,OCA,REL,RELPCTOFS,"
    "SCALE,SCALERST,SIZECHK,STP,STPLMT,TRAIL,TRAILLIT,TRAILLMT,TRAILMIT,WHATIF"
)

# symbol -> (ISIN, industry, category, subcategory, stock type), as IB classifies them
_STOCK_FACTS: Final[Mapping[str, tuple[str, str, str, str, str]]] = MappingProxyType({
    "AAPL": ("US0378331005", "Technology", "Computers", "Computers", "COMMON"),
    "MSFT": ("US5949181045", "Technology", "Software", "Applications Software", "COMMON"),
    "SPY": ("US78462F1030", "", "", "", "ETF"),
    "QQQ": ("US46090E1038", "", "", "", "ETF"),
    "TSLA": ("US88160R1014", "Consumer, Cyclical", "Auto Manufacturers",
             "Auto-Cars/Light Trucks", "COMMON"),
    "AMZN": ("US0231351067", "Communications", "Internet", "E-Commerce/Products", "COMMON"),
    "NVDA": ("US67066G1040", "Technology", "Semiconductors", "Electronic Compo-Semicon",
             "COMMON"),
    "IBM": ("US4592001014", "Technology", "Computers", "Computer Services", "COMMON"),
    "GOOGL": ("US02079K3059", "Communications", "Internet", "Web Portals/ISP", "COMMON"),
    "META": ("US30303M1027", "Communications", "Internet", "Internet Content-Entmnt",
             "COMMON"),
    "JPM": ("US46625H1005", "Financial", "Banks", "Money Center Banks", "COMMON"),
    "IWM": ("US4642876555", "", "", "", "ETF"),
})  # fmt: skip
# futures: symbol -> (underlying index conId, the index's exchange) (IB's ES / NQ indices)
_FUTURE_UNDERLYINGS: Final = MappingProxyType({"ES": (11004968, "CME"), "NQ": (11004958, "CME")})


@dataclass(frozen=True, slots=True)
class InstrumentDetails:
    """What reqContractDetails adds to a contract (all but its trading sessions, which the
    session model owns)."""

    market_name: str
    order_types: str
    valid_exchanges: str
    under_con_id: int
    under_symbol: str
    under_sec_type: str
    industry: str
    category: str
    subcategory: str
    sec_ids: tuple[tuple[str, str], ...]  # (tag, value): ("ISIN", "US0378331005")
    agg_group: int
    market_rule_ids: str  # one per valid exchange, in the same order
    stock_type: str
    ev_rule: str
    ev_multiplier: str
    real_expiration_date: str
    contract_month: str


def market_rule_of(spec: ContractSpec) -> int:
    """The simulator's market rule for an instrument: the ladder its prices move on."""
    if spec.sec_type == "OPT":
        return 32
    if spec.sec_type == "FUT":
        return 67
    if spec.sec_type == "CASH":
        return 240 if spec.currency == "JPY" else 239
    return 26


def details_of(spec: ContractSpec) -> InstrumentDetails:
    """The reference data of one instrument, as TWS fills contractDetails for its kind."""
    rule = market_rule_of(spec)
    if spec.sec_type == "STK":
        isin, industry, category, subcategory, stock_type = _STOCK_FACTS.get(
            spec.symbol, ("", "", "", "", "COMMON")
        )
        exchanges: tuple[str, ...] = STOCK_EXCHANGES
        return InstrumentDetails(
            market_name=spec.trading_class,
            order_types=STOCK_ORDER_TYPES,
            valid_exchanges=",".join(exchanges),
            under_con_id=0,
            under_symbol="",
            under_sec_type="",
            industry=industry,
            category=category,
            subcategory=subcategory,
            sec_ids=(("ISIN", isin),) if isin else (),
            agg_group=1,
            market_rule_ids=",".join([str(rule)] * len(exchanges)),
            stock_type=stock_type,
            ev_rule="",
            ev_multiplier="",
            real_expiration_date="",
            contract_month="",
        )
    if spec.sec_type == "OPT":
        exchanges = OPTION_EXCHANGES
        return InstrumentDetails(
            market_name=spec.trading_class,
            order_types=OPTION_ORDER_TYPES,
            valid_exchanges=",".join(exchanges),
            under_con_id=spec.under_con_id,
            under_symbol=spec.under_symbol,
            under_sec_type="STK",
            industry=_STOCK_FACTS.get(spec.symbol, ("",) * 5)[1],
            category=_STOCK_FACTS.get(spec.symbol, ("",) * 5)[2],
            subcategory=_STOCK_FACTS.get(spec.symbol, ("",) * 5)[3],
            sec_ids=(),
            agg_group=2,
            market_rule_ids=",".join([str(rule)] * len(exchanges)),
            stock_type="",
            ev_rule="",
            ev_multiplier="",
            real_expiration_date=spec.last_trade_date,
            contract_month=spec.last_trade_date[:6],
        )
    if spec.sec_type == "FUT":
        under_con_id, _ = _FUTURE_UNDERLYINGS.get(spec.symbol, (0, ""))
        return InstrumentDetails(
            market_name=spec.trading_class,
            order_types=FUTURE_ORDER_TYPES,
            valid_exchanges=spec.exchange,
            under_con_id=under_con_id,
            under_symbol=spec.symbol,
            under_sec_type="IND",
            industry="",
            category="",
            subcategory="",
            sec_ids=(),
            agg_group=2,
            market_rule_ids=str(rule),
            stock_type="",
            ev_rule="",
            ev_multiplier="",
            real_expiration_date=spec.last_trade_date,
            contract_month=spec.last_trade_date[:6],
        )
    return InstrumentDetails(  # CASH
        market_name=spec.trading_class,
        order_types=FX_ORDER_TYPES,
        valid_exchanges=spec.exchange,
        under_con_id=0,
        under_symbol="",
        under_sec_type="",
        industry="",
        category="",
        subcategory="",
        sec_ids=(),
        agg_group=4,
        market_rule_ids=str(rule),
        stock_type="",
        ev_rule="",
        ev_multiplier="",
        real_expiration_date="",
        contract_month="",
    )
