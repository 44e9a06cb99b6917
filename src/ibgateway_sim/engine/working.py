"""The engine's mutable record of one order, and the IB texts the engine answers with."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from .algos import AlgoState
from .book import Book, to_grid
from .combos import Leg
from .conditions import ChainState, Condition
from .model import DONE_STATUSES, ContractSpec, MarginImpact, OrderRequest, OrderState

STOP_TYPES = frozenset({"STP", "STP LMT", "TRAIL", "TRAIL LIMIT", "MIT", "LIT"})
LIMIT_TYPES = frozenset({"LMT", "STP LMT", "TRAIL LIMIT", "LIT", "LOC"})
# pegged types (TWS API "Order Types": Relative, Midprice, Pegged to Midpoint): the working
# price follows the quote; lmtPrice, when set, caps it
PEGGED_TYPES = frozenset({"REL", "MIDPRICE", "PEG MID"})
CLOSE_AUCTION_TYPES = frozenset({"MOC", "LOC"})  # TWS API "Market On Close", "Limit On Close"
ORDER_TYPES = (
    frozenset({"MKT", "LMT", "MTL"}) | STOP_TYPES | PEGGED_TYPES | CLOSE_AUCTION_TYPES
)
TIFS = frozenset({"DAY", "GTC", "IOC", "OPG", "GTD", "FOK"})
_ZERO = Decimal(0)
ACTIONS = {"BUY": 1, "SELL": -1, "SSHORT": -1}

# error codes and texts (TWS wording where known)
DUPLICATE_ID = 103
MODIFY_MISMATCH = 105
OFF_TICK = 110
NOT_CANCELLABLE = 161
NO_SECURITY = 200
REJECTED = 201
CANCELLED = 202
READ_ONLY = 321
NO_ALLOCATION = 436
CANCEL_UNKNOWN = 10147

TEXT_OFF_TICK = "The price does not conform to the minimum price variation for this contract."
TEXT_NO_SECURITY = "No security definition has been found for the request"
TEXT_READ_ONLY = (
    "Error validating request.-'bN' : cause - The API interface is currently in Read-Only mode."
)
TEXT_NO_ALLOCATION = "You must specify an allocation (either a single account, group, or profile)."
TEXT_CANCELLED = "Order Canceled - reason:"


def text_ambiguous(symbol: str) -> str:
    return f"The contract description specified for {symbol} is ambiguous."


def text_rejected(reason: str) -> str:
    return f"Order rejected - reason:{reason}"


def text_cancel_unknown(order_id: int) -> str:
    return f"OrderId {order_id} that needs to be cancelled is not found."


def text_not_cancellable(perm_id: int) -> str:
    return f"Cancel attempted when order is not in a cancellable state. Order permId ={perm_id}"


def text_duplicate(order_id: int) -> str:
    return f"Duplicate order id {order_id}."


@dataclass(slots=True)
class WorkingOrder:
    """Everything the engine tracks about an order; `snapshot()` freezes it for callers."""

    seq: int
    req: OrderRequest
    spec: ContractSpec
    perm_id: int
    account: str  # "" when allocated
    total: Decimal
    status: str = "PreSubmitted"
    filled: Decimal = Decimal(0)
    value: Decimal = Decimal(0)  # sum of shares x price, for the average
    last_price: Decimal = Decimal(0)
    why_held: str = ""
    transmitted: bool = True
    held_by_parent: bool = False
    triggered: bool = False
    fresh: bool = True  # not yet evaluated since (re)placement: fills take the quote
    idle_at: int = -1  # book version at which the order last could not fill
    trail_stop: Decimal | None = None
    trail_seen: Decimal | None = None  # last price the trailing stop has followed
    gtd: float | None = None
    gat: float | None = None
    completed_time: float | None = None
    completed_status: str = ""
    parent_perm_id: int = 0
    allocation: dict[str, Decimal] = field(default_factory=dict)  # account -> target
    allocated: dict[str, Decimal] = field(default_factory=dict)  # account -> filled
    charged: dict[str, Decimal] = field(default_factory=dict)  # account -> commission so far
    volume: dict[str, tuple[Decimal, Decimal]] = field(default_factory=dict)  # shares, usd
    legs: tuple[Leg, ...] = ()  # a BAG order's resolved legs (its spec is the BAG)
    peg: Decimal | None = None  # REL / PEG MID: the price it rests at since the last quote
    mtl_limit: Decimal | None = None  # MTL: the first fill price, the rest's limit
    conditions: tuple[Condition, ...] = ()  # held (PreSubmitted) until the chain holds
    chain: ChainState | None = None
    held_by_conditions: bool = False
    algo: AlgoState | None = None  # an IB algo works the order in slices

    @property
    def key(self) -> tuple[int, int]:
        return (self.req.client_id, self.req.order_id)

    @property
    def con_ids(self) -> tuple[int, ...]:
        """The instruments whose prices move this order: a combo's legs, else its own."""
        return tuple(leg.spec.con_id for leg in self.legs) or (self.spec.con_id,)

    @property
    def side(self) -> int:
        return ACTIONS[self.req.action]

    @property
    def remaining(self) -> Decimal:
        left = self.total - self.filled  # max(left, 0) as a test: the builtin is 4x dearer
        return left if left >= _ZERO else _ZERO

    @property
    def done(self) -> bool:
        return self.status in DONE_STATUSES

    @property
    def working(self) -> bool:
        """Eligible for matching now."""
        return (
            not self.done
            and self.transmitted
            and not self.held_by_parent
            and not self.held_by_conditions
            and self.gat is None
        )

    def snapshot(self) -> OrderState:
        # positional, in OrderState's field order: three snapshots an order, and a call
        # with fifteen keywords costs about as much again as the record itself
        req, filled = self.req, self.filled
        left = self.total - filled
        return OrderState(
            req.client_id,
            req.order_id,
            self.perm_id,
            req,
            self.spec,
            self.status,
            filled,
            left if left >= _ZERO else _ZERO,  # remaining
            self.value / filled if filled else _ZERO,  # avg_fill_price
            self.last_price,
            self.why_held,
            self.trail_stop,
            self.completed_time,
            self.completed_status,
            self.parent_perm_id,
        )

    # ---- triggers (stop, trailing, if-touched) ------------------------------------------

    def init_trail(self, last: Decimal) -> None:
        """Set the first stop of a trailing order: trail_stop_price when the client gave
        one, else the trailing distance from the last price."""
        if self.req.order_type not in ("TRAIL", "TRAIL LIMIT") or self.trail_stop is not None:
            return
        self.trail_seen = last
        if self.req.trail_stop_price is not None:
            self.trail_stop = self.req.trail_stop_price
        else:
            self.trail_stop = self.trail_candidate(last)

    def trail_candidate(self, last: Decimal) -> Decimal:
        amount = self.req.aux_price or last * (self.req.trailing_percent or Decimal(0)) / 100
        return to_grid(last + self.side * amount, self.spec.min_tick)

    def limit(self) -> Decimal | None:
        """The limit price in force (TRAIL LIMIT: the stop moved by the limit offset)."""
        t = self.req.order_type
        if t == "TRAIL LIMIT":
            assert self.trail_stop is not None
            offset = self.req.limit_price_offset
            if offset is None:
                if self.req.limit_price is not None and self.req.trail_stop_price is not None:
                    offset = abs(self.req.trail_stop_price - self.req.limit_price)
                else:
                    offset = Decimal(0)
            return self.trail_stop + self.side * offset
        if t == "MTL":
            return self.mtl_limit
        return self.req.limit_price if t in LIMIT_TYPES else None

    def peg_price(self, bid: Decimal, ask: Decimal) -> Decimal:
        """Where a pegged order works against the quote (bid, ask), on the tick grid toward
        its own side and never through its cap (lmtPrice). REL: the same side's quote
        improved by auxPrice (TWS API "Relative / Pegged-to-Primary": a buy pegs to the bid
        plus the offset); PEG MID: the midpoint less (buy) / plus (sell) auxPrice; MIDPRICE:
        the midpoint (TWS API "Midprice": "at the midpoint or better")."""
        offset = self.req.aux_price or Decimal(0)
        mid = (bid + ask) / 2
        t = self.req.order_type
        if t == "REL":
            raw = bid + offset if self.side > 0 else ask - offset
        elif t == "PEG MID":
            raw = mid - offset if self.side > 0 else mid + offset
        else:
            raw = mid
        tick = self.spec.min_tick
        steps = (raw / tick).to_integral_value(ROUND_FLOOR if self.side > 0 else ROUND_CEILING)
        price = (steps * tick).quantize(tick)
        cap = self.req.limit_price
        if cap is not None:
            price = min(price, cap) if self.side > 0 else max(price, cap)
        return price

    def check_trigger(self, last: Decimal) -> bool:
        """Ratchet a trailing stop and report whether the order is live at `last`. Stops
        trigger on the last price (IB's default method for US stocks and futures); a buy
        stop at or above it, a sell stop at or below it. Once triggered it stays so."""
        t = self.req.order_type
        if t not in STOP_TYPES or self.triggered:
            return True
        if t in ("TRAIL", "TRAIL LIMIT"):
            assert self.trail_stop is not None
            if last != self.trail_seen:  # the stop follows price moves, not the clock
                self.trail_seen = last
                cand = self.trail_candidate(last)
                self.trail_stop = (
                    min(self.trail_stop, cand) if self.side > 0 else max(self.trail_stop, cand)
                )
            stop = self.trail_stop
        else:
            assert self.req.aux_price is not None
            stop = self.req.aux_price
        if t in ("MIT", "LIT"):  # if-touched: buy on a fall to the trigger, sell on a rise
            hit = last <= stop if self.side > 0 else last >= stop
        else:
            hit = last >= stop if self.side > 0 else last <= stop
        if hit:
            self.triggered, self.fresh = True, True
        return hit

    def touch_fill(self, book: Book) -> tuple[Decimal | None, int]:
        """Market, limit, stop and touched orders: (fill price or None, liquidity flag)."""
        if not self.check_trigger(book.last):
            return None, 2
        limit = self.limit()
        touch = book.ask if self.side > 0 else book.bid
        if limit is None:
            return touch, 2
        if (touch <= limit) if self.side > 0 else (touch >= limit):
            # arriving orders take the quote; resting ones fill at their limit
            return (touch, 2) if self.fresh else (limit, 1)
        return None, 2

    def pegged_fill(self, book: Book) -> tuple[Decimal | None, int]:
        """Pegged orders. MIDPRICE executes at the midpoint whenever its cap allows. REL and
        PEG MID rest at their pegged price: marketable on arrival they take the quote;
        resting, they are filled at the price they stood at when the market trades at or
        through it; then they re-peg to the new quote (TWS API "Relative": the order
        "adjusts automatically as the markets move")."""
        if self.req.order_type == "MIDPRICE":
            mid = (book.bid + book.ask) / 2
            cap = self.req.limit_price
            if cap is None or (mid <= cap if self.side > 0 else mid >= cap):
                return mid, 2 if self.fresh else 1
            return None, 2
        standing, self.peg = self.peg, self.peg_price(book.bid, book.ask)
        touch = book.ask if self.side > 0 else book.bid
        if (self.peg >= touch) if self.side > 0 else (self.peg <= touch):
            return touch, 2
        crossed = standing is not None and (
            (book.last <= standing) if self.side > 0 else (book.last >= standing)
        )
        if crossed and not self.fresh:
            assert standing is not None
            return standing, 1
        return None, 2


