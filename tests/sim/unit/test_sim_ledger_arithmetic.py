"""The ledger's arithmetic, restructured for speed, gives what the formulas it replaced gave:
realized PnL, cash, positions, average costs and every account total, digit for digit and
exponent for exponent (a Decimal's exponent is what its text on the wire shows)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from ibgateway_sim.engine import ContractSpec
from ibgateway_sim.engine.ledger import (
    Account,
    Entry,
    Ledger,
    Position,
    Summary,
    apply,
    summarize,
)
from ibgateway_sim.engine.universe import FUTURE_MARGINS

_ZERO = Decimal(0)


def _spec(con_id: int, sec_type: str, currency: str, multiplier: str, symbol: str) -> ContractSpec:
    return ContractSpec(
        con_id=con_id, symbol=symbol, sec_type=sec_type, exchange="SMART", primary_exchange="",
        currency=currency, local_symbol=symbol, trading_class=symbol, min_tick=Decimal("0.01"),
        multiplier=multiplier, last_trade_date="", strike=Decimal(180), right="C" if
        sec_type == "OPT" else "", long_name=symbol, time_zone_id="US/Eastern",
        initial_price=Decimal(100),
    )  # fmt: skip


SPECS = (
    _spec(1, "STK", "USD", "", "AAPL"),
    _spec(2, "STK", "EUR", "", "SAP"),
    _spec(3, "OPT", "USD", "100", "AAPL"),
    _spec(4, "FUT", "USD", "50", "ES"),
    _spec(5, "FUT", "USD", "5", "ZZ"),  # a future without a listed margin
    _spec(6, "CASH", "USD", "", "EUR"),
)
RATES = {"USD": Decimal(1), "EUR": Decimal("1.0832"), "JPY": Decimal("0.0066712")}


# ---- the formulas as they were -------------------------------------------------------------


def _sign(d: Decimal) -> int:
    return (d > 0) - (d < 0)


def _mult(spec: ContractSpec) -> Decimal:
    return Decimal(spec.multiplier) if spec.multiplier else Decimal(1)


def old_apply(acct: Account, e: Entry) -> Decimal | None:
    spec, mult = e.spec, _mult(e.spec)
    ccy = spec.currency
    _, pos = acct.positions.setdefault(spec.con_id, (spec, Position()))
    comm_in_cost = (
        e.commission if (e.commission_currency == ccy and spec.sec_type != "CASH") else _ZERO
    )
    unit = e.price * mult
    realized: Decimal | None = None
    q0, dq = pos.qty, e.qty
    if q0 == 0 or _sign(q0) == _sign(dq):
        n0, n1 = abs(q0), abs(q0 + dq)
        pos.avg_cost = (n0 * pos.avg_cost + abs(dq) * unit + comm_in_cost) / n1
        pos.avg_trade = (n0 * pos.avg_trade + abs(dq) * unit) / n1
    else:
        closed = min(abs(dq), abs(q0))
        realized = closed * (unit - pos.avg_cost) * _sign(q0) - comm_in_cost
        gross = closed * (unit - pos.avg_trade) * _sign(q0)
        if spec.sec_type == "FUT":
            acct.cash[ccy] = acct.cash.get(ccy, _ZERO) + gross
        opened = abs(dq) - closed
        if opened > 0:
            pos.avg_cost = pos.avg_trade = unit
        elif q0 + dq == 0:
            pos.avg_cost = pos.avg_trade = _ZERO
        pos.realized += realized
        acct.realized[ccy] = acct.realized.get(ccy, _ZERO) + realized
    pos.qty = q0 + dq
    if spec.sec_type in ("STK", "OPT"):
        acct.cash[ccy] = acct.cash.get(ccy, _ZERO) - dq * unit
    elif spec.sec_type == "CASH":
        acct.cash[spec.symbol] = acct.cash.get(spec.symbol, _ZERO) + dq
        acct.cash[ccy] = acct.cash.get(ccy, _ZERO) - dq * e.price
    acct.cash[e.commission_currency] = acct.cash.get(e.commission_currency, _ZERO) - e.commission
    return realized


_MARGIN = {
    "STK": (Decimal("0.50"), Decimal("0.25")),
    "FUT": (Decimal("0.06"), Decimal("0.05")),
    "CASH": (Decimal("0.03"), Decimal("0.025")),
}


def _position_margin(
    spec: ContractSpec, qty: Decimal, abs_value: Decimal, mark: Decimal, rate: Decimal
) -> tuple[Decimal, Decimal]:
    if spec.sec_type == "OPT":
        if qty > 0:
            return abs_value, abs_value
        extra = Decimal("0.20") * spec.strike * _mult(spec) * abs(qty) * rate
        return abs_value + extra, abs_value + extra
    if spec.sec_type == "FUT" and spec.symbol in FUTURE_MARGINS:
        per_init, per_maint = FUTURE_MARGINS[spec.symbol]
        return per_init * abs(qty) * rate, per_maint * abs(qty) * rate
    init, maint = _MARGIN.get(spec.sec_type, (Decimal(1), Decimal(1)))
    return abs_value * init, abs_value * maint


def old_summarize(acct: Account, mark: dict[int, Decimal]) -> Summary:
    def market_value(spec: ContractSpec, pos: Position, px: Decimal) -> Decimal:
        return pos.qty * px * _mult(spec)

    def unrealized(spec: ContractSpec, pos: Position, px: Decimal) -> Decimal:
        return market_value(spec, pos, px) - pos.qty * pos.avg_cost

    rate = RATES.__getitem__
    total_cash = sum((v * rate(c) for c, v in acct.cash.items()), _ZERO)
    gross = stock = option = fut = init = maint = upnl = _ZERO
    for spec, pos in acct.positions.values():
        if pos.qty == 0:
            continue
        r = rate(spec.currency)
        px = mark[spec.con_id]
        mv = market_value(spec, pos, px) * r
        upnl += unrealized(spec, pos, px) * r
        if spec.sec_type == "FUT":
            fut += mv - pos.qty * pos.avg_trade * r
        elif spec.sec_type in ("STK", "OPT"):
            gross += abs(mv)
            if spec.sec_type == "STK":
                stock += mv
            else:
                option += mv
        i, m = _position_margin(spec, pos.qty, abs(mv), px, r)
        init += i
        maint += m
    realized = sum((v * rate(c) for c, v in acct.realized.items()), _ZERO)
    return Summary(
        net_liquidation=total_cash + stock + option + fut, total_cash=total_cash,
        gross_position_value=gross, stock_value=stock, option_value=option, future_pnl=fut,
        init_margin=init, maint_margin=maint, unrealized=upnl, realized=realized,
    )  # fmt: skip


# ---- the comparison -------------------------------------------------------------------------


def _same(a: Decimal | None, b: Decimal | None) -> bool:
    if a is None or b is None:
        return a is b
    return a.as_tuple() == b.as_tuple()


def _state(acct: Account) -> list[object]:
    out: list[object] = [sorted((k, v.as_tuple()) for k, v in acct.cash.items())]
    out.append(sorted((k, v.as_tuple()) for k, v in acct.realized.items()))
    for con_id, (_, p) in sorted(acct.positions.items()):
        out.append((con_id, *(x.as_tuple() for x in (p.qty, p.avg_cost, p.avg_trade,
                                                      p.realized))))  # fmt: skip
    return out


def _fresh(cash: Decimal) -> Account:
    a = Account(code="DU1", initial_cash=cash)
    a.reset()
    return a


prices = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("5000"), places=2)
fx_prices = st.decimals(min_value=Decimal("0.5"), max_value=Decimal("2"), places=5)
quantities = st.integers(min_value=-300, max_value=300).filter(bool).map(Decimal) | st.decimals(
    min_value=Decimal("-50"), max_value=Decimal("50"), places=4
).filter(bool)
commissions = st.decimals(min_value=Decimal(0), max_value=Decimal("25"), places=2)


@st.composite
def entries(draw: st.DrawFn) -> Entry:
    spec = draw(st.sampled_from(SPECS))
    price = draw(fx_prices if spec.sec_type == "CASH" else prices)
    ccy = "USD" if spec.sec_type == "CASH" else draw(st.sampled_from([spec.currency, "USD"]))
    return Entry("x", spec, draw(quantities), price, draw(commissions), ccy)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(entries(), min_size=1, max_size=25),
    st.sampled_from([Decimal(1_000_000), Decimal("25000.00"), Decimal("1234.5678")]),
    st.lists(prices, min_size=len(SPECS), max_size=len(SPECS)),
)
def test_apply_and_summarize_are_the_formulas_they_replaced(
    trades: list[Entry], cash: Decimal, marks: list[Decimal]
) -> None:
    new, old = _fresh(cash), _fresh(cash)
    mark = {s.con_id: (m if s.sec_type != "CASH" else Decimal("1.0832"))
            for s, m in zip(SPECS, marks, strict=True)}  # fmt: skip
    for e in trades:
        assert _same(apply(new, e), old_apply(old, e))
        assert _state(new) == _state(old)
        got = summarize(new, mark.__getitem__, RATES.__getitem__)
        want = old_summarize(old, mark)
        for name in Summary.__dataclass_fields__:
            assert _same(getattr(got, name), getattr(want, name)), name


# ---- the pre-trade check's closed form ------------------------------------------------------


@settings(max_examples=400, deadline=None)
@given(
    st.lists(entries(), max_size=12),
    st.sampled_from([Decimal(1_000_000), Decimal("25000.00"), Decimal("1234.5678")]),
    st.lists(prices, min_size=len(SPECS), max_size=len(SPECS)),
    st.sampled_from([s for s in SPECS if s.sec_type == "STK"]),
    st.integers(min_value=-20_000, max_value=20_000).filter(bool).map(Decimal),
    prices,
    commissions,
)
def test_surely_affordable_is_the_trial_seen_in_closed_form(
    history: list[Entry], cash: Decimal, marks: list[Decimal], spec: ContractSpec,
    qty: Decimal, price: Decimal, commission: Decimal,
) -> None:
    """An order of a stock the closed form calls affordable is one the full trial passes,
    and every order the trial passes with a dollar and more to spare is called affordable
    (so the shortcut is taken where it can be, and never where the trial would refuse)."""
    mark = {s.con_id: px for s, px in zip(SPECS, marks, strict=True)}
    ledger = Ledger({"DU1": cash}, set(), mark.__getitem__, RATES.__getitem__)
    for e in history:
        ledger.apply("DU1", e)
    entry = Entry("", spec, qty, price, commission, spec.currency)
    available_after = ledger.after("DU1", [entry]).available_funds
    affordable = ledger.surely_affordable("DU1", entry)
    if affordable:
        assert available_after >= 0
    if available_after >= 2:
        assert affordable, available_after


def test_surely_affordable_leaves_everything_but_stocks_to_the_trial() -> None:
    ledger = Ledger({"DU1": Decimal(10**9)}, set(), lambda _: Decimal(100), RATES.__getitem__)
    for spec in SPECS:
        entry = Entry("", spec, Decimal(1), Decimal(100), Decimal(1), spec.currency)
        assert ledger.surely_affordable("DU1", entry) is (spec.sec_type == "STK")
