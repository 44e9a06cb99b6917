"""Order conditions: parsed from placeOrder's text fields, then evaluated as IB evaluates them.

TWS API "Order Conditions": an order with conditions is accepted and held (PreSubmitted)
until its conditions are met, then it is submitted (or, with conditionsCancelOrder, it is
cancelled instead). Each condition carries a conjunction, "a" (and) or "o" (or), that joins
it to the *next* one; the chain is read left to right, without precedence. The condition
types and their wire layouts (conjunction first) are those of IB's `OrderCondition.make_fields`:

* 1 price: isMore, price, conId, exchange, triggerMethod
* 3 time: isMore, time ("yyyymmdd hh:mm:ss zone", or "yyyymmdd-hh:mm:ss" in UTC)
* 4 margin: isMore, percent (the account's margin cushion, in percent)
* 5 execution: secType, exchange, symbol (a fill of that instrument in the account)
* 6 volume: isMore, volume, conId, exchange (the instrument's volume of the day)
* 7 percent change: isMore, changePercent, conId, exchange (last vs the previous close)

Pure: the engine supplies what a condition looks at through `MarketView`; the one piece of
state, how many consecutive price updates a "double" trigger method has seen, lives in
`ChainState` on the order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from .model import ConditionRequest, Execution, Quote
from .timeparse import parse_ib_time

PRICE, TIME, MARGIN, EXECUTION, VOLUME, PERCENT_CHANGE = 1, 3, 4, 5, 6, 7

# IB's trigger methods (TWS API "Trigger Methods"; ibapi's PriceCondition.TriggerMethodEnum)
DEFAULT, DOUBLE_BID_ASK, LAST, DOUBLE_LAST, BID_ASK, LAST_BID_ASK, MIDPOINT = 0, 1, 2, 3, 4, 7, 8
TRIGGER_METHODS = frozenset({DEFAULT, DOUBLE_BID_ASK, LAST, DOUBLE_LAST, BID_ASK, LAST_BID_ASK,
                             MIDPOINT})  # fmt: skip
# IB: "the double bid/ask method is used for OTC stocks and US options; all others use last"
_DEFAULT_DOUBLE_BID_ASK = frozenset({"OPT", "FOP"})


class ConditionError(ValueError):
    """A condition the gateway cannot read; the engine rejects the order with it."""


@dataclass(frozen=True, slots=True)
class Condition:
    """One parsed condition. `value` is the price, percent, volume or epoch time it compares
    with (unused by execution conditions, which match `sec_type`/`exchange`/`symbol`)."""

    kind: int
    conjunction: str  # "a" | "o": how it joins the next condition
    is_more: bool = True
    value: Decimal = Decimal(0)
    con_id: int = 0
    exchange: str = ""
    trigger_method: int = DEFAULT
    sec_type: str = ""
    symbol: str = ""


@dataclass(frozen=True, slots=True)
class MarketView:
    """What conditions look at, as the engine's callables: the clock, an instrument's quote,
    its update count and security type, an account's margin cushion (a fraction), and the
    executions from a journal position on."""

    now: Callable[[], float]
    quote: Callable[[int], Quote]
    version: Callable[[int], int]
    sec_type: Callable[[int], str]
    cushion: Callable[[str], Decimal]
    executions_since: Callable[[int], Sequence[Execution]]


@dataclass(slots=True)
class ChainState:
    """Per order: the journal position at placement (execution conditions count only later
    fills) and, per condition, the last quote version seen and how many updates in a row held
    (the "double" trigger methods need two)."""

    exec_mark: int
    seen: list[int] = field(default_factory=list)
    runs: list[int] = field(default_factory=list)


def _flag(text: str) -> bool:
    t = text.strip().lower()
    if t in ("1", "true"):
        return True
    if t in ("0", "false", ""):
        return False
    raise ConditionError(f"not a flag: {text!r}")


def _number(text: str, what: str) -> Decimal:
    try:
        d = Decimal(text.strip())
    except InvalidOperation:
        raise ConditionError(f"{what} {text!r} is not a number") from None
    if not d.is_finite():
        raise ConditionError(f"{what} {text!r} is not a number")
    return d


def _con_id(text: str) -> int:
    try:
        con_id = int(text.strip())
    except ValueError:
        raise ConditionError(f"conId {text!r} is not a number") from None
    if con_id <= 0:
        raise ConditionError(f"conId {text!r} names no contract")
    return con_id


def parse(raw: ConditionRequest, timezone: str) -> Condition:
    """One condition from its wire fields; ConditionError when it cannot be read."""
    v = raw.values
    conjunction = v[0].strip().lower() if v else ""
    if conjunction not in ("a", "o"):
        raise ConditionError(f"conjunction {conjunction!r} is neither 'a' nor 'o'")
    k = raw.cond_type
    if k == PRICE:
        method = int(_number(v[5], "triggerMethod"))
        if method not in TRIGGER_METHODS:
            raise ConditionError(f"trigger method {method} is not one of IB's")
        return Condition(PRICE, conjunction, _flag(v[1]), _number(v[2], "price"),
                         _con_id(v[3]), v[4], method)  # fmt: skip
    if k == TIME:
        try:
            at = parse_ib_time(v[2], timezone)
        except ValueError as exc:
            raise ConditionError(f"time {v[2]!r}: {exc}") from None
        return Condition(TIME, conjunction, _flag(v[1]), Decimal(repr(at)))
    if k == MARGIN:
        return Condition(MARGIN, conjunction, _flag(v[1]), _number(v[2], "percent"))
    if k == EXECUTION:
        sec_type, exchange, symbol = (x.strip().upper() for x in v[1:4])
        if not symbol:
            raise ConditionError("an execution condition needs a symbol")
        return Condition(EXECUTION, conjunction, exchange=exchange, sec_type=sec_type,
                         symbol=symbol)  # fmt: skip
    if k in (VOLUME, PERCENT_CHANGE):
        what = "volume" if k == VOLUME else "changePercent"
        return Condition(k, conjunction, _flag(v[1]), _number(v[2], what), _con_id(v[3]), v[4])
    raise ConditionError(f"condition type {k} is not one of IB's")


class UnknownContract(ConditionError):
    """A condition watches a conId the gateway does not know (IB answers error 200)."""


def parse_all(
    raws: Sequence[ConditionRequest], timezone: str, known: Callable[[int], bool]
) -> tuple[Condition, ...]:
    """Every condition of an order; ConditionError for one that cannot be read,
    UnknownContract for one watching an instrument `known` does not hold."""
    if not raws:  # most orders: no generator, set or sort to make
        return ()
    try:
        out = tuple(parse(r, timezone) for r in raws)
    except IndexError:
        raise ConditionError("a condition has too few fields") from None
    for con_id in sorted(watched(out)):
        if not known(con_id):
            raise UnknownContract(f"no contract {con_id}")
    return out


def watched(conditions: Sequence[Condition]) -> set[int]:
    """The conIds whose prices or volume the conditions read."""
    return {c.con_id for c in conditions if c.con_id}


def price_seen(c: Condition, q: Quote, sec_type: str) -> bool:
    """Whether one quote update satisfies a price condition, by its trigger method. Above
    ("isMore") reads the ask and below the bid where a method reads the quote, as a buy
    stop triggers on the ask and a sell stop on the bid (TWS API "Trigger Methods")."""
    method = c.trigger_method
    if method == DEFAULT:
        method = DOUBLE_BID_ASK if sec_type in _DEFAULT_DOUBLE_BID_ASK else LAST
    quote_side = q.ask if c.is_more else q.bid

    def hit(price: Decimal) -> bool:
        return price >= c.value if c.is_more else price <= c.value

    if method in (LAST, DOUBLE_LAST):
        return hit(q.last)
    if method in (BID_ASK, DOUBLE_BID_ASK):
        return hit(quote_side)
    if method == LAST_BID_ASK:
        return hit(q.last) or hit(quote_side)
    return hit((q.bid + q.ask) / 2)  # MIDPOINT


def _needs_two(c: Condition, sec_type: str) -> bool:
    method = c.trigger_method
    if method == DEFAULT:
        return sec_type in _DEFAULT_DOUBLE_BID_ASK
    return method in (DOUBLE_BID_ASK, DOUBLE_LAST)


def _compare(is_more: bool, actual: Decimal, wanted: Decimal) -> bool:
    return actual >= wanted if is_more else actual <= wanted


def holds(c: Condition, i: int, view: MarketView, account: str, state: ChainState) -> bool:
    """Whether condition `i` of the chain holds now (updating its run of price updates)."""
    if c.kind == PRICE:
        q = view.quote(c.con_id)
        sec_type = view.sec_type(c.con_id)
        version = view.version(c.con_id)
        if version != state.seen[i]:  # a new quote update: one more (or no) hit in a row
            state.seen[i] = version
            state.runs[i] = state.runs[i] + 1 if price_seen(c, q, sec_type) else 0
        return state.runs[i] >= (2 if _needs_two(c, sec_type) else 1)
    if c.kind == TIME:
        now = Decimal(repr(view.now()))
        return now >= c.value if c.is_more else now <= c.value
    if c.kind == MARGIN:
        return _compare(c.is_more, view.cushion(account) * 100, c.value)
    if c.kind == EXECUTION:
        return any(_executed(c, ex, account) for ex in view.executions_since(state.exec_mark))
    q = view.quote(c.con_id)
    if c.kind == VOLUME:
        return _compare(c.is_more, q.volume, c.value)
    if not q.close:
        return False
    return _compare(c.is_more, (q.last - q.close) / q.close * 100, c.value)


def _executed(c: Condition, ex: Execution, account: str) -> bool:
    """A fill of the condition's instrument in the order's account ("SMART" or no exchange
    matches wherever it executed)."""
    spec = ex.contract
    return (
        (not account or ex.account == account)
        and spec.symbol == c.symbol
        and (not c.sec_type or spec.sec_type == c.sec_type)
        and (c.exchange in ("", "SMART") or c.exchange in (ex.exchange, spec.exchange))
    )


def chain_holds(
    conditions: Sequence[Condition], view: MarketView, account: str, state: ChainState
) -> bool:
    """The chain read left to right: each condition's conjunction joins it to the next.
    Every condition is looked at on every pass, so the double methods count each update."""
    if len(state.runs) != len(conditions):
        state.runs = [0] * len(conditions)
        state.seen = [-1] * len(conditions)
    result = False
    joiner = "a"
    for i, c in enumerate(conditions):
        now = holds(c, i, view, account, state)
        result = now if i == 0 else (result and now) if joiner == "a" else (result or now)
        joiner = c.conjunction
    return result
