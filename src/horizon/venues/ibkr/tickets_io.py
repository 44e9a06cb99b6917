"""Bracket / OCO tickets and FA block allocation: the I/O half, mixed into `Ibkr`.

The mapping is in `tickets.py` and `allocation.py`; this module only places and cancels,
through the venue's pacing bucket (every outbound request takes a token) and its order ledger.
Each public `x_async` has a blocking twin `x` with the same parameters.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, TypeVar

from ib_async import IB, Contract

from horizon.core.types import OrderAction
from horizon.errors import HorizonError, InvalidOrder
from horizon.venues.ibkr.allocation import (
    Allocation,
    apply_allocation,
    block_actions,
    split_block,
)
from horizon.venues.ibkr.orders import to_ib_order
from horizon.venues.ibkr.state import utc_now
from horizon.venues.ibkr.status import is_paper_account
from horizon.venues.ibkr.symbology import canonical_market_id
from horizon.venues.ibkr.tickets import (
    Leg,
    LegRole,
    Ticket,
    TicketKind,
    bracket_legs,
    check_oca_type,
    oco_legs,
)
from horizon.venues.ibkr.tracking import OrderRecord

if TYPE_CHECKING:
    from horizon.core.ratelimit import TokenBucket

log = logging.getLogger("horizon.venues.ibkr")

T = TypeVar("T")


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
        def _sync(self, coro: Awaitable[T], what: str, timeout: float | None = None) -> T: ...

    # ================================================================== tickets
    def _tickets(self) -> dict[str, Ticket]:
        book: dict[str, Ticket] | None = getattr(self, "_hz_tickets", None)
        if book is None:
            book = {}
            self._hz_tickets = book
        return book

    def ticket(self, ticket_id: str) -> Ticket:
        """The ticket (kind, legs' order ids and roles) of a bracket or OCO submission."""
        try:
            return self._tickets()[ticket_id]
        except KeyError:
            raise KeyError(
                f"ticket {ticket_id!r} is not known to this venue; use an id returned by "
                "submit_bracket() or submit_oco()"
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
        """placeOrder one prepared Order (one bucket token) and track it like `submit`."""
        await self._bucket.acquire_async()
        ib = await self._ready()
        trade = ib.placeOrder(contract, leg.order)
        record = OrderRecord(
            order_id=trade.order.orderId,
            market_id=canonical_market_id(leg.action.market_id),
            action=leg.action,
            ib_order=trade.order,
            contract=contract,
            account=account,
            remaining=leg.action.quantity if remaining is None else remaining,
            updated_at=utc_now(),
        )
        self._orders[record.order_id] = record
        log.info(
            "order submitted",
            extra={
                "order_id": record.order_id,
                "market_id": record.market_id,
                "side": leg.action.side.value,
                "quantity": str(leg.action.quantity),
                "order_type": leg.action.order_type.value,
                "account": account,
                "role": leg.role.value,
                "parent_id": leg.order.parentId,
                "oca_group": leg.order.ocaGroup,
                "transmit": leg.order.transmit,
                "client_id": self._client_id,
            },
        )
        return record

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
        self._tickets()[ticket.ticket_id] = ticket
        log.info(
            "bracket submitted",
            extra={"ticket_id": ticket.ticket_id, "order_ids": ticket.order_ids},
        )
        return ticket.ticket_id

    async def _abandon(self, records: Sequence[OrderRecord]) -> None:
        """Cancel the legs of a ticket that could not be completed (best effort, logged)."""
        for record in records:
            try:
                await self.cancel_async(str(record.order_id))
            except (HorizonError, ConnectionError) as exc:
                log.error(
                    "could not cancel a leg of an incomplete ticket; cancel it in TWS",
                    extra={"order_id": record.order_id, "error": str(exc)},
                )
            else:
                log.warning(
                    "leg of an incomplete ticket cancelled", extra={"order_id": record.order_id}
                )

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
        records = [
            await self._place(contract, leg, account=account)
            for contract, leg, account in zip(contracts, legs, accounts, strict=True)
        ]
        ticket = Ticket(
            ticket_id=f"oco-{records[0].order_id}",
            kind=TicketKind.OCO,
            order_ids=tuple(str(r.order_id) for r in records),
            roles=tuple(leg.role for leg in legs),
            market_ids=tuple(dict.fromkeys(r.market_id for r in records)),
            oca_group=group,
        )
        self._tickets()[ticket.ticket_id] = ticket
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
