"""Accounts of the paper engine: cash per currency, positions, PnL, margin, commissions.

Choices where IB's exact behaviour is not published or not worth modelling:
- Base currency USD for every account; other currencies convert at the FX book's last price.
- Average cost as IB reports it: price times multiplier, commissions included.
- Stocks and options move cash by the premium/notional; futures move cash only by realized
  PnL and commissions and add their unrealized PnL to NetLiquidation (daily settlement is
  not modelled); an FX trade moves cash in both currencies (and shows a CASH position).
- Margin, Reg T: stocks 50% initial / 25% maintenance (Regulation T, FINRA 4210; so
  BuyingPower is 2 x AvailableFunds); long options their premium; short options 100% of
  value plus 20% of the strike notional; futures the exchange margin per contract of
  `universe.FUTURE_MARGINS` (6% / 5% of notional for one not listed); FX 3% / 2.5%.
- Commissions, IBKR Pro fixed, charged per order (the minimum applies once per order and
  account, each execution carries its increment): stocks per share (default $0.005, min
  $1.00, max 1% of value); options $0.65 a contract, min $1.00; futures $0.85 a contract;
  FX 0.2 bp of the USD value, min $2.00, in USD.
- The ledger is a replay of its fills: a corrected execution replaces the original entry and
  the account is rebuilt, so cash and positions change by exactly the difference.
"""

from __future__ import annotations

from collections.abc import Callable, Set
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from .model import AccountValue, ContractSpec, PositionRow
from .records import record
from .universe import FUTURE_MARGINS

BASE = "USD"
CENT = Decimal("0.01")
_ZERO = Decimal(0)

Mark = Callable[[int], Decimal]  # con_id -> last price
Rate = Callable[[str], Decimal]  # currency -> USD per unit

_MARGIN = {  # sec_type -> (initial, maintenance) fraction of |value|
    "STK": (Decimal("0.50"), Decimal("0.25")),
    "FUT": (Decimal("0.06"), Decimal("0.05")),
    "CASH": (Decimal("0.03"), Decimal("0.025")),
}
_SHORT_OPTION_EXTRA = Decimal("0.20")
_AFFORDABLE_SLACK = Decimal(1)  # USD: far above the trial's rounding (28 digits)
BUYING_POWER_LEVERAGE = Decimal(2)  # 1 / the stocks' initial margin


def money(d: Decimal) -> str:
    """Account values go on the wire as plain two-decimal strings, e.g. "1000000.00"."""
    return str(d.quantize(CENT, ROUND_HALF_UP))


@dataclass(slots=True)
class CommissionSchedule:
    per_share: Decimal = Decimal("0.005")
    min_stock: Decimal = Decimal("1.00")
    max_stock_pct: Decimal = Decimal("0.01")
    per_option: Decimal = Decimal("0.65")
    min_option: Decimal = Decimal("1.00")
    per_future: Decimal = Decimal("0.85")
    fx_rate: Decimal = Decimal("0.00002")
    min_fx: Decimal = Decimal("2.00")

    def for_order(self, spec: ContractSpec, shares: Decimal, value_usd: Decimal) -> Decimal:
        """Commission of an order that has executed `shares` worth `value_usd` so far."""
        if shares == 0:
            return _ZERO
        if spec.sec_type == "OPT":
            c = max(shares * self.per_option, self.min_option)
        elif spec.sec_type == "FUT":
            c = shares * self.per_future
        elif spec.sec_type == "CASH":
            c = max(value_usd * self.fx_rate, self.min_fx)
        else:
            # min(max(per share, minimum), cap) as tests, once per fill: the builtins on
            # Decimals cost ~4x as much
            c, least = shares * self.per_share, self.min_stock
            c = least if least > c else c
            cap = value_usd * self.max_stock_pct
            c = cap if cap < c else c
        return c.quantize(CENT, ROUND_HALF_UP)

    def currency(self, spec: ContractSpec) -> str:
        return BASE if spec.sec_type == "CASH" else spec.currency


@dataclass(slots=True)
class Entry:
    """One execution as the ledger applies it (signed quantity)."""

    exec_id: str
    spec: ContractSpec
    qty: Decimal
    price: Decimal
    commission: Decimal
    commission_currency: str


@dataclass(slots=True)
class Position:
    qty: Decimal = _ZERO
    avg_cost: Decimal = _ZERO  # per unit x multiplier, commissions included (IB's avgCost)
    avg_trade: Decimal = _ZERO  # per unit x multiplier, without commissions (futures MTM)
    realized: Decimal = _ZERO

    def copy(self) -> Position:
        return Position(self.qty, self.avg_cost, self.avg_trade, self.realized)


