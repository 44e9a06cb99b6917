"""IB Algos: the strategy and parameters of an algo order checked as IB checks them, then the
order worked in slices over time on the instrument's price path.

TWS API "IB Algos" names the strategies and their parameters (the same tags IB's own
`AvailableAlgoParams` samples send):

* Adaptive: adaptivePriority Urgent | Normal | Patient; a market or limit order.
* Twap: strategyType Marketable | Matching Midpoint | Matching Same Side | Matching Last,
  startTime, endTime, allowPastEndTime. "Trades evenly over the time period."
* Vwap: maxPctVol (0.1-0.5), startTime, endTime, allowPastEndTime, noTakeLiq. Follows the
  day's volume profile, never more than maxPctVol of the volume traded.
* ArrivalPx: maxPctVol, riskAversion Get Done | Aggressive | Neutral | Passive, startTime,
  endTime, forceCompletion, allowPastEndTime. Trades toward the arrival price, the more
  risk averse the earlier.
* ClosePx: maxPctVol, riskAversion, startTime, forceCompletion. Trades toward the close.
* PctVol: pctVol (0.1-0.5), startTime, endTime, noTakeLiq. Participates at pctVol of the
  volume traded.

Without a startTime the algo starts at once; without an endTime it runs to the end of the
regular session (IB: "the algo runs until the end of the day"). A slice is an execution of
the parent order (IB reports an algo's fills under its own order id); the parent's status
carries the cumulative quantity. Unfilled at the end time, the rest is cancelled unless
allowPastEndTime (or forceCompletion, which trades the rest at the end).

The model is ours and deterministic: a slice executes in full at the price its strategy
works at (the touch when it takes liquidity, its own side of the quote when it must not,
the midpoint or the last trade when it matches those), never through the order's limit.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from .model import OrderRequest, Quote
from .path import SyntheticPath
from .sessions import Calendar
from .timeparse import ib_zone, parse_ib_time

ADAPTIVE, TWAP, VWAP, ARRIVAL, CLOSE, PCT_VOL = (
    "Adaptive", "Twap", "Vwap", "ArrivalPx", "ClosePx", "PctVol")  # fmt: skip
# each strategy's parameters (IB's AvailableAlgoParams); other tags are ignored, as TWS does
# for tags a strategy does not read
PARAMS: Mapping[str, frozenset[str]] = {
    ADAPTIVE: frozenset({"adaptivePriority"}),
    TWAP: frozenset({"strategyType", "startTime", "endTime", "allowPastEndTime"}),
    VWAP: frozenset(
        {"maxPctVol", "startTime", "endTime", "allowPastEndTime", "noTakeLiq", "speedUp"}
    ),
    ARRIVAL: frozenset(
        {"maxPctVol", "riskAversion", "startTime", "endTime", "forceCompletion",
         "allowPastEndTime"}
    ),
    CLOSE: frozenset({"maxPctVol", "riskAversion", "startTime", "forceCompletion"}),
    PCT_VOL: frozenset({"pctVol", "startTime", "endTime", "noTakeLiq"}),
}
# Adaptive: the quote updates it waits at the midpoint before it takes the touch
PATIENCE: Mapping[str, int] = {"Urgent": 0, "Normal": 1, "Patient": 3}
TWAP_STYLES = frozenset({"Marketable", "Matching Midpoint", "Matching Same Side",
                         "Matching Last"})  # fmt: skip
# the exponent of a schedule's time fraction: ArrivalPx front-loads (below 1) the more risk
# averse it is; ClosePx back-loads (above 1) the less urgent it is
ARRIVAL_CURVE: Mapping[str, Decimal] = {
    "Get Done": Decimal("0.25"), "Aggressive": Decimal("0.5"),
    "Neutral": Decimal("0.75"), "Passive": Decimal(1),
}  # fmt: skip
CLOSE_CURVE: Mapping[str, Decimal] = {
    "Get Done": Decimal(1), "Aggressive": Decimal(2), "Neutral": Decimal(3), "Passive": Decimal(4),
}  # fmt: skip
PCT_RANGE = (Decimal("0.1"), Decimal("0.5"))
_PROFILE_BINS = 64


class AlgoError(ValueError):
    """An algo IB would refuse; the text is the reason the rejection carries."""


@dataclass(frozen=True, slots=True)
class AlgoPlan:
    """An algo order's checked parameters; times in epoch seconds. `profile` is the expected
    share of [start, end]'s volume traded by each of its equal bins (Vwap only)."""

    strategy: str
    start: float
    end: float
    priority: str = "Normal"
    style: str = "Marketable"
    risk: str = "Neutral"
    max_pct: Decimal | None = None
    pct: Decimal | None = None
    allow_past_end: bool = False
    force_completion: bool = False
    no_take_liq: bool = False
    profile: tuple[float, ...] = ()


