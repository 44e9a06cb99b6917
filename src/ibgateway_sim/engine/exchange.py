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

import dataclasses
import time
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal

from . import allocation, combos
from .allocation import FaSetup
from .book import Book, to_grid
from .journal import Journal
from .ledger import CommissionSchedule, Entry, Ledger
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
    ExecutionMade,
    MarginImpact,
    OrderError,
    OrderRequest,
    OrderState,
    OrderUpdated,
    PositionRow,
    Quote,
    SessionCrossed,
)
from .pretrade import PreTrade
from .universe import ContractIndex, builtin_universe
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
)

__all__ = ["Engine"]

_ZERO = Decimal(0)
_VENUES = {"NASDAQ": "ISLAND", "NYSE": "NYSE", "ARCA": "ARCA"}


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
        for spec in builtin_universe() if contracts is None else contracts:
            self.add_contract(spec)
        self._books: dict[int, Book] = {}
        self._steps = 0
        self.market = Market(
            seed=seed, anchor=clock(), setup=market or MarketSetup(), spec_of=self.contract
        )
        self.ledger = Ledger(
            {a: self._initial_cash(a, cash) for a in self.accounts},
            self._masters,
            self._mark,
            self._usd_rate,
        )
        self.pretrade = PreTrade(self.ledger, self.commissions, self.quote, self._usd_rate)
        self._registry = Registry()
        self._orders, self._live = self._registry.all, self._registry.live
        self.skip_oca_cancels = 0  # fault: the next N OCA fills leave their siblings working
        self._seq = 0
        self._max_order_id = 0
        self._last_perm_id = 1_000_000_000 + (seed % 100_000) * 10_000
        self.journal = Journal(seed, clock())
        self._pass_keys: set[tuple[int, int]] | None = None

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
        return book

    def _mark(self, con_id: int) -> Decimal:
        return self._book(con_id).last

    def _usd_rate(self, ccy: str) -> Decimal:
        """USD per unit of `ccy`, from the FX books (1 for USD or an unknown currency)."""
        if ccy == "USD":
            return Decimal(1)
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
            return Decimal(1)
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
        book.set_last(to_grid(price, book.spec.min_tick), self._clock())
        out: list[Event] = []
        self._housekeeping(out)
        self._match(out, con_id=con_id)
        return out

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
        Types": Market/Limit-on-Open, Market/Limit-on-Close). Until the simulator has
        trading sessions, the control API triggers the auctions; the session clock will."""
        if auction not in ("open", "close"):
            raise EngineError(0, f"auction must be 'open' or 'close', got {auction!r}")
        out: list[Event] = []
        self._housekeeping(out)
        for o in list(self._live.values()):
            if not o.working or (con_id is not None and o.spec.con_id != con_id):
                continue
            t = o.req.order_type
            if (auction == "open") != (o.req.tif == "OPG") or (
                auction == "close" and t not in CLOSE_AUCTION_TYPES
            ):
                continue
            price = self._book(o.spec.con_id).last
            limit = o.req.limit_price if t in ("LMT", "LOC") else None
            if limit is None or (price <= limit if o.side > 0 else price >= limit):
                self._fill(o, o.remaining, price, 2, out)
            if not o.done:
                self._finish(o, "Cancelled", out)
        return out

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
        regular close DAY orders expire, those allowed outside regular hours at the close."""
        out: list[Event] = []
        live = [o.spec for o in self._live.values()]
        specs = {s.con_id: s for s in [*live, *(b.spec for b in self._books.values())]}
        calendars = self.market.calendars([*specs.values()])
        for ev in self.market.session_events(self._clock(), calendars):
            out.append(SessionCrossed(ev))
            ids = [i for i, s in specs.items() if self.market.calendar(s).name == ev.calendar]
            if ev.edge.value == "regular_close":
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
        return self._what_if_state(req, spec, self.pretrade.what_if(req, spec, account, targets))

    def _what_if_state(
        self, req: OrderRequest, spec: ContractSpec, impact: MarginImpact
    ) -> OrderState:
        """The what-if answer: an order state that is never registered (nothing placed)."""
        return OrderState(
            client_id=req.client_id,
            order_id=req.order_id,
            perm_id=0,
            request=req,
            contract=spec,
            status="PreSubmitted",
            filled=_ZERO,
            remaining=req.quantity,
            avg_fill_price=_ZERO,
            last_fill_price=_ZERO,
            margin=impact,
        )

    # ---- matching -----------------------------------------------------------------------

    def _housekeeping(self, out: list[Event]) -> None:
        """Time-driven changes: GTD expiry and good-after-time activation."""
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

    def _match(
        self,
        out: list[Event],
        *,
        keys: set[tuple[int, int]] | None = None,
        con_id: int | None = None,
    ) -> None:
        """One matching pass. Each order is evaluated at most once, so `liquidity` caps its
        fill per pass; children activated during the pass are evaluated in it too."""
        self._pass_keys = set(keys) if keys is not None else None
        seen: set[tuple[int, int]] = set()
        try:
            while True:
                if self._pass_keys is None:
                    candidates = list(self._live.values())
                else:
                    candidates = sorted(
                        (self._live[k] for k in self._pass_keys if k in self._live),
                        key=lambda o: o.seq,
                    )
                pending = [
                    o
                    for o in candidates
                    if o.working
                    and o.key not in seen
                    and (con_id is None or con_id in o.con_ids)
                ]
                if not pending:
                    return
                for o in pending:
                    seen.add(o.key)
                    if o.working:
                        self._evaluate(o, out)
        finally:
            self._pass_keys = None

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
        if not o.fresh and o.idle_at == book.version:
            return  # nothing moved since it last could not fill
        if o.req.order_type in PEGGED_TYPES:
            fill_price, liquidity_flag = self._pegged_fill(o, book)
        else:
            fill_price, liquidity_flag = self._touch_fill(o, book)
        o.fresh = False
        qty = o.remaining
        if fill_price is not None and self.liquidity is not None:
            qty = min(qty, self.liquidity)
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

    def _touch_fill(self, o: WorkingOrder, book: Book) -> tuple[Decimal | None, int]:
        """Market, limit, stop and touched orders: (fill price or None, liquidity flag)."""
        if not o.check_trigger(book.last):
            return None, 2
        limit = o.limit()
        touch = book.ask if o.side > 0 else book.bid
        if limit is None:
            return touch, 2
        if (touch <= limit) if o.side > 0 else (touch >= limit):
            # arriving orders take the quote; resting ones fill at their limit
            return (touch, 2) if o.fresh else (limit, 1)
        return None, 2

    def _pegged_fill(self, o: WorkingOrder, book: Book) -> tuple[Decimal | None, int]:
        """Pegged orders. MIDPRICE executes at the midpoint whenever its cap allows. REL and
        PEG MID rest at their pegged price: marketable on arrival they take the quote;
        resting, they are filled at the price they stood at when the market trades at or
        through it; then they re-peg to the new quote (TWS API "Relative": the order
        "adjusts automatically as the markets move")."""
        if o.req.order_type == "MIDPRICE":
            mid = (book.bid + book.ask) / 2
            cap = o.req.limit_price
            if cap is None or (mid <= cap if o.side > 0 else mid >= cap):
                return mid, 2 if o.fresh else 1
            return None, 2
        standing, o.peg = o.peg, o.peg_price(book.bid, book.ask)
        touch = book.ask if o.side > 0 else book.bid
        if (o.peg >= touch) if o.side > 0 else (o.peg <= touch):
            return touch, 2
        crossed = standing is not None and (
            (book.last <= standing) if o.side > 0 else (book.last >= standing)
        )
        if crossed and not o.fresh:
            assert standing is not None
            return standing, 1
        return None, 2

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
            impact = self.pretrade.what_if_entries(account, self._combo_entries(req, legs))
            out.append(OrderUpdated(self._what_if_state(req, spec, impact)))
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

    def _combo_entries(self, req: OrderRequest, legs: Sequence[combos.Leg]) -> list[Entry]:
        side = ACTIONS[req.action]
        _, prices = combos.leg_prices(legs, side, self.quote)
        entries = []
        for leg, price in zip(legs, prices, strict=True):
            qty = req.quantity * leg.ratio
            usd = qty * price * leg.spec.multiplier_value * self._usd_rate(leg.spec.currency)
            comm = self.commissions.for_order(leg.spec, qty, usd)
            ccy = self.commissions.currency(leg.spec)
            entries.append(Entry("", leg.spec, qty * leg.sign * side, price, comm, ccy))
        return entries

    def _evaluate_combo(self, o: WorkingOrder, out: list[Event]) -> None:
        """All legs at once at the net price, or nothing (IB executes a combo's legs
        together; it guarantees the net, not each leg's price)."""
        net, prices = combos.leg_prices(o.legs, o.side, self.quote)
        o.fresh = False
        if combos.marketable(net, o.side, o.req.limit_price):
            self._fill_combo(o, net, prices, out)
        elif o.req.tif in ("IOC", "FOK"):
            self._finish(o, "Cancelled", out)

    def _fill_combo(
        self, o: WorkingOrder, net: Decimal, prices: list[Decimal], out: list[Event]
    ) -> None:
        """One execution per leg (its contract, the combo's ids, its commission), then the
        BAG's own execution at the net price, which carries no commission of its own."""
        qty, now = o.remaining, self._clock()
        for planned, leg in zip(self._combo_entries(o.req, o.legs), o.legs, strict=True):
            exec_id = self.journal.next_id()
            entry = dataclasses.replace(planned, exec_id=exec_id)
            realized = self.ledger.apply(o.account, entry)
            ex = self._execution(
                o, exec_id, leg.spec, entry.qty > 0, abs(entry.qty), entry.price, now
            )
            cr = Commission(exec_id, entry.commission, entry.commission_currency, realized)
            self.journal.add(ex, cr)
            out.append(ExecutionMade(ex, cr))
        o.filled += qty
        o.value += qty * net
        o.last_price = net
        exec_id = self.journal.next_id()
        bag = self._execution(o, exec_id, o.spec, o.side > 0, qty, net, now)
        cr = Commission(exec_id, _ZERO, self.commissions.currency(o.legs[0].spec), None)
        self.journal.add(bag, cr)
        out.append(ExecutionMade(bag, cr))
        self._finish(o, "Filled", out)

    def _execution(
        self,
        o: WorkingOrder,
        exec_id: str,
        spec: ContractSpec,
        bought: bool,
        shares: Decimal,
        price: Decimal,
        now: float,
    ) -> Execution:
        return Execution(
            exec_id=exec_id,
            perm_id=o.perm_id,
            order_id=o.req.order_id,
            client_id=o.req.client_id,
            account=o.account,
            contract=spec,
            side="BOT" if bought else "SLD",
            shares=shares,
            price=price,
            time=now,
            cum_qty=shares,
            avg_price=price,
            order_ref=o.req.order_ref,
            exchange=spec.exchange if spec.sec_type == "BAG" else self._venue(spec),
            liquidity=2,
        )

    # ---- fills --------------------------------------------------------------------------

    def _fill(
        self, o: WorkingOrder, qty: Decimal, price: Decimal, liquidity: int, out: list[Event]
    ) -> None:
        if o.allocation:
            accounts = list(o.allocation)
            need = [o.allocation[a] - o.allocated.get(a, _ZERO) for a in accounts]
            parts = (
                need if qty == o.remaining else allocation.split(qty, o.spec.size_increment, need)
            )
            legs = [(a, q) for a, q in zip(accounts, parts, strict=True) if q > 0]
        else:
            legs = [(o.account, qty)]
        now = self._clock()
        venue = self._venue(o.spec)
        for account, q in legs:
            o.filled += q
            o.value += q * price
            o.last_price = price
            if o.req.order_type == "MTL" and o.mtl_limit is None:
                o.mtl_limit = price  # TWS API "Market to Limit": the rest rests at this price
            o.allocated[account] = o.allocated.get(account, _ZERO) + q
            usd = q * price * o.spec.multiplier_value * self._usd_rate(o.spec.currency)
            shares, value = o.volume.get(account, (_ZERO, _ZERO))
            o.volume[account] = (shares + q, value + usd)
            total = self.commissions.for_order(o.spec, shares + q, value + usd)
            comm = total - o.charged.get(account, _ZERO)
            o.charged[account] = total
            exec_id = self.journal.next_id()
            ccy = self.commissions.currency(o.spec)
            realized = self.ledger.apply(
                account, Entry(exec_id, o.spec, q * o.side, price, comm, ccy)
            )
            ex = Execution(
                exec_id=exec_id,
                perm_id=o.perm_id,
                order_id=o.req.order_id,
                client_id=o.req.client_id,
                account=account,
                contract=o.spec,
                side="BOT" if o.side > 0 else "SLD",
                shares=q,
                price=price,
                time=now,
                cum_qty=o.filled,
                avg_price=o.value / o.filled,
                order_ref=o.req.order_ref,
                exchange=venue,
                liquidity=liquidity,
            )
            cr = Commission(exec_id, comm, ccy, realized)
            self.journal.add(ex, cr)
            out.append(ExecutionMade(ex, cr))
        if o.remaining == 0:
            self._finish(o, "Filled", out)
        else:
            o.status = "Submitted"
            out.append(OrderUpdated(o.snapshot()))
        self._after_fill(o, qty, out)

    def _venue(self, spec: ContractSpec) -> str:
        if spec.sec_type == "STK":
            return _VENUES.get(spec.primary_exchange, spec.primary_exchange or "ISLAND")
        if spec.sec_type == "OPT":
            return "CBOE"
        return spec.exchange

    def _after_fill(self, o: WorkingOrder, qty: Decimal, out: list[Event]) -> None:
        """OCA groups, bracket siblings and child activation."""
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
        spec, q = self.contract(con_id), self.quote(con_id)
        sign = -1 if held > 0 else 1
        price = q.bid if sign < 0 else q.ask
        usd = quantity * price * spec.multiplier_value * self._usd_rate(spec.currency)
        comm = self.commissions.for_order(spec, quantity, usd)
        ccy = self.commissions.currency(spec)
        exec_id = self.journal.next_id()
        realized = self.ledger.apply(
            account, Entry(exec_id, spec, quantity * sign, price, comm, ccy)
        )
        self._last_perm_id += 1
        ex = Execution(
            exec_id=exec_id,
            perm_id=self._last_perm_id,
            order_id=-1,
            client_id=0,
            account=account,
            contract=spec,
            side="BOT" if sign > 0 else "SLD",
            shares=quantity,
            price=price,
            time=self._clock(),
            cum_qty=quantity,
            avg_price=price,
            order_ref="",
            exchange=self._venue(spec),
            liquidity=2,
            liquidation=True,
        )
        cr = Commission(exec_id, comm, ccy, realized)
        self.journal.add(ex, cr)
        return [ExecutionMade(ex, cr)]

    # ---- executions and accounts --------------------------------------------------------

    def executions(self, flt: ExecFilter | None = None) -> list[tuple[Execution, Commission]]:
        """The day's executions (corrections included) in execution order; an empty filter
        means all."""
        return self.journal.rows(flt, self.timezone)

    def correct_execution(
        self, exec_id: str, *, shares: Decimal | None = None, price: Decimal | None = None
    ) -> list[Event]:
        """IB's execution correction: a new execution whose id differs from the original only
        after the last '.', with the corrected shares/price; the ledger changes by the
        difference and the commission report carries the recomputed commission."""
        found = self.journal.get(exec_id)
        if found is None:
            raise EngineError(0, f"no execution {exec_id!r}")
        root, current, new_id = self.journal.correction_id(exec_id)
        orig, orig_cr = self.journal.get(current) or found
        q = orig.shares if shares is None else shares
        p = orig.price if price is None else price
        spec = orig.contract
        usd = q * p * spec.multiplier_value * self._usd_rate(spec.currency)
        comm = self.commissions.for_order(spec, q, usd)
        sign = 1 if orig.side == "BOT" else -1
        realized = self.ledger.replace(
            orig.account,
            current,
            Entry(new_id, spec, q * sign, p, comm, orig_cr.currency),
        )
        ex = Execution(
            exec_id=new_id,
            perm_id=orig.perm_id,
            order_id=orig.order_id,
            client_id=orig.client_id,
            account=orig.account,
            contract=spec,
            side=orig.side,
            shares=q,
            price=p,
            time=orig.time,
            cum_qty=orig.cum_qty - orig.shares + q,
            avg_price=p if orig.cum_qty == orig.shares else orig.avg_price,
            order_ref=orig.order_ref,
            exchange=orig.exchange,
            liquidity=orig.liquidity,
            corrects=root,
        )
        cr = Commission(new_id, comm, orig_cr.currency, realized)
        self.journal.add(ex, cr)
        return [ExecutionMade(ex, cr)]

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
