"""Market ids <-> ib_async contracts, both directions, without touching the network.

A market id is the string a Horizon user writes; a contract is what IB needs. The forms:

=============================  ================================================================
market id                      contract (unqualified)
=============================  ================================================================
``AAPL``                       ``Stock("AAPL", "SMART", "USD")``
``STK:SAP:EUR``                ``Stock("SAP", "SMART", "EUR")`` (non-USD stocks)
``OPT:AAPL:20260619:180:C``    ``Option(AAPL, 20260619, 180.0, C, SMART, multiplier 100, USD)``
``FUT:ES:202503:CME``          ``Future(ES, 202503, CME, USD)``
``FX:EUR.USD``                 ``Forex("EURUSD")`` (IDEALPRO)
``IND:SPX:416904``             ``Contract(secType="IND", conId=416904)`` (opaque, see below)
``COMBO:+1 A,-1 B``            a BAG of legs A and B (each any form above), see below
=============================  ================================================================

A combo (IB's BAG) lists its legs after ``COMBO:``, separated by ``,``, each a signed ratio, a
space and the leg's market id: ``COMBO:+1 OPT:AAPL:20260619:180:C,-1 OPT:AAPL:20260619:190:C``
is a call vertical. ``+`` legs trade on the combo order's side, ``-`` legs on the other (buying
that combo buys the 180 call and sells the 190 call). The legs are qualified one by one; the
BAG itself is never sent to reqContractDetails (IB does not answer for one).

OPT and FUT take an optional trailing currency (``FUT:FGBL:202503:EUREX:EUR``); USD is the
default and is left out of the canonical form.

The opaque form ``{secType}:{localSymbol or symbol}:{conId}`` is what `market_id_of` gives
for a qualified contract it has no readable form for (an index, a futures option, ...). It
is unique because of the conId. For security types with no readable form it parses back to
a conId-only contract that qualification completes (the middle part is a label for humans,
not sent to IB). A STK/OPT/FUT/CASH contract too incomplete for its readable form (a future
whose exchange IB left blank, as position reports do) also gets the opaque form, but that
one does not parse: the venue should map such contracts through its conId cache first.

Law (tested with hypothesis): ``market_id_of(parse_market_id(x)) == canonical_market_id(x)``
for every valid readable id; for an opaque id, the same holds once the contract is qualified.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Final

from ib_async import ComboLeg, Contract, Forex, Future, Option, Stock

from horizon.errors import InvalidMarketId

__all__ = [
    "COMBO_KIND",
    "ComboLegSpec",
    "canonical_market_id",
    "combo_contract",
    "combo_legs",
    "combo_market_id_of",
    "is_combo",
    "market_id_of",
    "parse_market_id",
]

COMBO_KIND: Final = "COMBO"
_COMBO_PREFIX: Final = "COMBO:"
_MAX_LEGS: Final = 8
_RATIO_RE: Final = re.compile(r"([+-])([1-9][0-9]{0,3})")

DEFAULT_CURRENCY: Final = "USD"
OPTION_MULTIPLIER: Final = "100"

# Letters and digits, with '.', '-', '/' and single interior spaces ("BRK B" is how IB spells
# Berkshire class B). The separator ':' can never appear.
_SYMBOL_RE: Final = re.compile(r"[A-Z0-9](?:[A-Z0-9./-]| (?=[A-Z0-9]))*")
_SYMBOL_MAX: Final = 12
_EXCHANGE_RE: Final = re.compile(r"[A-Z][A-Z0-9._]{0,15}")
_CURRENCY_RE: Final = re.compile(r"[A-Z]{3}")
_DIGITS_RE: Final = re.compile(r"[0-9]+")
_RIGHTS: Final = MappingProxyType({"C": "C", "CALL": "C", "P": "P", "PUT": "P"})

# IB security types that only have the opaque conId form. STK, OPT, FUT and CASH are not
# here on purpose: "FUT:ES:202503" (exchange forgotten) or "OPT:AAPL:20260619" (strike
# forgotten) must be refused, not read as conId 202503 / 20260619 of some other instrument.
_OPAQUE_KINDS: Final = frozenset(
    {
        "IND", "FOP", "CFD", "BAG", "WAR", "IOPT", "BOND", "CMDTY", "NEWS", "FUND",
        "CRYPTO", "EVENT", "CONTFUT", "BILL", "SSF", "FIXED", "MF", "ICU", "ICS",
    }
)  # fmt: skip


# ---------------------------------------------------------------------------------------------
# parts


def _symbol(market_id: str, raw: str) -> str:
    sym = raw.upper()
    if not sym:
        raise InvalidMarketId(market_id, "symbol", "is empty; write e.g. 'AAPL'")
    if len(sym) > _SYMBOL_MAX:
        raise InvalidMarketId(
            market_id, "symbol", f"{raw!r} is longer than {_SYMBOL_MAX} characters"
        )
    if not _SYMBOL_RE.fullmatch(sym):
        raise InvalidMarketId(
            market_id,
            "symbol",
            f"{raw!r} may hold only letters, digits, '.', '-', '/' and single inner spaces",
        )
    return sym


def _expiry(market_id: str, raw: str) -> str:
    if len(raw) != 8 or not raw.isdigit():
        raise InvalidMarketId(market_id, "expiry", f"{raw!r} is not YYYYMMDD, e.g. '20260619'")
    try:
        date(int(raw[:4]), int(raw[4:6]), int(raw[6:]))
    except ValueError as exc:
        raise InvalidMarketId(market_id, "expiry", f"{raw!r} is not a calendar date") from exc
    return raw


def _month(market_id: str, raw: str) -> str:
    if len(raw) != 6 or not raw.isdigit():
        raise InvalidMarketId(market_id, "expiry", f"{raw!r} is not YYYYMM, e.g. '202503'")
    if not 1 <= int(raw[4:]) <= 12:
        raise InvalidMarketId(market_id, "expiry", f"{raw!r} has month {raw[4:]}, not 01-12")
    return raw


def _strike(market_id: str, raw: str) -> Decimal:
    try:
        strike = Decimal(raw)
    except InvalidOperation as exc:
        raise InvalidMarketId(market_id, "strike", f"{raw!r} is not a number") from exc
    if not strike.is_finite() or strike <= 0:
        raise InvalidMarketId(market_id, "strike", f"{raw!r} must be a positive number")
    # ib_async carries the strike as a float: refuse strikes a float would change.
    if Decimal(repr(float(strike))) != strike:
        raise InvalidMarketId(market_id, "strike", f"{raw!r} has more digits than IB can carry")
    return strike


def _right(market_id: str, raw: str) -> str:
    right = _RIGHTS.get(raw.upper())
    if right is None:
        raise InvalidMarketId(market_id, "right", f"{raw!r} is not C, P, CALL or PUT")
    return right


def _exchange(market_id: str, raw: str) -> str:
    exch = raw.upper()
    if not _EXCHANGE_RE.fullmatch(exch):
        raise InvalidMarketId(
            market_id, "exchange", f"{raw!r} is not an exchange code such as 'CME' or 'GLOBEX'"
        )
    return exch


def _currency(market_id: str, raw: str, part: str = "currency") -> str:
    cur = raw.upper()
    if not _CURRENCY_RE.fullmatch(cur):
        raise InvalidMarketId(market_id, part, f"{raw!r} is not a 3-letter currency code")
    return cur


def format_strike(strike: Decimal) -> str:
    """Shortest plain form: 180.0 -> "180", 182.50 -> "182.5", never exponent notation."""
    return format(strike.normalize(), "f")


def _with_currency(parts: list[str], currency: str) -> str:
    return ":".join(parts if currency == DEFAULT_CURRENCY else [*parts, currency])


# ---------------------------------------------------------------------------------------------
# parsing: one function per kind, each returning (contract, canonical id)

_Parsed = tuple[Contract, str]


def _parse_stock(market_id: str, parts: list[str]) -> _Parsed:
    # parts: [SYM] or [SYM, CUR]
    sym = _symbol(market_id, parts[0])
    cur = _currency(market_id, parts[1]) if len(parts) == 2 else DEFAULT_CURRENCY
    canonical = sym if cur == DEFAULT_CURRENCY else f"STK:{sym}:{cur}"
    return Stock(sym, "SMART", cur), canonical


def _parse_option(market_id: str, parts: list[str]) -> _Parsed:
    # parts: [SYM, YYYYMMDD, STRIKE, RIGHT] (+ [CUR])
    sym = _symbol(market_id, parts[0])
    expiry = _expiry(market_id, parts[1])
    strike = _strike(market_id, parts[2])
    right = _right(market_id, parts[3])
    cur = _currency(market_id, parts[4]) if len(parts) == 5 else DEFAULT_CURRENCY
    contract = Option(
        symbol=sym,
        lastTradeDateOrContractMonth=expiry,
        strike=float(str(strike)),
        right=right,
        exchange="SMART",
        currency=cur,
        multiplier=OPTION_MULTIPLIER,
    )
    canonical = _with_currency(["OPT", sym, expiry, format_strike(strike), right], cur)
    return contract, canonical


def _parse_future(market_id: str, parts: list[str]) -> _Parsed:
    # parts: [SYM, YYYYMM, EXCH] (+ [CUR])
    sym = _symbol(market_id, parts[0])
    month = _month(market_id, parts[1])
    exch = _exchange(market_id, parts[2])
    cur = _currency(market_id, parts[3]) if len(parts) == 4 else DEFAULT_CURRENCY
    contract = Future(symbol=sym, lastTradeDateOrContractMonth=month, exchange=exch, currency=cur)
    return contract, _with_currency(["FUT", sym, month, exch], cur)


def _parse_forex(market_id: str, parts: list[str]) -> _Parsed:
    # parts: ["EUR.USD"] (or "EURUSD")
    pair = parts[0].upper()
    base, dot, quote = pair.partition(".")
    if not dot and len(pair) == 6:
        base, quote = pair[:3], pair[3:]
    base = _currency(market_id, base, "pair")
    quote = _currency(market_id, quote, "pair")
    if base == quote:
        raise InvalidMarketId(market_id, "pair", f"{pair!r} trades a currency against itself")
    return Forex(base + quote), f"FX:{base}.{quote}"


def _parse_opaque(market_id: str, kind: str, parts: list[str]) -> _Parsed:
    # parts: [LABEL, CONID]
    label, con_id = parts
    if not _DIGITS_RE.fullmatch(con_id) or int(con_id) <= 0:
        raise InvalidMarketId(market_id, "conid", f"{con_id!r} is not a positive contract id")
    return Contract(secType=kind, conId=int(con_id)), f"{kind}:{label}:{int(con_id)}"


# kind -> (allowed part counts after the kind, parser, shape shown in errors)
_KINDS: Final[
    MappingProxyType[str, tuple[frozenset[int], Callable[[str, list[str]], _Parsed], str]]
] = MappingProxyType(
    {
        "STK": (frozenset({1, 2}), _parse_stock, "STK:SYMBOL[:CURRENCY]"),
        "OPT": (frozenset({4, 5}), _parse_option, "OPT:SYMBOL:YYYYMMDD:STRIKE:C|P[:CURRENCY]"),
        "FUT": (frozenset({3, 4}), _parse_future, "FUT:SYMBOL:YYYYMM:EXCHANGE[:CURRENCY]"),
        "FX": (frozenset({1}), _parse_forex, "FX:BASE.QUOTE"),
    }
)


@dataclass(frozen=True, slots=True)
class ComboLegSpec:
    """One leg of a combo market id: `ratio` units per combo unit, on the combo's side when
    `same_side`, else on the other."""

    market_id: str  # canonical
    ratio: int
    same_side: bool

    @property
    def text(self) -> str:
        return f"{'+' if self.same_side else '-'}{self.ratio} {self.market_id}"


def is_combo(market_id: str) -> bool:
    return market_id[:6].upper() == _COMBO_PREFIX


def combo_legs(market_id: str) -> tuple[ComboLegSpec, ...]:
    """The legs of a COMBO market id, each leg id canonical; InvalidMarketId names the part."""
    if not is_combo(market_id):
        raise InvalidMarketId(market_id, "kind", "is not a COMBO:... market id")
    body = market_id[len(_COMBO_PREFIX) :]
    legs = []
    for n, raw in enumerate(body.split(","), start=1):
        ratio_text, space, leg_id = raw.partition(" ")
        match = _RATIO_RE.fullmatch(ratio_text)
        if not space or match is None:
            raise InvalidMarketId(
                market_id, f"leg {n}", f"{raw!r} is not '<+|-><ratio> <market id>', e.g. '+1 AAPL'"
            )
        if is_combo(leg_id):
            raise InvalidMarketId(market_id, f"leg {n}", "a combo leg cannot be a combo")
        canonical = _parse(leg_id)[1]
        legs.append(ComboLegSpec(canonical, int(match.group(2)), match.group(1) == "+"))
    if len(legs) < 2:
        raise InvalidMarketId(market_id, "legs", "a combo needs at least two legs")
    if len(legs) > _MAX_LEGS:
        raise InvalidMarketId(market_id, "legs", f"at most {_MAX_LEGS} legs, got {len(legs)}")
    if len({leg.market_id for leg in legs}) != len(legs):
        raise InvalidMarketId(market_id, "legs", "names the same leg twice")
    return tuple(legs)


def _parse_combo(market_id: str) -> _Parsed:
    legs = combo_legs(market_id)
    return Contract(secType="BAG"), _COMBO_PREFIX + ",".join(leg.text for leg in legs)


def combo_contract(legs: Sequence[tuple[Contract, ComboLegSpec]]) -> Contract:
    """The BAG contract of qualified leg contracts (TWS API "Spreads"): symbol the legs'
    underlying (comma-joined when they differ, as IB's stock-spread sample does), one currency,
    the legs' exchange when they share one, else SMART; ratios and actions per leg (the
    actions are for a BUY of the combo: IB mirrors them for a SELL)."""
    currencies = {c.currency for c, _ in legs}
    if len(currencies) != 1:
        raise InvalidMarketId(
            ",".join(s.text for _, s in legs), "legs", f"mix currencies {sorted(currencies)}"
        )
    symbols = list(dict.fromkeys(c.symbol for c, _ in legs))
    exchanges = {c.exchange for c, _ in legs}
    exchange = exchanges.pop() if len(exchanges) == 1 else "SMART"
    return Contract(
        secType="BAG",
        symbol=",".join(symbols),
        currency=currencies.pop(),
        exchange=exchange or "SMART",
        comboLegs=[
            ComboLeg(
                conId=c.conId,
                ratio=spec.ratio,
                action="BUY" if spec.same_side else "SELL",
                exchange=c.exchange or exchange or "SMART",
            )
            for c, spec in legs
        ],
    )


def combo_market_id_of(contract: Contract, leg_ids: Callable[[int], str | None]) -> str | None:
    """The COMBO market id of a BAG contract read back from IB (open orders, executions), its
    legs named by `leg_ids(conId)`; None if a leg is unknown or the BAG has no legs."""
    legs = contract.comboLegs or []
    if not legs:
        return None
    texts = []
    for leg in legs:
        leg_id = leg_ids(leg.conId)
        if leg_id is None:
            return None
        sign = "+" if leg.action.upper() == "BUY" else "-"
        texts.append(f"{sign}{int(leg.ratio)} {leg_id}")
    return _COMBO_PREFIX + ",".join(texts)


def _parse(market_id: str) -> _Parsed:
    if not isinstance(market_id, str):
        raise InvalidMarketId(repr(market_id), "market_id", "must be a string such as 'AAPL'")
    if market_id != market_id.strip() or not market_id:
        raise InvalidMarketId(market_id, "market_id", "is empty or has surrounding whitespace")
    kind, sep, rest = market_id.partition(":")
    if not sep:
        return _parse_stock(market_id, [market_id])
    kind = kind.upper()
    if kind == COMBO_KIND:
        return _parse_combo(market_id)
    parts = rest.split(":")
    if len(parts) == 2 and kind in _OPAQUE_KINDS and _DIGITS_RE.fullmatch(parts[1]):
        return _parse_opaque(market_id, kind, parts)
    row = _KINDS.get(kind)
    if row is None:
        known = ", ".join(sorted(_KINDS))
        raise InvalidMarketId(
            market_id, "kind", f"{kind!r} is not one of {known} (or a plain stock symbol)"
        )
    counts, parser, shape = row
    if len(parts) not in counts:
        raise InvalidMarketId(market_id, "format", f"expected {shape}")
    return parser(market_id, parts)


def parse_market_id(market_id: str) -> Contract:
    """The unqualified ib_async contract a market id names; `InvalidMarketId` names the part.

    Lowercase kinds, symbols, rights and exchanges are accepted and upper-cased, because IB
    symbols are upper case and a lowercase "aapl" is a typo, not another instrument.
    """
    return _parse(market_id)[0]


def canonical_market_id(market_id: str) -> str:
    """The one spelling of a market id: upper case, shortest strike, USD left implicit.

    Two ids name the same instrument iff their canonical forms are equal, so caches and
    position maps key on this, never on what the user typed. Cached: every submit asks.
    """
    if not isinstance(market_id, str):
        return _parse(market_id)[1]  # raises InvalidMarketId, typed (a list is unhashable)
    return _canonical(market_id)


@functools.lru_cache(maxsize=8192)
def _canonical(market_id: str) -> str:
    return _parse(market_id)[1]


# ---------------------------------------------------------------------------------------------
# reverse: a qualified contract -> market id


def _opaque_id(c: Contract) -> str:
    return f"{c.secType}:{c.localSymbol or c.symbol}:{c.conId}"


def _strike_of(value: float) -> Decimal:
    return Decimal(repr(float(value)))


def market_id_of(contract: Contract) -> str:
    """The market id of a QUALIFIED contract (positions, fills of contracts never asked for).

    Contracts with no readable form (other security types, a future whose exchange IB left
    blank) get the opaque ``{secType}:{localSymbol or symbol}:{conId}``: still unique, and
    `parse_market_id` turns it back into a conId-only contract.
    """
    sec = contract.secType
    cur = contract.currency or DEFAULT_CURRENCY
    if sec == "STK" and contract.symbol:
        sym = contract.symbol.upper()
        return sym if cur == DEFAULT_CURRENCY else f"STK:{sym}:{cur}"
    if sec == "OPT":
        right = _RIGHTS.get(contract.right.upper())
        expiry = contract.lastTradeDateOrContractMonth[:8]
        if contract.symbol and right and len(expiry) == 8 and contract.strike > 0:
            strike = format_strike(_strike_of(contract.strike))
            return _with_currency(["OPT", contract.symbol.upper(), expiry, strike, right], cur)
    if sec == "FUT":
        exch = contract.exchange or contract.primaryExchange
        month = contract.lastTradeDateOrContractMonth[:6]
        if contract.symbol and exch and len(month) == 6:
            return _with_currency(["FUT", contract.symbol.upper(), month, exch.upper()], cur)
    if sec == "CASH" and contract.symbol and contract.currency:
        return f"FX:{contract.symbol.upper()}.{contract.currency.upper()}"
    return _opaque_id(contract)