@dataclass(slots=True)
class AlgoState:
    """The mutable part: the day volume when the algo began (participation counts from
    there) and, for Adaptive, the midpoint it rests at and the updates it has waited."""

    plan: AlgoPlan
    volume_mark: Decimal | None = None
    waited: int = 0
    seen: int = -1
    resting: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Slice:
    """What to execute now: quantity (0 = nothing), price and liquidity flag; `expire` when
    the algo's time is up and the rest must be cancelled."""

    qty: Decimal
    price: Decimal = Decimal(0)
    liquidity: int = 2
    expire: bool = False


NOTHING = Slice(Decimal(0))


def _choice(params: Mapping[str, str], tag: str, allowed: Sequence[str], default: str) -> str:
    value = params.get(tag, "").strip() or default
    if value not in allowed:
        raise AlgoError(f"Invalid value {value!r} for algo parameter {tag}; expected one of "
                        f"{', '.join(allowed)}")  # fmt: skip
    return value


def _rate(params: Mapping[str, str], tag: str) -> Decimal | None:
    text = params.get(tag, "").strip()
    if not text:
        return None
    try:
        rate = Decimal(text)
    except ArithmeticError:
        raise AlgoError(f"Invalid value {text!r} for algo parameter {tag}") from None
    lo, hi = PCT_RANGE
    if not rate.is_finite() or not lo <= rate <= hi:
        raise AlgoError(f"Algo parameter {tag} must be between {lo} and {hi}, not {text}")
    return rate


def _flag(params: Mapping[str, str], tag: str) -> bool:
    return params.get(tag, "").strip().lower() in ("1", "true")


def _time(params: Mapping[str, str], tag: str, now: float, timezone: str) -> float | None:
    """IB's algo times: "hh:mm:ss zone" (today, in that zone) or a full IB time string."""
    text = params.get(tag, "").strip()
    if not text:
        return None
    try:
        if ":" in text.split()[0] and "-" not in text:
            parts = text.split()
            zone = parts[1] if len(parts) > 1 else timezone
            day = dt.datetime.fromtimestamp(now, ib_zone(zone)).strftime("%Y%m%d")
            return parse_ib_time(f"{day} {parts[0]} {zone}", timezone)
        return parse_ib_time(text, timezone)
    except ValueError as exc:
        raise AlgoError(f"Invalid algo parameter {tag} {text!r}: {exc}") from None


