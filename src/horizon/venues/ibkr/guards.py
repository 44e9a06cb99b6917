"""Pre-trade guards: rules checked before a byte of an order leaves the process.

Every rule is off until configured (`Guards(...)`, passed as `Ibkr(..., guards=...)`), and a
refusal is an `OrderRefused` naming the rule, so a strategy can tell a fat finger from a kill
switch. The checks are pure functions of the order, a reference price and the day's tally;
`PreTradeGuards` keeps that tally (per account, reset at midnight in the configured zone).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from horizon.core.enums import OrderType, Side
from horizon.core.types import OrderAction
from horizon.errors import ConfigurationError, OrderRefused
from horizon.venues.ibkr.readiness import RestartWindow


@dataclass(frozen=True, slots=True, kw_only=True)
class Guards:
    """The pre-trade rules of one venue. Every field off (None / empty) by default."""

    max_order_quantity: Decimal | None = None
    max_order_notional: Decimal | None = None  # quantity x price (x multiplier) per order
    max_orders_per_day: int | None = None  # per account
    max_notional_per_day: Decimal | None = None  # per account, summed over the day's orders
    allowed_markets: frozenset[str] = frozenset()  # canonical market ids; empty: any
    # fat finger: a limit (or stop) more than this % through the quote is refused
    price_band_pct: Decimal | None = None
    # a market order needs a quote no older than this (seconds); None: not required
    market_order_quote_age_s: float | None = None
    kill_switch_file: str | Path | None = None  # while this file exists, new orders refused
    restart_window: RestartWindow | None = None  # around the gateway's daily restart ...
    restart_window_action: str = "refuse"  # ... "refuse" new orders, or "hold" them until after
    day_zone: str = "America/New_York"  # where "per day" starts and ends

    def __post_init__(self) -> None:
        for name in ("max_order_quantity", "max_order_notional", "max_notional_per_day",
                     "price_band_pct"):  # fmt: skip
            value = getattr(self, name)
            if value is not None:
                if isinstance(value, float) or not isinstance(value, (Decimal, int)):
                    raise ConfigurationError(f"{name} must be a Decimal or int, got {value!r}")
                if value <= 0:
                    raise ConfigurationError(f"{name} must be positive, got {value!r}")
                object.__setattr__(self, name, Decimal(value))
        if self.max_orders_per_day is not None and self.max_orders_per_day < 1:
            raise ConfigurationError(
                f"max_orders_per_day must be at least 1, got {self.max_orders_per_day!r}"
            )
        if self.restart_window_action not in ("refuse", "hold"):
            raise ConfigurationError(
                f"restart_window_action must be 'refuse' or 'hold', got "
                f"{self.restart_window_action!r}"
            )
        object.__setattr__(self, "allowed_markets", frozenset(self.allowed_markets))
        try:
            ZoneInfo(self.day_zone)
        except Exception as exc:
            raise ConfigurationError(f"day_zone {self.day_zone!r} is not an IANA zone") from exc

    @property
    def needs_price(self) -> bool:
        """Whether a check needs a reference price (a quote) for the order's market."""
        return bool(
            self.max_order_notional
            or self.max_notional_per_day
            or self.price_band_pct
            or self.market_order_quote_age_s is not None
        )


@dataclass(frozen=True, slots=True)
class Reference:
    """What the venue knows of the market when an order is checked."""

    bid: Decimal | None
    ask: Decimal | None
    last: Decimal | None
    age_s: float | None  # seconds since the quote; None: no quote
    multiplier: Decimal = Decimal(1)

    @property
    def mid(self) -> Decimal | None:
        if self.bid is not None and self.ask is not None:
            return (self.bid + self.ask) / 2
        return self.last


@dataclass(slots=True)
class _Day:
    date: date | None = None
    orders: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    notional: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))


def order_price(action: OrderAction, ref: Reference | None) -> Decimal | None:
    """The price an order's notional is judged at: its own limit or stop, else the quote
    side it would take (ask for a buy, bid for a sell), else the last trade."""
    own = action.limit_price or action.stop_price
    if own is not None:
        return own
    if ref is None:
        return None
    side = ref.ask if action.side is Side.BUY else ref.bid
    return side if side is not None else ref.mid


