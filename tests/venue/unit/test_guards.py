"""Pre-trade rules (pure): each refusal names its rule; nothing is refused that no rule covers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from horizon.core import OrderAction
from horizon.errors import ConfigurationError, OrderRefused
from horizon.venues.ibkr.guards import Guards, PreTradeGuards, Reference, order_price
from horizon.venues.ibkr.readiness import RestartWindow

NOW = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
QUOTE = Reference(bid=Decimal("189.99"), ask=Decimal("190.01"), last=Decimal("190.00"), age_s=0.5)


def buy(qty: int = 10, **kw: object) -> OrderAction:
    return OrderAction(market_id="AAPL", side="buy", quantity=qty, **kw)  # type: ignore[arg-type]


def check(guards: Guards, action: OrderAction, ref: Reference | None = QUOTE,
          account: str = "DU1") -> Decimal | None:
    return PreTradeGuards(guards).check(action, market_id="AAPL", account=account, ref=ref,
                                        now=NOW)


def refused(guards: Guards, action: OrderAction, ref: Reference | None = QUOTE) -> str:
    with pytest.raises(OrderRefused) as err:
        check(guards, action, ref)
    return err.value.rule


def test_nothing_is_refused_without_rules() -> None:
    assert check(Guards(), buy(10**6)) == Decimal(10**6) * Decimal("190.01")
    assert check(Guards(), buy(1), ref=None) is None


def test_quantity_notional_and_allowlist() -> None:
    assert refused(Guards(max_order_quantity=Decimal(5)), buy(6)) == "max_order_quantity"
    assert check(Guards(max_order_quantity=Decimal(5)), buy(5)) is not None
    notional = Guards(max_order_notional=Decimal(1000))
    assert refused(notional, buy(6)) == "max_order_notional"  # 6 x 190.01 at the ask
    assert check(notional, buy(5)) == Decimal("950.05")
    assert refused(notional, buy(1), ref=None) == "max_order_notional"  # no price: refused
    assert check(notional, buy(5, order_type="limit", limit_price="199.00"), ref=None) == 995
    assert refused(Guards(allowed_markets=frozenset({"MSFT"})), buy()) == "allowed_markets"


def test_the_price_band_catches_a_fat_finger_through_the_quote() -> None:
    band = Guards(price_band_pct=Decimal(5))
    assert check(band, buy(1, order_type="limit", limit_price="199.00")) is not None  # 4.7 %
    assert refused(band, buy(1, order_type="limit", limit_price="210.00")) == "price_band"
    assert check(band, buy(1, order_type="limit", limit_price="100.00")) is not None  # passive
    sell = OrderAction(market_id="AAPL", side="sell", quantity=1, order_type="limit",
                       limit_price="170.00")
    assert refused(band, sell) == "price_band"  # 10.5 % below the bid
    assert refused(band, buy(1, order_type="limit", limit_price="190.00"), ref=None) == "price_band"


def test_a_market_order_needs_a_fresh_quote_when_asked() -> None:
    fresh = Guards(market_order_quote_age_s=2.0)
    assert check(fresh, buy()) is not None
    stale = Reference(bid=QUOTE.bid, ask=QUOTE.ask, last=QUOTE.last, age_s=5.0)
    assert refused(fresh, buy(), ref=stale) == "market_order_quote"
    assert refused(fresh, buy(), ref=None) == "market_order_quote"


def test_per_day_limits_count_per_account_and_reset_at_midnight() -> None:
    guards = PreTradeGuards(Guards(max_orders_per_day=2, max_notional_per_day=Decimal(2000)))

    def place(account: str, when: datetime, qty: int = 1) -> None:
        n = guards.check(buy(qty), market_id="AAPL", account=account, ref=QUOTE, now=when)
        guards.record(account, n, when)

    place("DU1", NOW)
    place("DU1", NOW)
    with pytest.raises(OrderRefused, match="placed 2 orders today"):
        place("DU1", NOW)
    place("DU2", NOW, qty=10)  # another account has its own tally: 1,900.10
    with pytest.raises(OrderRefused) as err:
        place("DU2", NOW)
    assert err.value.rule == "max_notional_per_day"
    place("DU1", NOW + timedelta(days=1))  # a new day in New York


def test_the_kill_switch_by_call_and_by_file(tmp_path: Path) -> None:
    switch = tmp_path / "STOP"
    guards = PreTradeGuards(Guards(kill_switch_file=switch))
    guards.check(buy(), market_id="AAPL", account="DU1", ref=QUOTE, now=NOW)
    switch.touch()
    with pytest.raises(OrderRefused, match="kill-switch file"):
        guards.check(buy(), market_id="AAPL", account="DU1", ref=QUOTE, now=NOW)
    switch.unlink()
    guards.kill("risk desk says stop")
    with pytest.raises(OrderRefused, match="risk desk says stop"):
        guards.check(buy(), market_id="AAPL", account="DU1", ref=QUOTE, now=NOW)
    guards.resume()
    assert guards.killed() is None


def test_the_restart_window_and_its_remaining_time() -> None:
    window = RestartWindow.parse("23:40-00:05", "America/New_York")
    inside = datetime(2026, 12, 2, 4, 50, tzinfo=UTC)  # 23:50 in New York
    assert window.contains(inside) and not window.contains(NOW)
    assert window.remaining(inside) == 15 * 60
    assert window.remaining(NOW) == 0
    assert PreTradeGuards(Guards(restart_window=window)).in_restart_window(inside)


def test_order_price_prefers_the_order_then_the_side_it_takes() -> None:
    assert order_price(buy(), QUOTE) == Decimal("190.01")
    sell = OrderAction(market_id="AAPL", side="sell", quantity=1)
    assert order_price(sell, QUOTE) == Decimal("189.99")
    assert order_price(buy(1, order_type="stop", stop_price="195"), None) == 195


@pytest.mark.parametrize("bad", [{"max_order_quantity": 0}, {"max_order_notional": 1.5},
                                 {"max_orders_per_day": 0}, {"restart_window_action": "wait"},
                                 {"day_zone": "Mars/Base"}])
def test_nonsense_rules_are_refused_when_built(bad: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        Guards(**bad)  # type: ignore[arg-type]