@dataclass(slots=True)
class Account:
    code: str
    initial_cash: Decimal
    is_master: bool = False
    cash: dict[str, Decimal] = field(default_factory=dict)
    positions: dict[int, tuple[ContractSpec, Position]] = field(default_factory=dict)
    realized: dict[str, Decimal] = field(default_factory=dict)
    entries: list[Entry] = field(default_factory=list)

    def reset(self) -> None:
        self.cash = {BASE: self.initial_cash}
        self.positions = {}
        self.realized = {}

    def position(self, con_id: int) -> Decimal:
        held = self.positions.get(con_id)
        return held[1].qty if held else _ZERO


def apply(acct: Account, e: Entry) -> Decimal | None:
    """Apply one execution; return IB's realizedPNL for it (None when it only opens).

    Runs twice per order (the pre-trade check's trial, then the fill): each product is
    taken once and the position is looked up without making a spare one."""
    spec = e.spec
    unit = e.price * spec.multiplier_value
    ccy, sec_type = spec.currency, spec.sec_type
    held = acct.positions.get(spec.con_id)
    if held is None:
        pos = Position()
        acct.positions[spec.con_id] = (spec, pos)
    else:
        pos = held[1]
    comm_in_cost = e.commission if (e.commission_currency == ccy and sec_type != "CASH") else _ZERO
    cash = acct.cash
    realized: Decimal | None = None
    q0, dq = pos.qty, e.qty
    if q0 == 0 or (q0 > 0) - (q0 < 0) == (dq > 0) - (dq < 0):
        n0, n1 = abs(q0), abs(q0 + dq)
        traded = abs(dq) * unit
        pos.avg_cost = (n0 * pos.avg_cost + traded + comm_in_cost) / n1
        pos.avg_trade = (n0 * pos.avg_trade + traded) / n1
    else:
        sign = (q0 > 0) - (q0 < 0)
        closed = min(abs(dq), abs(q0))
        realized = closed * (unit - pos.avg_cost) * sign - comm_in_cost
        if sec_type == "FUT":
            gross = closed * (unit - pos.avg_trade) * sign
            cash[ccy] = cash.get(ccy, _ZERO) + gross
        opened = abs(dq) - closed
        if opened > 0:  # the trade flips the position
            pos.avg_cost = pos.avg_trade = unit
        elif q0 + dq == 0:
            pos.avg_cost = pos.avg_trade = _ZERO
        pos.realized += realized
        acct.realized[ccy] = acct.realized.get(ccy, _ZERO) + realized
    pos.qty = q0 + dq
    if sec_type in ("STK", "OPT"):
        cash[ccy] = cash.get(ccy, _ZERO) - dq * unit
    elif sec_type == "CASH":
        cash[spec.symbol] = cash.get(spec.symbol, _ZERO) + dq
        cash[ccy] = cash.get(ccy, _ZERO) - dq * e.price
    comm_ccy = e.commission_currency
    cash[comm_ccy] = cash.get(comm_ccy, _ZERO) - e.commission
    return realized


@record
class Summary:
    """An account's totals in the base currency."""

    net_liquidation: Decimal
    total_cash: Decimal
    gross_position_value: Decimal
    stock_value: Decimal
    option_value: Decimal
    future_pnl: Decimal
    init_margin: Decimal
    maint_margin: Decimal
    unrealized: Decimal
    realized: Decimal

    @property
    def available_funds(self) -> Decimal:
        return self.net_liquidation - self.init_margin

    @property
    def excess_liquidity(self) -> Decimal:
        return self.net_liquidation - self.maint_margin

    @property
    def buying_power(self) -> Decimal:
        return max(self.available_funds, _ZERO) * BUYING_POWER_LEVERAGE


def market_value(spec: ContractSpec, pos: Position, mark: Decimal) -> Decimal:
    return pos.qty * mark * spec.multiplier_value


def unrealized(spec: ContractSpec, pos: Position, mark: Decimal) -> Decimal:
    return market_value(spec, pos, mark) - pos.qty * pos.avg_cost