def make_plan(
    strategy: str,
    params: Sequence[tuple[str, str]],
    order_type: str,
    *,
    now: float,
    session_end: float,
    timezone: str,
    profile: Callable[[float], float] | None = None,
) -> AlgoPlan:
    """The checked plan of an algo order placed at `now`; AlgoError when IB would refuse it.
    `session_end` is today's regular close (the default end); `profile` the market model's
    volume profile, relative volume at a time (Vwap)."""
    if strategy not in PARAMS:
        raise AlgoError(f"Invalid algo strategy {strategy!r}; IB algos: {', '.join(PARAMS)}")
    if order_type not in ("MKT", "LMT"):
        raise AlgoError(f"The {strategy} algo works market and limit orders, not {order_type}")
    p = dict(params)
    start = _time(p, "startTime", now, timezone)
    end = _time(p, "endTime", now, timezone) if strategy != CLOSE else None
    begin = max(start if start is not None else now, now)
    finish = end if end is not None else max(session_end, begin + 1)
    if strategy == CLOSE:
        finish = session_end
    if strategy != ADAPTIVE and begin >= finish:
        raise AlgoError("The algo start time must be before its end time")
    plan = AlgoPlan(
        strategy=strategy,
        start=begin,
        end=finish,
        priority=_choice(p, "adaptivePriority", tuple(PATIENCE), "Normal"),
        style=_choice(p, "strategyType", sorted(TWAP_STYLES), "Marketable"),
        risk=_choice(p, "riskAversion", tuple(ARRIVAL_CURVE), "Neutral"),
        max_pct=_rate(p, "maxPctVol"),
        pct=_rate(p, "pctVol"),
        allow_past_end=_flag(p, "allowPastEndTime"),
        force_completion=_flag(p, "forceCompletion"),
        no_take_liq=_flag(p, "noTakeLiq"),
    )
    if strategy == PCT_VOL and plan.pct is None:
        raise AlgoError("The PctVol algo needs pctVol")
    if strategy == VWAP and profile is not None:
        plan = _with_profile(plan, profile)
    return plan


def state_for(
    req: OrderRequest, calendar: Calendar, now: float, timezone: str
) -> AlgoState | None:
    """The algo working `req` (None without one), its end by default the regular close of
    the session trading now or next, Vwap's profile the market model's (the U the path's
    volume is drawn on)."""
    if not req.algo_strategy:
        return None
    day = next(d for d in calendar.days(now, now + 10 * 86400) if d.rth_end > now)
    plan = make_plan(
        req.algo_strategy,
        req.algo_params,
        req.order_type,
        now=now,
        session_end=day.rth_end,
        timezone=timezone,
        profile=lambda t: SyntheticPath._profile(day, t),
    )
    return AlgoState(plan)


def _with_profile(plan: AlgoPlan, profile: Callable[[float], float]) -> AlgoPlan:
    width = (plan.end - plan.start) / _PROFILE_BINS
    weights = [profile(plan.start + (i + 0.5) * width) for i in range(_PROFILE_BINS)]
    total = sum(weights) or 1.0
    return dataclasses.replace(plan, profile=tuple(w / total for w in weights))


def _elapsed(plan: AlgoPlan, now: float) -> Decimal:
    """The share of [start, end] gone by, on the time grid of whole milliseconds."""
    f = min(max((now - plan.start) / (plan.end - plan.start), 0.0), 1.0)
    return Decimal(round(f * 1000)) / 1000


def _volume_share(plan: AlgoPlan, now: float) -> Decimal:
    """Vwap: the share of the window's expected volume that the profile puts before `now`."""
    if not plan.profile:
        return _elapsed(plan, now)
    x = min(max((now - plan.start) / (plan.end - plan.start), 0.0), 1.0) * _PROFILE_BINS
    whole = int(x)
    share = sum(plan.profile[:whole])
    if whole < _PROFILE_BINS:
        share += plan.profile[whole] * (x - whole)
    return Decimal(round(share * 1000)) / 1000


def target(plan: AlgoPlan, state: AlgoState, now: float, total: Decimal, volume: Decimal
           ) -> Decimal:  # fmt: skip
    """How much of `total` the schedule wants done by `now` (before rounding), `volume`
    being the instrument's volume of the day so far."""
    if state.volume_mark is None:
        state.volume_mark = volume
    traded = max(volume - state.volume_mark, Decimal(0))
    f = _elapsed(plan, now)
    s = plan.strategy
    if s == PCT_VOL:
        assert plan.pct is not None
        return min(plan.pct * traded, total)
    if s == TWAP:
        want = total * f
    elif s == VWAP:
        want = total * _volume_share(plan, now)
    elif s == ARRIVAL:
        want = total * f ** ARRIVAL_CURVE[plan.risk] if f else Decimal(0)
    else:  # CLOSE
        want = total * f ** CLOSE_CURVE[plan.risk]
    if plan.max_pct is not None:
        want = min(want, plan.max_pct * traded)
    if now >= plan.end and plan.force_completion:
        want = total
    return min(want, total)