Key = tuple[int, int]  # (client_id, order_id): IB order ids are only unique per client


class Registry:
    """Every order by key in placement order, the open ones, and the indexes linked orders
    need (children by parent, members by OCA group, orders with a time condition).

    Dicts keep insertion order, which is placement order, so nothing is ever sorted on the
    hot path; a modify keeps the order's place."""

    def __init__(self) -> None:
        self.all: dict[Key, WorkingOrder] = {}
        self.live: dict[Key, WorkingOrder] = {}
        # the open orders each instrument's price moves (a combo under each of its legs), in
        # placement order: a price change matches its own orders, not every open one
        self.moved_by: dict[int, dict[Key, WorkingOrder]] = {}
        self.timed: set[Key] = set()
        self.conditioned: set[Key] = set()  # held until their conditions hold
        self._kids: dict[Key, list[Key]] = {}
        self._oca: dict[str, list[Key]] = {}

    def add(self, o: WorkingOrder) -> None:
        """A new order: its key was never placed (an id placed again is a modify of the
        order it names, or a duplicate), and its `seq` is the highest yet."""
        self.all[o.key] = o
        if o.done:
            return
        self.live[o.key] = o
        for con_id in o.con_ids:
            self.moved_by.setdefault(con_id, {})[o.key] = o
        if o.held_by_conditions:
            self.conditioned.add(o.key)
        self.reindex(o)
        if o.req.parent_id:
            self._kids.setdefault((o.req.client_id, o.req.parent_id), []).append(o.key)

    def reindex(self, o: WorkingOrder) -> None:
        """After a change of the order's times or OCA group."""
        if o.gtd is not None or o.gat is not None:
            self.timed.add(o.key)
        else:
            self.timed.discard(o.key)
        if o.req.oca_group:
            members = self._oca.setdefault(o.req.oca_group, [])
            if o.key not in members:
                members.append(o.key)

    def close(self, o: WorkingOrder) -> None:
        gone = self.live.pop(o.key, None)
        if gone is not None:
            self._unindex(gone)
        self.timed.discard(o.key)
        self.conditioned.discard(o.key)

    def _unindex(self, o: WorkingOrder) -> None:
        for con_id in o.con_ids:
            moved = self.moved_by.get(con_id)
            if moved is not None:
                moved.pop(o.key, None)
                if not moved:
                    del self.moved_by[con_id]

    def _open(self, keys: Iterable[Key], but: WorkingOrder) -> list[WorkingOrder]:
        return [o for k in keys if (o := self.live.get(k)) is not None and o is not but]

    def children(self, parent: WorkingOrder) -> list[WorkingOrder]:
        """The parent's open children."""
        return self._open(self._kids.get(parent.key, ()), parent)

    def oca_members(self, o: WorkingOrder) -> list[WorkingOrder]:
        """The other open orders of o's OCA group."""
        group = o.req.oca_group
        return [m for m in self._open(self._oca.get(group, ()), o) if m.req.oca_group == group]

    def siblings(self, o: WorkingOrder) -> list[WorkingOrder]:
        """The other open children of o's parent (a bracket's legs), minus those already
        linked to o by an explicit OCA group."""
        kin = self._open(self._kids.get((o.req.client_id, o.req.parent_id), ()), o)
        return [
            s
            for s in kin
            if s.req.parent_id == o.req.parent_id
            and not (o.req.oca_group and s.req.oca_group == o.req.oca_group)
        ]

    def conditioned_in_order(self) -> list[WorkingOrder]:
        return sorted((self.all[k] for k in self.conditioned), key=lambda o: o.seq)

    def timed_in_order(self) -> list[WorkingOrder]:
        return sorted((self.all[k] for k in self.timed), key=lambda o: o.seq)

    def moved_by_any(self, con_ids: set[int]) -> list[WorkingOrder]:
        """The open orders any of `con_ids` moves, in placement order (`seq`)."""
        if len(con_ids) == 1:
            [con_id] = con_ids
            return list(self.moved_by.get(con_id, {}).values())
        found = {k: o for c in con_ids for k, o in self.moved_by.get(c, {}).items()}
        return sorted(found.values(), key=lambda o: o.seq)


def what_if_state(req: OrderRequest, spec: ContractSpec, impact: MarginImpact) -> OrderState:
    """The what-if answer: an order state that is never registered (nothing placed)."""
    return OrderState(
        client_id=req.client_id,
        order_id=req.order_id,
        perm_id=0,
        request=req,
        contract=spec,
        status="PreSubmitted",
        filled=Decimal(0),
        remaining=req.quantity,
        avg_fill_price=Decimal(0),
        last_fill_price=Decimal(0),
        margin=impact,
    )
