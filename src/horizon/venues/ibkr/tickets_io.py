"""Bracket / OCO tickets and FA block allocation: the I/O half, mixed into `Ibkr`.

The mapping is in `tickets.py` and `allocation.py`; this module only places and cancels,
through the venue's pacing bucket (every outbound request takes a token) and its order ledger.
Each public `x_async` has a blocking twin `x` with the same parameters.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from ib_async import IB, Contract, Order

from horizon.core.enums import OrderStatus
from horizon.core.types import OrderAction
from horizon.errors import HorizonError, InvalidOrder, RequestTimeout, UnknownTicket
from horizon.venues.ibkr.mapping.allocation import (
    Allocation,
    apply_allocation,
    block_actions,
    split_block,
)
from horizon.venues.ibkr.mapping.orders import to_ib_order
from horizon.venues.ibkr.mapping.status import is_paper_account
from horizon.venues.ibkr.mapping.tickets import (
    Leg,
    LegRole,
    Ticket,
    TicketKind,
    bracket_legs,
    check_oca_type,
    oco_legs,
)
from horizon.venues.ibkr.order_record import LOST_BEFORE_ACK, OrderRecord
from horizon.venues.ibkr.resilience import ConnectionEvent, ConnectionState

if TYPE_CHECKING:
    from horizon.core.ratelimit import TokenBucket

log = logging.getLogger("horizon.venues.ibkr")

T = TypeVar("T")

# how long the gateway has to cancel a filled leg's siblings before the venue does it
OCA_GRACE = 1.0


@dataclass(slots=True)
class _TicketState:
    tickets: dict[str, Ticket] = field(default_factory=dict)
    # legs of tickets cut short (placement failed half way) not yet known to be cancelled
    leftovers: list[list[OrderRecord]] = field(default_factory=list)


class TicketsMixin:
    """Brackets, OCO sets and FA allocation for `Ibkr` (which provides the plumbing)."""

    if TYPE_CHECKING:  # provided by Ibkr; declared so the type checker knows the mixin's needs
        _bucket: TokenBucket
        _orders: dict[int, OrderRecord]
        _accounts: list[str]
        _default_account: str | None
        _client_id: int

        async def _ready(self) -> IB: ...
        async def qualify_async(self, market_id: str) -> Contract: ...
        async def cancel_async(self, order_id: str) -> None: ...
        async def submit_async(self, action: OrderAction) -> str: ...
        def _account_for(self, requested: str | None) -> str: ...
        def _check_ticks(self, con_id: int, prices: Mapping[str, Decimal | None]) -> None: ...
        def _allocate_order_id(self, ib: IB) -> int: ...
        def add_listener(self, listener: Callable[[ConnectionEvent], None]) -> None: ...
        def _spawn_background(self, coro: Coroutine[Any, Any, None]) -> None: ...
        async def _wait(self, predicate: Callable[[], bool], timeout: float, what: str) -> None: ...
        def _place_order(
            self,
            ib: IB,
            contract: Contract,
            order: Order,
            *,
            action: OrderAction,
            account: str,
            remaining: Decimal | None = None,
            **log_fields: object,
        ) -> OrderRecord: ...
        def _sync(self, coro: Awaitable[T], what: str, timeout: float | None = None) -> T: ...

    # ================================================================== tickets
    def _ticket_state(self) -> _TicketState:
        state: _TicketState | None = getattr(self, "_hz_tickets", None)
        if state is None:
            state = _TicketState()
            self._hz_tickets = state
            self.add_listener(self._tickets_on_connection)
        return state

    def _tickets(self) -> dict[str, Ticket]:
        return self._ticket_state().tickets

    def ticket(self, ticket_id: str) -> Ticket:
        """The ticket (kind, legs' order ids and roles) of a bracket or OCO submission."""
        try:
            return self._tickets()[ticket_id]
        except (KeyError, TypeError):
            raise UnknownTicket(
                str(ticket_id),
                "not known to this venue; use an id returned by submit_bracket() or "
                "submit_oco()",
            ) from None

    def ticket_legs(self, ticket_id: str) -> list[str]:
        """Order ids of a ticket's legs: (entry, take_profit, stop_loss) for a bracket, the
        given order for an OCO set. Their statuses come from `order_status(order_id)`."""
        return list(self.ticket(ticket_id).order_ids)

    async def _check_leg_ticks(self, contract: Contract, legs: Sequence[Leg]) -> None:
        for leg in legs:
            own = leg.role in (LegRole.ENTRY, LegRole.OCO)
            self._check_ticks(
                contract.conId,
                {
                    (name if own else leg.role.value): getattr(leg.action, name)
                    for name in ("limit_price", "stop_price")
                    if getattr(leg.action, name) is not None
                },
            )

    async def _place(
        self, contract: Contract, leg: Leg, *, account: str, remaining: Decimal | None = None
    ) -> OrderRecord:
        """One leg through the venue's one placement path (one bucket token)."""
        await self._bucket.acquire_async()
        ib = await self._ready()
        return self._place_order(
            ib,
            contract,
            leg.order,
            action=leg.action,
            account=account,
            remaining=remaining,
            role=leg.role.value,
            parent_id=leg.order.parentId,
            oca_group=leg.order.ocaGroup,
            transmit=leg.order.transmit,
        )

    async def submit_bracket_async(
        self, entry: OrderAction, take_profit: Decimal, stop_loss: Decimal
    ) -> str:
        """Place entry + take-profit (limit) + stop-loss (stop) as one ticket; its id.

        Everything is checked (prices in order, tick grid, account, contract) before the first
        order goes out. The entry and take-profit are sent with transmit=False and the
        stop-loss with transmit=True, so the gateway releases the three together. The legs'
        order ids are `ticket_legs(ticket_id)` (entry, take_profit, stop_loss).
        """
        account = self._account_for(entry.account)
        contract = await self.qualify_async(entry.market_id)
        ib = await self._ready()
        ids = [self._allocate_order_id(ib) for _ in range(3)]  # local, not a request
        legs = bracket_legs(entry, take_profit, stop_loss, account=account, order_ids=ids)
        await self._check_leg_ticks(contract, legs)
        records: list[OrderRecord] = []
        try:
            for leg in legs:
                records.append(await self._place(contract, leg, account=account))
        except (HorizonError, ConnectionError):
            # the legs sent so far sit untransmitted at the gateway: take them back
            await self._abandon(records)
            raise
        ticket = Ticket(
            ticket_id=f"bracket-{records[0].order_id}",
            kind=TicketKind.BRACKET,
            order_ids=tuple(str(r.order_id) for r in records),
            roles=tuple(leg.role for leg in legs),
            market_ids=(records[0].market_id,),
        )
        self._register(ticket)
        log.info(
            "bracket submitted",
            extra={"ticket_id": ticket.ticket_id, "order_ids": ticket.order_ids},
        )
        return ticket.ticket_id

    async def _abandon(self, records: Sequence[OrderRecord]) -> None:
        """Cancel the legs of a ticket that could not be completed. Those that cannot be
        cancelled now are cancelled after the next reconnect (held untransmitted at the
        gateway, they cannot execute meanwhile)."""
        left = [r for r in records if not r.status.is_terminal]
        if left:
            self._ticket_state().leftovers.append(left)
        await self._take_back(left, "incomplete ticket")

    async def _take_back(self, records: Sequence[OrderRecord], why: str) -> None:
        for record in records:
            if record.status.is_terminal:
                continue
            try:
                await self.cancel_async(str(record.order_id))
            except (HorizonError, ConnectionError) as exc:
                log.error(
                    "could not cancel a leg of an %s yet; retried after the next reconnect",
                    why,
                    extra={"order_id": record.order_id, "error": str(exc)},
                )
            else:
                log.warning("leg of an %s cancelled", why, extra={"order_id": record.order_id})

    def _register(self, ticket: Ticket) -> None:
        """Keep the ticket, and watch it: a sibling the gateway leaves working after a fill
        that should have cancelled it is cancelled by the venue (said at WARNING)."""
        self._tickets()[ticket.ticket_id] = ticket
        records = [self._orders[int(i)] for i in ticket.order_ids]
        if ticket.kind is TicketKind.BRACKET:
            self._spawn_background(self._guard_siblings(ticket, records[1:], partial=False))
        elif ticket.oca_type == 1:
            self._spawn_background(self._guard_siblings(ticket, records, partial=True))

    async def _guard_siblings(
        self, ticket: Ticket, legs: Sequence[OrderRecord], *, partial: bool
    ) -> None:
        """Second line of defence for one-cancels-the-others legs (an OCA type-1 group, a
        bracket's two children): once one leg fills (at all, for type 1; completely, for a
        bracket's children, which the gateway reduces on partial fills), the gateway cancels
        the others; any it leaves working past OCA_GRACE is cancelled here."""

        def filled() -> OrderRecord | None:
            for r in legs:
                if (r.filled > 0) if partial else (r.status is OrderStatus.FILLED):
                    return r
            return None

        def settled() -> bool:
            return filled() is not None or all(r.status.is_terminal for r in legs)

        while not settled():
            with contextlib.suppress(RequestTimeout):
                await self._wait(settled, 3600.0, f"ticket {ticket.ticket_id}")
        winner = filled()
        if winner is None:
            return

        def live() -> list[OrderRecord]:
            return [
                r
                for r in legs
                if r is not winner
                and not r.status.is_terminal
                and r.status is not OrderStatus.PENDING_CANCEL
            ]

        with contextlib.suppress(RequestTimeout):
            await self._wait(lambda: not live(), OCA_GRACE, "siblings cancelled")
        stragglers = live()
        if stragglers:
            log.warning(
                "gateway left legs of a one-cancels-others ticket working after a fill; "
                "cancelling them",
                extra={
                    "ticket_id": ticket.ticket_id,
                    "filled_leg": winner.order_id,
                    "order_ids": [r.order_id for r in stragglers],
                },
            )
            await self._take_back(stragglers, "overfilled ticket")

    def _tickets_on_connection(self, event: ConnectionEvent) -> None:
        if event.state is ConnectionState.RECONNECTED:
            self._spawn_background(self._settle_tickets())

    async def _settle_tickets(self) -> None:
        """After a reconnect: a ticket is placed whole or not at all. One with a leg lost
        before the gateway acknowledged it (dropped between the legs) has its other legs
        cancelled; legs of tickets cut short earlier that could not be cancelled then are
        cancelled now."""
        state = self._ticket_state()
        for ticket in list(state.tickets.values()):
            records = [self._orders[int(i)] for i in ticket.order_ids]
            if all(r.status.is_terminal for r in records):
                continue
            if any(r.reason == LOST_BEFORE_ACK for r in records):
                await self._take_back(records, "incomplete ticket")
        state.leftovers = [
            left for rs in state.leftovers if (left := [r for r in rs if not r.status.is_terminal])
        ]
        for records in list(state.leftovers):
            await self._take_back(records, "incomplete ticket")

    def submit_bracket(self, entry: OrderAction, take_profit: Decimal, stop_loss: Decimal) -> str:
        """Blocking twin of `submit_bracket_async`."""
        return self._sync(
            self.submit_bracket_async(entry, take_profit, stop_loss), "submit_bracket"
        )

    async def submit_oco_async(self, actions: Sequence[OrderAction], *, oca_type: int = 1) -> str:
        """Place `actions` in one OCA group as one ticket; its id.

        oca_type 1: the first fill cancels the others; 2 / 3: the others shrink by each fill
        (with / without block). The group name is unique per ticket.
        """
        check_oca_type(oca_type)
        actions = list(actions)
        accounts = [self._account_for(a.account) for a in actions]
        contracts = [await self.qualify_async(a.market_id) for a in actions]
        ib = await self._ready()
        ids = [self._allocate_order_id(ib) for _ in actions]
        group = f"hz-{self._client_id}-{ids[0] if ids else 0}-{secrets.token_hex(3)}"
        legs = oco_legs(
            actions,
            account=accounts[0] if accounts else "",
            order_ids=ids,
            oca_group=group,
            oca_type=oca_type,
        )
        for contract, leg, account in zip(contracts, legs, accounts, strict=True):
            leg.order.account = account
            await self._check_leg_ticks(contract, [leg])
        records: list[OrderRecord] = []
        try:
            for contract, leg, account in zip(contracts, legs, accounts, strict=True):
                records.append(await self._place(contract, leg, account=account))
        except (HorizonError, ConnectionError):
            # the legs sent so far are held untransmitted at the gateway: take them back
            await self._abandon(records)
            raise
        ticket = Ticket(
            ticket_id=f"oco-{records[0].order_id}",
            kind=TicketKind.OCO,
            order_ids=tuple(str(r.order_id) for r in records),
            roles=tuple(leg.role for leg in legs),
            market_ids=tuple(dict.fromkeys(r.market_id for r in records)),
            oca_group=group,
            oca_type=oca_type,
        )
        self._register(ticket)
        log.info(
            "oco submitted",
            extra={
                "ticket_id": ticket.ticket_id,
                "oca_group": group,
                "oca_type": oca_type,
                "order_ids": ticket.order_ids,
            },
        )
        return ticket.ticket_id

    def submit_oco(self, actions: Sequence[OrderAction], *, oca_type: int = 1) -> str:
        """Blocking twin of `submit_oco_async`."""
        return self._sync(self.submit_oco_async(actions, oca_type=oca_type), "submit_oco")

    async def cancel_ticket_async(self, ticket_id: str) -> list[str]:
        """Cancel every open leg of a ticket; returns the ids of the legs that were open.

        A bracket whose entry is still open is cancelled through the entry alone: the gateway
        cancels the children with it, and a second cancel for a child it already cancelled
        would only earn a "cannot cancel" error. Legs already finished are left alone.
        """
        ticket = self.ticket(ticket_id)
        records = [self._orders[int(i)] for i in ticket.order_ids]
        open_ids = [str(r.order_id) for r in records if not r.status.is_terminal]
        if ticket.kind is TicketKind.BRACKET and not records[0].status.is_terminal:
            targets = [str(records[0].order_id)]
        else:
            targets = open_ids
        for order_id in targets:
            await self.cancel_async(order_id)
        log.info("ticket cancel sent", extra={"ticket_id": ticket_id, "order_ids": targets})
        return open_ids

    def cancel_ticket(self, ticket_id: str) -> list[str]:
        """Blocking twin of `cancel_ticket_async`."""
        return self._sync(self.cancel_ticket_async(ticket_id), "cancel_ticket")

    # ================================================================== FA allocation
    async def allocate_block_async(
        self, action: OrderAction, allocation: Allocation | Mapping[str, Decimal]
    ) -> list[str] | str:
        """Trade one block for several sub-accounts.

        With an `Allocation` (FA group + method, or profile): one order, split by IB; returns
        its order id. With a mapping ``{account: weight}``: one child order per account, the
        block split by weight (largest remainder, parts summing exactly to the block); returns
        their order ids in mapping order. Either way each fill names its sub-account
        (`VenueFill.account`). Everything is checked before the first order is sent.
        """
        if isinstance(allocation, Allocation):
            return await self._submit_allocated(action, allocation)
        if not isinstance(allocation, Mapping):
            raise InvalidOrder(
                "allocation", f"expected an Allocation or a mapping, got {type(allocation)!r}"
            )
        parts = split_block(action.quantity, allocation)
        children = block_actions(action, parts)
        for child in children:
            self._account_for(child.account)
            if child.account in self._masters():
                raise InvalidOrder(
                    "allocation",
                    f"{child.account} is an FA master account and holds no "
                    "positions; allocate to its sub-accounts",
                )
        await self.qualify_async(action.market_id)
        order_ids = [await self.submit_async(child) for child in children]
        log.info(
            "block allocated",
            extra={
                "order_ids": order_ids,
                "market_id": action.market_id,
                "parts": {a: str(q) for a, q in parts.items()},
            },
        )
        return order_ids

    def allocate_block(
        self, action: OrderAction, allocation: Allocation | Mapping[str, Decimal]
    ) -> list[str] | str:
        """Blocking twin of `allocate_block_async`."""
        return self._sync(self.allocate_block_async(action, allocation), "allocate_block")

    def _masters(self) -> set[str]:
        """FA master (advisor) accounts of this login: DF... paper, F + digits live."""
        return {
            a
            for a in self._accounts
            if (a.startswith("DF") if is_paper_account(a) else a[:1] == "F" and a[1:].isdigit())
        }

    async def _submit_allocated(self, action: OrderAction, allocation: Allocation) -> str:
        if action.account is not None:
            raise InvalidOrder(
                "account",
                "an FA allocation order goes to the advisor login; leave OrderAction.account unset",
            )
        contract = await self.qualify_async(action.market_id)
        ib = await self._ready()
        base = to_ib_order(action, account="")
        order = apply_allocation(base, allocation, server_version=ib.client.serverVersion())
        order.orderId = self._allocate_order_id(ib)
        leg = Leg(role=LegRole.ENTRY, action=action, order=order)
        await self._check_leg_ticks(contract, [leg])
        masters = sorted(self._masters())
        owner = masters[0] if masters else (self._default_account or "")
        by_ib = allocation.ib_quantity_from_positions
        record = await self._place(
            contract, leg, account=owner, remaining=Decimal(0) if by_ib else None
        )
        if by_ib:
            record.remaining = None
        log.info(
            "allocation order submitted",
            extra={
                "order_id": record.order_id,
                "fa_group": order.faGroup,
                "fa_method": order.faMethod,
                "fa_profile": allocation.fa_profile,
            },
        )
        return str(record.order_id)
