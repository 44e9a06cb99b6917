"""Paper matching engine and accounts of the IB Gateway simulator.

Pure state: no sockets, threads or sleeps; time only through the injected clock, randomness
only through seeded `random.Random`s. Every mutating call returns the events it produced, in
the order the server must send them. Rejections are events (OrderError + OrderUpdated), never
exceptions; `EngineError` is only for misuse of the control API.

The value types live in `model.py`, the universe in `universe.py`, prices in `book.py`, the
accounts in `ledger.py`, order records in `working.py`; the package, `ibgateway_sim.engine`,
is the import point.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal

from . import algos, combos, conditions
from .allocation import FaSetup
from .book import Book, to_grid
from .bookkeeping import Bookkeeper
from .exercise import EXERCISE_REFUSED, Refused, exercise_legs
from .journal import Journal
from .ledger import CommissionSchedule, Ledger
from .market import Market, MarketSetup
from .model import (
    AccountValue,
    Clock,
    Commission,
    ContractQuery,
    ContractSpec,
    EngineError,
    Event,
    ExecFilter,
    Execution,
    OrderError,
    OrderRequest,
    OrderState,
    OrderUpdated,
    PositionRow,
    Quote,
    SessionCrossed,
)
from .option_model import Follower, intrinsic, vol_for_price
from .pretrade import PreTrade
from .universe import ContractIndex, builtin_universe, listing_date
from .validation import (
    Rejection,
    check_combo,
    check_quantity,
    check_request,
    parse_times,
    reject,
)
from .working import (
    ACTIONS,
    CANCEL_UNKNOWN,
    CANCELLED,
    CLOSE_AUCTION_TYPES,
    DUPLICATE_ID,
    MODIFY_MISMATCH,
    NO_SECURITY,
    NOT_CANCELLABLE,
    OFF_TICK,
    PEGGED_TYPES,
    READ_ONLY,
    TEXT_CANCELLED,
    TEXT_NO_SECURITY,
    TEXT_READ_ONLY,
    Registry,
    WorkingOrder,
    text_ambiguous,
    text_cancel_unknown,
    text_duplicate,
    text_not_cancellable,
    what_if_state,
)

__all__ = ["Engine"]

_ZERO = Decimal(0)
_ONE = Decimal(1)


class Engine:
    """The paper exchange and its accounts. See the module docstring and the contract."""

    def __init__(
        self,
        *,
        accounts: Sequence[str] = ("DU1234567",),
        seed: int = 0,
        clock: Clock = time.time,
        cash: Decimal | Mapping[str, Decimal] = Decimal("1000000"),
        contracts: Iterable[ContractSpec] | None = None,
        liquidity: Decimal | None = None,
        commission_per_share: Decimal = Decimal("0.005"),
        min_commission: Decimal = Decimal("1.00"),
        fa_groups: Mapping[str, Sequence[str]] | None = None,
        read_only: bool = False,
        fa_profiles: Mapping[str, Mapping[str, Decimal]] | None = None,
        timezone: str = "UTC",
        market: MarketSetup | None = None,
    ) -> None:
        if not accounts:
            raise EngineError(0, "at least one account is required")
        self.accounts: tuple[str, ...] = tuple(accounts)
        self.seed = seed
        self.read_only = read_only
        self.liquidity = liquidity
        self.timezone = timezone
        self._clock = clock
        self.fa = FaSetup(self.accounts, fa_groups or {}, fa_profiles or {})
        self._masters = self.fa.masters
        self.commissions = CommissionSchedule(
            per_share=commission_per_share, min_stock=min_commission
        )
        self._specs: dict[int, ContractSpec] = {}
        self._index = ContractIndex()  # the same instruments, by what queries name
        self._fx_pairs: dict[str, tuple[int, bool] | None] = {}  # ccy -> (conId, USD first)
        if contracts is None:  # the built-in one, its rolling expiries from the clock's date
            contracts = builtin_universe(listing_date(clock()))
        for spec in contracts:
            self.add_contract(spec)
        self._books: dict[int, Book] = {}
        self._steps = 0
        self.market = Market(
            seed=seed, anchor=clock(), setup=market or MarketSetup(), spec_of=self.contract,
            universe=self._specs.values(),
        )
        self.ledger = Ledger(
            {a: self._initial_cash(a, cash) for a in self.accounts},
            self._masters,
            self._mark,
            self._usd_rate,
        )
        self.pretrade = PreTrade(self.ledger, self.commissions, self._book, self._usd_rate)
        self._registry = Registry()
        self._orders, self._live = self._registry.all, self._registry.live
        self.skip_oca_cancels = 0  # fault: the next N OCA fills leave their siblings working
        self._seq = 0
        self._max_order_id = 0
        self._last_perm_id = 1_000_000_000 + (seed % 100_000) * 10_000
        self.journal = Journal(seed, clock())
        self.books = Bookkeeper(
            self.journal, self.ledger, self.commissions, self._usd_rate, self.quote, clock
        )
        self._pass_keys: set[tuple[int, int]] | None = None
        self._matching = False  # inside a matching pass
        self._view = conditions.MarketView(
            now=clock,
            quote=self.quote,
            version=lambda con_id: self._book(con_id).version,
            sec_type=lambda con_id: self.contract(con_id).sec_type,
            cushion=self._cushion,
            executions_since=self.journal.since,
        )

    def _initial_cash(self, account: str, cash: Decimal | Mapping[str, Decimal]) -> Decimal:
        """USD cash at start: one amount for every account, or per account; an FA master
        holds none unless the mapping says so."""
        if isinstance(cash, Mapping):
            return Decimal(cash.get(account, _ZERO))
        return _ZERO if account in self._masters else cash

    # ---- contracts ----------------------------------------------------------------------

    def add_contract(self, spec: ContractSpec) -> None:
        """Add an instrument. Re-adding an identical spec is a no-op; a different spec with a
        conId already in use is refused."""
        old = self._specs.get(spec.con_id)
        if old is not None and old != spec:
            raise EngineError(0, f"conId {spec.con_id} is already {old.local_symbol}")
        if spec.min_tick <= 0 or spec.initial_price <= 0:
            raise EngineError(0, f"conId {spec.con_id}: min_tick and initial_price must be > 0")
        self._specs[spec.con_id] = spec
        self._index.add(spec)
        self._fx_pairs.clear()

    def match_contracts(self, query: ContractQuery) -> list[ContractSpec]:
        """Every instrument the query matches, in conId order ([] = unknown, several =
        ambiguous; the server returns them all and the client decides)."""
        return self._index.match(query)

    def contract(self, con_id: int) -> ContractSpec:
        spec = self._specs.get(con_id)
        if spec is None:
            raise EngineError(NO_SECURITY, TEXT_NO_SECURITY)
        return spec

    # ---- prices -------------------------------------------------------------------------

    def _book(self, con_id: int) -> Book:
        book = self._books.get(con_id)
        if book is None:
            book = self.market.new_book(con_id, self._clock(), 0)
            self._books[con_id] = book
        if book.steps < self._steps:
            book.advance(self._steps, self._clock())
        follower = self.market.follower(con_id)
        if follower is not None:
            self._follow(book, follower)
        return book

    def _follow(self, book: Book, f: Follower) -> None:
        """An option's book catches up with its underlying: each underlying trade since the
        last look prints the option at its price then; a new trading day with no trade
        moves the option's quote to the day's value."""
        under = self._book(f.under_con_id)
        new = under.tape.since(f.seen)
        f.seen = len(under.tape)
        for t in new:
            book.follow(f.pricer.trade(t, f.under_lot, f.spread))
        now = self._clock()
        at = f.pricer.priced_at(now if not new else new[-1].time)
        if at != f.priced:
            if not new:
                book.requote(f.pricer.price(under.last, now))
            f.priced = at

    def _mark(self, con_id: int) -> Decimal:
        return self._book(con_id).last

    def _usd_rate(self, ccy: str) -> Decimal:
        """USD per unit of `ccy`, from the FX books (1 for USD or an unknown currency)."""
        if ccy == "USD":
            return _ONE
        if ccy not in self._fx_pairs:
            self._fx_pairs[ccy] = next(
                (
                    (spec.con_id, spec.symbol == "USD")
                    for spec in self._specs.values()
                    if spec.sec_type == "CASH" and {spec.symbol, spec.currency} == {ccy, "USD"}
                ),
                None,
            )
        pair = self._fx_pairs[ccy]
        if pair is None:
            return _ONE
        con_id, inverted = pair
        return Decimal(1) / self._mark(con_id) if inverted else self._mark(con_id)

    def quote(self, con_id: int) -> Quote:
        return self._book(con_id).quote()

    def set_price(self, con_id: int, price: Decimal) -> list[Event]:
        """Make `price` (rounded to the tick grid) the last trade, centre the book on it and
        match the instrument's resting orders at once."""
        if price <= 0:
            raise EngineError(0, f"price must be > 0, got {price}")
        book = self._book(con_id)
        price = to_grid(price, book.spec.min_tick)
        follower = self.market.follower(con_id)
        if follower is not None:
            self._reprice_option(follower, price)
        book.set_last(price, self._clock())
        out: list[Event] = []
        self._housekeeping(out)
        self._match(out, con_ids={con_id, *self.market.followers_of(con_id)})
        return out

    def _reprice_option(self, f: Follower, price: Decimal) -> None:
        """An option's price set directly sets its volatility: the one that reproduces the
        price at the underlying's price now, which its later prices follow."""
        spot = self._book(f.under_con_id).last
        spec = f.pricer.spec
        now = self._clock()
        vol = vol_for_price(spec, price, spot, f.pricer.years(now), f.pricer.rates)
        if vol is None:
            raise EngineError(0, f"{spec.local_symbol.strip()}: no volatility prices it at "
                              f"{price} with the underlying at {spot} (intrinsic value "
                              f"{intrinsic(spec, spot)})")  # fmt: skip
        f.pricer.vol = vol

    def step(self) -> list[Event]:
        """Advance every price path one step and match (auction orders wait for theirs)."""
        self.market.step_times.append(self._clock())
        self._steps += 1
        out: list[Event] = self.advance_sessions()
        for con_id in sorted({c for o in self._live.values() for c in o.con_ids}):
            self._book(con_id)
        self._housekeeping(out)
        self._match(out)
        return out

    def run_auction(self, auction: str, con_id: int | None = None) -> list[Event]:
        """The opening ("open": orders with tif OPG) or closing ("close": MOC, LOC) auction
        of one instrument or all: each order executes in full at the instrument's current
        price, a limit order only if its limit allows, and what did not execute is
        cancelled, as IB cancels auction orders the auction did not fill (TWS API "Order
        Types": Market/Limit-on-Open, Market/Limit-on-Close). With trading hours on, the
        session clock runs them at each regular open and close; this call is for tests and
        a simulator without sessions."""
        if auction not in ("open", "close"):
            raise EngineError(0, f"auction must be 'open' or 'close', got {auction!r}")
        out: list[Event] = []
        self._housekeeping(out)
        self._auction(auction, None if con_id is None else {con_id}, out)
        return out

    def _auction(
        self, auction: str, con_ids: set[int] | None, out: list[Event], at: float | None = None
    ) -> None:
        """The auction at `at` (a session boundary: the price is the last trade before it)
        or now (the current last price)."""
        for o in list(self._live.values()):
            if not o.working or (con_ids is not None and o.spec.con_id not in con_ids):
                continue
            price = self._book(o.spec.con_id).last
            if at is not None:
                price = self.market.instrument(o.spec.con_id).price_before(at)
            if auction == "close" and o.algo is not None and algos.completes_at_close(o.algo):
                if algos.within(price, o.side, o.req.limit_price):
                    self._fill(o, o.remaining, price, 2, out)
                continue
            t = o.req.order_type
            if (auction == "open") != (o.req.tif == "OPG") or (
                auction == "close" and t not in CLOSE_AUCTION_TYPES
            ):
                continue
            limit = o.req.limit_price if t in ("LMT", "LOC") else None
            if limit is None or (price <= limit if o.side > 0 else price >= limit):
                self._fill(o, o.remaining, price, 2, out)
            if not o.done:
                self._finish(o, "Cancelled", out)

    # ---- orders -------------------------------------------------------------------------

    def next_order_id_hint(self) -> int:
        return self._max_order_id + 1

    def order(self, client_id: int, order_id: int) -> OrderState | None:
        o = self._orders.get((client_id, order_id))
        return o.snapshot() if o else None

    def open_orders(self, client_id: int | None = None) -> list[OrderState]:
        return [
            o.snapshot()
            for o in self._live.values()
            if (client_id is None or o.req.client_id == client_id)
        ]

    def completed_orders(self) -> list[OrderState]:
        done = [o for o in self._orders.values() if o.done]
        done.sort(key=lambda o: (o.completed_time or 0.0, o.seq))
        return [o.snapshot() for o in done]

    def place(self, req: OrderRequest) -> list[Event]:
        """A new order, or a modification of an open one (same client_id and order_id)."""
        out: list[Event] = []
        self._max_order_id = max(self._max_order_id, req.order_id)
        self._housekeeping(out)
        existing = self._orders.get((req.client_id, req.order_id))
        if existing is not None and existing.done:
            out.append(
                OrderError(req.client_id, req.order_id, DUPLICATE_ID, text_duplicate(req.order_id))
            )
            return out
        if self.read_only:
            return self._refuse(out, req, None, READ_ONLY, TEXT_READ_ONLY)
        if req.contract.sec_type == "BAG":
            return self._place_combo(out, req, existing)
        specs = self.match_contracts(req.contract)
        if len(specs) != 1:
            text = text_ambiguous(req.contract.symbol) if specs else TEXT_NO_SECURITY
            out.append(OrderError(req.client_id, req.order_id, NO_SECURITY, text))
            return out
        spec = specs[0]
        if existing is not None:
            return self._modify(out, existing, req, spec)
        parent = self._orders.get((req.client_id, req.parent_id)) if req.parent_id else None
        try:
            account, targets = self._validate(req, spec)
            gtd, gat = parse_times(req, self._clock(), self.timezone)
            if parent is not None and parent.done and parent.status != "Filled":
                raise reject(f"The parent order {req.parent_id} is no longer active")
            if not req.parent_id and not req.what_if:
                self.pretrade.check(req, spec, account, targets)
            conds, algo = self._conditions_of(req), self._algo_of(req, spec)
        except Rejection as r:
            return self._refuse(out, req, spec, r.code, r.text)
        if req.what_if:
            out.append(OrderUpdated(self._what_if(req, spec, account, targets)))
            return out
        self._seq += 1
        self._last_perm_id += 1
        total = sum(targets.values(), _ZERO) if targets else req.quantity
        o = WorkingOrder(
            seq=self._seq,
            req=req,
            spec=spec,
            perm_id=self._last_perm_id,
            account=account,
            total=total,
            gtd=gtd,
            gat=gat,
            allocation=targets,
            transmitted=req.transmit,
            conditions=conds,
            chain=conditions.ChainState(len(self.journal)) if conds else None,
            held_by_conditions=bool(conds),
            algo=algo,
        )
        self._registry.add(o)
        if parent is not None:
            o.parent_perm_id = parent.perm_id
            o.held_by_parent = parent.status != "Filled"
            if o.held_by_parent:
                o.why_held = "child"
        o.init_trail(self._book(o.spec.con_id).last)
        out.append(OrderUpdated(o.snapshot()))  # PreSubmitted
        if not req.transmit:
            return out
        keys = {o.key}
        if parent is not None and not parent.transmitted:
            keys |= self._transmit_group(parent, out)
        if req.oca_group and not req.parent_id:
            keys |= self._transmit_oca(o, out)
        if o.held_by_conditions:
            self._conditions_met(o, out)
        if o.working:
            self._submit(o, out)
        self._match(out, keys=keys)
        return out

    def _transmit_oca(self, o: WorkingOrder, out: list[Event]) -> set[tuple[int, int]]:
        """A transmitting member of an OCA group releases the group's held members of the
        same client: every leg but the last placed with transmit=False, the last with True,
        makes the group go live as one (the way IB users place OCA groups so that no leg can
        fill before its siblings are in the group). They are worked in placement order."""
        keys: set[tuple[int, int]] = set()
        for member in self._registry.oca_members(o):
            if member.transmitted or member.req.client_id != o.req.client_id:
                continue
            member.transmitted = True
            keys.add(member.key)
            if member.working:
                self._submit(member, out)
        return keys

    def forget_untransmitted(self) -> int:
        """What a gateway restart does to held (transmit=False) orders: they lived only in
        the local TWS and never reached IB, so they are gone, reported neither open nor
        completed. Returns how many were forgotten."""
        held = [o for o in self._live.values() if not o.transmitted]
        for o in held:
            self._registry.close(o)
            self._orders.pop(o.key, None)
        return len(held)

    def _transmit_group(self, parent: WorkingOrder, out: list[Event]) -> set[tuple[int, int]]:
        """A transmitting child releases its parent and the parent's other children."""
        parent.transmitted = True
        for child in self._registry.children(parent):
            child.transmitted = True
        if parent.working:
            self._submit(parent, out)
        return {parent.key}

    def _submit(self, o: WorkingOrder, out: list[Event]) -> None:
        o.status, o.why_held, o.fresh = "Submitted", "", True
        out.append(OrderUpdated(o.snapshot()))

    def _modify(
        self, out: list[Event], o: WorkingOrder, req: OrderRequest, spec: ContractSpec
    ) -> list[Event]:
        if spec.con_id != o.spec.con_id or ACTIONS.get(req.action) != o.side:
            out.append(
                OrderError(
                    req.client_id,
                    req.order_id,
                    MODIFY_MISMATCH,
                    "Order being modified does not match original order.",
                )
            )
            return out
        try:
            self._validate(req, spec, modify=True)
            gtd, gat = parse_times(req, self._clock(), self.timezone)
            if o.allocation and req.quantity != o.req.quantity:
                raise reject(
                    "The quantity of an allocated order cannot be changed; cancel "
                    "it and place a new one"
                )
            if req.quantity < o.filled:
                raise reject(
                    f"The new quantity {req.quantity} is below the filled quantity {o.filled}"
                )
        except Rejection as r:
            # the order stays as it was; re-state it so a client that marked it from the
            # error sees it live again
            out.append(OrderError(req.client_id, req.order_id, r.code, r.text))
            out.append(OrderUpdated(o.snapshot()))
            return out
        stop_changed = (
            req.aux_price != o.req.aux_price
            or req.trailing_percent != o.req.trailing_percent
            or req.trail_stop_price != o.req.trail_stop_price
            or req.order_type != o.req.order_type
        )
        o.req, o.gtd, o.gat = req, gtd, gat
        self._registry.reindex(o)
        if not o.allocation:
            o.total = req.quantity
        if stop_changed:
            o.triggered = False
            o.trail_stop = None
            o.init_trail(self._book(o.spec.con_id).last)
        o.fresh = True
        keys = {o.key}
        if req.transmit and not o.transmitted:
            o.transmitted = True
            parent = self._orders.get((req.client_id, req.parent_id)) if req.parent_id else None
            if parent is not None and not parent.transmitted:
                keys |= self._transmit_group(parent, out)
        if o.remaining == 0:
            self._finish(o, "Filled", out)
            return out
        if o.working:
            o.status, o.why_held = "Submitted", ""
        out.append(OrderUpdated(o.snapshot()))
        self._match(out, keys=keys)
        return out

    def _refuse(
        self, out: list[Event], req: OrderRequest, spec: ContractSpec | None, code: int, text: str
    ) -> list[Event]:
        """Rejection events the way TWS sends them. Errors ib_async treats as warnings (110,
        321) come first and the Cancelled status makes the order final; real errors (201,
        436) follow an Inactive status, so a client that marks the order Cancelled on the
        error ends up Cancelled, as with a real gateway."""
        if spec is None:
            spec = next(iter(self.match_contracts(req.contract)), None)
        if spec is None:  # no contract: nothing to describe, only the error
            out.append(OrderError(req.client_id, req.order_id, code, text))
            return out
        self._seq += 1
        self._last_perm_id += 1
        inactive = code not in (OFF_TICK, READ_ONLY)
        status = "Inactive" if inactive else "Cancelled"
        o = WorkingOrder(
            seq=self._seq,
            req=req,
            spec=spec,
            perm_id=self._last_perm_id,
            account=req.account,
            total=req.quantity,
            status=status,
            completed_time=self._clock(),
            completed_status="Rejected",
        )
        self._registry.add(o)
        if inactive:
            out.append(OrderUpdated(o.snapshot()))
        out.append(OrderError(req.client_id, req.order_id, code, text))
        if not inactive:
            out.append(OrderUpdated(o.snapshot()))
        return out

    def cancel(self, client_id: int, order_id: int) -> list[Event]:
        out: list[Event] = []
        self._housekeeping(out)
        o = self._orders.get((client_id, order_id))
        if o is None:
            out.append(
                OrderError(client_id, order_id, CANCEL_UNKNOWN, text_cancel_unknown(order_id))
            )
        elif o.done:
            out.append(
                OrderError(client_id, order_id, NOT_CANCELLABLE, text_not_cancellable(o.perm_id))
            )
        else:
            self._cancel(o, out, by_trader=True)
        return out

    def global_cancel(self) -> list[Event]:
        out: list[Event] = []
        self._housekeeping(out)
        for o in list(self._live.values()):
            if not o.done:
                self._cancel(o, out, by_trader=True)
        return out

    def expire_day_orders(
        self, con_ids: Iterable[int] | None = None, outside_rth: bool | None = None
    ) -> list[Event]:
        """End of the trading day: DAY (and unopened OPG) orders are cancelled (of the
        instruments `con_ids`, and with that outsideRth flag, when given)."""
        wanted = None if con_ids is None else set(con_ids)
        out: list[Event] = []
        for o in list(self._live.values()):
            if (
                not o.done
                and o.req.tif in ("DAY", "OPG", "")
                and (wanted is None or o.spec.con_id in wanted)
                and (outside_rth is None or o.req.outside_rth == outside_rth)
            ):
                self._finish(o, "Cancelled", out)
        return out

    def advance_sessions(self) -> list[Event]:
        """The session clock: report the boundaries crossed since the last call; at a
        regular open the opening auction runs; at a regular close the closing auction, then
        DAY orders expire (those allowed outside regular hours at the close)."""
        out: list[Event] = []
        live = [o.spec for o in self._live.values()]
        specs = {s.con_id: s for s in [*live, *(b.spec for b in self._books.values())]}
        calendars = self.market.calendars([*specs.values()])
        for ev in self.market.session_events(self._clock(), calendars):
            out.append(SessionCrossed(ev))
            ids = [i for i, s in specs.items() if self.market.calendar(s).name == ev.calendar]
            if ev.edge.value == "regular_open":  # the opening auction, then the session
                self._auction("open", set(ids), out, ev.at)
            elif ev.edge.value == "regular_close":  # the closing auction before DAY expiry
                self._auction("close", set(ids), out, ev.at)
                out.extend(self.expire_day_orders(ids, outside_rth=False))
            elif ev.edge.value == "close":
                out.extend(self.expire_day_orders(ids, outside_rth=True))
        return out

    def _cancel(self, o: WorkingOrder, out: list[Event], *, by_trader: bool) -> None:
        """A trader's cancel (cancelOrder, reqGlobalCancel) is answered with orderStatus
        Cancelled, then error 202, and no openOrder (public real-gateway transcripts)."""
        self._finish(
            o,
            "Cancelled",
            out,
            completed="Cancelled by Trader" if by_trader else "",
            status_only=by_trader,
        )
        if by_trader:
            out.append(OrderError(o.req.client_id, o.req.order_id, CANCELLED, TEXT_CANCELLED))

    def _finish(
        self,
        o: WorkingOrder,
        status: str,
        out: list[Event],
        completed: str = "",
        *,
        status_only: bool = False,
    ) -> None:
        """Make `o` final; a parent that ends unfilled takes its children with it."""
        if o.done:
            return
        o.status = status
        self._registry.close(o)
        o.completed_time = self._clock()
        o.completed_status = completed or status
        out.append(OrderUpdated(o.snapshot(), status_only=status_only))
        if status != "Filled":
            for child in self._registry.children(o):
                self._finish(child, "Cancelled", out)

    # ---- validation ---------------------------------------------------------------------

    def _validate(
        self, req: OrderRequest, spec: ContractSpec, *, modify: bool = False
    ) -> tuple[str, dict[str, Decimal]]:
        """Check an order; return its account ("" when allocated) and allocation targets."""
        check_request(req, spec)
        account, targets = "", dict[str, Decimal]()
        if not modify:
            account, targets = self.fa.resolve(req, spec, self.ledger)
        if not (targets and req.fa_method == "PctChange"):
            check_quantity(req.quantity, spec)
        return account, targets

    def _what_if(
        self, req: OrderRequest, spec: ContractSpec, account: str, targets: dict[str, Decimal]
    ) -> OrderState:
        return what_if_state(req, spec, self.pretrade.what_if(req, spec, account, targets))

    # ---- matching -----------------------------------------------------------------------

    def _housekeeping(self, out: list[Event]) -> None:
        """Time- and market-driven changes: GTD expiry, good-after-time activation, orders
        whose conditions now hold."""
        if self._registry.conditioned:
            self._check_conditions(out)
        if not self._registry.timed:
            return
        now = self._clock()
        for o in self._registry.timed_in_order():
            if o.gtd is not None and o.gtd <= now:
                self._finish(o, "Cancelled", out)
            elif o.gat is not None and o.gat <= now:
                o.gat = None
                self._registry.reindex(o)
                if o.working:
                    self._submit(o, out)

    def _conditions_of(self, req: OrderRequest) -> tuple[conditions.Condition, ...]:
        try:
            return conditions.parse_all(req.conditions, self.timezone, self._specs.__contains__)
        except conditions.UnknownContract:
            raise Rejection(NO_SECURITY, TEXT_NO_SECURITY) from None
        except conditions.ConditionError as exc:
            raise reject(f"Invalid order condition: {exc}") from None

    def _algo_of(self, req: OrderRequest, spec: ContractSpec) -> algos.AlgoState | None:
        try:
            return algos.state_for(req, self.market.calendar(spec), self._clock(), self.timezone)
        except algos.AlgoError as exc:
            raise reject(str(exc)) from None

    def _cushion(self, account: str) -> Decimal:
        """The margin cushion (excess liquidity / net liquidation), as IB reports it."""
        summary = self.ledger.summary(account or self.accounts[0])
        if not summary.net_liquidation:
            return _ZERO
        return summary.excess_liquidity / summary.net_liquidation

    def _check_conditions(self, out: list[Event]) -> None:
        """Release the orders whose conditions hold and match them: in the running pass if
        there is one, else in a pass of their own (a move of the watched instrument releases
        an order on another)."""
        released = set()
        for o in self._registry.conditioned_in_order():
            if self._conditions_met(o, out) and o.working:
                self._submit(o, out)
                released.add(o.key)
        if not released:
            return
        if self._matching:
            if self._pass_keys is not None:
                self._pass_keys |= released
        else:
            self._match(out, keys=released)

    def _conditions_met(self, o: WorkingOrder, out: list[Event]) -> bool:
        """Release `o` if its chain holds (TWS API "Order Conditions"), or cancel it when it
        asked for that (conditionsCancelOrder). Conditions are evaluated in regular hours
        only unless conditionsIgnoreRth (with trading hours on)."""
        assert o.chain is not None
        if (
            not o.req.conditions_ignore_rth
            and self.market.setup.trading_hours
            and not self.market.is_open(o.spec, self._clock(), rth=True)
        ):
            return False
        if not conditions.chain_holds(o.conditions, self._view, o.account, o.chain):
            return False
        self._registry.conditioned.discard(o.key)
        if o.req.conditions_cancel_order:
            self._finish(o, "Cancelled", out)
            return False
        o.held_by_conditions = False
        return True

    def _match(
        self,
        out: list[Event],
        *,
        keys: set[tuple[int, int]] | None = None,
        con_ids: set[int] | None = None,
    ) -> None:
        """One matching pass over the orders `keys` names, or those `con_ids` move (the
        registry's index), or every open order. Each order is evaluated at most once, so
        `liquidity` caps its fill per pass; children activated during the pass are evaluated
        in it too."""
        if keys is not None and con_ids is not None:
            raise ValueError("a matching pass is over keys or over con_ids, not both")
        self._pass_keys = set(keys) if keys is not None else None
        self._matching = True
        seen: set[int] = set()  # by `seq`, unique per order: no key tuple made per look
        try:
            while True:
                if self._pass_keys is None:
                    candidates = (
                        list(self._live.values())
                        if con_ids is None
                        else self._registry.moved_by_any(con_ids)
                    )
                elif len(self._pass_keys) == 1:  # one order placed: nothing to sort
                    [only] = self._pass_keys
                    found = self._live.get(only)
                    candidates = [] if found is None else [found]
                else:
                    candidates = sorted(
                        (self._live[k] for k in self._pass_keys if k in self._live),
                        key=lambda o: o.seq,
                    )
                # the cheap test first: on the last round every candidate has been seen
                pending = [o for o in candidates if o.seq not in seen and o.working]
                if not pending:
                    return
                for o in pending:
                    seen.add(o.seq)
                    if o.working:
                        self._evaluate(o, out)
        finally:
            self._pass_keys = None
            self._matching = False

    def _evaluate(self, o: WorkingOrder, out: list[Event]) -> None:
        if o.legs:
            self._evaluate_combo(o, out)
            return
        tif = o.req.tif
        if tif == "OPG" or o.req.order_type in CLOSE_AUCTION_TYPES:
            return  # waits for its auction (run_auction)
        if not self.market.trades_now(o.spec, self._clock(), outside_rth=o.req.outside_rth):
            return  # its session is closed (only with trading hours on)
        book = self._book(o.spec.con_id)
        if o.algo is not None:
            self._work_algo(o, o.algo, book, out)
            return
        if not o.fresh and o.idle_at == book.version:
            return  # nothing moved since it last could not fill
        if o.req.order_type in PEGGED_TYPES:
            fill_price, liquidity_flag = o.pegged_fill(book)
        else:
            fill_price, liquidity_flag = o.touch_fill(book)
        o.fresh = False
        qty = o.remaining
        if fill_price is not None and self.liquidity is not None and self.liquidity < qty:
            qty = self.liquidity  # min(qty, liquidity)
        if tif == "FOK" and (fill_price is None or qty < o.remaining):
            # all at once or nothing (TWS API "Time in Force": Fill-or-Kill)
            self._finish(o, "Cancelled", out)
            return
        if fill_price is not None and qty > 0:
            self._fill(o, qty, fill_price, liquidity_flag, out)
        else:
            o.idle_at = book.version
        if not o.done and tif == "IOC":
            self._finish(o, "Cancelled", out)

    def _work_algo(
        self, o: WorkingOrder, algo: algos.AlgoState, book: Book, out: list[Event]
    ) -> None:
        """An algo's next slice: an execution of the order itself, at the algo's price."""
        step = algos.next_slice(
            algo,
            now=self._clock(),
            side=o.side,
            total=o.total,
            filled=o.filled,
            quote=book.quote(),
            version=book.version,
            limit=o.req.limit_price,
            tick=o.spec.min_tick,
            increment=o.spec.size_increment,
        )
        o.fresh = False
        qty = step.qty if self.liquidity is None else min(step.qty, self.liquidity)
        if qty > 0:
            self._fill(o, qty, step.price, step.liquidity, out)
        if step.expire and not o.done:
            self._finish(o, "Cancelled", out)

    # ---- combos -------------------------------------------------------------------------

    def _place_combo(
        self, out: list[Event], req: OrderRequest, existing: WorkingOrder | None
    ) -> list[Event]:
        """A BAG order: its legs resolved and checked, then worked on the net price."""
        if not req.combo_legs:
            out.append(
                OrderError(req.client_id, req.order_id, READ_ONLY, combos.TEXT_BAG_NEEDS_LEGS)
            )
            return out
        legs = combos.resolve_legs(req.combo_legs, self._specs.get)
        if legs is None:
            out.append(OrderError(req.client_id, req.order_id, NO_SECURITY, TEXT_NO_SECURITY))
            return out
        spec = combos.bag_spec(req.contract, legs)
        try:
            check_combo(req, spec)
            account, _ = self.fa.resolve(req, spec, self.ledger)
        except Rejection as r:
            return self._refuse(out, req, spec, r.code, r.text)
        if req.what_if:
            impact = self.pretrade.what_if_entries(account, self.books.combo_entries(req, legs))
            out.append(OrderUpdated(what_if_state(req, spec, impact)))
            return out
        if existing is not None:  # a modify: the new net limit / quantity
            existing.req, existing.total, existing.fresh = req, req.quantity, True
            out.append(OrderUpdated(existing.snapshot()))
            self._match(out, keys={existing.key})
            return out
        self._seq += 1
        self._last_perm_id += 1
        o = WorkingOrder(
            seq=self._seq,
            req=req,
            spec=spec,
            perm_id=self._last_perm_id,
            account=account,
            total=req.quantity,
            legs=tuple(legs),
        )
        self._registry.add(o)
        out.append(OrderUpdated(o.snapshot()))
        self._submit(o, out)
        self._match(out, keys={o.key})
        return out

    def _evaluate_combo(self, o: WorkingOrder, out: list[Event]) -> None:
        """All legs at once at the net price, or nothing (IB executes a combo's legs
        together; it guarantees the net, not each leg's price)."""
        net, _ = combos.leg_prices(o.legs, o.side, self.quote)
        o.fresh = False
        if combos.marketable(net, o.side, o.req.limit_price):
            out.extend(self.books.fill_combo(o, net))
            self._finish(o, "Filled", out)
        elif o.req.tif in ("IOC", "FOK"):
            self._finish(o, "Cancelled", out)

    # ---- fills --------------------------------------------------------------------------

    def _fill(
        self, o: WorkingOrder, qty: Decimal, price: Decimal, liquidity: int, out: list[Event]
    ) -> None:
        out.extend(self.books.fill(o, qty, price, liquidity))
        if o.remaining == 0:
            self._finish(o, "Filled", out)
        else:
            o.status = "Submitted"
            out.append(OrderUpdated(o.snapshot()))
        self._after_fill(o, qty, out)

    def _after_fill(self, o: WorkingOrder, qty: Decimal, out: list[Event]) -> None:
        """OCA groups, bracket siblings, child activation and execution conditions."""
        if self._registry.conditioned:
            self._check_conditions(out)
        complete = o.remaining == 0
        if o.req.oca_group and self.skip_oca_cancels > 0:
            self.skip_oca_cancels -= 1  # a fault: the group's cancel did not happen in time
        elif o.req.oca_group:
            self._cancel_or_reduce(
                self._registry.oca_members(o), o.req.oca_type in (2, 3), qty, complete, out
            )
        if o.req.parent_id:
            self._cancel_or_reduce(self._registry.siblings(o), True, qty, complete, out)
        if o.status == "Filled":
            for child in self._registry.children(o):
                if child.done or not child.held_by_parent:
                    continue
                child.held_by_parent = False
                if child.req.trail_stop_price is None and child.trail_stop is not None:
                    # a trailing child starts trailing from the price at activation
                    child.trail_stop = None
                    child.init_trail(self._book(child.spec.con_id).last)
                if child.working:
                    self._submit(child, out)
                    if self._pass_keys is not None:
                        self._pass_keys.add(child.key)

    def _cancel_or_reduce(
        self,
        members: list[WorkingOrder],
        reduce: bool,
        qty: Decimal,
        complete: bool,
        out: list[Event],
    ) -> None:
        """Type 1: the others are cancelled at the first fill. Types 2/3 (and bracket
        children): the others shrink by the filled quantity and go when nothing is left."""
        for m in members:
            if not reduce or complete:
                self._finish(m, "Cancelled", out)
                continue
            m.total = max(m.total - qty, m.filled)
            if m.remaining == 0:
                self._finish(m, "Cancelled", out)
            else:
                out.append(OrderUpdated(m.snapshot()))

    def liquidate(self, account: str, con_id: int, quantity: Decimal) -> list[Event]:
        """IB's forced liquidation of `quantity` of the account's position (toward flat) at
        the touch: an execution of no order (orderId -1, clientId 0, liquidation 1, as a
        real capture shows: "Liquidation: 1 ClientId 0 RequestId: -1 OrderId: -1")."""
        self._check_account(account)
        held = self.ledger.position(account, con_id)
        if held == 0 or quantity <= 0 or quantity > abs(held):
            raise EngineError(0, f"{account} holds {held} of {con_id}; cannot liquidate {quantity}")
        self._last_perm_id += 1
        return self.books.liquidate(account, self.contract(con_id), quantity, self._last_perm_id)

    def exercise(
        self,
        *,
        client_id: int,
        req_id: int,
        account: str,
        con_id: int,
        action: int,
        quantity: int,
        override: bool,
    ) -> list[Event]:
        """exerciseOptions: exercise (1) or lapse (2) `quantity` of the account's long option
        position (see `exercise.py`); the bookkeeper writes its legs. A refusal is an error
        on the request's id."""
        account = account or self.accounts[0]  # one account: the request may leave it out
        if account not in self.accounts:
            return [OrderError(client_id, req_id, EXERCISE_REFUSED,
                               f"Error processing request: unknown account {account}")]  # fmt: skip
        spec = self.contract(con_id)
        under = self._specs.get(spec.under_con_id) if spec.under_con_id else None
        spot = self.quote(under.con_id).last if under is not None else Decimal(0)
        legs = exercise_legs(
            spec, under, held=self.ledger.position(account, con_id), action=action,
            quantity=quantity, override=override, spot=spot,
        )  # fmt: skip
        if isinstance(legs, Refused):
            return [OrderError(client_id, req_id, EXERCISE_REFUSED,
                               f"Error processing request: {legs.text}")]  # fmt: skip
        self._last_perm_id += 1
        return self.books.exercise(account, legs, client_id, self._last_perm_id)

    # ---- executions and accounts --------------------------------------------------------

    def executions(self, flt: ExecFilter | None = None) -> list[tuple[Execution, Commission]]:
        """The day's executions (corrections included) in execution order; an empty filter
        means all."""
        return self.journal.rows(flt, self.timezone)

    def correct_execution(
        self, exec_id: str, *, shares: Decimal | None = None, price: Decimal | None = None
    ) -> list[Event]:
        """IB's execution correction (see `Bookkeeper.correct`)."""
        return self.books.correct(exec_id, shares=shares, price=price)

    def positions(self, account: str | None = None) -> list[PositionRow]:
        self._check_account(account)
        return self.ledger.positions(account)

    def account_values(self, account: str) -> list[AccountValue]:
        self._check_account(account)
        kind = "FA" if account in self._masters else "INDIVIDUAL"
        return self.ledger.account_values(account, kind)

    def _check_account(self, account: str | None) -> None:
        if account and account not in self.accounts:
            raise EngineError(0, f"unknown account {account!r}; known: {self.accounts}")