class PreTradeGuards:
    """The rules and the day's tally of one venue."""

    def __init__(self, guards: Guards) -> None:
        self.guards = guards
        self._day = _Day()
        self._killed: str | None = None  # why the kill switch was thrown by a call

    # -- the kill switch --------------------------------------------------------------------

    def kill(self, reason: str) -> None:
        self._killed = reason

    def resume(self) -> None:
        self._killed = None

    def killed(self) -> str | None:
        """Why new orders are refused now (a call or the kill-switch file), or None."""
        if self._killed is not None:
            return self._killed
        path = self.guards.kill_switch_file
        if path is not None and Path(path).exists():
            return f"the kill-switch file {path} exists"
        return None

    # -- checks -----------------------------------------------------------------------------

    def in_restart_window(self, now: datetime) -> bool:
        window = self.guards.restart_window
        return window is not None and window.contains(now)

    def check(
        self,
        action: OrderAction,
        *,
        market_id: str,
        account: str,
        ref: Reference | None,
        now: datetime,
    ) -> Decimal | None:
        """Raise OrderRefused for the first rule `action` breaks; return its notional (None
        if no price is known)."""
        g = self.guards
        why = self.killed()
        if why is not None:
            raise OrderRefused("kill_switch", f"new orders are refused: {why}")
        if g.allowed_markets and market_id not in g.allowed_markets:
            raise OrderRefused(
                "allowed_markets", f"{market_id} is not among the allowed markets"
            )
        if g.max_order_quantity is not None and action.quantity > g.max_order_quantity:
            raise OrderRefused(
                "max_order_quantity",
                f"quantity {action.quantity} is above the limit of {g.max_order_quantity}",
            )
        if action.order_type is OrderType.MARKET and g.market_order_quote_age_s is not None:
            if ref is None or ref.age_s is None:
                raise OrderRefused("market_order_quote", f"no quote is known for {market_id}")
            if ref.age_s > g.market_order_quote_age_s:
                raise OrderRefused(
                    "market_order_quote",
                    f"the quote of {market_id} is {ref.age_s:.1f} s old (at most "
                    f"{g.market_order_quote_age_s:g} s)",
                )
        if g.price_band_pct is not None:
            _check_band(action, ref, g.price_band_pct, market_id)
        price = order_price(action, ref)
        notional = None
        if price is not None:
            notional = action.quantity * price * (ref.multiplier if ref else Decimal(1))
        if g.max_order_notional is not None:
            if notional is None:
                raise OrderRefused(
                    "max_order_notional", f"no price is known for {market_id} to judge it by"
                )
            if notional > g.max_order_notional:
                raise OrderRefused(
                    "max_order_notional",
                    f"notional {notional:f} is above the limit of {g.max_order_notional}",
                )
        day = self._today(now)
        if g.max_orders_per_day is not None and day.orders[account] >= g.max_orders_per_day:
            raise OrderRefused(
                "max_orders_per_day",
                f"{account} placed {day.orders[account]} orders today (at most "
                f"{g.max_orders_per_day})",
            )
        if g.max_notional_per_day is not None:
            spent = day.notional[account]
            if notional is None:
                raise OrderRefused(
                    "max_notional_per_day", f"no price is known for {market_id} to judge it by"
                )
            if spent + notional > g.max_notional_per_day:
                raise OrderRefused(
                    "max_notional_per_day",
                    f"{account}'s notional today would reach {spent + notional:f} (at most "
                    f"{g.max_notional_per_day})",
                )
        return notional

    def record(self, account: str, notional: Decimal | None, now: datetime) -> None:
        """Count a placed order in the day's tally."""
        day = self._today(now)
        day.orders[account] += 1
        if notional is not None:
            day.notional[account] += notional

    def _today(self, now: datetime) -> _Day:
        today = now.astimezone(ZoneInfo(self.guards.day_zone)).date()
        if self._day.date != today:
            self._day = _Day(date=today)
        return self._day


def _check_band(
    action: OrderAction, ref: Reference | None, band: Decimal, market_id: str
) -> None:
    price = action.limit_price
    if price is None:
        return  # a market or stop order has no limit to be fat-fingered
    anchor = None
    if ref is not None:
        anchor = ref.ask if action.side is Side.BUY else ref.bid
        anchor = anchor if anchor is not None else ref.mid
    if anchor is None or anchor <= 0:
        raise OrderRefused("price_band", f"no quote is known for {market_id} to judge it by")
    through = (price - anchor) / anchor * 100
    if action.side is Side.SELL:
        through = -through
    if through > band:
        raise OrderRefused(
            "price_band",
            f"{action.side.value} at {price} is {through:.2f}% through the quote {anchor} "
            f"(at most {band}%)",
        )