def summarize(acct: Account, mark: Mark, rate: Rate) -> Summary:
    """The account's totals: each position's market value is taken once and serves its
    value, its unrealized PnL and its margin (the sums run in the same order as ever)."""
    total_cash = _ZERO
    for c, v in acct.cash.items():
        total_cash += v * rate(c)
    gross = stock = option = fut = init = maint = upnl = _ZERO
    for spec, pos in acct.positions.values():
        qty = pos.qty
        if qty == 0:
            continue
        r = rate(spec.currency)
        px = mark(spec.con_id)
        value = qty * px * spec.multiplier_value  # market_value()
        mv = value * r
        upnl += (value - qty * pos.avg_cost) * r  # unrealized()
        sec_type = spec.sec_type
        if sec_type == "FUT":
            fut += mv - qty * pos.avg_trade * r
        elif sec_type == "STK":
            gross += abs(mv)
            stock += mv
        elif sec_type == "OPT":
            gross += abs(mv)
            option += mv
        i, m = _position_margin(spec, qty, abs(mv), px, r)
        init += i
        maint += m
    realized = _ZERO
    for c, v in acct.realized.items():
        realized += v * rate(c)
    # positional, in field order (net_liquidation, total_cash, gross_position_value,
    # stock_value, option_value, future_pnl, init_margin, maint_margin, unrealized, realized)
    return Summary(
        total_cash + stock + option + fut, total_cash, gross, stock, option, fut, init, maint,
        upnl, realized,
    )  # fmt: skip


def _position_margin(
    spec: ContractSpec, qty: Decimal, abs_value: Decimal, mark: Decimal, rate: Decimal
) -> tuple[Decimal, Decimal]:
    if spec.sec_type == "OPT":
        if qty > 0:
            return abs_value, abs_value
        extra = _SHORT_OPTION_EXTRA * spec.strike * spec.multiplier_value * abs(qty) * rate
        return abs_value + extra, abs_value + extra
    if spec.sec_type == "FUT" and spec.symbol in FUTURE_MARGINS:
        per_init, per_maint = FUTURE_MARGINS[spec.symbol]
        return per_init * abs(qty) * rate, per_maint * abs(qty) * rate
    init, maint = _MARGIN.get(spec.sec_type, (Decimal(1), Decimal(1)))
    return abs_value * init, abs_value * maint