def completes_at_close(state: AlgoState) -> bool:
    """A ClosePx with forceCompletion trades what is left in the closing auction."""
    return state.plan.strategy == CLOSE and state.plan.force_completion


def _own_side(quote: Quote, side: int) -> Decimal:
    return quote.bid if side > 0 else quote.ask


def _touch(quote: Quote, side: int) -> Decimal:
    return quote.ask if side > 0 else quote.bid


def slice_price(plan: AlgoPlan, quote: Quote, side: int) -> tuple[Decimal, int]:
    """Where the strategy's slices execute, and whether they add (1) or take (2) liquidity."""
    s = plan.strategy
    if s == TWAP:
        return {
            "Marketable": (_touch(quote, side), 2),
            "Matching Midpoint": ((quote.bid + quote.ask) / 2, 1),
            "Matching Same Side": (_own_side(quote, side), 1),
            "Matching Last": (quote.last, 1),
        }[plan.style]
    if plan.no_take_liq:
        return _own_side(quote, side), 1
    if s == VWAP:
        return quote.last, 2
    return _touch(quote, side), 2


def within(price: Decimal, side: int, limit: Decimal | None) -> bool:
    return limit is None or (price <= limit if side > 0 else price >= limit)


def next_slice(
    state: AlgoState,
    *,
    now: float,
    side: int,
    total: Decimal,
    filled: Decimal,
    quote: Quote,
    version: int,
    limit: Decimal | None,
    tick: Decimal,
    increment: Decimal,
) -> Slice:
    """The slice to execute at this evaluation (`version` is the book's update count)."""
    plan = state.plan
    if plan.strategy == ADAPTIVE:
        return _adaptive(state, side, total - filled, quote, version, limit, tick)
    if now < plan.start:
        return NOTHING
    want = target(plan, state, now, total, quote.volume)
    qty = ((want - filled) / increment).to_integral_value(ROUND_FLOOR) * increment
    price, liquidity = slice_price(plan, quote, side)
    if now >= plan.end and plan.force_completion:
        price, liquidity = quote.last, 2  # the rest at the end (the close, for ClosePx)
    expire = now >= plan.end and not plan.allow_past_end and not plan.force_completion
    if qty <= 0 or not within(price, side, limit):
        return Slice(Decimal(0), expire=expire)
    return Slice(qty, price, liquidity, expire and filled + qty < total)


def _adaptive(state: AlgoState, side: int, remaining: Decimal, quote: Quote, version: int,
              limit: Decimal | None, tick: Decimal) -> Slice:  # fmt: skip
    """Adaptive tries for a better price first: it rests at the midpoint (on the grid, on
    its own side) for as many quote updates as its priority allows, filling there if the
    market trades at or through it, then takes the touch; never through its limit."""
    update = version != state.seen
    state.seen = version
    if update and state.resting is not None and within(quote.last, side, state.resting):
        return Slice(remaining, state.resting, 1)  # the market came to the resting price
    touch = _touch(quote, side)
    if state.waited >= PATIENCE[state.plan.priority] and within(touch, side, limit):
        return Slice(remaining, touch, 2)
    mid = (quote.bid + quote.ask) / 2
    steps = (mid / tick).to_integral_value(ROUND_FLOOR if side > 0 else ROUND_CEILING)
    resting = (steps * tick).quantize(tick)
    if limit is not None and not within(resting, side, limit):
        resting = limit
    state.resting = resting
    if update:
        state.waited += 1
    return NOTHING