class Ledger:
    """All accounts. Reads marks and FX rates through callbacks so it never owns prices."""

    def __init__(
        self, accounts: dict[str, Decimal], masters: Set[str], mark: Mark, rate: Rate
    ) -> None:
        self._mark, self._rate = mark, rate
        self.accounts: dict[str, Account] = {}
        for code, cash in accounts.items():
            a = Account(code=code, initial_cash=cash, is_master=code in masters)
            a.reset()
            self.accounts[code] = a

    def apply(self, account: str, entry: Entry) -> Decimal | None:
        acct = self.accounts[account]
        acct.entries.append(entry)
        return apply(acct, entry)

    def replace(self, account: str, exec_id: str, entry: Entry) -> Decimal | None:
        """Swap the entry `exec_id` for `entry` and rebuild the account by replay.
        Returns the realized PnL the new entry produced in the replay."""
        acct = self.accounts[account]
        acct.reset()
        realized: Decimal | None = None
        entries = [entry if e.exec_id == exec_id else e for e in acct.entries]
        acct.entries = entries
        for e in entries:
            r = apply(acct, e)
            if e is entry:
                realized = r
        return realized

    def summary(self, account: str) -> Summary:
        return summarize(self.accounts[account], self._mark, self._rate)

    def what_if(self, account: str, entries: list[Entry]) -> tuple[Summary, Summary]:
        """Totals before and after hypothetically applying `entries` (not recorded)."""
        return self.summary(account), self.after(account, entries)

    def after(self, account: str, entries: list[Entry]) -> Summary:
        """Totals after hypothetically applying `entries` (not recorded)."""
        acct = self.accounts[account]
        # `apply` changes the cash and realized dicts and the positions the entries name:
        # those are copied, every other position is shared with the account, read-only
        positions = dict(acct.positions)
        for e in entries:
            held = positions.get(e.spec.con_id)
            if held is not None:
                positions[e.spec.con_id] = (held[0], held[1].copy())
        # positional (code, initial_cash, is_master, cash, positions, realized): once an order
        trial = Account(
            acct.code, acct.initial_cash, False, dict(acct.cash), positions, dict(acct.realized)
        )
        for e in entries:
            apply(trial, e)
        return summarize(trial, self._mark, self._rate)

    def surely_affordable(self, account: str, entry: Entry) -> bool:
        """Whether `after(account, [entry])` surely leaves AvailableFunds >= 0, seen without
        the trial: for a stock, what one execution changes is known in closed form (cash by
        the trade and its commission, stock value by the position at the mark, initial margin
        by half the change of |position value|). False means "ask the trial", never "no":
        the closed form is trusted only with a dollar to spare over the trial's rounding."""
        spec = entry.spec
        if spec.sec_type != "STK":
            return False
        acct = self.accounts[account]
        before = summarize(acct, self._mark, self._rate)
        rate = self._rate(spec.currency)
        k = spec.multiplier_value
        held = acct.positions.get(spec.con_id)
        q0 = held[1].qty if held is not None else _ZERO
        dq = entry.qty
        px = self._mark(spec.con_id)
        px_value = abs(px) * k * rate  # |value| of one share at the mark
        init_rate = _MARGIN["STK"][0]
        change = (
            dq * (px - entry.price) * k * rate
            - entry.commission * self._rate(entry.commission_currency)
            - init_rate * (abs(q0 + dq) - abs(q0)) * px_value
        )
        return before.net_liquidation - before.init_margin + change >= _AFFORDABLE_SLACK

    def position(self, account: str, con_id: int) -> Decimal:
        return self.accounts[account].position(con_id)

    def weight(self, account: str, method: str) -> Decimal:
        """FA allocation weight: NetLiquidation ("NetLiq") or AvailableFunds
        ("AvailableEquity")."""
        s = self.summary(account)
        return s.net_liquidation if method == "NetLiq" else s.available_funds

    def positions(self, account: str | None = None) -> list[PositionRow]:
        rows = []
        for code, acct in self.accounts.items():
            if account and code != account:
                continue
            for spec, pos in acct.positions.values():
                px = self._mark(spec.con_id)
                rows.append(
                    PositionRow(
                        account=code,
                        contract=spec,
                        position=pos.qty,
                        avg_cost=pos.avg_cost,
                        market_price=px,
                        market_value=market_value(spec, pos, px),
                        unrealized_pnl=unrealized(spec, pos, px) if pos.qty else _ZERO,
                        realized_pnl=pos.realized,
                    )
                )
        return rows

    def account_values(self, account: str, account_type: str) -> list[AccountValue]:
        acct = self.accounts[account]
        s = self.summary(account)
        rows: list[tuple[str, str, str]] = [
            ("AccountCode", account, ""),
            ("AccountReady", "true", ""),
            ("AccountType", account_type, ""),
            ("Currency", BASE, BASE),
            ("NetLiquidation", money(s.net_liquidation), BASE),
            ("TotalCashValue", money(s.total_cash), BASE),
            ("SettledCash", money(s.total_cash), BASE),
            ("AccruedCash", "0.00", BASE),
            ("BuyingPower", money(s.buying_power), BASE),
            ("AvailableFunds", money(s.available_funds), BASE),
            ("ExcessLiquidity", money(s.excess_liquidity), BASE),
            ("EquityWithLoanValue", money(s.net_liquidation), BASE),
            ("GrossPositionValue", money(s.gross_position_value), BASE),
            ("InitMarginReq", money(s.init_margin), BASE),
            ("MaintMarginReq", money(s.maint_margin), BASE),
            ("FullInitMarginReq", money(s.init_margin), BASE),
            ("FullMaintMarginReq", money(s.maint_margin), BASE),
            ("FullAvailableFunds", money(s.available_funds), BASE),
            ("FullExcessLiquidity", money(s.excess_liquidity), BASE),
            ("LookAheadInitMarginReq", money(s.init_margin), BASE),
            ("LookAheadMaintMarginReq", money(s.maint_margin), BASE),
            ("LookAheadAvailableFunds", money(s.available_funds), BASE),
            ("LookAheadExcessLiquidity", money(s.excess_liquidity), BASE),
            (
                "Cushion",
                str((s.excess_liquidity / s.net_liquidation).quantize(Decimal("0.000001")))
                if s.net_liquidation
                else "0",
                "",
            ),
            ("DayTradesRemaining", "-1", ""),
            ("StockMarketValue", money(s.stock_value), BASE),
            ("OptionMarketValue", money(s.option_value), BASE),
            ("FuturesPNL", money(s.future_pnl), BASE),
            ("NetLiquidationByCurrency", money(s.net_liquidation), "BASE"),
            ("CashBalance", money(s.total_cash), "BASE"),
            ("TotalCashBalance", money(s.total_cash), "BASE"),
            ("RealizedPnL", money(s.realized), "BASE"),
            ("UnrealizedPnL", money(s.unrealized), "BASE"),
        ]
        for ccy in sorted(acct.cash):
            bal = acct.cash[ccy]
            rows += [
                ("CashBalance", money(bal), ccy),
                ("TotalCashBalance", money(bal), ccy),
                ("ExchangeRate", str(self._rate(ccy)), ccy),
                ("RealizedPnL", money(acct.realized.get(ccy, _ZERO)), ccy),
            ]
        return [AccountValue(account, k, v, c) for k, v, c in rows]
